"""One reduction for every kind: several judges' votes to one value, by ``[judge] aggregation``.

A panel's dimension scores and an explicit checklist's per-criterion answers both reduce
here, so ``aggregation`` means the same wherever judges vote. For a 0/1 criterion every
aggregation gives the same answer (true when more than half the judges said true, a tie is
"not true"): mean above 0.5, the median of an even tie 0.5, majority falling back to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean, median
from typing import Literal

from judge.verdict import Outcome, Unscored, Verdict

Aggregation = Literal["mean", "median", "majority"]


@dataclass(frozen=True)
class Vote:
    """One judge's scored value: on 0..1 (through its own map) and on the rubric's scale."""

    unit: float
    raw: float


def reduce_votes(votes: Sequence[Vote], how: Aggregation, steps: int) -> Vote:
    """The votes' mean, median, or the majority's level (``votes`` must not be empty).

    Majority votes on the judges' calibrated scores rounded to the rubric's levels (``steps``
    intervals on 0..1), so a harsh and a lenient judge's "3" are not the same vote. The level
    more than half the judges gave wins (its unit: the mean of theirs); without such a level
    the panel falls back to the median, never to the lowest or highest vote.
    """
    if len(votes) == 1:
        return votes[0]
    if how == "majority":
        levels = Counter(round(v.unit * steps) for v in votes)
        level, count = levels.most_common(1)[0]
        if count * 2 > len(votes):
            voters = [v for v in votes if round(v.unit * steps) == level]
            return Vote(mean(v.unit for v in voters), mean(v.raw for v in voters))
        how = "median"
    if how == "median":
        return Vote(median(v.unit for v in votes), median(v.raw for v in votes))
    return Vote(mean(v.unit for v in votes), mean(v.raw for v in votes))


def has_quorum(scored: int, quorum: int) -> bool:
    """Whether ``scored`` verdicts are enough (never fewer than one)."""
    return scored >= max(1, quorum)


def first_failure(failures: Sequence[Unscored]) -> Unscored:
    """The failure to report: one the response brought about first, so it still fires a gate.

    Otherwise one judge's timeout would let a response that silenced the others skip it.
    """
    return next((u for u in failures if u.response_caused), failures[0])


_NO_VERDICT = Unscored(reason="judge_error", detail="no judge answered")


def vote_true(outcomes: Sequence[Outcome], quorum: int, how: Aggregation) -> Outcome:
    """A 0/1 criterion's answer from several judges: one verdict reduced like a panel's.

    The verdict returned is the first judge's that agrees with the reduction (its reasoning
    explains the answer). Fewer than ``quorum`` verdicts: the first failure, in panel order.
    """
    verdicts = [o for o in outcomes if isinstance(o, Verdict)]
    if not has_quorum(len(verdicts), quorum):
        return next((o for o in outcomes if isinstance(o, Unscored)), _NO_VERDICT)
    if len(verdicts) == 1:
        return verdicts[0]
    reduced = reduce_votes([Vote(float(v.score), float(v.score)) for v in verdicts], how, 1)
    true = reduced.unit > 0.5
    return next(v for v in verdicts if bool(v.score) == true)
