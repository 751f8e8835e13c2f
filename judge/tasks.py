"""Judge tasks: one rendered request with its cache key, for a given judge of the panel.

Every kind of judgement (``judge.kinds``: one rubric, several in one call, a checklist, a
group of responses, a pair) becomes a ``JudgeTask`` here, so the planner decides what to
judge, the kind how its request is rendered, and this module how a task's cache identity is
made.
"""

from __future__ import annotations

from collections.abc import Sequence

from judge.cache import cache_key
from judge.caller import JudgeTask
from judge.config import JudgeSettings
from judge.kinds import Ask
from judge.kinds import kind as kind_named
from judge.label import Answer
from judge.prompt import JudgeInput, PromptRenderer
from judge.rubric import Rubric


class TaskMaker:
    """Renders tasks for the panel's judges (``member``: index in config order)."""

    def __init__(
        self, renderer: PromptRenderer, members: Sequence[JudgeSettings], endpoint_url: str
    ) -> None:
        self.renderer = renderer
        self.members = list(members)
        self.endpoint_url = endpoint_url

    def make(self, kind: str, ask: Ask, draw: int = 0, member: int = 0) -> JudgeTask:
        """The ``kind`` request asking ``ask`` of judge ``member`` (``draw`` > 0: repeated).

        The cache key hashes the request, the rubrics and the kind's templates.
        """
        chosen = kind_named(kind)
        judge = self.members[member]
        rendered = chosen.render(self.renderer, ask, judge)
        key = cache_key(
            model_id=judge.model_id,
            endpoint=self.endpoint_url,
            request=rendered.request,
            rubric_hash="+".join(r.content_hash for r in ask.rubrics),
            template_hash=self.renderer.templates.hash_with(chosen.templates),
            draw=draw,
        )
        return JudgeTask(
            key,
            rendered.answers,
            rendered.request,
            rendered.fence_key,
            rendered.judged,
            kind=chosen.name,
            member=member,
        )

    def task(self, rubric: Rubric, item: JudgeInput, draw: int = 0, member: int = 0) -> JudgeTask:
        """The judgement of ``item`` on ``rubric`` (``draw`` > 0: a repeated sample)."""
        return self.make("pointwise", Ask((rubric,), item), draw, member)

    def task_many(
        self,
        rubrics: tuple[Answer, ...],
        item: JudgeInput,
        draw: int = 0,
        kind: str | None = None,
        member: int = 0,
    ) -> JudgeTask:
        """One call judging ``item`` on all of ``rubrics`` (one rubric: the usual request)."""
        kind = kind or ("pointwise" if len(rubrics) == 1 else "combined")
        return self.make(kind, Ask(rubrics, item), draw, member)

    def group_task(
        self,
        rubric: Rubric,
        context: JudgeInput,
        responses: list[str],
        draw: int = 0,
        member: int = 0,
    ) -> JudgeTask:
        """One call grading every one of ``responses`` (in this order) on ``rubric``."""
        return self.make("group", Ask((rubric,), context, tuple(responses)), draw, member)
