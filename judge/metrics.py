"""The one table of the invocation's metric names: what the logs, EMF, dashboard and README use.

``judge.observe`` logs and emits exactly these names with these units, the dashboard
(``judge.deploy.dashboard``) plots only names from here, and a test checks the README names
them all: adding a metric is one row here and its figure in ``observe.batch_figures``.
Units are CloudWatch's EMF unit names (``None``: unitless). Plain data: the runtime imports
it at init, so nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["Count", "Milliseconds", "Percent", "None"]


@dataclass(frozen=True)
class Metric:
    """One metric: its name (a per-rubric one's is ``name + rubric``), unit and meaning."""

    name: str
    unit: Unit
    description: str
    per_rubric: bool = False  # one per rubric (``ScoreMean_tone``) or check (``CheckScoreMean_``)
    optional: bool = False  # sent only when it has a value (never a made-up 0)


METRICS: tuple[Metric, ...] = (
    Metric("BatchSize", "Count", "samples in the invocation"),
    Metric("RewardMean", "None", "mean reward of the batch"),
    Metric("RewardMin", "None", "lowest reward of the batch"),
    Metric("RewardMax", "None", "highest reward of the batch"),
    Metric("UnscoredSamples", "Count", "samples no judgement scored (given the unscored value)"),
    Metric("GuardedSamples", "Count", "samples the guard floored without a judge call"),
    Metric("MalformedSamples", "Count", "samples that could not be read"),
    Metric("UnscoredJudgements", "Count", "judged dimensions left unscored, with a reason"),
    Metric("RefusedSamples", "Count", "samples a judge refused to score ([unscored] refused)"),
    # Per-batch training signals (``judge.signals``): length in characters of the response;
    # a group is the samples of the batch sharing a prompt.
    Metric("RewardStd", "None", "standard deviation of the batch's rewards (population)"),
    Metric("ResponseLengthMean", "None", "mean response length, characters", optional=True),
    Metric(
        "ResponseLengthStd",
        "None",
        "standard deviation of response length, characters (population)",
        optional=True,
    ),
    Metric(
        "RewardLengthCorr",
        "None",
        "mean within-group Spearman of reward with length (groups of >= 3 scored samples "
        "whose rewards and lengths vary)",
        optional=True,
    ),
    Metric("RewardLengthGroups", "Count", "groups averaged in RewardLengthCorr"),
    Metric(
        "ZeroSpreadGroupRate",
        "Percent",
        "prompt groups (>= 2 samples) whose rewards are all equal, of all such groups",
        optional=True,
    ),
    Metric("CacheHitRate", "Percent", "verdicts served from the cache, of all lookups"),
    Metric("JudgeCalls", "Count", "judge calls made"),
    Metric("Retries", "Count", "judge calls retried"),
    Metric("Throttles", "Count", "judge calls throttled"),
    Metric("JudgeFailedCalls", "Count", "judge calls that ended without an answer"),
    Metric("JudgeLatencyMean", "Milliseconds", "mean judge call latency"),
    Metric("JudgeLatencyMax", "Milliseconds", "slowest judge call"),
    Metric("BatchDuration", "Milliseconds", "wall time of the invocation's judging"),
    Metric("JudgeInputTokens", "Count", "judge input tokens"),
    Metric("JudgeOutputTokens", "Count", "judge output tokens"),
    Metric("JudgeCacheReadTokens", "Count", "judge prompt-cache read tokens"),
    Metric("JudgeCacheWriteTokens", "Count", "judge prompt-cache write tokens"),
    Metric(
        "JudgeCostUSD", "None", "estimated USD (left out when a model has no price)", optional=True
    ),
    Metric("SubstanceCalls", "Count", "substance check calls", optional=True),
    Metric("SubstanceFloored", "Count", "responses the substance check floored", optional=True),
    Metric("SubstanceFailed", "Count", "substance checks that failed", optional=True),
    Metric("ScoreMean_", "None", "a rubric's mean score (0..1)", per_rubric=True, optional=True),
    Metric("PanelSpreadMean", "None", "mean spread between a panel's judges", optional=True),
    Metric("OrderGapMean", "None", "mean gap between a group's two orders", optional=True),
    Metric(
        "ShrinkWeightMean",
        "None",
        "mean [reward] shrink weight over the dimensions it weighed (0: kept, 1: group mean)",
        optional=True,
    ),
    # Verifiable checks ([checks]): sent only when the config has checks.
    Metric(
        "ChecksShortCircuited",
        "Count",
        "samples a gated check floored before any judge call",
        optional=True,
    ),
    Metric("CheckUnscoredRate", "Percent", "check results left unscored, of all", optional=True),
    Metric("ChecksDuration", "Milliseconds", "wall time of the checks", optional=True),
    Metric(
        "CheckScoreMean_", "None", "a check's mean score (0..1)", per_rubric=True, optional=True
    ),
    # Canary runs (the scheduled ``{"judge_canary": true}`` event, ``judge.canaries``) only.
    Metric("Canaries", "Count", "canaries judged in a canary run", optional=True),
    Metric("CanaryUnscored", "Count", "canaries the judge left unscored now", optional=True),
    Metric("CanaryDriftMax", "None", "largest canary drift (0..1 of the range)", optional=True),
    Metric("CanaryDriftMean", "None", "mean canary drift (0..1 of the range)", optional=True),
    Metric(
        "CanaryDrift_",
        "None",
        "a canary's |score now - score at build| (0..1 of the reward range)",
        per_rubric=True,
        optional=True,
    ),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


def metric(name: str) -> Metric:
    """The table's row for ``name`` (``ScoreMean_tone`` -> ``ScoreMean_``); KeyError if none."""
    if name in BY_NAME:
        return BY_NAME[name]
    row = next((m for m in METRICS if m.per_rubric and name.startswith(m.name)), None)
    if row is None:
        raise KeyError(f"metric {name!r} is not in judge.metrics.METRICS")
    return row
