"""Structured logs and CloudWatch metrics (embedded metric format) for each invocation.

Powertools for AWS Lambda writes both to stdout, where Lambda ships them to CloudWatch Logs
and CloudWatch extracts the EMF metrics with no API call. Response text is never logged
unless the log level is DEBUG.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import IO, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from judge.assemble import BatchResult
from judge.config import ModelPrice
from judge.contract import shown_id
from judge.cost import price_table, total_cost
from judge.metrics import metric
from judge.signals import batch_signals

SERVICE = "rlaif-judge"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "RLAIFJudge")


class _Stdout(io.TextIOBase):
    """Whatever ``sys.stdout`` is when a log line is written, not when the logger was made.

    On Lambda that is stdout, which Lambda ships to CloudWatch Logs, as it does the EMF
    lines (printed to ``sys.stdout`` too); ``judge invoke`` points both at stderr while the
    handler runs, so that its stdout carries the answer alone.
    """

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


logger = Logger(service=SERVICE, stream=cast(IO[str], _Stdout()))
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
# One reward function's metrics must not mix with another's in the same account.
metrics.set_default_dimensions(function=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"))
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # On Lambda the package's own warnings (stale calibration, malformed samples) log as
    # JSON too; the CLI prints them as lines on stderr instead (``judge.cli._app``).
    copy_config_to_registered_loggers(source_logger=logger, include={"judge"})


@cache
def evaluator_version() -> str:
    """The content hash from the package manifest (``unpackaged`` when running from source)."""
    root = os.environ.get("LAMBDA_TASK_ROOT") or str(Path(__file__).resolve().parent.parent)
    manifest = Path(root) / "manifest.json"
    try:
        return str(json.loads(manifest.read_text())["evaluator_version"])
    except (OSError, ValueError, KeyError):
        return "unpackaged"


def record(
    batch: BatchResult, rubrics: list[str], prices: Mapping[str, ModelPrice] | None = None
) -> dict[str, float]:
    """Log one invocation and emit its EMF metrics; returns the figures (for tests/CLI).

    ``prices`` (default: the bundled table) turn the batch's tokens into ``JudgeCostUSD``;
    when a model has no price the metric is left out (unknown), never sent as 0.
    """
    s = batch.stats
    cost = total_cost(s.tokens, price_table() if prices is None else prices)
    figures = batch_figures(batch, rubrics, cost)
    _emit(figures)
    logger.info(
        "batch scored",
        extra={
            "evaluator_version": evaluator_version(),
            "tokens_in": s.input_tokens,
            "tokens_out": s.output_tokens,
            "cost_usd": cost,  # None: a model in the batch has no price (see [pricing])
            "models": sorted(s.tokens),
            "deduplicated": batch.deduplicated,
            **figures,
        },
    )
    if logger.log_level <= 10:  # DEBUG: per-sample detail, with the reasons
        _log_samples(batch)
    return figures


def batch_figures(batch: BatchResult, rubrics: list[str], cost: float | None) -> dict[str, float]:
    """The invocation's metrics by name; optional ones only when they have a value."""
    results, s = batch.results, batch.stats
    flags = batch.counts()
    rewards = [r.reward for r in results]
    lookups = s.cache_hits + s.calls
    figures: dict[str, float] = {
        "BatchSize": len(results),
        "RewardMean": statistics.fmean(rewards) if rewards else 0.0,
        "RewardMin": min(rewards, default=0.0),
        "RewardMax": max(rewards, default=0.0),
        "UnscoredSamples": flags["unscored"],
        "GuardedSamples": flags["guarded"],
        "MalformedSamples": flags["malformed"],
        "RefusedSamples": flags["refused"],
        "UnscoredJudgements": sum(
            d.normalized is None for r in results for d in r.dimensions if d.check is None
        ),  # a check's unscored results: CheckUnscoredRate
        "CacheHitRate": s.cache_hits / lookups if lookups else 0.0,
        "JudgeCalls": s.calls,
        "Retries": s.retries,
        "Throttles": s.throttles,
        "JudgeFailedCalls": sum(batch.failed_calls.values()),
        "JudgeLatencyMean": statistics.fmean(s.latencies_s) * 1000 if s.latencies_s else 0.0,
        "JudgeLatencyMax": max(s.latencies_s, default=0.0) * 1000,
        "BatchDuration": batch.wall_s * 1000,
        "JudgeInputTokens": s.input_tokens,
        "JudgeOutputTokens": s.output_tokens,
        "JudgeCacheReadTokens": s.cache_read_tokens,
        "JudgeCacheWriteTokens": s.cache_write_tokens,
    }
    if cost is not None:
        figures["JudgeCostUSD"] = cost
    # Training signals: reward spread, length, reward/length correlation, zero-spread groups.
    return figures | batch_signals(batch.results) | _optional_figures(batch, rubrics)


def _optional_figures(batch: BatchResult, rubrics: list[str]) -> dict[str, float]:
    """Substance check figures, per-rubric means and disagreement, sent only when defined."""
    figures: dict[str, float] = {}
    if (sub := batch.substance).asked:  # [guard] substance_model asked about some responses
        figures |= {
            "SubstanceCalls": sub.calls,
            "SubstanceFloored": sub.floored,
            "SubstanceFailed": sub.failed,
        }
    for name in rubrics:
        values = batch.scores(name)
        if values:
            figures[f"ScoreMean_{name}"] = statistics.fmean(values)
    # Disagreement (panels, group mode with two orders): sent only when there is any.
    dims = [d for r in batch.results for d in r.dimensions]
    if spreads := [d.spread for d in dims if d.spread is not None]:
        figures["PanelSpreadMean"] = statistics.fmean(spreads)
    if gaps := [d.order_gap for d in dims if d.order_gap is not None]:
        figures["OrderGapMean"] = statistics.fmean(gaps)
    if weights := [d.shrink.weight for d in dims if d.shrink is not None]:  # [reward] shrink
        figures["ShrinkWeightMean"] = statistics.fmean(weights)
    return figures | check_figures(batch)


def check_figures(batch: BatchResult) -> dict[str, float]:
    """The verifiable checks' figures: none when the config has no checks."""
    checks = batch.check_dimensions()
    if not checks and not batch.checks_s:
        return {}
    figures: dict[str, float] = {
        "ChecksShortCircuited": batch.short_circuited,
        "CheckUnscoredRate": (
            sum(d.normalized is None for d in checks) / len(checks) if checks else 0.0
        ),
        "ChecksDuration": batch.checks_s * 1000,
    }
    by_name: dict[str, list[float]] = {}
    for d in checks:
        if d.normalized is not None:
            by_name.setdefault(d.rubric, []).append(d.normalized)
    for name, values in by_name.items():
        figures[f"CheckScoreMean_{name}"] = statistics.fmean(values)
    return figures


def _emit(figures: dict[str, float]) -> None:
    """The figures as EMF metrics (one stdout line), with the evaluator version."""
    for name, value in figures.items():
        unit = MetricUnit(metric(name).unit)  # the table's unit; KeyError: not in the table
        percent = unit == MetricUnit.Percent  # figures hold shares (0..1)
        metrics.add_metric(name=name, unit=unit, value=value * 100 if percent else value)
    metrics.add_metadata(key="evaluator_version", value=evaluator_version())
    metrics.flush_metrics()


def _log_samples(batch: BatchResult) -> None:
    """Per-sample detail at DEBUG, with the reasons (response text is never logged)."""
    for r in batch.results:
        logger.debug(
            "sample",
            extra={
                "id": shown_id(r.id),  # printable: the JSON log line is UTF-8
                "reward": r.reward,
                "guarded": r.guarded,
                "malformed": r.malformed,
                "dimensions": {
                    d.rubric: [d.raw, d.normalized, d.unscored and str(d.unscored)]
                    for d in r.dimensions
                },
            },
        )
