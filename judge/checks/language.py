"""The ``language`` check: the response is in the user's language, or in a configured one.

"Replies in the customer's language" decided by ``eld`` (Efficient Language Detector:
n-gram tables for 60 languages shipped in its wheel, pure Python, deterministic, nothing
fetched at run time; ~0.1 ms a detection, its tables loaded on first use in ~0.1 s)::

    [checks.same_language]
    kind = "language"
    expect = "user"     # the last user turn's language, or an ISO 639-1 code ("de", "pt-BR")
    min_letters = 12    # fewer letters in a stretch of text: that stretch is undecided
    margin = 0.05       # the best language must beat the next by this much (eld's scores)

The text is read in stretches of about 300 characters (at most 8, spread over the response;
words with "://" or "@" left out), each detected on its own. A stretch is decided when it
has ``min_letters`` letters (a Han, kana, Thai... character counts 3: it carries about what
a short word does), eld calls the result reliable and the best language leads the next by
``margin``. Score: the share of decided stretches in the expected language (a reply that
switches to English halfway scores about 0.5). Undecided (never 0) when no stretch of the
response is decided ("OK", "42", an emoji) or, with ``expect = "user"``, when the user's
turn is not. Close languages are eld's to tell apart: Russian and Bulgarian in a short
phrase may come out within ``margin`` (undecided), Indonesian reads as Malay (``ms``).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec
from judge.guard_rules import is_unspaced
from judge.text import clean
from judge.verdict import Unscored

# eld's 60 languages (ISO 639-1), as its tables name them; a test checks the list against eld.
CODES = (
    "am ar az be bg bn ca cs da de el en es et eu fa fi fr gu he hi hr hu hy is it ja ka kn "
    "ko ku lo lt lv ml mr ms nl no or pa pl pt ro ru sk sl sq sr sv ta te th tl tr uk ur vi "
    "yo zh"
)
LANGUAGES = frozenset(CODES.split())
CHUNK_CHARS = 300
MAX_CHUNKS = 8
UNSPACED_LETTERS = 3


@cache
def detector() -> Any:
    """The eld detector, its tables loaded once (lazily: only a language check needs them)."""
    from eld import LanguageDetector

    return LanguageDetector()


def chunks(text: str) -> list[str]:
    """Up to ``MAX_CHUNKS`` stretches of about ``CHUNK_CHARS``, spread over ``text``."""
    text = clean(text)
    if not text.isascii():  # zero-width and other format characters split words for eld
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    out: list[str] = []
    current: list[str] = []
    size = 0
    for word in text.split():
        if "://" in word or "@" in word:
            continue
        current.append(word)
        size += len(word) + 1
        if size >= CHUNK_CHARS:
            out.append(" ".join(current))
            current, size = [], 0
    if current:
        out.append(" ".join(current))
    if len(out) <= MAX_CHUNKS:
        return out
    step = len(out) / MAX_CHUNKS
    return [out[int(i * step)] for i in range(MAX_CHUNKS)]


def letters(text: str) -> int:
    """Letters in ``text``, a character of an unspaced script counting ``UNSPACED_LETTERS``."""
    return sum((UNSPACED_LETTERS if is_unspaced(ch) else 1) for ch in text[:2000] if ch.isalpha())


def detect(text: str, min_letters: int, margin: float) -> str | None:
    """The language of ``text`` when it is clear, else None."""
    if letters(text) < min_letters:
        return None
    result = detector().detect(text)
    if not result.language or not result.is_reliable():
        return None
    scores = sorted(result.scores().values(), reverse=True)
    if len(scores) > 1 and scores[0] - scores[1] < margin:
        return None
    return str(result.language)


class LanguageSpec(CheckSpec):
    """A ``[checks.<name>]`` table of kind ``language``."""

    KIND: ClassVar[str] = "language"
    kind: Literal["language"] = "language"
    expect: str = "user"
    min_letters: int = Field(default=12, ge=1, le=1000)
    margin: float = Field(default=0.05, ge=0.0, le=1.0)

    @field_validator("expect")
    @classmethod
    def _known(cls, value: str) -> str:
        code = value.strip().lower().replace("_", "-").split("-")[0]
        if value == "user" or code in LANGUAGES:
            return value if value == "user" else code
        raise ValueError(
            f"expect = {value!r} is not a language this check can tell. Fix: 'user', or one "
            f"of {' '.join(sorted(LANGUAGES))}"
        )

    def build(self, name: str, root: Path) -> Check:
        """The check (eld's tables load on its first run)."""
        return LanguageCheck(name, self)


class LanguageCheck:
    """A built ``language`` check."""

    kind = LanguageSpec.KIND

    def __init__(self, name: str, spec: LanguageSpec) -> None:
        self.name = name
        self.spec = spec

    def votes(self, text: str) -> Counter[str]:
        """Decided stretches of ``text`` by language."""
        spec = self.spec
        found = (detect(c, spec.min_letters, spec.margin) for c in chunks(text))
        return Counter(lang for lang in found if lang is not None)

    def run(self, item: CheckInput) -> CheckResult:
        """The share of the response's decided stretches in the expected language."""
        expected = self.spec.expect
        if expected == "user":
            user = self.votes(item.last_user).most_common(2)
            if not user or (len(user) > 1 and user[0][1] == user[1][1]):
                return _undecided("the user's language cannot be told (too short or unclear)")
            expected = user[0][0]
        votes = self.votes(item.response)
        if not votes:
            return _undecided(
                f"too few letters or no clear language (under {self.spec.min_letters})"
            )
        score = votes[expected] / sum(votes.values())
        return CheckResult.passed(score, expected=expected, detected=dict(votes))


def _undecided(detail: str) -> CheckResult:
    return CheckResult.undecided(Unscored(reason="undecided", detail=detail))
