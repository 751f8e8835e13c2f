"""Score a batch: plan (samples -> tasks), run (tasks -> outcomes), assemble (-> rewards).

This is the one code path behind the Lambda handler, ``judge score`` and calibration. The
``Evaluator`` holds what a warm Lambda keeps and composes the steps, each its own module:
``judge.judges`` (the panel), ``judge.planner`` (screening and plans), ``judge.run``
(concurrent calls), ``judge.assemble`` (results).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.assemble import Assembler, BatchResult, SampleResult
from judge.caller import CallStats, JudgeCaller, JudgeTask, Outcomes
from judge.checklist import SampleRubric
from judge.checkrun import CheckRunner
from judge.config import RewardConfig, load_config
from judge.deadline import Deadline
from judge.judges import make_callers, make_panel
from judge.maps import ScoreMap
from judge.panel import warn_same_family
from judge.plan import Plan, Slot
from judge.planner import BatchPlan, Planner, plan_batch, unique_tasks
from judge.prompt import JudgeInput, Kind, PromptRenderer
from judge.rubric import Rubric, load_rubrics
from judge.run import Progress, Runner, failed_calls, group_failures_alone
from judge.screen import make_guard, substance_flags
from judge.secret import load_secret
from judge.substance import SubstanceCheck, SubstanceCounts
from judge.tasks import TaskMaker
from judge.verdict import Outcome

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

__all__ = ["BatchResult", "Evaluator", "Progress", "SampleResult"]


class Evaluator:
    """Holds what a warm Lambda keeps between invocations: config, rubrics, templates, judges."""

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
        # Calibration maps that match the rubric, templates, mode and model in use (per panel
        # judge); stale ones are reported (log warning + metric) and not applied.
        self.panel = make_panel(config, rubrics, renderer, self.callers)
        self.guard = make_guard(config)
        # The verifiable checks, built once (a table that cannot be built: SourceError).
        self.checks = CheckRunner.build(config)
        self.substance = (
            SubstanceCheck.build(config.guard, config.judge, config.retry, renderer, self.caller)
            if config.guard.enabled
            else None
        )
        warn_same_family(config.judge)
        self.endpoint_url = self.panel.endpoint_url
        self.endpoint = self.panel.endpoint
        self.member_maps: list[dict[str, ScoreMap]] = [j.maps for j in self.panel.judges]
        self.stale_calibration = self.panel.stale
        self.maps = self.member_maps[0]
        self.maker = TaskMaker(renderer, self.members, self.endpoint_url)
        self.planner = Planner(config, rubrics, self.maker, self.guard)
        self.runner = Runner(self.callers, config.runtime.concurrency)
        self.assembler = Assembler(config, rubrics, self.panel, self.checks)

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
        return cls(config, rubrics, renderer, make_callers(config, client))

    def close(self) -> None:
        """Release the cache and the HTTP connection pools."""
        self.caller.cache.close()
        for caller in self.callers:
            caller.client.close()

    def to_unit(self, rubric: Rubric, score: int, member: int = 0) -> float:
        """A verdict mapped to 0..1: through the judge's calibration map when one is in force."""
        return self.panel.to_unit(rubric, score, member)

    def task(self, rubric: Rubric, item: JudgeInput, draw: int = 0, member: int = 0) -> JudgeTask:
        """The judgement of ``item`` on ``rubric`` (``draw`` > 0: a repeated sample)."""
        return self.maker.task(rubric, item, draw, member)

    def task_many(
        self,
        rubrics: tuple[Rubric, ...],
        item: JudgeInput,
        draw: int = 0,
        kind: Kind | None = None,
        member: int = 0,
    ) -> JudgeTask:
        """One call judging ``item`` on all of ``rubrics`` (see ``judge.tasks``)."""
        return self.maker.task_many(rubrics, item, draw, kind, member)

    def group_task(
        self,
        rubric: Rubric,
        context: JudgeInput,
        responses: list[str],
        draw: int = 0,
        member: int = 0,
    ) -> JudgeTask:
        """One call grading every one of ``responses`` (in this order) on ``rubric``."""
        return self.maker.group_task(rubric, context, responses, draw, member)

    def group_rows(
        self, rubric: Rubric, items: Sequence[JudgeInput], draw: int = 0, member: int | None = None
    ) -> list[list[Slot]]:
        """Each item's group-mode slots, items grouped by conversation (and reference)."""
        return self.planner.group_rows(rubric, items, draw, member)

    def add_group_slots(self, plans: dict[int, Plan], items: dict[int, JudgeInput]) -> None:
        """Slots of the group-mode rubrics: each conversation's responses judged together."""
        self.planner.add_group_slots(plans, items)

    def plan(self, item: JudgeInput, own: SampleRubric | None = None) -> Plan:
        """What judging ``item`` takes (``judge.planner.Planner.plan``)."""
        return self.planner.plan(item, own)

    def sample_tasks(self, item: JudgeInput) -> dict[str, JudgeTask]:
        """Each fixed rubric's first task for ``item`` (pointwise; see ``plan``)."""
        return {name: slots[0].task for name, slots in self.plan(item).tasks.items()}

    def guard_flag(self, item: JudgeInput) -> str | None:
        """The rule guard's flag for ``item`` (None when the guard is off or lets it through)."""
        return self.planner.guard_flag(item)

    def judge_all(
        self,
        tasks: list[JudgeTask],
        deadline: Deadline,
        stats: CallStats,
        progress: Progress | None = None,
        hits: set[str] | None = None,
    ) -> dict[str, Outcomes]:
        """Every task's outcomes, from the verdict cache or the judges (``judge.run``)."""
        return self.runner.judge_all(tasks, deadline, stats, progress, hits)

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

        Items are judged as the Lambda judges samples (``Planner.item_slots``).
        """
        slots = self.planner.item_slots(rubric, items, draws, member)
        stats = CallStats()
        outcomes = self.judge_all(unique_tasks(slots), deadline, stats, progress)
        return [[outcomes[s.task.key][s.answer] for s in row] for row in slots], stats

    def plan_batch(
        self,
        raw_samples: list[Any],
        deadline: Deadline,
        stats: CallStats,
        counts: SubstanceCounts,
    ) -> BatchPlan:
        """The batch screened (rules, then the substance check's calls) and planned."""
        check = self.substance

        def screen(items: dict[int, JudgeInput]) -> dict[int, str]:
            if check is None:
                return {}
            check.caller.tripwire = self.caller.tripwire  # a CLI run stops when it is down
            return substance_flags(check, items, self.runner, deadline, stats, counts)

        return plan_batch(self.planner, raw_samples, screen, self.checks, deadline)

    def evaluate(
        self, raw_samples: list[Any], deadline: Deadline, progress: Progress | None = None
    ) -> BatchResult:
        """Score every sample; always returns one result per input, in order."""
        started = time.monotonic()
        stats = CallStats()
        substance = SubstanceCounts()
        batch = self.plan_batch(raw_samples, deadline, stats, substance)
        tasks = list(batch.tasks.values())
        hits: set[str] = set()  # tasks the verdict cache answered (for --details)
        outcomes = self.judge_all(tasks, deadline, stats, progress, hits)
        alone = group_failures_alone(batch.plans, batch.items, outcomes, self.maker)
        if alone:
            outcomes.update(self.judge_all(alone, deadline, stats, progress, hits))
        models = [m.model_id for m in self.members]
        return BatchResult(
            self.assembler.results(batch, outcomes, hits),
            stats,
            judgements=batch.judgements,
            deduplicated=batch.deduplicated,
            wall_s=time.monotonic() - started,
            failed_calls=failed_calls([*tasks, *alone], outcomes, models),
            substance=substance,
            checks_s=batch.checks.seconds,
        )
