"""Krippendorff's alpha for any number of raters with missing labels, and judge-human figures.

``judge.calibration.stats.krippendorff_interval`` covers complete interval data; labels from
an annotation queue are ordinal and sparse (each item has whoever labelled it), so this one
works on the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's
Alpha-Reliability") with the nominal, ordinal or interval difference function.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

Metric = Literal["nominal", "ordinal", "interval"]


def coincidences(units: Sequence[Sequence[float]]) -> dict[tuple[float, float], float]:
    """The coincidence matrix o_ck over pairable units (two or more values), as a mapping."""
    out: dict[tuple[float, float], float] = {}
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        for i, c in enumerate(unit):
            for j, k in enumerate(unit):
                if i != j:
                    out[(c, k)] = out.get((c, k), 0.0) + 1.0 / (m - 1)
    return out


def _distance(metric: Metric, counts: Mapping[float, float]) -> dict[tuple[float, float], float]:
    """delta^2(c, k) for every pair of values present (ordinal: by the marginal counts)."""
    values = sorted(counts)
    out: dict[tuple[float, float], float] = {}
    for a, c in enumerate(values):
        for b, k in enumerate(values):
            if metric == "nominal":
                out[(c, k)] = 0.0 if c == k else 1.0
            elif metric == "interval":
                out[(c, k)] = (c - k) ** 2
            else:  # ordinal: the ranks between c and k, halving the two ends
                lo, hi = min(a, b), max(a, b)
                between = sum(counts[values[g]] for g in range(lo, hi + 1))
                out[(c, k)] = (between - (counts[c] + counts[k]) / 2) ** 2
    return out


def krippendorff_alpha(units: Sequence[Sequence[float]], metric: Metric = "ordinal") -> float:
    """Alpha over ``units`` (each the labels its raters gave); NaN when nothing is pairable.

    Units with one label carry no agreement information and are left out, as the
    definition does; 1 is perfect agreement, 0 what chance gives, below 0 systematic
    disagreement.
    """
    o = coincidences(units)
    if not o:
        return math.nan
    counts: dict[float, float] = {}
    for (c, _), v in o.items():
        counts[c] = counts.get(c, 0.0) + v
    n = sum(counts.values())
    delta = _distance(metric, counts)
    observed = sum(v * delta[pair] for pair, v in o.items())
    expected = sum(counts[c] * counts[k] * delta[(c, k)] for c in counts for k in counts) / (n - 1)
    return math.nan if expected == 0 else 1.0 - observed / expected


def judge_human(judge: Sequence[float], human: Sequence[float]) -> dict[str, float | int]:
    """How the judge's scores (on the human scale) agree with the humans' mean labels.

    Items, exact agreement (rounded to the nearest level), mean absolute error, and
    Krippendorff's alpha (interval) treating the judge as one more rater of each item.
    """
    pairs = [(j, h) for j, h in zip(judge, human, strict=True) if math.isfinite(j)]
    if not pairs:
        return {"items": 0}
    return {
        "items": len(pairs),
        "exact": sum(round(j) == round(h) for j, h in pairs) / len(pairs),
        "mae": sum(abs(j - h) for j, h in pairs) / len(pairs),
        "krippendorff_alpha": krippendorff_alpha([list(p) for p in pairs], "interval"),
    }
