"""A CloudWatch dashboard for one reward function: what to watch during a training run.

It plots names from the one metric table (``judge.metrics``); a name not there fails here,
at deploy, not as an empty graph in CloudWatch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from judge.metrics import metric
from judge.observe import NAMESPACE, SERVICE

MAX_BODY = 4096  # a CloudFormation parameter value


def _metric(
    name: str, function: str, stat: str, label: str | None = None, right: bool = False
) -> list[Any]:
    metric(name)  # KeyError for a name the function never emits
    extra: dict[str, Any] = {"stat": stat}
    if label:
        extra["label"] = label
    if right:  # a second y axis: dollars beside token counts
        extra["yAxis"] = "right"
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
            "metrics": _compact(metrics),
        },
    }


def _compact(metrics: list[list[Any]]) -> list[list[Any]]:
    """Metrics with CloudWatch's "." shorthand for a value repeated from the metric above.

    The body travels as a CloudFormation parameter (at most 4,096 bytes), and every metric
    of a widget repeats the namespace and both dimensions.
    """
    out = metrics[:1]
    for prev, row in pairwise(metrics):
        out.append(
            [
                "." if 0 < i < len(row) - 1 and i != 1 and v == prev[i] else v
                for i, v in enumerate(row)
            ]
        )
    return out


def dashboard_body(
    function: str, region: str, rubrics: list[str], checks: Sequence[str] = ()
) -> str:
    """The dashboard JSON: rewards, scores, flags, latency, throttles, tokens, cost, spread.

    ``checks``: the config's verifiable checks (a widget of their figures when there are any).
    """
    widgets = [
        _widget(
            "Reward: mean, min, max",
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
            "Rubric scores (0..1)",
            [_metric(f"ScoreMean_{r}", function, "Average", r) for r in rubrics],
            region,
            12,
            0,
        ),
        _widget(
            "Samples and flags",
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
            "Throttles, retries, calls",
            [_metric(name, function, "Sum") for name in ("Throttles", "Retries", "JudgeCalls")],
            region,
            0,
            12,
        ),
        _widget(
            "Cache hit rate (%)", [_metric("CacheHitRate", function, "Average")], region, 12, 12
        ),
        _widget(
            "Tokens; est. USD (right)",
            [
                *(
                    _metric(f"Judge{kind}Tokens", function, "Sum")
                    for kind in ("Input", "Output", "CacheRead", "CacheWrite")
                ),
                _metric("JudgeCostUSD", function, "Sum", right=True),
            ],
            region,
            0,
            18,
        ),
        _widget(
            "Judge disagreement (0..1)",
            [
                _metric("PanelSpreadMean", function, "Average"),
                _metric("OrderGapMean", function, "Average"),
            ],
            region,
            12,
            18,
        ),
    ]
    if checks:
        widgets.append(_checks_widget(function, region, checks))
    body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    if len(body) > MAX_BODY and checks:  # many checks: their counts still fit, not each mean
        widgets[-1] = _checks_widget(function, region, ())
        body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    if len(body) > MAX_BODY:
        raise ValueError(f"dashboard body is {len(body)} bytes, over {MAX_BODY}")
    return body


def _checks_widget(function: str, region: str, checks: Sequence[str]) -> dict[str, Any]:
    """Checks: samples short-circuited, the unscored rate, and each check's mean score."""
    return _widget(
        "Checks: short-circuited, unscored %, mean scores",
        [
            _metric("ChecksShortCircuited", function, "Sum"),
            _metric("CheckUnscoredRate", function, "Average"),
            *(_metric(f"CheckScoreMean_{c}", function, "Average", c) for c in checks),
        ],
        region,
        0,
        24,
    )
