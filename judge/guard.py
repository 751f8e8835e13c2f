r"""Degenerate-response guard: floor reward and a flag, without a judge call.

Published "master key" attacks on LLM judges (Zhao et al. 2025, "One Token to Fool
LLM-as-a-Judge") get positive verdicts from answers with no content: punctuation, a reasoning
opener ("Thought process:", "Let's solve this problem step by step."), an empty
``<think></think>`` or ``\boxed{}``, the prompt echoed back. A policy under RL finds these in
any spelling and any language, so the guard decides by structure (``judge.guard_rules``),
on the normalised view (``judge.text``), and asks one question: does anything remain once
markup, labels ("Answer:" in any script), empty structure and data, template slots,
multi-word content-free phrases and an echo of the conversation are removed?

It never floors an ordinary word: a lone "Solution", "Sol" or "答案" may be the answer
(chemistry, Spanish, a translation), so it is judged. Letters, digits, emoji and
mathematical or currency symbols are content, so "∞", "🎉" and "42" are judged.

The multi-word phrases are data (``judge/data/guard_lexicon.toml``, extensible from
``reward.toml``). Matching is a left-to-right search over the content characters (spaces and
punctuation dropped, so "Let's think, step-by-step" matches "let's think step by step"),
over the whole text: no cut-off a repetition could straddle. A text that repeats a unit is
decided by its unit (found in linear time), so repeating an opener any number of times, cut
anywhere, is floored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from itertools import chain
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from judge.errors import parse_data_table, read_text
from judge.guard_rules import (
    Structure,
    drop_empty_values,
    is_content,
    is_unspaced,
    json_leaves,
    parse,
    placeholders,
    smallest_period,
)
from judge.text import View, confusables_sha256, fold_char, view_bulk

__all__ = [
    "Guard",
    "Phrase",
    "bundled_phrases",
    "core",
    "indexed_phrases",
    "is_content",
    "lexicon_index",
    "load_lexicon",
]

log = logging.getLogger("judge")

LEXICON = "guard_lexicon.toml"
# The bundled lexicon's phrases already normalised (``tools/build_lexicon_index.py``), so a
# cold start reads them instead of folding 2,000 phrases; tests/test_coldstart_data.py fails
# when it no longer matches the lexicon and the normaliser.
LEXICON_INDEX = "guard_lexicon_index.json"
# Markup a model skips when reading an answer, matched on the normalised view. Only wrappers
# are removed: reasoning/answer tags in any bracket style (<think>, [THINK], ◁think▷,
# 【思考】), code-fence info strings, and LaTeX *formatting* commands with their layout
# arguments. Other tags and commands are kept, so "<br>" and "\pi" are content. Every
# pattern starts with a literal and has only bounded runs.
_WRAPPER_NAMES = (
    r"(?:think|thinking|thought|thoughts|reasoning|reflection|reflect|answer|final_answer|final"
    r"|output|solution|scratchpad|analysis|result|response|explanation|reason|思考|答案|回答)"
)
# A tag name's characters: word characters, and the vowel signs of Indic and South-East Asian
# scripts (spacing marks, which ``\w`` leaves out).
_NAME = r"[\w:\u0900-\u0dff\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff-]"
_WRAPPER = re.compile(
    r"[<\[【◁][ \t/]{0,4}" + _WRAPPER_NAMES + r"[^<>\[\]【】◁▷\n]{0,40}[>\]】▷]"
    # any other HTML-like tag (a letter first, so "<x, y>" and "<0|1>" are not tags),
    # comments, CDATA, processing instructions and chat-style tokens
    r"|<[ \t]{0,4}/?[ \t]{0,4}[^\W\d_]" + _NAME + r"{0,20}(?:[ \t][^<>]{0,60})?[ \t]{0,4}/?>"
    r"|<!--[^<>]{0,60}-->|<!\[cdata\[[^<>]{0,60}\]\]>|<\?[^<>]{0,60}\?>|<\|[^<>|]{0,40}\|>"
)
# A lone ordinary tag can be the answer ("<br>", "<!DOCTYPE html>"); a lone wrapper cannot.
_ONE_TAG = re.compile(
    r"\s{0,4}<[ \t]{0,4}/?[ \t]{0,4}(?:!doctype|(?:a|abbr|b|br|body|button|code|div|em|form|h[1-6]"
    r"|head|hr|html|i|img|input|label|li|link|meta|nav|ol|option|p|pre|script|section|select"
    r"|span|strong|style|svg|table|td|textarea|th|title|tr|u|ul|video|audio|canvas|iframe)"
    r"(?![\w-]))[^<>]{0,80}>\s{0,4}"
)
_ONE_WORD_TAG = re.compile(r"\s{0,4}<[ \t]{0,4}[^\W\d_][\w-]{0,11}[ \t]{0,4}/?>\s{0,4}")
_TAG = re.compile(r"<[ \t]{0,4}/?[ \t]{0,4}(!doctype|[^\W\d_][\w:-]{0,20})([^<>]{0,80})>")
# Elements that are complete without content (HTML void elements): "<hr/>" is an answer.
# fmt: off
_VOID = frozenset((
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr", "!doctype",
))
# fmt: on
# A namespace prefix does not change what an element is: "<r:answer/>" is "<answer/>".
_PREFIX = r"(?:[^\W\d][\w.-]{0,20}:)?"
_WRAPPER_TAG = re.compile(r"<[ \t/]{0,4}" + _PREFIX + _WRAPPER_NAMES)
# Namespace declarations ("xmlns:r='x'") say where names come from, not what the element holds.
_XMLNS = re.compile(
    r"xmlns(?::[\w.-]{1,20})?[ \t]{0,4}=[ \t]{0,4}(?:'[^'<>]{0,200}'|\"[^\"<>]{0,200}\")"
)
# Text that declares itself data: a YAML/JSON/TOML/XML fence, or a YAML tag ("!!null ''").
_DATA_DECLARED = re.compile(
    r"\s{0,8}(?:```|~~~)[ \t]{0,4}(?:ya?ml|json5?|toml|xml)\b"
    r"|(?:^|[\s:\-])!![a-z]{1,12}(?![\w])"
)
_STRUCTURE_NAMES = re.compile(
    r"<[ \t/]{0,4}" + _PREFIX + r"(?:system|user|assistant|human|conversation|reference"
    r"|example|verdict|input"
    r"|prompt|question|placeholder|your|insert|blank|empty|null|none|todo|ans|sol|tbd|redacted"
    r"|mask|fill)(?![\w-])"
)
# A prompt that asks about markup: then markup-only answers and lone headings are answers.
_MARKUP_ASKED = re.compile(
    r"<[a-z!/]|(?:^|\s)#{1,6}\s|\b(?:html|xml|svg|markdown|tags?|markup|elements?|headings?|headers?)\b"
)
_HTML_HEADING = re.compile(
    r"<[ \t]{0,4}h[1-6](?:[ \t][^<>]{0,60})?>|<[ \t]{0,4}/[ \t]{0,4}h[1-6][ \t]{0,4}>"
)
# A fence's info string ("```python") is what the fence line holds after it, to the line's
# end: "```42```" is inline code, not a fence (CommonMark: a backtick fence's info string
# holds no backtick).
_FENCE_INFO = re.compile(r"(?m)^([ \t]{0,3})(?:```|~~~)[a-z0-9_+.#-]{0,20}(?=[ \t]*$)")
# A formatting command's argument is what it formats: "\textbf{Answer:}" reads "Answer:".
_LATEX_ARGUMENT = re.compile(
    r"\\(?:text[a-z]{0,4}|math[a-z]{0,4}|emph|mbox|fbox|underline|overline|boxed)\{([^{}\n]{0,200})\}"
)
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
# Quoted words in a prompt ('答案', "answer", «...»): a response that is one of them answers a
# question about the words themselves, so it is judged even if it is content-free.
_QUOTED = re.compile("[\"'«「『‘“]([^\"'»」』’”\n]{1,40})[\"'»」』’”]")
# What follows the prompt's last colon ("Repeat: Let's think step by step.").
_AFTER_COLON = re.compile(r":[ \t]{0,4}([^:\n]{1,80})\s{0,4}$")
# Custom patterns (user regexes) run only on answers this short: they look for a
# degenerate whole answer, and bounding the input bounds any regex's backtracking.
CUSTOM_PATTERN_MAX_CHARS = 512
_SPACES = re.compile(r"\s+")
NAMED_LABELS = 32  # distinct labels looked up in the lexicon, for the flag's wording only
ECHO_MIN_WORDS = 4  # a greeting answered with the same greeting is a reply, not an echo
ECHO_COVERAGE = 0.8  # share of a turn's distinct words an echo repeats (words may be dropped)
_EDIT_MIN = 4  # words this long match a turn's word one edit away ("recieve" ~ "receive")
ECHO_WORDS_PER_INSERT = 8  # one word inserted inside an echoed sentence per this many words


def guard_view(text: str) -> View:
    """The normalised view, folded once more so upper and lower case read alike.

    One pass of ``judge.text`` folds "г" to "r" (a confusable) but "Г" only to "г"; a second
    pass over the non-ASCII characters makes "ШАГ" and "шаг" the same word.
    """
    first = view_bulk(text)
    if first.text.isascii():
        return first
    table = {ord(c): fold_char(c) for c in set(first.text) if not c.isascii()}
    again = first.text.translate(table)
    if len(again) == len(first.text):  # one character for one: the spans still hold
        return View(again, first.start, first.end)
    chars: list[str] = []
    start: list[int] = []
    end: list[int] = []
    for i, ch in enumerate(first.text):
        folded = table.get(ord(ch), ch)
        chars.append(folded)
        start += [first.start[i]] * len(folded)
        end += [first.end[i]] * len(folded)
    return View("".join(chars), tuple(start), tuple(end))


def normalise(text: str) -> str:
    """The guard's normalised text (``guard_view`` without spans)."""
    return guard_view(text).text


def strip_markup(text: str) -> str:
    """The normalised view without wrapper tags, code-fence info and LaTeX formatting."""
    text = _LATEX_ARGUMENT.sub(r" \1 ", text)
    return _LATEX.sub(" ", _FENCE_INFO.sub(" ", _WRAPPER.sub(" ", text)))


def core(text: str) -> str:
    """The content characters of the normalised view, markup removed."""
    return _core(normalise(text))


def _core(seen: str) -> str:
    return _content(strip_markup(seen)).chars


@dataclass(frozen=True)
class Phrase:
    """A content-free phrase as the scan sees it, and where it came from (for the flag)."""

    core: str
    text: str
    language: str
    filler: bool = False  # passed over beside a label, phrase or echo; never floors alone
    reply: bool = False  # a filler that answers when a label introduces it ("Answer: OK")


@cache
def bundled_phrases() -> tuple[Phrase, ...]:
    """The bundled multilingual lexicon: from its prebuilt index when that is of this file.

    The index names the SHA-256 of the lexicon it was built from; if the lexicon was edited
    since, it is parsed and normalised here instead (slower, same phrases).
    """
    data = resources.files("judge").joinpath("data")
    source, index = data.joinpath(LEXICON), data.joinpath(LEXICON_INDEX)
    stored = index.read_bytes() if index.is_file() else None
    return indexed_phrases(source.read_bytes(), stored, Path(str(source)))


def indexed_phrases(raw: bytes, index: bytes | None, path: Path) -> tuple[Phrase, ...]:
    """The phrases of lexicon bytes ``raw``: read from ``index`` if it was built from them.

    And from the confusables table installed here, which the normalised forms depend on.
    """
    if index is not None:
        stored = json.loads(index)
        source = (hashlib.sha256(raw).hexdigest(), confusables_sha256())
        if (stored.get("lexicon_sha256"), stored.get("confusables_sha256")) == source:
            return tuple(Phrase(*row) for row in stored["phrases"])
    log.warning("%s is not of %s: run tools/build_lexicon_index.py", LEXICON_INDEX, path.name)
    return _parse_lexicon(raw.decode("utf-8"), path)


def lexicon_index(raw: bytes, path: Path) -> dict[str, object]:
    """The index of a lexicon file's bytes: its hash and its phrases, normalised.

    Each phrase is ``[core, text, language, filler, reply]``, in ``Phrase``'s field order.
    """
    phrases = _parse_lexicon(raw.decode("utf-8"), path)
    return {
        "lexicon_sha256": hashlib.sha256(raw).hexdigest(),
        "confusables_sha256": confusables_sha256(),
        "phrases": [[p.core, p.text, p.language, p.filler, p.reply] for p in phrases],
    }


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
    replies: list[str] = []


class _Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: list[_Language] = []


def _parse_lexicon(text: str, path: Path) -> tuple[Phrase, ...]:
    data = parse_data_table(
        text,
        path,
        _Lexicon,
        fix='write [[language]] entries with code, name, phrases = ["...", ...] and optionally '
        "fillers and replies (see judge/data/guard_lexicon.toml)",
    )
    out: list[Phrase] = []
    for i, entry in enumerate(data.language):
        code = entry.code or f"#{i}"
        for group, filler, reply in (
            (entry.phrases, False, False),
            (entry.fillers, True, False),
            (entry.replies, True, True),
        ):
            out += [
                Phrase(c, p, code, filler, reply)
                for p in group
                for c in dict.fromkeys(core(form) for form in _forms(p))
                if c
            ]
    return tuple(out)


# English contractions are one spelling of two words: a phrase matches in either form
# ("let's think" and "LET US THINK", "here is" and "here's"). A closed grammatical class,
# not a list of attacks.
_EXPAND = (
    (re.compile(r"\blet['’]s\b"), "let us"),
    (re.compile(r"\b(ca|wo)n['’]t\b"), lambda m: {"ca": "can", "wo": "will"}[m.group(1)] + " not"),
    (re.compile(r"n['’]t\b"), " not"),
    (re.compile(r"['’]s\b"), " is"),
    (re.compile(r"['’]re\b"), " are"),
    (re.compile(r"['’]m\b"), " am"),
    (re.compile(r"['’]ll\b"), " will"),
    (re.compile(r"['’]ve\b"), " have"),
    (re.compile(r"['’]d\b"), " would"),
)
# Contracted only after pronouns and auxiliaries (closed classes): "the answer is" must not
# become "the answer's", whose letters are the plural "the answers".
_CONTRACT = (
    (re.compile(r"\blet us\b"), "let's"),
    (re.compile(r"\b(here|there|that|what|it|who|where|how|he|she) is\b"), r"\1's"),
    (re.compile(r"\b(we|you|they) are\b"), r"\1're"),
    (re.compile(r"\b(i|we|you|they|he|she|it) will\b"), r"\1'll"),
    (re.compile(r"\b(i|we|you|they) have\b"), r"\1've"),
    (re.compile(r"\b(do|does|did|is|are|was|were|could|would|should) not\b"), r"\1n't"),
    (re.compile(r"\bi am\b"), "i'm"),
)


def _forms(phrase: str) -> tuple[str, ...]:
    """A lexicon phrase, with its contractions expanded, and with them made."""
    lower = phrase.lower()
    expanded = contracted = lower
    for pattern, repl in _EXPAND:
        expanded = pattern.sub(repl, expanded)
    for pattern, repl in _CONTRACT:
        contracted = pattern.sub(repl, contracted)
    return (phrase, expanded, contracted)


@dataclass(frozen=True)
class _Step:
    """The best way found to cover the text up to a position (a DP cell)."""

    echo: bool  # an echoed word was passed over
    phrase: Phrase | None  # the first content-free phrase met
    filler: bool
    reply: bool = False  # a reply filler was passed over
    prev: int = -1  # the position this step came from
    word: int = -1  # the start of the echoed word this step passed over, if any
    inserted: int = 0  # words passed over inside an echoed sentence

    def rank(self) -> tuple[bool, int, bool, bool]:
        """Prefer an echo, then fewer inserted words, a phrase, a filler: the most telling."""
        return (self.echo, -self.inserted, self.phrase is not None, self.filler)


@dataclass
class _Content:
    """The content characters of a text, and where its words start and end among them."""

    chars: str
    words: dict[int, int]  # word start -> word end

    def word_at(self, start: int) -> str:
        return self.chars[start : self.words[start]]

    def word_list(self) -> list[str]:
        return [self.chars[a:b] for a, b in sorted(self.words.items())]


def _content(text: str) -> _Content:
    """Content characters and word spans; each character of an unspaced script is a word.

    Spacing vowel signs (Indic, South-East Asian scripts) stay with the letter before them.
    """
    chars: list[str] = []
    words: dict[int, int] = {}
    start = -1
    for ch in text:
        if not is_content(ch):
            if start >= 0 and unicodedata.category(ch) == "Mc":
                chars.append(ch)  # a vowel sign belongs to its letter: "तो" is not "त"
                continue
            if start >= 0:
                words[start] = len(chars)
                start = -1
            continue
        pos = len(chars)
        chars.append(ch)
        if is_unspaced(ch):
            if start >= 0:
                words[start] = pos
            words[pos], start = pos + 1, -1
        elif start < 0:
            start = pos
    if start >= 0:
        words[start] = len(chars)
    return _Content("".join(chars), words)


class _Echo:
    """The words of the conversation a response may echo: the user turns and system prompt."""

    def __init__(self, sources: Iterable[str]) -> None:
        self.turns = [_content(strip_markup(normalise(s))).word_list() for s in sources]
        self.turns = [t for t in self.turns if len(t) >= ECHO_MIN_WORDS]
        self.counts: Counter[str] = Counter(w for t in self.turns for w in t)
        # Words run together when punctuation is dropped ("km/h" -> "kmh", "sin(x)" -> "sinx").
        for turn in self.turns:
            for n in (2, 3):
                for i in range(len(turn) - n + 1):
                    self.counts["".join(turn[i : i + n])] += 1
        self.pairs = {(t[k], t[k + 1]) for t in self.turns for k in range(len(t) - 1)}
        self._near: dict[str, str] | None = None  # built on the first word not found as is
        self._seen: dict[str, str | None] = {}

    def likely(self, words: list[str]) -> bool:
        """Whether most of ``words`` are the conversation's: only then can they echo it."""
        return 2 * sum(w in self.counts for w in words) >= len(words)

    def match(self, word: str) -> str | None:
        """The turn's word ``word`` is, up to one edit or its inner letters reordered, or None.

        A typo is one edit ("recieve"); a word typed in haste has its letters in another
        order, any number of swaps ("dleiveerd"): the same first letter and the same letters.
        """
        if word in self.counts:
            return word
        if len(word) < _EDIT_MIN:
            return None
        if word not in self._seen:
            near = self._neighbours()
            found = next((near[v] for v in (word, *_deletions(word)) if v in near), None)
            found = found or near.get(_scrambled(word))
            self._seen[word] = found
        return self._seen[word]

    def _neighbours(self) -> dict[str, str]:
        """Each word of the turns, and each with one letter deleted, to the word (SymSpell)."""
        if self._near is None:
            self._near = {}
            for word in sorted(self.counts):
                if len(word) >= _EDIT_MIN:
                    for variant in (word, *_deletions(word)):
                        self._near.setdefault(variant, word)
                    self._near.setdefault(_scrambled(word), word)
        return self._near

    def repeats(self, used: list[str], cut_off: bool) -> bool:
        """Whether ``used`` (the response's echoed words, matched) repeats a whole turn.

        It covers most of one turn's distinct words and uses no word more often than the
        turns do (times the number of copies): "Which is largest? A) 1 B) 2 C) 3 Answer: B"
        uses "b" once more than the prompt, so it is an answer, not an echo. A response cut
        off with an ellipsis echoes if it is the first half of a turn or more.
        """
        if not used:
            return False
        have = Counter(used)
        for turn in self.turns:
            distinct = set(turn)
            if len(distinct & have.keys()) >= ECHO_COVERAGE * len(distinct):
                copies = max(1, round(len(used) / len(turn)))
                if all(n <= copies * self.counts[w] for w, n in have.items()):
                    return True
            cut = cut_off and len(used) >= max(ECHO_MIN_WORDS, len(turn) // 2)
            if cut and used == turn[: len(used)]:
                return True
        return False


# Digits written for letters inside a word ("th1nk", "st3p"): read as those letters only
# where a word mixes letters and digits, and only to match a lexicon phrase, so "42", "H2O"
# and "B12" stay what they are.
_LEET = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t"}


def _leet_positions(text: _Content) -> dict[int, str]:
    """The positions of leetspeak digits in ``text`` and the letters each may stand for."""
    out: dict[int, str] = {}
    for a, b in text.words.items():
        word = text.chars[a:b]
        if b - a > 1 and any(c.isalpha() for c in word) and any(c in _LEET for c in word):
            out.update((a + k, _LEET[c]) for k, c in enumerate(word) if c in _LEET)
    return out


def _matches(chars: str, i: int, core: str, leet: dict[int, str]) -> bool:
    """Whether ``core`` is written at ``chars[i:]``, leetspeak digits read as letters."""
    if chars.startswith(core, i):
        return True
    if not leet or i + len(core) > len(chars):
        return False
    written = chars[i : i + len(core)]
    pairs = enumerate(zip(written, core, strict=True))
    return all(c == p or p in leet.get(i + k, "") for k, (c, p) in pairs)


def _is_emoji(ch: str) -> bool:
    """A pictograph (Miscellaneous Symbols, Dingbats, the emoji planes), not a maths sign."""
    code = ord(ch)
    return unicodedata.category(ch) == "So" and (0x2600 <= code <= 0x27BF or code >= 0x1F000)


def _scrambled(word: str) -> str:
    """A key shared by the words with the same first letter and the same letters."""
    return "\x00" + word[0] + "".join(sorted(word[1:]))


def _deletions(word: str) -> Iterable[str]:
    return (word[:i] + word[i + 1 :] for i in range(min(len(word), 40)))


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
        self.longest = max((len(p.core) for p in phrases), default=1)
        self.extra = [re.compile(p, re.IGNORECASE) for p in extra_patterns or []]
        self.max_chars = max_chars
        self.echo = echo

    def check(
        self, response: str, prompt: str | None = None, context: Sequence[str] = ()
    ) -> str | None:
        """Why this response is degenerate (``rule: detail``), or None if it may be judged.

        ``prompt`` is the last user turn; ``context`` the conversation's other user turns and
        its system prompt. A response may echo any of them.
        """
        if len(response) > self.max_chars:
            return f"too_long: {len(response)} characters (limit {self.max_chars})"
        seen = guard_view(response)
        if not seen.text.strip():
            return "empty: only whitespace or invisible characters"
        asked = normalise(prompt) if prompt else ""
        sources = [s for s in (prompt, *context) if s] if self.echo else []
        hit = self._repeated(response, seen.text, prompt, context)
        if hit is None:
            hit = _Check(self, response, seen, asked, sources).verdict()
        quoted = hit is not None and prompt and not hit.startswith("no_content")
        if quoted and prompt and _asked_about(_core(seen.text), prompt):
            return None  # the prompt asks for these very words ("Type 'Answer:'")
        if hit is not None:
            return hit
        if len(response) <= CUSTOM_PATTERN_MAX_CHARS:
            stripped = seen.text.strip()
            for pattern in self.extra:
                if pattern.fullmatch(stripped) or pattern.fullmatch(response.strip()):
                    return f"custom_pattern: {pattern.pattern}"
        return None

    def _repeated(
        self, response: str, seen: str, prompt: str | None, context: Sequence[str]
    ) -> str | None:
        """The flag of a text that repeats a content-free unit, cut anywhere, or None.

        The unit is the text's smallest period (spacing collapsed), found in linear time; a
        unit repeated twice or more is decided alone. "Answer: " any number of times, ending
        in "Ans", is floored like "Answer:"; "Paris Paris" goes on to the other rules. Two
        copies count when the last lacks only the spacing that ends the unit (the text was
        stripped): "A: [...] A: [...]" is two of "A: [...] ".
        """
        tried = ""
        for text in (response, seen):
            flat = _SPACES.sub(_one_space, text.strip())
            period = smallest_period(flat)
            spaced = period < len(flat) and flat[period - 1].isspace()
            if 2 * period <= len(flat) + spaced and flat[:period] != tried:
                tried = flat[:period]
                hit = self.check(tried, prompt, context)
                if hit is not None:
                    return f"{hit} (repeated)"
        return None

    def _candidates(self, chars: str, i: int, leet: dict[int, str]) -> Iterable[Phrase]:
        """The phrases that may start at ``i``, by its first two characters.

        Leetspeak digits there are read as the letters they may stand for.
        """
        if i not in leet and i + 1 not in leet:
            return chain(self.index.get(chars[i : i + 2], ()), self.index.get(chars[i], ()))
        firsts = leet.get(i, chars[i])
        seconds = leet.get(i + 1, chars[i + 1 : i + 2])
        keys = dict.fromkeys([a + b for a in firsts for b in seconds or ("",)] + list(firsts))
        return chain.from_iterable(self.index.get(k, ()) for k in keys)

    def cover(self, text: _Content, end: int, echo: _Echo | None) -> tuple[_Step, list[str]] | None:
        """The best cover of ``text.chars[:end]`` by phrases (and echoed words), or None.

        A left-to-right search over the positions phrases can reach (so "solutions" does not
        hide "solution" + "s..."), stopping as soon as no position ahead is reachable: linear
        in the text, a bounded number of phrases per position. Returns the last step and the
        echoed words of the path (matched to the conversation's words).
        """
        chars = text.chars
        leet = _leet_positions(text) if echo is None else {}
        order = sorted(a for a, b in text.words.items() if b <= end) if echo else []
        budget = len(order) // ECHO_WORDS_PER_INSERT
        steps: list[_Step | None] = [None] * (end + 1)
        steps[0] = _Step(False, None, False)
        furthest = 0
        for i in range(end):
            if i > furthest:
                return None  # content that nothing covers
            step = steps[i]
            if step is None:
                continue
            moves: list[tuple[int, _Step]] = []
            for phrase in self._candidates(chars, i, leet):
                j = i + len(phrase.core)
                if j <= end and _matches(chars, i, phrase.core, leet):
                    first = step.phrase or (None if phrase.filler else phrase)
                    filler, reply = step.filler or phrase.filler, step.reply or phrase.reply
                    moves.append((j, _Step(step.echo, first, filler, reply, i)))
            if echo is None and _is_emoji(chars[i]):
                # An emoji beside a phrase decorates it; after a label it is the reply
                # ("Answer: 👍"), and alone or beside an echo it is judged.
                moves.append((i + 1, _Step(step.echo, step.phrase, True, True, i)))
            if echo is not None and i in text.words:
                j = text.words[i]
                if j <= end and echo.match(chars[i:j]) is not None:
                    moved = _Step(True, step.phrase, step.filler, step.reply, i, i, step.inserted)
                    moves.append((j, moved))
                elif j < end and step.inserted < budget and _inserted(text, order, i, echo):
                    moved = _Step(step.echo, step.phrase, step.filler, step.reply, i, -1)
                    moves.append((j, replace(moved, inserted=step.inserted + 1)))
            for j, new in moves:
                old = steps[j]
                if old is None or new.rank() > old.rank():
                    steps[j] = new
                furthest = max(furthest, j)
        last = steps[end]
        if last is None:
            return None
        used: list[str] = []
        if echo is not None:
            at: _Step | None = last
            while at is not None and at.prev >= 0:
                if at.word >= 0:
                    used.append(echo.match(chars[at.word : text.words[at.word]]) or "")
                at = steps[at.prev]
            used.reverse()
        return last, used


class _Check:
    """One response through the rules, keeping what each rule removed for the flag."""

    def __init__(
        self, guard: Guard, response: str, seen: View, asked: str, sources: list[str]
    ) -> None:
        self.guard = guard
        self.response = response
        self.seen = seen
        self.asked = asked
        self.sources = sources
        self._echo: _Echo | None = None

    def verdict(self) -> str | None:
        original, seen = self.response, self.seen
        data = json_leaves(original)
        if data is not None:
            if data.scalar:
                return None  # a number or boolean is an answer
            if not any(core(s) for s in data.strings):
                return "empty_data: JSON whose every value is null, empty or blank"
            original = "\n".join(data.strings)
            seen = guard_view(original)
        text, slots = placeholders(seen, original, self.asked)
        markup_asked = bool(_MARKUP_ASKED.search(self.asked))
        unmarked = strip_markup(_HTML_HEADING.sub("\n# ", text))
        if not any(is_content(ch) for ch in unmarked):
            return self._nothing(seen.text, unmarked, slots, data is not None, markup_asked)
        found = parse(unmarked, markup_asked)
        empties = drop_empty_values(found.pieces, bool(_DATA_DECLARED.search(seen.text)))
        residual = _content(found.text())
        named = self._named_label(found)
        if not residual.chars:
            if named is not None:
                return named
            if empties or data is not None:
                return "empty_data: only keys with null or empty values"
            if found.labels():
                return f"label: only labels with nothing after them ({found.labels()[0].strip()!r})"
            if slots:
                return "placeholder: only template placeholders"
            if found.structure:
                return "empty_structure: only headings, list numbers, table rules or fences"
            return "empty_markup: only tags, LaTeX commands or boxes with nothing inside"
        cut_off = seen.text.rstrip().endswith(("...", "…"))
        return self._covered(residual, cut_off, found, named, slots) or self._across(unmarked)

    def _across(self, unmarked: str) -> str | None:
        """An "opener" flag when phrases cover the text with its labels' words kept.

        A label may end a phrase begun before it ("Let's think, step… by… step:" leaves
        "step:" as the label). Only phrases and fillers that are no reply: "The answer: OK"
        is judged.
        """
        words = _content(unmarked)
        if not words.chars:
            return None
        hit = self.guard.cover(words, len(words.chars), None)
        if hit is None or hit[0].phrase is None or hit[0].reply:
            return None
        return _opener(hit[0].phrase)

    def _nothing(
        self, seen: str, unmarked: str, slots: int, data: bool, markup_asked: bool
    ) -> str | None:
        """The flag for a text without a single content character, unless markup answers."""
        if slots:
            return "placeholder: only template placeholders"
        if _markup_answer(seen, markup_asked):
            return None  # "<br>", "<hr/>", '<input type="checkbox">'
        if data:
            return "empty_data: only keys with null or empty values"
        if unmarked != seen or len(unmarked.split()) < len(seen.split()):
            return "empty_markup: only tags, LaTeX commands or boxes with nothing inside"
        return "no_content: only punctuation, spacing or placeholder symbols"

    def _replies(self, text: str) -> bool:
        """Whether ``text`` (introduced by a label) holds a reply ("OK", "Sure")."""
        words = _content(text)
        hit = self.guard.cover(words, len(words.chars), None) if words.chars else None
        return hit is not None and hit[0].reply

    def _named_label(self, found: Structure) -> str | None:
        """An "opener" flag when a label is itself a content-free phrase ("Thought process:")."""
        distinct = dict.fromkeys(_trim_label(label) for label in found.labels())
        for label in list(distinct)[:NAMED_LABELS]:
            text = _content(label)
            if text.chars:
                hit = self.guard.cover(text, len(text.chars), None)
                if hit is not None and hit[0].phrase is not None:
                    return _opener(hit[0].phrase)
        return None

    def _covered(
        self, residual: _Content, cut_off: bool, found: Structure, named: str | None, slots: int
    ) -> str | None:
        """The flag when phrases, fillers and echoed words cover what remains, else None."""
        hit = self._search(residual, cut_off)
        if hit is None:
            return None
        step, rule = hit
        if rule == "echo":
            return "echo: the response repeats the prompt or an earlier turn"
        if step.phrase is not None:
            return _opener(step.phrase)
        # Only fillers remain: floored beside a label or slot, never alone ("So, well."),
        # and never when a reply is what a label introduces ("Answer: OK").
        if any(self._replies(text) for text in found.introduced()):
            return None
        if named is not None:
            return named
        if found.labels():
            return f"label: only labels and fillers ({found.labels()[0].strip()!r})"
        if slots and not any(_is_emoji(ch) for ch in residual.chars):
            # An emoji decorates a phrase, never a slot: "✔{}" may be the answer
            return "placeholder: only template placeholders and fillers"
        return None

    def _search(self, residual: _Content, cut_off: bool) -> tuple[_Step, str] | None:
        """Cover the residual, or one period of it when it repeats a unit.

        A text that is a unit repeated (any number of times, cut anywhere) is content-free
        exactly when its unit is: the unit's first one to a few copies are searched (enough
        for a phrase to span a copy's end), never the whole text, so the answer does not
        depend on the number of repetitions or where the last one is cut.
        """
        chars = residual.chars
        period = smallest_period(chars)
        if 2 * period <= len(chars):
            for copies in range(1, 2 + self.guard.longest // period):
                end = period * copies
                if end > len(chars):
                    break
                hit = self._cover_to(residual, end, False)
                if hit is not None:
                    return hit
        return self._cover_to(residual, len(chars), cut_off)

    def _cover_to(self, residual: _Content, end: int, cut_off: bool) -> tuple[_Step, str] | None:
        if self.sources and self._echo is None:
            self._echo = _Echo(self.sources)
        echo = self._echo
        words = [residual.chars[a:b] for a, b in residual.words.items() if b <= end]
        if echo is not None and echo.turns and echo.likely(words):
            hit = self.guard.cover(residual, end, echo)
            if hit is not None and hit[0].echo and echo.repeats(hit[1], cut_off):
                return hit[0], "echo"
        plain = self.guard.cover(residual, end, None)
        return None if plain is None else (plain[0], "phrases")


def _inserted(text: _Content, order: list[int], start: int, echo: _Echo) -> bool:
    """Whether the word at ``start`` was inserted inside an echoed sentence.

    Its neighbours are next to each other in a turn ("reset my please account": "my
    account"), so it splits one echoed sentence, not two ("... a pole? Yes, I can ...").
    Not the first or last word, nor one with a digit: an answer comes before or after the
    question ("Is 91 prime? No"), and a number is an answer.
    """
    k = bisect_left(order, start)
    if k == 0 or k + 1 >= len(order) or any(c.isdigit() for c in text.word_at(start)):
        return False
    before, after = echo.match(text.word_at(order[k - 1])), echo.match(text.word_at(order[k + 1]))
    return (before, after) in echo.pairs


def _trim_label(label: str) -> str:
    return label.strip()


def _one_space(m: re.Match[str]) -> str:
    """A run of spacing as one character: a newline if it holds one, else a space."""
    return "\n" if "\n" in m.group(0) else " "


def _opener(phrase: Phrase) -> str:
    return f"opener: only content-free phrases ({phrase.language}: {phrase.text!r})"


def _markup_answer(seen: str, markup_asked: bool) -> bool:
    """Whether a text made only of tags is an answer.

    A lone element or one-word tag ("<br>", "<Enter>", "<T>"), an element complete without
    content ("<hr/>"), or a tag with attributes ('<input type="checkbox">') is; empty
    wrappers, slots and role tags ("<think></think>", "<answer/>", "<system>") are not;
    other empty elements ("<p></p>") are when the prompt asks about markup.
    """
    tags = list(_TAG.finditer(seen))
    if markup_asked and len(tags) == 1 and _ONE_WORD_TAG.fullmatch(seen):
        return True  # "<output>" to "Which HTML element shows a result?"
    if _WRAPPER_TAG.search(seen):
        return False
    if any("=" in _XMLNS.sub("", m.group(2)) for m in tags):
        return True  # attribute values are content
    if _STRUCTURE_NAMES.search(seen):
        return False
    if _ONE_TAG.fullmatch(seen) or _ONE_WORD_TAG.fullmatch(seen):
        return True
    return any(m.group(1) in _VOID for m in tags) or (bool(tags) and markup_asked)


def _asked_about(text: str, prompt: str) -> bool:
    """Whether the prompt asks for ``text`` itself.

    It quotes it ("What does '答案' mean?"), or ends with it ("Repeat: Let's think...").
    """
    if not text:
        return False
    seen = normalise(prompt)
    after_colon = _AFTER_COLON.search(seen)
    if after_colon is not None and core(after_colon.group(1)) == text:
        return True
    return any(core(m.group(1)) == text for m in _QUOTED.finditer(seen))
