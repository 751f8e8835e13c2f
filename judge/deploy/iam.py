"""The exact Bedrock ARNs the reward Lambda may invoke: no wildcards.

A cross-region inference profile (``us.amazon.nova-pro-v1:0``) needs permission on the
profile itself and on the foundation model in every region it may route to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from judge.config import RewardConfig

# Destination regions of the geographic inference profiles for Amazon Nova models, as
# documented by AWS; pass explicit regions (--profile-regions) for other models or when AWS
# adds regions.
PROFILE_REGIONS = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "eu": ("eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"),
    "apac": ("ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2"),
    "us-gov": ("us-gov-west-1",),
}


def invoke_model_arns(
    model_id: str,
    region: str,
    account: str,
    *,
    partition: str = "aws",
    profile_regions: tuple[str, ...] | None = None,
) -> list[str]:
    """ARNs for ``bedrock:InvokeModel`` on ``model_id`` from ``region``/``account``."""
    if model_id.startswith("arn:"):
        return [model_id]
    prefix, _, base = model_id.partition(".")
    if prefix in PROFILE_REGIONS and base:
        regions = profile_regions or PROFILE_REGIONS[prefix]
        profile = f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model_id}"
        return [profile] + [
            f"arn:{partition}:bedrock:{r}::foundation-model/{base}" for r in regions
        ]
    return [f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"]


def called_model_ids(config: RewardConfig) -> list[str]:
    """Every model id the reward calls: each judge (every panel member) and the substance model."""
    ids = [member.model_id for member in config.judge.members()]
    substance = getattr(config.guard, "substance_model", None)
    if isinstance(substance, str) and substance:
        ids.append(substance)
    return list(dict.fromkeys(ids))
