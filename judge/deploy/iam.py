"""The exact Bedrock ARNs the reward Lambda may invoke: no wildcards.

A cross-region inference profile (``us.amazon.nova-pro-v1:0``) needs permission on the
profile itself and on the foundation model in every region it may route to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from judge.config import RewardConfig

_GUARDRAIL_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+")

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


def guardrail_arns(
    guardrails: Iterable[tuple[str, str | None]],
    region: str,
    account: str,
    *,
    partition: str = "aws",
) -> list[str]:
    """ARNs for ``bedrock:ApplyGuardrail``: one per (guardrail id, its region or None).

    A guardrail is ``arn:<partition>:bedrock:<region>:<account>:guardrail/<id>``, in its
    check's ``region`` when it has one, else ``region`` (where the function runs); an id
    given as an ARN is that ARN. The version is not part of the resource: one grant covers
    DRAFT and every number.
    """
    arns = []
    for guardrail_id, own_region in guardrails:
        if _GUARDRAIL_ARN.fullmatch(guardrail_id):
            arns.append(guardrail_id)
        else:
            where = own_region or region
            arns.append(f"arn:{partition}:bedrock:{where}:{account}:guardrail/{guardrail_id}")
    return list(dict.fromkeys(arns))


def called_guardrails(specs: Mapping[str, object]) -> list[tuple[str, str | None]]:
    """(guardrail id, region) of every ``guardrail`` check among ``specs`` (by check name).

    ``specs`` is ``config.checks.specs``; other kinds call no guardrail.
    """
    from judge.checks.guardrail import GuardrailSpec

    return list(
        dict.fromkeys(
            (spec.guardrail_id, spec.guardrail_region)
            for spec in specs.values()
            if isinstance(spec, GuardrailSpec)
        )
    )
