"""What judging one sample takes: its tasks, its dimensions, outcomes known without a call.

The planner builds one ``Plan`` per sample (``judge.planner``), the batch's tasks are
de-duplicated and run (``judge.run``), and each sample's outcomes are read back through its
plan (``judge.assemble``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from judge.caller import JudgeTask, Outcomes
from judge.checklist import CRITERION_PREFIX, ChecklistScore, Criterion, explicit_score
from judge.prompt import JudgeInput
from judge.reduce import Aggregation, vote_true
from judge.rubric import Rubric
from judge.verdict import Outcome, Unscored, Verdict


@dataclass(frozen=True)
class ChecklistResult:
    """An explicit checklist's score and each criterion's answer (for details and metrics)."""

    score: ChecklistScore
    criteria: tuple[Criterion, ...]
    answers: tuple[Outcome, ...]
    unscored: Unscored | None = None  # why ``score.score`` is None

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
                "why": o.reasoning if isinstance(o, Verdict) else str(o),
            }
            for c, o in zip(self.criteria, self.answers, strict=True)
        ]


@dataclass(frozen=True)
class Slot:
    """One judgement of a dimension: the task that makes it and its answer's name there.

    Pointwise, the answer is the rubric's name; in a group call it is the response's label
    (``response_3``). A panel gives a dimension one slot per member (``member``), group mode
    with two orders one per order (``order``).
    """

    task: JudgeTask
    answer: str
    member: int = 0
    order: int = 0


Judgement = tuple[Slot, Outcome]


@dataclass
class Plan:
    """One sample's judging plan."""

    tasks: dict[str, list[Slot]] = field(default_factory=dict)  # rubric/criterion -> slots
    preset: dict[str, Outcome] = field(default_factory=dict)  # known without a call
    dimensions: list[str] = field(default_factory=list)  # the reward's dimensions, in order
    criteria: tuple[Criterion, ...] = ()  # an explicit checklist's criteria
    own_rubric: Rubric | None = None  # the sample's rubric judged as a rubric
    # Rubrics judged with the prompt's other responses in the batch: the batch adds their
    # slots once it has seen every sample (``Planner.add_group_slots``).
    grouped: list[Rubric] = field(default_factory=list)

    def all_tasks(self) -> list[JudgeTask]:
        """Every task the plan needs."""
        return [slot.task for slots in self.tasks.values() for slot in slots]

    def outcomes(self, judged: dict[str, Outcomes]) -> dict[str, list[Judgement]]:
        """Every rubric's and criterion's judgements, from the batch's judged tasks."""
        out: dict[str, list[Judgement]] = {
            name: [(_PRESET, outcome)] for name, outcome in self.preset.items()
        }
        for name, slots in self.tasks.items():
            out[name] = [(s, judged[s.task.key][s.answer]) for s in slots]
        return out

    def checklist(
        self,
        own: dict[str, list[Judgement]],
        partial: str,
        quorum: int = 1,
        how: Aggregation = "mean",
    ) -> ChecklistResult | None:
        """The explicit checklist's result, or None when the sample has none.

        With a panel, each criterion is the members' 0/1 answers reduced by ``how``
        (``judge.reduce.vote_true``: true when more than half said so, whatever ``how``),
        and unanswered below ``quorum`` answers.
        """
        if not self.criteria:
            return None
        answers = tuple(
            vote_true([o for _, o in own[f"{CRITERION_PREFIX}{i + 1}"]], quorum, how)
            for i in range(len(self.criteria))
        )
        flags = [bool(o.score) if isinstance(o, Verdict) else None for o in answers]
        score = explicit_score(self.criteria, flags, partial)
        unscored = _checklist_unscored(score, answers)
        if unscored is not None:
            score = replace(score, score=None)
        return ChecklistResult(score, self.criteria, answers, unscored)


def _checklist_unscored(score: ChecklistScore, answers: tuple[Outcome, ...]) -> Unscored | None:
    """Why the checklist is unscored, or None when it is scored.

    ``partial`` is for criteria the judge's answer left out (which the response can bring
    about); a call that failed, timed out or was refused scored nothing: unscored.
    """
    failures = [o for o in answers if isinstance(o, Unscored)]
    failed = next((o for o in failures if not o.response_caused), None)
    if failed is not None:
        return failed
    if score.score is None:
        if failures and len(failures) == len(answers):
            return failures[0]
        return Unscored(reason="incomplete", detail=score.reason)
    return None


_PRESET = Slot(JudgeTask("", (), {}), "")


def reference_view(rubrics: list[Rubric], item: JudgeInput) -> JudgeInput:
    """``item`` as ``rubrics`` see it: without the reference when none of them uses it."""
    if item.reference is not None and all(r.reference == "ignore" for r in rubrics):
        return replace(item, reference=None)
    return item
