"""The ``reference`` check: exact, normalised, numeric and contains; the reference policy."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from judge.checks import KINDS, CheckInput, CheckResult
from judge.checks.reference import ReferenceSpec, number


def run(response: str, given: str | None, **table: Any) -> CheckResult:
    spec = KINDS["reference"].model_validate({"kind": "reference", **table})
    return spec.build("r", Path(".")).run(CheckInput((), response, given))


def test_registered_and_numbers_read_as_documented() -> None:
    assert KINDS["reference"] is ReferenceSpec
    assert number("It costs 1,234.50 dollars, not 7", "first") == Decimal("1234.50")
    assert number("It costs 1,234.50 dollars, not 7", "last") == Decimal("7")
    assert number("order A-1234", "last") == Decimal("1234")  # a dash after a letter: no sign
    assert number("x = -0.5", "last") == Decimal("-0.5")
    assert number("４２", "last") == Decimal("42")  # full-width digits via the view
    assert number("1e3 apples", "first") == Decimal("1000")
    assert number("no digits here", "last") is None


def test_exact_normalised_contains() -> None:
    assert run("  Paris\n", "Paris", mode="exact").score == 1.0
    assert run("paris", "Paris", mode="exact").score == 0.0
    assert run("PARIS", "Paris", mode="normalised").score == 1.0
    assert run("Ｐａｒｉｓ", "paris", mode="normalised").score == 1.0  # full-width
    assert run("Pa\u200bris", "Paris", mode="normalised").score == 1.0  # zero-width
    assert run("The  capital\nis Paris.", "the capital is paris.", mode="normalised").score == 1.0
    assert run("It is Paris.", "Paris", mode="normalised").score == 0.0
    assert run("Your order A-1234 has shipped", "a-1234", mode="contains").score == 1.0
    assert run("Your order A-1243 has shipped", "a-1234", mode="contains").score == 0.0


def test_numeric_with_tolerances() -> None:
    assert run("So the answer is 0.30", "0.3", mode="numeric").score == 1.0  # decimals, exactly
    assert run("Steps: 2, 3, then 41", "42", mode="numeric").score == 0.0  # last number
    assert run("42 is it; (3 steps)", "42", mode="numeric", number="first").score == 1.0
    # absolute: |41.5 - 42| = 0.5 <= 0.5
    assert run("41.5", "42", mode="numeric", tolerance=0.5).score == 1.0
    assert run("41.4", "42", mode="numeric", tolerance=0.5).score == 0.0
    # relative: 1% of 1000 is 10; 990 in, 989 out
    assert run("990", "1000", mode="numeric", rel_tolerance=0.01).score == 1.0
    assert run("989", "1000", mode="numeric", rel_tolerance=0.01).score == 0.0
    none = run("no idea", "42", mode="numeric")
    assert none.score == 0.0 and none.details["expected"] == "42"
    undecided = run("42", "about forty", mode="numeric")
    assert undecided.score is None and undecided.unscored is not None
    assert undecided.unscored.reason == "undecided"


@pytest.mark.parametrize("mode", ["exact", "normalised", "numeric", "contains"])
def test_reference_policy(mode: str) -> None:
    for missing in (None, "", "  \n"):
        required = run("42", missing, mode=mode)
        assert required.score is None and required.unscored is not None
        assert required.unscored.reason == "reference_missing"
        assert not required.unscored.response_caused  # the sample's gap
        for policy in ("optional", "ignore"):
            result = run("42", missing, mode=mode, reference=policy)
            assert result.score == 1.0 and result.details["reference"] == "missing"


def test_bad_tables_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        ReferenceSpec.model_validate({"kind": "reference", "mode": "fuzzy"})
    with pytest.raises(ValueError, match="greater than or equal"):
        ReferenceSpec.model_validate({"kind": "reference", "tolerance": -1})
    with pytest.raises(ValueError, match="finite"):
        ReferenceSpec.model_validate({"kind": "reference", "tolerance": float("inf")})


@pytest.mark.parametrize(
    "hostile",
    [
        "1" * 20_000,
        "1," * 10_000,
        "9e999999999",
        "-" * 20_000 + "5",
        "\ud800" * 20_000,
        "\x00" * 20_000,
        "1.1.1." * 4_000,
        "&#x31;" * 4_000,
    ],
)
@pytest.mark.parametrize("mode", ["exact", "normalised", "numeric", "contains"])
def test_hostile_text_bounded(hostile: str, mode: str) -> None:
    began = time.perf_counter()
    result = run(hostile, "1", mode=mode)
    back = run("1", hostile, mode=mode)  # a hostile reference too
    assert time.perf_counter() - began < 2.0
    for each in (result, back):
        assert each.score in (0.0, 1.0) or (each.unscored and each.unscored.reason == "undecided")


def test_huge_numbers_compare_without_overflow() -> None:
    assert run("9e999999999", "9e999999999", mode="numeric", tolerance=1).score == 1.0
    assert run("9e999999999", "42", mode="numeric", rel_tolerance=0.5).score == 0.0
    assert run("1" * 5_000, "1" * 5_000, mode="numeric").score == 1.0
