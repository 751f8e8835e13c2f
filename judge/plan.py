"""What judging one sample takes: its tasks, its dimensions, outcomes known without a call.

The pipeline builds one ``Plan`` per sample (``Evaluator.plan``), de-duplicates the tasks of
the whole batch, judges them, and reads each sample's outcomes back through its plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from judge.caller import JudgeTask, Outcomes
from judge.checklist import CRITERION_PREFIX, ChecklistScore, Criterion, explicit_score
from judge.prompt import JudgeInput
from judge.rubric import Rubric
from judge.verdict import Outcome, Unscored, Verdict


@dataclass(frozen=True)
class ChecklistResult:
    """An explicit checklist's score and each criterion's answer (for details and metrics)."""

    score: ChecklistScore
    criteria: tuple[Criterion, ...]
    answers: tuple[Outcome, ...]

    def metrics(self) -> list[tuple[str, float, str]]:
        """Counts for ``metrics_list``."""
        s = self.score
        return [
            ("criteria_met", float(s.met), "Metric"),
            ("criteria_total", float(s.total), "Metric"),
            ("pitfalls_hit", float(s.pitfalls_hit), "Metric"),
            ("criteria_unanswered", float(s.unanswered), "Metric"),
        ]

    def details(self) -> list[dict[str, Any]]:
        """Per criterion: the text, weight, whether it holds (None: unanswered) and why."""
        return [
            {
                "criterion": c.text,
                "weight": c.weight,
                "true": bool(o.score) if isinstance(o, Verdict) else None,
                "why": o.reasoning if isinstance(o, Verdict) else f"{o.reason}: {o.detail}",
            }
            for c, o in zip(self.criteria, self.answers, strict=True)
        ]


@dataclass
class Plan:
    """One sample's judging plan."""

    tasks: dict[str, JudgeTask] = field(default_factory=dict)  # rubric/criterion -> task
    preset: dict[str, Outcome] = field(default_factory=dict)  # known without a call
    dimensions: list[str] = field(default_factory=list)  # the reward's dimensions, in order
    criteria: tuple[Criterion, ...] = ()  # an explicit checklist's criteria
    own_rubric: Rubric | None = None  # the sample's rubric judged as a rubric

    def outcomes(self, judged: dict[str, Outcomes]) -> dict[str, Outcome]:
        """Every rubric's and criterion's outcome, from the batch's judged tasks."""
        out = dict(self.preset)
        for name, task in self.tasks.items():
            out[name] = judged[task.key][name]
        return out

    def checklist(self, own: dict[str, Outcome], partial: str) -> ChecklistResult | None:
        """The explicit checklist's result, or None when the sample has none."""
        if not self.criteria:
            return None
        answers = tuple(own[f"{CRITERION_PREFIX}{i + 1}"] for i in range(len(self.criteria)))
        flags = [bool(o.score) if isinstance(o, Verdict) else None for o in answers]
        score = explicit_score(self.criteria, flags, partial)
        if score.score is None:
            failed = next((o for o in answers if isinstance(o, Unscored)), None)
            if failed is not None and all(isinstance(o, Unscored) for o in answers):
                score = replace(score, reason=f"{failed.reason}: {failed.detail}")
        return ChecklistResult(score, self.criteria, answers)


def reference_view(rubrics: list[Rubric], item: JudgeInput) -> JudgeInput:
    """``item`` as ``rubrics`` see it: without the reference when none of them uses it."""
    if item.reference is not None and all(r.reference == "ignore" for r in rubrics):
        return replace(item, reference=None)
    return item
