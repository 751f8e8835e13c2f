"""Render a dataset into batch records exactly as the Lambda would judge it, and shard them.

Which judgements a run needs is not re-derived here: the records are the tasks the public
planner plans (``Evaluator.plan_batch`` for ``judge score``; the calibration runner's own
anchor selection, split and bias probes through ``Planner.item_slots`` for ``judge
calibrate``), less those the verdict cache already answers. Nothing is judged to find them
(only the substance check, which decides which samples are judged, makes its calls). So
guarding, malformed samples, de-duplication, combined mode, repeated draws, the calibration
split and its probes all come from the code a real run uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.calibration.options import CalibrationOptions
from judge.caller import CallStats, JudgeTask
from judge.config import RewardConfig
from judge.contract import parse_sample, shown_id
from judge.deadline import Deadline
from judge.errors import JudgeError
from judge.pipeline import Evaluator
from judge.substance import SubstanceCounts

RECORD_ID_LENGTH = 11  # "11 character alphanumeric string" (batch-inference-data, older pages)
GB = 1_000_000_000


class Quotas(BaseModel):
    """The batch quotas ``submit`` checks before anything is uploaded.

    Names as in Service Quotas; the defaults are the commonly reported values (the stored
    AWS pages name the quotas without values). They are per model, region and account:
    set them from your Service Quotas console.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_records: int = Field(100, ge=1)  # Minimum number of records per batch inference job
    max_records_per_file: int = Field(50_000, ge=1)  # Records per input file per job
    max_records_per_job: int = Field(50_000, ge=1)  # Records per batch inference job
    max_file_bytes: int = Field(1 * GB, ge=1)  # Batch inference input file size
    max_job_bytes: int = Field(5 * GB, ge=1)  # Batch inference job size


class QuotaError(JudgeError):
    """The records do not fit the batch quotas; nothing was uploaded."""


def batch_config(
    config: RewardConfig, rubrics: Sequence[str] | None = None, *, region: str | None = None
) -> RewardConfig:
    """The config a batch job judges with: text verdicts, no prompt cache, maybe fewer rubrics.

    Batch inference does not support tool use, so the keyed text verdict replaces the forced
    tool; prompt caching is not documented for batch jobs. ``rubrics`` restricts the reward
    to those rubrics (gates on the others go; checks and their gates stay: they cost no
    call), as ``--rubric`` does. ``region`` (the job's)
    is the judge's, so that the verdicts are keyed to the endpoint the job runs in.
    """
    settings: dict[str, Any] = {"verdict_mode": "text", "prompt_cache": False}
    if region is not None:
        settings["region"] = region
    judge = config.judge.model_copy(update=settings)
    update: dict[str, Any] = {"judge": judge}
    if rubrics:
        unknown = [r for r in rubrics if r not in config.rubrics]
        if unknown:
            raise JudgeError(
                f"rubric {unknown[0]!r} is not in [rubrics] of the config "
                f"({', '.join(config.rubrics)})"
            )
        update["rubrics"] = {name: config.rubrics[name] for name in rubrics}
        kept = {*rubrics, *config.checks.specs}
        update["gates"] = [g for g in config.gates if g.rubric in kept]
    return config.model_copy(update=update)


def _single_judge(evaluator: Evaluator) -> None:
    """A batch job runs one model: a panel is refused with what to do instead."""
    if evaluator.config.judge.panel:
        raise JudgeError(
            "a batch job runs one model, and [judge] panel lists "
            f"{len(evaluator.config.judge.panel)}: submit one job per judge (a config each, "
            "with its model_id and no panel), or judge the panel on demand"
        )


def _uncached(evaluator: Evaluator, tasks: Iterable[JudgeTask]) -> list[JudgeTask]:
    """The distinct ``tasks`` the verdict cache cannot answer (a run would call those)."""
    unique = list({t.key: t for t in tasks}.values())
    cached = evaluator.caller.cached(unique, CallStats())
    return [t for t in unique if t.key not in cached]


@dataclass(frozen=True)
class Planned:
    """One judgement a run needs, and what it is about (for the manifest)."""

    key: str  # the judgement's cache identity
    request: dict[str, Any]  # the Converse body without modelId: the record's modelInput
    rubrics: tuple[str, ...]
    about: str

    @classmethod
    def of(cls, task: JudgeTask, about: str) -> Planned:
        """A planned task."""
        return cls(task.key, task.request, tuple(r.name for r in task.rubrics), about)


def score_tasks(evaluator: Evaluator, samples: list[Any]) -> list[Planned]:
    """The judgements ``judge score`` would make on ``samples``, in input order."""
    _single_judge(evaluator)
    batch = evaluator.plan_batch(samples, Deadline.never(), CallStats(), SubstanceCounts())
    tasks = _uncached(evaluator, batch.tasks.values())
    # Which samples each judgement is about: a task's delimiter key is an HMAC of the item
    # it judges, so the samples are found without rendering anything again.
    owners: dict[str, list[str]] = {}
    order: dict[str, int] = {}
    wanted = {t.fence_key for t in tasks}
    for i, raw in enumerate(samples):
        s = parse_sample(i, raw)
        if s.item is None:
            continue
        fence = evaluator.renderer.key(s.item)
        if fence in wanted:
            order.setdefault(fence, i)
            ids = owners.setdefault(fence, [])
            if len(ids) < 5 and (shown := shown_id(s.id)) not in ids:
                ids.append(shown)
    ranked = sorted(tasks, key=lambda t: (order.get(t.fence_key, len(samples)), t.key))
    return [Planned.of(t, "sample " + ", ".join(owners.get(t.fence_key, ["?"]))) for t in ranked]


def calibration_tasks(
    evaluator: Evaluator, rubric: str, anchors: Path, options: CalibrationOptions
) -> list[Planned]:
    """The judgements ``judge calibrate`` would make, assuming every anchor gets a verdict.

    The anchors, draws, held-out split and bias probes are the runner's own (``options``:
    the job's ``CalibrationOptions``). Should some anchors come back unscored, the held-out split
    and so the probes shift; the probe judgements then missing are unscored at collect time
    and ``--retry-failed`` submits them.
    """
    from judge.calibration.probes import probe_variants  # numpy: the calibrate extra
    from judge.calibration.runner import select_anchors, split

    _single_judge(evaluator)
    seed = options.seed
    judged, chosen = select_anchors(evaluator, rubric, anchors, options)
    items = [a.item for a in chosen]
    slots = evaluator.planner.item_slots(judged, items, options.draws)
    _, held = split(len(chosen), options.holdout, seed)
    probed = [chosen[int(i)] for i in held]
    _, variants = probe_variants(probed, items=options.probe_items, seed=seed)
    slots += evaluator.planner.item_slots(judged, variants, 1) if variants else []
    tasks = _uncached(evaluator, (s.task for row in slots for s in row))
    ranked = sorted(tasks, key=lambda t: t.key)
    return [Planned.of(t, "anchor response: " + " ".join(t.judged.split())[:60]) for t in ranked]


@dataclass(frozen=True)
class Record:
    """One JSONL line of a batch input file."""

    record_id: str
    key: str
    line: bytes  # the serialised record, newline included


def record_id(n: int) -> str:
    """The ``n``-th record id of a job: 11 alphanumeric characters."""
    return f"R{n:0{RECORD_ID_LENGTH - 1}d}"


def make_records(requests: Iterable[tuple[str, dict[str, Any]]]) -> list[Record]:
    """``(cache key, Converse body)`` pairs as batch records, numbered in order."""
    out = []
    for n, (key, body) in enumerate(requests):
        rid = record_id(n)
        # ASCII escapes: a sample's lone surrogate must not break the encoder.
        line = json.dumps({"recordId": rid, "modelInput": body}, ensure_ascii=True) + "\n"
        out.append(Record(rid, key, line.encode("ascii")))
    return out


def shard(records: Sequence[Record], quotas: Quotas) -> list[list[Record]]:
    """Split into input files under the per-file record and size quotas, checking the job's.

    Raises ``QuotaError`` (one line, saying what is needed) below the minimum record count,
    above the per-job quotas, or for a record larger than a whole file may be.
    """
    total = len(records)
    if total < quotas.min_records:
        raise QuotaError(
            f"{total} record(s) to judge, but a batch job needs at least {quotas.min_records} "
            f"(quota 'Minimum number of records per batch inference job'); add "
            f"{quotas.min_records - total} or more, or judge these on demand with "
            "`judge score` / `judge calibrate`"
        )
    if total > quotas.max_records_per_job:
        raise QuotaError(
            f"{total} records exceed the {quotas.max_records_per_job} a batch job may hold "
            "(quota 'Records per batch inference job'); split the data into several jobs"
        )
    size = sum(len(r.line) for r in records)
    if size > quotas.max_job_bytes:
        raise QuotaError(
            f"the records take {size:,} bytes, over the {quotas.max_job_bytes:,} a job may "
            "hold (quota 'Batch inference job size'); split the data into several jobs"
        )
    files: list[list[Record]] = [[]]
    used = 0
    for record in records:
        if len(record.line) > quotas.max_file_bytes:
            raise QuotaError(
                f"record {record.record_id} takes {len(record.line):,} bytes, over the "
                f"{quotas.max_file_bytes:,} an input file may hold (quota 'Batch inference "
                "input file size')"
            )
        current = files[-1]
        if current and (
            len(current) >= quotas.max_records_per_file
            or used + len(record.line) > quotas.max_file_bytes
        ):
            files.append([])
            used = 0
        files[-1].append(record)
        used += len(record.line)
    return files
