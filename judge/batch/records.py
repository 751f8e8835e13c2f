"""Render a dataset into batch records exactly as the Lambda would judge it, and shard them.

Which judgements a run needs is not re-derived here: the ordinary code path (``judge
score``'s ``Evaluator.evaluate``, ``judge calibrate``'s runner) is run once with a caller
that records each judgement it is asked for instead of calling Converse. Guarding,
malformed samples, de-duplication, combined mode, repeated draws, the calibration split
and its bias probes, and the verdict cache (cached judgements are never asked for) all
behave as in a real run, so the records are exactly the calls that run would make.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.caller import CallStats, JudgeCaller, JudgeTask, Outcomes
from judge.config import RewardConfig
from judge.contract import parse_sample, shown_id
from judge.deadline import Deadline
from judge.errors import JudgeError
from judge.pipeline import Evaluator
from judge.verdict import Verdict

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
    to those rubrics (gates on the others go), as ``--rubric`` does. ``region`` (the job's)
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
        update["gates"] = [g for g in config.gates if g.rubric in rubrics]
    return config.model_copy(update=update)


class RecordingCaller(JudgeCaller):
    """A caller that records the judgements asked of it and calls nothing.

    It answers every judgement with a stand-in verdict: a calibration run then selects its
    held-out items and probes as it would with every anchor scored, and a dry run is not
    reported as failed calls (an unscored stand-in would be: "N of N calls failed"). No
    stand-in decides which judgements are asked (only refused or unreadable group answers
    would, and a stand-in is neither). Nothing is ever stored in the cache.
    """

    def __init__(self, base: JudgeCaller) -> None:
        super().__init__(base.client, base.settings, base.retry, base.cache, None)
        self.tasks: dict[str, JudgeTask] = {}
        self._lock = threading.Lock()

    def judge(self, task: JudgeTask, deadline: Deadline, stats: CallStats) -> Outcomes:
        """Record ``task``; answer with a placeholder."""
        with self._lock:
            self.tasks.setdefault(task.key, task)
        spread = int(task.key[:8], 16)  # varied, so the dry run's statistics are defined
        return {
            r.name: Verdict(score=r.scores[(spread + i) % len(r.scores)])
            for i, r in enumerate(task.rubrics)
        }

    def store(self, tasks: list[JudgeTask], outcomes: dict[str, Outcomes]) -> None:
        """Never cache a dry run's placeholders."""


def _recording(evaluator: Evaluator) -> tuple[Evaluator, RecordingCaller]:
    if evaluator.config.judge.panel:
        raise JudgeError(
            "a batch job runs one model, and [judge] panel lists "
            f"{len(evaluator.config.judge.panel)}: submit one job per judge (a config each, "
            "with its model_id and no panel), or judge the panel on demand"
        )
    caller = RecordingCaller(evaluator.caller)
    return Evaluator(evaluator.config, evaluator.rubrics, evaluator.renderer, caller), caller


@dataclass(frozen=True)
class Planned:
    """One judgement a run needs, and what it is about (for the manifest)."""

    key: str  # the judgement's cache identity
    request: dict[str, Any]  # the Converse body without modelId: the record's modelInput
    rubrics: tuple[str, ...]
    about: str

    @classmethod
    def of(cls, task: JudgeTask, about: str) -> Planned:
        """A task the dry run recorded."""
        return cls(task.key, task.request, tuple(r.name for r in task.rubrics), about)


def score_tasks(evaluator: Evaluator, samples: list[Any]) -> list[Planned]:
    """The judgements ``judge score`` would make on ``samples``, in input order."""
    dry, recorder = _recording(evaluator)
    dry.evaluate(samples, Deadline.never())
    # Which samples each judgement is about: a task's delimiter key is an HMAC of the item
    # it judges, so the samples are found without rendering anything again.
    owners: dict[str, list[str]] = {}
    order: dict[str, int] = {}
    wanted = {t.fence_key for t in recorder.tasks.values()}
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
    ranked = sorted(
        recorder.tasks.values(), key=lambda t: (order.get(t.fence_key, len(samples)), t.key)
    )
    return [Planned.of(t, "sample " + ", ".join(owners.get(t.fence_key, ["?"]))) for t in ranked]


def calibration_tasks(
    evaluator: Evaluator, rubric: str, anchors: Path, options: dict[str, Any]
) -> list[Planned]:
    """The judgements ``judge calibrate`` would make, assuming every anchor gets a verdict.

    The runner itself is run on placeholder verdicts (its report goes to a temporary
    folder), so the anchors, draws, split and bias probes are the runner's own. Should
    some anchors come back unscored, the held-out split and so the probes shift; the probe
    judgements then missing are unscored at collect time and ``--retry-failed`` submits them.
    """
    from judge.calibration.runner import calibrate  # numpy and friends: the calibrate extra

    dry, recorder = _recording(evaluator)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # placeholder statistics may be degenerate
        calibrate(dry, rubric, anchors, out=Path(tmp), bootstrap_rounds=2, **options)
    ranked = sorted(recorder.tasks.values(), key=lambda t: t.key)
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


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
