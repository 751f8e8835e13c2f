"""Monotone maps from a judge's score to the human scale (pure Python: runs in the Lambda).

A map may carry the judge's length preference beyond the humans' (``LengthBias``), measured
by ``judge calibrate`` on the same anchors; ``[reward] length_control = "calibrated"`` removes
it. Maps written before it was measured load with none (no length control for them).
"""

from __future__ import annotations

import bisect
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MapKind = Literal["identity", "linear", "isotonic", "sigmoid"]


class LengthBias(BaseModel):
    """How far the judge's mapped score departs from the human label as responses grow.

    ``slope``: the least-squares slope of the residual (mapped judge score minus human label,
    both on 0..1) on log(characters of the response), over the scored anchors; ``low`` and
    ``high``: its 95% bootstrap interval. ``ref_chars`` (the anchors' geometric mean length)
    is where the correction is 0; ``min_chars``/``max_chars`` the anchors' range.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    slope: float = Field(allow_inf_nan=False)
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    ref_chars: float = Field(gt=0, allow_inf_nan=False)
    min_chars: float = Field(gt=0, allow_inf_nan=False)
    max_chars: float = Field(gt=0, allow_inf_nan=False)
    anchors: int = Field(0, ge=0)

    @property
    def significant(self) -> bool:
        """Whether the interval excludes 0 (only then is a correction applied)."""
        return self.low > 0 or self.high < 0

    def correction(self, chars: int, cap: float) -> float:
        """What to subtract from the 0..1 score of a response ``chars`` characters long.

        ``slope * (log(chars) - log(ref_chars))``, at most ``cap`` either way. A correction
        that would lower a score follows the slope beyond the anchors' lengths (padding past
        the longest anchor keeps paying for it); one that would raise a score uses the length
        clamped to the anchors' range, so no answer gains from a length nobody measured.
        """
        ref = math.log(self.ref_chars)
        x = math.log(max(chars, 1))
        c = self.slope * (x - ref)
        if c < 0:
            x = min(max(x, math.log(self.min_chars)), math.log(self.max_chars))
            c = self.slope * (x - ref)
        return min(cap, max(-cap, c))


class ScoreMap(BaseModel):
    """``apply(judge_score) -> human-scale value``, clamped to the human scale.

    - identity: the judge scale stretched linearly onto the human scale (no fitting)
    - linear: ``a + b*x`` with ``b >= 0``
    - isotonic: non-decreasing knots ``xs -> ys``, linear between knots, flat outside
    - sigmoid: ``y_min + (y_max - y_min) / (1 + exp(-(a + b*x)))`` with ``b >= 0``
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: MapKind
    x_min: float
    x_max: float
    y_min: float
    y_max: float
    a: float = 0.0
    b: float = Field(0.0, ge=0.0)
    xs: list[float] = Field(default_factory=list)
    ys: list[float] = Field(default_factory=list)
    length: LengthBias | None = None  # None: not measured (a map from before it was)

    @model_validator(mode="after")
    def _valid(self) -> ScoreMap:
        if not (self.x_min < self.x_max and self.y_min < self.y_max):
            raise ValueError("map scales must have min < max")
        if self.kind == "isotonic":
            if len(self.xs) != len(self.ys) or not self.xs:
                raise ValueError("isotonic map needs equal, non-empty xs and ys")
            if any(b < a for a, b in zip(self.xs, self.xs[1:], strict=False)) or any(
                b < a - 1e-12 for a, b in zip(self.ys, self.ys[1:], strict=False)
            ):
                raise ValueError("isotonic knots must be non-decreasing")
        return self

    def apply(self, x: float) -> float:
        """Map a judge score onto the human scale."""
        if self.kind == "identity":
            y = self.y_min + (x - self.x_min) / (self.x_max - self.x_min) * (
                self.y_max - self.y_min
            )
        elif self.kind == "linear":
            y = self.a + self.b * x
        elif self.kind == "sigmoid":
            z = self.a + self.b * x
            y = self.y_min + (self.y_max - self.y_min) * _sigmoid(z)
        else:
            y = _interpolate(self.xs, self.ys, x)
        return min(self.y_max, max(self.y_min, y))

    def to_unit(self, x: float) -> float:
        """Map a judge score onto the human scale, then to 0..1."""
        return (self.apply(x) - self.y_min) / (self.y_max - self.y_min)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _interpolate(xs: list[float], ys: list[float], x: float) -> float:
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, x)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
