"""The ``pattern`` check: RE2 patterns, refused at load when RE2 cannot run them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from judge.checks import KINDS, CheckInput, CheckResult
from judge.checks.pattern import PatternSpec

PII = [r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}", r"[\w.+-]+@[\w-]+\.[\w.]+"]


def run(response: str, **table: object) -> CheckResult:
    spec = KINDS["pattern"].model_validate({"kind": "pattern", **table})
    return spec.build("p", Path(".")).run(CheckInput(conversation=(), response=response))


def test_registered() -> None:
    assert KINDS["pattern"] is PatternSpec


def test_must_not_catches_pii_through_the_normalised_view() -> None:
    clean = run("Your order ships today.", must_not=PII)
    assert (clean.score, clean.details["matched"]) == (1.0, [])
    # full-width digits and a zero-width-split address read as the plain ones
    card = run("card ４２４２ ４２４２ ４２４２ ４２４２", must_not=PII)
    assert card.score == 0.0 and card.details["matched"] == [PII[0]]
    mail = run("write to bob\u200b@exa\u200bmple.com", must_not=PII)
    assert mail.score == 0.0 and mail.details["matched"] == [PII[1]]
    # the raw view sees what was sent: the zero-width space breaks the address there
    assert run("write to bob\u200b@exa\u200bmple.com", must_not=PII, view="raw").score == 1.0


def test_must_names_what_is_missing_and_case_follows_the_view() -> None:
    result = run("Your order A-1234 ships.", must=[r"order a-\d+", "refund"])
    assert result.score == 0.0 and result.details["missing"] == ["refund"]
    assert run("ORDER A-1234", must=[r"order a-\d+"]).score == 1.0  # the view is lower case
    assert run("ORDER A-1234", must=[r"order"], view="raw", ignore_case=False).score == 0.0
    assert run("ORDER A-1234", must=[r"order"], view="raw").score == 1.0  # ignore_case default


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"must": [r"(a)\1"]}, r"must\[0\]: pattern '\(a\)\\\\1'.*backreferences"),
        ({"must_not": ["x", r"(?<=a)b"]}, r"must_not\[1\].*invalid perl operator.*Fix:"),
        ({"must": ["[unclosed"]}, r"must\[0\].*missing \]"),
        ({}, "needs 'must' or 'must_not'"),
        ({"must": ["a"], "ignore_case": False}, "view = 'raw'"),
        ({"must": ["a"], "mustnot": ["b"]}, "Extra inputs"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_at_load(table: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        PatternSpec.model_validate({"kind": "pattern", **table})


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 20_000 + "!",
        "\ud800\udfff" * 10_000,
        "\x00" * 20_000,
        "1 " * 10_000,
        "&#x34;" * 4_000,
    ],
)
@pytest.mark.parametrize("view", ["normalised", "raw"])
def test_hostile_text_in_linear_time(hostile: str, view: str) -> None:
    # (a+)+$ takes exponential time in a backtracking engine on "aaa...!"
    began = time.perf_counter()
    result = run(hostile, must_not=[r"(a+)+$", *PII], must=[r"(x|x)*y"], view=view)
    assert time.perf_counter() - began < 2.0
    assert result.score == 0.0 and result.details["missing"] == [r"(x|x)*y"]
    # "&#x34;" is "4" to the normalised view: 4,000 of them are a card number there
    decoded_digits = view == "normalised" and hostile.startswith("&#x34;")
    assert result.details["matched"] == ([PII[0]] if decoded_digits else [])
