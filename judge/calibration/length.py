"""The judge's length preference beyond the humans', measured on the anchors.

Judges prefer longer answers (70-90% of PPO's reward gain in "A Long Way to Go",
arXiv 2310.03716, came from length). Some of that preference may be the humans' too: a longer
answer can be a better one. What calibration can measure is the excess, as AlpacaEval's
length-controlled win rate does (a regression with a length term, the term then set to 0): the
judge's raw score regressed on the human label and log(characters of the response) together,
``judge ~ a + c * human + slope * log(chars)``. ``slope`` is how many points of the judge's
own scale a response gains per unit of log length with its human label held fixed; its 95%
interval comes from the calibration bootstrap (``stats.bootstrap_one``).

The regression is censored, not least squares: a judge's score is an integer on a bounded
scale, so a 5 means "somewhere above 4.5", and a judge that would have given a long, good
answer 6 still says 5. Least squares reads those clamped scores at face value and
underestimates the slope (1.26 for a true 1.5 in ``bench/bench_length.py``); the interval
likelihood (an ordered probit with the scale's own cut points) does not. The map file records
both (``judge.maps.LengthBias``); ``[reward] length_control = "calibrated"`` subtracts the
slope's share from the raw score *before* the map, where the interval excludes 0.

Why the raw score and not the mapped one: a map may merge judge levels (an isotonic fit that
gives 4 and 5 one value). A slope measured after such a map and subtracted after it takes
reward away from padded answers whose padding earned nothing, and over-corrects; measured and
removed before the map, the correction passes through the same map as the preference did.

All scored anchors are used, both splits: the map is a function of the judge's score alone, so
fitting it on the calibration split gives it no hold on length. The limits: the human label
enters linearly, so a judge whose scale bends against the humans' where length also varies
leaves some of that bend in the slope; a mean of several draws (``--samples``) is read as a
whole score +- 0.5, an approximation; on a two-level scale (one cut point) only the slope's
ratio to the noise is identified, so its size in judge points means little there.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from judge.calibration.stats import Array, bootstrap_one
from judge.length import HALF, SQRT_2PI
from judge.maps import LengthBias

MIN_ITEMS = 4  # three coefficients: fewer points leave nothing to estimate the slope from
PRIOR_QUANTILES = np.linspace(0.025, 0.975, 21)  # the anchors' latents, summarised
LOG_SIGMA = (math.log(0.01), math.log(100.0))  # the latent noise kept finite and nonzero


def _design(human: Array, x: Array) -> Array | None:
    """Columns 1, human, log length; None when the slope cannot be told apart.

    That is too few points, lengths constant, or lengths collinear with the labels. With one
    label the human column is dropped (the intercept carries it).
    """
    if len(x) < MIN_ITEMS or np.ptp(x) == 0:
        return None
    cols = [np.ones_like(x), x] if np.ptp(human) == 0 else [np.ones_like(x), human, x]
    design = np.column_stack(cols)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return None
    return design


def _bounds(judge: Array, scale: tuple[float, float]) -> tuple[Array, Array]:
    """Each score's latent interval: k +- 0.5, open-ended at the scale's ends.

    A judge that would have gone past 5 still says 5: the clamp is what flattens a plain
    regression.
    """
    lo, hi = scale
    lower = np.where(judge <= lo + 1e-9, -np.inf, judge - HALF)
    upper = np.where(judge >= hi - 1e-9, np.inf, judge + HALF)
    return lower, upper


def _censored_fit(
    design: Array, judge: Array, scale: tuple[float, float], start: Array | None = None
) -> tuple[Array, float] | None:
    """Maximum-likelihood ``(beta, sigma)`` of ``latent = design @ beta + N(0, sigma)``.

    Each score is an interval of the latent (``_bounds``); the search starts from ``start``
    (``beta`` then log sigma: a bootstrap resample starts from the full sample's answer),
    else from least squares.
    """
    lower, upper = _bounds(judge, scale)

    def nll(theta: Array) -> tuple[float, Array]:
        """Negative log likelihood and its gradient (beta, then log sigma)."""
        mu, sigma = design @ theta[:-1], math.exp(theta[-1])
        u, v = (upper - mu) / sigma, (lower - mu) / sigma
        mass = np.maximum(special.ndtr(u) - special.ndtr(v), 1e-300)
        pu, pv = _pdf(u), _pdf(v)
        d_mu = (pv - pu) / sigma / mass
        d_log_sigma = (_times(v, pv) - _times(u, pu)) / mass
        grad = np.append(-(design.T @ d_mu), -d_log_sigma.sum())
        return float(-np.log(mass).sum()), grad

    if start is None or len(start) != design.shape[1] + 1:
        ols, *_ = np.linalg.lstsq(design, judge, rcond=None)
        resid = float(np.std(judge - design @ ols)) or 1.0
        start = np.append(ols, math.log(min(max(resid, 0.1), 10.0)))
    limits = [(None, None)] * design.shape[1] + [LOG_SIGMA]  # all scores at one end: no MLE
    done = optimize.minimize(nll, start, jac=True, method="L-BFGS-B", bounds=limits)
    if not np.all(np.isfinite(done.x)):
        return None
    return done.x[:-1], math.exp(float(done.x[-1]))


def _pdf(z: Array) -> Array:
    """The standard normal density, 0 at +-inf."""
    out: Array = np.exp(-0.5 * np.square(np.where(np.isfinite(z), z, 0.0))) / SQRT_2PI
    return np.where(np.isfinite(z), out, 0.0)


def _times(z: Array, density: Array) -> Array:
    """``z * density``, 0 where ``z`` is infinite (the density vanishes faster)."""
    out: Array = np.where(np.isfinite(z), z, 0.0) * density
    return out


def partial_slope(
    judge: Array,
    human: Array,
    chars: Array,
    scale: tuple[float, float],
    start: Array | None = None,
) -> float:
    """The judge score's slope on log length with the human label held fixed (NaN: none)."""
    design = _design(human, np.log(np.maximum(chars, 1.0)))
    if design is None or np.ptp(judge) == 0:  # one score throughout: any slope fits it
        return math.nan
    fit = _censored_fit(design, judge, scale, start)
    return math.nan if fit is None else float(fit[0][-1])


def partial_residuals(
    judge: Array, human: Array, chars: Array, scale: tuple[float, float]
) -> Array | None:
    """What of each judge score the human label does not explain.

    The score less the fit's intercept and human term: the points the length plot draws
    against length.
    """
    x = np.log(np.maximum(chars, 1.0))
    design = _design(human, x)
    fit = None if design is None or np.ptp(judge) == 0 else _censored_fit(design, judge, scale)
    if design is None or fit is None:
        return None
    out: Array = judge - design[:, :-1] @ fit[0][:-1]
    return out


def length_bias(
    judge: Array,
    human: Array,
    chars: Array,
    scale: tuple[float, float],
    *,
    rounds: int = 1000,
    seed: int = 0,
) -> LengthBias | None:
    """The slope with its interval; None when lengths do not vary (nothing to measure)."""
    x = np.log(np.maximum(chars, 1.0))
    design = _design(human, x)
    fit = None if design is None or np.ptp(judge) == 0 else _censored_fit(design, judge, scale)
    if design is None or fit is None:
        return None
    beta, sigma = fit
    start = np.append(beta, math.log(sigma))

    def statistic(idx: NDArray[np.int64]) -> float:
        return partial_slope(judge[idx], human[idx], chars[idx], scale, start)

    boot = bootstrap_one("slope", statistic, len(chars), rounds=rounds, seed=seed)
    if math.isnan(boot["low"]):
        return None
    at_ref = design[:, :-1] @ beta[:-1] + beta[-1] * x.mean()
    return LengthBias(
        units="judge",
        slope=float(beta[-1]),
        low=boot["low"],
        high=boot["high"],
        sigma=sigma,
        prior=[round(float(q), 4) for q in np.quantile(at_ref, PRIOR_QUANTILES)],
        ref_chars=float(math.exp(x.mean())),
        min_chars=float(max(chars.min(), 1.0)),
        max_chars=float(max(chars.max(), 1.0)),
        anchors=len(chars),
    )
