"""The Nova RFT reward-Lambda contract: the event in, the list of rewards out.

Accepts every variation AWS's own docs and samples show: a bare list or a
``{"trajectories": [...]}`` wrapper; ``reference_answer`` at the top level or under
``metadata``; message content as a string or a list of text blocks; the policy's role as
``assistant`` or ``nova_assistant``. A sample that cannot be judged is marked malformed
(it still gets an answer); only an event that is not a batch at all is an error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judge.errors import EventError, SourceError, read_text
from judge.prompt import JudgeInput, Turn
from judge.text import clean

log = logging.getLogger("judge")

ASSISTANT_ROLES = ("assistant", "nova_assistant")


@dataclass(frozen=True)
class Sample:
    """One sample of the batch, parsed; ``problem`` is set when it is malformed."""

    index: int
    id: Any
    item: JudgeInput | None
    problem: str | None = None
    # The sample's own rubric, unparsed: (where it was, its value); see judge.checklist.
    rubric_data: tuple[str, object] | None = None
    # Why the response cannot be judged as text (only image or tool blocks): floored and
    # flagged, never the kinder unscored value, or a policy would learn to answer with a
    # bare tool call.
    unsupported: str | None = None

    @property
    def group(self) -> str:
        """Key of the prompt this response answers (RFT sends several responses per prompt)."""
        if self.item is None:
            return f"#malformed-{self.index}"
        return json.dumps([[t.role, t.text] for t in self.item.conversation])


def samples_of(event: object) -> list[Any]:
    """The list of raw samples in an event; ``EventError`` if it is not a batch at all.

    The one reader of events: the Lambda handler, ``judge score`` and ``judge invoke`` all
    come through here, so they agree on what a batch is. A lone sample object (one with
    ``messages``) is a batch of one.
    """
    if isinstance(event, list):
        return event
    if isinstance(event, dict) and isinstance(event.get("trajectories"), list):
        return list(event["trajectories"])
    if isinstance(event, dict) and "messages" in event:
        return [event]
    if isinstance(event, dict):
        keys = ", ".join(sorted(map(str, event))[:8]) or "none"
        canary = "judge_canary" in event  # a near miss of the schedule's event
        raise EventError(
            "the event is an object, not a batch: expected a JSON list of samples, "
            f"{{'trajectories': [...]}} or one sample with 'messages'; its keys are: {keys}"
            + ('. A canary run is exactly {"judge_canary": true}' if canary else "")
        )
    raise EventError(
        f"the event is {_json_kind(event)}, not a batch: expected a JSON list of samples"
    )


def _json_kind(value: object) -> str:
    """What a JSON value is, in words ("a number", "a string"), for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def read_event_file(path: Path) -> object:
    """An event from a file: one JSON document, else JSONL (one sample per line).

    The event is returned as is, for ``samples_of`` to judge. A JSONL line that is not JSON
    stays in the batch as a malformed sample (a string), reported with its line number, so
    nothing is lost silently.
    """
    text = read_text(path, "event file")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    except RecursionError:
        raise SourceError(path, "JSON nested too deeply to read", fix="flatten the event") from None
    out: list[Any] = []
    parsed = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
            parsed += 1
        except json.JSONDecodeError as exc:
            log.warning("%s:%d: not JSON (%s); scored as malformed", path, number, exc.msg)
            out.append(line)
        except (RecursionError, ValueError):
            log.warning("%s:%d: JSON that cannot be read; scored as malformed", path, number)
            out.append(line)
    if not out:
        raise SourceError(path, "the event file is empty", fix="write a JSON list of samples")
    if not parsed:
        raise SourceError(
            path,
            "neither JSON nor JSONL (no line is JSON)",
            line=1,
            fix="write a JSON list of samples, or one JSON sample per line",
        )
    return out


def parse_sample(index: int, raw: object) -> Sample:
    """Parse one raw sample; never raises (anything unexpected makes it malformed)."""
    sample_id = _echoable(raw.get("id")) if isinstance(raw, dict) else None
    try:
        return _parse(index, raw, sample_id)
    except (RecursionError, ValueError, TypeError) as exc:
        return Sample(index, sample_id, None, f"sample cannot be read ({type(exc).__name__})")


def _echoable(sample_id: Any) -> Any:
    r"""The id to echo: the event's own value, exactly, lone surrogates included.

    RFT joins each reward to its sample by id, so an id is never cleaned: ``"\ud800"`` is
    valid JSON and comes back as ``"\ud800"`` (JSON writers here escape it, and the handler
    returns bytes when the runtime could not; see ``judge.lambda_handler.wire``). Only an id
    that cannot be written back as JSON (NaN, inf, nesting too deep, an int beyond str()'s
    digit limit) becomes a string.
    """
    try:
        json.dumps(sample_id, allow_nan=False)
        return sample_id
    except (ValueError, TypeError, RecursionError):
        pass
    try:
        return clean(str(sample_id))[:200]
    except (ValueError, RecursionError):  # an int beyond str()'s digit limit, a deep list
        return "unreadable-id"


def shown_id(sample_id: Any, limit: int = 200) -> str:
    r"""An id as a log line or a table shows it: printable in any encoding, bounded.

    Lone surrogates become ``\ud800`` escapes (a UTF-8 stream cannot write them, and a log
    line must not fail on a hostile id); the echoed id itself stays exact.
    """
    try:
        text = sample_id if isinstance(sample_id, str) else str(sample_id)
    except (ValueError, RecursionError):
        return "unreadable-id"
    if len(text) > limit:
        text = text[:limit] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _parse(index: int, raw: object, sample_id: Any) -> Sample:
    if not isinstance(raw, dict):
        return Sample(index, None, None, f"sample is {_json_kind(raw)}, not an object")
    if sample_id is None:
        return Sample(index, None, None, "sample has no 'id'")
    messages = raw.get("messages")
    if not isinstance(messages, list) or not messages:
        return Sample(index, sample_id, None, "'messages' is missing or not a non-empty list")
    turns: list[Turn] = []
    for pos, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return Sample(index, sample_id, None, f"messages[{pos}] has no string 'role'")
        text = _content_text(message.get("content"))
        if text is None:
            return Sample(
                index,
                sample_id,
                None,
                f"messages[{pos}].content is neither text nor a list of content blocks",
            )
        turns.append(Turn(clean(message["role"]), text))
    last = max((i for i, t in enumerate(turns) if t.role in ASSISTANT_ROLES), default=None)
    if last is None:
        return Sample(index, sample_id, None, "no assistant turn to judge")
    unsupported = None
    if turns[last].text is _NO_TEXT:
        unsupported = (
            f"messages[{last}] (the response) has only non-text blocks (images, tool use): "
            "nothing a text judge can read"
        )
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    reference = raw.get("reference_answer", (metadata or {}).get("reference_answer"))
    conversation = tuple(
        Turn(
            "assistant" if t.role in ASSISTANT_ROLES else t.role,
            "[non-text content]" if t.text is _NO_TEXT else t.text,
        )
        for t in turns[:last]
    )
    return Sample(
        index,
        sample_id,
        JudgeInput(
            conversation,
            "" if unsupported else turns[last].text,
            _reference_text(reference),
        ),
        rubric_data=sample_rubric_data(raw),
        unsupported=unsupported,
    )


def sample_rubric_data(raw: dict[str, Any]) -> tuple[str, object] | None:
    """Where a sample's own rubric is, and its raw value; ``metadata.rubric`` wins.

    Nova RFT passes extra dataset fields under ``metadata``; a top-level ``rubric`` is read
    when there is none there.
    """
    metadata = raw.get("metadata")
    if isinstance(metadata, dict) and metadata.get("rubric") is not None:
        return "metadata.rubric", metadata["rubric"]
    if raw.get("rubric") is not None:
        return "rubric", raw["rubric"]
    return None


# Content made only of non-text blocks: distinct from "" (an empty answer, which is floored).
_NO_TEXT = "\x00no text\x00"


def _content_text(content: object) -> str | None:
    if isinstance(content, str):
        return clean(content)
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif not isinstance(block, dict):
                return None
            # non-text blocks (images, tool results) carry nothing the judge can read
        if content and not parts:
            return _NO_TEXT
        return clean("\n".join(parts))
    return None


def _reference_text(reference: object) -> str | None:
    if reference is None:
        return None
    if isinstance(reference, str):
        return clean(reference)
    return clean(json.dumps(reference, ensure_ascii=False, sort_keys=True, allow_nan=True))


def duplicate_ids(samples: list[Sample]) -> list[Any]:
    """Ids that occur more than once (RFT matches answers to samples by id)."""
    seen: set[str] = set()
    dupes: list[Any] = []
    for s in samples:
        if s.id is None:
            continue
        token = json.dumps(s.id, sort_keys=True, default=str)
        if token in seen and s.id not in dupes:
            dupes.append(s.id)
        seen.add(token)
    return dupes


def response_item(
    sample_id: Any, reward: float, metrics: list[tuple[str, float, str]]
) -> dict[str, Any]:
    """One entry of the Lambda's answer."""
    return {
        "id": sample_id,
        "aggregate_reward_score": reward,
        "metrics_list": [{"name": n, "value": v, "type": t} for n, v, t in metrics],
    }
