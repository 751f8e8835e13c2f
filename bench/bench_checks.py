"""Benchmark: what verifiable checks cost a batch, and the judge calls short-circuiting saves.

1,000 support samples (made here from the support example's dataset, each with a unique
id and a varied reply), scored through the Lambda's code path against the local scripted
judge (in-process Converse server, boto3 over HTTP), the verdict cache off so every run
makes its calls:

1. the time checks add: the same batch without checks, then with the support example's
   five checks (length, language, pattern, reference, python) with ``short_circuit`` off,
   so both runs make the same judge calls; best of ``--repeats`` runs each; then with a
   ``guardrail`` check too (one ApplyGuardrail call a sample, to the local server);
2. the calls saved: a set where 20% of the samples leak a card number (a gated ``no_pii``
   pattern), scored with ``short_circuit`` on and off.

    python bench/bench_checks.py [--samples 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from judge.server import ConverseServer
from judge.server.guardrail import GuardrailBook
from judge.server.scripted import ScriptedJudge

REPO = Path(__file__).resolve().parent.parent
SUPPORT = REPO / "examples" / "support"
CARD = " Your card 4111 1111 1111 1111 is on file."
# The dataset's samples a gate of the example floors: left out, so only the leaks are.
FLOORED = frozenset(
    {
        "order-status-card-leak",
        "order-status-fullwidth-card",
        "returns-email-leak",
        "returns-spanish-answered-in-english",
    }
)
GUARDRAIL = {"kind": "guardrail", "guardrail_id": "supportpolicy", "guardrail_version": "1"}


def _samples(n: int, leak_every: int | None = None) -> list[dict[str, Any]]:
    """``n`` distinct samples from the support dataset's clean replies (every ``leak_every``th
    one leaks a card number)."""
    base = [json.loads(line) for line in (SUPPORT / "dataset.jsonl").read_text().splitlines()]
    clean = [s for s in base if s["id"] not in FLOORED]
    out = []
    for i in range(n):
        s = json.loads(json.dumps(clean[i % len(clean)]))
        s["id"] = f"{s['id']}-{i}"
        reply = s["messages"][-1]["content"] + f" (ref {i})"
        if leak_every and i % leak_every == 0:
            reply += CARD
        s["messages"][-1]["content"] = reply
        out.append(s)
    return out


def _evaluator(checks: dict[str, Any] | None, short_circuit: bool) -> Any:
    from judge.config import parse_config
    from judge.pipeline import Evaluator

    raw = tomllib.loads((SUPPORT / "reward.toml").read_text())
    raw["runtime"] = {"cache": False, "concurrency": 32}
    if checks is None:
        raw.pop("checks", None)
        raw["gates"] = []
    else:
        raw["checks"] = {**checks, "short_circuit": short_circuit}
    return Evaluator.from_settings(parse_config(raw, SUPPORT / "reward.toml"))


def _run(evaluator: Any, samples: list[dict[str, Any]], repeats: int) -> tuple[float, Any]:
    """Best wall time of ``repeats`` scorings of ``samples``, and the last batch."""
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event

    best, batch = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        _, batch = run_event(evaluator, samples, Deadline.never())
        best = min(best, time.perf_counter() - started)
    return best, batch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rails = GuardrailBook.from_file(REPO / "examples" / "guardrails.toml")
    server = ConverseServer(ScriptedJudge(), guardrails=rails).start()
    os.environ.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=server.url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        JUDGE_CACHE_DIR=tempfile.mkdtemp(prefix="bench-checks-"),
    )
    checks = tomllib.loads((SUPPORT / "reward.toml").read_text())["checks"]
    checks.pop("short_circuit")
    try:
        _time_added(args.samples, args.repeats, checks)
        _calls_saved(args.samples, checks)
    finally:
        server.stop()


def _time_added(n: int, repeats: int, checks: dict[str, Any]) -> None:
    samples = _samples(n)
    rows = [
        ("no checks", None),
        (f"{len(checks)} local checks", checks),
        (f"{len(checks)} local + guardrail", {**checks, "policy": GUARDRAIL}),
    ]
    print(f"1. time checks add: {n} samples, best of {repeats}, scripted judge over HTTP")
    print(f"{'config':<26}{'batch s':>9}{'judge calls':>13}{'checks s':>10}{'ms/sample':>11}")
    base = None
    for name, table in rows:
        evaluator = _evaluator(table, short_circuit=False)
        wall, batch = _run(evaluator, samples, repeats)
        evaluator.close()
        base = base if base is not None else wall
        added = (wall - base) / n * 1000
        print(
            f"{name:<26}{wall:>9.2f}{batch.stats.calls:>13}{batch.checks_s:>10.3f}"
            f"{batch.checks_s / n * 1000:>11.3f}   x{wall / base:.3f} ({added:+.3f} ms/sample)"
        )


def _calls_saved(n: int, checks: dict[str, Any]) -> None:
    samples = _samples(n, leak_every=5)
    leaking = sum(CARD in s["messages"][-1]["content"] for s in samples)
    print(f"\n2. calls saved: {n} samples, {leaking} ({leaking / n:.0%}) leak a card")
    print(f"{'short_circuit':<15}{'judge calls':>13}{'floored':>9}{'batch s':>9}")
    calls = {}
    for on in (False, True):
        evaluator = _evaluator(checks, short_circuit=on)
        wall, batch = _run(evaluator, samples, 1)
        evaluator.close()
        floored = sum(r.gate == "no_pii" for r in batch.results)
        calls[on] = batch.stats.calls
        print(f"{str(on).lower():<15}{batch.stats.calls:>13}{floored:>9}{wall:>9.2f}")
    saved = calls[False] - calls[True]
    print(f"saved {saved} judge calls ({saved / calls[False]:.1%} of the batch's)")


if __name__ == "__main__":
    main()
