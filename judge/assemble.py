"""Assemble results: a batch's outcomes, read back through its plans, as rewards.

Each dimension is settled from its judgements (a group's orders, then a panel's judges,
each judge's verdict through its own calibration map), then the dimensions are combined
into the reward; refusals, gates and unscored samples are decided here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from judge.caller import CallStats, Outcomes
from judge.checkrun import CheckRunner
from judge.checkrun import dimension as check_dimension
from judge.config import SAMPLE_RUBRIC, RewardConfig
from judge.contract import Sample, shown_id
from judge.judges import Panel
from judge.length import group_adjust
from judge.panel import judged, settle
from judge.plan import ChecklistResult, Judgement, Plan
from judge.planner import BatchPlan
from judge.reward import Dimension, combine, fill_unscored, gate_reward
from judge.rubric import Rubric
from judge.substance import SubstanceCounts

log = logging.getLogger("judge")


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
    # A gated check fired before judging: the gate's reward, no judge call made.
    short_circuited: bool = False
    # The batch's training signals (``judge.signals``): characters of the response (None:
    # malformed) and the prompt it answers (None: malformed; samples sharing it: a group).
    length: int | None = None
    group: str | None = None

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
        checks = [d for d in self.dimensions if d.check is not None]
        if checks:  # only with [checks]: a config without them answers as before
            out += [
                ("checks_unscored", float(sum(d.normalized is None for d in checks)), "Metric"),
                ("short_circuited", float(self.short_circuited), "Metric"),
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
    checks_s: float = 0.0  # wall time of the verifiable checks

    def check_dimensions(self) -> list[Dimension]:
        """Every check's dimension across the batch (scored or not)."""
        return [d for r in self.results for d in r.dimensions if d.check is not None]

    def scores(self, rubric: str) -> list[float]:
        """The rubric's scored (0..1) values across the batch."""
        return [
            d.normalized
            for r in self.results
            for d in r.dimensions
            if d.rubric == rubric and d.normalized is not None
        ]

    def counts(self) -> dict[str, int]:
        """How many samples were unscored, guarded, malformed, gated (short-circuited: checks)."""
        counts = {
            "unscored": sum(r.unscored for r in self.results),
            "guarded": sum(r.guarded is not None for r in self.results),
            "malformed": sum(r.malformed is not None for r in self.results),
            "gated": sum(r.gate is not None for r in self.results),
            "refused": sum(r.refused for r in self.results),
        }
        if self.check_dimensions():  # only with [checks]: the same figures as before without
            counts["short_circuited"] = self.short_circuited
        return counts

    @property
    def short_circuited(self) -> int:
        """Samples a gated check floored before any judge call."""
        return sum(r.short_circuited for r in self.results)


@dataclass
class _Draft:
    """A sample's result before its reward is final; ``pending``: judged, still to combine."""

    result: SampleResult
    reward: float | None
    pending: bool = False


@dataclass(frozen=True)
class Assembler:
    """Turns a planned batch's outcomes into one result per sample, in input order."""

    config: RewardConfig
    rubrics: dict[str, Rubric]
    panel: Panel
    checks: CheckRunner | None = None

    def results(
        self, batch: BatchPlan, outcomes: dict[str, Outcomes], hits: set[str]
    ) -> list[SampleResult]:
        """Every sample's result; unscored ones filled in by ``[output] unscored``.

        Judged dimensions are settled for the whole batch before any is combined, so group
        length control (``[reward] length_control = "group"``) and shrinkage (``shrink``)
        see each prompt group.
        """
        drafts = [self._sample(s, batch, outcomes, hits) for s in batch.samples]
        if self.config.reward.length_control == "group":
            self._group_length(batch.samples, drafts)
        if self.config.reward.shrink > 0:
            self._shrink(batch.samples, drafts)
        combined = [self._combine(d) for d in drafts]
        groups = [s.group for s in batch.samples]
        filled = fill_unscored(combined, groups, self.config)
        for s, draft, reward in zip(batch.samples, drafts, filled, strict=True):
            result = draft.result
            result.reward = reward
            result.stale_calibration = len(self.panel.stale)
            if s.item is not None:
                result.length, result.group = len(s.item.response), s.group
        return [d.result for d in drafts]

    def _combine(self, draft: _Draft) -> float | None:
        """A judged sample's dimensions combined into its reward (gates first)."""
        if not draft.pending:
            return draft.reward
        result = draft.result
        c = combine(result.dimensions, self.config)
        result.reward = c.reward if c.reward is not None else 0.0
        result.unscored, result.gate = c.reward is None, c.gate
        return c.reward

    def _group_length(self, samples: list[Sample], drafts: list[_Draft]) -> None:
        """Remove each prompt group's reward/length slope beyond the tolerance (``judge.length``).

        Only on the config's rubrics whose maps measured no length preference (no anchors);
        checks, whose rules are the author's intent, and sample rubrics are left alone.
        """
        settings = self.config.reward
        by_group: dict[str, list[int]] = {}
        chars: dict[int, int] = {}
        for i, (s, draft) in enumerate(zip(samples, drafts, strict=True)):
            if draft.pending and s.item is not None:
                by_group.setdefault(s.group, []).append(i)
                chars[i] = len(s.item.response)
        names = [n for n in self.rubrics if not self.panel.length_measured(n)]
        for members in by_group.values():
            for name in names:
                dims = [self._dim(drafts[i], name) for i in members]
                adjusted = group_adjust(
                    [d.normalized if d is not None else None for d in dims],
                    [chars[i] for i in members],
                    settings.length_tolerance,
                    settings.length_max_correction,
                )
                for i, dim, unit in zip(members, dims, adjusted, strict=True):
                    if dim is not None and unit is not None and unit != dim.normalized:
                        dimensions = drafts[i].result.dimensions
                        dimensions[dimensions.index(dim)] = replace(dim, normalized=unit)

    def _shrink(self, samples: list[Sample], drafts: list[_Draft]) -> None:
        """Pull each dimension its judges or orders disagree on toward its group's mean.

        ``judge.shrink`` defines it. Only the config's rubrics no gate reads: a gate is a line
        the author drew, and an uncertain score pulled toward the mean must not slip past it.
        Checks and sample rubrics (which may differ within a group) are left alone.
        """
        from judge.shrink import disagreement, shrink_group  # only with [reward] shrink > 0

        gated = {g.rubric for g in self.config.gates}
        names = [n for n in self.rubrics if n not in gated]
        by_group: dict[str, list[int]] = {}
        for i, (s, draft) in enumerate(zip(samples, drafts, strict=True)):
            if draft.pending:
                by_group.setdefault(s.group, []).append(i)
        for members in by_group.values():
            for name in names:
                dims = [self._dim(drafts[i], name) for i in members]
                shrunk = shrink_group(
                    [d.normalized if d is not None else None for d in dims],
                    [disagreement(d.spread, d.order_gap) if d is not None else None for d in dims],
                    self.config.reward.shrink,
                )
                for i, dim, (unit, how) in zip(members, dims, shrunk, strict=True):
                    if dim is not None and how is not None:
                        found = drafts[i].result.dimensions
                        found[found.index(dim)] = replace(dim, normalized=unit, shrink=how)

    @staticmethod
    def _dim(draft: _Draft, name: str) -> Dimension | None:
        """The draft's dimension ``name`` (None: the sample has none)."""
        return next((d for d in draft.result.dimensions if d.rubric == name), None)

    def _sample(
        self, s: Sample, batch: BatchPlan, outcomes: dict[str, Outcomes], hits: set[str]
    ) -> _Draft:
        """One sample's result and its reward before unscored ones are filled in.

        A judged sample comes back ``pending``: its dimensions are combined later.
        """
        if s.problem is not None or s.item is None:
            log.warning("malformed sample %s (index %d): %s", shown_id(s.id), s.index, s.problem)
            return _Draft(SampleResult(s.id, 0.0, malformed=s.problem, unscored=True), None)
        if s.index in batch.guarded:
            floor = self.config.output.min
            return _Draft(SampleResult(s.id, floor, guarded=batch.guarded[s.index]), floor)
        checked = self.check_dimensions(batch, s.index)
        gated = batch.checks.short_circuited.get(s.index)
        if gated is not None:  # a gated check fired: its reward, no judge was asked
            gate = next(g for g in self.config.gates if g.rubric == gated)
            value = gate_reward(gate, self.config)
            return _Draft(
                SampleResult(s.id, value, checked, gate=gated, short_circuited=True), value
            )
        plan = batch.plans[s.index]
        own = plan.outcomes(outcomes)
        judges = self.config.judge
        partial = self.config.sample_rubric.partial
        checklist = plan.checklist(own, partial, judges.min_members(), judges.aggregation)
        chars = len(s.item.response)
        dims = [self.dimension(plan, name, own, checklist, hits, chars) for name in plan.dimensions]
        dims += checked
        if any(d.unscored is not None and d.unscored.reason == "refused" for d in dims):
            refused = self.config.refused_reward()
            return _Draft(SampleResult(s.id, refused, dims, refused=True), refused)
        return _Draft(SampleResult(s.id, 0.0, dims, checklist=checklist), None, pending=True)

    def check_dimensions(self, batch: BatchPlan, index: int) -> list[Dimension]:
        """The sample's check results as dimensions, in config order."""
        results = batch.checks.results.get(index, {})
        if not results or self.checks is None:
            return []
        kind = self.checks.kind
        return [check_dimension(name, kind(name), r) for name, r in results.items()]

    def dimension(
        self,
        plan: Plan,
        name: str,
        own: dict[str, list[Judgement]],
        checklist: ChecklistResult | None,
        hits: set[str],
        chars: int | None = None,
    ) -> Dimension:
        """One dimension's normalised score (an explicit checklist's comes from its criteria).

        Each judge's answer (reasoning, raw and calibrated score, cache hit) stays on it;
        ``chars`` (the response's length) is for calibrated length control.
        """
        if name == SAMPLE_RUBRIC and checklist is not None:
            return Dimension(name, checklist.score.score, None, checklist.unscored)
        rubric = plan.own_rubric if name == SAMPLE_RUBRIC else self.rubrics[name]
        assert rubric is not None

        dimension = settle(name, own[name], self.panel, rubric, chars)
        return replace(dimension, judgements=judged(own[name], self.panel, rubric, hits, chars))
