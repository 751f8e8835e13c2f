"""Per-window figures over a run, and the thresholds that flag a hack starting.

A window is ``size`` consecutive batches (the last may be shorter). Samples' figures come
from per-sample records when every batch of the window has them, else from the handler's
per-batch figures; a figure neither holds is None (shown as missing, never as 0).

Groups are samples of one batch sharing a prompt (RFT sends several responses per prompt).
The reward/length correlation is Spearman's within each group of at least ``MIN_GROUP``
scored samples (not unscored, not malformed) whose rewards and lengths both vary, averaged
over those groups. A group has zero spread when all the rewards sent for it are equal.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from judge.runreport import figures
from judge.runreport.read import BatchLog, RunLog, SampleLog
from judge.signals import spearman

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
MIN_GROUP = 3  # with two samples Spearman is always +-1: noise, not a trend
# Flag thresholds (``judge report`` options). ODIN (arXiv 2402.07319) measured a 0.45
# reward/length correlation on a length-hacked reward: 0.3 flags the climb before that. A
# judge's continuous scores rarely tie across a whole group; a quarter of groups with equal
# rewards means the reward is saturating (or collapsing) and those groups teach nothing.
MAX_LENGTH_CORR = 0.3
MAX_ZERO_SPREAD = 0.25
SPREAD_EPS = 1e-9


@dataclass(frozen=True)
class Thresholds:
    """Where a window is flagged: above either value."""

    length_corr: float = MAX_LENGTH_CORR
    zero_spread: float = MAX_ZERO_SPREAD


@dataclass(frozen=True)
class Window:
    """One window's figures; None: the logs do not hold what it needs."""

    index: int
    first: int  # batch numbers, 1-based, inclusive
    last: int
    samples: int
    reward_mean: float | None
    reward_band: tuple[float, ...] | None  # QUANTILES, or (min, max) from per-batch figures
    dimension_means: dict[str, float]
    length_mean: float | None
    length_band: tuple[float, float] | None
    length_spread: str  # what the band is: p25-p75, or mean +- sd from per-batch figures
    length_corr: float | None
    corr_groups: int | None
    zero_spread: float | None
    groups: int | None  # None: per-batch shares, their group counts not logged
    rates: dict[str, float]  # share of samples: guarded, unscored, refused, malformed
    calls: float | None
    cost_usd: float | None
    canary: dict[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def groups_of(batches: Sequence[BatchLog]) -> list[list[SampleLog]]:
    """The prompt groups of each batch (samples without a known group are left out)."""
    out: list[list[SampleLog]] = []
    for b in batches:
        by_prompt: dict[str, list[SampleLog]] = {}
        for s in b.samples or ():
            if s.group is not None:
                by_prompt.setdefault(s.group, []).append(s)
        out += by_prompt.values()
    return out


def length_correlation(groups: Sequence[Sequence[SampleLog]]) -> tuple[float | None, int]:
    """The mean within-group Spearman of reward with length, and how many groups had one."""
    rhos = []
    for g in groups:
        scored = [s for s in g if not s.unscored and not s.malformed and s.length is not None]
        if len(scored) < MIN_GROUP:
            continue
        rho = spearman([float(s.length or 0) for s in scored], [s.reward for s in scored])
        if rho is not None:
            rhos.append(rho)
    return (statistics.fmean(rhos) if rhos else None), len(rhos)


def zero_spread(groups: Sequence[Sequence[SampleLog]]) -> tuple[float | None, int]:
    """The share of groups (two or more samples) whose rewards are all equal."""
    sized = [g for g in groups if len(g) >= 2]
    flat = [g for g in sized if max(s.reward for s in g) - min(s.reward for s in g) <= SPREAD_EPS]
    return (len(flat) / len(sized) if sized else None), len(sized)


def windows(run: RunLog, size: int, thresholds: Thresholds = Thresholds()) -> list[Window]:
    """The run cut into windows of ``size`` batches, each with its figures and flags."""
    out = []
    for index, start in enumerate(range(0, len(run.batches), size)):
        chunk = run.batches[start : start + size]
        w = _window(index, start + 1, chunk, _canary(run, start, size))
        out.append(_flagged(w, thresholds))
    return out


def _window(index: int, first: int, chunk: Sequence[BatchLog], canary: dict[str, float]) -> Window:
    """One window's figures: from per-sample records when it has them, else per-batch ones."""
    samples = [s for b in chunk for s in b.samples or ()]
    per_sample = bool(samples) and all(b.samples is not None for b in chunk)
    if per_sample:
        rewards = [s.reward for s in samples]
        mean: float | None = statistics.fmean(rewards)
        band: tuple[float, ...] | None = tuple(quantile(rewards, q) for q in QUANTILES)
        dims = _dimension_means(samples)
    else:
        mean, band, dims = figures.reward(chunk)
    lengths = [float(s.length) for s in samples if s.length is not None]
    corr: float | None
    corr_groups: int | None
    spread: float | None
    sized: int | None
    length_mean: float | None
    length_band: tuple[float, float] | None
    if per_sample and lengths:
        groups = groups_of(chunk)
        corr, corr_groups = length_correlation(groups)
        spread, sized = zero_spread(groups)
        length_mean = statistics.fmean(lengths)
        length_band = (quantile(lengths, 0.25), quantile(lengths, 0.75))
        length_spread = "p25-p75"
    else:
        corr, corr_groups = figures.length_corr(chunk)
        spread, sized = figures.zero_spread(chunk), None
        length_mean, length_band = figures.length(chunk)
        length_spread = "mean-sd..mean+sd"
    return Window(
        index=index,
        first=first,
        last=first + len(chunk) - 1,
        samples=len(samples) if per_sample else int(figures.total(chunk, "BatchSize") or 0),
        reward_mean=mean,
        reward_band=band,
        dimension_means=dims,
        length_mean=length_mean,
        length_band=length_band,
        length_spread=length_spread,
        length_corr=corr,
        corr_groups=corr_groups,
        zero_spread=spread,
        groups=sized,
        rates=_rates(chunk, samples),
        calls=_calls(chunk),
        cost_usd=_cost(chunk),
        canary=canary,
    )


def _dimension_means(samples: Sequence[SampleLog]) -> dict[str, float]:
    """Each dimension's mean over its scored values, in first-seen order."""
    values: dict[str, list[float]] = {}
    for s in samples:
        for name, v in s.dimensions.items():
            values.setdefault(name, [])
            if v is not None:
                values[name].append(v)
    return {k: statistics.fmean(v) for k, v in values.items() if v}


def _rates(chunk: Sequence[BatchLog], samples: Sequence[SampleLog]) -> dict[str, float]:
    """Shares of samples guarded, unscored, refused, malformed (what the logs hold)."""
    if chunk and all(b.figures for b in chunk):
        return figures.rates(chunk)
    if not samples:
        return {}
    n = len(samples)
    return {
        "guarded": sum(s.guarded for s in samples) / n,
        "unscored": sum(s.unscored for s in samples) / n,
        "refused": sum(s.refused for s in samples) / n,
        "malformed": sum(s.malformed for s in samples) / n,
    }


def _calls(chunk: Sequence[BatchLog]) -> float | None:
    """Judge calls: the handler's count, else judgements answered by a call (details)."""
    if chunk and all(b.figures for b in chunk):
        return figures.total(chunk, "JudgeCalls")
    if all(b.samples is not None for b in chunk):
        return float(sum(s.calls for b in chunk for s in b.samples or ()))
    return None


def _cost(chunk: Sequence[BatchLog]) -> float | None:
    """USD summed over the window; None when a batch's cost is unknown."""
    costs = [b.cost_usd for b in chunk]
    return sum(c for c in costs if c is not None) if all(c is not None for c in costs) else None


def _canary(run: RunLog, start: int, size: int) -> dict[str, float]:
    """Mean of each canary metric read between this window's first batch and the next's."""
    times = [b.time_ms for b in run.batches]
    if not run.canary or start >= len(times) or times[start] is None:
        return {}
    lo = times[start] if start else None
    nxt = start + size
    hi = times[nxt] if nxt < len(times) else None
    found: dict[str, list[float]] = {}
    for t, name, value in run.canary:
        if (lo is None or t >= lo) and (hi is None or t < hi):
            found.setdefault(name, []).append(value)
    return {k: statistics.fmean(v) for k, v in found.items()}


def _flagged(w: Window, t: Thresholds) -> Window:
    """The window with the thresholds it crosses named."""
    flags = []
    if w.length_corr is not None and w.length_corr > t.length_corr:
        flags.append(f"reward/length correlation {w.length_corr:.2f} > {t.length_corr:g}")
    if w.zero_spread is not None and w.zero_spread > t.zero_spread:
        flags.append(f"zero-spread groups {w.zero_spread:.0%} > {t.zero_spread:.0%}")
    return replace(w, flags=tuple(flags))


def dimension_names(ws: Sequence[Window]) -> list[str]:
    """Every dimension seen, in first-seen order."""
    names: dict[str, None] = {}
    for w in ws:
        names |= dict.fromkeys(w.dimension_means)
    return list(names)


def canary_names(ws: Sequence[Window]) -> list[str]:
    """Every canary metric seen, in first-seen order."""
    names: dict[str, None] = {}
    for w in ws:
        names |= dict.fromkeys(w.canary)
    return list(names)


def rate_names(ws: Sequence[Window]) -> list[str]:
    """The rates the logs held."""
    names: dict[str, None] = {}
    for w in ws:
        names |= dict.fromkeys(w.rates)
    return list(names)
