"""Which items to label next, and why.

Where the judges disagree, where the score is least certain, near a gate's threshold, plus
a random share so agreement estimates stay unbiased.

Each reason is a number in 0..1 read from a scored run's ``--details`` line for the rubric:

- disagreement: a panel's spread or a group's order gap (both 0..1), else the range of
  the judgements' calibrated scores;
- uncertainty: how far the calibrated score lies between two levels of the scale (0 on a
  level, 1 half-way): a map that puts an item at 3.5 says people split between 3 and 4;
- near a gate: 1 at a gate's threshold on this rubric, 0 one level away or further.

An item's priority is their sum. The targeted picks are taken greedily with diminishing
returns per judge level (priority / (1 + items already taken at that level)), so the
labels also cover the scale. The random share is drawn first, uniformly from every
eligible item (unscored ones too), and marked, so it can be analysed on its own. When too
few items have a verdict to target, the rest are drawn among the unscored ones (marked
``unscored``). Items already labelled under this rubric version are never offered.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from judge.annotate.items import Item

DEFAULT_RANDOM_SHARE = 0.2


@dataclass(frozen=True)
class Signals:
    """Why an item is worth a label (each 0..1) and what the judge said about it."""

    disagreement: float = 0.0
    uncertainty: float = 0.0
    near_gate: float = 0.0
    normalized: float | None = None  # the dimension's calibrated 0..1 score (None: unscored)
    raw: float | None = None  # on the rubric's scale (a mean for a panel or two orders)
    reasoning: str = ""  # the first judgement's reasoning
    judges: tuple[str, ...] = ()

    @property
    def priority(self) -> float:
        """The sum of the reasons."""
        return self.disagreement + self.uncertainty + self.near_gate


@dataclass(frozen=True)
class Candidate:
    """An item with its signals for one rubric."""

    item: Item
    signals: Signals = field(default_factory=Signals)

    @property
    def level(self) -> int | None:
        """The judge's level (its raw score rounded), or None when unscored."""
        raw = self.signals.raw
        return None if raw is None or not math.isfinite(raw) else round(raw)


@dataclass(frozen=True)
class Chosen:
    """A selected item and why.

    ``random``: the unbiased share; ``targeted``: by priority; ``unscored``: no verdict to
    target, drawn at random among the unscored items left.
    """

    candidate: Candidate
    selected_by: Literal["random", "targeted", "unscored"]


def _unit(value: Any) -> float | None:
    """A finite number in 0..1 from a details value, else None (hostile files too)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return min(1.0, max(0.0, number)) if math.isfinite(number) else None


def signals(
    dimension: Mapping[str, Any] | None, scale: tuple[int, int], gates: Iterable[float] = ()
) -> Signals:
    """The reasons to label an item, from its ``--details`` dimension for the rubric."""
    if not isinstance(dimension, Mapping):
        return Signals()
    lo, hi = scale
    steps = hi - lo
    normalized = _unit(dimension.get("normalized"))
    raw_value = dimension.get("raw")
    raw = float(raw_value) if isinstance(raw_value, int | float) and _finite(raw_value) else None
    judgements = [j for j in dimension.get("judgements") or [] if isinstance(j, Mapping)]
    spread = [_unit(dimension.get("panel_spread")), _unit(dimension.get("order_gap"))]
    calibrated = [c for c in (_unit(j.get("calibrated")) for j in judgements) if c is not None]
    if len(calibrated) > 1:
        spread.append(max(calibrated) - min(calibrated))
    disagreement = max((s for s in spread if s is not None), default=0.0)
    uncertainty = near = 0.0
    if normalized is not None:
        x = normalized * steps
        uncertainty = 2.0 * abs(x - round(x))
        distances = [abs(normalized - g) * steps for g in gates]
        near = max(0.0, 1.0 - min(distances)) if distances else 0.0
    reasoning = next((str(j.get("reasoning") or "") for j in judgements), "")
    judges = tuple(str(j.get("judge", "")) for j in judgements)
    return Signals(disagreement, uncertainty, near, normalized, raw, reasoning, judges)


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def select(
    candidates: list[Candidate],
    n: int,
    *,
    exclude: set[str] | frozenset[str] = frozenset(),
    random_share: float = DEFAULT_RANDOM_SHARE,
    seed: int = 0,
) -> list[Chosen]:
    """Up to ``n`` items to label, none whose content key is in ``exclude``.

    The same candidates, ``n``, share and seed always give the same choice.
    """
    if not 0.0 <= random_share <= 1.0:
        raise ValueError(f"random share {random_share} must lie in 0..1")
    rng = random.Random(seed)
    seen: set[str] = set(exclude)
    eligible: list[Candidate] = []
    for c in candidates:  # one candidate per content (a dataset may repeat a response)
        if c.item.key not in seen:
            seen.add(c.item.key)
            eligible.append(c)
    n = max(0, min(n, len(eligible)))
    drawn = set(rng.sample(range(len(eligible)), round(random_share * n)))
    chosen = [Chosen(eligible[i], "random") for i in sorted(drawn)]
    rest = [c for i, c in enumerate(eligible) if i not in drawn]
    targeted = _targeted(rest, n - len(chosen), rng)
    chosen += [Chosen(c, "targeted") for c in targeted]
    if len(chosen) < n:  # too few scored items (no --details for this rubric, failed judge)
        picked = {id(c) for c in targeted}
        left = [c for c in rest if id(c) not in picked]
        chosen += [Chosen(c, "unscored") for c in rng.sample(left, n - len(chosen))]
    return chosen


def _targeted(pool: list[Candidate], n: int, rng: random.Random) -> list[Candidate]:
    """Highest priority first, with diminishing returns per judge level (scale coverage).

    Unscored items are left to the random share: with no verdict there is nothing to
    disagree with.
    """
    levels: dict[int, list[tuple[float, float, int]]] = {}
    for index, c in enumerate(pool):  # a heap per level: (-priority, random tie-break, index)
        if c.level is not None:
            levels.setdefault(c.level, []).append((-c.signals.priority, rng.random(), index))
    for heap in levels.values():
        heapq.heapify(heap)
    taken: dict[int, int] = dict.fromkeys(levels, 0)
    out: list[Candidate] = []
    while len(out) < n:
        open_levels = [lv for lv, heap in levels.items() if heap]
        if not open_levels:
            break

        def worth(lv: int) -> tuple[float, int, float]:
            priority, tie, _ = levels[lv][0]
            return (-priority / (1 + taken[lv]), -taken[lv], -tie)

        best = max(open_levels, key=worth)
        out.append(pool[heapq.heappop(levels[best])[2]])
        taken[best] += 1
    return out
