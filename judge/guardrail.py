"""Amazon Bedrock Guardrails on a response: ``ApplyGuardrail`` through boto3, never raising.

The ``guardrail`` check (``judge.checks.guardrail``) asks whether a guardrail intervenes on
the response (source ``OUTPUT``) and which of its policies fired. The call goes through the
judges' client factory (``judge.bedrock.make_client``: ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``
points it at the local server) and their retry policy (``judge.retry``: throttles and
transient errors retried with backoff, bounded by a deadline). A call that fails for good is
an outcome with ``error`` set, which the check reports as unscored: never a score, never an
exception out of the batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from judge.bedrock import backend_down, error_code
from judge.config import RetrySettings
from judge.deadline import Deadline
from judge.retry import RetryStats, call_with_retries
from judge.text import clean

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

_LABEL_CHARS = 64  # a policy label comes from the answer: keep details small


@dataclass(frozen=True)
class GuardrailOutcome:
    """What the guardrail did to one text.

    ``policies`` names each policy that acted (BLOCKED or ANONYMIZED), once, in the answer's
    order: ``word:<word>``, ``managed:<type>``, ``pii:<TYPE>``, ``regex:<name>``,
    ``topic:<name>``, ``content:<TYPE>``, ``grounding:<TYPE>``. ``detected`` names those
    detected with action NONE (reported, no intervention). ``error`` is set when the call
    failed; then nothing else means anything.
    """

    intervened: bool
    policies: tuple[str, ...] = ()
    detected: tuple[str, ...] = ()
    action_reason: str = ""
    error: str | None = None

    @classmethod
    def failed(cls, error: str) -> GuardrailOutcome:
        """The call failed for good (``error`` says why)."""
        return cls(False, error=error)


def apply_guardrail(
    client: BedrockRuntimeClient,
    guardrail_id: str,
    version: str,
    text: str,
    *,
    retry: RetrySettings | None = None,
    deadline: Deadline | None = None,
    stats: RetryStats | None = None,
) -> GuardrailOutcome:
    """Apply guardrail ``guardrail_id`` at ``version`` to ``text`` as model output.

    Retries as a judge call does; returns ``GuardrailOutcome.failed`` instead of raising.
    Lone surrogates are sent as U+FFFD (no encoder takes them).
    """

    def call() -> Any:
        return client.apply_guardrail(
            guardrailIdentifier=guardrail_id,
            guardrailVersion=version,
            source="OUTPUT",
            content=[{"text": {"text": clean(text)}}],
        )

    try:
        answer = call_with_retries(
            call, retry or RetrySettings(), deadline or Deadline.never(), stats
        )
    except Exception as exc:  # every failure is an outcome: the batch never sees it
        return GuardrailOutcome.failed(_describe(exc))
    return read_answer(answer)


def _describe(exc: BaseException) -> str:
    """One line for the unscored detail: the code and Bedrock's message, or the server down."""
    if (down := backend_down(exc)) is not None:
        return down
    message = ""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        message = str(response.get("Error", {}).get("Message", ""))
    message = message or str(exc)
    return f"{error_code(exc)}: {' '.join(message.split())[:200]}"


def read_answer(answer: Mapping[str, Any]) -> GuardrailOutcome:
    """An ``ApplyGuardrail`` response as an outcome (a malformed one is a failure)."""
    action = answer.get("action")
    if action not in ("NONE", "GUARDRAIL_INTERVENED"):
        return GuardrailOutcome.failed(f"malformed answer: action {str(action)[:40]!r}")
    acted: list[str] = []
    detected: list[str] = []
    assessments = answer.get("assessments")
    for label, what in _findings(assessments if isinstance(assessments, list) else []):
        (detected if what == "NONE" else acted).append(label)
    return GuardrailOutcome(
        intervened=action == "GUARDRAIL_INTERVENED",
        policies=tuple(dict.fromkeys(acted)),
        detected=tuple(dict.fromkeys(detected)),
        action_reason=str(answer.get("actionReason", ""))[:200],
    )


# (policy key, list key, the field naming an entry, label prefix) for each list of findings.
_LISTS = (
    ("wordPolicy", "customWords", "match", "word"),
    ("wordPolicy", "managedWordLists", "type", "managed"),
    ("sensitiveInformationPolicy", "piiEntities", "type", "pii"),
    ("sensitiveInformationPolicy", "regexes", "name", "regex"),
    ("topicPolicy", "topics", "name", "topic"),
    ("contentPolicy", "filters", "type", "content"),
    ("contextualGroundingPolicy", "filters", "type", "grounding"),
)


def _findings(assessments: list[Any]) -> Iterator[tuple[str, str]]:
    """(label, action) of every finding the assessments list that was detected."""
    for assessment in assessments:
        if not isinstance(assessment, Mapping):
            continue
        for policy, key, field, prefix in _LISTS:
            part = assessment.get(policy)
            entries = part.get(key) if isinstance(part, Mapping) else None
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, Mapping) or entry.get("detected") is False:
                    continue
                name = " ".join(str(entry.get(field, "?")).split())[:_LABEL_CHARS]
                yield f"{prefix}:{name}", str(entry.get("action", "NONE"))
