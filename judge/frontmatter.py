"""A rubric's YAML front matter, read without PyYAML when it is plain ``key: value`` lines.

Importing PyYAML and running its pure-Python loader is a measurable part of a Lambda cold
start, for front matter that is almost always a few lines such as ``name: tone`` and
``scale: {min: 1, max: 5}``. Those lines are read here directly; anything else (quotes,
comments, nesting, floats, booleans, non-ASCII, a repeated key) goes to ``yaml.safe_load``
unchanged, so the result is always what PyYAML returns. ``tests/test_frontmatter.py``
checks the two agree.
"""

from __future__ import annotations

import re
from typing import Any

# A line the fast path reads: a key at column 0, ": ", a value. Keys YAML 1.1 would read
# as booleans or null (``on:``, ``no:``) are left to PyYAML.
_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):[ ]+(.*?)[ ]*")
# An integer as YAML 1.1 reads it, in its one unambiguous spelling (no sign +, no leading
# zero: ``012`` is octal there, ``1_000`` a thousand).
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
# A plain string: starts with a letter and holds none of YAML's indicators that matter in
# a block value (``:``, ``#``, quotes, brackets, braces, ``*``, ``!``, ``|``, ``>``, ``%``,
# ``@``, backquote), so PyYAML reads it as this exact string unless it is a keyword below.
_STRING = re.compile(r"[A-Za-z][A-Za-z0-9 &(),.\-_/'?;+=]*")
# A flow mapping of integers: ``{min: 1, max: 5}``.
_FLOW = re.compile(r"\{[ ]*(.*?)[ ]*\}")
_FLOW_ITEM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):[ ]+(-?(?:0|[1-9][0-9]*))")
# Words YAML 1.1 resolves to a boolean or null whatever their case.
_KEYWORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf"})


class FrontMatterError(ValueError):
    """The front matter is not valid YAML: PyYAML's problem and the 0-based line it names."""

    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, read directly when ``text`` is plain ``key: value`` lines.

    Raises ``FrontMatterError`` where PyYAML raises ``YAMLError``.
    """
    simple = _simple(text)
    if simple is not None:
        return simple or None  # no keys: an empty document, as PyYAML reads it
    import yaml  # only for front matter the fast path declines

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line if mark is not None else None
        raise FrontMatterError(str(getattr(exc, "problem", exc)), line) from None


def _simple(text: str) -> dict[str, object] | None:
    """The mapping ``text`` spells in the fast path's subset; None: not in it."""
    out: dict[str, object] = {}
    for line in text.split("\n"):
        if not line.strip(" "):
            continue
        m = _LINE.fullmatch(line)
        if m is None or m.group(1).lower() in _KEYWORDS or m.group(1) in out:
            return None
        value = _value(m.group(2))
        if value is None:
            return None
        out[m.group(1)] = value
    return out


def _value(text: str) -> object | None:
    """The value of one line, or None when the fast path cannot be sure of it."""
    if _INT.fullmatch(text):
        return int(text)
    if _STRING.fullmatch(text):
        return None if text.lower() in _KEYWORDS else text
    m = _FLOW.fullmatch(text)
    if m is None:
        return None
    items: dict[str, object] = {}
    for part in m.group(1).split(",") if m.group(1) else []:
        item = _FLOW_ITEM.fullmatch(part.strip(" "))
        if item is None or item.group(1).lower() in _KEYWORDS or item.group(1) in items:
            return None
        items[item.group(1)] = int(item.group(2))
    return items
