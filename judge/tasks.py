"""Judge tasks: one rendered request with its cache key, for a given judge of the panel.

Every kind of judgement the batch flow makes (one rubric, several rubrics in one call, a
checklist, a group of responses) becomes a ``JudgeTask`` here, so the planner decides what
to judge and this module alone how a request and its cache identity are made.
"""

from __future__ import annotations

from collections.abc import Sequence

from judge.cache import cache_key
from judge.caller import JudgeTask
from judge.config import JudgeSettings
from judge.group import answer_rubrics
from judge.prompt import JudgeInput, Kind, PromptRenderer
from judge.rubric import Rubric


class TaskMaker:
    """Renders tasks for the panel's judges (``member``: index in config order)."""

    def __init__(
        self, renderer: PromptRenderer, members: Sequence[JudgeSettings], endpoint_url: str
    ) -> None:
        self.renderer = renderer
        self.members = list(members)
        self.endpoint_url = endpoint_url

    def task(self, rubric: Rubric, item: JudgeInput, draw: int = 0, member: int = 0) -> JudgeTask:
        """The judgement of ``item`` on ``rubric`` (``draw`` > 0: a repeated sample)."""
        return self.task_many((rubric,), item, draw, member=member)

    def task_many(
        self,
        rubrics: tuple[Rubric, ...],
        item: JudgeInput,
        draw: int = 0,
        kind: Kind | None = None,
        member: int = 0,
    ) -> JudgeTask:
        """One call judging ``item`` on all of ``rubrics`` (one rubric: the usual request)."""
        kind = kind or ("single" if len(rubrics) == 1 else "combined")
        judge = self.members[member]
        request = self.renderer.render_many(rubrics, item, judge, kind)
        key = cache_key(
            model_id=judge.model_id,
            endpoint=self.endpoint_url,
            request=request,
            rubric_hash="+".join(r.content_hash for r in rubrics),
            template_hash=self.renderer.template_hash,
            draw=draw,
        )
        return JudgeTask(
            key,
            rubrics,
            request,
            self.renderer.key(item),
            item.response,
            kind != "single",
            member=member,
        )

    def group_task(
        self,
        rubric: Rubric,
        context: JudgeInput,
        responses: list[str],
        draw: int = 0,
        member: int = 0,
    ) -> JudgeTask:
        """One call grading every one of ``responses`` (in this order) on ``rubric``."""
        judge = self.members[member]
        labels = answer_rubrics(rubric, len(responses))
        request = self.renderer.render_group(rubric, context, responses, labels, judge)
        key = cache_key(
            model_id=judge.model_id,
            endpoint=self.endpoint_url,
            request=request,
            rubric_hash=rubric.content_hash,
            template_hash=self.renderer.group_hash,
            draw=draw,
        )
        fence_key = self.renderer.group_key(context, responses)
        joined = "\n".join(responses)
        return JudgeTask(key, labels, request, fence_key, joined, True, member=member, grouped=True)
