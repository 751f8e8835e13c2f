"""Combined: one response judged on several rubrics in one call, a score for each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.config import JudgeSettings
from judge.kinds.base import (
    Ask,
    OneResponse,
    Outcomes,
    Rendered,
    VerdictMode,
    parse_named,
    register,
    render_one,
)
from judge.prompt import COMBINED_TEMPLATE, PromptRenderer, combined_tool_spec

if TYPE_CHECKING:
    from judge.caller import JudgeTask


class Combined:
    """``system_combined.j2``; a forced tool of a reasoning and a score per rubric."""

    name = "combined"
    templates: tuple[str, ...] = ()
    named = True
    how = OneResponse(COMBINED_TEMPLATE, "combine_rubrics", combined=True)

    def tool_spec(self, ask: Ask) -> dict[str, Any]:
        """Per rubric name: reasoning, then its score."""
        return combined_tool_spec(ask.rubrics)

    def render(self, renderer: PromptRenderer, ask: Ask, settings: JudgeSettings) -> Rendered:
        """The request for every one of ``ask``'s rubrics."""
        return render_one(renderer, ask, settings, self, self.how)

    def parse(self, response: dict[str, Any], task: JudgeTask, mode: VerdictMode) -> Outcomes:
        """Each rubric's outcome (a rubric missing from the answer is unscored)."""
        return parse_named(response, task, mode)


COMBINED = register(Combined())
