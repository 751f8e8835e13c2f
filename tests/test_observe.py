"""The handler's CloudWatch output: EMF metrics that parse as EMF, and JSON logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from judge import lambda_handler, observe
from judge.deadline import LocalContext
from judge.metrics import METRICS, metric
from judge.server.scripted import Faults, Judged, ScriptedJudge
from tests.conftest import ServeFn, make_evaluator, sample

EXPECTED = {
    "BatchSize",
    "RewardMean",
    "RewardMin",
    "RewardMax",
    "UnscoredSamples",
    "GuardedSamples",
    "MalformedSamples",
    "UnscoredJudgements",
    "CacheHitRate",
    "JudgeCalls",
    "Retries",
    "Throttles",
    "JudgeFailedCalls",
    "JudgeLatencyMean",
    "JudgeLatencyMax",
    "BatchDuration",
    "ScoreMean_helpfulness",
    "ScoreMean_tone",
    "ScoreMean_brand_voice",
    "JudgeInputTokens",
    "JudgeOutputTokens",
    "JudgeCacheReadTokens",
    "JudgeCacheWriteTokens",
    "JudgeCostUSD",
    # training signals (judge.signals): one prompt group of four well-formed samples
    "RefusedSamples",
    "RewardStd",
    "ResponseLengthMean",
    "ResponseLengthStd",
    "RewardLengthCorr",
    "RewardLengthGroups",
    "ZeroSpreadGroupRate",
}


def _value(emf: dict[str, Any], name: str) -> float:
    """A metric's value: EMF allows a number or an array of numbers."""
    raw = emf[name]
    values = raw if isinstance(raw, list) else [raw]
    assert values and all(isinstance(v, int | float) for v in values)
    return float(values[0])


def _emf(lines: list[str]) -> dict[str, Any]:
    blobs = [json.loads(x) for x in lines if x.startswith("{") and '"_aws"' in x]
    assert len(blobs) == 1, lines
    blob: dict[str, Any] = blobs[0]
    return blob


def test_emf_metrics_per_invocation(
    serve: ServeFn, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    def score(j: Judged) -> int:
        return 5 if "great" in j.response else 2

    serve(ScriptedJudge(score_fn=score, faults=Faults(throttle=0.3), seed=2))
    lambda_handler.reset()
    lambda_handler._evaluator = make_evaluator(runtime={"cache": False})
    batch = [
        sample("a", "great answer, thanks"),
        sample("b", "meh"),
        sample("c", "..."),
        "garbage",
        sample("a2", "great answer, thanks"),
    ]
    try:
        capfd.readouterr()
        answer = lambda_handler.handler(batch, LocalContext(60))
        out = capfd.readouterr().out.splitlines()
    finally:
        lambda_handler.reset()
    emf = _emf(out)
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert isinstance(emf["_aws"]["Timestamp"], int)
    assert directive["Namespace"] == "RLAIFJudge"
    assert all(isinstance(d, list) for d in directive["Dimensions"])
    for dim_set in directive["Dimensions"]:
        for dim in dim_set:
            assert isinstance(emf[dim], str)  # each dimension has a value at the top level
    assert sorted(directive["Dimensions"][0]) == ["function", "service"]
    assert emf["function"] == "local" and emf["service"] == "rlaif-judge"
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == EXPECTED
    # every name and unit from the one table (judge.metrics), every non-optional one sent
    assert {m.name for m in METRICS if not m.optional} <= names
    for sent in directive["Metrics"]:
        _value(emf, sent["Name"])
        assert sent["Unit"] == metric(sent["Name"]).unit
    assert _value(emf, "BatchSize") == 5
    assert _value(emf, "GuardedSamples") == 1 and _value(emf, "MalformedSamples") == 1
    assert _value(emf, "RewardMax") == max(a["aggregate_reward_score"] for a in answer)
    assert _value(emf, "JudgeCalls") == 6  # 2 distinct responses x 3 rubrics (a2 duplicates a)
    assert _value(emf, "Throttles") >= 1
    assert _value(emf, "Retries") >= _value(emf, "Throttles")
    assert _value(emf, "ScoreMean_tone") == pytest.approx((1.0 + 1.0 + 0.25) / 3)
    assert emf["evaluator_version"]

    # The log line, formatted by the handler's own (Powertools JSON) formatter.
    records = [r for r in caplog.records if r.getMessage() == "batch scored"]
    assert len(records) == 1
    line = json.loads(observe.logger.registered_formatter.format(records[0]))
    assert line["level"] == "INFO" and line["service"] == "rlaif-judge"
    assert line["BatchSize"] == 5 and line["evaluator_version"] == emf["evaluator_version"]
    everything = "\n".join(out) + "\n".join(r.getMessage() for r in caplog.records)
    assert "great answer" not in everything  # no response text unless DEBUG
