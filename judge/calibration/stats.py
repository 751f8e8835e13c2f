"""Agreement statistics between judge scores and human labels, with bootstrap intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import stats

Array = NDArray[np.float64]
METRICS = ("spearman", "kendall", "pearson", "qwk", "krippendorff_alpha", "mae", "rmse")


def _corr(fn: Callable[..., object], x: Array, y: Array) -> float:
    """``fn``'s coefficient, or NaN when either series is constant (it is undefined)."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan  # undefined for a constant series
    return float(fn(x, y)[0])  # type: ignore[index]


def spearman(x: Array, y: Array) -> float:
    """Spearman's rho, NaN for a constant series."""
    return _corr(stats.spearmanr, x, y)


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], levels: Sequence[int]) -> float:
    """Cohen's kappa with quadratic weights over the given integer ``levels``."""
    index = {v: i for i, v in enumerate(levels)}
    k = len(levels)
    observed = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        observed[index[x], index[y]] += 1
    n = observed.sum()
    if n == 0:
        return math.nan
    grid = np.arange(k)
    weights = (grid[:, None] - grid[None, :]) ** 2 / max(1, (k - 1) ** 2)
    expected = np.outer(observed.sum(1), observed.sum(0)) / n
    denom = float((weights * expected).sum())
    return math.nan if denom == 0 else 1.0 - float((weights * observed).sum()) / denom


def krippendorff_interval(units: Sequence[Sequence[float]]) -> float:
    """Krippendorff's alpha, interval metric; each unit lists the values coders gave it.

    Units with fewer than two values are not pairable and are left out, as in the
    definition (Krippendorff 2011, "Computing Krippendorff's alpha-reliability").
    """
    pairable = [np.asarray(u, dtype=float) for u in units if len(u) >= 2]
    if not pairable:
        return math.nan
    n = sum(len(u) for u in pairable)
    # sum over ordered pairs i != j of (v_i - v_j)^2 = 2 * (m * sum v^2 - (sum v)^2)
    within = sum(
        2 * (len(u) * float((u**2).sum()) - float(u.sum()) ** 2) / (len(u) - 1) for u in pairable
    )
    everything = np.concatenate(pairable)
    total = 2 * (n * float((everything**2).sum()) - float(everything.sum()) ** 2)
    d_o = within / n
    d_e = total / (n * (n - 1))
    return math.nan if d_e == 0 else 1.0 - d_o / d_e


def to_levels(values: Array, human: tuple[float, float], levels: Sequence[int]) -> list[int]:
    """Place human-scale values on the rubric's integer levels (for kappa)."""
    lo, hi = human
    unit = np.clip((values - lo) / (hi - lo), 0, 1)
    idx = np.rint(unit * (len(levels) - 1)).astype(int)
    return [levels[i] for i in idx]


def agreement(
    pred: Array, human: Array, scale: tuple[float, float], levels: Sequence[int]
) -> dict[str, float]:
    """Every agreement statistic between predictions and labels, both on the human scale."""
    err = pred - human
    return {
        "spearman": spearman(pred, human),
        "kendall": _corr(stats.kendalltau, pred, human),  # tau-b, scipy's default
        "pearson": _corr(stats.pearsonr, pred, human),
        "qwk": quadratic_weighted_kappa(
            to_levels(pred, scale, levels), to_levels(human, scale, levels), levels
        ),
        "krippendorff_alpha": krippendorff_interval(list(zip(pred, human, strict=True))),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
    }


Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def _fisher(r: float) -> tuple[float, float]:
    """Fisher's z of a correlation and its derivative (correlations lie in -1..1)."""
    r = min(max(r, -1 + 1e-12), 1 - 1e-12)
    return math.atanh(r), 1 / (1 - r * r)


def _disagreement(k: float) -> tuple[float, float]:
    """log(1 - k): QWK and alpha are 1 - observed/expected disagreement, a ratio."""
    d = max(1 - k, 1e-12)
    return math.log(d), -1 / d


def _log(e: float) -> tuple[float, float]:
    """The log of an error, and its derivative (errors are positive)."""
    e = max(e, 1e-12)
    return math.log(e), 1 / e


# Per statistic: a scale on which it is roughly normal and unbounded (value, derivative),
# and the way back. Intervals drawn there never leave the statistic's own range.
SCALES: dict[str, tuple[Callable[[float], tuple[float, float]], Callable[[float], float]]] = {
    "spearman": (_fisher, math.tanh),
    "kendall": (_fisher, math.tanh),
    "pearson": (_fisher, math.tanh),
    "qwk": (_disagreement, lambda t: 1 - math.exp(min(t, 700.0))),
    "krippendorff_alpha": (_disagreement, lambda t: 1 - math.exp(min(t, 700.0))),
    "mae": (_log, lambda t: math.exp(min(t, 700.0))),
    "rmse": (_log, lambda t: math.exp(min(t, 700.0))),
    "slope": (lambda v: (v, 1.0), lambda t: t),  # a regression slope: unbounded as it is
}


def normal_interval(name: str, point: float, se: float) -> tuple[float, float]:
    """``point`` +- 1.96 ``se``, drawn on ``name``'s scale (delta method) and mapped back.

    Symmetric on that scale around the point estimate, so the point is always inside; the
    ends are clamped onto the point only against floating-point error at a scale's end.
    """
    if math.isnan(point) or math.isnan(se):
        return math.nan, math.nan
    if se == 0:
        return point, point
    forward, back = SCALES[name]
    centre, slope = forward(point)
    half = Z95 * se * abs(slope)
    ends = sorted((back(centre - half), back(centre + half)))
    return min(ends[0], point), max(ends[1], point)


def bootstrap(
    pred: Array,
    human: Array,
    scale: tuple[float, float],
    levels: Sequence[int],
    *,
    rounds: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Point estimates with 95% intervals from the bootstrap standard error (``normal_interval``).

    Not percentile (nor BCa) intervals: they exclude the point estimate whenever it lies
    outside the middle 95% of the resampled values (BCa's bias correction then moves the
    interval further away, since both need |z0| <= 1.96), and on a few held-out items it
    often does. A resample repeats items, and on few distinct items rank correlations go
    to +-1 or are undefined (dropped), so the resampled values are not centred on the point
    estimate. Their spread is a far steadier guide than their tails.
    """
    point = agreement(pred, human, scale, levels)
    draws: dict[str, list[float]] = {m: [] for m in METRICS}
    for idx in resamples(len(pred), rounds, seed):
        for name, value in agreement(pred[idx], human[idx], scale, levels).items():
            if not math.isnan(value):
                draws[name].append(value)
    out = {}
    for name in METRICS:
        values = draws[name]
        se = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
        low, high = normal_interval(name, point[name], se)
        out[name] = {"value": point[name], "low": low, "high": high, "se": se}
    return out


def resamples(n: int, rounds: int, seed: int) -> Iterator[NDArray[np.int64]]:
    """``rounds`` bootstrap resamples of ``n`` items (indexes drawn with replacement)."""
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        yield rng.integers(0, n, n)


def bootstrap_one(
    name: str,
    statistic: Callable[[NDArray[np.int64]], float],
    n: int,
    *,
    rounds: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """One statistic of ``n`` items with its 95% interval, as ``bootstrap`` draws them.

    ``statistic`` takes the items' indexes (all of them, then each resample); a NaN from a
    resample (undefined on it) is dropped. ``name`` picks the scale in ``SCALES``.
    """
    point = statistic(np.arange(n))
    values = [v for idx in resamples(n, rounds, seed) if not math.isnan(v := statistic(idx))]
    se = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    low, high = normal_interval(name, point, se)
    return {"value": point, "low": low, "high": high, "se": se}


def human_agreement(ratings: Sequence[Sequence[float]]) -> dict[str, float | int]:
    """Agreement among human raters: Krippendorff's alpha and leave-one-out Spearman."""
    multi = [r for r in ratings if len(r) >= 2]
    if not multi:
        return {}
    loo: list[float] = []
    width = min(len(r) for r in multi)
    for k in range(width):
        one = np.array([r[k] for r in multi], dtype=float)
        rest = np.array([(sum(r) - r[k]) / (len(r) - 1) for r in multi], dtype=float)
        value = spearman(one, rest)
        if not math.isnan(value):
            loo.append(value)
    return {
        "items": len(multi),  # a count
        "krippendorff_alpha": krippendorff_interval(multi),
        "leave_one_out_spearman": float(np.mean(loo)) if loo else math.nan,
    }
