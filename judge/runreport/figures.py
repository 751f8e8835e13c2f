"""A window's figures from the handler's per-batch figures (CloudWatch Logs' ``batch scored``).

Used where the window's batches have no per-sample records with what a figure needs. Each
figure is combined only when every batch of the window has it (else None: not a made-up 0):
means weighted by batch size, the reward/length correlation by the groups each batch
averaged (``RewardLengthGroups``), so it is the mean over the window's groups as from
samples; the zero-spread share is the mean of the batches' shares (their group counts are
not logged); the length band is the pooled mean +- one standard deviation.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from judge.runreport.read import BatchLog

# Share of samples -> the per-batch count it is made of (judge.metrics names).
RATE_COUNTS = {
    "guarded": "GuardedSamples",
    "unscored": "UnscoredSamples",
    "refused": "RefusedSamples",
    "malformed": "MalformedSamples",
}


def values(chunk: Sequence[BatchLog], name: str) -> list[float] | None:
    """The figure of every batch, or None when a batch lacks it."""
    found = [b.figures.get(name) for b in chunk]
    return [v for v in found if v is not None] if chunk and None not in found else None


def weighted(chunk: Sequence[BatchLog], name: str, weight: str = "BatchSize") -> float | None:
    """The figure's mean over the window, each batch weighted by ``weight``."""
    vs, ws = values(chunk, name), values(chunk, weight)
    if vs is None or ws is None or not sum(ws):
        return None
    return sum(v * w for v, w in zip(vs, ws, strict=True)) / sum(ws)


def total(chunk: Sequence[BatchLog], name: str) -> float | None:
    """The figure summed over the window."""
    vs = values(chunk, name)
    return None if vs is None else sum(vs)


def reward(
    chunk: Sequence[BatchLog],
) -> tuple[float | None, tuple[float, ...] | None, dict[str, float]]:
    """Mean, min..max and per-rubric means (means of the batches' means)."""
    mean = weighted(chunk, "RewardMean")
    lows, highs = values(chunk, "RewardMin"), values(chunk, "RewardMax")
    band = (min(lows), max(highs)) if mean is not None and lows and highs else None
    means: dict[str, list[float]] = {}
    for b in chunk:
        for k, v in b.figures.items():
            if k.startswith("ScoreMean_"):
                means.setdefault(k.removeprefix("ScoreMean_"), []).append(v)
    return mean, band, {k: statistics.fmean(v) for k, v in means.items()}


def length(chunk: Sequence[BatchLog]) -> tuple[float | None, tuple[float, float] | None]:
    """Pooled mean length and mean +- sd (``ResponseLengthMean``/``Std``)."""
    mean = weighted(chunk, "ResponseLengthMean")
    means, stds = values(chunk, "ResponseLengthMean"), values(chunk, "ResponseLengthStd")
    sizes = values(chunk, "BatchSize")
    if mean is None or not means or not stds or not sizes:
        return mean, None
    second = sum(n * (s * s + m * m) for n, m, s in zip(sizes, means, stds, strict=True))
    sd = max(second / sum(sizes) - mean * mean, 0.0) ** 0.5
    return mean, (mean - sd, mean + sd)


def length_corr(chunk: Sequence[BatchLog]) -> tuple[float | None, int | None]:
    """The mean over the window's groups of the within-group correlation, and their count."""
    groups = total(chunk, "RewardLengthGroups")
    if not groups:
        return None, None if groups is None else 0
    parts = [
        (b.figures.get("RewardLengthCorr"), b.figures["RewardLengthGroups"])
        for b in chunk
        if b.figures["RewardLengthGroups"]
    ]
    if any(c is None for c, _ in parts):
        return None, int(groups)
    return sum((c or 0.0) * g for c, g in parts) / groups, int(groups)


def zero_spread(chunk: Sequence[BatchLog]) -> float | None:
    """The mean of the batches' zero-spread shares."""
    vs = values(chunk, "ZeroSpreadGroupRate")
    return statistics.fmean(vs) if vs else None


def rates(chunk: Sequence[BatchLog]) -> dict[str, float]:
    """Shares of samples for each count the batches logged."""
    n = total(chunk, "BatchSize")
    if not n:
        return {}
    out = {}
    for rate, count in RATE_COUNTS.items():
        if (c := total(chunk, count)) is not None:
            out[rate] = c / n
    return out
