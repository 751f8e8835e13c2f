"""Canaries: a fixed set of samples re-judged on a schedule, to see the judge drift.

``judge canary build`` writes ``calibration/canaries.jsonl`` (anchors with known human labels
at the top and bottom of the scale, and attacks that must stay floored, each with the score
the judge gave it then). The deployed function, invoked with ``{"judge_canary": true}`` (an
event training never sends), judges them again and emits each one's drift as EMF, so an
alarm fires when a model, inference profile or template change moves the judge's answers.

Canary calls bypass the verdict cache (a cached verdict is the old answer: it cannot show
drift) and are never recorded as a batch, so they enter no training latency or cost figure.
Imported only on a canary event (``judge.lambda_handler``): training never loads it.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from judge.assemble import BatchResult, SampleResult
from judge.cache import VerdictCache
from judge.caller import JudgeCaller
from judge.config import RewardConfig
from judge.deadline import Deadline
from judge.errors import SourceError, read_text
from judge.metrics import metric
from judge.observe import evaluator_version, logger, metrics
from judge.pipeline import Evaluator

CANARY_FILE = "canaries.jsonl"  # in the config's calibration folder; ships in the zip
EVENT_KEY = "judge_canary"
FORMAT = 1
CANARY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # it is part of a metric name (CanaryDrift_<id>)


def canary_path(config: RewardConfig) -> Path:
    """Where the config's canary set lives (next to its calibration maps)."""
    return config.path("calibration") / CANARY_FILE


@dataclass(frozen=True)
class Canary:
    """One canary: an RFT sample and the score (share of the reward range) it had at build."""

    id: str
    kind: str  # anchor | attack
    expect: str  # top | bottom | floored
    sample: dict[str, Any]
    score: float
    source: str = ""
    label: float | None = None  # the anchor's mean human label
    built: dict[str, Any] | None = None  # model ids, endpoint, evaluator version at build

    def line(self) -> str:
        """The canary as a line of the canary file."""
        return json.dumps({"format": FORMAT, **self.__dict__}, ensure_ascii=True, sort_keys=True)


def load_canaries(path: Path) -> list[Canary]:
    """The canary file's canaries; a line that is not a canary is an error with its number."""
    out: list[Canary] = []
    for number, text in enumerate(read_text(path, "canary set").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
            row.pop("format", None)
            canary = Canary(**row)
            ok = (
                isinstance(canary.sample, dict)
                and math.isfinite(float(canary.score))
                and bool(CANARY_ID.fullmatch(str(canary.id)))
            )
        except (ValueError, TypeError, AttributeError, RecursionError):
            ok = False
        if not ok:
            raise SourceError(path, "not a canary", line=number, fix="re-run `judge canary build`")
        out.append(canary)
    if not out:
        raise SourceError(path, "the canary set is empty", fix="re-run `judge canary build`")
    return out


def share(reward: float, config: RewardConfig) -> float:
    """A reward as a share of the configured reward range (0..1): drift is read on it."""
    low, high = config.output.min, config.output.max
    return (reward - low) / (high - low) if high > low else 0.0


def comparable(result: SampleResult) -> bool:
    """Whether a result is the judge's own score: not unscored, no dimension left unscored.

    An unscored sample gets a stand-in value (a group mean, a fixed value) and a partly
    unscored one is re-weighted: neither says how the judge's answer moved.
    """
    return not result.unscored and all(
        d.normalized is not None for d in result.dimensions if d.check is None
    )


_uncached: tuple[Evaluator, Evaluator] | None = None


def uncached(evaluator: Evaluator) -> Evaluator:
    """``evaluator`` with callers that share its HTTP clients but no verdict cache.

    Kept per warm container; never closed here (its clients are the training evaluator's).
    """
    global _uncached
    if _uncached is not None and _uncached[0] is evaluator:
        return _uncached[1]
    none = VerdictCache(None)
    callers = []
    for caller in evaluator.callers:
        callers.append(JudgeCaller(caller.client, caller.settings, caller.retry, none, None))
        callers[-1].tripwire = caller.tripwire  # the CLI's fail-fast, when it has one
    fresh = Evaluator(evaluator.config, evaluator.rubrics, evaluator.renderer, callers)
    _uncached = (evaluator, fresh)
    return fresh


def judge_canaries(
    evaluator: Evaluator, samples: list[dict[str, Any]], deadline: Deadline
) -> BatchResult:
    """The canaries' samples judged now, in one batch, with no verdict cache."""
    return uncached(evaluator).evaluate(list(samples), deadline)


@dataclass(frozen=True)
class CanaryRun:
    """What a canary run found: each canary's drift (None: unscored now)."""

    drift: dict[str, float | None]
    stale: list[str]  # why the set may not match this judge (built for another one)

    def figures(self) -> dict[str, float]:
        """The run's EMF figures (drift only over canaries scored now)."""
        scored = [d for d in self.drift.values() if d is not None]
        figures: dict[str, float] = {
            "Canaries": len(self.drift),
            "CanaryUnscored": len(self.drift) - len(scored),
        }
        if scored:
            figures["CanaryDriftMax"] = max(scored)
            figures["CanaryDriftMean"] = statistics.fmean(scored)
        for cid, drift in self.drift.items():
            if drift is not None:
                figures[f"CanaryDrift_{cid}"] = drift
        return figures


def compare(canaries: list[Canary], batch: BatchResult, evaluator: Evaluator) -> CanaryRun:
    """Each canary's drift: |score now - score at build|, on the 0..1 share of the range."""
    drift: dict[str, float | None] = {}
    for canary, result in zip(canaries, batch.results, strict=True):
        now = share(result.reward, evaluator.config) if comparable(result) else None
        drift[canary.id] = None if now is None else round(abs(now - canary.score), 6)
    return CanaryRun(drift, stale_reasons(canaries, evaluator))


def stale_reasons(canaries: list[Canary], evaluator: Evaluator) -> list[str]:
    """How the set's judge differs from this one (then drift includes that difference).

    Logged with the run: a set built against a local server, another model, or another
    evaluator version measures that change too, and should be rebuilt.
    """
    built = [c.built or {} for c in canaries]
    out = []
    endpoints = {str(b.get("endpoint")) for b in built if b.get("endpoint")}
    if endpoints - {evaluator.endpoint}:
        out.append(
            f"built against a {'/'.join(sorted(endpoints))} endpoint, this is {evaluator.endpoint}"
        )
    models = {tuple(b.get("model_ids") or ()) for b in built if b.get("model_ids")}
    here_models = tuple(m.model_id for m in evaluator.members)
    if models - {here_models}:
        out.append(f"built with judge(s) {sorted(models)}, these are {list(here_models)}")
    versions = {str(b.get("evaluator_version")) for b in built if b.get("evaluator_version")}
    here = evaluator_version()
    if here != "unpackaged" and versions - {here}:
        out.append(f"built for evaluator {', '.join(sorted(versions))}, this is {here}")
    return out


def run_canaries(evaluator: Evaluator, deadline: Deadline) -> dict[str, Any]:
    """Judge the canary set, emit its drift as EMF and return the figures (the answer)."""
    path = canary_path(evaluator.config)
    try:
        canaries = load_canaries(path)
    except SourceError as exc:
        logger.error("canary run: no canary set", extra={"problem": str(exc)})
        emit({"Canaries": 0})
        return {"canaries": 0, "problem": str(exc)}
    batch = judge_canaries(evaluator, [c.sample for c in canaries], deadline)
    run = compare(canaries, batch, evaluator)
    figures = run.figures()
    emit(figures)
    logger.info(
        "canaries judged",
        extra={"evaluator_version": evaluator_version(), "stale": run.stale, **figures},
    )
    return {"canaries": len(canaries), "drift": run.drift, "stale": run.stale, **figures}


def emit(figures: dict[str, float]) -> None:
    """The figures as one EMF record, through ``judge.observe``'s metrics logger."""
    for name, value in figures.items():
        metrics.add_metric(name=name, unit=MetricUnit(metric(name).unit), value=value)
    metrics.add_metadata(key="evaluator_version", value=evaluator_version())
    metrics.add_metadata(key="canary_run", value=True)
    metrics.flush_metrics()
