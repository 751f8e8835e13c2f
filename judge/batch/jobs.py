"""Submit, follow and collect batch jobs: S3 and the Bedrock control plane, through boto3.

``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL_BEDROCK`` (or ``AWS_ENDPOINT_URL``) point
boto3 at local stand-ins (moto's server, ``judge.server.control``); nothing else changes.

Collecting runs the ordinary code path (``run_event``, or the calibration runner) on an
evaluator whose caller answers each judgement from the job's output record, parsed by the
judge's own verdict parser, instead of calling Converse. The pipeline stores the verdicts
in the cache as it always does; unscored outcomes (record-level errors, unparseable
answers, judgements the job did not hold) keep their reasons and are never cached, and are
written to ``retry.jsonl`` for ``submit --retry-failed``.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
import botocore.config

from judge.artefact import endpoint_kind
from judge.batch import manifest as mf
from judge.batch.records import (
    Planned,
    Quotas,
    batch_config,
    calibration_tasks,
    make_records,
    score_tasks,
    shard,
)
from judge.batch.s3uri import S3_URI
from judge.bedrock import USER_AGENT, dummy_key
from judge.calibration.options import CalibrationOptions
from judge.caller import CallStats, JudgeCaller, JudgeTask, Outcomes
from judge.config import RewardConfig, load_config, resolve_config_path
from judge.contract import read_event_file, samples_of
from judge.deadline import Deadline
from judge.digest import sha256_file
from judge.errors import JudgeError
from judge.pipeline import Evaluator
from judge.region import resolve_region
from judge.verdict import Unscored

RUNNING = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")
# Statuses whose outputs can be collected (Stopped/Expired/PartiallyCompleted: the records
# that were processed; the rest are unscored and can be retried).
COLLECTABLE = ("Completed", "PartiallyCompleted", "Stopped", "Expired")
TERMINAL = (*COLLECTABLE, "Failed")


class JobNotReady(JudgeError):
    """The job (or one it retries) has not finished: nothing to collect yet."""


# ---------------------------------------------------------------- clients and S3 helpers


def _options(env: str) -> dict[str, Any]:
    url = os.environ.get(env) or os.environ.get("AWS_ENDPOINT_URL", "")
    key = dummy_key(url, boto3.session.Session())
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 5}, user_agent_extra=USER_AGENT
    )
    return {"aws_access_key_id": key, "aws_secret_access_key": key, "config": config}


def control_client(region: str) -> Any:
    """The ``bedrock`` control-plane client (honours ``AWS_ENDPOINT_URL_BEDROCK``)."""
    return _cached_client("bedrock", region, _environment("AWS_ENDPOINT_URL_BEDROCK"))


def s3_client(region: str) -> Any:
    """The S3 client (honours ``AWS_ENDPOINT_URL_S3``)."""
    return _cached_client("s3", region, _environment("AWS_ENDPOINT_URL_S3"))


def _environment(env: str) -> tuple[str, ...]:
    """What a client depends on: a client is reused only while none of it changes."""
    names = (env, "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_CONFIG_FILE")
    return (env, *(os.environ.get(n, "") for n in names))


@lru_cache(maxsize=16)
def _cached_client(service: str, region: str, environment: tuple[str, ...]) -> Any:
    """Making a client reads its service model (~0.2 s for bedrock): once per setting."""
    session = boto3.session.Session()
    if service == "bedrock":
        return session.client("bedrock", region_name=region, **_options(environment[0]))
    return session.client("s3", region_name=region, **_options(environment[0]))


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix")``."""
    match = S3_URI.match(uri)
    if match is None:
        raise JudgeError(f"{uri!r} is not an S3 location: write s3://BUCKET or s3://BUCKET/PREFIX")
    return match["bucket"], (match["key"] or "").strip("/")


def list_keys(s3: Any, uri: str) -> list[str]:
    """Every object key under ``uri``."""
    bucket, prefix = split_s3(uri)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""
    ):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return sorted(keys)


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    """One object's bytes."""
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


# ---------------------------------------------------------------------------- submitting


@dataclass
class Submitted:
    """What ``submit`` did."""

    manifest: mf.Manifest
    manifest_path: Path
    records: int
    files: int
    bytes: int
    seconds: float
    skipped_cached: bool = False


@dataclass(frozen=True)
class Target:
    """Where and as whom a job runs."""

    bucket_uri: str
    role_arn: str
    quotas: Quotas = field(default_factory=Quotas)
    jobs_dir: str | Path | None = None


def job_region(config: RewardConfig) -> str:
    """Where a new job runs: [judge] region, else as every AWS command resolves it."""
    return resolve_region(config.judge.region, profile=config.judge.profile)


def job_name(kind: str) -> str:
    """A unique job name that fits the API's pattern and its 63 characters."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"judge-{kind}-{stamp}-{secrets.token_hex(3)}"


def submit_score(
    data: Path,
    target: Target,
    *,
    config_path: str | Path | None = None,
    rubrics: Sequence[str] | None = None,
) -> Submitted:
    """Render ``data`` as ``judge score`` would judge it, upload it and create the job."""
    started = time.monotonic()
    config = load_config(config_path)
    evaluator = Evaluator.from_settings(batch_config(config, rubrics, region=job_region(config)))
    try:
        samples = samples_of(read_event_file(data))
        planned = score_tasks(evaluator, samples)
        extra = {"data": str(data.resolve()), "data_sha256": sha256_file(data)}
        return _submit(
            "score", evaluator, config, config_path, planned, target, started, rubrics, extra
        )
    finally:
        evaluator.close()


def submit_calibration(
    rubric: str,
    anchors: Path,
    options: CalibrationOptions,
    target: Target,
    *,
    config_path: str | Path | None = None,
) -> Submitted:
    """Render a calibration run (anchors, draws, bias probes), upload it, create the job."""
    started = time.monotonic()
    config = load_config(config_path)
    evaluator = Evaluator.from_settings(batch_config(config, region=job_region(config)))
    try:
        planned = calibration_tasks(evaluator, rubric, anchors, options)
        run = mf.CalibrationRun(
            rubric=rubric,
            anchors=str(anchors.resolve()),
            anchors_sha256=sha256_file(anchors),
            **options.run(),
        )
        return _submit(
            "calibrate",
            evaluator,
            config,
            config_path,
            planned,
            target,
            started,
            None,
            {"calibration": run},
        )
    finally:
        evaluator.close()


def submit_retry(job: str, target: Target, *, config_path: str | Path | None = None) -> Submitted:
    """Submit again only the judgements ``job``'s last collect left without a verdict."""
    started = time.monotonic()
    parent, directory = mf.find(job, mf.jobs_dir(target.jobs_dir))
    target = replace(target, jobs_dir=directory)  # the retry lives beside the job it retries
    retry_file = directory / parent.job_name / mf.RETRY
    if not retry_file.is_file():
        raise JudgeError(
            f"batch job {parent.job_name} has not been collected yet: run `judge batch "
            f"collect {parent.job_name}` first (it lists the judgements to retry)"
        )
    pending = [json.loads(line) for line in retry_file.read_text("utf-8").splitlines() if line]
    if not pending:
        raise JudgeError(f"batch job {parent.job_name}: nothing to retry, every judgement scored")
    config = load_config(parent.config_path)
    evaluator = _checked_evaluator(parent, config)
    try:
        planned = [
            Planned(p["key"], p["request"], tuple(p["rubrics"]), f"retry ({p['reason'][:80]})")
            for p in pending
        ]
        extra: dict[str, Any] = {
            "parent": parent.job_name,
            "data": parent.data,
            "data_sha256": parent.data_sha256,
            "calibration": parent.calibration,
        }
        return _submit(
            parent.kind,
            evaluator,
            config,
            parent.config_path,
            planned,
            target,
            started,
            parent.rubric_subset,
            extra,
        )
    finally:
        evaluator.close()


def _submit(
    kind: mf.Kind,
    evaluator: Evaluator,
    config: RewardConfig,
    config_path: str | Path | None,
    planned: list[Planned],
    target: Target,
    started: float,
    rubric_subset: Sequence[str] | None,
    extra: dict[str, Any],
) -> Submitted:
    if not planned:
        raise JudgeError(
            "nothing to submit: every judgement this run needs already has a verdict in the "
            f"cache ({evaluator.config.cache_dir() or 'off'}), or needs no judge (floored by "
            "the guard). `judge score` / `judge calibrate` with the batch's settings "
            '(verdict_mode = "text", no prompt_cache) answer from the cache'
        )
    records = make_records((p.key, p.request) for p in planned)
    files = shard(records, target.quotas)  # refuses (one line) before anything is uploaded
    region = str(evaluator.config.judge.region)
    control = control_client(region)
    _check_endpoints(evaluator.endpoint_url, str(control.meta.endpoint_url))
    bucket, prefix = split_s3(target.bucket_uri)
    name = job_name(kind)
    root = f"{prefix}/{name}" if prefix else name
    s3 = s3_client(region)
    shards = []
    for i, part in enumerate(files):
        key = f"{root}/input/part-{i:05d}.jsonl"
        body = b"".join(r.line for r in part)
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/jsonl")
        shards.append(mf.Shard(uri=f"s3://{bucket}/{key}", records=len(part), bytes=len(body)))
    input_uri = f"s3://{bucket}/{root}/input/"
    output_uri = f"s3://{bucket}/{root}/output/"
    model_id = config.judge.model_id
    created = control.create_model_invocation_job(
        jobName=name,
        roleArn=target.role_arn,
        clientRequestToken=name,
        modelId=model_id,
        modelInvocationType="Converse",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": output_uri}},
    )
    about = {p.key: p for p in planned}
    manifest = mf.Manifest(
        job_name=name,
        job_arn=str(created["jobArn"]),
        kind=kind,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        model_id=model_id,
        region=region,
        role_arn=target.role_arn,
        input_uri=input_uri,
        output_uri=output_uri,
        config_path=str(resolve_config_path(config_path).resolve()),
        config_sha256=sha256_file(resolve_config_path(config_path)),
        rubric_subset=list(rubric_subset) if rubric_subset else None,
        judge_overrides=_overrides(evaluator),
        rubric_hashes={n: r.content_hash for n, r in evaluator.rubrics.items()},
        template_hash=evaluator.renderer.template_hash,
        endpoint=evaluator.endpoint_url,
        quotas=target.quotas,
        shards=shards,
        records={
            r.record_id: mf.RecordInfo(
                key=r.key, rubrics=list(about[r.key].rubrics), about=about[r.key].about
            )
            for r in records
        },
        **extra,
    )
    path = mf.save(manifest, mf.jobs_dir(target.jobs_dir))
    return Submitted(
        manifest,
        path,
        len(records),
        len(files),
        sum(s.bytes for s in shards),
        time.monotonic() - started,
    )


def _overrides(evaluator: Evaluator) -> dict[str, Any]:
    judge = evaluator.config.judge
    return {"verdict_mode": judge.verdict_mode, "prompt_cache": judge.prompt_cache}


def _check_endpoints(runtime_url: str, control_url: str) -> None:
    """Refuse to key a local stand-in's verdicts as Bedrock's (or the reverse).

    The verdict cache key names the bedrock-runtime endpoint; a job run by one kind of
    endpoint (AWS or a local server) must be keyed to the same kind.
    """
    runtime, control = endpoint_kind(runtime_url), endpoint_kind(control_url)
    if runtime != control:
        raise JudgeError(
            f"the batch control plane is {control} ({control_url}) but bedrock-runtime is "
            f"{runtime} ({runtime_url}): the job's verdicts would be cached as another "
            "endpoint's. Point AWS_ENDPOINT_URL_BEDROCK and AWS_ENDPOINT_URL_BEDROCK_RUNTIME "
            "at the same kind of endpoint (both AWS, or both local)"
        )


# ------------------------------------------------------------------------------ status


def describe(manifest: mf.Manifest) -> dict[str, Any]:
    """``GetModelInvocationJob`` for the job."""
    reply = control_client(manifest.region).get_model_invocation_job(jobIdentifier=manifest.job_arn)
    reply.pop("ResponseMetadata", None)
    return dict(reply)


def wait(
    manifest: mf.Manifest,
    *,
    poll_s: float = 30.0,
    timeout_s: float | None = None,
    on_poll: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Poll until the job leaves the running statuses; returns its last description."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        job = describe(manifest)
        if on_poll is not None:
            on_poll(job)
        if job.get("status") not in RUNNING:
            return job
        if deadline is not None and time.monotonic() >= deadline:
            raise JobNotReady(
                f"batch job {manifest.job_name} is still {job.get('status')} after {timeout_s:g} s"
            )
        time.sleep(poll_s)


# ---------------------------------------------------------------------------- collecting


@dataclass
class JobOutputs:
    """Every output record of a job chain, by cache key (a retry's record wins)."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    records: int = 0
    errors: int = 0
    judgements: int = 0  # verdicts asked for by the records that have an output
    notes: list[str] = field(default_factory=list)


def fetch_outputs(jobs: Sequence[mf.Manifest]) -> JobOutputs:
    """Download and index the outputs of ``jobs`` (oldest first); every job must be done.

    Lines are joined on ``recordId`` (the output order is not the input order); a line
    keeps only its ``modelOutput`` or its ``error`` object.
    """
    out = JobOutputs()
    for manifest in jobs:
        job = describe(manifest)
        status = str(job.get("status"))
        out.jobs.append(manifest.job_name)
        if status in RUNNING:
            raise JobNotReady(
                f"batch job {manifest.job_name} is {status} ({_progress(job)}); collect it "
                f"once it is Completed (`judge batch status {manifest.job_name} --wait`)"
            )
        if status not in COLLECTABLE:
            out.notes.append(f"{manifest.job_name} {status}: {job.get('message') or 'no output'}")
            continue
        if status != "Completed":
            out.notes.append(f"{manifest.job_name} {status}: {job.get('message') or ''}".strip())
        s3 = s3_client(manifest.region)
        bucket, _ = split_s3(manifest.output_uri)
        for key in list_keys(s3, manifest.output_uri):
            if key.endswith("manifest.json.out"):
                summary = json.loads(read_object(s3, bucket, key))
                out.input_tokens += int(summary.get("inputTokenCount") or 0)
                out.output_tokens += int(summary.get("outputTokenCount") or 0)
            elif key.endswith(".jsonl.out"):
                for raw in read_object(s3, bucket, key).splitlines():
                    if raw.strip():
                        _index(json.loads(raw), manifest, out)
    return out


def _index(line: dict[str, Any], manifest: mf.Manifest, out: JobOutputs) -> None:
    info = manifest.records.get(str(line.get("recordId")))
    if info is None:
        return  # not one of ours (a record id Bedrock made up for a line without one)
    out.records += 1
    if "error" in line and "modelOutput" not in line:
        out.errors += 1
        out.entries[info.key] = {"job": manifest.job_name, "error": line["error"]}
    else:
        out.judgements += len(info.rubrics)
        out.entries[info.key] = {"job": manifest.job_name, "modelOutput": line.get("modelOutput")}


def _progress(job: dict[str, Any]) -> str:
    done = job.get("processedRecordCount")
    total = job.get("totalRecordCount")
    if done is None or total is None:
        return "no record counts yet"
    return f"{done} of {total} records processed"


class ReplayCaller:
    """A ``judge.run.Caller`` that answers judgements from a batch job's output records.

    Never calls Converse: the verdict cache and the parser are the judge's own (``base``),
    so a replayed record reads exactly as an on-demand answer would. Each record answered
    counts as a judge call with its ``usage`` (the job's tokens, priced at batch prices by
    ``collect``). Unscored outcomes (other than refusals, which asking again does not
    change) are written to ``retry_file`` as they are met, with the request, for
    ``submit --retry-failed``.
    """

    def __init__(self, base: JudgeCaller, outputs: JobOutputs, retry_file: Path) -> None:
        self.base = base
        self.settings = base.settings
        self.outputs = outputs
        self.retry_file = retry_file
        self.unscored: dict[str, tuple[JudgeTask, str]] = {}
        self._lock = threading.Lock()
        retry_file.parent.mkdir(parents=True, exist_ok=True)
        retry_file.write_text("", encoding="utf-8")

    def judge(self, task: JudgeTask, deadline: Deadline, stats: CallStats) -> Outcomes:
        """The outcome the job's record gives ``task``."""
        entry = self.outputs.entries.get(task.key)
        outcomes: Outcomes
        if entry is None:
            missing = Unscored(
                reason="judge_error",
                detail=f"not in batch job {' / '.join(self.outputs.jobs)} (retry it)",
            )
            outcomes = {r.name: missing for r in task.rubrics}
        elif "error" in entry:
            error = entry["error"] if isinstance(entry["error"], dict) else {}
            failed = Unscored(
                reason="judge_error",
                detail=(
                    f"batch record error {error.get('errorCode', '?')}: "
                    f"{error.get('errorMessage', '')}"
                )[:300],
            )
            outcomes = {r.name: failed for r in task.rubrics}
        else:
            output = entry.get("modelOutput")
            usage = output.get("usage") if isinstance(output, dict) else None
            stats.record_call(0.0, usage, self.settings.model_id)  # a call Bedrock made
            outcomes = self._parse(task, output)
        reasons = [
            f"{o.reason}: {o.detail}"
            for o in outcomes.values()
            if isinstance(o, Unscored) and o.reason != "refused"
        ]
        if reasons:
            with self._lock:
                self.unscored[task.key] = (task, reasons[0])
        return outcomes

    def _parse(self, task: JudgeTask, output: object) -> Outcomes:
        return self.base.parse(task, output if isinstance(output, dict) else {})

    def cached(self, tasks: list[JudgeTask], stats: CallStats) -> dict[str, Outcomes]:
        """The judge's own cache: verdicts already had are not read from the job again."""
        return self.base.cached(tasks, stats)

    def store(self, tasks: list[JudgeTask], outcomes: dict[str, Outcomes]) -> None:
        """Cache the verdicts as usual, and bring the retry list up to date."""
        self.base.store(tasks, outcomes)
        with self._lock:
            lines = [
                json.dumps(
                    {
                        "key": key,
                        "rubrics": [r.name for r in task.rubrics],
                        "request": task.request,
                        "reason": reason,
                    },
                    ensure_ascii=True,
                )
                + "\n"
                for key, (task, reason) in self.unscored.items()
            ]
        self.retry_file.write_text("".join(lines), encoding="utf-8")


@dataclass
class Replay:
    """An evaluator that takes its verdicts from a job chain, and what it found."""

    evaluator: Evaluator
    caller: ReplayCaller
    manifest: mf.Manifest
    root: mf.Manifest
    outputs: JobOutputs


def replay(job: str, *, jobs_dir: str | Path | None = None) -> Replay:
    """The evaluator ``collect`` (and ``judge calibrate --from-batch``) runs the code path on.

    Checks that the config, rubrics, templates, data and endpoint are those the job was
    submitted with: otherwise its verdicts belong to other requests.
    """
    manifest, directory = mf.find(job, mf.jobs_dir(jobs_dir))
    jobs = mf.chain(manifest, directory)
    root = jobs[0]
    config = load_config(manifest.config_path)
    if sha256_file(Path(manifest.config_path)) != manifest.config_sha256:
        raise JudgeError(
            f"{manifest.config_path} changed since batch job {manifest.job_name} was "
            "submitted: its verdicts were for the old settings (restore it, or submit again)"
        )
    inputs = [("data", root.data, root.data_sha256)]
    if root.calibration is not None:
        run = root.calibration
        inputs.append(("anchors", run.anchors, run.anchors_sha256))
    for what, path, expected in inputs:
        if path is not None and (not Path(path).is_file() or sha256_file(Path(path)) != expected):
            raise JudgeError(
                f"the {what} file {path} is missing or changed since batch job "
                f"{root.job_name} was submitted (restore it, or submit again)"
            )
    evaluator = _checked_evaluator(manifest, config)
    try:
        outputs = fetch_outputs(jobs)
    except BaseException:
        evaluator.close()
        raise
    caller = ReplayCaller(evaluator.caller, outputs, directory / manifest.job_name / mf.RETRY)
    # The evaluator is the job's own; only who answers its judge calls changes.
    evaluator.runner = evaluator.runner.with_callers([caller])
    return Replay(evaluator, caller, manifest, root, outputs)


def _checked_evaluator(manifest: mf.Manifest, config: RewardConfig) -> Evaluator:
    """The job's evaluator, refusing if what shapes its requests changed since submit."""
    evaluator = Evaluator.from_settings(
        batch_config(config, manifest.rubric_subset, region=manifest.region)
    )
    problems = []
    if evaluator.endpoint_url != manifest.endpoint:
        problems.append(
            f"bedrock-runtime endpoint is {evaluator.endpoint_url}, the job's verdicts are "
            f"keyed to {manifest.endpoint} (set AWS_ENDPOINT_URL_BEDROCK_RUNTIME as at submit)"
        )
    if evaluator.renderer.template_hash != manifest.template_hash:
        problems.append("the prompt templates changed")
    changed = [
        n for n, r in evaluator.rubrics.items() if manifest.rubric_hashes.get(n) != r.content_hash
    ]
    if changed or set(evaluator.rubrics) != set(manifest.rubric_hashes):
        problems.append(f"rubrics changed ({', '.join(changed) or 'the rubric list'})")
    if problems:
        evaluator.close()
        raise JudgeError(f"batch job {manifest.job_name}: " + "; ".join(problems))
    return evaluator


def collect_score(replayed: Replay, progress: Any = None) -> tuple[list[dict[str, Any]], Any]:
    """``judge score``'s answer and batch result for the job's data, from its verdicts."""
    from judge.lambda_handler import run_event

    if replayed.root.data is None:
        raise JudgeError(f"batch job {replayed.manifest.job_name} is not a scoring job")
    samples = samples_of(read_event_file(Path(replayed.root.data)))
    return run_event(replayed.evaluator, samples, Deadline.never(), progress)


def stop(manifest: mf.Manifest) -> None:
    """``StopModelInvocationJob``."""
    control_client(manifest.region).stop_model_invocation_job(jobIdentifier=manifest.job_arn)
