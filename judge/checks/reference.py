"""The ``reference`` check: the response against the sample's reference answer.

"The order number matches the reference" decided exactly, four ways::

    [checks.order_number]
    kind = "reference"
    mode = "numeric"     # "exact" | "normalised" | "numeric" | "contains"
    number = "last"      # numeric: the response's "last" (default) or "first" number
    tolerance = 0.0      # numeric: absolute ...
    rel_tolerance = 0.0  # ... and/or relative to the reference: |x - ref| <= max(abs, rel*|ref|)
    reference = "required"

- ``exact``: the response equals the reference, surrounding whitespace aside;
- ``normalised``: equal on the guard's normalised view (``judge.guard.guard_view``: case,
  Unicode compatibility forms, look-alike letters, zero-width characters, escapes) with runs
  of whitespace made one space;
- ``numeric``: the response's last (or first) number against the reference's first, both
  read on the normalised view (full-width digits, ``1,234``, ``-0.5``, ``1e3``) and compared
  as decimals (no float rounding: "0.30" equals "0.3"); a response without a number scores
  0; a reference without one leaves the sample undecided;
- ``contains``: the normalised reference occurs in the normalised response.

Score 1 on a match, else 0. A sample without a reference (none, or only whitespace) follows
``reference``: ``required`` (the default) leaves it unscored ``reference_missing``: the
sample's gap, not the response's (the ``[unscored]`` policy decides, as for rubrics);
``optional`` and ``ignore`` score it 1 (nothing to contradict; the same for every response
to that prompt, so it moves no advantage), with ``reference: "missing"`` in the details. A
reference check cannot ignore a reference it has, so ``ignore`` only differs from
``optional`` for rubrics.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec
from judge.guard import guard_view
from judge.verdict import Unscored

# A number on the normalised view: a sign (not after a letter or digit: "A-1234" is 1234),
# digits with optional thousands commas, decimals, an exponent. No nested or adjacent
# unbounded quantifiers over the same characters: linear.
NUMBER = re.compile(
    r"(?:(?<!\w)[-+])?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:e[-+]?\d{1,9})?"
)
SHOWN = 40  # characters of a number in the details


def seen(text: str) -> str:
    """``text`` as the guard reads it, runs of whitespace made one space."""
    return " ".join(guard_view(text).text.split())


def number(text: str, which: Literal["first", "last"]) -> Decimal | None:
    """The first or last number in ``text`` (normalised view), or None."""
    found = None
    for match in NUMBER.finditer(seen(text)):
        found = match.group()
        if which == "first":
            break
    if found is None:
        return None
    try:
        return Decimal(found.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only matches decimals
        return None


class ReferenceSpec(CheckSpec):
    """A ``[checks.<name>]`` table of kind ``reference``."""

    KIND: ClassVar[str] = "reference"
    kind: Literal["reference"] = "reference"
    mode: Literal["exact", "normalised", "numeric", "contains"] = "normalised"
    number: Literal["first", "last"] = "last"
    tolerance: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    rel_tolerance: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    reference: Literal["required", "optional", "ignore"] = "required"

    def build(self, name: str, root: Path) -> Check:
        """The check (nothing to load)."""
        return ReferenceCheck(name, self)


class ReferenceCheck:
    """A built ``reference`` check."""

    kind = ReferenceSpec.KIND

    def __init__(self, name: str, spec: ReferenceSpec) -> None:
        self.name = name
        self.spec = spec

    def run(self, item: CheckInput) -> CheckResult:
        """1 when the response matches the reference in the configured mode, else 0."""
        spec = self.spec
        reference = item.reference
        if reference is None or not reference.strip():
            if spec.reference == "required":
                return CheckResult.undecided(
                    Unscored(reason="reference_missing", detail="the check requires one")
                )
            return CheckResult.passed(1.0, mode=spec.mode, reference="missing")
        if spec.mode == "numeric":
            return self.numeric(item.response, reference)
        response = item.response
        if spec.mode == "exact":
            match = response.strip() == reference.strip()
        elif spec.mode == "normalised":
            match = seen(response) == seen(reference)
        else:
            match = seen(reference) in seen(response)
        return CheckResult.passed(float(match), mode=spec.mode)

    def numeric(self, response: str, reference: str) -> CheckResult:
        """The response's number within the tolerance of the reference's."""
        spec = self.spec
        expected = number(reference, "first")
        if expected is None:
            detail = "the reference has no number"
            return CheckResult.undecided(Unscored(reason="undecided", detail=detail))
        found = number(response, spec.number)
        if found is None:
            return CheckResult.passed(0.0, mode="numeric", expected=str(expected)[:SHOWN])
        try:
            tolerance, relative = Decimal(str(spec.tolerance)), Decimal(str(spec.rel_tolerance))
            allowed = max(tolerance, relative * abs(expected))
            match = abs(found - expected) <= allowed
        except ArithmeticError:  # exponents past the decimal context's range
            match = found == expected
        return CheckResult.passed(
            float(match), mode="numeric", found=str(found)[:SHOWN], expected=str(expected)[:SHOWN]
        )
