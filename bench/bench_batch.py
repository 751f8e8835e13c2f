"""Benchmark: one RFT batch against the local Converse server at a fixed judge latency.

Prints wall time, judge calls, effective parallelism (summed call time / wall time) and the
same batch judged one call at a time as the baseline, measured in the same run.

    python bench/bench_batch.py [--samples 64] [--latency-ms 200] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import os
import time
import tomllib
from pathlib import Path
from typing import Any

from judge.server.process import start_server

REPO = Path(__file__).resolve().parent.parent


def _batch(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"b{i}",
            "messages": [
                {"role": "user", "content": f"Question {i // 4}: can I return my tent?"},
                {"role": "assistant", "content": f"Yes, thank you for asking. Variant {i}."},
            ],
        }
        for i in range(n)
    ]


def _run(samples: list[dict[str, Any]], concurrency: int) -> dict[str, float]:
    from judge.config import parse_config
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event
    from judge.pipeline import Evaluator

    raw = tomllib.loads((REPO / "reward.toml").read_text())
    raw["runtime"] = {**raw.get("runtime", {}), "concurrency": concurrency, "cache": False}
    evaluator = Evaluator.from_settings(parse_config(raw, REPO / "reward.toml"))
    started = time.perf_counter()
    answer, batch = run_event(evaluator, samples, Deadline.never())
    wall = time.perf_counter() - started
    assert len(answer) == len(samples)
    busy = sum(batch.stats.latencies_s)
    return {
        "wall_s": wall,
        "calls": batch.stats.calls,
        "parallelism": busy / wall,
        "mean_call_ms": 1000 * busy / max(1, batch.stats.calls),
        "calls_per_s": batch.stats.calls / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    proc, url = start_server(["--latency-ms", str(args.latency_ms)], quiet=True)
    os.environ.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        samples = _batch(args.samples)
        parallel = _run(samples, args.concurrency)
        baseline = _run(samples, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print(
        f"batch of {args.samples} samples x 3 rubrics, judge latency {args.latency_ms} ms, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'run':<24}{'wall s':>9}{'calls':>7}{'calls/s':>9}{'mean call ms':>14}{'parallelism':>13}"
    )
    for name, r in (
        (f"concurrency {args.concurrency}", parallel),
        ("baseline (1 at a time)", baseline),
    ):
        print(
            f"{name:<24}{r['wall_s']:>9.2f}{r['calls']:>7.0f}{r['calls_per_s']:>9.1f}"
            f"{r['mean_call_ms']:>14.0f}{r['parallelism']:>13.1f}"
        )
    print(
        f"speed-up over baseline: {baseline['wall_s'] / parallel['wall_s']:.1f}x; "
        f"effective parallelism {parallel['parallelism']:.1f}"
    )


if __name__ == "__main__":
    main()
