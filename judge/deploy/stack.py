"""``judge deploy``: upload the package and create or update the CloudFormation stack.

Plain boto3 against CloudFormation, S3 and STS, so it works against any endpoint boto3 is
pointed at (``AWS_ENDPOINT_URL`` for a local AWS such as moto's server).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from judge.deploy.dashboard import dashboard_body
from judge.deploy.iam import invoke_model_arns
from judge.errors import JudgeError

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "template.yaml"


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


def deploy(
    zip_path: Path,
    evaluator_version: str,
    model_id: str,
    settings: StackSettings,
    *,
    rubrics: list[str] | None = None,
    template: Path = TEMPLATE,
    poll_s: int = 5,
) -> Deployment:
    """Upload ``zip_path`` and create (or update) the stack; waits until it is done.

    With ``rubrics``, the stack also gets a CloudWatch dashboard of the function's metrics.
    """
    session = boto3.session.Session(region_name=settings.region)
    region = session.region_name or "us-east-1"
    account = session.client("sts").get_caller_identity()["Account"]
    bucket = settings.bucket or f"rlaif-judge-{account}-{region}"
    key = f"rlaif-judge/{evaluator_version}.zip"
    s3 = session.client("s3")
    _ensure_bucket(s3, bucket, region)
    s3.upload_file(str(zip_path), bucket, key)

    arns = invoke_model_arns(model_id, region, account, profile_regions=settings.profile_regions)
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
        "DashboardBody": dashboard_body(settings.deployed_name, region, rubrics) if rubrics else "",
    }
    cfn = session.client("cloudformation")
    args: dict[str, Any] = {
        "StackName": settings.stack,
        "TemplateBody": template.read_text(),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "rlaif-judge:evaluator-version", "Value": evaluator_version}],
    }
    waiter_config = {"Delay": poll_s, "MaxAttempts": max(1, 1800 // poll_s)}
    if _stack_exists(cfn, settings.stack):
        try:
            cfn.update_stack(**args)
            action = "updated"
            cfn.get_waiter("stack_update_complete").wait(
                StackName=settings.stack, WaiterConfig=waiter_config
            )
        except botocore.exceptions.ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            action = "unchanged"
    else:
        cfn.create_stack(**args)
        action = "created"
        cfn.get_waiter("stack_create_complete").wait(
            StackName=settings.stack, WaiterConfig=waiter_config
        )
    return Deployment(action, stack_output(cfn, settings.stack, "FunctionArn"), bucket, key, arns)


def stack_output(cfn: Any, stack: str, name: str) -> str:
    """One output value of a stack."""
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for out in outputs:
        if out["OutputKey"] == name:
            return str(out["OutputValue"])
    raise JudgeError(f"stack {stack} has no output {name}")


def _stack_exists(cfn: Any, stack: str) -> bool:
    try:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return False
        raise
    if status == "ROLLBACK_COMPLETE":  # a failed first create: must be deleted, not updated
        raise JudgeError(f"stack {stack} is ROLLBACK_COMPLETE; delete it, then deploy again")
    return True


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError:
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
