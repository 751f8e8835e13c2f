"""Benchmark: per-sample checklists, explicit vs implicit, on the example dataset.

Against the local scripted judge (in-process server): calls and tokens per sample for each
aggregation, and how an explicit checklist's score moves as its criteria are met one by
one. Tokens are the local server's estimate (4 characters a token), not Bedrock's count.

    python bench/bench_checklist.py
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from judge.server import ConverseServer
from judge.server.scripted import Judged, ScriptedJudge

REPO = Path(__file__).resolve().parent.parent


def marked(j: Judged) -> int:
    """A criterion holds when the response carries its marker; other scores: one below top."""
    if j.scores == [0, 1]:
        return int(f"[{j.rubric}]" in j.response)
    return j.scores[-1] - 1


def _evaluator(mode: str) -> Any:
    from judge.config import parse_config
    from judge.pipeline import Evaluator

    raw = tomllib.loads((REPO / "reward.toml").read_text())
    raw["sample_rubric"] = {"mode": mode, "only": True}
    os.environ["JUDGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-checklist-")
    return Evaluator.from_settings(parse_config(raw, REPO / "reward.toml"))


def main() -> None:
    from judge.cost import total_tokens
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event

    server = ConverseServer(ScriptedJudge(score_fn=marked)).start()
    os.environ.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=server.url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    lines = (REPO / "examples" / "checklists.jsonl").read_text().splitlines()
    samples = [json.loads(line) for line in lines]
    try:
        print(f"example dataset: {len(samples)} samples with their own checklists")
        print(f"{'mode':<10}{'calls/sample':>14}{'input tok/sample':>18}{'output tok/sample':>19}")
        for mode in ("explicit", "implicit"):
            evaluator = _evaluator(mode)
            _, batch = run_event(evaluator, samples, Deadline.never())
            evaluator.close()
            tokens = total_tokens(batch.stats.tokens)
            n = len(samples)
            print(
                f"{mode:<10}{batch.stats.calls / n:>14.2f}{tokens.input / n:>18.0f}"
                f"{tokens.output / n:>19.0f}"
            )
        first = samples[0]
        criteria = first["metadata"]["rubric"]
        print(f"\nexplicit score as criteria are met one by one ({first['id']}):")
        evaluator = _evaluator("explicit")
        met = ""
        for i, c in enumerate([{"criterion": "(none)", "weight": 0}, *criteria]):
            if i:
                met += f"[criterion_{i}]"
            sample = {
                **first,
                "messages": [first["messages"][0], {"role": "assistant", "content": met + " Yes."}],
            }
            _, batch = run_event(evaluator, [sample], Deadline.never())
            score = batch.results[0].dimensions[0].normalized
            print(f"  + {c['criterion']} (weight {c['weight']}): {score:.2f}")
        evaluator.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
