"""The local record of a batch job: what was submitted, with what, and where it went.

``<jobs dir>/<job name>/manifest.json`` (the jobs dir is ``--jobs-dir``, else
``$JUDGE_BATCH_DIR``, else ``.judge-batch`` in the working directory). It maps every
record id to its cache key and rubrics, and holds the hashes of the config, rubrics,
templates and data, so ``collect`` can refuse to pair a job's verdicts with inputs that
changed since. ``collect`` writes ``retry.jsonl`` beside it: the judgements still without
a verdict, which ``submit --retry-failed`` sends again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from judge.batch.records import Quotas
from judge.calibration.options import CalibrationOptions
from judge.errors import JudgeError

MANIFEST_FORMAT = 1
JOBS_ENV = "JUDGE_BATCH_DIR"
MANIFEST = "manifest.json"
RETRY = "retry.jsonl"
Kind = Literal["score", "calibrate"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordInfo(_Model):
    """What one record judges."""

    key: str  # the judgement's cache identity (JudgeTask.key)
    rubrics: list[str]
    about: str = ""  # the samples (ids) or anchor response it judges, for people


class Shard(_Model):
    """One uploaded input file."""

    uri: str
    records: int
    bytes: int


class CalibrationRun(_Model):
    """The ``judge calibrate`` options a calibration job was rendered for."""

    rubric: str
    anchors: str
    anchors_sha256: str
    holdout: float
    seed: int
    draws: int
    human_scale: tuple[float, float] | None = None
    max_items: int | None = None
    probe_items: int = 20

    def options(self) -> CalibrationOptions:
        """The run's options (the judgement ones; gates and reporting at their defaults)."""
        return CalibrationOptions(
            holdout=self.holdout,
            seed=self.seed,
            draws=self.draws,
            human_scale=self.human_scale,
            max_items=self.max_items,
            probe_items=self.probe_items,
        )


class Manifest(_Model):
    """Everything needed to check, follow, collect and retry a job."""

    format: int = MANIFEST_FORMAT
    job_name: str
    job_arn: str = ""
    kind: Kind
    created: str
    parent: str | None = None  # the job whose failed judgements this one retries
    model_id: str
    region: str
    role_arn: str
    input_uri: str
    output_uri: str
    config_path: str
    config_sha256: str
    rubric_subset: list[str] | None = None  # `--rubric` for a scoring job
    judge_overrides: dict[str, Any]
    rubric_hashes: dict[str, str]
    template_hash: str
    endpoint: str  # the bedrock-runtime endpoint the cache keys were made for
    data: str | None = None
    data_sha256: str | None = None
    calibration: CalibrationRun | None = None
    quotas: Quotas
    shards: list[Shard]
    records: dict[str, RecordInfo]

    def path(self, jobs_dir: Path) -> Path:
        """Where this manifest lives."""
        return jobs_dir / self.job_name / MANIFEST


def jobs_dir(explicit: str | Path | None = None) -> Path:
    """``--jobs-dir``, else ``$JUDGE_BATCH_DIR``, else ``.judge-batch`` in the working dir."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get(JOBS_ENV):
        return Path(env)
    return Path(".judge-batch").resolve()


def save(manifest: Manifest, directory: Path) -> Path:
    """Write the manifest (atomically: a crash never leaves half a file)."""
    path = manifest.path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(manifest.model_dump_json(indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load(job: str, directory: Path) -> Manifest:
    """The manifest of ``job``: a job name, a job ARN, or a manifest file path."""
    return find(job, directory)[0]


def find(job: str, directory: Path) -> tuple[Manifest, Path]:
    """``job``'s manifest and the jobs dir that holds it (and the jobs it retries)."""
    candidates: list[Path] = []
    as_path = Path(job)
    if as_path.is_file():
        candidates.append(as_path)
    elif "model-invocation-job/" in job:
        candidates += [p for p in sorted(directory.glob(f"*/{MANIFEST}")) if _arn_of(p) == job]
    else:
        candidates.append(directory / job / MANIFEST)
    for path in candidates:
        if path.is_file():
            try:
                found = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
                return found, path.resolve().parent.parent
            except ValidationError as exc:
                first = str(exc).splitlines()[0]
                raise JudgeError(f"{path}: not a batch job manifest ({first})") from None
    raise JudgeError(
        f"no batch job {job!r} in {directory} (give a job name, its ARN, or a manifest "
        f"path; --jobs-dir or ${JOBS_ENV} points elsewhere)"
    )


def chain(manifest: Manifest, directory: Path) -> list[Manifest]:
    """The job and the jobs it retries, oldest first (the first one submitted the data)."""
    out = [manifest]
    while out[0].parent is not None:
        if len(out) > 1000:
            raise JudgeError(f"batch job {manifest.job_name}: its retry chain loops")
        out.insert(0, load(out[0].parent, directory))
    return out


def _arn_of(path: Path) -> str:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("job_arn", ""))
    except (OSError, ValueError):
        return ""
