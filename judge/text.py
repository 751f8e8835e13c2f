r"""One normalised view of hostile text: what a model reads, not how it is spelled.

Every check on sample text (the guard, the delimiter fence, the verdict parser) looks at
this view, so a policy cannot get past a check with another spelling of the same thing:

1. escapes are decoded, repeatedly (``&amp;lt;`` -> ``&lt;`` -> ``<``): HTML entities,
   named and numeric, with or without ``;``; backslash escapes (``\u003c``, ``\x3c``,
   ``<\/``); percent-encoded ``<``, ``>`` and ``/``;
2. each character is case-folded and compatibility-decomposed (NFKD: full-width and
   mathematical letters become ASCII), and combining marks, format characters (zero-width,
   bidi, word joiners, soft hyphens, tag characters) and other default-ignorables dropped;
3. letters and symbols that Unicode lists as confusable with ASCII (UTS #39
   ``confusables.txt``, via the ``confusable-homoglyphs`` package) become that ASCII, plus
   the angle-bracket look-alikes that table does not fold to ``<``/``>``.

The view keeps, for each of its characters, the span of the original text it came from,
so the fence can neutralise the original text where the view shows a tag. Everything here
is linear in the input: per-character work, and decoders whose patterns have no nested or
adjacent quantifiers.
"""

from __future__ import annotations

import hashlib
import html.entities
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import compress

# Characters a model reads as angle brackets that confusables.txt does not map to ASCII
# (it maps them to each other, e.g. 〈 -> ❬). Checked against the table: these are the
# opening/closing pairs left over.
_ANGLES = {
    **dict.fromkeys("〈⟨❬❮❰⟪《≺⧼⦉⦑〈﹤＜‹˂ᐸ⋖", "<"),
    **dict.fromkeys("〉⟩❭❯❱⟫》≻⧽⦊⦒〉﹥＞›˃ᐳ⋗", ">"),
    **dict.fromkeys("⁄∕⧸／", "/"),
}
# Default-ignorable code points that are not in category Cf (UAX #44), and characters that
# render as nothing or as a placeholder box (tatweel, object replacement, replacement
# character, null notehead): a model skips them, so they carry no content.
_IGNORABLE = frozenset(
    [
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, 0x2800),
        *(0x0640, 0xFFFC, 0xFFFD, 0x1D159),
        *range(0x180B, 0x1810),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)

_ESCAPE = re.compile(
    r"&#[xX]0{0,32}([0-9a-fA-F]{1,8});?"  # &#x3c; &#x00000003c;
    r"|&#0{0,32}([0-9]{1,10});?"  # &#60; &#0000060;
    r"|&([a-zA-Z][a-zA-Z0-9]{1,31};?)"  # &lt; &lt
    r"|\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})|\\[uUxX]\{0{0,32}([0-9a-fA-F]{1,8})\}"
    r"|\\[xX]([0-9a-fA-F]{2})"  # \x3c
    r"|\\([/<>\\\"'])"  # <\/response>
    r"|%(3[cCeE]|2[fF]|25)"  # %3C/response%3E, %253C (double-encoded)
    r"|%[uU]([0-9a-fA-F]{4})"  # %u003c
    r"|=(3[cCeE]|2[fF])"  # quoted-printable =3C
    r"|\\(3[cCeE]|2[fF]) ?"  # CSS \3c
    r"|\\(0{0,2}[0-7]{2,3})"  # octal \074
)
_MAX_DECODE_PASSES = 4
_SURROGATE = re.compile("[\ud800-\udfff]")
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class View:
    """Normalised text; ``start[i]``/``end[i]`` is the original span of ``text[i]``."""

    text: str
    start: tuple[int, ...]
    end: tuple[int, ...]

    def span(self, a: int, b: int) -> tuple[int, int]:
        """The original span behind view characters ``a..b`` (``b`` exclusive)."""
        return self.start[a], self.end[b - 1]


def _decode_escape(m: re.Match[str]) -> str | None:
    hex_ref, dec_ref, name, uni4, uni8, uni_braced, byte, char, pct, pct_u, qp, css, octal = (
        m.groups()
    )
    uni = uni4 or uni8 or uni_braced or pct_u
    pct = pct or qp or css
    if octal is not None:
        code = int(octal, 8)
        return chr(code) if 0x20 <= code < 0x7F else None
    if name is not None:
        value = html.entities.html5.get(name) or html.entities.html5.get(name.rstrip(";") + ";")
        return value
    if char is not None:
        return char
    digits, base = next(
        (d, b)
        for d, b in ((hex_ref, 16), (dec_ref, 10), (uni, 16), (byte, 16), (pct, 16))
        if d is not None
    )
    code = int(digits, base)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(code)


def _decode(text: str, start: list[int], end: list[int]) -> tuple[str, list[int], list[int]]:
    """One decoding pass over all escapes, carrying the original spans along."""
    out: list[str] = []
    new_start: list[int] = []
    new_end: list[int] = []
    pos = 0
    for m in _ESCAPE.finditer(text):
        decoded = _decode_escape(m)
        if decoded is None:
            continue
        out.append(text[pos : m.start()])
        new_start += start[pos : m.start()]
        new_end += end[pos : m.start()]
        out.append(decoded)
        new_start += [start[m.start()]] * len(decoded)
        new_end += [end[m.end() - 1]] * len(decoded)
        pos = m.end()
    if pos == 0:
        return text, start, end
    out.append(text[pos:])
    new_start += start[pos:]
    new_end += end[pos:]
    return "".join(out), new_start, new_end


# The table ``_confusables`` derives from confusable-homoglyphs' 900 kB confusables.json,
# prebuilt (``tools/build_lexicon_index.py``): read while that file's hash matches.
CONFUSABLES_TABLE = "confusables_ascii.json"


def confusables_json() -> bytes:
    """The installed confusable-homoglyphs data (UTS #39 confusables.txt, as JSON)."""
    return resources.files("confusable_homoglyphs").joinpath("confusables.json").read_bytes()


@cache
def confusables_sha256() -> str:
    """The SHA-256 of the installed confusables.json (what the prebuilt data was made from)."""
    return hashlib.sha256(confusables_json()).hexdigest()


@cache
def _confusables() -> dict[str, str]:
    """Non-ASCII characters that UTS #39 lists as confusable with an ASCII string.

    From the prebuilt table when it was made from the installed confusables.json (parsing
    that file took a cold start's first non-ASCII text 50 ms), else computed here.
    """
    prebuilt = resources.files("judge").joinpath("data", CONFUSABLES_TABLE)
    if prebuilt.is_file():
        stored = json.loads(prebuilt.read_bytes())
        if stored.get("confusables_sha256") == confusables_sha256():
            table: dict[str, str] = stored["table"]
            return table
    return confusables_table(confusables_json())


def confusables_table(raw: bytes) -> dict[str, str]:
    """The non-ASCII -> ASCII table of a confusables.json's bytes."""
    data = json.loads(raw)
    table: dict[str, str] = {}
    for ch, entries in data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        ascii_forms = [e["c"] for e in entries if e["c"].isascii() and e["c"].strip()]
        if ascii_forms:
            table[ch] = min(ascii_forms, key=lambda s: (len(s), s))
    return table


@lru_cache(maxsize=1 << 16)  # bounded: a warm Lambda sees every code point a policy tries
def fold_char(ch: str) -> str:
    """What one character reads as: case-folded, decomposed, unmarked, de-confused."""
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return ""  # a lone surrogate (valid JSON, invalid text) reads as nothing
    if ch in _ANGLES:
        return _ANGLES[ch]
    if 0x1F1E6 <= code <= 0x1F1FF:  # regional indicator letters (🇦 🇳 🇸...) read as a-z
        return chr(code - 0x1F1E6 + ord("a"))
    out = []
    for part in unicodedata.normalize("NFKD", ch):
        if 0x30A1 <= ord(part) <= 0x30F6:  # katakana reads as its hiragana (コタエ = こたえ)
            part = chr(ord(part) - 0x60)
        if part in _ANGLES:
            out.append(_ANGLES[part])
            continue
        category = unicodedata.category(part)
        if category in ("Mn", "Me", "Cf") or ord(part) in _IGNORABLE:
            continue
        if category == "Cc" and part not in "\n\t\r":
            continue  # NUL and other controls: a model reads past them
        if not part.isascii():
            part = _same_kind(part, _unconfuse(_small_capital(part)))
        out.append(part.casefold())
    return "".join(out)


def _kind(ch: str) -> str:
    """Letter or digit (L/N), or anything else: whether a character can carry content."""
    return "content" if unicodedata.category(ch)[0] in "LN" else "other"


def _same_kind(original: str, folded: str) -> str:
    """The confusable fold, unless it changes whether the character is a letter or digit.

    Folding is for matching spellings; it must not decide what is content: a Persian zero is
    confusable with ".", and a double vertical line with "ll".
    """
    if folded == original or not folded:
        return folded or original
    return folded if all(_kind(c) == _kind(original) for c in folded) else original


def _unconfuse(ch: str) -> str:
    """The ASCII a character is confusable with, the same for its capital and small forms.

    confusables.txt lists capitals and small letters separately, and often only one of the
    two (Cyrillic Ve is "B" but ve has no entry; ghe is "r" but Ghe has none), so the pair
    is read as one: the capital's entry, else the small letter's. "Відповідь", "ВІДПОВІДЬ"
    and "ГОТОВО"/"готово" then read alike. Where both have entries that differ (Greek Nu
    "N" / nu "v", Upsilon "Y" / upsilon "u") the capital's wins, since a capital
    look-alike sits in upper-case text exactly where the Latin letter would; a capital whose
    entry is "l" only because the table spells Latin "I" as "l" reads "i" when its small
    letter does (iota, Ukrainian i, palochka), as Latin "I" itself does in this view.
    """
    table = _confusables()
    small = ch.casefold()
    if len(small) != 1:
        return table.get(ch, ch)
    capital = small.upper()
    cap = table.get(capital) if len(capital) == 1 else None
    low = table.get(small)
    if cap and low and cap != low:
        return low if (cap, low) == ("l", "i") else cap
    return cap or low or ch


def _small_capital(ch: str) -> str:
    """Latin small capitals (ᴀ ʙ ʟ ᴛ ɴ ...) read as their letter; confusables.txt lacks most."""
    name = unicodedata.name(ch, "")
    if name.startswith("LATIN LETTER SMALL CAPITAL ") and len(name) == 28:
        return name[-1].lower()
    return ch


def _decoded(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` with escapes decoded to a fixed point (bounded), and each character's span."""
    start = list(range(len(text)))
    end = list(range(1, len(text) + 1))
    decoded = text
    for _ in range(_MAX_DECODE_PASSES):
        again, start, end = _decode(decoded, start, end)
        if again is decoded:
            break
        decoded = again
    return decoded, start, end


def view(text: str) -> View:
    """The normalised view of ``text`` with the original span of every character."""
    decoded, start, end = _decoded(text)
    if decoded.isascii() and not _ASCII_CONTROLS.search(decoded):
        return View(decoded.lower(), tuple(start), tuple(end))
    chars: list[str] = []
    view_start: list[int] = []
    view_end: list[int] = []
    for i, ch in enumerate(decoded):
        folded = ch.lower() if ch.isascii() else fold_char(ch)
        chars.append(folded)
        view_start += [start[i]] * len(folded)
        view_end += [end[i]] * len(folded)
    return View("".join(chars), tuple(view_start), tuple(view_end))


def normalise(text: str) -> str:
    """Just the normalised text (no spans)."""
    return view(text).text


def clean(text: str) -> str:
    """``text`` with lone surrogates replaced (they make every encoder raise)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def view_bulk(text: str) -> View:
    """``view(text)``, computed a character class at a time instead of a character at a time.

    The same result as ``view`` (a property test checks it): each distinct character is
    folded once and the text translated in one pass; spans are rebuilt per character only
    when some character folds to more than one.
    """
    decoded, start, end = _decoded(text)
    if decoded.isascii() and not _ASCII_CONTROLS.search(decoded):
        return View(decoded.lower(), tuple(start), tuple(end))
    table = {ord(c): c.lower() if c.isascii() else fold_char(c) for c in set(decoded)}
    lengths = list(map(len, map(table.__getitem__, map(ord, decoded))))
    folded = decoded.translate(table)
    if min(lengths, default=1) == max(lengths, default=1) == 1:
        return View(folded, tuple(start), tuple(end))  # one character for one
    if max(lengths) <= 1:  # some characters read as nothing (zero-width, marks)
        keep = list(compress(range(len(decoded)), lengths))
        return View(folded, tuple(start[i] for i in keep), tuple(end[i] for i in keep))
    view_start: list[int] = []
    view_end: list[int] = []
    for i, n in enumerate(lengths):
        view_start += [start[i]] * n
        view_end += [end[i]] * n
    return View(folded, tuple(view_start), tuple(view_end))
