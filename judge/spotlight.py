r"""Spotlighting: sample text is shown to the judge so that it cannot pass for the template.

Three presentations (``[judge] spotlight``), after Hines et al., "Defending Against Indirect
Prompt Injection Attacks With Spotlighting" (arXiv 2403.14720):

- ``datamark`` (default): every line of sample text begins with a keyed marker,
  ``MARK·NAME│ `` (MARK: seven letters spelling the first 32 bits of the request's secret key,
  cheaper in tokens than hex; NAME: the block, e.g. ``resp``, ``r2``, ``ref``, ``user``).
  Lines are split on every boundary a model may honour (``str.splitlines``' set) and joined
  with ``\n``, so no line of the judge's input begins with text the sample chose, and no
  sample line can carry another block's marker (the key is an HMAC of the sample under a
  secret: the sample cannot know it).
- ``json``: the text as one JSON string literal (line breaks escaped): no line starts or
  tags of its own.
- ``off``: the text as it is (the removal list alone stands between it and the template).

``unmarked_lines`` checks a rendered request for the property: every line inside a keyed
block is presented (marked, or one JSON literal), and no presented content holds the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

Spotlight = Literal["datamark", "json", "off"]
SPOTLIGHTS: tuple[str, ...] = get_args(Spotlight)
# Every line boundary str.splitlines honours (and so may a model): CRLF first, as one break.
LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
MARK_BITS_HEX = 8  # hex digits of the key a mark spells: 32 bits a sample would have to guess
MARK_LETTERS = 7  # 26**7 > 2**32
DOT = "\u00b7"  # ·
BAR = "\u2502"  # │
ROLES = ("system", "user", "assistant", "tool", "other")  # conversation turns' block names
# Line breaks that JSON leaves raw but a model may honour.
_JSON_RAW_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def mark_of(key: str) -> str:
    """The keyed part of every marker of a request: its key's first 32 bits, as letters.

    Letters, because tokenizers split hex digits finely: seven letters cost about 4 tokens a
    line where eight hex digits cost about 7 (SmolLM2's BPE; see bench/bench_spotlight.py).
    """
    try:
        value = int(key[:MARK_BITS_HEX], 16)
    except ValueError:
        value = int.from_bytes(key.encode("utf-8", "surrogatepass")[:4].ljust(4, b"\0"), "big")
    letters = []
    for _ in range(MARK_LETTERS):
        value, digit = divmod(value, 26)
        letters.append(chr(ord("a") + digit))
    return "".join(letters)


def marker(key: str, name: str) -> str:
    """The prefix of every line of block ``name``: ``MARK·NAME│ ``."""
    return f"{mark_of(key)}{DOT}{name}{BAR} "


def lines_of(text: str) -> list[str]:
    """``text`` split on every line boundary; an empty text (or last line) is a line too."""
    return LINE_BREAK.split(text)


def datamark(text: str, key: str, name: str) -> str:
    """``text`` with every line (empty ones included) behind block ``name``'s marker."""
    prefix = marker(key, name)
    return "\n".join(prefix + line for line in lines_of(text))


def encode(text: str) -> str:
    """``text`` as one JSON string literal on one line (readable: non-ASCII kept)."""
    out = json.dumps(text, ensure_ascii=False)
    for raw, escaped in _JSON_RAW_BREAKS.items():
        out = out.replace(raw, escaped)
    return out


def present(text: str, mode: str, key: str, name: str, label: bool = False) -> str:
    """``text`` as the judge sees it in block ``name`` under ``mode``.

    ``label``: a conversation turn; without markers it is shown after its role (``user: ...``).
    """
    if mode == "datamark":
        return datamark(text, key, name)
    shown = encode(text) if mode == "json" else text
    return f"{name}: {shown}" if label else shown


def unmark(block: str, key: str) -> str:
    """The text of a rendered block, markers or JSON encoding taken off (what it says).

    For readers of rendered requests (the scripted judge): marked lines lose their marker,
    one JSON string literal is decoded, anything else is returned as it is.
    """
    lines = block.split("\n")
    mark = mark_of(key) + DOT
    if key and all(line.startswith(mark) and BAR in line for line in lines):
        return "\n".join(line.split(BAR + " ", 1)[-1] for line in lines)
    if len(lines) == 1 and block.startswith('"'):
        decoded = _json_string(block)
        if decoded is not None:
            return decoded
    return block


def _json_string(literal: str) -> str | None:
    try:
        value = json.loads(literal)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, str) else None


# The template's keyed blocks, and the marker names each one's lines may carry.
_OPEN = re.compile(r"<(conversation|reference_answer|response(?:_\d{1,3}|_[ab])?)-([0-9a-f]{16})>")
_JSON_LINE = re.compile(r"(?:(" + "|".join(ROLES) + r'): )?(".*")')


def block_names(tag: str) -> frozenset[str]:
    """The marker names allowed inside the keyed block ``tag`` (``response_2`` -> ``r2``)."""
    if tag == "conversation":
        return frozenset(ROLES)
    if tag == "reference_answer":
        return frozenset({"ref"})
    if tag == "response":
        return frozenset({"resp"})
    suffix = tag.removeprefix("response_")
    return frozenset({suffix.upper() if suffix in ("a", "b") else f"r{suffix}"})


@dataclass(frozen=True)
class Escape:
    """A line of a rendered request where sample text is not spotlighted."""

    line: int  # 1-based, counting every line boundary a model may honour
    block: str  # the keyed block it is in ("" outside every block)
    reason: str
    text: str

    def __str__(self) -> str:
        where = f"<{self.block}>" if self.block else "outside the blocks"
        return f"line {self.line} ({where}): {self.reason}: {self.text[:80]!r}"


def user_text(request: Mapping[str, Any] | str) -> str:
    """The user message of a Converse request (or the text itself)."""
    if isinstance(request, str):
        return request
    content = request["messages"][-1]["content"]
    return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))


def unmarked_lines(
    request: Mapping[str, Any] | str, key: str, mode: str = "datamark"
) -> list[Escape]:
    """Every line of ``request``'s user message where sample text escapes its spotlight.

    Inside each keyed block (``<response-KEY>`` ... ``</response-KEY>``) every line must
    begin with that block's marker (``datamark``) or be one JSON string literal (``json``),
    and what follows must not hold the key or the real marker (a sample cannot know them, so
    finding them means the renderer leaked them). Blocks must open once, close, and not nest.
    With ``mode="off"`` every line inside a block is an escape: nothing marks it.
    """
    found: list[Escape] = []
    opened: set[str] = set()
    block = ""
    closing = ""
    for number, line in enumerate(lines_of(user_text(request)), start=1):
        if not block:
            found += _outside(number, line, key, opened)
            m = _OPEN.fullmatch(line)
            if m is not None and m.group(2) == key:
                block, closing = m.group(1), f"</{m.group(1)}-{key}>"
                opened.add(block)
            continue
        if line == closing:
            block = ""
            continue
        found += [
            Escape(number, block, reason, line) for reason in _problems(line, block, key, mode)
        ]
    if block:
        found.append(Escape(0, block, "the block is never closed", ""))
    return found


def _outside(number: int, line: str, key: str, opened: set[str]) -> Iterator[Escape]:
    """A keyed tag outside the blocks is an escape when it is not one block's one opening."""
    m = _OPEN.fullmatch(line)
    if m is not None and m.group(2) == key and m.group(1) in opened:
        yield Escape(number, "", "a block opens twice", line)
    elif m is None and f"-{key}>" in line:
        yield Escape(number, "", "a keyed tag outside the template's place for it", line)


def _problems(line: str, block: str, key: str, mode: str) -> Iterator[str]:
    """Why one line inside ``block`` is not spotlighted (nothing: it is)."""
    names = block_names(block)
    if mode == "datamark":
        prefix = mark_of(key) + DOT
        name = line[len(prefix) :].split(BAR, 1)[0] if line.startswith(prefix) else None
        if name is None or BAR not in line:
            yield "a line without the block's marker"
            return
        if name not in names:
            yield f"another block's marker ({name})"
            return
        content = line[len(marker(key, name)) :]
        if not line.startswith(marker(key, name)):
            yield "a malformed marker"
        if prefix in content:
            yield "the real marker inside the data"
    elif mode == "json":
        m = _JSON_LINE.fullmatch(line)
        decoded = _json_string(m.group(2)) if m is not None else None
        labelled = m is not None and m.group(1) is not None
        if decoded is None or labelled != (block == "conversation"):
            yield "a line that is not one JSON string (after its role, in the conversation)"
            return
        content = decoded
    else:
        yield "a line without spotlighting"
        return
    if key in content:
        yield "the key inside the data"
