"""Length control in the Lambda: the group-level kind, and the calibrated kind's arithmetic.

``length_control = "group"`` is for unanchored rubrics. Without anchors nobody measured how
much of the judge's length preference the humans share, so the only evidence is inside the
batch: within one prompt group, the least-squares slope of a dimension's score on
log(characters). Whatever exceeds ``tolerance`` is removed, around the group's mean log
length, so the group's mean score is kept (before clamping) and only its ranking by length
changes: a longer answer may still earn up to ``tolerance`` more per unit of log length. A
slope at or below the tolerance, or a negative one (a judge preferring brevity may be the
rubric's intent), is left alone. The limit: a group whose longer answers really
are better loses that too; calibrated anchors say how much is real (``LengthBias``).

``length_control = "calibrated"`` (``censored_correction``) removes the judge's preference
that calibration measured on the anchors (``judge.maps.LengthBias``).

Pure Python: it runs in the Lambda.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

MIN_GROUP = 3  # as judge.signals: fewer points give no slope worth trusting
SQRT_2PI = math.sqrt(2.0 * math.pi)
HALF = 0.5  # a judge's whole score k stands for a latent value in k +- 0.5 (both fits use it)


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


def _phi(z: float) -> float:
    """Standard normal density; 0 at +-inf."""
    return math.exp(-0.5 * z * z) / SQRT_2PI if math.isfinite(z) else 0.0


def _cdf(z: float) -> float:
    """Standard normal distribution function."""
    if not math.isfinite(z):
        return 1.0 if z > 0 else 0.0
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _band(k: int, scale: tuple[int, int]) -> tuple[float, float]:
    """The latent values a judge reports as ``k``: k +- 0.5, open at the scale's ends."""
    return (
        -math.inf if k <= scale[0] else k - HALF,
        math.inf if k >= scale[1] else k + HALF,
    )


def expected_at_ref(
    score: int,
    shift: float,
    scale: tuple[int, int],
    sigma: float,
    prior: Sequence[float],
) -> float | None:
    """The score the judge would have given this response at the reference length, expected.

    Its latent score, known to lie in ``score``'s band, is moved back by ``shift`` and read
    off the scale again; each prior point (a latent at the reference length,
    ``LengthBias.prior``) is weighted by how well it explains ``score``. None when no prior
    point does.
    """
    lo, hi = _band(score, scale)
    total = weight = 0.0
    for m in prior:
        mu = m + shift  # this prior point's latent at the response's own length
        for k in range(scale[0], scale[1] + 1):
            a, b = _band(k, scale)
            a, b = max(lo, a + shift), min(hi, b + shift)
            if a >= b:
                continue
            p = _cdf((b - mu) / sigma) - _cdf((a - mu) / sigma)
            total += k * p
            weight += p
    return total / weight if weight > 1e-12 else None


def censored_correction(
    score: float,
    shift: float,
    scale: tuple[float, float],
    sigma: float,
    prior: Sequence[float],
) -> float:
    """Judge points to take off ``score``, whose length earned ``shift`` latent points.

    ``shift`` is what the response's length adds over the reference length (``LengthBias``).

    A score inside the scale stands for its latent value +- 0.5 and loses about ``shift``.
    A score at the end of the scale hides how far past it the latent went: a padded answer
    at the top may owe its top score to its content, not its padding, so it loses only what
    the anchors (``prior``) say its padding most likely bought. An answer at the reference
    length keeps its score exactly. A score off the integer levels (not a judge's) or one no
    prior point explains loses ``shift``.
    """
    if shift == 0:
        return 0.0
    lo, hi = int(scale[0]), int(scale[1])
    whole = score == int(score) and (float(lo), float(hi)) == (scale[0], scale[1])
    if not whole or not lo <= score <= hi:
        return shift
    expected = expected_at_ref(int(score), shift, (lo, hi), sigma, prior)
    return shift if expected is None else score - expected
