"""Render a rubric and a sample into the exact Converse request sent to the judge.

The judged text is data, not instructions: it sits between tags, and any text inside it
that looks like one of those tags is neutralised first, so a policy cannot close the
``<response>`` block early and write its own instructions or verdict after it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from judge.config import JudgeSettings
from judge.errors import SourceError
from judge.rubric import Rubric

SYSTEM_TEMPLATE = "system.j2"
USER_TEMPLATE = "user.j2"
TOOL_NAME = "submit_verdict"

# Every tag the templates use as a delimiter. Matched case-insensitively, with optional
# whitespace and slash, in raw ("<"), HTML-escaped ("&lt;") and full-width ("＜") spellings,
# because a judge model reads all of them as the same tag.
DELIMITER_TAGS = ("conversation", "response", "reference_answer", "example")
_FORGED_TAG = re.compile(
    r"(?:<|&lt;|＜|‹)(\s*/?\s*)("
    + "|".join(DELIMITER_TAGS)
    + r")\b(?:[^<>\n]{0,64}?(?:>|&gt;|＞|›))?",
    re.IGNORECASE,
)


def fence(text: object) -> str:
    """Neutralise delimiter look-alikes inside judged text (a jinja2 filter)."""
    return _FORGED_TAG.sub(lambda m: "[" + m.group(1).strip() + m.group(2) + "]", str(text))


@dataclass(frozen=True)
class Turn:
    """One conversation turn as the judge sees it."""

    role: str
    text: str


@dataclass(frozen=True)
class JudgeInput:
    """What one judgement is about: the conversation, the response and any reference."""

    conversation: tuple[Turn, ...]
    response: str
    reference: str | None = None


class PromptRenderer:
    """Loads the prompt templates once and renders judge requests from them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=False,
        )
        self.env.filters["fence"] = fence
        try:
            self.system = self.env.get_template(SYSTEM_TEMPLATE)
            self.user = self.env.get_template(USER_TEMPLATE)
        except jinja2.TemplateSyntaxError as exc:
            raise SourceError(
                exc.filename or directory,
                exc.message or "syntax error",
                line=exc.lineno,
                fix="correct the jinja2 syntax",
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise SourceError(
                directory / str(exc.name), "template not found", fix=f"create it in {directory}"
            ) from None
        digest = hashlib.sha256()
        for name in (SYSTEM_TEMPLATE, USER_TEMPLATE):
            digest.update((directory / name).read_bytes())
        self.template_hash = digest.hexdigest()

    def render(self, rubric: Rubric, item: JudgeInput, settings: JudgeSettings) -> dict[str, Any]:
        """The Converse request (without ``modelId``) for one rubric and one input."""
        values = {
            "rubric": rubric,
            "conversation": item.conversation,
            "response": item.response,
            "reference": item.reference,
            "has_reference": item.reference is not None,
            "verdict_mode": settings.verdict_mode,
            "tool_name": TOOL_NAME,
        }
        try:
            system = self.system.render(values).strip()
            user = self.user.render(values).strip()
        except jinja2.UndefinedError as exc:
            raise SourceError(
                self.directory,
                f"template uses an undefined value ({exc.message})",
                fix="use only rubric, conversation, response, reference, "
                "has_reference, verdict_mode, tool_name",
            ) from None
        system_blocks: list[dict[str, Any]] = [{"text": system}]
        if settings.prompt_cache:
            system_blocks.append({"cachePoint": {"type": "default"}})
        request: dict[str, Any] = {
            "system": system_blocks,
            "messages": [{"role": "user", "content": [{"text": user}]}],
            "inferenceConfig": settings.inference_config(),
            # Lets invocation logs be filtered by rubric.
            "requestMetadata": {"rubric": rubric.name},
        }
        if fields := settings.request_fields():
            request["additionalModelRequestFields"] = fields
        if settings.verdict_mode == "tool":
            request["toolConfig"] = {
                "tools": [{"toolSpec": verdict_tool_spec(rubric)}],
                "toolChoice": {"tool": {"name": TOOL_NAME}},
            }
        return request


def verdict_tool_spec(rubric: Rubric) -> dict[str, Any]:
    """The forced tool whose input schema is the verdict: reasoning first, then the score."""
    return {
        "name": TOOL_NAME,
        "description": f"Record the {rubric.title} verdict for the response.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "reasoning": {
                        "type": "string",
                        "description": "Evidence from the response, written before the score.",
                    },
                    "score": {
                        "type": "integer",
                        "enum": rubric.scores,
                        "description": f"{rubric.title}, {rubric.scale_min} to {rubric.scale_max}.",
                    },
                },
                "required": ["reasoning", "score"],
                "additionalProperties": False,
            }
        },
    }
