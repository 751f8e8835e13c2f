"""Degenerate-response guard: floor reward and a flag, without a judge call.

Published "master key" attacks on LLM judges (e.g. Zhao et al. 2025, "One Token to Fool
LLM-as-a-Judge") get positive verdicts from responses that are empty, only punctuation, or
only a reasoning opener such as "Thought process:" or "Solution". A policy under RL finds
these quickly, so they never reach the judge.
"""

from __future__ import annotations

import re
import unicodedata

# Bare openers: the whole response is one of these, optionally followed by punctuation.
_OPENERS = (
    r"thought process",
    r"thoughts?",
    r"thinking",
    r"reasoning",
    r"analysis",
    r"solution",
    r"answer",
    r"final answer",
    r"explanation",
    r"response",
    r"step\s*1",
    r"let'?s (?:solve|think about) this(?: problem)? step by step",
    r"let me think(?: step by step)?",
    r"let'?s think step by step",
    r"解",
    r"答案",
)
_OPENER = re.compile(
    r"^\s*(?:[#*_>\-\s]*)(?:" + "|".join(_OPENERS) + r")\s*[:：.。!\-–—…*_]*\s*$",
    re.IGNORECASE,
)


def _only_symbols(text: str) -> bool:
    """True if every character is punctuation, a symbol, a separator or a control char."""
    return all(unicodedata.category(ch)[0] in "PSZC" for ch in text)


class Guard:
    """Checks a response before judging; returns a flag name or None."""

    def __init__(self, extra_patterns: list[str] | None = None, max_chars: int = 20000) -> None:
        self.extra = [re.compile(p, re.IGNORECASE) for p in extra_patterns or []]
        self.max_chars = max_chars

    def check(self, response: str) -> str | None:
        """The reason this response is degenerate, or None if it may be judged."""
        if not response.strip():
            return "empty"
        if _only_symbols(response):
            return "punctuation_only"
        if _OPENER.match(response):
            return "bare_reasoning_opener"
        if any(p.fullmatch(response.strip()) for p in self.extra):
            return "custom_pattern"
        if len(response) > self.max_chars:
            return "too_long"
        return None
