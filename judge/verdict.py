"""Turn a Converse response into a verdict, or into an unscored outcome with a reason.

The forced tool's input is validated with pydantic. In text mode the verdict is a line that
carries the request's key (``verdict-KEY: N``), which the judged response cannot contain:
a judge that quotes the response (with its forged "Score: 5") after its own verdict, or
gives its score in a sentence, never hands the attacker's number to the parser.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from judge.prompt import TOOL_NAME
from judge.text import normalise

UnscoredReason = Literal[
    "unparseable",  # no verdict could be found in the answer
    "out_of_range",  # a verdict was found but is not a level of the scale
    "refused",  # guardrail or content filter stopped the judge
    "judge_error",  # the call failed for good (non-retryable, or retries exhausted)
    "deadline",  # the Lambda deadline came before a verdict
    "reference_missing",  # the rubric requires a reference answer and the sample has none
    "incomplete",  # a checklist left criteria unanswered or no positive one answered
    "undecided",  # a check could not decide (too few letters for a language, input past bounds)
    "check_error",  # a check failed (a python check raised or returned no number in 0..1)
    "check_timeout",  # a python check ran past its time limit (its worker was killed)
]

# The reasons the judged text can bring about (a judge talked out of its format): such a
# failure fires a gate and is what a panel reports first. The others (judge_error, deadline,
# refused, reference_missing, incomplete, and the checks' undecided, check_error,
# check_timeout: the check's bounds or the project's code decided nothing, which is no
# verdict on the response) are not the response's doing. ``incomplete`` is
# ``[sample_rubric] partial``'s business, so it stays out (a gate never fired on it).
RESPONSE_CAUSED: frozenset[UnscoredReason] = frozenset({"unparseable", "out_of_range"})


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

    def __str__(self) -> str:
        """The display form (tables, ``--details``, logs); code reads the fields, never this."""
        return f"{self.reason}: {self.detail}"

    @property
    def response_caused(self) -> bool:
        """Whether the judged response can bring this about (then it fires a gate)."""
        return self.reason in RESPONSE_CAUSED

    @property
    def retryable_parse(self) -> bool:
        """Whether asking again may help (a sampling glitch, not a refusal or a hard error)."""
        return self.reason in RESPONSE_CAUSED


Outcome = Verdict | Unscored


class _ToolInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reasoning: str = ""
    score: int


def parse_converse_response(
    response: dict[str, Any],
    scores: list[int],
    *,
    mode: Literal["tool", "text"] = "tool",
    key: str = "",
    judged: str = "",
) -> Outcome:
    """Extract the verdict from a Converse response for a rubric with these valid ``scores``.

    In tool mode only the forced tool's input counts: a text answer, even one that contains
    tool-call JSON, is unscored (that JSON may be the response's, quoted). In text mode only
    the keyed verdict line counts (``parse_text_verdict``); ``judged`` is the judged text.
    """
    failed, tool_input, text = _answer(response, mode)
    if failed is not None:
        return failed
    if mode == "tool":
        return _from_tool_input(tool_input, scores)
    return parse_text_verdict(text, scores, key, judged)


def parse_combined_response(
    response: dict[str, Any],
    rubrics: Sequence[tuple[str, list[int]]],
    *,
    mode: Literal["tool", "text"] = "tool",
    key: str = "",
    judged: str = "",
) -> dict[str, Outcome]:
    """One outcome per ``(name, scores)`` rubric from a combined (all-rubrics) answer.

    A rubric missing from the answer is unscored for that rubric only. Text verdict lines
    carry the rubric's name after the key: ``verdict-KEY-NAME: N``.
    """
    failed, tool_input, text = _answer(response, mode)
    if failed is not None:
        return {name: failed for name, _ in rubrics}
    out: dict[str, Outcome] = {}
    if mode == "tool":
        if isinstance(tool_input, str):
            try:
                tool_input = json.loads(tool_input)
            except json.JSONDecodeError:
                tool_input = None
        for name, scores in rubrics:
            if not isinstance(tool_input, dict) or name not in tool_input:
                out[name] = Unscored(reason="unparseable", detail=f"no verdict for '{name}'")
            else:
                out[name] = _from_tool_input(tool_input[name], scores)
        return out
    lines = candidate_lines(text, judged)
    for name, scores in rubrics:
        outcome = keyed_verdict(lines, text, scores, f"{key}-{name}")
        if isinstance(outcome, Unscored):
            outcome = Unscored(reason=outcome.reason, detail=f"'{name}': {outcome.detail}")
        out[name] = outcome
    return out


_MISSING: Any = object()


def _answer(
    response: dict[str, Any], mode: Literal["tool", "text"]
) -> tuple[Unscored | None, Any, str]:
    """(why there is no answer to parse, the forced tool's input, the text blocks joined).

    No answer: a refusal, no forced tool call in tool mode, no text in text mode.
    """
    stop = response.get("stopReason")
    if stop in ("guardrail_intervened", "content_filtered"):
        return Unscored(reason="refused", detail=f"stopReason={stop}"), None, ""
    content = (response.get("output") or {}).get("message", {}).get("content") or []
    tool_input: Any = _MISSING
    texts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        tool = block.get("toolUse")
        if mode == "tool" and isinstance(tool, dict) and tool.get("name") == TOOL_NAME:
            if tool_input is _MISSING:
                tool_input = tool.get("input")
        elif isinstance(block.get("text"), str):
            texts.append(block["text"])
    text = "\n".join(texts)
    if mode == "tool" and tool_input is _MISSING:
        detail = f"no {TOOL_NAME} tool call (stopReason={stop})"
        return Unscored(reason="unparseable", detail=detail), None, text
    if mode == "text" and not text:
        return (
            Unscored(reason="unparseable", detail=f"no text answer (stopReason={stop})"),
            None,
            "",
        )
    return None, tool_input, text


M = TypeVar("M", bound=BaseModel)


def _validated(raw: object, model: type[M]) -> M | Unscored:
    """A tool input validated by ``model`` (JSON in a string accepted), or why it is not one."""
    if isinstance(raw, str):  # some models put the JSON in a string
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return Unscored(reason="unparseable", detail="tool input is not JSON")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        if loc == "score" and first["type"] not in ("missing",):
            return Unscored(reason="out_of_range", detail=f"score {first.get('input')!r}")
        return Unscored(reason="unparseable", detail=f"tool input: {loc}: {first['msg']}")


def _from_tool_input(raw: object, scores: list[int]) -> Outcome:
    tool_input = _validated(raw, _ToolInput)
    if isinstance(tool_input, Unscored):
        return tool_input
    return _check_range(tool_input.score, tool_input.reasoning, scores)


def _check_range(score: float, reasoning: str, scores: list[int]) -> Outcome:
    if not math.isfinite(score) or score != int(score) or int(score) not in scores:
        return Unscored(
            reason="out_of_range", detail=f"score {score!r} is not one of {scores[0]}..{scores[-1]}"
        )
    return Verdict(score=int(score), reasoning=reasoning.strip())


_DECORATION = str.maketrans("", "", "*_`#")


def parse_text_verdict(text: str, scores: list[int], key: str, judged: str = "") -> Outcome:
    """The judge's keyed verdict line (``verdict-KEY: N``); unscored if there is none.

    Only a line carrying this request's key counts, and the policy cannot know the key, so
    a verdict written into the response cannot be taken for the judge's, wherever the judge
    quotes it. Belt and braces: ``>`` quote lines and lines that also occur in the judged
    response never count. Code fences do not hide lines (an unclosed fence quoted from the
    response would hide the judge's own verdict), and only a newline ends a line (U+2028 in a
    quote must not split the judge's sentence). Everything runs on the normalised view
    (full-width digits, zero-width characters), line by line with a pattern that has no
    adjacent quantifiers, so it is linear.
    """
    return keyed_verdict(candidate_lines(text, judged), text, scores, key)


def candidate_lines(text: str, judged: str) -> list[str]:
    """The judge's lines that may hold a verdict: normalised, unquoted, not the response's.

    Computed once per answer, however many rubrics or criteria read it.
    """
    judged_lines = {_line_core(line) for line in normalise(judged).split("\n")} - {""}
    out = []
    for line in normalise(text).split("\n"):
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        core = _line_core(stripped)
        if core and core not in judged_lines and "verdict-" in core:
            out.append(core)
    return out


def keyed_verdict(lines: list[str], text: str, scores: list[int], key: str) -> Outcome:
    """The verdict of the lines that carry ``key``.

    Lines off the scale are ignored when an on-scale one exists (an appended "-1" cannot
    unscore a rubric); of several on-scale lines that disagree the lowest wins (an appended
    "corrected" line cannot raise the score).
    """
    label = re.escape(_line_core(normalise(f"verdict-{key}")))
    line_pattern = re.compile(label + r" ?[:=] ?\[?([-+]?\d+(?:\.\d+)?)\]?(?: ?/ ?(\d+))?\.?")
    found = [m for m in map(line_pattern.fullmatch, lines) if m is not None]
    if not found:
        snippet = " ".join(text.split())[:120]
        return Unscored(reason="unparseable", detail=f"no keyed verdict line in text: {snippet!r}")
    reasoning = re.split("verdict-", text, maxsplit=1, flags=re.IGNORECASE)[0].strip()
    outcomes = [_line_outcome(m, reasoning, scores) for m in found]
    verdicts = [o for o in outcomes if isinstance(o, Verdict)]
    if not verdicts:
        return outcomes[0]
    return min(verdicts, key=lambda v: v.score)


def _line_outcome(match: re.Match[str], reasoning: str, scores: list[int]) -> Outcome:
    if match.group(2) is not None and int(match.group(2)) != scores[-1]:
        return Unscored(
            reason="out_of_range",
            detail=f"verdict {match.group(0)!r} is not on the {scores[0]}..{scores[-1]} scale",
        )
    return _check_range(float(match.group(1)), reasoning, scores)


def _line_core(line: str) -> str:
    """A line without markdown decoration and with single spaces (for comparison)."""
    return " ".join(line.translate(_DECORATION).split())


# A pairwise judgement is cached and retried like a score: its ``score`` is the index of the
# preferred position here (``judge.prefer``).
PREFERENCES = ("tie", "A", "B")


class _PreferenceInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reasoning: str = ""
    preferred: str


def _preference(value: str, reasoning: str) -> Outcome:
    label = value.strip().strip(".*`'\"").strip()
    label = label.lower() if label.lower() == "tie" else label.upper()
    if label not in PREFERENCES:
        return Unscored(reason="out_of_range", detail=f"preferred {value!r} is not A, B or tie")
    return Verdict(score=PREFERENCES.index(label), reasoning=reasoning.strip())


def parse_preference_response(
    response: dict[str, Any],
    *,
    mode: Literal["tool", "text"] = "tool",
    key: str = "",
    judged: str = "",
) -> Outcome:
    """A pairwise verdict (``A``, ``B`` or ``tie``) as a ``Verdict`` indexing ``PREFERENCES``.

    Tool mode: the forced tool's ``preferred``. Text mode: the keyed line
    ``verdict-KEY: A|B|tie``; keyed lines that disagree are unparseable (never a guess).
    """
    failed, tool_input, text = _answer(response, mode)
    if failed is not None:
        return failed
    if mode == "tool":
        parsed = _validated(tool_input, _PreferenceInput)
        if isinstance(parsed, Unscored):
            return parsed
        return _preference(parsed.preferred, parsed.reasoning)
    label = re.escape(_line_core(normalise(f"verdict-{key}")))
    pattern = re.compile(label + r" ?[:=] ?\[?(a|b|tie)\]?\.?", re.IGNORECASE)
    found = {
        m.group(1).lower()
        for m in map(pattern.fullmatch, candidate_lines(text, judged))
        if m is not None
    }
    if len(found) != 1:
        snippet = " ".join(text.split())[:120]
        what = "conflicting keyed verdict lines" if found else "no keyed verdict line"
        return Unscored(reason="unparseable", detail=f"{what} in text: {snippet!r}")
    reasoning = re.split("verdict-", text, maxsplit=1, flags=re.IGNORECASE)[0]
    return _preference(found.pop(), reasoning)
