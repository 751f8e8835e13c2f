"""Fit monotone maps from judge scores to human labels; pick one by cross-validation."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from judge.maps import MapKind, ScoreMap

Array = NDArray[np.float64]
CANDIDATES: tuple[MapKind, ...] = ("identity", "linear", "sigmoid", "isotonic")


def _pav(x: Array, y: Array) -> tuple[list[float], list[float]]:
    """The isotonic regression over the distinct judge scores (SciPy's pool-adjacent-violators).

    Each distinct score is one point weighted by how many anchors share it, so the knots are
    those scores and the fit is the least-squares non-decreasing one.
    """
    levels, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=y) / counts
    fitted = optimize.isotonic_regression(means, weights=counts.astype(np.float64)).x
    return [float(v) for v in levels], [float(v) for v in fitted]


def fit_map(
    kind: MapKind, x: Array, y: Array, judge: tuple[float, float], human: tuple[float, float]
) -> ScoreMap:
    """Fit one kind of map to (judge score, human label) pairs."""
    base = {
        "kind": kind,
        "x_min": judge[0],
        "x_max": judge[1],
        "y_min": human[0],
        "y_max": human[1],
    }
    if kind == "identity":
        return ScoreMap.model_validate(base)
    if kind == "linear":
        if np.ptp(x) == 0:
            return ScoreMap.model_validate({**base, "a": float(y.mean()), "b": 0.0})
        b, a = np.polyfit(x, y, 1)
        if b < 0:  # a decreasing map would invert the judge: use the mean instead
            a, b = float(y.mean()), 0.0
        return ScoreMap.model_validate({**base, "a": float(a), "b": float(b)})
    if kind == "isotonic":
        xs, ys = _pav(x, y)
        return ScoreMap.model_validate({**base, "xs": xs, "ys": ys})
    # sigmoid on the human range; start from the linear fit's slope
    unit = np.clip((y - human[0]) / (human[1] - human[0]), 1e-3, 1 - 1e-3)

    def residuals(p: Array) -> Array:
        z = p[0] + p[1] * x
        out: Array = 1.0 / (1.0 + np.exp(-z)) - unit
        return out

    mid = (judge[0] + judge[1]) / 2
    start = np.array([-mid * 4 / (judge[1] - judge[0]), 4 / (judge[1] - judge[0])])
    fit = optimize.least_squares(residuals, start, bounds=([-math.inf, 0.0], [math.inf, math.inf]))
    return ScoreMap.model_validate({**base, "a": float(fit.x[0]), "b": float(fit.x[1])})


def mae(score_map: ScoreMap, x: Array, y: Array) -> float:
    """Mean absolute error of a map on (x, y)."""
    return float(np.mean([abs(score_map.apply(float(a)) - b) for a, b in zip(x, y, strict=True)]))


def fold_count(n: int, folds: int) -> int:
    """How many folds ``select_map`` really uses on ``n`` items: at least 2, at most ``n``."""
    return max(2, min(folds, n))


def select_map(
    x: Array,
    y: Array,
    judge: tuple[float, float],
    human: tuple[float, float],
    *,
    folds: int = 5,
    seed: int = 0,
) -> tuple[ScoreMap, dict[str, float]]:
    """The candidate with the lowest k-fold cross-validated MAE, refitted on all the data.

    ``identity`` (no fitting) is a candidate too, so an already calibrated judge keeps its
    scale unless a fitted map is better out of sample. Ties go to the simpler map.
    """
    k = fold_count(len(x), folds)
    order = np.random.default_rng(seed).permutation(len(x))
    parts = np.array_split(order, k)
    cv: dict[str, float] = {}
    for kind in CANDIDATES:
        errors: list[float] = []
        for i in range(k):
            test = parts[i]
            train = np.concatenate([parts[j] for j in range(k) if j != i])
            fitted = fit_map(kind, x[train], y[train], judge, human)
            errors.extend(
                abs(fitted.apply(float(a)) - b) for a, b in zip(x[test], y[test], strict=True)
            )
        cv[kind] = float(np.mean(errors))
    best = min(CANDIDATES, key=lambda kind: (round(cv[kind], 9), CANDIDATES.index(kind)))
    return fit_map(best, x, y, judge, human), cv
