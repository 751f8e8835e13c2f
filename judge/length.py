"""Group-level length control (``[reward] length_control = "group"``), for unanchored rubrics.

Without anchors nobody measured how much of the judge's length preference the humans share,
so the only evidence is inside the batch: within one prompt group, the least-squares slope of
a dimension's score on log(characters). Whatever exceeds ``tolerance`` is removed, around the
group's mean log length, so the group's mean score is kept (before clamping) and only its
ranking by length changes: a longer answer may still earn up to ``tolerance`` more per unit of
log length. A slope at or below the tolerance, or a negative one (a judge preferring brevity
may be the rubric's intent), is left alone. The limit: a group whose longer answers really
are better loses that too; calibrated anchors say how much is real (``LengthBias``).

Pure Python: it runs in the Lambda.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

MIN_GROUP = 3  # as judge.signals: fewer points give no slope worth trusting


def within_group_slope(units: Sequence[float], chars: Sequence[int]) -> float | None:
    """Least-squares slope of score on log(characters); None when lengths do not vary."""
    xs = [math.log(max(c, 1)) for c in chars]
    mx, my = statistics.fmean(xs), statistics.fmean(units)
    sxx = sum((x - mx) ** 2 for x in xs)
    if len(xs) < 2 or sxx <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, units, strict=True)) / sxx


def group_adjust(
    units: Sequence[float | None],
    chars: Sequence[int | None],
    tolerance: float,
    cap: float,
) -> list[float | None]:
    """One group's scores on one dimension, the slope beyond ``tolerance`` removed.

    Unscored members (None) stay None and take no part; fewer than ``MIN_GROUP`` scored
    members with a length leave the group as it is. Each change is at most ``cap``, each
    result clamped to 0..1.
    """
    out = list(units)
    idx = [i for i, (u, c) in enumerate(zip(units, chars, strict=True)) if u is not None and c]
    if len(idx) < MIN_GROUP:
        return out
    ys = [float(units[i] or 0.0) for i in idx]
    lengths = [int(chars[i] or 1) for i in idx]
    slope = within_group_slope(ys, lengths)
    if slope is None or slope <= tolerance:
        return out
    excess = slope - tolerance
    xs = [math.log(max(c, 1)) for c in lengths]
    mx = statistics.fmean(xs)
    for i, x, y in zip(idx, xs, ys, strict=True):
        change = min(cap, max(-cap, excess * (x - mx)))
        out[i] = min(1.0, max(0.0, y - change))
    return out
