"""A CloudWatch dashboard for one reward function: what to watch during a training run."""

from __future__ import annotations

import json
from typing import Any

from judge.observe import NAMESPACE, SERVICE

MAX_BODY = 4096  # a CloudFormation parameter value


def _metric(name: str, function: str, stat: str, label: str | None = None) -> list[Any]:
    extra: dict[str, Any] = {"stat": stat}
    if label:
        extra["label"] = label
    return [NAMESPACE, name, "function", function, "service", SERVICE, extra]


def _widget(title: str, metrics: list[list[Any]], region: str, x: int, y: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "period": 60,
            "metrics": metrics,
        },
    }


def dashboard_body(function: str, region: str, rubrics: list[str]) -> str:
    """The dashboard JSON: rewards, per-rubric scores, flags, judge latency and throttling."""
    widgets = [
        _widget(
            "Reward (mean, min, max per batch)",
            [
                _metric("RewardMean", function, "Average"),
                _metric("RewardMin", function, "Minimum"),
                _metric("RewardMax", function, "Maximum"),
            ],
            region,
            0,
            0,
        ),
        _widget(
            "Rubric scores (0..1, batch means)",
            [_metric(f"ScoreMean_{r}", function, "Average", r) for r in rubrics],
            region,
            12,
            0,
        ),
        _widget(
            "Samples: total, unscored, guarded, malformed",
            [
                _metric(name, function, "Sum")
                for name in ("BatchSize", "UnscoredSamples", "GuardedSamples", "MalformedSamples")
            ],
            region,
            0,
            6,
        ),
        _widget(
            "Judge latency (ms)",
            [
                _metric("JudgeLatencyMean", function, "Average"),
                _metric("JudgeLatencyMax", function, "Maximum"),
                _metric("BatchDuration", function, "Maximum"),
            ],
            region,
            12,
            6,
        ),
        _widget(
            "Bedrock: throttles, retries, calls",
            [_metric(name, function, "Sum") for name in ("Throttles", "Retries", "JudgeCalls")],
            region,
            0,
            12,
        ),
        _widget(
            "Cache hit rate (%)", [_metric("CacheHitRate", function, "Average")], region, 12, 12
        ),
    ]
    body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    if len(body) > MAX_BODY:
        raise ValueError(f"dashboard body is {len(body)} bytes, over {MAX_BODY}")
    return body
