"""Monotone maps from a judge's score to the human scale (pure Python: runs in the Lambda).

A map may carry the judge's length preference beyond the humans' (``LengthBias``), measured
by ``judge calibrate`` on the same anchors; ``[reward] length_control = "calibrated"`` removes
it from the raw score before the map. Maps written before it was measured, or measured on the
mapped score (the first release of length control, no ``units``), load with none: recalibrate.
"""

from __future__ import annotations

import bisect
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judge.length import censored_correction

MapKind = Literal["identity", "linear", "isotonic", "sigmoid"]
PRIOR_POINTS = 101  # calibration writes 21; a map file is not trusted with more


class LengthBias(BaseModel):
    """How many more points the judge gives as responses grow, beyond the human label.

    Measured by ``judge.calibration.length``: a censored regression of the judge's latent
    score on the human label and log(characters of the response). ``slope``: latent points
    of the judge's own scale per unit of log length, the label held fixed; ``low`` and
    ``high``: its 95% bootstrap interval; ``sigma``: the latent's noise; ``prior``: quantiles
    of the anchors' latent scores at the reference length ``ref_chars`` (their geometric
    mean length), which tell a top score earned by content from one earned by padding.
    ``min_chars``/``max_chars``: the anchors' range.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    units: Literal["judge"]  # judge-scale points, removed before the map
    slope: float = Field(allow_inf_nan=False)
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    sigma: float = Field(gt=0, allow_inf_nan=False)
    prior: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=1, max_length=PRIOR_POINTS
    )
    ref_chars: float = Field(gt=0, allow_inf_nan=False)
    min_chars: float = Field(gt=0, allow_inf_nan=False)
    max_chars: float = Field(gt=0, allow_inf_nan=False)
    anchors: int = Field(0, ge=0)

    @property
    def significant(self) -> bool:
        """Whether the interval excludes 0 (only then is a correction applied)."""
        return self.low > 0 or self.high < 0

    def shift(self, chars: int) -> float:
        """Latent points a response ``chars`` long gains over one at the reference length.

        Beyond the anchors' lengths a gain follows the slope (padding past the longest anchor
        keeps paying for it); a loss uses the length clamped to the anchors' range, so no
        answer is raised for a length nobody measured.
        """
        ref = math.log(self.ref_chars)
        x = math.log(max(chars, 1))
        if self.slope * (x - ref) < 0:
            x = min(max(x, math.log(self.min_chars)), math.log(self.max_chars))
        return self.slope * (x - ref)

    def correction(self, score: float, chars: int, scale: tuple[float, float], cap: float) -> float:
        """Judge points to subtract from ``score`` (on ``scale``), at most ``cap`` either way.

        See ``judge.length.censored_correction``. The corrected score stays on the scale: a
        bottom score is the bottom score at any length, so nothing takes it lower (a linear
        or sigmoid map would otherwise rank it below a plain bottom score).
        """
        c = censored_correction(score, self.shift(chars), scale, self.sigma, self.prior)
        c = min(cap, max(-cap, c))
        return min(score - scale[0], max(score - scale[1], c))


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

    @model_validator(mode="before")
    @classmethod
    def _old_length(cls, data: object) -> object:
        """A length bias without ``units`` is from the first release (mapped score).

        Its slope means something else, so the map loads without one.
        """
        if isinstance(data, dict):
            length = data.get("length")
            if isinstance(length, dict) and "units" not in length:
                return {**data, "length": None}
        return data

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
