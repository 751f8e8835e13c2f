"""Turn a Converse response into a verdict, or into an unscored outcome with a reason.

The forced tool's input is validated with pydantic. Text answers go through a fallback
parser that binds to the *last* verdict in the text: judges reason before they score, so
the first number in the text is usually from the reasoning ("a 2 would be too harsh...")
or even quoted from the judged response, and must never win.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from judge.prompt import TOOL_NAME

UnscoredReason = Literal[
    "unparseable",  # no verdict could be found in the answer
    "out_of_range",  # a verdict was found but is not a level of the scale
    "refused",  # guardrail or content filter stopped the judge
    "judge_error",  # the call failed for good (non-retryable, or retries exhausted)
    "deadline",  # the Lambda deadline came before a verdict
]


class Verdict(BaseModel):
    """A judge's verdict on one response for one rubric."""

    model_config = ConfigDict(frozen=True)

    score: int
    reasoning: str = ""


class Unscored(BaseModel):
    """No verdict: why, and enough detail to debug it. Never converted to a number."""

    model_config = ConfigDict(frozen=True)

    reason: UnscoredReason
    detail: str = ""

    @property
    def retryable_parse(self) -> bool:
        """Whether asking again may help (a sampling glitch, not a refusal or a hard error)."""
        return self.reason in ("unparseable", "out_of_range")


Outcome = Verdict | Unscored


class _ToolInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reasoning: str = ""
    score: int


def parse_converse_response(response: dict[str, Any], scores: list[int]) -> Outcome:
    """Extract the verdict from a Converse response for a rubric with these valid ``scores``."""
    stop = response.get("stopReason")
    if stop in ("guardrail_intervened", "content_filtered"):
        return Unscored(reason="refused", detail=f"stopReason={stop}")
    content = (response.get("output") or {}).get("message", {}).get("content") or []
    texts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        tool = block.get("toolUse")
        if isinstance(tool, dict) and tool.get("name") == TOOL_NAME:
            return _from_tool_input(tool.get("input"), scores)
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
    if not texts:
        return Unscored(reason="unparseable", detail=f"no tool call or text (stopReason={stop})")
    return parse_text_verdict("\n".join(texts), scores)


def _from_tool_input(raw: object, scores: list[int]) -> Outcome:
    if isinstance(raw, str):  # some models put the JSON in a string
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return Unscored(reason="unparseable", detail="tool input is not JSON")
    try:
        tool_input = _ToolInput.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        if loc == "score" and first["type"] not in ("missing",):
            return Unscored(reason="out_of_range", detail=f"score {first.get('input')!r}")
        return Unscored(reason="unparseable", detail=f"tool input: {loc}: {first['msg']}")
    return _check_range(tool_input.score, tool_input.reasoning, scores)


def _check_range(score: float, reasoning: str, scores: list[int]) -> Outcome:
    if not math.isfinite(score) or score != int(score) or int(score) not in scores:
        return Unscored(
            reason="out_of_range", detail=f"score {score!r} is not one of {scores[0]}..{scores[-1]}"
        )
    return Verdict(score=int(score), reasoning=reasoning.strip())


_NUM = r"[-+]?\d+(?:\.\d+)?"
_OUT_OF = r"(?:\s*(?:/|out\s+of)\s*(\d+))?"
_KEYWORD = r"(?:score|rating|grade|verdict)"
# Tiers of verdict patterns, most explicit first. The first tier with any match decides, and
# within it the match that ends LAST wins: judges reason before they score, so numbers in the
# reasoning, or quoted from the judged response, come earlier and must not decide.
_TIERS = (
    # A verdict line, as the prompt asks for: "Score: 4", "**Final score:** 4/5",
    # "On reflection, revised score: 3". Mentions inside a sentence ("a score of 5 needs...")
    # are not verdict lines.
    re.compile(
        r"^[\s>*_#-]*(?:[A-Za-z][\w ,]{0,40}?\s)?" + _KEYWORD + r"\**\s*[:=]\s*\**\s*"
        r"[\[\(\"']?\s*(" + _NUM + r")\s*[\]\)\"']?\**" + _OUT_OF,
        re.IGNORECASE | re.MULTILINE,
    ),
    # JSON-ish: "score": 4  or  'score': "4"
    re.compile(r"[\"']score[\"']\s*:\s*[\"']?(" + _NUM + r")", re.IGNORECASE),
    # MT-Bench style [[4]]
    re.compile(r"\[\[\s*(" + _NUM + r")\s*\]\]"),
    # Inline: "the overall score is 4 out of 5", "Rating - **4**"
    re.compile(
        r"\b(?:final\s+|overall\s+)?" + _KEYWORD + r"\s*(?:is|of|=|:|-)?\s*"
        r"[\*\[\(\"']*\s*(" + _NUM + r")\s*[\*\]\)\"']*" + _OUT_OF,
        re.IGNORECASE,
    ),
)


def parse_text_verdict(text: str, scores: list[int]) -> Outcome:
    """Find the last verdict in free text; unscored (with a reason) if there is none."""
    best: re.Match[str] | None = None
    for pattern in _TIERS:
        for m in pattern.finditer(text):
            if best is None or m.end() >= best.end():
                best = m
        if best is not None:
            break
    if best is None:
        snippet = " ".join(text.split())[:120]
        return Unscored(reason="unparseable", detail=f"no verdict in text: {snippet!r}")
    match = best
    value = float(match.group(1))
    denominator = match.group(2) if match.lastindex and match.lastindex >= 2 else None
    if denominator is not None and int(denominator) != scores[-1]:
        return Unscored(
            reason="out_of_range",
            detail=f"verdict {match.group(0)!r} is not on the {scores[0]}..{scores[-1]} scale",
        )
    reasoning = text[: match.start()].strip()
    return _check_range(value, reasoning, scores)
