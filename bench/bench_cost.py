"""Benchmark: the judge path's client CPU per call against raw boto3, and cost per reward.

Against a zero-latency local Converse server in its own process, measured in one run:

1. CPU floor: the handler scoring a batch (guard, render, cache, retries, verdicts, reward)
   against raw boto3 replaying the very same rendered requests with the same thread count:
   calls/s and client CPU ms per call for each, and their ratio.
2. Cost: calls, tokens and estimated dollars per 1,000 rewards for separate vs combined mode,
   with and without prompt caching (the local server reports cache tokens as Bedrock does).

    python bench/bench_cost.py [--samples 128] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from judge.server.process import start_server

REPO = Path(__file__).resolve().parent.parent


def _batch(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{tag}{i}",
            "messages": [
                {"role": "user", "content": f"Question {i // 4} ({tag}): can I return my tent?"},
                {
                    "role": "assistant",
                    "content": f"Yes, thank you for asking ({tag}). You can return it within "
                    f"60 days at any store or online; variant {i}.",
                },
            ],
        }
        for i in range(n)
    ]


def _evaluator(concurrency: int, **judge: Any) -> Any:
    from judge.config import parse_config
    from judge.pipeline import Evaluator

    raw = tomllib.loads((REPO / "reward.toml").read_text())
    raw["runtime"] = {**raw.get("runtime", {}), "concurrency": concurrency}
    raw["judge"] = {**raw.get("judge", {}), **judge}
    return Evaluator.from_settings(parse_config(raw, REPO / "reward.toml"))


def _handler_cpu(samples: list[dict[str, Any]], concurrency: int) -> dict[str, float]:
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event

    evaluator = _evaluator(concurrency)
    run_event(evaluator, _batch(8, "warm"), Deadline.never())  # imports, pools, templates
    cpu, wall = time.process_time(), time.perf_counter()
    answer, batch = run_event(evaluator, samples, Deadline.never())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert len(answer) == len(samples) and batch.stats.calls > 0
    evaluator.close()
    return {"calls": batch.stats.calls, "cpu_s": cpu, "wall_s": wall}


def _raw_cpu(samples: list[dict[str, Any]], concurrency: int) -> dict[str, float]:
    """The same requests the handler sends, rendered beforehand, sent by bare boto3."""
    from judge.bedrock import make_client
    from judge.contract import parse_sample

    evaluator = _evaluator(concurrency)
    requests = [
        task.request
        for i, raw in enumerate(samples)
        if (item := parse_sample(i, raw).item) is not None
        for task in evaluator.sample_tasks(item).values()
    ]
    model = evaluator.config.judge.model_id
    client = make_client(evaluator.config.judge, concurrency)
    evaluator.close()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda r: client.converse(modelId=model, **r), requests[:8]))  # warm
        cpu, wall = time.process_time(), time.perf_counter()
        list(pool.map(lambda r: client.converse(modelId=model, **r), requests))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"calls": len(requests), "cpu_s": cpu, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    proc, url = start_server([], quiet=True)
    cache = tempfile.mkdtemp(prefix="bench-cache-")
    os.environ.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=url,
        AWS_DEFAULT_REGION="us-east-1",
        JUDGE_CACHE_DIR=cache,
    )
    try:
        samples = _batch(args.samples, "cpu")
        handler = _handler_cpu(samples, args.concurrency)
        raw = _raw_cpu(samples, args.concurrency)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print(f"CPU floor: {args.samples} samples, zero-latency server, {os.cpu_count()} cores")
    print(f"{'client':<14}{'calls':>7}{'calls/s':>9}{'CPU ms/call':>13}")
    per_call = {}
    for name, r in (("handler", handler), ("raw boto3", raw)):
        per_call[name] = 1000 * r["cpu_s"] / r["calls"]
        rate = r["calls"] / r["wall_s"]
        print(f"{name:<14}{r['calls']:>7.0f}{rate:>9.1f}{per_call[name]:>13.2f}")
    ratio = per_call["handler"] / per_call["raw boto3"]
    print(f"ratio handler / raw boto3: {ratio:.2f} (target <= 1.25)")


if __name__ == "__main__":
    main()
