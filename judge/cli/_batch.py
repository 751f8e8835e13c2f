"""``judge batch submit | status | collect | stop | role-policy``: Bedrock batch inference."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from judge.calibration.options import RUN, CalibrationOptions, click_options
from judge.cli._app import (
    check_outputs,
    config_option,
    main,
    progress_bar,
    reported_errors,
    say,
)
from judge.deploy.aws_errors import aws_errors

if TYPE_CHECKING:
    from judge.batch.jobs import Replay, Submitted
    from judge.batch.manifest import Manifest
    from judge.batch.records import Quotas
    from judge.pipeline import Evaluator

F = TypeVar("F", bound=Callable[..., Any])
MB = 1_000_000

jobs_dir_option = click.option(
    "--jobs-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where job manifests live (default: $JUDGE_BATCH_DIR, else .judge-batch beside the "
    "config).",
)


def quota_options(func: F) -> F:
    """The batch quotas, to set from your account's Service Quotas: one ``quotas`` argument."""
    options = [
        click.option(
            "--min-records",
            type=click.IntRange(1),
            default=100,
            show_default=True,
            help="Quota 'Minimum number of records per batch inference job'.",
        ),
        click.option(
            "--max-records-per-file",
            type=click.IntRange(1),
            default=50_000,
            show_default=True,
            help="Quota 'Records per input file per batch inference job'.",
        ),
        click.option(
            "--max-records-per-job",
            type=click.IntRange(1),
            default=50_000,
            show_default=True,
            help="Quota 'Records per batch inference job'.",
        ),
        click.option(
            "--max-file-mb",
            type=click.FloatRange(min=0.001),
            default=1000.0,
            show_default=True,
            help="Quota 'Batch inference input file size', in MB.",
        ),
        click.option(
            "--max-job-mb",
            type=click.FloatRange(min=0.001),
            default=5000.0,
            show_default=True,
            help="Quota 'Batch inference job size', in MB.",
        ),
    ]
    names = ("min_records", "max_records_per_file", "max_records_per_job")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from judge.batch.records import Quotas  # the pipeline: imported when a command runs

        quotas = Quotas(
            **{name: kwargs.pop(name) for name in names},
            max_file_bytes=int(kwargs.pop("max_file_mb") * MB),
            max_job_bytes=int(kwargs.pop("max_job_mb") * MB),
        )
        return func(*args, quotas=quotas, **kwargs)

    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


@main.group()
def batch() -> None:
    """Score or calibrate whole datasets offline through Bedrock batch inference.

    submit renders every judgement exactly as the Lambda would and creates a model
    invocation job; status follows it; collect turns its outputs into exactly what
    `judge score` / `judge calibrate` would have produced from the same verdicts.
    """


def _role_arn(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Check the role ARN's shape before anything is uploaded."""
    if not re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", value):
        raise click.BadParameter(
            f"{value!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        )
    return value


@batch.command()
@click.argument("data", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--bucket",
    "bucket_uri",
    required=True,
    help="s3://BUCKET[/PREFIX]: inputs go to PREFIX/<job>/input/, outputs to .../output/.",
)
@click.option(
    "--role-arn",
    required=True,
    callback=_role_arn,
    help="The service role Bedrock assumes (`judge batch role-policy` prints its policies).",
)
@click.option(
    "--rubric",
    "rubrics",
    multiple=True,
    help="Scoring: only these rubrics (repeatable; default all). Calibration: the rubric.",
)
@click.option(
    "--anchors",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Submit a calibration run on this anchor set instead of scoring DATA.",
)
@click_options(*RUN)
@click.option(
    "--retry-failed",
    "retry",
    metavar="JOB",
    default=None,
    help="Submit again only the judgements collected job JOB left unscored.",
)
@quota_options
@jobs_dir_option
@config_option
def submit(
    data: str | None,
    bucket_uri: str,
    role_arn: str,
    rubrics: tuple[str, ...],
    anchors: str | None,
    options: CalibrationOptions,
    retry: str | None,
    quotas: Quotas,
    jobs_dir: str | None,
    config_path: str | None,
) -> None:
    """Render DATA (or --anchors, or --retry-failed JOB) as batch records and start a job.

    Verdicts already in the cache are not submitted again. Batch inference does not support
    tool use, so the job judges with keyed text verdicts (verdict_mode = "text").
    """
    from judge.batch.jobs import Target, submit_calibration, submit_retry, submit_score

    if sum(x is not None for x in (data, anchors, retry)) != 1:
        raise click.UsageError("give exactly one of DATA, --anchors FILE or --retry-failed JOB")
    if anchors is not None and len(rubrics) != 1:
        raise click.UsageError("a calibration job needs exactly one --rubric")
    target = Target(bucket_uri, role_arn, quotas, jobs_dir)
    with reported_errors(), aws_errors():
        done: Submitted
        if retry is not None:
            done = submit_retry(retry, target)
        elif anchors is not None:
            done = submit_calibration(
                rubrics[0], Path(anchors), options, target, config_path=config_path
            )
        else:
            assert data is not None
            done = submit_score(Path(data), target, config_path=config_path, rubrics=rubrics)
    m = done.manifest
    say(
        "submitted",
        "green",
        f"{m.job_name}: {done.records} records in {done.files} file(s), {done.bytes:,} bytes, "
        f"to {m.input_uri} ({done.records / max(done.seconds, 1e-9):,.0f} records/s)",
    )
    say("job", "cyan", m.job_arn)
    say("manifest", "cyan", str(done.manifest_path))
    say(
        "note",
        "yellow",
        'batch inference does not support tool use: the job judges with verdict_mode = "text" '
        "(keyed verdict lines); its verdicts serve text-mode runs",
    )
    say("next", "cyan", f"judge batch status {m.job_name} --wait; judge batch collect {m.job_name}")


@batch.command()
@click.argument("job")
@click.option("--wait", is_flag=True, help="Poll until the job has finished.")
@click.option("--poll", "poll_s", default=30.0, show_default=True, help="Seconds between polls.")
@click.option("--timeout", "timeout_s", type=float, default=None, help="Give up after this.")
@click.option("--json", "as_json", is_flag=True, help="Print GetModelInvocationJob's answer.")
@jobs_dir_option
def status(
    job: str,
    wait: bool,
    poll_s: float,
    timeout_s: float | None,
    as_json: bool,
    jobs_dir: str | None,
) -> None:
    """Progress of JOB (a job name, ARN or manifest path): records processed/succeeded/failed."""
    from judge.batch import jobs
    from judge.batch import manifest as mf

    with reported_errors(), aws_errors():
        manifest = mf.load(job, mf.jobs_dir(jobs_dir))
        if wait:
            reply = jobs.wait(
                manifest, poll_s=poll_s, timeout_s=timeout_s, on_poll=_changes(manifest)
            )
        else:
            reply = jobs.describe(manifest)
            _line(manifest, reply)
    if as_json:
        click.echo(json.dumps(reply, indent=1, default=str))
    if reply.get("status") == "Failed":
        raise SystemExit(4)


def _changes(manifest: Manifest) -> Callable[[dict[str, Any]], None]:
    """A poll callback that prints the job's line when its status or counts change."""
    seen: list[tuple[Any, ...]] = []

    def on_poll(job: dict[str, Any]) -> None:
        state = (job.get("status"), job.get("processedRecordCount"), job.get("message"))
        if not seen or seen[-1] != state:
            seen.append(state)
            _line(manifest, job)

    return on_poll


def _line(manifest: Manifest, job: dict[str, Any]) -> None:
    counts = ""
    if job.get("totalRecordCount") is not None:
        counts = (
            f": {job.get('processedRecordCount', 0)} of {job['totalRecordCount']} records "
            f"processed, {job.get('successRecordCount', 0)} succeeded, "
            f"{job.get('errorRecordCount', 0)} failed"
        )
    message = f" ({job['message']})" if job.get("message") else ""
    style = {"Completed": "green", "Failed": "red"}.get(str(job.get("status")), "cyan")
    say(str(job.get("status")), style, f"{manifest.job_name}{counts}{message}")


@batch.command()
@click.argument("job")
@click.option(
    "--out",
    type=click.Path(),
    default=None,
    help="Scoring: the Lambda's answer (JSON), as `judge score --out`. Calibration: the "
    "output dir, as `judge calibrate --out`.",
)
@click.option(
    "--details",
    type=click.Path(dir_okay=False),
    default=None,
    help="Scoring: per-sample explanations (JSONL), as `judge score --details`.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Scoring: print no per-sample rows, as `judge score`."
)
@click.option("--max-unscored", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True)
@click.option("--min-spearman", type=float, default=None, help="Calibration: as in calibrate.")
@click.option("--json", "as_json", is_flag=True, help="Calibration: print the metrics as JSON.")
@click.option("--wait", is_flag=True, help="Wait for the job to finish first.")
@click.option("--poll", "poll_s", default=30.0, show_default=True)
@jobs_dir_option
@click.pass_context
def collect(
    ctx: click.Context,
    job: str,
    out: str | None,
    details: str | None,
    quiet: bool,
    max_unscored: float,
    min_spearman: float | None,
    as_json: bool,
    wait: bool,
    poll_s: float,
    jobs_dir: str | None,
) -> None:
    """Download JOB's outputs and produce what `judge score` / `judge calibrate` would have.

    Every record's answer goes through the judge's own verdict parser; the verdicts fill
    the cache; record-level errors and unparseable answers are unscored with their reasons
    (never cached) and listed for `judge batch submit --retry-failed JOB`. Running it
    again gives the same result.
    """
    from judge.batch import jobs
    from judge.batch import manifest as mf

    with reported_errors(), aws_errors():
        manifest, directory = mf.find(job, mf.jobs_dir(jobs_dir))
        root = mf.chain(manifest, directory)[0]
        if manifest.kind != "calibrate":  # calibrate checks its own --out (a directory)
            _check_score_outputs(out, details, root, manifest.path(directory))
        if wait:
            jobs.wait(manifest, poll_s=poll_s, on_poll=_changes(manifest))
    if manifest.kind == "calibrate":
        from judge.cli._judging import calibrate

        run = root.calibration
        assert run is not None
        ctx.invoke(
            calibrate,
            rubric=run.rubric,
            anchors_file=run.anchors,
            out=out,
            as_json=as_json,
            min_spearman=min_spearman,
            max_unscored=max_unscored,
            concurrency=None,
            config_path=None,
            from_batch=str(manifest.path(directory)),
        )
        _report_retry(manifest, directory / manifest.job_name / mf.RETRY)
        return
    _collect_score(manifest, directory, out, details, max_unscored, quiet)


def _check_score_outputs(
    out: str | None, details: str | None, root: Manifest, manifest_path: Path
) -> None:
    """A scoring job's --out and --details, checked before waiting or replaying."""
    check_outputs(
        {"--out": out, "--details": details},
        {
            "the job's dataset": root.data,
            "the job's config": root.config_path,
            "the job's manifest": manifest_path,
        },
    )


def _collect_score(
    manifest: Manifest,
    directory: Path,
    out: str | None,
    details: str | None,
    max_unscored: float,
    quiet: bool = False,
) -> None:
    from judge.batch import jobs
    from judge.cli._judging import unscored_gate
    from judge.cli._tables import print_results, print_summary, write_outputs

    with reported_errors(), aws_errors():
        replayed = jobs.replay(str(manifest.path(directory)), jobs_dir=directory)
        try:
            with progress_bar("collecting") as progress:
                answer, result = jobs.collect_score(replayed, progress)
        finally:
            replayed.evaluator.close()
    write_outputs(answer, result, out, details)
    if not quiet:
        print_results(answer)
    from judge.batch.pricing import batch_prices

    # Judge calls here are the job's records answered in this run: priced at batch prices.
    print_summary(result, list(replayed.evaluator.rubrics), batch_prices().prices)
    _report(replayed)
    _report_retry(replayed.manifest, replayed.caller.retry_file)
    unscored_gate(result, max_unscored)


def _report(replayed: Replay) -> None:
    """The job's records, tokens and price."""
    from judge.batch.pricing import compare

    outputs = replayed.outputs
    say(
        "batch",
        "cyan",
        f"{outputs.records} output records from {', '.join(outputs.jobs)} "
        f"({outputs.errors} record errors); tokens {outputs.input_tokens:,} in / "
        f"{outputs.output_tokens:,} out",
    )
    for note in outputs.notes:
        say("note", "yellow", note)
    comparison = compare(
        replayed.manifest.model_id,
        outputs.input_tokens,
        outputs.output_tokens,
        outputs.judgements,
        replayed.evaluator.config.pricing,
    )
    if comparison is not None:
        say("cost", "cyan", comparison.describe())


def _report_retry(manifest: Manifest, retry_file: Path) -> None:
    """What is left without a verdict, and how to retry it."""
    left = len(retry_file.read_text("utf-8").splitlines()) if retry_file.is_file() else 0
    if left:
        say(
            "retry",
            "yellow",
            f"{left} judgement(s) without a verdict (listed in {retry_file}): judge batch "
            f"submit --retry-failed {manifest.job_name} --bucket ... --role-arn ...",
        )


@dataclass
class CalibrationReplay:
    """What ``judge calibrate --from-batch JOB`` runs with."""

    evaluator: Evaluator
    rubric: str
    anchors: str
    options: CalibrationOptions  # the job's judgement options
    replayed: Replay


def calibration_from_batch(ctx: click.Context, job: str) -> CalibrationReplay:
    """The replaying evaluator and the job's calibration settings, for ``judge calibrate``.

    Options given on the command line must match the job's: otherwise the run would ask
    for judgements the job does not hold.
    """
    from judge.batch import jobs

    replayed = jobs.replay(job)
    run = replayed.root.calibration
    if run is None:
        replayed.evaluator.close()
        raise click.UsageError(f"batch job {replayed.manifest.job_name} is not a calibration job")
    wanted = {"rubric": run.rubric, "anchors_file": run.anchors, **run.options().run()}
    for name, value in wanted.items():
        given = ctx.params.get(name)
        if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE and not _same(
            given, value
        ):
            replayed.evaluator.close()
            raise click.UsageError(
                f"batch job {replayed.manifest.job_name} was submitted with {name} = {value!r}, "
                f"not {given!r}: leave the option out (the job's value applies)"
            )
    _report(replayed)
    return CalibrationReplay(replayed.evaluator, run.rubric, run.anchors, run.options(), replayed)


def _same(given: object, value: object) -> bool:
    if isinstance(value, str) and isinstance(given, str):
        return Path(given).resolve() == Path(value).resolve() or given == value
    if isinstance(value, tuple | list) and isinstance(given, tuple | list):
        return list(value) == list(given)
    return given == value


@batch.command()
@click.argument("job")
@jobs_dir_option
def stop(job: str, jobs_dir: str | None) -> None:
    """Stop JOB (StopModelInvocationJob); what it processed can still be collected."""
    from judge.batch import jobs
    from judge.batch import manifest as mf

    with reported_errors(), aws_errors():
        manifest = mf.load(job, mf.jobs_dir(jobs_dir))
        jobs.stop(manifest)
    say("stopping", "yellow", manifest.job_name)


@batch.command("role-policy")
@click.option("--bucket", "bucket_uri", required=True, help="s3://BUCKET[/PREFIX] as in submit.")
@click.option("--account", required=True, help="The AWS account id that runs the jobs.")
@click.option(
    "--region",
    default=None,
    help="Default: [judge] region, AWS_REGION, AWS_DEFAULT_REGION, your AWS profile's.",
)
@config_option
def role_policy(bucket_uri: str, account: str, region: str | None, config_path: str | None) -> None:
    """Print the service role's trust and permissions policies (least privilege)."""
    from judge.batch.iam import permissions_policy, trust_policy
    from judge.batch.jobs import split_s3
    from judge.config import load_config
    from judge.region import resolve_region

    with reported_errors(), aws_errors():
        config = load_config(config_path)
        bucket, prefix = split_s3(bucket_uri)
        where = resolve_region(region or config.judge.region, profile=config.judge.profile)
        policies = {
            "trust_policy": trust_policy(account, where),
            "permissions_policy": permissions_policy(
                bucket, prefix, config.judge.model_id, where, account
            ),
        }
    click.echo(json.dumps(policies, indent=1))
