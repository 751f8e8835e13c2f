"""The ``length`` check: counts on the guard's view, a band with a linear soft penalty."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from judge.checks import KINDS, CheckInput
from judge.checks.length import LengthSpec, band_score, count

ROOT = Path(".")


def run(response: str, **table: object) -> tuple[float | None, dict[str, object]]:
    check = KINDS["length"].model_validate({"kind": "length", **table}).build("n", ROOT)
    result = check.run(CheckInput(conversation=(), response=response))
    return result.score, dict(result.details)


def test_registered_and_examples_count_as_documented() -> None:
    assert KINDS["length"] is LengthSpec
    assert count("one two  three\nfour", "words") == 4
    assert count("答案是四十二", "words") == 3  # six Han characters, two a word
    assert count("abc\u200bdef", "chars") == 6  # the zero-width space is not read
    assert count("a&amp;b", "chars") == 3  # the entity reads as one "&"
    # tokens: 12 spaced characters -> 3, plus 2 Han characters -> 2
    assert count("hello world!中文", "tokens") == 3 + 2
    assert count("", "tokens") == 0


def test_inside_the_band_is_one_and_the_penalty_is_linear() -> None:
    # max 10, softness 0.5: slack 5 words; 12 words -> 1 - 2/5 = 0.6; 15 or more -> 0
    assert band_score(10, None, 10, 0.5) == 1.0
    assert band_score(12, None, 10, 0.5) == pytest.approx(0.6)
    assert band_score(15, None, 10, 0.5) == 0.0
    assert band_score(40, None, 10, 0.5) == 0.0
    # min 20, softness 0.25: slack 5; 17 -> 1 - 3/5 = 0.4
    assert band_score(17, 20, None, 0.25) == pytest.approx(0.4)
    assert band_score(21, 20, 30, 0.0) == 1.0
    assert band_score(31, 20, 30, 0.0) == 0.0  # a hard band


def test_a_check_scores_and_reports_its_count() -> None:
    score, details = run(" ".join(["w"] * 12), unit="words", max=10, softness=0.5)
    assert score == pytest.approx(0.6)
    assert details == {"unit": "words", "count": 12, "min": None, "max": 10}
    score, _ = run("x" * 8, unit="chars", min=10, max=20, softness=1.0)
    assert score == pytest.approx(0.8)  # 2 short of 10, slack 10


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({}, "needs 'min' or 'max'"),
        ({"min": 5, "max": 2}, "above 'max'"),
        ({"max": -1}, "greater than or equal"),
        ({"max": 3, "unit": "lines"}, "'chars', 'words' or 'tokens'"),
        ({"max": 3, "maxx": 4}, "Extra inputs"),
    ],
)
def test_bad_tables_are_refused_with_the_key(table: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        LengthSpec.model_validate({"kind": "length", **table})


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 20_000,
        "a " * 20_000,
        "\u200b" * 20_000,
        "\ud800x\udfff" * 5_000,
        "\x00" * 20_000,
        "中" * 20_000,
        "&amp;" * 4_000,
    ],
)
@pytest.mark.parametrize("unit", ["chars", "words", "tokens"])
def test_hostile_text_is_counted_in_bounded_time(hostile: str, unit: str) -> None:
    began = time.perf_counter()
    score, details = run(hostile, unit=unit, max=50)
    assert time.perf_counter() - began < 2.0
    assert score is not None and 0.0 <= score <= 1.0
    assert isinstance(details["count"], int) and details["count"] >= 0


def test_zero_width_padding_does_not_lengthen_a_reply() -> None:
    padded = "\u200b".join("short reply")
    assert run(padded, unit="chars", max=11, softness=0.0)[0] == 1.0
