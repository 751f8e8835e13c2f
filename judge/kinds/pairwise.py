"""Pairwise: which of two responses is better on one rubric (A, B or tie).

``pairwise.j2`` renders the system part (rubric only) and the user part (the two responses
in their keyed tags, shown as A and B). The answer is a ``Preference``; it is cached and
retried as a ``Verdict`` indexing ``PREFERENCES`` (the cache's one entry type), and read
back as a preference with ``Preference.of``. Which pairs, in which orders, is
``judge.prefer``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from judge.config import JudgeSettings
from judge.kinds.base import Ask, Outcomes, Rendered, VerdictMode, register
from judge.prompt import TOOL_NAME, PromptRenderer, reasoned_tool
from judge.verdict import Outcome, Unscored, parse_preference_response

if TYPE_CHECKING:
    from judge.caller import JudgeTask

PAIRWISE_TEMPLATE = "pairwise.j2"
Winner = Literal["A", "B", "tie"]
WINNERS: tuple[Winner, ...] = ("tie", "A", "B")  # the cached index's meaning (PREFERENCES)


@dataclass(frozen=True)
class Preference:
    """A pairwise judgement: the better response as shown (A or B), or a tie."""

    winner: Winner
    reasoning: str = ""

    @classmethod
    def of(cls, outcome: Outcome) -> Preference | Unscored:
        """The preference a pairwise task's outcome holds (an unscored one stays so)."""
        if isinstance(outcome, Unscored):
            return outcome
        return cls(WINNERS[outcome.score], outcome.reasoning)


class Pairwise:
    """``pairwise.j2``; a forced tool of a reasoning, then ``preferred``: A, B or tie."""

    name = "pairwise"
    templates: tuple[str, ...] = (PAIRWISE_TEMPLATE,)
    named = False

    def tool_spec(self, ask: Ask) -> dict[str, Any]:
        """Reasoning, then A, B or tie."""
        rubric = ask.rubrics[0]
        return reasoned_tool(
            f"Record which response is better on {rubric.title}.",
            "The comparison, written before the verdict.",
            "preferred",
            {
                "type": "string",
                "enum": ["A", "B", "tie"],
                "description": f"The better response on {rubric.title}, or tie.",
            },
        )

    def render(self, renderer: PromptRenderer, ask: Ask, settings: JudgeSettings) -> Rendered:
        """The request comparing ``ask.responses`` (first shown as A, second as B)."""
        rubric = ask.rubrics[0]
        first, second = ask.responses
        template = renderer.templates.get_optional(PAIRWISE_TEMPLATE, "judge prefer")
        shared = {
            "rubric": rubric,
            "verdict_mode": settings.verdict_mode,
            "spotlight": settings.spotlight,
        }

        def build() -> tuple[str, dict[str, Any]]:
            values = {"part": "system", **shared, "tool_name": TOOL_NAME}
            return renderer.templates.render(template, values).strip(), self.tool_spec(ask)

        static_key = ((rubric.content_hash or rubric.name,), *renderer.mode_of(settings), "pair")
        system, tool = renderer.static(static_key, build)
        key = renderer.group_key(ask.item, [first, second])  # over both, in this order
        values = {
            "part": "user",
            "key": key,
            "conversation": ask.item.conversation,
            "reference": ask.item.reference,
            "first": first,
            "second": second,
            **shared,
        }
        user = renderer.templates.render(template, values).strip()
        metadata = {"rubric": rubric.name, "mode": "pairwise"}
        request = renderer.assemble(system, user, tool, settings, metadata)
        return Rendered(request, key, first + "\n" + second, (rubric,))

    def parse(self, response: dict[str, Any], task: JudgeTask, mode: VerdictMode) -> Outcomes:
        """The preference, as the ``Verdict`` the cache keeps (see ``Preference.of``)."""
        outcome = parse_preference_response(
            response, mode=mode, key=task.fence_key, judged=task.judged
        )
        return {task.rubrics[0].name: outcome}


PAIRWISE = register(Pairwise())
