"""Score a batch: parse samples, guard, render, de-duplicate, judge in parallel, combine.

This is the one code path behind the Lambda handler, ``judge score`` and calibration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any, TypeVar

from judge.artefact import endpoint_kind, maps_in_force
from judge.bedrock import make_client
from judge.cache import VerdictCache, cache_key
from judge.caller import CallStats, JudgeCaller, JudgeTask, Outcomes
from judge.checklist import (
    SampleRubric,
    criterion_rubrics,
    implicit_rubric,
    parse_sample_rubric,
)
from judge.config import SAMPLE_RUBRIC, RewardConfig, load_config
from judge.contract import Sample, duplicate_ids, parse_sample, shown_id
from judge.deadline import Deadline
from judge.errors import JudgeError
from judge.group import answer_name, answer_rubrics, context_key, orders, shuffled, split
from judge.guard import Guard, Phrase, bundled_phrases, core, load_lexicon
from judge.limiter import AdaptiveLimit
from judge.maps import ScoreMap
from judge.panel import settle, warn_same_family
from judge.plan import ChecklistResult, Judgement, Plan, Slot, reference_view
from judge.prompt import JudgeInput, Kind, PromptRenderer, judged_size
from judge.reward import RESPONSE_INDUCED, Dimension, combine, fill_unscored, judged, normalize
from judge.rubric import Rubric, load_rubrics
from judge.secret import load_secret
from judge.substance import SUBSTANCE, SubstanceCheck, SubstanceCounts
from judge.substance import flag as substance_flag
from judge.verdict import Outcome, Unscored

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

log = logging.getLogger("judge")
T = TypeVar("T")
# A judge that accepts connections and never answers is silent until the read timeout (60 s,
# per retry): the wait says so every this many seconds instead of printing nothing.
SILENCE_WARNING_S = 20.0

Progress = Callable[[int, int], None]


@dataclass
class SampleResult:
    """The reward for one sample and everything that explains it."""

    id: Any
    reward: float
    dimensions: list[Dimension] = field(default_factory=list)
    unscored: bool = False
    guarded: str | None = None
    malformed: str | None = None
    gate: str | None = None
    refused: bool = False
    stale_calibration: int = 0
    checklist: ChecklistResult | None = None

    def metrics(self) -> list[tuple[str, float, str]]:
        """``metrics_list`` entries: dimension scores (0..1) and flags (0/1)."""
        out: list[tuple[str, float, str]] = [
            (d.rubric, d.normalized, "Reward") for d in self.dimensions if d.normalized is not None
        ]
        # Disagreement: between a panel's judges, and between a group's two orders.
        out += [
            (f"panel_spread_{d.rubric}", d.spread, "Metric")
            for d in self.dimensions
            if d.spread is not None
        ]
        out += [
            (f"order_gap_{d.rubric}", d.order_gap, "Metric")
            for d in self.dimensions
            if d.order_gap is not None
        ]
        out += [
            (
                "unscored_dimensions",
                float(sum(d.normalized is None for d in self.dimensions)),
                "Metric",
            ),
            ("unscored", float(self.unscored), "Metric"),
            ("guarded", float(self.guarded is not None), "Metric"),
            ("malformed", float(self.malformed is not None), "Metric"),
            ("gated", float(self.gate is not None), "Metric"),
            ("refused", float(self.refused), "Metric"),
            *(self.checklist.metrics() if self.checklist else []),
            ("calibration_stale", float(self.stale_calibration), "Metric"),
        ]
        return out


@dataclass
class BatchResult:
    """All samples' results, in input order, and the batch's counters."""

    results: list[SampleResult]
    stats: CallStats
    judgements: int = 0
    deduplicated: int = 0
    wall_s: float = 0.0
    # Per judge model id: its calls that ended without an answer (errors, deadline).
    failed_calls: dict[str, int] = field(default_factory=dict)
    # The substance check's figures (its calls' tokens and cost are in ``stats`` too).
    substance: SubstanceCounts = field(default_factory=SubstanceCounts)

    def scores(self, rubric: str) -> list[float]:
        """The rubric's scored (0..1) values across the batch."""
        return [
            d.normalized
            for r in self.results
            for d in r.dimensions
            if d.rubric == rubric and d.normalized is not None
        ]

    def counts(self) -> dict[str, int]:
        """How many samples were unscored, guarded, malformed and gated."""
        return {
            "unscored": sum(r.unscored for r in self.results),
            "guarded": sum(r.guarded is not None for r in self.results),
            "malformed": sum(r.malformed is not None for r in self.results),
            "gated": sum(r.gate is not None for r in self.results),
            "refused": sum(r.refused for r in self.results),
        }


class Evaluator:
    """Holds what a warm Lambda keeps between invocations: config, rubrics, templates, client."""

    def __init__(
        self,
        config: RewardConfig,
        rubrics: dict[str, Rubric],
        renderer: PromptRenderer,
        caller: JudgeCaller | Sequence[JudgeCaller],
    ) -> None:
        self.config = config
        self.rubrics = rubrics
        self.renderer = renderer
        # One caller per judge (a panel's members in config order; one without a panel).
        self.callers = [caller] if isinstance(caller, JudgeCaller) else list(caller)
        self.caller = self.callers[0]
        self.members = config.judge.members()
        if len(self.callers) != len(self.members):
            raise JudgeError(
                f"{len(self.members)} judge(s) configured but {len(self.callers)} caller(s) given"
            )
        self.guard = make_guard(config)
        self.substance = (
            SubstanceCheck.build(config.guard, config.judge, config.retry, renderer, self.caller)
            if config.guard.enabled
            else None
        )
        warn_same_family(config.judge)
        # Calibration maps that match the rubric, templates, mode and model in use (per panel
        # judge); stale ones are reported (log warning + metric) and not applied.
        self.endpoint_url = str(self.caller.client.meta.endpoint_url)
        self.endpoint = endpoint_kind(self.endpoint_url)
        self.member_maps: list[dict[str, ScoreMap]] = []
        self.stale_calibration: dict[str, str] = {}
        for judge in self.members:
            maps, stale = maps_in_force(
                config.path("calibration"),
                rubrics,
                renderer.hash_for,
                judge,
                self.endpoint,
                modes=config.mode,
                member=judge.model_id if config.judge.panel else None,
            )
            self.member_maps.append(maps)
            self.stale_calibration.update(stale)
        self.maps = self.member_maps[0]

    @classmethod
    def from_config(
        cls, path: str | Path | None = None, *, client: BedrockRuntimeClient | None = None
    ) -> Evaluator:
        """Build from a config file (``--config``, ``JUDGE_CONFIG`` or ``reward.toml``)."""
        return cls.from_settings(load_config(path), client=client)

    @classmethod
    def from_settings(
        cls, config: RewardConfig, *, client: BedrockRuntimeClient | None = None
    ) -> Evaluator:
        """Build from a validated config (``client``: the first judge's, e.g. in tests)."""
        rubrics = load_rubrics(config.path("rubrics"), list(config.rubrics))
        renderer = PromptRenderer(config.path("prompts"), load_secret(config.cache_dir()))
        cache = VerdictCache(config.cache_dir(), config.runtime.cache_size_limit_mb)
        callers = []
        for i, judge in enumerate(config.judge.members()):
            own = client if (client is not None and i == 0) else None
            limit = (
                AdaptiveLimit(config.runtime.concurrency)
                if config.runtime.adaptive_concurrency
                else None
            )
            callers.append(
                JudgeCaller(
                    own or make_client(judge, config.runtime.concurrency),
                    judge,
                    config.retry,
                    cache,
                    limit,
                )
            )
        return cls(config, rubrics, renderer, callers)

    def close(self) -> None:
        """Release the cache and the HTTP connection pools."""
        self.caller.cache.close()
        for caller in self.callers:
            caller.client.close()

    def to_unit(self, rubric: Rubric, score: int, member: int = 0) -> float:
        """A verdict mapped to 0..1: through the judge's calibration map when one is in force."""
        score_map = self.member_maps[member].get(rubric.name)
        if score_map is not None:
            return score_map.to_unit(score)
        return normalize(score, rubric.scale_min, rubric.scale_max)

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

    def group_slots(
        self, rubric: Rubric, items: Sequence[JudgeInput], draw: int = 0, member: int | None = None
    ) -> list[list[Slot]]:
        """Each item's slots when ``items`` (one conversation's responses) are judged together.

        Identical responses share their slots; a part of one response is judged pointwise.
        ``member``: one panel judge only (calibration), else every judge.
        """
        settings = self.config.judge
        context = items[0]
        judges = range(len(self.members)) if member is None else [member]
        ordered = shuffled(self.renderer.secret, context, [i.response for i in items])
        slots: dict[str, list[Slot]] = {r: [] for r in ordered}
        # what the judge reads, removal and line markers included
        sizes = {r: judged_size(r, settings.spotlight) for r in ordered}
        for part in split(
            ordered, settings.group_max_size, settings.group_max_chars, sizes.__getitem__
        ):
            for m in judges:
                if len(part) == 1:
                    task = self.task(rubric, replace(context, response=part[0]), draw, m)
                    slots[part[0]].append(Slot(task, rubric.name, m))
                    continue
                for order, responses in enumerate(orders(part, settings.group_orders)):
                    task = self.group_task(rubric, context, responses, draw, m)
                    for position, response in enumerate(responses):
                        slots[response].append(Slot(task, answer_name(position), m, order))
        return [slots[i.response] for i in items]

    def sample_tasks(self, item: JudgeInput) -> dict[str, JudgeTask]:
        """Each fixed rubric's first task for ``item`` (pointwise; see ``plan``)."""
        return {name: slots[0].task for name, slots in self.plan(item).tasks.items()}

    def plan(self, item: JudgeInput, own: SampleRubric | None = None) -> Plan:
        """What judging ``item`` takes: its tasks, and outcomes known without a call.

        Fixed rubrics share one task in combined mode. A rubric that requires the reference
        answer is unscored without one (never judged blind), and one that ignores it is
        judged without it. Rubrics in group mode are left to the batch (``add_group_slots``).
        The sample's own rubric (``own``) adds the ``sample_rubric`` dimension: a checklist
        judged explicitly is one more call with one 0/1 answer per criterion; implicit
        checklists and markdown rubrics are judged like a file rubric. A panel makes every
        call once per judge.
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
        for m in range(len(self.members)):
            if self.config.judge.combine_rubrics and len(judged) > 1:
                task = self.task_many(tuple(judged), reference_view(judged, item), member=m)
                for r in judged:
                    plan.tasks.setdefault(r.name, []).append(Slot(task, r.name, m))
            else:
                for r in judged:
                    task = self.task(r, reference_view([r], item), member=m)
                    plan.tasks.setdefault(r.name, []).append(Slot(task, r.name, m))
        if own is not None:
            plan.dimensions.append(SAMPLE_RUBRIC)
            if own.rubric is None and self.config.sample_rubric.mode == "explicit":
                plan.criteria = own.criteria
                for m in range(len(self.members)):
                    task = self.task_many(criterion_rubrics(own), item, kind="checklist", member=m)
                    for r in task.rubrics:
                        plan.tasks.setdefault(r.name, []).append(Slot(task, r.name, m))
            else:
                scale = self.config.sample_rubric.implicit_scale
                plan.own_rubric = own.rubric or implicit_rubric(own, scale)
                for m in range(len(self.members)):
                    task = self.task(plan.own_rubric, item, member=m)
                    plan.tasks.setdefault(SAMPLE_RUBRIC, []).append(Slot(task, SAMPLE_RUBRIC, m))
        return plan

    def add_group_slots(self, plans: dict[int, Plan], items: dict[int, JudgeInput]) -> None:
        """Slots of the group-mode rubrics: each conversation's responses judged together."""
        for rubric in self.rubrics.values():
            indexes = [i for i, plan in plans.items() if rubric in plan.grouped]
            rows = self.group_rows(rubric, [items[i] for i in indexes])
            for index, slots in zip(indexes, rows, strict=True):
                plans[index].tasks[rubric.name] = slots

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

    def judge_items(
        self,
        rubric: Rubric,
        items: list[JudgeInput],
        draws: int,
        deadline: Deadline,
        progress: Progress | None = None,
        member: int = 0,
    ) -> tuple[list[list[Outcome]], CallStats]:
        """Raw outcomes for each item by one judge, ``draws`` times (calibration's entry point).

        Items are judged as the Lambda judges samples, so a map fits the verdicts it will be
        applied to: in combined mode in one call with every rubric of the config; in group
        mode together with the items that share their conversation (each order's verdict is
        one outcome of the item).
        """
        if self.config.mode(rubric.name) == "group" and rubric.name in self.rubrics:
            per_draw = [self.group_rows(rubric, items, d, member) for d in range(draws)]
            slots = [[s for row in rows for s in row] for rows in zip(*per_draw, strict=True)]
        else:
            combined = self.config.judge.combine_rubrics and rubric.name in self.rubrics
            judged = tuple(self.rubrics.values()) if combined else (rubric,)
            slots = [
                [
                    Slot(self.task_many(judged, item, d, member=member), rubric.name, member)
                    for d in range(draws)
                ]
                for item in items
            ]
        unique = {s.task.key: s.task for row in slots for s in row}
        stats = CallStats()
        outcomes = self._judge_all(list(unique.values()), deadline, stats, progress)
        return [[outcomes[s.task.key][s.answer] for s in row] for row in slots], stats

    def evaluate(
        self, raw_samples: list[Any], deadline: Deadline, progress: Progress | None = None
    ) -> BatchResult:
        """Score every sample; always returns one result per input, in order."""
        started = time.monotonic()
        samples = [parse_sample(i, raw) for i, raw in enumerate(raw_samples)]
        if dupes := duplicate_ids(samples):
            log.warning(
                "duplicate sample ids in the batch: %s", ", ".join(map(shown_id, dupes[:10]))
            )
        guarded: dict[int, str] = {}
        tasks: dict[str, JudgeTask] = {}
        plans: dict[int, Plan] = {}
        owns: dict[int, SampleRubric | None] = {}  # samples the rules left to the judges
        for i, s in enumerate(samples):
            if s.item is None:
                continue
            try:
                own = self._own_rubric(s)
            except (ValueError, OverflowError) as exc:  # bad rubric data: this sample's own
                samples[i] = replace(s, item=None, problem=f"bad rubric: {exc}"[:500])
                continue
            if s.unsupported:
                guarded[s.index] = f"unsupported: {s.unsupported}"
                continue
            flag = self._prepare(samples, i, partial(self._guard, s.item))
            if flag is not None:
                guarded[s.index] = flag
            elif samples[i].item is not None:
                owns[i] = own
        stats = CallStats()
        substance = SubstanceCounts()
        undecided = {i: it for i in owns if (it := samples[i].item) is not None}
        guarded.update(self._substance(undecided, deadline, stats, substance))
        for i, own in owns.items():
            item = samples[i].item
            if i in guarded or item is None:
                continue
            plan = self._prepare(samples, i, partial(self.plan, item, own))
            if plan is not None:
                plans[i] = plan
        items = {i: it for i in plans if (it := samples[i].item) is not None}
        self.add_group_slots(plans, items)
        for plan in plans.values():
            for task in plan.all_tasks():
                tasks.setdefault(task.key, task)
        keys = [s.task.key for p in plans.values() for slots in p.tasks.values() for s in slots]
        hits: set[str] = set()  # tasks the verdict cache answered (for --details)
        outcomes = self._judge_all(list(tasks.values()), deadline, stats, progress, hits)
        alone = self._group_failures_alone(plans, items, outcomes)
        if alone:
            outcomes.update(self._judge_all(alone, deadline, stats, progress, hits))
        results = self._assemble(samples, guarded, plans, outcomes, hits)
        unique_judgements = sum(len(t.rubrics) for t in tasks.values())
        return BatchResult(
            results,
            stats,
            judgements=len(keys),
            deduplicated=len(keys) - unique_judgements,
            wall_s=time.monotonic() - started,
            failed_calls=self._failed_calls([*tasks.values(), *alone], outcomes),
            substance=substance,
        )

    def _prepare(self, samples: list[Sample], i: int, step: Callable[[], T]) -> T | None:
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

    def _substance(
        self,
        items: dict[int, JudgeInput],
        deadline: Deadline,
        stats: CallStats,
        counts: SubstanceCounts,
    ) -> dict[int, str]:
        """The guarded flags of short responses the substance model finds empty.

        One concurrent batch of calls (cached, deduplicated) for every short response the
        rules passed. A failed call leaves its response to the judges: counted, never floored.
        """
        check = self.substance
        if check is None:
            return {}
        asked: dict[int, JudgeTask] = {}
        for i, item in items.items():
            task = self._prepare_task(check, item, i)
            if task is not None:
                asked[i] = task
        if not asked:
            return {}
        unique = list({t.key: t for t in asked.values()}.values())
        check.caller.tripwire = self.caller.tripwire  # a CLI run stops when the server is down
        calls, hits = stats.calls, stats.cache_hits
        outcomes = self._judge_all(unique, deadline, stats, None, callers=[check.caller])
        counts.asked += len(asked)
        counts.calls += stats.calls - calls
        counts.cache_hits += stats.cache_hits - hits
        flags: dict[int, str] = {}
        failures: list[Unscored] = []
        for i, task in asked.items():
            outcome = outcomes[task.key][SUBSTANCE.name]
            if isinstance(outcome, Unscored):
                failures.append(outcome)
            elif (flag := substance_flag(outcome)) is not None:
                flags[i] = flag
        counts.floored += len(flags)
        counts.failed += len(failures)
        if failures:
            log.warning(
                "substance check %s: %d of %d responses without an answer, left to the judges"
                " (%s: %s)",
                check.caller.settings.model_id,
                len(failures),
                len(asked),
                failures[0].reason,
                failures[0].detail[:200],
            )
        return flags

    @staticmethod
    def _prepare_task(check: SubstanceCheck, item: JudgeInput, i: int) -> JudgeTask | None:
        """The substance task of a short response (None: long, or it cannot be rendered)."""
        try:
            return check.task(item) if check.wanted(item.response) else None
        except JudgeError:
            raise
        except Exception:  # a hostile response the check cannot render goes to the judges
            log.exception("sample %d: substance check skipped", i)
            return None

    def _failed_calls(
        self, tasks: list[JudgeTask], outcomes: dict[str, Outcomes]
    ) -> dict[str, int]:
        """Calls per judge that gave no usable answer, each judge's first failure logged.

        Errors, the deadline, and answers that could not be read (all of a call's verdicts
        unparseable or off the scale). A panel shrinks past a failing judge without losing
        the sample, so a judge that fails every call (a wrong model id, no access, answers
        that break the schema) would otherwise go unnoticed.
        """
        failed: dict[int, list[Unscored]] = {}
        total: dict[int, int] = {}
        for task in tasks:
            total[task.member] = total.get(task.member, 0) + 1
            errors = [o for o in outcomes[task.key].values() if isinstance(o, Unscored)]
            if errors and len(errors) == len(task.rubrics) and errors[0].reason != "refused":
                failed.setdefault(task.member, []).append(errors[0])
        for member, errors in failed.items():
            log.warning(
                "judge %s: %d of %d calls failed (%s: %s)",
                self.members[member].model_id,
                len(errors),
                total[member],
                errors[0].reason,
                errors[0].detail[:200],
            )
        return {self.members[m].model_id: len(e) for m, e in sorted(failed.items())}

    def _group_failures_alone(
        self, plans: dict[int, Plan], items: dict[int, JudgeInput], outcomes: dict[str, Outcomes]
    ) -> list[JudgeTask]:
        """Re-plan, pointwise, the responses a group call refused or left unscored.

        In a group call one response can cost its peers their verdicts: a content filter it
        trips refuses the whole call, and text in it can talk the judge out of answering for
        the others (left out, or unreadable). Judged alone, each response answers for
        itself: only the response that trips the filter is refused, and only one that breaks
        the judge's answer on its own is unreadable (and gated as such). Failed calls and the
        deadline are not retried here. Returns the new tasks; their slots replace the group's.
        """
        new: dict[str, JudgeTask] = {}
        for index, plan in plans.items():
            for rubric in plan.grouped:
                slots = plan.tasks.get(rubric.name, [])
                failed = {
                    s.member
                    for s in slots
                    if s.task.grouped and _answer_failed(outcomes[s.task.key][s.answer])
                }
                if not failed:
                    continue
                kept = [s for s in slots if s.member not in failed]
                view = reference_view([rubric], items[index])
                for member in sorted(failed):
                    task = self.task(rubric, view, member=member)
                    kept.append(Slot(new.setdefault(task.key, task), rubric.name, member))
                plan.tasks[rubric.name] = kept
        if new:
            log.warning(
                "%d response(s) refused or left unscored in a group call: judging them alone",
                len(new),
            )
        return list(new.values())

    def _own_rubric(self, sample: Sample) -> SampleRubric | None:
        """The sample's own rubric, parsed (``ValueError``: bad rubric data)."""
        if not self.config.sample_rubric.enabled or sample.rubric_data is None:
            return None
        place, value = sample.rubric_data
        return parse_sample_rubric(place, value, self.config.sample_rubric)

    def _guard(self, item: JudgeInput) -> str | None:
        """The guard's flag for ``item`` (None when the guard is off or lets it through)."""
        if not self.config.guard.enabled:
            return None
        users = [n for n, t in enumerate(item.conversation) if t.role == "user"]
        last = users[-1] if users else None
        prompt = item.conversation[last].text if last is not None else None
        # The response may echo any other user turn or the system prompt as well.
        context = [
            t.text
            for n, t in enumerate(item.conversation)
            if n != last and t.role in ("user", "system")
        ]
        if (flag := self.guard.check(item.response, prompt, context)) is not None:
            return flag
        # The judge reads the text with a marker per line and per removed tag: a response
        # of removable tags must not grow past the limit on the way to the judge (a call
        # over the context fails, and a failed call is unscored, not floored).
        seen = judged_size(item.response, self.config.judge.spotlight)
        limit = self.config.guard.max_chars
        if seen > limit:
            return f"too_long: {seen} characters as the judge sees them (limit {limit})"
        return None

    def _judge_all(
        self,
        tasks: list[JudgeTask],
        deadline: Deadline,
        stats: CallStats,
        progress: Progress | None,
        hits: set[str] | None = None,
        callers: Sequence[JudgeCaller] | None = None,
    ) -> dict[str, Outcomes]:
        """Every task's outcomes: from the shared cache, else called concurrently.

        ``callers``: who makes the calls (by ``task.member``); default the judges.
        """
        callers = callers or self.callers
        outcomes: dict[str, Outcomes] = callers[0].cached(tasks, stats)  # one shared cache
        if hits is not None:
            hits.update(outcomes)
        pending = [t for t in tasks if t.key not in outcomes]
        total = len(tasks)
        if progress:
            progress(len(outcomes), total)
        if not pending:
            return outcomes
        by_key = {t.key: t for t in pending}
        jobs = [(t.key, partial(callers[t.member].judge, t, deadline, stats)) for t in pending]
        workers = min(self.config.runtime.concurrency, len(pending))
        # Calls still running at the deadline are abandoned, not awaited: the batch is
        # answered now. Their threads are daemons, so a CLI process exits without waiting
        # for their HTTP reads to time out; calls not started yet are dropped.
        for key, result in _run_on_daemons(jobs, workers, deadline):
            outcomes[key] = _outcomes(result, by_key[key])
            if progress:
                progress(len(outcomes), total)
        callers[0].store(pending, outcomes)
        late = Unscored(reason="deadline", detail="no verdict before the Lambda deadline")
        for task in pending:
            outcomes.setdefault(task.key, {r.name: late for r in task.rubrics})
        return outcomes

    def _assemble(
        self,
        samples: list[Sample],
        guarded: dict[int, str],
        plans: dict[int, Plan],
        outcomes: dict[str, Outcomes],
        hits: set[str],
    ) -> list[SampleResult]:
        floor = self.config.output.min
        results: list[SampleResult] = []
        combined: list[float | None] = []
        for s in samples:
            if s.problem is not None:
                log.warning(
                    "malformed sample %s (index %d): %s", shown_id(s.id), s.index, s.problem
                )
                results.append(SampleResult(s.id, 0.0, malformed=s.problem, unscored=True))
                combined.append(None)
                continue
            if s.index in guarded:
                results.append(SampleResult(s.id, floor, guarded=guarded[s.index]))
                combined.append(floor)
                continue
            plan = plans[s.index]
            own = plan.outcomes(outcomes)
            quorum = self.config.judge.min_members()
            checklist = plan.checklist(own, self.config.sample_rubric.partial, quorum)
            dims = [
                self._plan_dimension(plan, name, own, checklist, hits) for name in plan.dimensions
            ]
            if any((d.unscored_reason or "").startswith("refused") for d in dims):
                refused = self.config.refused_reward()
                results.append(SampleResult(s.id, refused, dims, refused=True))
                combined.append(refused)
                continue
            c = combine(dims, self.config)
            results.append(
                SampleResult(
                    s.id,
                    c.reward if c.reward is not None else 0.0,
                    dims,
                    unscored=c.reward is None,
                    gate=c.gate,
                    checklist=checklist,
                )
            )
            combined.append(c.reward)
        filled = fill_unscored(combined, [s.group for s in samples], self.config)
        for result, reward in zip(results, filled, strict=True):
            result.reward = reward
            result.stale_calibration = len(self.stale_calibration)
        return results

    def _plan_dimension(
        self,
        plan: Plan,
        name: str,
        own: dict[str, list[Judgement]],
        checklist: ChecklistResult | None,
        hits: set[str],
    ) -> Dimension:
        """One dimension's normalised score (an explicit checklist's comes from its criteria).

        Each judge's answer (reasoning, raw and calibrated score, cache hit) stays on it.
        """
        if name == SAMPLE_RUBRIC and checklist is not None:
            score = checklist.score
            return Dimension(name, score.score, None, score.reason or None)
        rubric = plan.own_rubric if name == SAMPLE_RUBRIC else self.rubrics[name]
        assert rubric is not None

        def to_unit(member: int, score: int) -> float:
            return self.to_unit(rubric, score, member)

        steps = rubric.scale_max - rubric.scale_min
        dimension = settle(name, own[name], to_unit, self.config.judge, steps)
        judges = [m.model_id for m in self.members]
        return replace(dimension, judgements=judged(own[name], judges, to_unit, hits))


def _run_on_daemons(
    jobs: Sequence[tuple[str, Callable[[], T]]], workers: int, deadline: Deadline
) -> Iterator[tuple[str, T | Exception]]:
    """Run ``jobs`` on ``workers`` daemon threads; yield (name, result or error) as each ends.

    Stops yielding at the deadline. One completion queue, so waiting costs O(1) per job
    (``concurrent.futures.wait`` re-arms every pending future on each call: O(n) per job).
    ThreadPoolExecutor's threads are joined at interpreter exit, so a CLI run against a
    hanging judge would print its answer and then wait out every read timeout; daemon
    threads do not hold the process.
    """
    todo: SimpleQueue[tuple[str, Callable[[], T]]] = SimpleQueue()
    done: SimpleQueue[tuple[str, T | Exception]] = SimpleQueue()
    stop = threading.Event()
    for job in jobs:
        todo.put(job)

    def work() -> None:
        while not stop.is_set():
            try:
                name, job = todo.get_nowait()
            except Empty:
                return
            try:
                done.put((name, job()))
            except Exception as exc:
                done.put((name, exc))

    for n in range(workers):
        threading.Thread(target=work, name=f"judge-{n}", daemon=True).start()
    try:
        left = len(jobs)
        while left:
            remaining = deadline.remaining()
            if remaining <= 0:
                return
            try:
                yield done.get(timeout=min(remaining, SILENCE_WARNING_S))
                left -= 1
            except Empty:
                if deadline.remaining() > 0:  # silence, not the deadline: say so, keep waiting
                    log.warning(
                        "no answer from the judge for %.0f s (%d calls waiting)",
                        SILENCE_WARNING_S,
                        left,
                    )
    finally:
        stop.set()


def make_guard(config: RewardConfig) -> Guard:
    """The guard for ``config``: the bundled lexicon plus the config's phrases and file."""
    settings = config.guard
    phrases = bundled_phrases()
    if settings.lexicon:
        phrases += load_lexicon((config.base_dir / settings.lexicon).resolve())
    phrases += tuple(Phrase(core(p), p, "config") for p in settings.extra_phrases if core(p))
    return Guard(phrases, settings.extra_patterns, settings.max_chars, settings.echo)


def _answer_failed(outcome: Outcome) -> bool:
    """A group answer that gave this response no verdict though the call itself worked."""
    return isinstance(outcome, Unscored) and outcome.reason in ("refused", *RESPONSE_INDUCED)


def _outcomes(result: Outcomes | Exception, task: JudgeTask) -> Outcomes:
    if not isinstance(result, Exception):
        return result
    log.error("judge call crashed: %r", result)
    crashed = Unscored(reason="judge_error", detail=f"internal error: {result!r}"[:300])
    return {r.name: crashed for r in task.rubrics}
