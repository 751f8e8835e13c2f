"""Plan a batch: samples -> screened flags, one ``Plan`` per judged sample, the unique tasks.

Planning makes no call (the substance check, which does, is handed in as ``screen``), so
the batch job path plans with exactly this code and never runs the judges to find out
which requests a run would send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from judge.caller import JudgeTask
from judge.checklist import SampleRubric, criterion_labels, implicit_rubric
from judge.checkrun import CheckOutcomes, CheckRunner
from judge.config import SAMPLE_RUBRIC, RewardConfig
from judge.contract import Sample, duplicate_ids, parse_sample, shown_id
from judge.deadline import Deadline
from judge.errors import JudgeError
from judge.group import answer_name, context_key, orders, shuffled, split
from judge.guard import Guard
from judge.plan import Plan, Slot, reference_view
from judge.prompt import JudgeInput, judged_size
from judge.rubric import Rubric
from judge.screen import guard_flag, own_rubric
from judge.tasks import TaskMaker
from judge.verdict import Unscored

log = logging.getLogger("judge")
T = TypeVar("T")
# More guarded flags for the samples the rules let through (the substance check).
Screen = Callable[[dict[int, JudgeInput]], dict[int, str]]


@dataclass
class BatchPlan:
    """A batch's samples (malformed ones marked), guarded flags, plans and unique tasks."""

    samples: list[Sample]
    guarded: dict[int, str] = field(default_factory=dict)
    plans: dict[int, Plan] = field(default_factory=dict)
    items: dict[int, JudgeInput] = field(default_factory=dict)  # the planned samples' items
    tasks: dict[str, JudgeTask] = field(default_factory=dict)  # by key, in planning order
    judgements: int = 0  # every slot of every plan, before de-duplication
    # The verifiable checks' results, and the samples a gated check floored without a plan.
    checks: CheckOutcomes = field(default_factory=CheckOutcomes)

    @property
    def deduplicated(self) -> int:
        """Judgements that share another sample's task (made once)."""
        return self.judgements - sum(len(t.rubrics) for t in self.tasks.values())


class Planner:
    """What judging takes: tasks per sample and rubric, group slots, calibration items."""

    def __init__(
        self, config: RewardConfig, rubrics: dict[str, Rubric], maker: TaskMaker, guard: Guard
    ) -> None:
        self.config = config
        self.rubrics = rubrics
        self.maker = maker
        self.guard = guard

    @property
    def members(self) -> int:
        """How many judges make each judgement (one without a panel)."""
        return len(self.maker.members)

    def guard_flag(self, item: JudgeInput) -> str | None:
        """The rule guard's flag for ``item`` (None: left to the judges)."""
        return guard_flag(self.config, self.guard, item)

    def plan(self, item: JudgeInput, own: SampleRubric | None = None) -> Plan:
        """What judging ``item`` takes: its tasks, and outcomes known without a call.

        Fixed rubrics share one task in combined mode. A rubric that requires the reference
        answer is unscored without one (never judged blind), and one that ignores it is
        judged without it. Rubrics in group mode are left to the batch (``add_group_slots``).
        The sample's own rubric (``own``) adds the ``sample_rubric`` dimension. A panel makes
        every call once per judge.
        """
        plan = Plan()
        fixed = {} if (own is not None and self.config.sample_rubric.only) else self.rubrics
        judged: list[Rubric] = []
        for name, rubric in fixed.items():
            plan.dimensions.append(name)
            if rubric.reference == "required" and item.reference is None:
                plan.preset[name] = Unscored(
                    reason="reference_missing", detail="the rubric requires a reference answer"
                )
            elif self.config.mode(name) == "group":
                plan.grouped.append(rubric)
            else:
                judged.append(rubric)
        for m in range(self.members):
            if self.config.judge.combine_rubrics and len(judged) > 1:
                task = self.maker.task_many(tuple(judged), reference_view(judged, item), member=m)
                for r in judged:
                    plan.tasks.setdefault(r.name, []).append(Slot(task, r.name, m))
            else:
                for r in judged:
                    task = self.maker.task(r, reference_view([r], item), member=m)
                    plan.tasks.setdefault(r.name, []).append(Slot(task, r.name, m))
        if own is not None:
            self._plan_own(plan, item, own)
        return plan

    def _plan_own(self, plan: Plan, item: JudgeInput, own: SampleRubric) -> None:
        """The ``sample_rubric`` dimension of ``plan``.

        An explicit checklist is one more call with one 0/1 answer per criterion; implicit
        checklists and markdown rubrics are judged like a file rubric.
        """
        plan.dimensions.append(SAMPLE_RUBRIC)
        if own.rubric is None and self.config.sample_rubric.mode == "explicit":
            plan.criteria = own.criteria
            for m in range(self.members):
                criteria = criterion_labels(own)
                task = self.maker.task_many(criteria, item, kind="checklist", member=m)
                for r in task.rubrics:
                    plan.tasks.setdefault(r.name, []).append(Slot(task, r.name, m))
            return
        scale = self.config.sample_rubric.implicit_scale
        plan.own_rubric = own.rubric or implicit_rubric(own, scale)
        for m in range(self.members):
            task = self.maker.task(plan.own_rubric, item, member=m)
            plan.tasks.setdefault(SAMPLE_RUBRIC, []).append(Slot(task, SAMPLE_RUBRIC, m))

    def group_slots(
        self, rubric: Rubric, items: Sequence[JudgeInput], draw: int = 0, member: int | None = None
    ) -> list[list[Slot]]:
        """Each item's slots when ``items`` (one conversation's responses) are judged together.

        Identical responses share their slots; a part of one response is judged pointwise.
        ``member``: one panel judge only (calibration), else every judge.
        """
        settings = self.config.judge
        context = items[0]
        judges = range(self.members) if member is None else [member]
        ordered = shuffled(self.maker.renderer.secret, context, [i.response for i in items])
        slots: dict[str, list[Slot]] = {r: [] for r in ordered}
        # what the judge reads, removal and line markers included
        sizes = {r: judged_size(r, settings.spotlight) for r in ordered}
        for part in split(
            ordered, settings.group_max_size, settings.group_max_chars, sizes.__getitem__
        ):
            for m in judges:
                if len(part) == 1:
                    task = self.maker.task(rubric, replace(context, response=part[0]), draw, m)
                    slots[part[0]].append(Slot(task, rubric.name, m))
                    continue
                for order, responses in enumerate(orders(part, settings.group_orders)):
                    task = self.maker.group_task(rubric, context, responses, draw, m)
                    for position, response in enumerate(responses):
                        slots[response].append(Slot(task, answer_name(position), m, order))
        return [slots[i.response] for i in items]

    def group_rows(
        self,
        rubric: Rubric,
        items: Sequence[JudgeInput],
        draw: int = 0,
        member: int | None = None,
    ) -> list[list[Slot]]:
        """Each item's group-mode slots, items grouped by conversation (and reference)."""
        views = [reference_view([rubric], item) for item in items]
        by_context: dict[str, list[int]] = {}
        for i, view in enumerate(views):
            by_context.setdefault(context_key(view), []).append(i)
        rows: list[list[Slot]] = [[] for _ in items]
        for indexes in by_context.values():
            group = self.group_slots(rubric, [views[i] for i in indexes], draw, member)
            for i, row in zip(indexes, group, strict=True):
                rows[i] = row
        return rows

    def add_group_slots(self, plans: dict[int, Plan], items: dict[int, JudgeInput]) -> None:
        """Slots of the group-mode rubrics: each conversation's responses judged together."""
        for rubric in self.rubrics.values():
            indexes = [i for i, plan in plans.items() if rubric in plan.grouped]
            rows = self.group_rows(rubric, [items[i] for i in indexes])
            for index, slots in zip(indexes, rows, strict=True):
                plans[index].tasks[rubric.name] = slots

    def item_slots(
        self, rubric: Rubric, items: list[JudgeInput], draws: int, member: int = 0
    ) -> list[list[Slot]]:
        """Each item's slots on ``rubric`` by one judge, ``draws`` times (calibration).

        Items are judged as the Lambda judges samples, so a map fits the verdicts it will be
        applied to: in combined mode in one call with every rubric of the config; in group
        mode together with the items that share their conversation (each order's verdict is
        one slot of the item).
        """
        if self.config.mode(rubric.name) == "group" and rubric.name in self.rubrics:
            per_draw = [self.group_rows(rubric, items, d, member) for d in range(draws)]
            return [[s for row in rows for s in row] for rows in zip(*per_draw, strict=True)]
        combined = self.config.judge.combine_rubrics and rubric.name in self.rubrics
        judged = tuple(self.rubrics.values()) if combined else (rubric,)
        return [
            [
                Slot(self.maker.task_many(judged, item, d, member=member), rubric.name, member)
                for d in range(draws)
            ]
            for item in items
        ]


def unique_tasks(slots: Sequence[Sequence[Slot]]) -> list[JudgeTask]:
    """The distinct tasks of rows of slots, in first-seen order."""
    return list({s.task.key: s.task for row in slots for s in row}.values())


def plan_batch(
    planner: Planner,
    raw_samples: list[Any],
    screen: Screen | None = None,
    checks: CheckRunner | None = None,
    deadline: Deadline | None = None,
) -> BatchPlan:
    """Every sample parsed, screened, checked and planned; the batch's tasks de-duplicated.

    ``screen`` adds guarded flags for the samples the rules let through (the substance
    check); without it only the rules screen. ``checks`` run on the samples the rules let
    through, before anything else: a sample a gated check short-circuits is neither screened
    further nor planned (past ``deadline`` samples are left unchecked, unscored). Nothing
    here calls a judge.
    """
    samples = [parse_sample(i, raw) for i, raw in enumerate(raw_samples)]
    if dupes := duplicate_ids(samples):
        log.warning("duplicate sample ids in the batch: %s", ", ".join(map(shown_id, dupes[:10])))
    batch = BatchPlan(samples)
    owns = _screen_rules(planner, batch)
    if checks:
        items = {i: it for i in owns if (it := samples[i].item) is not None}
        batch.checks = checks.run_batch(items, raw_samples, deadline)
        for i in batch.checks.short_circuited:
            del owns[i]
    if screen is not None:
        batch.guarded.update(screen({i: it for i in owns if (it := samples[i].item) is not None}))
    for i, own in owns.items():
        item = samples[i].item
        if i in batch.guarded or item is None:
            continue
        plan = _attempt(samples, i, partial(planner.plan, item, own))
        if plan is not None:
            batch.plans[i] = plan
    batch.items = {i: it for i in batch.plans if (it := samples[i].item) is not None}
    planner.add_group_slots(batch.plans, batch.items)
    for plan in batch.plans.values():
        for task in plan.all_tasks():
            batch.tasks.setdefault(task.key, task)
            batch.judgements += 1
    return batch


def _screen_rules(planner: Planner, batch: BatchPlan) -> dict[int, SampleRubric | None]:
    """Guarded flags by the rules; the samples left to the judges, with their own rubric."""
    samples = batch.samples
    owns: dict[int, SampleRubric | None] = {}
    for i, s in enumerate(samples):
        if s.item is None:
            continue
        try:
            own = own_rubric(planner.config, s)
        except (ValueError, OverflowError) as exc:  # bad rubric data: this sample's own
            samples[i] = replace(s, item=None, problem=f"bad rubric: {exc}"[:500])
            continue
        if s.unsupported:
            batch.guarded[s.index] = f"unsupported: {s.unsupported}"
            continue
        flag = _attempt(samples, i, partial(planner.guard_flag, s.item))
        if flag is not None:
            batch.guarded[s.index] = flag
        elif samples[i].item is not None:
            owns[i] = own
    return owns


def _attempt(samples: list[Sample], i: int, step: Callable[[], T]) -> T | None:
    """``step()`` for sample ``i``; an error of one hostile sample marks it malformed.

    A broken template or config (``JudgeError``) would fail every sample alike: raised.
    """
    try:
        return step()
    except JudgeError:
        raise
    except Exception as exc:  # one hostile sample is that sample's problem
        log.exception("sample %d could not be prepared", i)
        problem = f"cannot be judged ({exc!r})"[:200]
        samples[i] = replace(samples[i], item=None, problem=problem)
        return None
