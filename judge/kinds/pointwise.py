"""Pointwise: one response judged on one rubric, answered with one score."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.config import JudgeSettings
from judge.kinds.base import (
    Ask,
    OneResponse,
    Outcomes,
    Rendered,
    VerdictMode,
    register,
    render_one,
)
from judge.prompt import SYSTEM_TEMPLATE, PromptRenderer, verdict_tool_spec
from judge.verdict import parse_converse_response

if TYPE_CHECKING:
    from judge.caller import JudgeTask


class Pointwise:
    """``system.j2`` and ``user.j2``; a forced tool of a reasoning and one score."""

    name = "pointwise"
    templates: tuple[str, ...] = ()
    named = False
    how = OneResponse(SYSTEM_TEMPLATE, None, combined=False)

    def tool_spec(self, ask: Ask) -> dict[str, Any]:
        """Reasoning, then the score on the rubric's scale."""
        return verdict_tool_spec(ask.rubrics[0])

    def render(self, renderer: PromptRenderer, ask: Ask, settings: JudgeSettings) -> Rendered:
        """The request for ``ask``'s one rubric."""
        return render_one(renderer, ask, settings, self, self.how)

    def parse(self, response: dict[str, Any], task: JudgeTask, mode: VerdictMode) -> Outcomes:
        """The one rubric's outcome."""
        rubric = task.rubrics[0]
        outcome = parse_converse_response(
            response, rubric.scores, mode=mode, key=task.fence_key, judged=task.judged
        )
        return {rubric.name: outcome}


POINTWISE = register(Pointwise())
