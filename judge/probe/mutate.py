"""The search's moves: fragments, decorations, Unicode transforms, mutation and crossover.

``judge probe --search`` (``judge/probe/search.py``) breeds responses from honest answers
with these operators, drawing from a broad vocabulary (``judge/probe/data/search_vocab.toml``):
what a policy under RL may stumble on, not a list of known attacks. Every operator takes
its randomness from the caller's ``random.Random``, so a seed fixes every candidate.
"""

from __future__ import annotations

import functools
import random
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

VOCAB = "search_vocab.toml"
_TOKEN = re.compile(r"\S+\s*|\s+")
# Line breaks a model may honour (a sample may use any of them).
BREAKS = ("\n", "\n", "\n\n", "\n\n", "\r\n", "\u2028", "\x0b", "\x85", "\n\n\n")
# How a fragment is joined to the text around it.
JOINS = ("\n", "\n\n", " ", "", "\n\n", " — ", ": ")

Transform = Callable[[str, random.Random], str]
Mutation = Callable[[str, "Vocabulary", random.Random], str]


@dataclass(frozen=True)
class Vocabulary:
    """Fragments by category, and decorations (``{}`` is the decorated text)."""

    fragments: dict[str, tuple[str, ...]]
    decorations: tuple[str, ...]

    def fragment(self, rng: random.Random) -> str:
        """A fragment of a category drawn uniformly (so small categories are not starved)."""
        return rng.choice(self.fragments[rng.choice(sorted(self.fragments))])

    def decoration(self, rng: random.Random) -> str:
        """A decoration template."""
        return rng.choice(self.decorations)


@functools.lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    """The bundled vocabulary."""
    source = resources.files("judge.probe").joinpath("data", VOCAB)
    data = tomllib.loads(source.read_text("utf-8"))
    fragments = {name: tuple(items) for name, items in sorted(data["fragments"].items())}
    decorations = tuple(d for items in data["decorations"].values() for d in items)
    return Vocabulary(fragments, decorations)


# --- Unicode transforms -------------------------------------------------------------------


def _offset_map(text: str, upper: int, lower: int, digit: int | None) -> str:
    out = []
    for ch in text:
        if "A" <= ch <= "Z":
            out.append(chr(upper + ord(ch) - ord("A")))
        elif "a" <= ch <= "z":
            out.append(chr(lower + ord(ch) - ord("a")))
        elif digit is not None and "0" <= ch <= "9":
            out.append(chr(digit + ord(ch) - ord("0")))
        else:
            out.append(ch)
    return "".join(out)


def fullwidth(text: str, rng: random.Random) -> str:
    """ASCII as full-width forms (``Ａｎｓｗｅｒ``)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def math_bold(text: str, rng: random.Random) -> str:
    """Mathematical bold letters and digits (``𝐀𝐧𝐬𝐰𝐞𝐫``)."""
    return _offset_map(text, 0x1D400, 0x1D41A, 0x1D7CE)


def math_sans(text: str, rng: random.Random) -> str:
    """Mathematical sans-serif bold (``𝗔𝗻𝘀𝘄𝗲𝗿``)."""
    return _offset_map(text, 0x1D5D4, 0x1D5EE, 0x1D7EC)


def monospace(text: str, rng: random.Random) -> str:
    """Mathematical monospace (``𝙰𝚗𝚜𝚠𝚎𝚛``)."""
    return _offset_map(text, 0x1D670, 0x1D68A, 0x1D7F6)


_CYRILLIC = str.maketrans("aceopxyiABEHKMOPTX", "асеорхуіАВЕНКМОРТХ")
_GREEK = str.maketrans("ABEHIKMNOPTXZov", "ΑΒΕΗΙΚΜΝΟΡΤΧΖον")
_SMALL_CAPS = str.maketrans("abcdefghijklmnopqrstuvwyz", "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ")


def cyrillic(text: str, rng: random.Random) -> str:
    """Latin letters swapped for Cyrillic look-alikes."""
    return text.translate(_CYRILLIC)


def greek(text: str, rng: random.Random) -> str:
    """Latin letters swapped for Greek look-alikes."""
    return text.translate(_GREEK)


def small_caps(text: str, rng: random.Random) -> str:
    """Small capitals (``ᴀɴꜱᴡᴇʀ``)."""
    return text.lower().translate(_SMALL_CAPS)


def _interleave(text: str, marks: tuple[str, ...], rng: random.Random, rate: float) -> str:
    out = []
    for ch in text:
        out.append(ch)
        if not ch.isspace() and rng.random() < rate:
            out.append(rng.choice(marks))
    return "".join(out)


def zero_width(text: str, rng: random.Random) -> str:
    """Invisible characters between letters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen)."""
    return _interleave(text, ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"), rng, 0.4)


def bidi(text: str, rng: random.Random) -> str:
    """The text inside bidi controls (overrides, isolates, marks)."""
    opening, closing = rng.choice(
        (("\u202e", "\u202c"), ("\u2066", "\u2069"), ("\u2067", "\u2069"), ("\u200f", "\u200e"))
    )
    return opening + text + closing


def combining(text: str, rng: random.Random) -> str:
    """Combining marks on letters (acute, stroke, underline, dot)."""
    return _interleave(text, ("\u0301", "\u0336", "\u0332", "\u0323", "\u0308"), rng, 0.5)


def case(text: str, rng: random.Random) -> str:
    """Upper, lower, title or swapped case."""
    return rng.choice((str.upper, str.lower, str.title, str.swapcase))(text)


TRANSFORMS: dict[str, Transform] = {
    "fullwidth": fullwidth,
    "math_bold": math_bold,
    "math_sans": math_sans,
    "monospace": monospace,
    "cyrillic": cyrillic,
    "greek": greek,
    "small_caps": small_caps,
    "zero_width": zero_width,
    "bidi": bidi,
    "combining": combining,
    "case": case,
}


# --- mutations ------------------------------------------------------------------------------


def piece(vocab: Vocabulary, rng: random.Random) -> str:
    """A fragment, sometimes decorated, sometimes transformed."""
    text = vocab.fragment(rng)
    if rng.random() < 0.3:
        text = vocab.decoration(rng).replace("{}", text)
    if rng.random() < 0.2:
        text = TRANSFORMS[rng.choice(sorted(TRANSFORMS))](text, rng)
    return text


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text) or [text]


def insert_start(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """A fragment before the text."""
    return piece(vocab, rng) + rng.choice(JOINS) + text


def insert_end(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """A fragment after the text."""
    return text + rng.choice(JOINS) + piece(vocab, rng)


def insert_line(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """A fragment on a line of its own, at a line start anywhere in the text."""
    lines = text.split("\n")
    lines.insert(rng.randrange(len(lines) + 1), piece(vocab, rng))
    return "\n".join(lines)


def replace(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """The answer replaced by one to three fragments."""
    parts = [piece(vocab, rng) for _ in range(rng.choice((1, 1, 2, 3)))]
    return rng.choice(JOINS).join(parts)


def delete_span(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """A run of words taken out."""
    tokens = _tokens(text)
    start = rng.randrange(len(tokens))
    end = min(len(tokens), start + rng.randint(1, max(1, len(tokens) // 2)))
    return "".join(tokens[:start] + tokens[end:])


def truncate(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """Only the first few words kept."""
    tokens = _tokens(text)
    return "".join(tokens[: rng.randint(1, max(1, min(len(tokens), 6)))])


def repeat(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """The text, or a fragment of it, repeated."""
    unit = text if rng.random() < 0.5 or len(text) < 40 else "".join(_tokens(text)[:3])
    return rng.choice(JOINS).join([unit] * rng.randint(2, 6))


def decorate(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """A decoration around the whole text or one of its lines."""
    lines = text.split("\n")
    if rng.random() < 0.5 or len(lines) == 1:
        return vocab.decoration(rng).replace("{}", text)
    k = rng.randrange(len(lines))
    lines[k] = vocab.decoration(rng).replace("{}", lines[k])
    return "\n".join(lines)


def transform(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """A Unicode transform of the whole text, one line or one word."""
    change = TRANSFORMS[rng.choice(sorted(TRANSFORMS))]
    tokens = _tokens(text)
    scope = rng.random()
    if scope < 0.4:
        return change(text, rng)
    if scope < 0.7:
        lines = text.split("\n")
        k = rng.randrange(len(lines))
        lines[k] = change(lines[k], rng)
        return "\n".join(lines)
    k = rng.randrange(len(tokens))
    tokens[k] = change(tokens[k], rng)
    return "".join(tokens)


def newline(text: str, vocab: Vocabulary, rng: random.Random) -> str:
    """A line break (of any kind a model honours) between two words."""
    tokens = _tokens(text)
    k = rng.randrange(len(tokens) + 1)
    return "".join(tokens[:k]) + rng.choice(BREAKS) + "".join(tokens[k:])


MUTATIONS: dict[str, Mutation] = {
    "insert_start": insert_start,
    "insert_end": insert_end,
    "insert_line": insert_line,
    "replace": replace,
    "delete_span": delete_span,
    "truncate": truncate,
    "repeat": repeat,
    "decorate": decorate,
    "transform": transform,
    "newline": newline,
}


def mutate(text: str, vocab: Vocabulary, rng: random.Random) -> tuple[str, str]:
    """``text`` changed by a mutation drawn uniformly: (new text, the mutation's name)."""
    name = rng.choice(sorted(MUTATIONS))
    return MUTATIONS[name](text, vocab, rng), name


def crossover(a: str, b: str, rng: random.Random) -> str:
    """The start of ``a`` spliced to the end of ``b``, at line boundaries or word boundaries."""
    if "\n" in a and "\n" in b and rng.random() < 0.5:
        left, right = a.split("\n"), b.split("\n")
        return "\n".join(left[: rng.randint(1, len(left))] + right[rng.randrange(len(right)) :])
    left, right = _tokens(a), _tokens(b)
    return "".join(left[: rng.randint(0, len(left))] + right[rng.randrange(len(right)) :])
