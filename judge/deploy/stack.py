"""``judge deploy``: upload the package and create or update the CloudFormation stack.

Plain boto3 against CloudFormation, S3 and STS, so it works against any endpoint boto3 is
pointed at (``AWS_ENDPOINT_URL`` for a local AWS such as moto's server).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from judge.deploy.aws_errors import aws_errors, stack_status_problem
from judge.deploy.dashboard import dashboard_body
from judge.deploy.iam import guardrail_arns, invoke_model_arns
from judge.errors import JudgeError
from judge.region import resolve_region

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "template.yaml"
# The template's MinValue/MaxValue (a test holds them equal): `judge deploy` refuses what
# CloudFormation would refuse, before anything is built or uploaded.
MEMORY_MB = (256, 10240)
TIMEOUT_S = (30, 900)
# The template's CanaryScheduleMinutes AllowedValues (0: no canary runs, no canary alarms).
CANARY_MINUTES = (0, 15, 30, 60, 180, 360, 720, 1440)


@dataclass(frozen=True)
class StackSettings:
    """Everything the template's parameters need."""

    stack: str
    function_name: str = "rlaif-judge-reward"
    hyperpod: bool = False
    runtime: str = "python3.12"
    arch: str = "x86_64"
    memory_mb: int = 1024
    timeout_s: int = 300
    reserved_concurrency: int = 0
    bucket: str | None = None
    region: str | None = None
    profile_regions: tuple[str, ...] | None = None
    # [judge] region, when the config pins one: where the function calls Bedrock (else its own)
    judge_region: str | None = None
    # Minutes between canary runs (0: none, and no canary alarms); deploy/template.yaml's
    # CanaryScheduleMinutes. The alarms notify alarm_topic_arn, else a topic the stack makes.
    canary_minutes: int = 0
    alarm_topic_arn: str = ""

    @property
    def deployed_name(self) -> str:
        """The function's name as the template makes it (HyperPod needs "SageMaker")."""
        return f"SageMaker-{self.function_name}" if self.hyperpod else self.function_name


@dataclass(frozen=True)
class Deployment:
    """The result of a deploy."""

    action: str  # created | updated | unchanged
    function_arn: str
    bucket: str
    key: str
    model_arns: list[str]
    guardrail_arns: list[str] = field(default_factory=list)


def deploy(
    zip_path: Path,
    evaluator_version: str,
    model_ids: str | Sequence[str],
    settings: StackSettings,
    *,
    rubrics: list[str] | None = None,
    guardrails: Sequence[tuple[str, str | None]] = (),
    template: Path = TEMPLATE,
    poll_s: int = 5,
    checks: Sequence[str] = (),
) -> Deployment:
    """Upload ``zip_path`` and create (or update) the stack; waits until it is done.

    With ``rubrics``, the stack also gets a CloudWatch dashboard of the function's metrics
    (and of ``checks``, the config's verifiable checks, when there are any).
    ``model_ids``: every model the Lambda calls (``iam.called_model_ids``); the role may
    invoke these and no other. Every AWS failure becomes a ``JudgeError`` of one line with
    the fix. ``guardrails``: (id, region) of each guardrail check (``iam.called_guardrails``);
    the role may apply these and no other (none: no ApplyGuardrail permission at all).
    """
    ids = [model_ids] if isinstance(model_ids, str) else list(model_ids)
    with aws_errors(stack=settings.stack):
        return _deploy(
            zip_path,
            evaluator_version,
            ids,
            settings,
            (rubrics, checks),
            guardrails,
            template,
            poll_s,
        )


def _deploy(
    zip_path: Path,
    evaluator_version: str,
    model_ids: Sequence[str],
    settings: StackSettings,
    dimensions: tuple[list[str] | None, Sequence[str]],
    guardrails: Sequence[tuple[str, str | None]],
    template: Path,
    poll_s: int,
) -> Deployment:
    rubrics, checks = dimensions
    region = resolve_region(settings.region)
    session = boto3.session.Session(region_name=region)
    account = session.client("sts", region_name=region).get_caller_identity()["Account"]
    cfn = session.client("cloudformation", region_name=region)
    # Before anything is uploaded: a stack CloudFormation will not update is the user's to fix.
    status = _stack_status(cfn, settings.stack)
    if status is not None:
        problem = stack_status_problem(settings.stack, status)
        if problem:
            raise JudgeError(problem)
    bucket = settings.bucket or f"rlaif-judge-{account}-{region}"
    key = f"rlaif-judge/{evaluator_version}.zip"
    s3 = session.client("s3", region_name=region)
    _ensure_bucket(s3, bucket, region)
    s3.upload_file(str(zip_path), bucket, key)

    # Every model the Lambda calls (each judge of a panel, the substance model): a judge
    # left out would be denied at run time and every one of its judgements unscored.
    arns = list(
        dict.fromkeys(
            arn
            for model_id in model_ids
            for arn in invoke_model_arns(
                model_id,
                settings.judge_region or region,
                account,
                profile_regions=settings.profile_regions,
            )
        )
    )
    # A guardrail check's guardrail, in its own region or the function's: exactly these.
    rails = guardrail_arns(guardrails, region, account)
    parameters = {
        "FunctionName": settings.function_name,
        "HyperPod": "true" if settings.hyperpod else "false",
        "CodeBucket": bucket,
        "CodeKey": key,
        "EvaluatorVersion": evaluator_version,
        "Runtime": settings.runtime,
        "Architecture": settings.arch,
        "MemorySize": str(settings.memory_mb),
        "Timeout": str(settings.timeout_s),
        "ReservedConcurrency": str(settings.reserved_concurrency),
        "JudgeModelArns": ",".join(arns),
        "GuardrailArns": ",".join(rails),
        "DashboardBody": (
            dashboard_body(settings.deployed_name, region, rubrics, checks) if rubrics else ""
        ),
        "CanaryScheduleMinutes": str(settings.canary_minutes),
        "AlarmTopicArn": settings.alarm_topic_arn,
    }
    args: dict[str, Any] = {
        "StackName": settings.stack,
        "TemplateBody": template.read_text(),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "rlaif-judge:evaluator-version", "Value": evaluator_version}],
    }
    waiter_config = {"Delay": poll_s, "MaxAttempts": max(1, 1800 // poll_s)}
    if status is not None and status != "DELETE_COMPLETE":
        try:
            cfn.update_stack(**args)
        except botocore.exceptions.ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            action = "unchanged"
        else:
            action = "updated"
            _wait(cfn, "stack_update_complete", settings.stack, waiter_config)
    else:
        cfn.create_stack(**args)
        action = "created"
        _wait(cfn, "stack_create_complete", settings.stack, waiter_config)
    function_arn = stack_output(cfn, settings.stack, "FunctionArn")
    return Deployment(action, function_arn, bucket, key, arns, rails)


def _wait(cfn: Any, waiter: str, stack: str, config: dict[str, int]) -> None:
    """Wait for the stack; a failure names the state it ended in and the first cause."""
    try:
        cfn.get_waiter(waiter).wait(StackName=stack, WaiterConfig=config)
    except botocore.exceptions.WaiterError:
        status = _stack_status(cfn, stack) or "DELETE_COMPLETE"
        cause = _first_failure(cfn, stack)
        problem = stack_status_problem(stack, status) or ""
        fix = (
            problem.split(". Fix: ", 1)[1]
            if ". Fix: " in problem
            else "fix the cause (see the stack events in the console), then deploy again"
        )
        where = f" ({cause})" if cause else ""
        raise JudgeError(f"stack {stack} ended in {status}{where}. Fix: {fix}") from None


def _first_failure(cfn: Any, stack: str) -> str | None:
    """The earliest resource failure of the stack's last operation (what to fix)."""
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except botocore.exceptions.ClientError:
        return None
    failures = [
        e
        for e in events
        if str(e.get("ResourceStatus", "")).endswith("_FAILED") and e.get("ResourceStatusReason")
    ]
    if not failures:
        return None
    first = failures[-1]  # events come newest first
    return " ".join(f"{first['LogicalResourceId']}: {first['ResourceStatusReason']}".split())


def stack_output(cfn: Any, stack: str, name: str) -> str:
    """One output value of a stack."""
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for out in outputs:
        if out["OutputKey"] == name:
            return str(out["OutputValue"])
    raise JudgeError(f"stack {stack} has no output {name}")


def _stack_status(cfn: Any, stack: str) -> str | None:
    """The stack's status, or None if there is no such stack."""
    try:
        return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise JudgeError(
                f"S3 bucket {bucket} exists but you cannot use it (HeadBucket: {code}). "
                "Fix: pass --bucket with a bucket of yours in this region"
            ) from None
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)


def wiring_instructions(function_arn: str) -> str:
    """How to use the deployed function as the RFT reward function."""
    return f"""\
Use it as the reward function of an RFT customization job:
  Bedrock: customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn = {function_arn}
  SageMaker/HyperPod: the reward Lambda ARN is {function_arn}
The job's service role needs permission to invoke it:
  {{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "{function_arn}"}}
Watch it in CloudWatch: logs in /aws/lambda/<function>, metrics in namespace RLAIFJudge,
and the dashboard <function>-reward."""
