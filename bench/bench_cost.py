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


CONFIGS = (
    ("separate", {"combine_rubrics": False, "prompt_cache": False}),
    ("separate + cache", {"combine_rubrics": False, "prompt_cache": True}),
    ("combined", {"combine_rubrics": True, "prompt_cache": False}),
    ("combined + cache", {"combine_rubrics": True, "prompt_cache": True}),
    # Group mode: the batch has 4 answers per prompt, so a group call grades 4 responses.
    ("group (4 a call)", {"mode": "group"}),
    ("group, 2 orders", {"mode": "group", "group_orders": 2}),
    (
        "panel of 2",
        {
            "panel": [
                {"model_id": "us.amazon.nova-pro-v1:0"},
                {"model_id": "us.amazon.nova-lite-v1:0"},
            ]
        },
    ),
)


def _cost_run(samples: list[dict[str, Any]], concurrency: int, judge: dict[str, Any]) -> Any:
    """One configuration over the batch with a fresh verdict cache (every call is made)."""
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event

    os.environ["JUDGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-cost-")
    evaluator = _evaluator(concurrency, **judge)
    answer, batch = run_event(evaluator, samples, Deadline.never())
    evaluator.close()
    return answer, batch


def _cost_table(samples: list[dict[str, Any]], concurrency: int) -> None:
    from judge.cost import per_thousand, price_table, total_cost, total_tokens

    prices = price_table()
    print(
        f"\nCost per 1,000 rewards: {len(samples)} samples (4 per prompt) x 3 rubrics; tokens as "
        "the local server counts them (4 characters a token), prices from "
        "judge/data/prices.toml (the panel: Nova Pro + Nova Lite)"
    )
    print(
        f"{'mode':<18}{'calls':>7}{'input':>10}{'cache read':>12}{'cache write':>13}"
        f"{'output':>9}{'USD':>9}"
    )
    answers = {}
    for name, judge in CONFIGS:
        answer, batch = _cost_run(samples, concurrency, judge)
        answers[name] = answer
        stats = batch.stats
        tokens = total_tokens(stats.tokens)
        usd = total_cost(stats.tokens, prices)
        n = len(samples)

        def k(value: float, n: int = n) -> float:
            return per_thousand(value, n) or 0.0

        print(
            f"{name:<18}{k(stats.calls):>7.0f}{k(tokens.input):>10.0f}{k(tokens.cache_read):>12.0f}"
            f"{k(tokens.cache_write):>13.0f}{k(tokens.output):>9.0f}"
            f"{'unknown' if usd is None else f'{k(usd):.3f}':>9}"
        )
    same = sum(
        a["aggregate_reward_score"] == b["aggregate_reward_score"]
        for a, b in zip(answers["separate"], answers["combined"], strict=True)
    )
    print(
        f"combined vs separate on the scripted judge: {same}/{len(samples)} identical rewards "
        "(a plumbing check: this judge scores each rubric independently by construction)"
    )


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
        print_cpu(args.samples, handler, raw)
        _cost_table(_batch(args.samples, "cost"), args.concurrency)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def print_cpu(samples: int, handler: dict[str, float], raw: dict[str, float]) -> None:
    """The CPU-floor table."""
    print(f"CPU floor: {samples} samples, zero-latency server, {os.cpu_count()} cores")
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
