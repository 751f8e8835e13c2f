"""Combine per-dimension scores into one bounded, finite reward.

Each dimension's score is normalised to 0..1 (after calibration when a map is in force),
weighted, gated, then mapped linearly onto the output range. Unscored dimensions are never
counted as 0: the ``[unscored]`` policy decides what they do.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from judge.config import Gate, RewardConfig
from judge.verdict import Unscored

if TYPE_CHECKING:
    from judge.shrink import Shrink


@dataclass(frozen=True)
class Judged:
    """One judge's answer behind a dimension: what ``--details`` shows, never a log line."""

    judge: str  # the judge's model id (each judge of a panel)
    raw: int | None  # the verdict on the rubric's scale; None: no verdict
    calibrated: float | None  # 0..1 through this judge's map in force, else raw normalised
    reasoning: str  # the judge's own reasoning ("" when it gave none)
    cached: bool  # served from the verdict cache, not a call made for this run
    unscored: Unscored | None = None  # why there is no verdict
    order: int = 0  # group mode: which order of the responses this answer read

    def details(self) -> dict[str, Any]:
        """The JSON-ready record."""
        return {
            "judge": self.judge,
            "raw": self.raw,
            "calibrated": self.calibrated,
            "reasoning": self.reasoning,
            "cached": self.cached,
            **({"unscored": str(self.unscored)} if self.unscored is not None else {}),
            **({"order": self.order} if self.order else {}),
        }


@dataclass(frozen=True)
class Dimension:
    """A rubric's or a check's outcome for one sample: a normalised score, or None and why.

    A check (``check`` is its kind) has no judgements: ``details`` says what it measured
    and which rule fired.
    """

    rubric: str
    normalized: float | None
    raw: float | None = None  # the judge's scale; a mean when orders or judges are averaged
    unscored: Unscored | None = None  # why ``normalized`` is None
    spread: float | None = None  # a panel: max - min of the judges' normalised scores
    order_gap: float | None = None  # group mode, two orders: |difference| between them
    judgements: tuple[Judged, ...] = ()  # each judge's answer, reasoning included
    check: str | None = None  # a verifiable check's kind (None: a judged dimension)
    details: Mapping[str, Any] = field(default_factory=dict)  # a check's, JSON-ready
    shrink: Shrink | None = None  # [reward] shrink: how far it moved toward its group's mean


@dataclass(frozen=True)
class Combined:
    """The combined reward, or None when the sample is unscored; ``gate`` if one fired."""

    reward: float | None
    gate: str | None = None


def normalize(score: float, lo: float, hi: float) -> float:
    """Map ``score`` on ``lo..hi`` to 0..1, clamped."""
    if not math.isfinite(score):
        raise ValueError(f"score {score!r} is not finite")
    return min(1.0, max(0.0, (score - lo) / (hi - lo)))


def to_output(unit: float, config: RewardConfig) -> float:
    """Map 0..1 onto the configured output range, clamped and finite."""
    out = config.output
    value = out.min + min(1.0, max(0.0, unit)) * (out.max - out.min)
    return min(out.max, max(out.min, value))


def combine(dimensions: Sequence[Dimension], config: RewardConfig) -> Combined:
    """Weighted, gated combination; ``Combined(None)`` when the sample stays unscored."""
    scored = [d for d in dimensions if d.normalized is not None]
    by_name = {d.rubric: d for d in dimensions}
    for gate in config.gates:
        dim = by_name.get(gate.rubric)
        if dim is not None and fires(gate, dim):
            return Combined(gate_reward(gate, config), gate=gate.rubric)
    if not scored:
        return Combined(None)
    if config.unscored.dimension == "fail" and len(scored) < len(dimensions):
        return Combined(None)
    weights = {d.rubric: config.weight(d.rubric) for d in scored}
    total = sum(weights.values())
    unit = sum(weights[d.rubric] * (d.normalized or 0.0) for d in scored) / total
    return Combined(to_output(unit, config))


def fires(gate: Gate, dim: Dimension) -> bool:
    """Whether ``gate`` fires on ``dim``: scored below it, or made unreadable by the response.

    A gated dimension the answer made unreadable (not the judge failing) fires the gate:
    otherwise a response that gets its gated rubric unscored would skip the gate.
    """
    if dim.normalized is not None:
        return dim.normalized < gate.below
    return dim.unscored is not None and dim.unscored.response_caused


def gate_reward(gate: Gate, config: RewardConfig) -> float:
    """The reward a fired gate sets."""
    return config.output.min if gate.reward == "floor" else float(gate.reward)


def fill_unscored(
    rewards: Sequence[float | None], groups: Sequence[str], config: RewardConfig
) -> list[float]:
    """Apply the sample-level unscored policy: group mean of scored peers, or a fixed value."""
    fixed = config.unscored.value
    if config.unscored.sample == "fixed":
        return [fixed if r is None else r for r in rewards]
    peers: dict[str, list[float]] = defaultdict(list)
    for reward, group in zip(rewards, groups, strict=True):
        if reward is not None:
            peers[group].append(reward)
    out: list[float] = []
    for reward, group in zip(rewards, groups, strict=True):
        if reward is not None:
            out.append(reward)
        elif peers[group]:
            # Clamped: a mean of in-range floats can round a hair outside the range.
            mean = math.fsum(peers[group]) / len(peers[group])
            out.append(min(config.output.max, max(config.output.min, mean)))
        else:
            out.append(fixed)
    return out
