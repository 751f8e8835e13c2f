"""Bedrock batch inference: submit -> status -> collect against local stand-ins, real parts only.

S3 is moto's server on 127.0.0.1; the bedrock control plane is the project's own local
server (``BatchServer``) on botocore's wire protocol, running jobs with the scripted judge.
boto3 and botocore are not patched: they are pointed at the stand-ins by
``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL_BEDROCK`` and
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from click.testing import CliRunner, Result

from judge.batch.iam import permissions_policy, trust_policy
from judge.batch.records import QuotaError, Quotas, batch_config, make_records, shard
from judge.calibration.runner import calibrate
from judge.cli import main
from judge.config import load_config
from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.pipeline import Evaluator
from judge.server.control import BatchServer, RecordFaults
from judge.server.process import free_port
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, project_copy, sample

BUCKET = "judge-batch"
ROLE = "arn:aws:iam::123456789012:role/batch-judge"
POLITE = ("please", "thank you", "happy to help", "glad", "sorry", "appreciate", "")
RUDE = ("", "", "", "obviously", "whatever", "figure it out", "stupid")


@dataclass
class StandIns:
    server: BatchServer
    judge: ScriptedJudge
    s3_url: str
    config: Path
    jobs: Path


def _moto_reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch, aws_env: Path, tmp_path: Path) -> Iterator[StandIns]:
    """moto's S3, the local batch control plane + Converse API, a private project copy."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    s3_url = f"http://127.0.0.1:{port}"
    _moto_reset(s3_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)
    judge = ScriptedJudge()
    server = BatchServer(judge)
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
    jobs = tmp_path / "jobs"
    monkeypatch.setenv("JUDGE_BATCH_DIR", str(jobs))
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    project = tmp_path / "project"
    project.mkdir()
    config = project_copy(project, "calibration/anchors/politeness.jsonl")
    try:
        yield StandIns(server, judge, s3_url, config, jobs)
    finally:
        server.stop()
        moto.stop()


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _job_name(result: Result) -> str:
    line = next(ln for ln in result.output.splitlines() if ln.startswith("submitted "))
    return line.split()[1].rstrip(":")


def _dataset(path: Path, n: int) -> Path:
    """``n`` distinct samples whose tone varies, several answers to each prompt."""
    lines = []
    for i in range(n):
        polite, rude = POLITE[i % len(POLITE)], RUDE[(i // 7) % len(RUDE)]
        answer = f"Bring tent {i} back with the receipt {polite} {rude}. Refunds take 5 days."
        lines.append(json.dumps(sample(f"s{i}", answer, prompt=f"How do I return tent {i // 4}?")))
    path.write_text("\n".join(lines) + "\n")
    return path


def _wait(job: str) -> Result:
    result = _cli("batch", "status", job, "--wait", "--poll", "0.05", "--timeout", "120")
    assert result.exit_code == 0, result.output
    assert "Completed" in result.output, result.output
    return result


def _on_demand(config: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Evaluator:
    """The ordinary on-demand evaluator with the batch job's settings, on its own cache."""
    from judge.batch.records import batch_config

    monkeypatch.setenv("JUDGE_CACHE_DIR", str(cache))
    return Evaluator.from_settings(batch_config(load_config(config), ["helpfulness", "tone"]))


def _judgements(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every judgement of every dimension in ``--details`` lines."""
    return [
        j for d in details for dim in d["dimensions"].values() for j in dim.get("judgements", [])
    ]


def _uncached(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``details`` without each judgement's cache flag (where its verdict came from)."""
    for j in _judgements(details):
        j.pop("cached")
    return details


def test_scoring_2000_records_matches_on_demand(
    local: StandIns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    data = _dataset(tmp_path / "data.jsonl", 1000)
    local.server.control.faults = RecordFaults(error_rate=0.03, seed=7)
    common = ["--bucket", f"s3://{BUCKET}/runs", "--role-arn", ROLE]
    submitted = _cli(
        "batch", "submit", str(data), *common, "--config", str(local.config),
        "--rubric", "helpfulness", "--rubric", "tone", "--max-records-per-file", "700",
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "2000 records in 3 file(s)" in submitted.output
    job = _job_name(submitted)
    manifest = json.loads((local.jobs / job / "manifest.json").read_text())
    assert (
        len(manifest["records"]) == 2000 and manifest["judge_overrides"]["verdict_mode"] == "text"
    )
    assert len({r["key"] for r in manifest["records"].values()}) == 2000

    # What went to S3 is the Converse body the on-demand path sends, without tool use.
    s3 = boto3.client("s3")
    first = s3.get_object(Bucket=BUCKET, Key=f"runs/{job}/input/part-00000.jsonl")
    lines = first["Body"].read().decode().splitlines()
    assert len(lines) == 700
    record = json.loads(lines[0])
    assert set(record) == {"recordId", "modelInput"} and len(record["recordId"]) == 11
    assert "toolConfig" not in record["modelInput"] and "modelId" not in record["modelInput"]

    status = _wait(job)
    assert "2000 of 2000 records processed" in status.output
    outputs = sorted(
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"runs/{job}/output/")["Contents"]
    )
    assert [k.rsplit("/", 1)[-1] for k in outputs] == [
        "manifest.json.out", "part-00000.jsonl.out", "part-00001.jsonl.out", "part-00002.jsonl.out",
    ]  # fmt: skip
    out0 = s3.get_object(Bucket=BUCKET, Key=outputs[1])["Body"].read().decode().splitlines()
    ids = [json.loads(x)["recordId"] for x in out0]
    assert sorted(ids) == [json.loads(x)["recordId"] for x in lines] and ids != sorted(ids)

    # Collect: record-level errors are unscored with their reason and listed for retry.
    rewards, details = tmp_path / "rewards.json", tmp_path / "why.jsonl"
    collected = _cli("batch", "collect", job, "--out", str(rewards), "--details", str(details))
    assert collected.exit_code == 0, collected.output
    errors = manifest_errors = json.loads(
        s3.get_object(Bucket=BUCKET, Key=outputs[0])["Body"].read()
    )["errorRecordCount"]
    assert 20 < errors < 120, manifest_errors
    retry = (local.jobs / job / "retry.jsonl").read_text().splitlines()
    assert len(retry) == errors
    assert all("batch record error 500" in json.loads(x)["reason"] for x in retry)
    why = [json.loads(x) for x in details.read_text().splitlines()]
    reasons = [
        d["unscored"] for w in why for d in w["dimensions"].values() if d["unscored"] is not None
    ]
    assert len(reasons) == errors and all("batch record error 500" in r for r in reasons)
    assert "cost" in collected.output and "batch $" in collected.output

    # Collecting again changes nothing, and no judgement goes to the Converse API.
    calls = len(local.judge.requests)
    first_answer = rewards.read_text()
    again = _cli("batch", "collect", job, "--out", str(rewards), "--details", str(details))
    assert again.exit_code == 0, again.output
    assert rewards.read_text() == first_answer and len(local.judge.requests) == calls
    assert len((local.jobs / job / "retry.jsonl").read_text().splitlines()) == errors

    # The failed records alone: below the minimum job size first, then allowed.
    local.server.control.faults = RecordFaults()
    refused = _cli("batch", "submit", "--retry-failed", job, *common)
    assert refused.exit_code == 2
    assert f"{errors} record(s) to judge, but a batch job needs at least 100" in refused.output
    retried = _cli("batch", "submit", "--retry-failed", job, *common, "--min-records", "10")
    assert retried.exit_code == 0, retried.output
    assert f"{errors} records in 1 file(s)" in retried.output
    second = _job_name(retried)
    _wait(second)
    assert len(local.judge.requests) == calls + errors  # only the failed ones were judged
    final = _cli("batch", "collect", second, "--out", str(rewards), "--details", str(details))
    assert final.exit_code == 0, final.output
    assert (local.jobs / second / "retry.jsonl").read_text() == ""

    # The on-demand path on the same verdicts (the same scripted judge) answers the same.
    evaluator = _on_demand(local.config, tmp_path / "on-demand-cache", monkeypatch)
    samples = [json.loads(x) for x in data.read_text().splitlines()]
    answer, batch = run_event(evaluator, samples, Deadline.never())
    evaluator.close()
    assert batch.stats.calls == 2000 and batch.stats.cache_hits == 0
    assert json.loads(rewards.read_text()) == answer
    from judge.cli._tables import explain

    # The same details, but for where each verdict came from: the final collect found the
    # first job's verdicts in the cache; the on-demand run called the judge for each.
    from_job = [json.loads(x) for x in details.read_text().splitlines()]
    on_demand = [json.loads(json.dumps(explain(r))) for r in batch.results]
    assert not any(j["cached"] for j in _judgements(on_demand))
    assert any(j["cached"] for j in _judgements(from_job))
    assert _uncached(from_job) == _uncached(on_demand)
    assert len({a["aggregate_reward_score"] for a in answer}) > 3  # the rewards do vary
    assert time.monotonic() - started < 60


def test_calibration_job_matches_on_demand_calibration(
    local: StandIns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anchors = local.config.parent / "calibration" / "anchors" / "politeness.jsonl"
    submitted = _cli(
        "batch", "submit", "--anchors", str(anchors), "--rubric", "tone",
        "--bucket", f"s3://{BUCKET}", "--role-arn", ROLE, "--config", str(local.config),
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "180 records" in submitted.output  # 120 anchors + 3 probes x 20 held-out items
    job = _job_name(submitted)
    _wait(job)
    out = tmp_path / "batch-calibration"
    collected = _cli("batch", "collect", job, "--out", str(out))
    assert collected.exit_code == 0, collected.output
    assert (local.jobs / job / "retry.jsonl").read_text() == ""  # every judgement was held
    calls = len(local.judge.requests)
    # collect ran `judge calibrate --from-batch JOB`; options that contradict the job fail.
    clash = _cli("calibrate", "--from-batch", job, "--seed", "3")
    assert clash.exit_code == 2 and "seed = 0" in clash.output

    from judge.batch.records import batch_config

    monkeypatch.setenv("JUDGE_CACHE_DIR", str(tmp_path / "on-demand-cache"))
    evaluator = Evaluator.from_settings(batch_config(load_config(local.config)))
    on_demand = tmp_path / "on-demand-calibration"
    calibrate(evaluator, "tone", anchors.resolve(), out=on_demand)
    evaluator.close()
    assert len(local.judge.requests) == calls + 180

    def artefact(path: Path) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(path.read_text())
        data.pop("created")
        return data

    expected = artefact(on_demand / "tone.json")
    assert artefact(out / "tone.json") == expected
    assert expected["inference"]["verdict_mode"] == "text" and expected["endpoint"] == "custom"
    assert expected["metrics"]["probes"]  # the bias probes came from the job too
    report = (out / "reports" / "tone" / "report.md").read_text()
    assert report == (on_demand / "reports" / "tone" / "report.md").read_text()


def test_below_the_minimum_submit_refuses_in_one_line(local: StandIns) -> None:
    result = _cli(
        "batch", "submit", str(REPO / "examples" / "batch.jsonl"), "--bucket", f"s3://{BUCKET}",
        "--role-arn", ROLE, "--config", str(local.config),
    )  # fmt: skip
    assert result.exit_code == 2
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error")]
    assert len(errors) == 1, result.output
    assert "a batch job needs at least 100" in errors[0] and "add " in errors[0]
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    assert not local.jobs.exists()


def test_sharding_follows_the_record_and_size_quotas() -> None:
    records = make_records((f"k{i}", {"messages": [{"text": "x" * (i % 50)}]}) for i in range(250))
    sizes = [len(r.line) for r in records]
    by_count = shard(records, Quotas(min_records=1, max_records_per_file=100))
    assert [len(f) for f in by_count] == [100, 100, 50]
    limit = 4000
    by_size = shard(records, Quotas(min_records=1, max_file_bytes=limit))
    assert all(sum(len(r.line) for r in f) <= limit for f in by_size)
    assert [r for f in by_size for r in f] == records  # in order, none lost
    assert len(by_size) == -(-sum(sizes) // limit) or len(by_size) == -(-sum(sizes) // limit) + 1
    with pytest.raises(QuotaError, match="needs at least 251"):
        shard(records, Quotas(min_records=251))
    with pytest.raises(QuotaError, match="exceed the 200 a batch job may hold"):
        shard(records, Quotas(min_records=1, max_records_per_job=200))
    with pytest.raises(QuotaError, match="Batch inference job size"):
        shard(records, Quotas(min_records=1, max_job_bytes=sum(sizes) - 1))
    with pytest.raises(QuotaError, match="input file size"):
        shard(records, Quotas(min_records=1, max_file_bytes=50))
    assert len({r.record_id for r in records}) == 250
    assert all(len(r.record_id) == 11 and r.record_id.isalnum() for r in records)


def test_collect_refuses_changed_inputs_and_waits_for_the_job(
    local: StandIns, tmp_path: Path
) -> None:
    data = tmp_path / "small.jsonl"
    shutil.copy(REPO / "examples" / "batch.jsonl", data)
    local.judge.latency_s = 0.05  # the job is still running when collect is first asked
    submitted = _cli(
        "batch", "submit", str(data), "--bucket", f"s3://{BUCKET}/x", "--role-arn", ROLE,
        "--config", str(local.config), "--min-records", "1",
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "15 records" in submitted.output  # 6 samples x 3 rubrics, less the guarded one
    job = _job_name(submitted)
    early = _cli("batch", "collect", job)
    assert early.exit_code == 2 and "collect it once it is Completed" in early.output
    local.judge.latency_s = 0.0
    _wait(job)
    assert _cli("batch", "collect", job).exit_code == 0
    again = _cli(
        "batch", "submit", str(data), "--bucket", f"s3://{BUCKET}/x", "--role-arn", ROLE,
        "--config", str(local.config), "--min-records", "1",
    )  # fmt: skip
    assert again.exit_code == 2  # all cached: nothing to submit, said as such
    assert "nothing to submit: every judgement this run needs already has a verdict" in (
        again.output
    )
    data.write_text(data.read_text().replace("tent", "kayak", 1))
    changed = _cli("batch", "collect", job)
    assert changed.exit_code == 2 and "changed since batch job" in changed.output


def test_control_plane_speaks_the_bedrock_wire_protocol(local: StandIns) -> None:
    """Create/Get/List/Stop through boto3's own `bedrock` client; tool use is refused."""
    s3 = boto3.client("s3")
    body = {
        "messages": [{"role": "user", "content": [{"text": "<response-0123456789abcdef>\nHi\n"}]}]
    }
    tool = {
        **body,
        "toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}]},
    }
    lines = [{"recordId": f"R{i:010d}", "modelInput": tool if i == 0 else body} for i in range(40)]
    s3.put_object(
        Bucket=BUCKET, Key="raw/in/a.jsonl", Body="\n".join(json.dumps(x) for x in lines).encode()
    )
    bedrock = boto3.client("bedrock")
    local.judge.latency_s = 0.02
    args: dict[str, Any] = {
        "roleArn": ROLE,
        "modelId": "us.amazon.nova-pro-v1:0",
        "modelInvocationType": "Converse",
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/raw/in/"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/raw/out/"}},
    }
    arn = bedrock.create_model_invocation_job(jobName="wire-1", clientRequestToken="t1", **args)[
        "jobArn"
    ]
    again = bedrock.create_model_invocation_job(jobName="wire-1", clientRequestToken="t1", **args)
    assert again["jobArn"] == arn  # idempotent on the client token
    stopped = bedrock.create_model_invocation_job(jobName="wire-2", **args)["jobArn"]
    bedrock.stop_model_invocation_job(jobIdentifier=stopped)
    with pytest.raises(botocore.exceptions.ClientError) as dup:
        bedrock.create_model_invocation_job(jobName="wire-1", **args)
    assert dup.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        bedrock.get_model_invocation_job(jobIdentifier="abcdefabcdef")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    local.server.wait_idle()
    job = bedrock.get_model_invocation_job(jobIdentifier=arn)
    assert job["status"] == "Completed" and job["modelInvocationType"] == "Converse"
    assert (job["totalRecordCount"], job["errorRecordCount"]) == (40, 1)
    assert job["submitTime"].tzinfo is not None  # botocore parsed the ISO 8601 timestamps
    assert bedrock.get_model_invocation_job(jobIdentifier=stopped)["status"] == "Stopped"
    listed = bedrock.list_model_invocation_jobs(statusEquals="Completed")["invocationJobSummaries"]
    assert [j["jobName"] for j in listed] == ["wire-1"]
    pages = bedrock.get_paginator("list_model_invocation_jobs").paginate(
        PaginationConfig={"PageSize": 1}
    )
    assert sorted(j["jobName"] for p in pages for j in p["invocationJobSummaries"]) == [
        "wire-1",
        "wire-2",
    ]
    job_id = arn.rsplit("/", 1)[-1]
    out = s3.get_object(Bucket=BUCKET, Key=f"raw/out/{job_id}/a.jsonl.out")["Body"].read()
    answers = {json.loads(x)["recordId"]: json.loads(x) for x in out.decode().splitlines()}
    assert answers["R0000000000"]["error"]["errorCode"] == 400
    assert "tool" in answers["R0000000000"]["error"]["errorMessage"]
    assert answers["R0000000001"]["modelOutput"]["stopReason"] == "end_turn"


def test_local_control_plane_with_aws_runtime_is_refused(
    local: StandIns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    result = _cli(
        "batch", "submit", str(REPO / "examples" / "batch.jsonl"), "--bucket", f"s3://{BUCKET}",
        "--role-arn", ROLE, "--config", str(local.config), "--min-records", "1",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "would be cached as another endpoint's" in result.output


def test_service_role_is_least_privilege() -> None:
    trust = trust_policy("111122223333", "us-east-1")["Statement"][0]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    policy = permissions_policy(
        "bkt", "runs", "us.amazon.nova-pro-v1:0", "us-east-1", "111122223333"
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadJobInputs"]["Action"] == "s3:GetObject"
    assert by_sid["ReadJobInputs"]["Resource"] == "arn:aws:s3:::bkt/runs/*/input/*"
    assert by_sid["WriteJobOutputs"]["Action"] == "s3:PutObject"
    assert by_sid["WriteJobOutputs"]["Resource"] == "arn:aws:s3:::bkt/runs/*/output/*"
    models = by_sid["InvokeJudgeModel"]["Resource"]
    assert models[0].endswith(":inference-profile/us.amazon.nova-pro-v1:0")
    assert all("nova-pro" in m for m in models) and not any(m.endswith("*") for m in models)
    printed = _cli(
        "batch", "role-policy", "--bucket", "s3://bkt/runs", "--account", "111122223333",
        "--config", str(REPO / "reward.toml"), "--region", "us-east-1",
    )  # fmt: skip
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["permissions_policy"] == policy


def test_combined_mode_and_refusals_match_on_demand(
    local: StandIns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One call per sample (parse_combined_response); a refusal is final, not retried."""
    local.config.write_text(
        local.config.read_text().replace("[judge]", "[judge]\ncombine_rubrics = true", 1)
    )
    local.judge.refuse = "Whatever"
    data = REPO / "examples" / "batch.jsonl"
    submitted = _cli(
        "batch", "submit", str(data), "--bucket", f"s3://{BUCKET}", "--role-arn", ROLE,
        "--config", str(local.config), "--min-records", "1",
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "5 records" in submitted.output  # one per judged sample
    job = _job_name(submitted)
    _wait(job)
    rewards = tmp_path / "rewards.json"
    collected = _cli("batch", "collect", job, "--out", str(rewards))
    assert collected.exit_code == 0, collected.output
    assert (local.jobs / job / "retry.jsonl").read_text() == ""  # the refusal stays refused

    from judge.batch.records import batch_config

    monkeypatch.setenv("JUDGE_CACHE_DIR", str(tmp_path / "on-demand-cache"))
    evaluator = Evaluator.from_settings(batch_config(load_config(local.config)))
    answer, batch = run_event(
        evaluator, [json.loads(x) for x in data.read_text().splitlines()], Deadline.never()
    )
    evaluator.close()
    assert batch.counts()["refused"] == 1
    assert json.loads(rewards.read_text()) == answer


def test_group_mode_matches_on_demand(
    local: StandIns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job of group requests (both orders) gives the rewards the Lambda would give."""
    local.config.write_text(
        local.config.read_text().replace("[judge]", '[judge]\nmode = "group"\ngroup_orders = 2', 1)
    )
    data = _dataset(tmp_path / "data.jsonl", 40)  # 10 prompts x 4 answers
    submitted = _cli(
        "batch", "submit", str(data), "--bucket", f"s3://{BUCKET}", "--role-arn", ROLE,
        "--config", str(local.config), "--min-records", "1", "--rubric", "helpfulness",
        "--rubric", "tone",
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "40 records" in submitted.output  # 10 groups x 2 orders x 2 rubrics
    job = _job_name(submitted)
    _wait(job)
    rewards = tmp_path / "rewards.json"
    collected = _cli("batch", "collect", job, "--out", str(rewards))
    assert collected.exit_code == 0, collected.output
    evaluator = _on_demand(local.config, tmp_path / "on-demand-cache", monkeypatch)
    answer, batch = run_event(
        evaluator, [json.loads(x) for x in data.read_text().splitlines()], Deadline.never()
    )
    evaluator.close()
    assert batch.stats.calls == 40 and batch.counts()["unscored"] == 0
    assert json.loads(rewards.read_text()) == answer


def test_submit_runs_in_aws_region_and_reports_no_dry_run_failures(
    local: StandIns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """submit plans without calling the judge: no "calls failed" (nor a dry run) reported.

    The job goes to AWS_REGION (botocore alone would read only AWS_DEFAULT_REGION), and the
    failures that do happen, record errors at collect, are still reported.
    """
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    local.server.control.faults = RecordFaults(error_rate=0.25, seed=3)
    data = _dataset(tmp_path / "data.jsonl", 40)
    submitted = _cli(
        "batch", "submit", str(data), "--bucket", f"s3://{BUCKET}/runs", "--role-arn", ROLE,
        "--config", str(local.config),
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "120 records" in submitted.output
    assert "failed" not in submitted.output and "dry run" not in submitted.output
    job = _job_name(submitted)
    manifest = json.loads((local.jobs / job / "manifest.json").read_text())
    assert manifest["region"] == "eu-west-3"
    assert manifest["endpoint"] == local.server.url
    _wait(job)
    collected = _cli("batch", "collect", job)
    assert collected.exit_code == 0, collected.output
    assert "calls failed (judge_error: batch record error" in collected.output


def test_batch_rubrics_keep_the_gates_on_checks() -> None:
    """``--rubric`` drops the other rubrics and their gates, not the checks' gates (a check
    costs no call and its gate floors a PII leak whatever the rubrics)."""
    config = load_config(REPO / "examples" / "support" / "reward.toml")
    assert {g.rubric for g in config.gates} == {"no_pii", "same_language"}
    only = batch_config(config, ["helpfulness"])
    assert list(only.rubrics) == ["helpfulness"]
    assert [g.rubric for g in only.gates] == [g.rubric for g in config.gates]
    assert only.checks.specs == config.checks.specs
