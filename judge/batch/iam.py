"""Least privilege for the batch inference service role (the role passed as ``--role-arn``).

Bedrock assumes this role to run the job (``batch-iam-sr``: trusted by
``bedrock.amazonaws.com``, conditioned on ``aws:SourceAccount`` and ``aws:SourceArn``). It
needs to list and read the job inputs, write the job outputs, and invoke the judge model;
nothing else. ``judge batch submit`` puts a job's files under
``s3://BUCKET/PREFIX/<job name>/input/`` and ``.../output/``, so the role is scoped to
``PREFIX/*/input/*`` for reading and ``PREFIX/*/output/*`` for writing: it can neither
overwrite its inputs nor read anything else in the bucket.
"""

from __future__ import annotations

from typing import Any

from judge.deploy.iam import invoke_model_arns


def trust_policy(account: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """Who may assume the role: Bedrock, for this account's invocation jobs only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnEquals": {
                        "aws:SourceArn": (
                            f"arn:{partition}:bedrock:{region}:{account}:model-invocation-job/*"
                        )
                    },
                },
            }
        ],
    }


def permissions_policy(
    bucket: str,
    prefix: str,
    model_id: str,
    region: str,
    account: str,
    *,
    partition: str = "aws",
    profile_regions: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """What the role may do: read the inputs, write the outputs, invoke the one model."""
    root = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListJobFiles",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{root}*"]}},
            },
            {
                "Sid": "ReadJobInputs",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{root}*/input/*",
                "Condition": {"StringEquals": {"aws:ResourceAccount": account}},
            },
            {
                "Sid": "WriteJobOutputs",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{root}*/output/*",
                "Condition": {"StringEquals": {"aws:ResourceAccount": account}},
            },
            {
                "Sid": "InvokeJudgeModel",
                "Effect": "Allow",
                "Action": "bedrock:InvokeModel",
                "Resource": invoke_model_arns(
                    model_id, region, account, partition=partition, profile_regions=profile_regions
                ),
            },
        ],
    }
