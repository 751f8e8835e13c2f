"""Line numbers of keys in a TOML text, so that config errors can point at a line.

``tomllib`` keeps no positions. The text has already parsed with ``tomllib`` when this runs,
so the scanner can assume valid TOML and follows only what decides where a key lives: table
headers ``[a.b]``, arrays of tables ``[[a]]``, dotted and quoted keys, inline tables, arrays
and strings (whose content must not be read as structure).
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Mapping, Sequence

Key = tuple[str | int, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}#\n")


def key_lines(text: str) -> dict[Key, int]:
    """Every key path (array elements by index) mapped to the 1-based line defining it.

    Best effort: on text it cannot follow, it returns what it found so far.
    """
    scanner = _Scanner(text)
    with contextlib.suppress(IndexError, ValueError, tomllib.TOMLDecodeError):
        scanner.document()
    return scanner.lines


def line_of(lines: Mapping[Key, int], loc: Sequence[str | int]) -> int | None:
    """The line of ``loc``, else of the nearest enclosing table or array; None if none is."""
    for n in range(len(loc), 0, -1):
        found = lines.get(tuple(loc[:n]))
        if found is not None:
            return found
    return None


class _Scanner:
    """A single pass over valid TOML, recording where each key path is first defined."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[Key, int] = {}
        self.arrays: dict[Key, int] = {}  # array-of-tables path -> tables so far

    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        self.line += self.s.count("\n", self.i, self.i + n)
        self.i += n

    def expect(self, token: str) -> None:
        if self.peek(len(token)) != token:
            raise ValueError(f"expected {token!r} at line {self.line}")
        self.advance(len(token))

    def skip(self, *, newlines: bool) -> None:
        """Spaces, tabs and comments; newlines too when ``newlines``."""
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                end = self.s.find("\n", self.i)
                self.advance((len(self.s) if end < 0 else end) - self.i)
            else:
                return

    def record(self, key: Key, line: int) -> None:
        self.lines.setdefault(key, line)

    def document(self) -> None:
        table: Key = ()
        while True:
            self.skip(newlines=True)
            if self.i >= len(self.s):
                return
            start = self.i
            if self.peek(2) == "[[":
                self.advance(2)
                table = self.header(array=True)
                self.expect("]]")
            elif self.peek() == "[":
                self.advance()
                table = self.header(array=False)
                self.expect("]")
            else:
                self.keyval(table)
            if self.i == start:
                raise ValueError(f"cannot follow line {self.line}")

    def header(self, *, array: bool) -> Key:
        """A table header's path, with the current index of every array of tables in it."""
        line = self.line
        parts = self.key()
        resolved: Key = ()
        for n, part in enumerate(parts):
            resolved += (part,)
            if array and n == len(parts) - 1:
                count = self.arrays.get(resolved, 0)
                self.arrays[resolved] = count + 1
                self.record(resolved, line)
                resolved += (count,)
            elif resolved in self.arrays:
                resolved += (self.arrays[resolved] - 1,)
            self.record(resolved, line)
        return resolved

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip(newlines=False)
            c = self.peek()
            if c == '"':
                parts.append(self.basic_string())
            elif c == "'":
                parts.append(self.literal_string())
            else:
                start = self.i
                while self.i < len(self.s) and self.s[self.i] in _BARE:
                    self.i += 1
                if self.i == start:
                    raise ValueError(f"no key at line {self.line}")
                parts.append(self.s[start : self.i])
            self.skip(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def keyval(self, table: Key) -> None:
        line = self.line
        parts = self.key()
        for n in range(1, len(parts) + 1):
            self.record(table + parts[:n], line)
        self.expect("=")
        self.skip(newlines=False)
        self.value(table + parts)

    def value(self, path: Key) -> None:
        c = self.peek()
        if self.peek(3) in ('"""', "'''"):
            self.multiline_string(self.peek(3))
        elif c == '"':
            self.basic_string()
        elif c == "'":
            self.literal_string()
        elif c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        else:
            while self.i < len(self.s) and self.s[self.i] not in _SCALAR_END:
                self.i += 1

    def array(self, path: Key) -> None:
        self.advance()
        index = 0
        while True:
            self.skip(newlines=True)
            if self.peek() == "]":
                self.advance()
                return
            if self.i >= len(self.s):
                raise ValueError("unclosed array")
            self.record((*path, index), self.line)
            self.value((*path, index))
            index += 1
            self.skip(newlines=True)
            if self.peek() == ",":
                self.advance()
            elif self.peek() != "]":
                raise ValueError(f"cannot follow an array at line {self.line}")

    def inline_table(self, path: Key) -> None:
        self.advance()
        while True:
            self.skip(newlines=True)
            if self.peek() == "}":
                self.advance()
                return
            if self.i >= len(self.s):
                raise ValueError("unclosed inline table")
            self.keyval(path)
            self.skip(newlines=True)
            if self.peek() == ",":
                self.advance()
            elif self.peek() != "}":
                raise ValueError(f"cannot follow an inline table at line {self.line}")

    def basic_string(self) -> str:
        """A ``"..."`` string (escapes decoded, as a quoted key needs)."""
        start = self.i
        self.advance()
        while self.s[self.i] != '"':
            self.advance(2 if self.s[self.i] == "\\" else 1)
        self.advance()
        decoded: str = tomllib.loads(f"k = {self.s[start : self.i]}")["k"]
        return decoded

    def literal_string(self) -> str:
        end = self.s.index("'", self.i + 1)
        text = self.s[self.i + 1 : end]
        self.advance(end + 1 - self.i)
        return text

    def multiline_string(self, quote: str) -> None:
        self.advance(3)
        while self.peek(3) != quote:
            if self.i >= len(self.s):
                raise ValueError("unclosed multi-line string")
            self.advance(2 if quote == '"""' and self.peek() == "\\" else 1)
        self.advance(3)
        while self.peek() == quote[0]:  # up to two quotes may end the content
            self.advance()
