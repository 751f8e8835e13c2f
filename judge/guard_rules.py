r"""The guard's structural rules: what has no content by its form, in any script.

A list of spellings misses the next language and floors real words that happen to be on it,
so the guard decides by structure wherever it can:

- a *label* (a short phrase ending in a colon, dash, arrow or "=", in any script: "Answer:",
  "መልስ፦", "პასუხი:", "ᠬᠠᠷᠢᠭᠤ᠄") announces content; labels are removed, and what follows them
  decides;
- markdown structure (headings, table headers, list numbering) frames content; a heading or
  header with nothing under it is a label;
- key/value data (JSON, YAML-like ``key: value`` lines) has content only in its values;
- template slots (``{{name}}``, ``[Your answer here]``, ``%s``, ``$VAR``, ``TODO``) stand in
  for content.

Everything here is linear in the text: per-line and per-character scans, and regular
expressions that start with a literal and have only bounded runs.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from judge.text import View

# Symbols that stand in for an answer or decorate one, not content: question marks, empty
# boxes, ellipses, bullets, pointers, "therefore", and the box-drawing and block ranges.
_PLACEHOLDER_SYMBOLS = frozenset("❓❔❗❕□☐■▢▣⬜⬛◻◼◽◾▪▫⋯⋮⋰⋱∙⋅∘∴∵∎→←↑↓⇒⇐⇨➔➜➡👇👆👉👈✎✏〓")
_ASCII_DECORATION = frozenset("<>|~^`$")


@lru_cache(maxsize=1 << 14)
def is_content(ch: str) -> bool:
    """Letters, digits, and non-decorative symbols (emoji, maths, currency) carry content."""
    category = unicodedata.category(ch)
    if category[0] in "LN":
        return True
    if ch in _PLACEHOLDER_SYMBOLS or 0x2500 <= ord(ch) <= 0x259F:
        return False
    return category in ("Sm", "So", "Sc") and ch not in _ASCII_DECORATION


@lru_cache(maxsize=1 << 14)
def is_introducer(ch: str) -> bool:
    """A mark that announces what follows: any colon, dash, arrow, or "=".

    By Unicode property, not by list, so labels in scripts nobody listed are caught: the
    Ethiopic preface colon, the Mongolian colon, the tricolon and "colon equals" are colons
    by name.
    """
    if ch in ":=":
        return True
    category = unicodedata.category(ch)
    if category == "Pd":
        return True
    if category[0] in "LNM":
        return False  # a letter that looks like a colon (IPA "ː") is a letter
    name = unicodedata.name(ch, "")
    if "COLON" in name and "SEMICOLON" not in name:
        return True  # ፦ ᠄ ⁝ ≔ ⦂ ꞉: colons of any script and kind
    return "ARROW" in name and category in ("Sm", "So")


@lru_cache(maxsize=1 << 14)
def is_terminator(ch: str) -> bool:
    """Ends a sentence: full stops, question and exclamation marks, dandas, ellipses."""
    if ch in ".!?":
        return True
    if unicodedata.category(ch) != "Po":
        return False
    name = unicodedata.name(ch, "")
    return any(w in name for w in ("FULL STOP", "QUESTION MARK", "EXCLAMATION MARK", "DANDA"))


@lru_cache(maxsize=1 << 14)
def is_unspaced(ch: str) -> bool:
    """A character of a script written without spaces between words (Han, kana, Thai...)."""
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3FFFF  # Han
        or 0x0E00 <= code <= 0x0EFF  # Thai, Lao
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0x1780 <= code <= 0x17FF  # Khmer
    )


# Decoration around a label: emphasis, quotes, brackets of emphasis, bullets, table pipes,
# blockquote markers; and, before a label only, comment markers ("// ", "-- ", "; ", "% "),
# math delimiters and the closing brackets of a label before it ("(* Answer: *) Reasoning:").
_DECORATION = frozenset("*_`~>#•·'\"«»„“”‘’「」『』‹›|【】〖〗〔〕｢｣")
_LEADING = _DECORATION | frozenset("/;%($)]}")
# A list marker before a label: "1. ", "(2) ", "a) ", "iv. ", "- [ ] ".
_MARKER = re.compile(r"\(?(?:\d{1,3}|[a-z]|[ivxlc]{1,6})[.)](?=\s)|\[[ x]?\](?=\s)")
# Characters that make a "label" code rather than prose: "def main():", "C:\", "a[i] =".
_CODE = frozenset("()[]{}<>+/\\|^%$#@;&=")
# Marks that close a label only at the end of a line ("Svar>", "Amsa|"); mid-line they are
# comparisons, pipes and alternatives.
_POINTERS = ("|", ">")
LABEL_MAX_WORDS = 8
LABEL_MAX_CHARS = 80
LABEL_MAX_UNSPACED = 16
HEADING_MAX_WORDS = 4


@lru_cache(maxsize=1 << 12)
def _trim(text: str) -> str:
    """``text`` without spacing, decoration, comment and list markers at its edges."""
    start, end = 0, len(text)
    while True:
        while start < end and (_edge(text[start]) or text[start] in _LEADING):
            start += 1
        marker = _MARKER.match(text, start, end)
        if marker is None or marker.end() == start:
            break
        start = marker.end()
    while end > start and _edge(text[end - 1]):
        end -= 1
    return text[start:end]


def _edge(ch: str) -> bool:
    return ch.isspace() or ch in _DECORATION or is_introducer(ch) or is_terminator(ch)


@lru_cache(maxsize=1 << 12)
def is_label_text(text: str, max_words: int = LABEL_MAX_WORDS) -> bool:
    """Whether ``text`` (what precedes an introducer) is short prose, as a label is."""
    text = _trim(text)
    if not text:
        return True
    if len(text) > LABEL_MAX_CHARS or len(text.split()) > max_words:
        return False
    if sum(is_unspaced(c) for c in text) > LABEL_MAX_UNSPACED:
        return False
    return not any(c in _CODE for c in text)


@dataclass
class Piece:
    """A stretch of text and what the structure makes of it."""

    kind: str  # "label" (removed, says nothing) or "text" (decides)
    text: str


def split_labels(line: str) -> list[Piece]:
    r"""One line as labels and text: "Answer: Paris" is a label and "Paris".

    A label is what lies between the start of a line, sentence or earlier label and an
    introducer mark, when it is short prose. A colon before "/" or "\" (URLs, paths) and a
    dash inside a word ("well-known") introduce nothing.
    """
    pieces: list[Piece] = []
    n = len(line)
    marks = _marks(line)
    start = i = 0
    while marks is not None and (found := marks.search(line, i)) is not None:
        i = found.start()
        ch = line[i]
        if is_introducer(ch) and _introduces(line, i):
            j = i + 1
            while j < n and (is_introducer(line[j]) or line[j] in _DECORATION):
                j += 1
            kind = "label" if is_label_text(line[start:i]) else "text"
            if _trim(line[start:i]) or kind == "text":
                pieces.append(Piece(kind, line[start:j]))
            start = i = j
            continue
        ends = is_terminator(ch) and (i + 1 == n or line[i + 1].isspace())
        if ends and not _list_marker(line, start, i + 1):  # "1. " starts a label, not a sentence
            pieces.append(Piece("text", line[start : i + 1]))
            start = i + 1
        i += 1
    if start < n:
        rest = line[start:]
        kind = "label" if _ends_in_pointer(rest) else "text"
        pieces.append(Piece(kind, rest))
    return pieces


def _ends_in_pointer(text: str) -> bool:
    """Whether ``text`` is short prose, then "|" or ">", then nothing of content: a label.

    Only at the end of a line: "a > b" and "x|y" inside a line are content, and a table row
    or a code line has a code character before its mark ("| a | b |", "cat x | sort |").
    """
    end = len(text)
    while end and not is_content(text[end - 1]) and unicodedata.category(text[end - 1])[0] != "M":
        end -= 1  # what follows the mark holds nothing: "Svar> [ ]" once a slot is blanked
    if not text[end:].lstrip().startswith(_POINTERS):
        return False
    head = text[:end]
    # a word, not one character (nor one the view spells as two: "ß" as "ss", "한" as its
    # jamo): "a>" or "x |" is a variable, or an answer with decoration
    letters = {c for c in unicodedata.normalize("NFC", head) if is_content(c)}
    return len(letters) >= 2 and is_label_text(head)


def _marks(line: str) -> re.Pattern[str] | None:
    """A pattern for the introducers and terminators in ``line``: the scan jumps between them."""
    chars = sorted(c for c in set(line) if is_introducer(c) or is_terminator(c))
    return re.compile("[" + "".join(map(re.escape, chars)) + "]") if chars else None


def _list_marker(line: str, start: int, end: int) -> bool:
    """Whether ``line[start:end]`` is a list marker ("1.", "(2)", "iv.") after decoration."""
    while start < end and (line[start].isspace() or line[start] in _LEADING):
        start += 1
    marker = _MARKER.match(line, start)
    return marker is not None and marker.end() == end and end < len(line)


def _introduces(line: str, i: int) -> bool:
    after = line[i + 1] if i + 1 < len(line) else " "
    if after in "/\\":
        return False  # https://, C:\
    if unicodedata.category(line[i]) == "Pd" or line[i] == "-":
        before = line[i - 1] if i else " "
        return not (is_content(before) and is_content(after))  # well-known, 2024-01-02
    return True


# Markdown structure, per line of the normalised view.
_ATX = re.compile(r"[ \t]{0,3}#{1,6}(?=[ \t]|$)")
_SETEXT = re.compile(r"[ \t]{0,3}(?:={2,}|-{2,})[ \t]{0,8}")
_TABLE_RULE = re.compile(r"[ \t|:-]{0,400}")
# Arabic, Latin-letter or roman numbering (the view folds "Ⅲ" and "ⅲ" to "iii").
_LIST_MARK = re.compile(r"[ \t]{0,8}(?:\d{1,3}|[a-z]|[ivxlc]{1,6})[.)](?=[ \t]|$)")
_FENCE = re.compile(r"[ \t]{0,3}(?:```(?!.*`)|~~~)")  # CommonMark: no backtick after ```


@dataclass
class Structure:
    """What the structural pass made of a text: labels, text pieces, and what it removed."""

    pieces: list[Piece] = field(default_factory=list)
    code: list[str] = field(default_factory=list)  # bodies of fenced code blocks
    structure: bool = False  # headings, table rules, list numbering or fences were removed

    def labels(self) -> list[str]:
        """The labels with any text (a lone "->" or bullet is not worth naming)."""
        return [p.text for p in self.pieces if p.kind == "label" and _trim(p.text)]

    def introduced(self) -> list[str]:
        """The text pieces that come right after a label ("OK" in "Answer: OK")."""
        return [
            piece.text
            for before, piece in zip(self.pieces, self.pieces[1:], strict=False)
            if before.kind == "label" and piece.kind == "text"
        ]

    def text(self) -> str:
        """What decides: the text pieces and the code blocks, one per line."""
        return "\n".join([p.text for p in self.pieces if p.kind == "text"] + self.code)


def parse(view: str, markdown_asked: bool = False) -> Structure:
    """Headings, tables, lists, fences and labels of a normalised view, line by line.

    ``markdown_asked``: the prompt asks for markdown, so a lone heading is the answer.
    """
    out = Structure()
    lines = view.split("\n")
    markers = sum(1 for line in lines if _marker_only(line))
    fenced = False
    for n, line in enumerate(lines):
        if _FENCE.match(line):
            fenced, out.structure = not fenced, True
            continue
        if fenced:
            out.code.append(line)
            continue
        after = lines[n + 1] if n + 1 < len(lines) else ""
        out.pieces += _line(line, after, markers >= 2, markdown_asked, out)
    return out


def _marker_only(line: str) -> bool:
    m = _LIST_MARK.match(line)
    return m is not None and not line[m.end() :].strip()


def _line(line: str, after: str, lists: bool, markdown_asked: bool, out: Structure) -> list[Piece]:
    """The pieces of one prose line, given the line after it (a setext or table rule)."""
    if not line.strip():
        return []
    if _is_table_rule(line) or (_SETEXT.fullmatch(line) and line.strip()):
        out.structure = True
        return []
    if lists and _marker_only(line):
        out.structure = True
        return []
    mark = _LIST_MARK.match(line)
    if mark is not None and any(is_content(ch) for ch in line[mark.end() :]):
        line = line[mark.end() :]  # "1. Paris" -> "Paris"; a lone "42." or "a) ." stays an answer
    atx = _ATX.match(line)
    heading = atx is not None or bool(after.strip() and _SETEXT.fullmatch(after))
    if atx is not None:
        line = line[atx.end() :].rstrip().rstrip("#")
        out.structure = True
    if heading and not markdown_asked and is_label_text(line, HEADING_MAX_WORDS):
        return [Piece("label", line)]
    if _is_table_rule(after) and "|" in line:
        cells = [c for c in line.split("|") if c.strip()]
        return [Piece("label" if is_label_text(c) else "text", c) for c in cells]
    return split_labels(line)


def _is_table_rule(line: str) -> bool:
    return "|" in line and "-" in line and _TABLE_RULE.fullmatch(line) is not None


# Values that say "nothing here" in key/value data (JSON, YAML): dropped after a label when
# the text is data (two or more labels), so "answer: null\nsteps: []" is empty while
# "How many are left? Answer: None" is an answer.
EMPTY_VALUES = frozenset(["null", "nil", "none", "undefined", "~", '""', "''", "[]", "{}"])


# A YAML tag names a value's type, not the value: "!!null ''" and "!!str" hold nothing.
_YAML_TAG = re.compile(r"!![a-z]{1,12}(?![\w])[ \t]{0,4}")


def drop_empty_values(pieces: list[Piece], data: bool = False) -> bool:
    """Turn empty data values after labels into labels; True if any was dropped.

    ``data``: the text declares itself data (a YAML/JSON fence, a YAML tag), so one key is
    enough; otherwise two are needed ("Answer: None" is an answer).
    """
    if sum(1 for p in pieces if p.kind == "label" and _trim(p.text)) < (1 if data else 2):
        return False
    dropped = False
    for k in range(1, len(pieces)):
        value = _YAML_TAG.sub("", pieces[k].text.strip().rstrip(",").strip()).strip()
        empty = value in EMPTY_VALUES or (not value and "!!" in pieces[k].text)
        if pieces[k - 1].kind == "label" and pieces[k].kind == "text" and empty:
            pieces[k] = Piece("label", "")
            dropped = True
    return dropped


# Template slots: what a template has before it is filled. Bounded runs, literal first.
_SLOTS = re.compile(
    r"\{\{[^{}\n]{0,80}\}\}|\{%[^{}\n]{0,80}%\}|\$\{[^{}\n]{0,80}\}|<<[^<>\n]{1,80}>>"
    r"|%\([a-z_]{1,30}\)[sdfr]|(?<![\w%])%[-+ #0]{0,3}\d{0,3}(?:\.\d{1,3})?[sdifgeoxcu](?![a-z])"
    r"|(?<![\w}])\{\d{0,2}\}|(?<![\w}])\{[a-z_][a-z0-9_]{2,30}\}"
    # ERB/JSP/EJS tags and @name@ substitutions (autoconf, Maven): "<%= answer %>", "@answer@"
    r"|<%[^%\n]{0,80}%>|(?<![\w@.])@[a-z_][a-z0-9_]{0,30}@(?![\w@.])"
    # an ellipsis standing alone where something was to be written: "First, ... Then, ..."
    r"|(?<![^\s,;:(])(?:\.{3,}|…)(?![^\s,;:)])"
)
_VARIABLE = re.compile(r"(?<![\w$])\$[a-z_][a-z0-9_]{0,30}(?![\w(])")
# A bracketed or boxed slot whose words only name the slot: "[Your answer here]", "<insert
# answer>", "\boxed{answer}". Only inside slot syntax: the bare word "answer" is judged.
_NAMED_SLOT = re.compile(
    r"\[([^\[\]\n]{0,80})\](?!\()|<([^<>\n=\"']{0,80})>|\\boxed\{([^{}\n]{0,80})\}"
    r"|\\text\{([^{}\n]{0,80})\}"
)
# fmt: off
SLOT_NAMES = frozenset((
    "answer", "answers", "your", "my", "the", "final", "here", "insert", "placeholder", "blank",
    "fill", "in", "value", "result", "solution", "response", "todo", "tbd", "tba", "xxx",
    "fixme", "name", "goes", "type", "write", "put",
))
# fmt: on
_MARKERS = re.compile(
    r"(?<![a-z0-9])(?:todo|tbd|tba|fixme|xxx)(?![a-z0-9])"
    # an upper-case dunder of slot words stands for a value to substitute ("__ANSWER__");
    # lower-case dunders are Python names ("__init__"), other words markdown bold ("__B__")
    r"|(?<![a-z0-9_])__[a-z][a-z0-9_]{0,30}__(?![a-z0-9_])"
)


def placeholders(seen: View, original: str, asked: str) -> tuple[str, int]:
    """The view's text with template slots blanked out, and how many there were.

    The view's spans lead back to ``original``, so "TODO" (a marker) is told from "Todo"
    (Spanish for "all"). A slot whose syntax the prompt itself uses (``asked``) is the
    answer, not a slot: "How does printf print a string, %s or %d?".
    """
    view = seen.text
    count = 0

    def blank(m: re.Match[str]) -> str:
        nonlocal count
        if _slot_asked(m.group(0), asked):
            return m.group(0)
        count += 1
        return " "

    def named(m: re.Match[str]) -> str:
        nonlocal count
        inner = next(g for g in m.groups() if g is not None)
        words = re.findall(r"[^\W_]+", inner)
        if words and all(w in SLOT_NAMES for w in words) and m.group(0) not in asked:
            count += 1
            return " "
        return m.group(0)

    out = _NAMED_SLOT.sub(named, _VARIABLE.sub(blank, _SLOTS.sub(blank, view)))
    if len(out) == len(view):  # positions still match the spans: find upper-case markers
        chars = list(out)
        for m in _MARKERS.finditer(out):
            written = original[slice(*seen.span(m.start(), m.end()))]
            if written.startswith("__"):  # "__B__" and "__NASA__" are bold answers
                words = re.findall(r"[^\W_]+", m.group(0))
                meant = _slot_asked(m.group(0), asked) or not all(w in SLOT_NAMES for w in words)
            else:
                meant = _initials(m.group(0), asked)
            if not any(c.islower() for c in written) and not meant:
                chars[m.start() : m.end()] = " " * (m.end() - m.start())
                count += 1
        out = "".join(chars)
    return out, count


def _initials(marker: str, asked: str) -> bool:
    """Whether ``marker`` is the initials of words the prompt writes in a row.

    "TBD" to "Abbreviate 'to be determined'" is the answer, not a slot.
    """
    initials = "".join(w[0] for w in re.findall(r"[^\W_]+", asked))
    return marker in initials


# A prompt about the syntax a slot is written in: then the slot is the answer ("%05d" to
# "printf format for a zero-padded number", "$HOME" to "which variable holds the home
# directory?").
_SLOT_TALK = re.compile(
    r"\b(?:printf|format\w*|templat\w*|placeholders?|variables?|jinja|env|macros?|erb|jsp)\b"
)


def _slot_asked(slot: str, asked: str) -> bool:
    """Whether the prompt asks about this slot's syntax, or names its variable."""
    if slot[:2] in asked or _SLOT_TALK.search(asked):
        return True
    if slot[0] == "$":
        return "$" in asked or re.search(r"\b" + re.escape(slot[1:]) + r"\b", asked) is not None
    return slot[0] == "%" and "%" in asked


@dataclass
class Data:
    """A JSON document's leaves: its strings, and whether any leaf is a number or boolean."""

    strings: list[str]
    scalar: bool


def json_leaves(text: str) -> Data | None:
    """The leaves of ``text`` if it is a JSON object or array (optionally in a code fence).

    Keys are labels and are not leaves. Deeply nested input raises RecursionError inside the
    parser, which is caught: such a text is judged as text.
    """
    body = text.strip()
    if body.startswith(("```", "~~~")):
        body = body.strip("`~").strip()
        body = (body[4:] if body.lower().startswith("json") else body).strip()
    if not body.startswith(("{", "[")):
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    data = Data([], False)
    for leaf in _leaves(value, 0):
        if isinstance(leaf, str):
            data.strings.append(leaf)
        elif leaf is not None:
            data.scalar = True
    return data


def _leaves(value: object, depth: int) -> Iterator[object]:
    if depth > 200:
        yield "…"  # too deep to be an answer's data: treat as opaque text
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, depth + 1)
    else:
        yield value


def smallest_period(text: str, probe: int = 4096) -> int:
    """The smallest period of ``text`` (its length if none shorter), in linear time.

    The prefix function of the first ``probe`` characters gives the only candidate; one
    C-level comparison of the whole text confirms it. A text that is a unit repeated any
    number of times, cut anywhere, has that unit's length as its period.
    """
    head = text[:probe]
    n = len(head)
    if n < 2:
        return len(text)
    pi = [0] * n
    for i in range(1, n):
        k = pi[i - 1]
        while k and head[i] != head[k]:
            k = pi[k - 1]
        if head[i] == head[k]:
            k += 1
        pi[i] = k
    p = n - pi[-1]
    if p < n and text[p:] == text[:-p]:
        return p
    return len(text)
