"""``judge package``, ``deploy`` and ``invoke``: from the repo to a running reward Lambda."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from judge.cli._app import (
    check_outputs,
    config_option,
    main,
    reported_errors,
    say,
)
from judge.cli._tables import print_results
from judge.deploy.package import LAMBDA_PYTHONS, PLATFORMS
from judge.deploy.stack import CANARY_MINUTES, MEMORY_MB, TIMEOUT_S
from judge.errors import JudgeError

# The same choices for `package` and `deploy`: the runtimes and architectures the template
# accepts, so that no zip is built that the stack then refuses.
python_version_option = click.option(
    "--python-version",
    default=LAMBDA_PYTHONS[0],
    show_default=True,
    type=click.Choice(LAMBDA_PYTHONS),
    help="Lambda runtime's Python.",
)
REGION_HELP = "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, your AWS profile's)."
arch_option = click.option(
    "--arch", default="x86_64", show_default=True, type=click.Choice(list(PLATFORMS))
)


@main.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Zip to write.")
@python_version_option
@arch_option
@config_option
def package(out: str, python_version: str, arch: str, config_path: str | None) -> None:
    """Build the Lambda deployment zip (code, rubrics, prompts, calibration, dependencies)."""
    from judge.config import resolve_config_path
    from judge.deploy.package import build_package

    with reported_errors():
        config_file = resolve_config_path(config_path)
        check_outputs({"--out": out}, {"the config": config_file})
        info = build_package(Path(out), config_file, python_version=python_version, arch=arch)
    say(
        "built",
        "green",
        f"{info.path}: {info.size / 2**20:.1f} MB zipped (limit 50 MB), "
        f"evaluator version {info.evaluator_version}, python {python_version}, {arch}",
    )


@main.command()
@click.option("--stack", required=True, help="CloudFormation stack name.")
@click.option(
    "--package",
    "zip_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A zip from `judge package` (default: build one now).",
)
@click.option("--function-name", default="rlaif-judge-reward", show_default=True)
@click.option("--hyperpod", is_flag=True, help="Name the function SageMaker-... (HyperPod).")
@click.option("--bucket", default=None, help="S3 bucket for the code (default: created).")
@click.option("--region", default=None, help=REGION_HELP)
@python_version_option
@arch_option
@click.option(
    "--memory", default=1024, show_default=True, type=click.IntRange(*MEMORY_MB), help="MB."
)
@click.option(
    "--timeout", default=300, show_default=True, type=click.IntRange(*TIMEOUT_S), help="Seconds."
)
@click.option(
    "--reserved-concurrency",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="0 = unreserved.",
)
@click.option(
    "--profile-regions",
    default=None,
    help="Comma-separated destination regions of the inference profile.",
)
@click.option(
    "--canary-minutes",
    type=click.Choice([str(m) for m in CANARY_MINUTES]),
    default="0",
    show_default=True,
    help="Minutes between canary runs (judge canary build first); 0 = none.",
)
@click.option(
    "--alarm-topic", default="", help="SNS topic ARN for the alarms (default: the stack makes one)."
)
@config_option
def deploy(
    stack: str,
    zip_path: str | None,
    function_name: str,
    hyperpod: bool,
    bucket: str | None,
    region: str | None,
    python_version: str,
    arch: str,
    memory: int,
    timeout: int,
    reserved_concurrency: int,
    profile_regions: str | None,
    canary_minutes: str,
    alarm_topic: str,
    config_path: str | None,
) -> None:
    """Upload the package and create or update the reward Lambda's stack (idempotent)."""
    import tempfile

    from judge.config import load_config, resolve_config_path
    from judge.deploy.iam import called_guardrails, called_model_ids
    from judge.deploy.package import build_package, check_manifest, read_manifest
    from judge.deploy.stack import StackSettings, wiring_instructions
    from judge.deploy.stack import deploy as deploy_stack

    with reported_errors():
        config_file = resolve_config_path(config_path)
        config = load_config(config_file)
        if zip_path is None:
            zip_path = str(Path(tempfile.mkdtemp(prefix="judge-deploy-")) / "judge.zip")
            info = build_package(
                Path(zip_path), config_file, python_version=python_version, arch=arch
            )
            version = info.evaluator_version
        else:
            manifest = read_manifest(Path(zip_path))
            check_manifest(
                Path(zip_path),
                manifest,
                config_path=config_file,
                config=config,
                python_version=python_version,
                arch=arch,
            )
            version = manifest["evaluator_version"]
        settings = StackSettings(
            stack=stack,
            function_name=function_name,
            hyperpod=hyperpod,
            runtime=f"python{python_version}",
            arch=arch,
            memory_mb=memory,
            timeout_s=timeout,
            reserved_concurrency=reserved_concurrency,
            bucket=bucket,
            region=region,
            profile_regions=tuple(profile_regions.split(",")) if profile_regions else None,
            judge_region=config.judge.region,
            canary_minutes=int(canary_minutes),
            alarm_topic_arn=alarm_topic,
        )
        result = deploy_stack(
            Path(zip_path),
            version,
            called_model_ids(config),
            settings,
            rubrics=list(config.rubrics),
            guardrails=called_guardrails(config.checks.specs),  # [checks] of kind guardrail
            checks=list(config.checks.specs),
        )
    say(result.action, "green", f"stack {stack}: {result.function_arn}")
    say("code", "green", f"s3://{result.bucket}/{result.key} (evaluator {version})")
    say("iam", "green", "bedrock:InvokeModel on " + ", ".join(result.model_arns))
    if result.guardrail_arns:
        say("iam", "green", "bedrock:ApplyGuardrail on " + ", ".join(result.guardrail_arns))
    click.echo(wiring_instructions(result.function_arn))


@main.command()
@click.argument("event_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--function",
    "function_arn",
    default=None,
    help="Deployed function name or ARN (default: run the handler locally).",
)
@click.option(
    "--region",
    default=None,
    help="AWS region (default: the function ARN's, AWS_REGION, AWS_DEFAULT_REGION, your AWS "
    "profile's).",
)
@click.option(
    "--time-budget",
    default=300.0,
    show_default=True,
    help="Local run: seconds the fake Lambda context reports as remaining.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print no table of rows on stderr.")
@config_option
def invoke(
    event_file: str,
    function_arn: str | None,
    region: str | None,
    time_budget: float,
    quiet: bool,
    config_path: str | None,
) -> None:
    """Send an event (a JSON file as is, or JSONL as a list) to the reward Lambda.

    The Lambda's answer goes to stdout as JSON, exactly as RFT would receive it; the logs,
    EMF metrics and the table go to stderr, so ``judge invoke ... > answer.json`` works.
    """
    from judge.contract import read_event_file
    from judge.lambda_handler import is_canary_event

    with reported_errors():
        samples: Any = read_event_file(Path(event_file))
        if function_arn:
            answer = _invoke_function(function_arn, region, samples)
        else:
            answer = _invoke_locally(samples, time_budget, config_path)
        try:
            text = json.dumps(answer, allow_nan=False)
        except ValueError:
            raise JudgeError(
                "the answer holds NaN or Infinity, which is not JSON and which RFT rejects"
            ) from None
    if _is_reward_list(answer):
        if not quiet:
            print_results(answer, stderr=True, every="stdout carries every one")
    elif is_canary_event(samples) and isinstance(answer, dict):
        _say_canaries(answer)
    else:
        say("warning", "yellow", "the answer is not a list of RFT reward items")
    click.echo(text)


def _say_canaries(answer: dict[str, Any]) -> None:
    """One line for a canary run's answer (drift per canary, no reward items)."""
    if answer.get("problem"):
        say("warning", "yellow", f"canary run: {answer['problem']}")
        return
    figures = ", ".join(
        f"{key} {answer.get(key)}"
        for key in ("CanaryDriftMax", "CanaryDriftMean", "CanaryUnscored")
    )
    say(
        "canaries",
        "cyan",
        f"{answer.get('canaries')} judged: {figures}; stale: {answer.get('stale')}",
    )


def _invoke_locally(samples: Any, time_budget: float, config_path: str | None) -> Any:
    """Run the handler here; what it prints (JSON logs, EMF) goes to stderr."""
    import os

    from judge import lambda_handler
    from judge.deadline import LocalContext

    if config_path:
        os.environ["JUDGE_CONFIG"] = config_path
    with contextlib.redirect_stdout(sys.stderr):
        answer = lambda_handler.handler(samples, LocalContext(time_budget))
    # The handler returns its JSON as bytes when the runtime could not write the list
    # (an id holding a lone surrogate): what RFT receives either way.
    return json.loads(answer) if isinstance(answer, bytes) else answer


def _invoke_function(function_arn: str, region: str | None, samples: Any) -> Any:
    """Invoke the deployed function through boto3; AWS failures are one line."""
    import boto3

    from judge.deploy.aws_errors import aws_errors
    from judge.region import arn_region, resolve_region

    with aws_errors():
        where = resolve_region(region or arn_region(function_arn))
        client = boto3.session.Session(region_name=where).client("lambda")
        reply = client.invoke(FunctionName=function_arn, Payload=json.dumps(samples).encode())
        raw = reply["Payload"].read()
    try:
        payload = json.loads(raw or b"null")
    except ValueError:
        raise JudgeError(
            f"the function answered with something that is not JSON: {raw[:200]!r}"
        ) from None
    if reply.get("FunctionError"):
        if isinstance(payload, dict) and "errorMessage" in payload:
            what = f"{payload.get('errorType', 'Error')}: {payload['errorMessage']}"
        else:
            what = json.dumps(payload)
        raise JudgeError(f"the function failed: {' '.join(what.split())[:2000]}")
    return payload


def _is_reward_list(answer: Any) -> bool:
    """Whether the table can show it (a remote function may answer anything)."""
    return isinstance(answer, list) and all(
        isinstance(item, dict)
        and isinstance(item.get("aggregate_reward_score"), int | float)
        and isinstance(item.get("metrics_list"), list)
        and all(
            isinstance(m, dict)
            and {"name", "type"} <= m.keys()
            and isinstance(m.get("value"), int | float)
            for m in item["metrics_list"]
        )
        for item in answer
    )
