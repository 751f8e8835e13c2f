"""``ApplyGuardrail`` on the local server, in Bedrock Runtime's wire format.

``POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply`` with
``{source, content: [{text: {text, qualifiers?}}], outputScope?}`` answers
``{usage, action, actionReason, outputs, assessments, guardrailCoverage}`` as botocore's
service model (bedrock-runtime 2023-09-30) describes it, so boto3's ``apply_guardrail``
parses it unchanged. Policies come from ``judge.server.guardrail_policy``. An unknown
guardrail or version is Bedrock's ``ResourceNotFoundException``; a malformed request its
``ValidationException``.

As on Bedrock: a BLOCKED finding replaces the output with the guardrail's blocked message; an
ANONYMIZED one (and no block) returns each text block with its findings masked as
``{TYPE}`` (PII) or ``{name}`` (regex); both are ``GUARDRAIL_INTERVENED``. Findings with
action NONE are reported and change nothing. ``outputScope`` FULL is accepted and answered
as INTERVENTIONS (only what was detected is listed).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from judge.server.guardrail_policy import Finding, Guardrail, load_guardrails
from judge.server.wire import ConverseFault
from judge.text import clean

ROUTE = re.compile(r"^/guardrail/(?P<id>[^/]+)/version/(?P<version>[^/]+)/apply$")
_ID = re.compile(
    r"[a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+"
)
_VERSION = re.compile(r"[1-9][0-9]{0,7}|DRAFT")
_QUALIFIERS = {"grounding_source", "query", "guard_content"}
MAX_TEXT = 1_000_000  # characters over all blocks of one request
MAX_FINDINGS = 200  # per rule and block: a response listing every e-mail of a flood is no use
_NOT_FOUND = "The guardrail identifier or version provided in the request does not exist."


def _invalid(message: str) -> ConverseFault:
    return ConverseFault(400, "ValidationException", message)


class GuardrailBook:
    """The guardrails the server knows, by (id, version), and how many calls each had.

    ``throttle``: how many of the next calls answer ``ThrottlingException`` (429), as
    Bedrock does past the account's text-unit quota (tests of the client's retries).
    """

    def __init__(
        self, guardrails: Mapping[tuple[str, str], Guardrail], *, throttle: int = 0
    ) -> None:
        self.guardrails = dict(guardrails)
        self.calls: dict[tuple[str, str], int] = {}
        self.throttle = throttle
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> GuardrailBook:
        """The book a guardrails file describes (``PolicyError`` names what is wrong)."""
        return cls(load_guardrails(path))

    def answer(self, path: str, request: Any) -> dict[str, Any]:
        """One ApplyGuardrail call: route, validate, apply; ``ConverseFault`` on error."""
        match = ROUTE.match(path)
        if not match:
            raise ConverseFault(404, "UnknownOperationException", f"No route for {path}")
        identifier, version = unquote(match["id"]), unquote(match["version"])
        if not _ID.fullmatch(identifier):
            raise _invalid("guardrailIdentifier does not match the required pattern")
        if not _VERSION.fullmatch(version):
            raise _invalid("guardrailVersion must be DRAFT or a version number")
        key = (identifier.rsplit("/", 1)[-1], version)
        rail = self.guardrails.get(key)
        if rail is None:
            raise ConverseFault(404, "ResourceNotFoundException", _NOT_FOUND)
        texts = _texts(request)
        with self._lock:
            self.calls[key] = self.calls.get(key, 0) + 1
            throttled, self.throttle = self.throttle > 0, max(0, self.throttle - 1)
        if throttled:
            raise ConverseFault(429, "ThrottlingException", "Too many requests, please wait.")
        return apply(rail, texts)


def _texts(request: Any) -> list[str]:
    """The text blocks of a request, checked as Bedrock checks them (lone surrogates: U+FFFD)."""
    if not isinstance(request, dict):
        raise _invalid("Request body must be a JSON object")
    if request.get("source") not in ("INPUT", "OUTPUT"):
        raise _invalid("source must be one of INPUT, OUTPUT")
    if request.get("outputScope", "INTERVENTIONS") not in ("INTERVENTIONS", "FULL"):
        raise _invalid("outputScope must be one of INTERVENTIONS, FULL")
    content = request.get("content")
    if not isinstance(content, list) or not content:
        raise _invalid("content must be a non-empty list of content blocks")
    texts: list[str] = []
    for i, block in enumerate(content):
        if isinstance(block, dict) and "image" in block:
            raise _invalid(f"content.{i}: image blocks are not supported by the local server")
        text = block.get("text") if isinstance(block, dict) and len(block) == 1 else None
        if not isinstance(text, dict) or not isinstance(text.get("text"), str):
            raise _invalid(f"content.{i} must be {{text: {{text: string}}}}")
        qualifiers = text.get("qualifiers", [])
        if not isinstance(qualifiers, list) or not set(qualifiers) <= _QUALIFIERS:
            raise _invalid(f"content.{i}.text.qualifiers must be among {sorted(_QUALIFIERS)}")
        texts.append(clean(text["text"]))
    if sum(map(len, texts)) > MAX_TEXT:
        raise _invalid(f"content has more than {MAX_TEXT} characters")
    return texts


def apply(rail: Guardrail, texts: Sequence[str]) -> dict[str, Any]:
    """Bedrock's ApplyGuardrail response for ``texts`` under ``rail``."""
    started = time.perf_counter()
    found = [[f for d in rail.detectors for f in d.find(t, MAX_FINDINGS)] for t in texts]
    flat = [(f, texts[i]) for i, block in enumerate(found) for f in block]
    blocked = any(f.action == "BLOCKED" for f, _ in flat)
    masked = any(f.action == "ANONYMIZED" for f, _ in flat)
    if blocked:
        outputs, reason = [{"text": rail.blocked_message}], "Guardrail blocked."
    elif masked:
        outputs = [{"text": _mask(t, fs)} for t, fs in zip(texts, found, strict=True)]
        reason = "Guardrail masked."
    else:
        outputs, reason = [], "No action."
    chars = sum(len(t) for t in texts)
    usage = _usage(rail, texts)
    coverage = {"textCharacters": {"guarded": chars, "total": chars}}
    assessment: dict[str, Any] = _policies(flat)
    assessment["invocationMetrics"] = {
        "guardrailProcessingLatency": int((time.perf_counter() - started) * 1000),
        "usage": usage,
        "guardrailCoverage": coverage,
    }
    return {
        "usage": usage,
        "action": "GUARDRAIL_INTERVENED" if blocked or masked else "NONE",
        "actionReason": reason,
        "outputs": outputs,
        "assessments": [assessment],
        "guardrailCoverage": coverage,
    }


def _policies(flat: Sequence[tuple[Finding, str]]) -> dict[str, Any]:
    """The wordPolicy and sensitiveInformationPolicy parts of an assessment (detected only)."""
    out: dict[str, Any] = {}
    words = {f.label: f for f, _ in flat if f.policy == "word"}  # one entry a word, as Bedrock
    if words:
        out["wordPolicy"] = {
            "customWords": [
                {"match": w, "action": f.action, "detected": True} for w, f in words.items()
            ],
            "managedWordLists": [],
        }
    pii = [
        {"match": t[f.start : f.end], "type": f.label, "action": f.action, "detected": True}
        for f, t in flat
        if f.policy == "pii"
    ]
    regexes = [
        {
            "name": f.label,
            "match": t[f.start : f.end],
            "regex": f.regex,
            "action": f.action,
            "detected": True,
        }
        for f, t in flat
        if f.policy == "regex"
    ]
    if pii or regexes:
        out["sensitiveInformationPolicy"] = {"piiEntities": pii, "regexes": regexes}
    return out


def _mask(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with each ANONYMIZED finding replaced by ``{LABEL}`` (overlaps: first wins)."""
    parts: list[str] = []
    at = 0
    for f in sorted((f for f in findings if f.action == "ANONYMIZED"), key=lambda f: f.start):
        if f.start < at or f.end == f.start:
            continue
        parts += [text[at : f.start], "{" + f.label + "}"]
        at = f.end
    parts.append(text[at:])
    return "".join(parts)


def _usage(rail: Guardrail, texts: Sequence[str]) -> dict[str, int]:
    """Text units (1,000 characters each, per block) for each policy the guardrail has."""
    units = sum(max(1, math.ceil(len(t) / 1000)) for t in texts)
    kinds = {d.policy for d in rail.detectors}
    return {
        "topicPolicyUnits": 0,
        "contentPolicyUnits": 0,
        "wordPolicyUnits": units if "word" in kinds else 0,
        "sensitiveInformationPolicyUnits": units if "pii" in kinds else 0,
        "sensitiveInformationPolicyFreeUnits": units if "regex" in kinds else 0,
        "contextualGroundingPolicyUnits": 0,
    }
