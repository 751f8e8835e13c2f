"""The one metric table: the README names every metric, the dashboard plots only its names."""

from __future__ import annotations

import json
import re

import pytest

from judge.deploy.dashboard import dashboard_body
from judge.metrics import METRICS, metric
from tests.conftest import REPO


def test_the_readme_names_every_metric_of_the_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([A-Za-z_]+)(?:<rubric>)?`", readme))
    missing = [m.name for m in METRICS if m.name not in named]
    assert not missing, f"README.md does not name these metrics (in backticks): {missing}"


def test_the_dashboard_plots_only_metrics_of_the_table() -> None:
    body = json.loads(dashboard_body("fn", "us-east-1", ["tone", "brand_voice"], ["concise"]))
    plotted = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"]}
    assert "ScoreMean_tone" in plotted and "JudgeCostUSD" in plotted
    rows = {metric(name).name for name in plotted}  # KeyError: a name the function never emits
    assert rows <= {m.name for m in METRICS}
    # what the dashboard leaves out is a choice, kept short and visible here
    assert {m.name for m in METRICS} - rows <= {
        "UnscoredJudgements",
        "JudgeFailedCalls",
        "SubstanceCalls",
        "SubstanceFloored",
        "SubstanceFailed",
        "ChecksDuration",
        # canary runs: alarmed in the template, not plotted (the body is near its 4,096 bytes)
        "Canaries",
        "CanaryUnscored",
        "CanaryDriftMax",
        "CanaryDriftMean",
        "CanaryDrift_",
        # per-batch training signals: alarmed (length correlation, zero spread), not plotted
        "RefusedSamples",
        "RewardStd",
        "ResponseLengthMean",
        "ResponseLengthStd",
        "RewardLengthCorr",
        "RewardLengthGroups",
        "ZeroSpreadGroupRate",
        # opt-in [reward] shrink: in the logs and EMF, not plotted
        "ShrinkWeightMean",
    }


def test_a_name_outside_the_table_is_refused() -> None:
    assert metric("ScoreMean_tone").per_rubric and metric("Retries").unit == "Count"
    with pytest.raises(KeyError, match=r"not in judge\.metrics\.METRICS"):
        metric("RewardMedian")
    assert len({m.name for m in METRICS}) == len(METRICS)
