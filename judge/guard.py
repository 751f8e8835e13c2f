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
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from judge.errors import parse_data_table, read_text
from judge.text import normalise

LEXICON = "guard_lexicon.toml"
# Markup a model skips when reading an answer, matched on the normalised view. Only wrappers
# are removed: reasoning/answer tags in any bracket style (<think>, [THINK], ◁think▷,
# 【思考】), code-fence info strings, and LaTeX *formatting* commands with their layout
# arguments. Other tags and commands are kept, so "<br>" and "\pi" are content. Every
# pattern starts with a literal and has only bounded runs.
_WRAPPER_NAMES = (
    r"(?:think|thinking|thought|thoughts|reasoning|reflection|reflect|answer|final_answer|final"
    r"|output|solution|scratchpad|analysis|result|response|explanation|reason|思考|答案|回答)"
)
_WRAPPER = re.compile(
    r"[<\[【◁][ \t/]{0,4}" + _WRAPPER_NAMES + r"[^<>\[\]【】◁▷\n]{0,40}[>\]】▷]"
    # any other HTML-like tag (a letter first, so "<x, y>" and "<0|1>" are not tags),
    # comments, CDATA, processing instructions and chat-style tokens
    r"|<[ \t]{0,4}/?[ \t]{0,4}[a-z][\w:-]{0,20}(?:[ \t][^<>]{0,60})?[ \t]{0,4}/?>"
    r"|<!--[^<>]{0,60}-->|<!\[cdata\[[^<>]{0,60}\]\]>|<\?[^<>]{0,60}\?>|<\|[^<>|]{0,40}\|>"
)
# A lone ordinary tag can be the answer ("<br>", "<!DOCTYPE html>"); a lone wrapper cannot.
_ONE_TAG = re.compile(
    r"\s{0,4}<[ \t]{0,4}/?[ \t]{0,4}(?:!doctype|(?:a|abbr|b|br|body|button|code|div|em|form|h[1-6]"
    r"|head|hr|html|i|img|input|label|li|link|meta|nav|ol|option|p|pre|script|section|select"
    r"|span|strong|style|svg|table|td|textarea|th|title|tr|u|ul|video|audio|canvas|iframe)"
    r"(?![\w-]))[^<>]{0,80}>\s{0,4}"
)
# Quoted words in a prompt ('答案', "answer", «...»): a response that is one of them answers a
# question about the word itself, so it is judged even if it is a content-free phrase.
_QUOTED = re.compile("[\"'«「『‘“]([^\"'»」』’”\n]{1,40})[\"'»」』’”]")
# What follows the prompt's last colon ("Repeat: Let's think step by step.").
_AFTER_COLON = re.compile(r":[ \t]{0,4}([^:\n]{1,80})\s{0,4}$")
# Labels around an echoed prompt: "Q: <prompt>", "<prompt> A:".
_ECHO_LABELS = re.compile(r"^\s{0,8}(?:q|question)\s{0,3}[:.)-]|(?:^|\s)a\s{0,3}[:.)-]\s{0,8}$")
_WRAPPER_TAG = re.compile(r"<[ \t/]{0,4}" + _WRAPPER_NAMES)
_FENCE_INFO = re.compile(r"(?:```|~~~)[a-z0-9_+.#-]{0,20}")
_LATEX = re.compile(
    r"\\(?:color|textcolor)\{[a-z]{0,20}\}"
    r"|\\(?:begin|end)\{[a-z*]{0,20}\}"
    r"|\\(?:hspace|vspace|hphantom|vphantom|phantom|rule)\*?\{[^{}]{0,20}\}"
    r"|\\(?:boxed|text[a-z]{0,4}|math[a-z]{0,4}|mbox|fbox|quad|qquad|left|right|displaystyle"
    r"|textstyle|underline|overline|hline|newline|noindent|centering|bf|it|rm|tt|large|small"
    r"|huge|emph|color|colorbox|dots|ldots|cdots|vdots|square|blank|placeholder|strut"
    r"|mathstrut|null|relax|hfill|vfill|smallskip|medskip|bigskip)(?![a-z])"
    r"|\\kern-?[\d.]{0,8}[a-z]{0,3}"
)
# Symbols that stand in for an answer or decorate one, not content: question marks, empty
# boxes, ellipses, bullets, pointers, "therefore", and the box-drawing and block ranges.
_PLACEHOLDERS = frozenset("❓❔❗❕□☐■▢▣⬜⬛◻◼◽◾▪▫⋯⋮⋰⋱∙⋅∘∴∵∎→←↑↓⇒⇐⇨➔➜➡👇👆👉👈✎✏〓")
_ASCII_DECORATION = frozenset("<>|~^`$")
# Custom patterns (user regexes) run only on answers this short: they look for a
# degenerate whole answer, and bounding the input bounds any regex's backtracking.
CUSTOM_PATTERN_MAX_CHARS = 512


def is_content(ch: str) -> bool:
    """Letters, digits, and non-decorative symbols (emoji, maths, currency) carry content."""
    category = unicodedata.category(ch)
    if category[0] in "LN":
        return True
    if ch in _PLACEHOLDERS or 0x2500 <= ord(ch) <= 0x259F:
        return False
    return category in ("Sm", "So", "Sc") and ch not in _ASCII_DECORATION


def strip_markup(view: str) -> str:
    """The normalised view without wrapper tags, code-fence info and LaTeX formatting."""
    return _LATEX.sub(" ", _FENCE_INFO.sub(" ", _WRAPPER.sub(" ", view)))


def core(text: str) -> str:
    """The content characters of the normalised view, markup removed."""
    return "".join(ch for ch in strip_markup(normalise(text)) if is_content(ch))


@dataclass(frozen=True)
class Phrase:
    """A content-free phrase as the scan sees it, and where it came from (for the flag)."""

    core: str
    text: str
    language: str
    filler: bool = False  # covered, but alone never makes an answer degenerate


@cache
def bundled_phrases() -> tuple[Phrase, ...]:
    """The bundled multilingual lexicon."""
    source = resources.files("judge").joinpath("data", LEXICON)
    return _parse_lexicon(source.read_text("utf-8"), Path(str(source)))


def load_lexicon(path: Path) -> tuple[Phrase, ...]:
    """A user's lexicon file in the bundled format (``[[language]]`` with ``phrases``)."""
    return _parse_lexicon(read_text(path, "guard lexicon"), path)


class _Language(BaseModel):
    """One ``[[language]]`` entry of a lexicon."""

    model_config = ConfigDict(extra="forbid")

    code: str = ""
    name: str = ""
    phrases: list[str]
    fillers: list[str] = []


class _Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: list[_Language] = []


def _parse_lexicon(text: str, path: Path) -> tuple[Phrase, ...]:
    data = parse_data_table(
        text,
        path,
        _Lexicon,
        fix='write [[language]] entries with code, name, phrases = ["...", ...] and optionally '
        "fillers (see judge/data/guard_lexicon.toml)",
    )
    out: list[Phrase] = []
    for i, entry in enumerate(data.language):
        code = entry.code or f"#{i}"
        out += [Phrase(core(p), p, code) for p in entry.phrases if core(p)]
        out += [Phrase(core(p), p, code, filler=True) for p in entry.fillers if core(p)]
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
        # By their first two characters (one for one-character phrases), so each position
        # tries only the few phrases that can start there.
        index: dict[str, list[Phrase]] = defaultdict(list)
        for phrase in sorted(set(phrases), key=lambda p: -len(p.core)):
            index[phrase.core[:2]].append(phrase)
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
        view = normalise(response)
        if not view.strip():
            return "empty: only whitespace or invisible characters"
        unmarked = strip_markup(view)
        text = "".join(ch for ch in unmarked if is_content(ch))
        if not text and _lone_tag_answer(view):
            return None  # "<br>", "<!DOCTYPE html>", "<Enter>": a tag can be the answer
        if not text:
            if len(unmarked.split()) < len(view.split()) or unmarked != view:
                return "empty_markup: only tags, LaTeX commands or boxes with nothing inside"
            return "no_content: only punctuation, spacing or placeholder symbols"
        echo = ""
        if self.echo and prompt and len(prompt.split()) >= ECHO_MIN_WORDS:
            echo = core(prompt)
            unlabelled = "".join(c for c in _ECHO_LABELS.sub(" ", unmarked) if is_content(c))
            if echo and echo in unlabelled:
                text = unlabelled
        hit = self._covered(text, echo, view.rstrip().endswith(("...", "…")))
        if hit is not None and hit.startswith("opener") and prompt and _asked_about(text, prompt):
            return None  # the prompt asks about this very word ("What does '答案' mean?")
        if hit is not None:
            return hit
        if len(response) <= CUSTOM_PATTERN_MAX_CHARS:
            stripped = view.strip()
            for pattern in self.extra:
                if pattern.fullmatch(stripped) or pattern.fullmatch(response.strip()):
                    return f"custom_pattern: {pattern.pattern}"
        return None

    def _covered(self, text: str, prompt: str, cut_off: bool) -> str | None:
        """The rule if phrases and the echoed prompt cover ``text``, else None.

        A left-to-right search over the positions phrases can reach (so "solutions" does not
        hide "solution" + "solution..."), stopping as soon as no position ahead is reachable.
        Fillers ("so", "ok", "嗯") are covered but alone never floor an answer: "OK" is
        judged, "OK, answer:" is not. Echo labels ("Q: ... A:") are removed before the
        search. A response that stops with an ellipsis after a long start of the prompt is a
        truncated echo.
        """
        # Bounded work per sample: a response whose first SCAN_LIMIT content characters are
        # all content-free is degenerate, whatever follows (nobody pads a real answer so).
        if len(text) > SCAN_LIMIT:
            text, prompt, cut_off = text[:SCAN_LIMIT], "", False
        n = len(text)
        # position -> (echoed, first content-free phrase met, fillers met, up to FILLER_RUN)
        states: dict[int, tuple[bool, Phrase | None, int]] = {0: (False, None, 0)}
        furthest = 0
        for i in range(n):
            if i > furthest:
                return None  # content that nothing covers
            state = states.get(i)
            if state is None:
                continue
            echoed, first, fillers = state
            moves: list[tuple[int, tuple[bool, Phrase | None, int]]] = []
            if prompt and text.startswith(prompt, i):
                moves.append((i + len(prompt), (True, first, fillers)))
            if prompt and cut_off and _truncated_echo(text, i, prompt):
                moves.append((n, (True, first, fillers)))
            candidates = (*self.index.get(text[i : i + 2], ()), *self.index.get(text[i], ()))
            for phrase in candidates:
                if text.startswith(phrase.core, i):
                    met = first if (first or phrase.filler) else phrase
                    count = min(FILLER_RUN, fillers + phrase.filler)
                    moves.append((i + len(phrase.core), (echoed, met, count)))
            for j, new in moves:
                old = states.get(j)
                if old is None or _better(new, old):
                    states[j] = new
                furthest = max(furthest, j)
        final = states.get(n)
        if final is None:
            return None
        echoed, first, fillers = final
        if echoed:
            return "echo: the response repeats the prompt"
        if first is None and fillers >= FILLER_RUN:
            return f"fillers: only filler words ({FILLER_RUN} or more)"
        if first is None:
            return None
        return f"opener: only content-free phrases ({first.language}: {first.text!r})"


def _better(new: tuple[bool, Phrase | None, int], old: tuple[bool, Phrase | None, int]) -> bool:
    """Prefer an echo, then a content-free phrase met, then more fillers (the telling flag)."""
    return (not new[0], new[1] is None, -new[2]) < (not old[0], old[1] is None, -old[2])


def _asked_about(text: str, prompt: str) -> bool:
    """Whether the prompt asks for ``text`` itself.

    It quotes it ("What does '答案' mean?"), or ends with it ("Repeat: Let's think...").
    """
    view = normalise(prompt)
    after_colon = _AFTER_COLON.search(view)
    if after_colon is not None and core(after_colon.group(1)) == text:
        return True
    return any(core(m.group(1)) == text for m in _QUOTED.finditer(view))


_STRUCTURE_NAMES = re.compile(
    r"<[ \t/]{0,4}(?:system|user|assistant|human|conversation|reference|example|verdict|input"
    r"|prompt|question|placeholder|your|insert|blank|empty|null|none|todo|ans|sol|tbd|redacted"
    r"|mask|fill)"
)
_ONE_WORD_TAG = re.compile(r"\s{0,4}<[ \t]{0,4}[a-z][\w-]{0,11}[ \t]{0,4}/?>\s{0,4}")


def _lone_tag_answer(view: str) -> bool:
    """Whether a lone tag may be the answer.

    A lone HTML element or one-word tag ("<br>", "<Enter>", "<T>") may; a lone wrapper,
    placeholder or role tag ("<answer/>", "<your answer here>", "<system>") may not.
    """
    if _WRAPPER_TAG.search(view) or _STRUCTURE_NAMES.search(view):
        return False
    return bool(_ONE_TAG.fullmatch(view) or _ONE_WORD_TAG.fullmatch(view))


SCAN_LIMIT = 4000
ECHO_MIN_WORDS = 4  # a greeting answered with the same greeting is a reply, not an echo
_TRUNCATED_ECHO_MIN = 20
FILLER_RUN = 3  # "OK" and "OK, sure." are replies; "So, well, OK." says nothing


def _truncated_echo(text: str, i: int, prompt: str) -> bool:
    """``text[i:]`` is a long opening part of the prompt (20 characters and half of it)."""
    rest = len(text) - i
    return max(_TRUNCATED_ECHO_MIN, len(prompt) // 2) <= rest < len(prompt) and prompt.startswith(
        text[i:]
    )
