r"""Degenerate-response guard: floor reward and a flag, without a judge call.

Published "master key" attacks on LLM judges (Zhao et al. 2025, "One Token to Fool
LLM-as-a-Judge") get positive verdicts from answers with no content: punctuation, a reasoning
opener ("Thought process:", "Solution", "Respuesta", "解答"), an empty ``<think></think>``
or ``\boxed{}``, the prompt echoed back. A policy under RL finds these quickly, in any
spelling, so the guard reads the normalised view (``judge.text``) and asks one question:
does anything remain once markup, content-free phrases and the echoed prompt are removed?
Letters, digits, emoji and mathematical or currency symbols are content, so "∞", "🎉" and
"42" are judged, never floored.

The phrases are data (``judge/data/guard_lexicon.toml``, extensible from ``reward.toml``).
Matching is a greedy left-to-right scan over the content characters (spaces and
punctuation dropped, so "Let's think, step-by-step" matches "let's think step by step"),
which stops at the first character no phrase covers: linear, and quick on real answers.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from judge.errors import SourceError, read_text
from judge.text import normalise

LEXICON = "guard_lexicon.toml"
# Markup a model ignores when reading an answer: tags (``<think>``), LaTeX commands
# (``\boxed``). Both patterns are bounded and start with a literal.
_TAG = re.compile(r"<[^<>]{0,64}>")
_LATEX = re.compile(r"\\[a-z]{1,32}")
# ASCII symbols that are markup or decoration, not content, when they stand alone.
_ASCII_DECORATION = frozenset("<>|~^`$")
# Custom patterns (user regexes) run only on answers this short: they look for a
# degenerate whole answer, and bounding the input bounds any regex's backtracking.
CUSTOM_PATTERN_MAX_CHARS = 512


def is_content(ch: str) -> bool:
    """Letters, digits, and non-decorative symbols (emoji, maths, currency) carry content."""
    category = unicodedata.category(ch)
    if category[0] in "LN":
        return True
    return category in ("Sm", "So", "Sc") and ch not in _ASCII_DECORATION


def core(text: str) -> str:
    """The content characters of the normalised view, markup removed."""
    stripped = _LATEX.sub(" ", _TAG.sub(" ", normalise(text)))
    return "".join(ch for ch in stripped if is_content(ch))


@dataclass(frozen=True)
class Phrase:
    """A content-free phrase as the scan sees it, and where it came from (for the flag)."""

    core: str
    text: str
    language: str


@cache
def bundled_phrases() -> tuple[Phrase, ...]:
    """The bundled multilingual lexicon."""
    source = resources.files("judge").joinpath("data", LEXICON)
    return _parse_lexicon(source.read_text("utf-8"), Path(str(source)))


def load_lexicon(path: Path) -> tuple[Phrase, ...]:
    """A user's lexicon file in the bundled format (``[[language]]`` with ``phrases``)."""
    return _parse_lexicon(read_text(path, "guard lexicon"), path)


def _parse_lexicon(text: str, path: Path) -> tuple[Phrase, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(path, f"not valid TOML ({exc})", fix="correct the TOML syntax") from None
    out: list[Phrase] = []
    for i, entry in enumerate(data.get("language", [])):
        phrases = entry.get("phrases") if isinstance(entry, dict) else None
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise SourceError(
                path,
                "a [[language]] entry has no list of string 'phrases'",
                place=f"language[{i}]",
                fix='write phrases = ["...", ...]',
            )
        code = str(entry.get("code", f"#{i}"))
        out += [Phrase(core(p), p, code) for p in phrases if core(p)]
    return tuple(out)


class Guard:
    """Checks a response before judging; returns the rule that floors it, or None."""

    def __init__(
        self,
        phrases: tuple[Phrase, ...] | None = None,
        extra_patterns: list[str] | None = None,
        max_chars: int = 20000,
        echo: bool = True,
    ) -> None:
        phrases = bundled_phrases() if phrases is None else phrases
        # Longest first per first character: the scan takes the longest phrase that fits.
        index: dict[str, list[Phrase]] = defaultdict(list)
        for phrase in sorted(set(phrases), key=lambda p: -len(p.core)):
            index[phrase.core[0]].append(phrase)
        self.index = dict(index)
        self.extra = [re.compile(p, re.IGNORECASE) for p in extra_patterns or []]
        self.max_chars = max_chars
        self.echo = echo

    def check(self, response: str, prompt: str | None = None) -> str | None:
        """Why this response is degenerate (``rule: detail``), or None if it may be judged.

        ``prompt`` is the last user turn, for the echo check.
        """
        if len(response) > self.max_chars:
            return f"too_long: {len(response)} characters (limit {self.max_chars})"
        if not normalise(response).strip():
            return "empty: only whitespace or invisible characters"
        text = core(response)
        if not text:
            markup = _TAG.search(response) or "\\" in response
            if markup:
                return "empty_markup: only tags, LaTeX commands or boxes with nothing inside"
            return "no_content: only punctuation or spacing"
        hit = self._covered(text, core(prompt) if prompt and self.echo else "")
        if hit is not None:
            return hit
        if len(response) <= CUSTOM_PATTERN_MAX_CHARS:
            stripped = normalise(response).strip()
            for pattern in self.extra:
                if pattern.fullmatch(stripped) or pattern.fullmatch(response.strip()):
                    return f"custom_pattern: {pattern.pattern}"
        return None

    def _covered(self, text: str, prompt: str) -> str | None:
        """The rule if phrases and the echoed prompt cover ``text``, else None.

        An echo may carry a label or two ("Q: ... A:"): up to ``_ECHO_SLACK`` characters no
        phrase covers. A response that is a long start of the prompt is a truncated echo.
        """
        first: Phrase | None = None
        echoed = False
        uncovered = 0
        i = 0
        while i < len(text):
            if prompt and text.startswith(prompt, i):
                echoed = True
                i += len(prompt)
                continue
            if prompt and _truncated_echo(text[i:], prompt):
                echoed = True
                break
            for phrase in self.index.get(text[i], ()):
                if text.startswith(phrase.core, i):
                    first = first or phrase
                    i += len(phrase.core)
                    break
            else:
                uncovered += 1
                if uncovered > (_ECHO_SLACK if prompt else 0):
                    return None  # content that no phrase covers
                i += 1
        if echoed:
            return "echo: the response repeats the prompt"
        if uncovered or first is None:
            return None
        return f"opener: only content-free phrases ({first.language}: {first.text!r})"


_ECHO_SLACK = 2
_TRUNCATED_ECHO_MIN = 20


def _truncated_echo(rest: str, prompt: str) -> bool:
    """``rest`` is a long opening part of the prompt (at least 20 characters and half)."""
    return (
        len(rest) >= max(_TRUNCATED_ECHO_MIN, len(prompt) // 2)
        and len(rest) < len(prompt)
        and prompt.startswith(rest)
    )
