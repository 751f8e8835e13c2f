"""The judge's length preference beyond the humans', measured on the anchors.

Judges prefer longer answers (70-90% of PPO's reward gain in "A Long Way to Go",
arXiv 2310.03716, came from length). Some of that preference may be the humans' too: a longer
answer can be a better one. What calibration can measure is the excess: the residual (the
judge's mapped score minus the human label, both on 0..1) regressed on log(characters of the
response). Its slope is how much more the judge gives, beyond the humans, per unit of log
length; its 95% interval comes from the calibration bootstrap (``stats.bootstrap_one``). The
map file records both (``judge.maps.LengthBias``); ``[reward] length_control = "calibrated"``
removes the slope where the interval excludes 0.

All scored anchors are used, both splits: the map is a function of the judge's score alone, so
fitting it on the calibration split gives it no hold on length.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from judge.calibration.stats import Array, bootstrap_one
from judge.maps import LengthBias, ScoreMap

MIN_ITEMS = 3  # fewer points give no slope


def residuals(score_map: ScoreMap, judge: Array, human: Array, scale: tuple[float, float]) -> Array:
    """Mapped judge score minus human label, both on 0..1 of the human scale."""
    lo, hi = scale
    mapped = np.array([score_map.to_unit(float(x)) for x in judge])
    out: Array = mapped - (human - lo) / (hi - lo)
    return out


def slope(x: Array, y: Array) -> float:
    """The least-squares slope of ``y`` on ``x`` (NaN when ``x`` is constant)."""
    if len(x) < 2 or np.ptp(x) == 0:
        return math.nan
    mx = float(x.mean())
    return float(((x - mx) * (y - y.mean())).sum() / ((x - mx) ** 2).sum())


def length_bias(
    residual: Array, chars: Array, *, rounds: int = 1000, seed: int = 0
) -> LengthBias | None:
    """The residual's slope on log length with its interval; None when lengths do not vary."""
    if len(chars) < MIN_ITEMS or np.ptp(chars) == 0:
        return None
    x = np.log(np.maximum(chars, 1.0))

    def statistic(idx: NDArray[np.int64]) -> float:
        return slope(x[idx], residual[idx])

    boot = bootstrap_one("slope", statistic, len(x), rounds=rounds, seed=seed)
    if math.isnan(boot["value"]) or math.isnan(boot["low"]):
        return None
    return LengthBias(
        slope=boot["value"],
        low=boot["low"],
        high=boot["high"],
        ref_chars=float(math.exp(x.mean())),
        min_chars=float(max(chars.min(), 1.0)),
        max_chars=float(max(chars.max(), 1.0)),
        anchors=len(x),
    )
