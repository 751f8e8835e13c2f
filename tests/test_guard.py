from __future__ import annotations

import pytest

from judge.guard import Guard


@pytest.mark.parametrize(
    ("response", "flag"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        (":", "punctuation_only"),
        ("...", "punctuation_only"),
        ("！？。", "punctuation_only"),
        ("**", "punctuation_only"),
        ("Thought process:", "bare_reasoning_opener"),
        ("thought process", "bare_reasoning_opener"),
        ("Solution", "bare_reasoning_opener"),
        ("Solution:", "bare_reasoning_opener"),
        ("**Answer:**", "bare_reasoning_opener"),
        ("Let's solve this problem step by step.", "bare_reasoning_opener"),
        ("解", "bare_reasoning_opener"),
        ("x" * 20001, "too_long"),
        ("The solution is to hold reset for 10 s.", None),
        ("Thought process: the tent is rated to 3,000 mm, so yes.", None),
        ("Yes.", None),
        ("42", None),
    ],
)
def test_degenerate_responses(response: str, flag: str | None) -> None:
    assert Guard().check(response) == flag


def test_extra_patterns_from_config() -> None:
    guard = Guard([r"as an ai( language model)?[.,]?"])
    assert guard.check("As an AI language model.") == "custom_pattern"
    assert guard.check("As an AI language model, I think yes.") is None
