"""Uncertainty-aware rewards (``[reward] shrink = k``): an uncertain verdict moves the policy less.

Where a panel's judges (``Dimension.spread``, max - min of their 0..1 scores) or a group's two
orders (``Dimension.order_gap``) disagree on a dimension, its score is pulled toward the mean
of that dimension over the sample's prompt group, in proportion to the disagreement:

    u  = max(spread, order_gap)        disagreement, 0..1 (whichever is known)
    w  = min(1, k * u)                 the shrink weight, 0..1 (k in 0..1)
    d' = d - w * (d - m) = (1 - w) * d + w * m

``m`` is the group's mean of the dimension over its scored members, the sample included,
taken before any of them is shrunk. ``d'`` lies between ``d`` and ``m``, so it stays in 0..1.
``k = 1``: judges at opposite ends of the scale give the group mean; judges that agree keep
their score; ``k = 0`` (the default) changes nothing. A GRPO-style trainer ranks a sample
against its group, so shrinking toward the group mean is shrinking its advantage toward 0.

No shrink without evidence: a dimension with no disagreement measure (one judge, one order)
or unscored is left as it is (it still counts in ``m`` when scored); a group with fewer than
two scored members is left alone. Pure Python: it runs in the Lambda.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Shrink:
    """What shrinkage did to one dimension (``--details`` records it)."""

    disagreement: float  # u: max of the panel spread and the order gap, 0..1
    weight: float  # w = min(1, k * u)
    group_mean: float  # m: the group's mean of the dimension before shrinkage
    before: float  # d: the score before shrinkage (after length control)

    def details(self) -> dict[str, float]:
        """The JSON-ready record."""
        return {
            "disagreement": self.disagreement,
            "weight": self.weight,
            "group_mean": self.group_mean,
            "before": self.before,
        }


def disagreement(spread: float | None, order_gap: float | None) -> float | None:
    """The dimension's disagreement, 0..1: the larger of the two measures it has (None: none)."""
    known = [v for v in (spread, order_gap) if v is not None and math.isfinite(v)]
    return min(1.0, max(0.0, max(known))) if known else None


def weight(k: float, u: float) -> float:
    """The shrink weight ``min(1, k * u)``, bounded to 0..1."""
    return min(1.0, max(0.0, k * u))


def shrink_group(
    units: Sequence[float | None], disagreements: Sequence[float | None], k: float
) -> list[tuple[float | None, Shrink | None]]:
    """One prompt group's scores on one dimension, each shrunk toward the group's mean.

    Returns each member's score and what was done (None: left alone). Unscored members
    (None) stay None; with ``k <= 0`` or fewer than two scored members nothing changes.
    """
    scored = [u for u in units if u is not None]
    out: list[tuple[float | None, Shrink | None]] = [(u, None) for u in units]
    if k <= 0 or len(scored) < 2:
        return out
    mean = math.fsum(scored) / len(scored)
    for i, (unit, u) in enumerate(zip(units, disagreements, strict=True)):
        if unit is None or u is None:
            continue
        w = weight(k, u)
        shrunk = min(1.0, max(0.0, unit - w * (unit - mean)))
        out[i] = (shrunk, Shrink(u, w, mean, unit))
    return out
