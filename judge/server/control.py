"""A local Bedrock batch-inference control plane, beside the local Converse API.

``BatchServer`` is the local Converse server (``judge.server.wire``) that also serves the
four model-invocation-job operations of the ``bedrock`` control plane on the wire protocol
of botocore's service model (``bedrock`` 2023-04-20, REST-JSON): ``POST
/model-invocation-job`` (Create), ``GET /model-invocation-job/{jobIdentifier}`` (Get),
``GET /model-invocation-jobs`` (List), ``POST /model-invocation-job/{jobIdentifier}/stop``
(Stop). Point boto3 at it with ``AWS_ENDPOINT_URL_BEDROCK`` (and the runtime with
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``: same URL).

A job runs in a background thread with the server's backend (the scripted judge in tests):
it reads the ``*.jsonl`` input files from S3 through boto3 (moto's server in tests,
``AWS_ENDPOINT_URL_S3``), answers each record's ``modelInput`` as a Converse call, and
writes ``<output>/<job id>/<input file>.out`` with ``{"recordId", "modelInput",
"modelOutput"}`` lines in shuffled order (Bedrock does not keep the input order), an
``error`` object instead of ``modelOutput`` where a record failed, and
``manifest.json.out`` with the record and token counts. As documented for batch
inference, a record that asks for tool use fails (400). ``RecordFaults`` injects
record-level errors.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3

from judge.batch.s3uri import S3_URI
from judge.server.wire import (
    Backend,
    ConverseFault,
    ConverseServer,
    PromptCacheEmulator,
    WireHandler,
    WireHTTPServer,
    validate_request,
)

log = logging.getLogger("judge.server")

_JOB = re.compile(r"^/model-invocation-job/(?P<id>.+?)(?P<stop>/stop)?$")
_JOB_NAME = re.compile(r"^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}$")
_ROLE_ARN = re.compile(r"^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$")
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"  # job ids: [a-z0-9]{12}
RUNNING = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")


@dataclass(frozen=True)
class RecordFaults:
    """Record-level errors to inject: a seeded fraction, and records that always fail."""

    error_rate: float = 0.0
    fail_records: frozenset[str] = frozenset()
    seed: int = 0


@dataclass
class _Job:
    arn: str
    job_id: str
    name: str
    model_id: str
    role_arn: str
    token: str | None
    input_uri: str
    output_uri: str
    invocation_type: str
    timeout_hours: int
    submitted: datetime
    status: str = "Submitted"
    message: str = ""
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None
    total: int | None = None
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "jobArn": self.arn,
            "jobName": self.name,
            "modelId": self.model_id,
            "roleArn": self.role_arn,
            "status": self.status,
            "submitTime": _iso(self.submitted),
            "lastModifiedTime": _iso(self.modified),
            "inputDataConfig": {
                "s3InputDataConfig": {"s3Uri": self.input_uri, "s3InputFormat": "JSONL"}
            },
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": self.output_uri}},
            "timeoutDurationInHours": self.timeout_hours,
            "jobExpirationTime": _iso(self.submitted + timedelta(hours=self.timeout_hours)),
            "modelInvocationType": self.invocation_type,
        }
        if self.token:
            out["clientRequestToken"] = self.token
        if self.message:
            out["message"] = self.message
        if self.ended is not None:
            out["endTime"] = _iso(self.ended)
        if self.total is not None:
            out |= {
                "totalRecordCount": self.total,
                "processedRecordCount": self.processed,
                "successRecordCount": self.succeeded,
                "errorRecordCount": self.failed,
            }
        return out


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ControlPlane:
    """Model invocation jobs: their state, and the threads that run them."""

    def __init__(
        self,
        backend: Backend,
        stopping: threading.Event,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        faults: RecordFaults | None = None,
        min_records: int | None = None,
    ) -> None:
        self.backend = backend
        self.stopping = stopping
        self.region = region
        self.account = account
        self.faults = faults or RecordFaults()  # may be replaced between jobs
        self.min_records = min_records
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ operations

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """CreateModelInvocationJob."""
        for name in ("jobName", "roleArn", "modelId", "inputDataConfig", "outputDataConfig"):
            if not body.get(name):
                raise ConverseFault(400, "ValidationException", f"{name} is required")
        name = str(body["jobName"])
        if not _JOB_NAME.match(name) or len(name) > 63:
            raise ConverseFault(400, "ValidationException", f"jobName {name!r} is not valid")
        if not _ROLE_ARN.match(str(body["roleArn"])):
            raise ConverseFault(400, "ValidationException", "roleArn is not an IAM role ARN")
        source = (body["inputDataConfig"] or {}).get("s3InputDataConfig") or {}
        target = (body["outputDataConfig"] or {}).get("s3OutputDataConfig") or {}
        for where, config in (("input", source), ("output", target)):
            if not S3_URI.match(str(config.get("s3Uri", ""))):
                raise ConverseFault(400, "ValidationException", f"{where} s3Uri is not valid")
        if source.get("s3InputFormat", "JSONL") != "JSONL":
            raise ConverseFault(400, "ValidationException", "s3InputFormat must be JSONL")
        kind = body.get("modelInvocationType") or "InvokeModel"
        if kind != "Converse":
            raise ConverseFault(
                400,
                "ValidationException",
                f"modelInvocationType {kind}: this local control plane runs Converse jobs only",
            )
        hours = int(body.get("timeoutDurationInHours") or 24)
        if not 24 <= hours <= 168:
            raise ConverseFault(400, "ValidationException", "timeoutDurationInHours: 24..168")
        token = body.get("clientRequestToken")
        with self._lock:
            for job in self._jobs.values():
                if token and job.token == token:
                    return {"jobArn": job.arn}  # idempotent retry of the same request
                if job.name == name:
                    raise ConverseFault(
                        400, "ConflictException", f"a job named {name} already exists"
                    )
            job_id = "".join(secrets.choice(_ID_CHARS) for _ in range(12))
            arn = f"arn:aws:bedrock:{self.region}:{self.account}:model-invocation-job/{job_id}"
            job = _Job(
                arn=arn,
                job_id=job_id,
                name=name,
                model_id=str(body["modelId"]),
                role_arn=str(body["roleArn"]),
                token=str(token) if token else None,
                input_uri=str(source["s3Uri"]),
                output_uri=str(target["s3Uri"]),
                invocation_type=kind,
                timeout_hours=hours,
                submitted=datetime.now(UTC),
            )
            self._jobs[job_id] = job
        job.thread = threading.Thread(
            target=self._run, args=(job, self.faults), name=f"batch-{job_id}", daemon=True
        )
        job.thread.start()
        return {"jobArn": arn}

    def get(self, identifier: str) -> dict[str, Any]:
        """GetModelInvocationJob."""
        job = self._find(identifier)
        with self._lock:
            return job.describe()

    def list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """ListModelInvocationJobs: filters, sort order and pagination."""

        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        with self._lock:
            jobs = list(self._jobs.values())
            status, contains = one("statusEquals"), one("nameContains")
            after, before = one("submitTimeAfter"), one("submitTimeBefore")
            if status:
                jobs = [j for j in jobs if j.status == status]
            if contains:
                jobs = [j for j in jobs if contains in j.name]
            if after:
                jobs = [j for j in jobs if j.submitted > _parse_time(after)]
            if before:
                jobs = [j for j in jobs if j.submitted < _parse_time(before)]
            jobs.sort(key=lambda j: j.submitted, reverse=one("sortOrder") != "Ascending")
            start = int(one("nextToken") or 0)
            size = int(one("maxResults") or 1000)
            page = jobs[start : start + size]
            out: dict[str, Any] = {"invocationJobSummaries": [j.describe() for j in page]}
            if start + size < len(jobs):
                out["nextToken"] = str(start + size)
            return out

    def stop(self, identifier: str) -> dict[str, Any]:
        """StopModelInvocationJob."""
        job = self._find(identifier)
        with self._lock:
            if job.status not in RUNNING:
                raise ConverseFault(
                    400, "ValidationException", f"job {job.name} is {job.status}: cannot stop it"
                )
            job.status = "Stopping"
            job.modified = datetime.now(UTC)
            job.stop.set()
        return {}

    def join(self, timeout_s: float = 5.0) -> None:
        """Wait for the job threads (after ``stopping`` is set)."""
        for job in list(self._jobs.values()):
            if job.thread is not None:
                job.thread.join(timeout=timeout_s)

    def _find(self, identifier: str) -> _Job:
        job_id = identifier.rsplit("/", 1)[-1]
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ConverseFault(
                404, "ResourceNotFoundException", f"no model invocation job {identifier}"
            )
        return job

    # --------------------------------------------------------------- running a job

    def _set(self, job: _Job, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
            job.modified = datetime.now(UTC)

    def _run(self, job: _Job, faults: RecordFaults) -> None:
        try:
            self._execute(job, faults)
        except Exception as exc:  # a broken input is the job's failure, not the server's
            log.exception("batch job %s failed", job.name)
            self._set(job, status="Failed", message=f"{type(exc).__name__}: {exc}"[:2048])
            self._set(job, ended=datetime.now(UTC))

    def _execute(self, job: _Job, faults: RecordFaults) -> None:
        s3 = _s3_client(self.region)
        self._set(job, status="Validating")
        bucket, prefix = _split(job.input_uri)
        if prefix.endswith(".jsonl"):
            keys = [prefix]
        else:
            root = f"{prefix.rstrip('/')}/" if prefix else ""
            keys = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
                keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".jsonl")]
        if not keys:
            self._fail(job, f"no .jsonl input file at {job.input_uri}")
            return
        files: list[tuple[str, list[dict[str, Any]]]] = []
        for key in sorted(keys):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
            lines = []
            for number, line in enumerate(body.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    self._fail(job, f"{key} line {number} is not JSON")
                    return
                if not isinstance(record, dict):
                    self._fail(job, f"{key} line {number} is not a JSON object")
                    return
                lines.append(record)
            files.append((key, lines))
        total = sum(len(lines) for _, lines in files)
        if self.min_records is not None and total < self.min_records:
            self._fail(
                job,
                f"the job has {total} records; the minimum number of records per batch "
                f"inference job is {self.min_records}",
            )
            return
        self._set(job, status="InProgress", total=total)
        rng = random.Random(f"{faults.seed}/{job.name}")
        out_bucket, out_prefix = _split(job.output_uri)
        out_root = f"{out_prefix.rstrip('/')}/{job.job_id}/" if out_prefix else f"{job.job_id}/"
        tokens = [0, 0]
        stopped = False
        for key, records in files:
            answered: list[str] = []
            for n, record in enumerate(records):
                if job.stop.is_set() or self.stopping.is_set():
                    stopped = True
                    break
                record_id = str(record.get("recordId") or f"{job.job_id[:6]}{n:05d}")
                line, ok = self._answer(job, record_id, record.get("modelInput"), faults, rng)
                usage = (line.get("modelOutput") or {}).get("usage") or {}
                tokens[0] += int(usage.get("inputTokens", 0) or 0)
                tokens[1] += int(usage.get("outputTokens", 0) or 0)
                answered.append(json.dumps(line, ensure_ascii=False))
                with self._lock:
                    job.processed += 1
                    job.succeeded += ok
                    job.failed += not ok
            rng.shuffle(answered)  # the output order is not the input order
            name = key.rsplit("/", 1)[-1]
            s3.put_object(
                Bucket=out_bucket,
                Key=f"{out_root}{name}.out",
                Body=("\n".join(answered) + "\n" if answered else "").encode("utf-8"),
            )
            if stopped:
                break
        with self._lock:
            summary = {
                "totalRecordCount": total,
                "processedRecordCount": job.processed,
                "successRecordCount": job.succeeded,
                "errorRecordCount": job.failed,
                "inputTokenCount": tokens[0],
                "outputTokenCount": tokens[1],
            }
        s3.put_object(
            Bucket=out_bucket,
            Key=f"{out_root}manifest.json.out",
            Body=json.dumps(summary).encode("utf-8"),
        )
        self._set(job, status="Stopped" if stopped else "Completed", ended=datetime.now(UTC))

    def _answer(
        self,
        job: _Job,
        record_id: str,
        body: object,
        faults: RecordFaults,
        rng: random.Random,
    ) -> tuple[dict[str, Any], bool]:
        """One output line, and whether it holds a model output."""
        line: dict[str, Any] = {"recordId": record_id, "modelInput": body}
        injected = rng.random() < faults.error_rate or record_id in faults.fail_records
        try:
            if not isinstance(body, dict):
                raise ConverseFault(400, "ValidationException", "modelInput must be an object")
            if "toolConfig" in body:  # "Batch inference does not support tool calling"
                raise ConverseFault(
                    400, "ValidationException", "batch inference does not support tool use"
                )
            if injected:
                raise ConverseFault(500, "InternalServerException", "Internal server error")
            line["modelOutput"] = self.backend.converse(
                job.model_id, validate_request(body), self.stopping
            )
            return line, True
        except ConverseFault as fault:
            line["error"] = {"errorCode": fault.status, "errorMessage": fault.message}
        except Exception as exc:
            log.exception("batch record %s failed", record_id)
            line["error"] = {"errorCode": 500, "errorMessage": f"Internal error: {exc}"}
        return line, False

    def _fail(self, job: _Job, message: str) -> None:
        self._set(job, status="Failed", message=message, ended=datetime.now(UTC))


def _split(uri: str) -> tuple[str, str]:
    match = S3_URI.match(uri)
    if match is None:
        raise ValueError(f"not an S3 URI: {uri}")
    return match["bucket"], match["key"] or ""


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _s3_client(region: str) -> Any:
    """S3 through boto3, honouring ``AWS_ENDPOINT_URL_S3`` (moto's server in tests)."""
    session = boto3.session.Session()
    key = None if session.get_credentials() is not None else "local"
    return session.client(
        "s3", region_name=region, aws_access_key_id=key, aws_secret_access_key=key
    )


_PLANES: weakref.WeakKeyDictionary[WireHTTPServer, ControlPlane] = weakref.WeakKeyDictionary()


class _BatchHandler(WireHandler):
    """The Converse routes, plus the model-invocation-job routes."""

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if not path.startswith("/model-invocation-job"):
            super().do_POST()
            return
        self._control("POST", path, {})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if not parts.path.startswith("/model-invocation-job"):
            super().do_GET()
            return
        self._control("GET", parts.path, parse_qs(parts.query))

    def _control(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        plane = _PLANES[self.server]

        def route(body: Any) -> dict[str, Any]:
            match = _JOB.match(path)
            if method == "POST" and path == "/model-invocation-job":
                return plane.create(body if isinstance(body, dict) else {})
            if method == "GET" and path == "/model-invocation-jobs":
                return plane.list(query)
            if method == "GET" and match and not match["stop"]:
                return plane.get(unquote(match["id"]))
            if method == "POST" and match and match["stop"]:
                return plane.stop(unquote(match["id"]))
            raise ConverseFault(404, "UnknownOperationException", f"No route for {path}")

        self._reply(route, "control plane")


class BatchServer(ConverseServer):
    """The local Converse server, also serving the batch inference control plane.

    ``faults`` apply to jobs created after they are set (``server.control.faults = ...``);
    ``min_records`` makes a job with fewer records fail validation, as a quota would.
    """

    def __init__(
        self,
        backend: Backend,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        faults: RecordFaults | None = None,
        min_records: int | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        prompt_cache: PromptCacheEmulator | None = None,
    ) -> None:
        super().__init__(backend, host, port, prompt_cache)
        server = self._server
        server.RequestHandlerClass = _BatchHandler
        self.control = ControlPlane(
            backend,
            server.stopping,
            region=region,
            account=account,
            faults=faults,
            min_records=min_records,
        )
        _PLANES[server] = self.control

    def stop(self) -> None:
        """Stop serving; running jobs stop at their next record."""
        super().stop()
        self.control.join()

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Wait until no job is running (tests, benchmarks)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(j.status not in RUNNING for j in self.control._jobs.values()):
                return
            time.sleep(0.02)
        raise TimeoutError("batch jobs still running")
