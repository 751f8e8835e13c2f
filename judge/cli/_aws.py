"""``judge package``, ``deploy`` and ``invoke``: from the repo to a running reward Lambda."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from judge.cli._app import (
    config_option,
    main,
    reported_errors,
    say,
)
from judge.cli._tables import print_results


@main.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Zip to write.")
@click.option(
    "--python-version",
    default="3.12",
    show_default=True,
    type=click.Choice(["3.11", "3.12", "3.13"]),
    help="Lambda runtime's Python.",
)
@click.option("--arch", default="x86_64", show_default=True, type=click.Choice(["x86_64", "arm64"]))
@config_option
def package(out: str, python_version: str, arch: str, config_path: str | None) -> None:
    """Build the Lambda deployment zip (code, rubrics, prompts, calibration, dependencies)."""
    from judge.config import resolve_config_path
    from judge.deploy.package import build_package

    with reported_errors():
        info = build_package(
            Path(out), resolve_config_path(config_path), python_version=python_version, arch=arch
        )
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
@click.option("--region", default=None, help="AWS region (default: your AWS config).")
@click.option(
    "--python-version", default="3.12", show_default=True, type=click.Choice(["3.12", "3.13"])
)
@click.option("--arch", default="x86_64", show_default=True, type=click.Choice(["x86_64", "arm64"]))
@click.option("--memory", default=1024, show_default=True, help="MB.")
@click.option("--timeout", default=300, show_default=True, help="Seconds (max 900).")
@click.option("--reserved-concurrency", default=0, show_default=True, help="0 = unreserved.")
@click.option(
    "--profile-regions",
    default=None,
    help="Comma-separated destination regions of the inference profile.",
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
    config_path: str | None,
) -> None:
    """Upload the package and create or update the reward Lambda's stack (idempotent)."""
    import tempfile
    import zipfile

    from judge.config import load_config, resolve_config_path
    from judge.deploy.package import build_package
    from judge.deploy.stack import StackSettings, wiring_instructions
    from judge.deploy.stack import deploy as deploy_stack

    with reported_errors():
        config_file = resolve_config_path(config_path)
        config = load_config(config_file)
        model_id = config.judge.model_id
        if zip_path is None:
            zip_path = str(Path(tempfile.mkdtemp(prefix="judge-deploy-")) / "judge.zip")
            info = build_package(
                Path(zip_path), config_file, python_version=python_version, arch=arch
            )
            version = info.evaluator_version
        else:
            with zipfile.ZipFile(zip_path) as zf:
                version = json.loads(zf.read("manifest.json"))["evaluator_version"]
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
        )
        result = deploy_stack(
            Path(zip_path), version, model_id, settings, rubrics=list(config.rubrics)
        )
    say(result.action, "green", f"stack {stack}: {result.function_arn}")
    say("code", "green", f"s3://{result.bucket}/{result.key} (evaluator {version})")
    say("iam", "green", "bedrock:InvokeModel on " + ", ".join(result.model_arns))
    click.echo(wiring_instructions(result.function_arn))


@main.command()
@click.argument("event_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--function",
    "function_arn",
    default=None,
    help="Deployed function name or ARN (default: run the handler locally).",
)
@click.option("--region", default=None)
@click.option(
    "--time-budget",
    default=300.0,
    show_default=True,
    help="Local run: seconds the fake Lambda context reports as remaining.",
)
@config_option
def invoke(
    event_file: str,
    function_arn: str | None,
    region: str | None,
    time_budget: float,
    config_path: str | None,
) -> None:
    """Send an event (a JSON file as is, or JSONL as a list) to the reward Lambda."""
    from judge.contract import read_event_file

    with reported_errors():
        samples: Any = read_event_file(Path(event_file))
    if function_arn:
        import boto3

        client = boto3.session.Session(region_name=region).client("lambda")
        reply = client.invoke(FunctionName=function_arn, Payload=json.dumps(samples).encode())
        payload = json.loads(reply["Payload"].read() or b"null")
        if reply.get("FunctionError"):
            raise click.ClickException(f"the function failed: {json.dumps(payload)[:2000]}")
        answer = payload
    else:
        import os

        from judge import lambda_handler
        from judge.deadline import LocalContext

        if config_path:
            os.environ["JUDGE_CONFIG"] = config_path
        with reported_errors():
            answer = lambda_handler.handler(samples, LocalContext(time_budget))
    print_results(answer)
