"""The ``length`` check: the response's length in a band, with a soft penalty outside it.

Conciseness without a cliff: a reply one word over the limit loses a little, not everything.
Lengths are counted on the guard's normalised view (``judge.guard.guard_view``), so
zero-width padding, combining marks and escapes (``&amp;``) do not count, and a policy
cannot pad or shrink its length with spellings a reader never sees::

    [checks.concise]
    kind = "length"
    unit = "words"      # "chars" | "words" | "tokens"
    max = 120           # min and/or max, inclusive
    softness = 0.5      # the score falls linearly to 0 at 50% past the bound (180 words)
    weight = 1.0

- ``chars``: characters of the view;
- ``words``: as the guard counts them (``judge.substance.word_count``): whitespace-separated
  tokens, and two characters a word in scripts written without spaces (Chinese, Japanese,
  Thai...);
- ``tokens``: an estimate, no tokenizer shipped: one token per character of an unspaced
  script, plus one per 4 other characters (spaces included), rounded up; about what BPE
  tokenizers give for English prose (the common 4-characters-a-token rule), within ~25%.

Score: 1 inside ``[min, max]``; outside, ``1 - distance / (softness * bound)`` floored at 0,
where ``distance`` is how far the count is from the bound it crosses. ``softness = 0`` is a
hard band (0 outside). A length is always decidable: this check never leaves a sample
unscored.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec
from judge.guard import guard_view
from judge.guard_rules import is_unspaced

Unit = Literal["chars", "words", "tokens"]
CHARS_PER_TOKEN = 4  # the estimate for text in spaced scripts


class LengthSpec(CheckSpec):
    """A ``[checks.<name>]`` table of kind ``length``."""

    KIND: ClassVar[str] = "length"
    kind: Literal["length"] = "length"
    unit: Unit = "words"
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    # How far past a bound the score reaches 0, as a fraction of that bound.
    softness: float = Field(default=0.5, ge=0.0, le=100.0)

    @model_validator(mode="after")
    def _band(self) -> LengthSpec:
        if self.min is None and self.max is None:
            raise ValueError("a length check needs 'min' or 'max' (or both): e.g. max = 120")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(
                f"'min' ({self.min}) is above 'max' ({self.max}): swap them or widen the band"
            )
        return self

    def build(self, name: str, root: Path) -> Check:
        """The check (nothing to load)."""
        return LengthCheck(name, self)


def count(text: str, unit: Unit) -> int:
    """``text``'s length in ``unit``, on the guard's normalised view."""
    if unit == "words":
        from judge.substance import word_count  # lazily: substance imports the config

        return word_count(text)
    seen = guard_view(text).text
    if unit == "chars":
        return len(seen)
    unspaced = sum(map(is_unspaced, seen))
    return unspaced + math.ceil((len(seen) - unspaced) / CHARS_PER_TOKEN)


def band_score(n: int, low: int | None, high: int | None, softness: float) -> float:
    """1 inside ``[low, high]``, falling linearly to 0 at ``softness * bound`` past a bound."""
    if low is not None and n < low:
        distance, bound = low - n, low
    elif high is not None and n > high:
        distance, bound = n - high, high
    else:
        return 1.0
    slack = softness * bound
    if slack <= 0:
        return 0.0
    return max(0.0, 1.0 - distance / slack)


class LengthCheck:
    """A built ``length`` check."""

    kind = LengthSpec.KIND

    def __init__(self, name: str, spec: LengthSpec) -> None:
        self.name = name
        self.spec = spec

    def run(self, item: CheckInput) -> CheckResult:
        """The band score of the response's length."""
        spec = self.spec
        n = count(item.response, spec.unit)
        score = band_score(n, spec.min, spec.max, spec.softness)
        return CheckResult.passed(score, unit=spec.unit, count=n, min=spec.min, max=spec.max)
