"""Per-batch training signals: what a slow reward hack or a dead reward looks like in one batch.

Length is characters of the response (the text the judge read; malformed samples have none).
A group is the samples of the batch sharing a prompt (``Sample.group``): RFT sends several
responses per prompt, and GRPO learns only from differences inside a group.

- ``RewardLengthCorr``: Spearman's rho of reward with length inside each group of at least
  ``MIN_GROUP`` scored samples (neither unscored nor malformed) whose rewards and lengths
  both vary, averaged over those groups (``RewardLengthGroups`` of them). Two samples always
  give +-1, and a constant side leaves rho undefined: such groups are left out, not counted 0.
- ``ZeroSpreadGroupRate``: the share of groups (two samples or more) whose rewards are all
  equal: such a group teaches GRPO nothing (trainers log it as ``frac_reward_zero_std``).

Pure Python: it runs in the Lambda, after every batch.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from judge.assemble import SampleResult

MIN_GROUP = 3
SPREAD_EPS = 1e-9  # rewards closer than this are equal (they are sums of float products)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho (Pearson's r on average ranks); None when either side is constant."""
    if len(x) < 2 or len(x) != len(y):
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else None


def groups(results: Sequence[SampleResult]) -> list[list[SampleResult]]:
    """The batch's prompt groups, in first-seen order (malformed samples belong to none)."""
    by_prompt: dict[str, list[SampleResult]] = {}
    for r in results:
        if r.group is not None:
            by_prompt.setdefault(r.group, []).append(r)
    return list(by_prompt.values())


def length_correlation(grouped: Sequence[Sequence[SampleResult]]) -> tuple[float | None, int]:
    """The mean within-group Spearman of reward with length, and how many groups gave one."""
    rhos = []
    for g in grouped:
        scored = [r for r in g if not r.unscored and not r.malformed and r.length is not None]
        if len(scored) < MIN_GROUP:
            continue
        rho = spearman([float(r.length or 0) for r in scored], [r.reward for r in scored])
        if rho is not None:
            rhos.append(rho)
    return (statistics.fmean(rhos) if rhos else None), len(rhos)


def zero_spread(grouped: Sequence[Sequence[SampleResult]]) -> float | None:
    """The share of groups of two or more whose rewards are all equal (None: no such group)."""
    sized = [g for g in grouped if len(g) >= 2]
    flat = [g for g in sized if max(r.reward for r in g) - min(r.reward for r in g) <= SPREAD_EPS]
    return len(flat) / len(sized) if sized else None


def batch_signals(results: Sequence[SampleResult]) -> dict[str, float]:
    """The signals by metric name; a figure without a value (no groups, no lengths) is left out."""
    rewards = [r.reward for r in results]
    lengths = [float(r.length) for r in results if r.length is not None]
    grouped = groups(results)
    corr, counted = length_correlation(grouped)
    out: dict[str, float] = {
        "RewardStd": statistics.pstdev(rewards) if rewards else 0.0,
        "RewardLengthGroups": counted,
    }
    if lengths:
        out["ResponseLengthMean"] = statistics.fmean(lengths)
        out["ResponseLengthStd"] = statistics.pstdev(lengths)
    if corr is not None:
        out["RewardLengthCorr"] = corr
    if (share := zero_spread(grouped)) is not None:
        out["ZeroSpreadGroupRate"] = share
    return out
