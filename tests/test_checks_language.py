"""The ``language`` check: eld on stretches of the response; short or unclear is undecided."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from judge.checks import KINDS, CheckInput, CheckResult
from judge.checks.language import CHUNK_CHARS, LANGUAGES, LanguageSpec, chunks, letters
from judge.prompt import Turn

DE_USER = "Wo ist meine Bestellung? Ich warte schon seit zwei Wochen darauf."
EN_USER = "Where is my order? I have been waiting for two weeks now."
DE = "Ihre Bestellung wurde gestern versandt und kommt morgen bei Ihnen an. "
EN = "Your order was shipped yesterday and it will arrive at your door tomorrow. "


def run(user: str, response: str, **table: Any) -> CheckResult:
    spec = KINDS["language"].model_validate({"kind": "language", **table})
    item = CheckInput(
        (Turn("user", "Hello"), Turn("assistant", "Hi"), Turn("user", user)), response
    )
    return spec.build("l", Path(".")).run(item)


def test_registered_and_the_language_list_is_elds() -> None:
    from eld.languageData import languageData

    from judge.checks.language import detector

    detector()  # loads the tables
    assert KINDS["language"] is LanguageSpec
    assert set(languageData.lang_codes.values()) == LANGUAGES


def test_the_last_user_turns_language_is_expected() -> None:
    same = run(DE_USER, DE)
    assert (same.score, same.details["expected"], same.details["detected"]) == (
        1.0,
        "de",
        {"de": 1},
    )
    other = run(DE_USER, EN)
    assert (other.score, other.details["detected"]) == (0.0, {"en": 1})
    assert run(EN_USER, EN).score == 1.0


def test_a_configured_language_and_codes_with_regions() -> None:
    assert run(EN_USER, DE, expect="de").score == 1.0
    assert run(EN_USER, DE, expect="de-AT").score == 1.0  # the primary subtag
    assert run(DE_USER, DE, expect="fr").score == 0.0
    with pytest.raises(ValueError, match=r"'xx' is not a language.*Fix: 'user', or one of am"):
        LanguageSpec.model_validate({"kind": "language", "expect": "xx"})


def test_a_reply_that_switches_language_scores_its_share() -> None:
    # each sentence is ~70-75 characters: stretches of CHUNK_CHARS cut 8 German and 8
    # English sentences into stretches, each counted once
    text = DE * 8 + EN * 8
    pieces = chunks(text)
    assert all(len(p) + 1 >= CHUNK_CHARS for p in pieces[:-1])  # words and their spaces
    result = run(DE_USER, text)
    votes = result.details["detected"]
    assert set(votes) == {"de", "en"}
    assert result.score == pytest.approx(votes["de"] / (votes["de"] + votes["en"]))
    assert 0.3 < (result.score or 0) < 0.7


@pytest.mark.parametrize("short", ["OK", "42", "👍", "Danke!", "", "https://x.example/a@b"])
def test_short_or_unclear_replies_are_undecided_never_zero(short: str) -> None:
    result = run(DE_USER, short)
    assert result.score is None and result.unscored is not None
    assert result.unscored.reason == "undecided" and not result.unscored.response_caused


def test_an_unclear_user_turn_is_undecided() -> None:
    result = run("ok?", DE)
    assert result.score is None and result.unscored is not None
    assert "user's language" in result.unscored.detail


def test_letters_and_chunks() -> None:
    assert letters("abc 123 !!") == 3
    assert letters("注文") == 6  # unspaced script: 3 a character
    assert chunks("see https://x.y/z or mail a@b.c now") == ["see or mail now"]
    assert chunks("a\u200bb c") == ["ab c"]  # format characters dropped
    assert len(chunks("word " * 20_000)) == 8  # at most 8 stretches, spread


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 20_000,
        "\ud800" * 20_000,
        "\x00" * 20_000,
        "中" * 20_000,
        "\u200b" * 20_000,
        DE * 300,
    ],
)
def test_hostile_text_bounded(hostile: str) -> None:
    run(DE_USER, "warm up")
    began = time.perf_counter()
    result = run(hostile, hostile)
    assert time.perf_counter() - began < 1.0
    assert result.score is not None or (
        result.unscored is not None and result.unscored.reason == "undecided"
    )
