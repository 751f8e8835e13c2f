"""The ``guardrail`` check: 1 when an Amazon Bedrock guardrail lets the response through.

The one check kind that calls AWS: ``ApplyGuardrail`` (bedrock-runtime) on the response as
model output, through the judges' client factory and retry policy (``judge.guardrail``)::

    [checks.no_pii]
    kind = "guardrail"
    guardrail_id = "gr1abc2def3g"   # or its ARN
    guardrail_version = "1"         # "DRAFT" or a version number
    region = "us-east-1"            # optional: the guardrail's region (default: the function's)
    timeout_s = 10                  # every attempt and retry of one sample's call
    weight = 1.0

Score: 1.0 when the guardrail does not intervene, 0.0 when it does (blocked or masked), with
the policies that acted in the details (``word:<word>``, ``pii:EMAIL``, ``regex:<name>``...;
never the matched text). A call that fails for good (unknown guardrail, access denied,
retries or ``timeout_s`` spent) is unscored (``judge_error``) with the reason: never 0.
``judge serve --guardrails FILE`` answers ``ApplyGuardrail`` locally
(``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``); ``judge deploy`` grants ``bedrock:ApplyGuardrail`` on
this guardrail's ARN only.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec
from judge.verdict import Unscored

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

GUARDRAIL_ID = re.compile(
    r"[a-z0-9]{1,64}|arn:aws(-[a-z]+)*:bedrock:(?P<region>[a-z0-9-]{1,20}):[0-9]{12}:guardrail/[a-z0-9]{1,64}"
)
GUARDRAIL_VERSION = re.compile(r"[1-9][0-9]{0,7}|DRAFT")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")


class GuardrailSpec(CheckSpec):
    """A ``[checks.<name>]`` table of kind ``guardrail``."""

    KIND: ClassVar[str] = "guardrail"
    kind: Literal["guardrail"] = "guardrail"
    guardrail_id: str
    guardrail_version: str
    region: str | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("guardrail_version", mode="before")
    @classmethod
    def _version_number(cls, value: Any) -> Any:
        """A version may be written as a number (``1``): it means the string ``"1"``."""
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return str(value)
        return value

    @field_validator("guardrail_id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not GUARDRAIL_ID.fullmatch(value):
            raise ValueError(
                f"{value!r} is neither a guardrail id nor its ARN: use the id the Bedrock "
                'console shows (e.g. guardrail_id = "gr1abc2def3g")'
            )
        return value

    @field_validator("guardrail_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not GUARDRAIL_VERSION.fullmatch(value):
            raise ValueError(f'{value!r}: use "DRAFT" or a version number (e.g. "1")')
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not REGION.fullmatch(value):
            raise ValueError(f'{value!r} is not an AWS region: use one such as "us-east-1"')
        return value

    @model_validator(mode="after")
    def _one_region(self) -> GuardrailSpec:
        found = GUARDRAIL_ID.fullmatch(self.guardrail_id)
        if found and found["region"] and self.region and found["region"] != self.region:
            raise ValueError(
                f"region {self.region!r} differs from the guardrail ARN's "
                f"({found['region']}): remove region (the ARN says where it is)"
            )
        return self

    @property
    def guardrail_region(self) -> str | None:
        """Where the guardrail is: ``region``, else its ARN's, else None (the function's)."""
        found = GUARDRAIL_ID.fullmatch(self.guardrail_id)
        return self.region or (found["region"] if found else None) or None

    def build(self, name: str, root: Path) -> Check:
        """The check; its client is made on first use (nothing to load now)."""
        return GuardrailCheck(name, self)


class GuardrailCheck:
    """A built ``guardrail`` check: one ``ApplyGuardrail`` call per sample."""

    kind = GuardrailSpec.KIND

    def __init__(self, name: str, spec: GuardrailSpec) -> None:
        self.name = name
        self.spec = spec
        self._client: BedrockRuntimeClient | None = None
        self._lock = threading.Lock()

    def client(self) -> BedrockRuntimeClient:
        """The Bedrock Runtime client, made once (thread-safe) by the judges' factory."""
        with self._lock:
            if self._client is None:
                from judge.bedrock import make_client  # boto3: only once a check runs
                from judge.config import JudgeSettings

                settings = JudgeSettings(
                    region=self.spec.guardrail_region, read_timeout_s=self.spec.timeout_s
                )
                self._client = make_client(settings, max_connections=16)
            return self._client

    def run(self, item: CheckInput) -> CheckResult:
        """1 if the guardrail lets the response through, 0 if it intervenes; never raises."""
        from judge.deadline import Deadline
        from judge.guardrail import apply_guardrail

        spec = self.spec
        where = {"guardrail": spec.guardrail_id, "version": spec.guardrail_version}
        try:
            client = self.client()
        except Exception as exc:  # no region, a bad profile: the check cannot run
            detail = f"no Bedrock client: {' '.join(str(exc).split())[:200]}"
            return CheckResult.undecided(Unscored(reason="judge_error", detail=detail), **where)
        outcome = apply_guardrail(
            client,
            spec.guardrail_id,
            spec.guardrail_version,
            item.response,
            deadline=Deadline.in_seconds(spec.timeout_s),
        )
        if outcome.error is not None:
            unscored = Unscored(reason="judge_error", detail=f"ApplyGuardrail: {outcome.error}")
            return CheckResult.undecided(unscored, **where)
        return CheckResult.passed(
            0.0 if outcome.intervened else 1.0,
            **where,
            intervened=outcome.intervened,
            policies=list(outcome.policies),
            detected=list(outcome.detected),
        )
