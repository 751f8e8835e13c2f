"""One region resolution for every AWS command (deploy, invoke, batch) and the judge's client.

botocore reads only ``AWS_DEFAULT_REGION`` and the profile's ``region``; the AWS CLI, the
other SDKs and Lambda's runtime also set ``AWS_REGION``, which wins over both. Resolving it
here, once, keeps ``judge deploy``, ``judge invoke --function`` and ``judge batch`` in the
same region a user's other AWS tools use.
"""

from __future__ import annotations

import os
import re

import boto3
import botocore.exceptions

from judge.errors import JudgeError

ENV_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")
_ARN_REGION = re.compile(r"^arn:aws[\w-]*:[\w-]+:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):")


def resolve_region(
    explicit: str | None = None, *, profile: str | None = None, default: str | None = None
) -> str:
    """The region: ``explicit``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's, ``default``.

    ``explicit`` is ``--region`` (or a config's ``region``). Without any of them it is an
    error naming the ways to set one, never a silent us-east-1.
    """
    for value in (explicit, *(os.environ.get(name) for name in ENV_VARS)):
        if value and value.strip():
            return value.strip()
    try:
        configured = boto3.session.Session(profile_name=profile).region_name
    except botocore.exceptions.ProfileNotFound as exc:
        raise JudgeError(f"{exc}. Fix: check AWS_PROFILE / [judge] profile") from None
    if configured:
        return str(configured)
    if default is not None:
        return default
    raise JudgeError(
        "no AWS region is configured. Fix: pass --region, export AWS_REGION, or set one in "
        "your AWS profile (`aws configure set region us-east-1`)"
    )


def arn_region(arn: str) -> str | None:
    """The region an ARN names (``arn:aws:lambda:eu-west-1:...``), if it is an ARN with one."""
    match = _ARN_REGION.match(arn)
    return match["region"] if match else None
