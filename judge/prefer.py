"""Pairwise preferences: every pair of a prompt's responses judged in both orders.

The responses of a batch that share a prompt and reference answer form a group; each pair of
distinct responses is judged on one rubric twice, A-then-B and B-then-A, each in one Converse
call with a forced tool (``preferred``: A, B or tie) or, in text mode, a keyed verdict line.
Both orders agreeing on a winner give a preference with margin 1.0; one order saying tie and
the other a winner, margin 0.5; orders that contradict each other (a position-biased judge)
are ties, counted. A failed or unparseable judgement is counted and never a preference.
Calls go through the evaluator's caller: the same retries, verdict cache and concurrency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

from judge.caller import CallStats, JudgeTask
from judge.contract import parse_sample
from judge.deadline import Deadline
from judge.group import context_key
from judge.kinds import Ask
from judge.kinds.pairwise import PAIRWISE, PAIRWISE_TEMPLATE, Preference
from judge.observe import evaluator_version
from judge.pipeline import Evaluator
from judge.plan import reference_view
from judge.prompt import JudgeInput, Turn
from judge.rubric import Rubric
from judge.verdict import Outcome, Unscored

log = logging.getLogger("judge")
Judgement = Preference | Unscored  # one order's judgement of a pair
Winner = Literal["first", "second", "tie"]
Status = Literal["preference", "tie", "inconsistent", "failed"]


@dataclass(frozen=True)
class Pair:
    """Two distinct responses to one conversation (``first`` came first in the batch)."""

    conversation: tuple[Turn, ...]
    reference: str | None
    first: str
    second: str
    ids: tuple[Any, Any]


@dataclass(frozen=True)
class PairResult:
    """A pair's two judgements (``forward``: first shown as A) and what they amount to."""

    pair: Pair
    forward: Judgement
    backward: Judgement
    status: Status
    winner: Winner = "tie"
    margin: float = 0.0

    @property
    def consistent(self) -> bool:
        """Whether both orders gave the same verdict (only for pairs judged twice)."""
        return self.status != "failed" and _winner(self.forward, False) == _winner(
            self.backward, True
        )


@dataclass
class PreferenceReport:
    """Every judged pair, and the counts the summary reports."""

    rubric: str
    results: list[PairResult] = field(default_factory=list)
    identical: int = 0  # pairs of samples with the same response (not judged)
    singletons: int = 0  # groups with one distinct response (no pair)
    malformed: int = 0  # samples that cannot be judged as text
    stats: CallStats = field(default_factory=CallStats)

    def count(self, status: Status) -> int:
        """How many pairs ended with ``status``."""
        return sum(r.status == status for r in self.results)

    @property
    def judged(self) -> int:
        """Pairs with both orders judged (failed ones excluded)."""
        return len(self.results) - self.count("failed")

    @property
    def consistency(self) -> float | None:
        """Share of judged pairs whose two orders gave the same verdict (None: no pair)."""
        if not self.judged:
            return None
        return sum(r.consistent for r in self.results) / self.judged

    def rows(self) -> list[dict[str, Any]]:
        """One preference-tuning row per preference (ties and failures give none)."""
        version = evaluator_version()
        out = []
        for r in self.results:
            if r.status != "preference":
                continue
            p = r.pair
            chosen, rejected = (p.first, p.second) if r.winner == "first" else (p.second, p.first)
            ids = p.ids if r.winner == "first" else p.ids[::-1]
            out.append(
                {
                    "prompt": [{"role": t.role, "content": t.text} for t in p.conversation],
                    "chosen": chosen,
                    "rejected": rejected,
                    "margin": r.margin,
                    "rubric": self.rubric,
                    "evaluator_version": version,
                    "chosen_id": ids[0],
                    "rejected_id": ids[1],
                }
            )
        return out

    def summary(self) -> dict[str, Any]:
        """The counts printed on stderr (and handy in tests)."""
        return {
            "pairs": len(self.results),
            "judged": self.judged,
            "preferences": self.count("preference"),
            "ties": self.count("tie") + self.count("inconsistent"),
            "inconsistent": self.count("inconsistent"),
            "failed": self.count("failed"),
            "identical_skipped": self.identical,
            "singleton_groups": self.singletons,
            "malformed_samples": self.malformed,
            "positional_consistency": self.consistency,
            "calls": self.stats.calls,
            "cache_hits": self.stats.cache_hits,
        }


def pairs_of(raw_samples: list[Any]) -> tuple[list[Pair], int, int, int]:
    """Every pair of distinct responses per prompt: (pairs, identical, singletons, malformed)."""
    groups: dict[str, list[tuple[Any, JudgeInput]]] = {}
    malformed = 0
    for index, raw in enumerate(raw_samples):
        sample = parse_sample(index, raw)
        if sample.item is None or sample.unsupported:
            malformed += 1
            continue
        # Responses to the same conversation with the same reference are comparable.
        groups.setdefault(context_key(sample.item), []).append((sample.id, sample.item))
    pairs: list[Pair] = []
    identical = singletons = 0
    for members in groups.values():
        distinct: dict[str, Any] = {}
        for sid, item in members:
            distinct.setdefault(item.response, sid)
        texts = [item.response for _, item in members]
        identical += sum(a == b for a, b in combinations(texts, 2))
        if len(distinct) < 2:
            singletons += 1
            continue
        first_item = members[0][1]
        for (a, id_a), (b, id_b) in combinations(distinct.items(), 2):
            pairs.append(Pair(first_item.conversation, first_item.reference, a, b, (id_a, id_b)))
    return pairs, identical, singletons, malformed


class PairJudge:
    """Judges pairs on one rubric with an evaluator's task maker and caller (``judge.kinds``)."""

    def __init__(self, evaluator: Evaluator, rubric: Rubric) -> None:
        self.evaluator = evaluator
        self.rubric = rubric
        # A missing or broken pairwise.j2 is reported before any call.
        evaluator.renderer.templates.get_optional(PAIRWISE_TEMPLATE, "judge prefer")
        if evaluator.config.judge.panel:
            log.warning(
                "judge prefer uses one judge, the panel's first: %s (preferences are not "
                "aggregated across a panel)",
                evaluator.members[0].model_id,
            )

    def task(self, pair: Pair, swapped: bool) -> JudgeTask:
        """The call judging ``pair`` with ``first`` shown as A (or as B when ``swapped``)."""
        first, second = (pair.second, pair.first) if swapped else (pair.first, pair.second)
        context = reference_view([self.rubric], JudgeInput(pair.conversation, "", pair.reference))
        return self.evaluator.maker.make("pairwise", Ask((self.rubric,), context, (first, second)))

    def judge(
        self,
        raw_samples: list[Any],
        deadline: Deadline,
        progress: Callable[[int, int], None] | None = None,
    ) -> PreferenceReport:
        """Judge every pair of ``raw_samples`` in both orders."""
        pairs, identical, singletons, malformed = pairs_of(raw_samples)
        report = PreferenceReport(self.rubric.name, [], identical, singletons, malformed)
        tasks = [(self.task(p, False), self.task(p, True)) for p in pairs]
        unique = {t.key: t for both in tasks for t in both}
        # The pipeline's own loop: cache lookup, daemon pool, deadline, one cache store.
        outcomes = self.evaluator.judge_all(list(unique.values()), deadline, report.stats, progress)
        name = self.rubric.name
        for pair, (fwd, bwd) in zip(pairs, tasks, strict=True):
            report.results.append(settle(pair, outcomes[fwd.key][name], outcomes[bwd.key][name]))
        return report


def _winner(outcome: Judgement, swapped: bool) -> Winner | None:
    """The winning response of the pair for one judgement (None: no preference)."""
    if not isinstance(outcome, Preference):
        return None
    if outcome.winner == "tie":
        return "tie"
    return "first" if (outcome.winner == "A") != swapped else "second"


def settle(pair: Pair, forward_outcome: Outcome, backward_outcome: Outcome) -> PairResult:
    """What two judgements of one pair (in both orders) amount to."""
    forward, backward = Preference.of(forward_outcome), Preference.of(backward_outcome)
    one, two = _winner(forward, False), _winner(backward, True)
    if one is None or two is None:
        return PairResult(pair, forward, backward, "failed")
    if one == two:
        if one == "tie":
            return PairResult(pair, forward, backward, "tie")
        return PairResult(pair, forward, backward, "preference", one, 1.0)
    if "tie" in (one, two):
        winner = one if two == "tie" else two
        return PairResult(pair, forward, backward, "preference", winner, 0.5)
    return PairResult(pair, forward, backward, "inconsistent")


def preference_tool_spec(rubric: Rubric) -> dict[str, Any]:
    """The forced tool of a pairwise request: reasoning first, then A, B or tie."""
    return PAIRWISE.tool_spec(Ask((rubric,), JudgeInput((), "")))
