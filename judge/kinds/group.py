"""Group: several responses to one prompt judged together on one rubric, a score each.

``group.j2`` renders the system part (``part="system"``: rubric only, cacheable) and the
user part (every response in its own keyed tags); the forced tool has a reasoning and a score
per response label (``response_1``...). Which responses form a group, in which order, is
``judge.group``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.config import JudgeSettings
from judge.group import answer_labels
from judge.kinds.base import Ask, Outcomes, Rendered, VerdictMode, parse_named, register
from judge.prompt import GROUP_TEMPLATE, PromptRenderer, combined_tool_spec

if TYPE_CHECKING:
    from judge.caller import JudgeTask


class Group:
    """``group.j2``; the combined tool and parser over the response labels."""

    name = "group"
    templates: tuple[str, ...] = (GROUP_TEMPLATE,)
    named = True

    def tool_spec(self, ask: Ask) -> dict[str, Any]:
        """Per response label: reasoning, then its score on the rubric's scale."""
        labels = answer_labels(ask.rubrics[0], len(ask.responses))
        return combined_tool_spec(labels, "Record the verdict on every response.")

    def render(self, renderer: PromptRenderer, ask: Ask, settings: JudgeSettings) -> Rendered:
        """The request grading ``ask.responses`` (in this order) on its one rubric."""
        rubric, texts = ask.rubrics[0], [str(r) for r in ask.responses]
        template = renderer.templates.get_optional(GROUP_TEMPLATE, "group mode")

        def build() -> tuple[str, dict[str, Any]]:
            values = {**renderer.system_values(ask.rubrics, settings), "part": "system"}
            del values["rubrics"]  # the system part sees one rubric (documented values)
            return renderer.templates.render(template, values).strip(), self.tool_spec(ask)

        static_key = ((rubric.content_hash or rubric.name,), *renderer.mode_of(settings))
        system, tool = renderer.static((*static_key, f"g{len(texts)}"), build)
        key = renderer.group_key(ask.item, texts)
        values = {
            "part": "user",
            "key": key,
            "rubric": rubric,
            "conversation": ask.item.conversation,
            "reference": ask.item.reference,
            "responses": texts,
            "verdict_mode": settings.verdict_mode,
            "spotlight": settings.spotlight,
        }
        user = renderer.templates.render(template, values).strip()
        metadata = {"rubric": rubric.name, "mode": "group"}
        request = renderer.assemble(system, user, tool, settings, metadata)
        return Rendered(request, key, "\n".join(texts), answer_labels(rubric, len(texts)))

    def parse(self, response: dict[str, Any], task: JudgeTask, mode: VerdictMode) -> Outcomes:
        """Each response label's outcome."""
        return parse_named(response, task, mode)


GROUP = register(Group())
