"""The local server's guardrails: word, regex and PII-style policies read from a small file.

A stand-in for Amazon Bedrock Guardrails, so tests and the demo call ``ApplyGuardrail``
through boto3 over HTTP as they call Converse. The file (TOML or JSON) is trusted config; the
text it is applied to is hostile, so every detector runs in linear time: user regexes through
RE2 (``google-re2``: no backreferences or lookaround, as Bedrock's own regex filters), the
built-in PII detectors through Python ``re`` with patterns that only start at a token
boundary and only use bounded repeats (a test times each on 20,000-character runs).

    [[guardrail]]
    id = "support"            # lower-case letters and digits, as Bedrock's ids
    version = "1"             # "DRAFT" or a number
    blocked_message = "Sorry, I can't share that."
    words = ["lawsuit", "refund guaranteed"]     # whole words, any case: BLOCKED
    [[guardrail.regex]]
    name = "order_leak"
    pattern = "ORD-[0-9]{8}"
    action = "ANONYMIZE"      # BLOCK, ANONYMIZE or NONE (detect only)
    [[guardrail.pii]]
    type = "EMAIL"
    action = "ANONYMIZE"
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Action = Literal["BLOCKED", "ANONYMIZED", "NONE"]
_ACTIONS: dict[str, Action] = {"BLOCK": "BLOCKED", "ANONYMIZE": "ANONYMIZED", "NONE": "NONE"}
DEFAULT_BLOCKED = "Sorry, the model cannot answer this question."
_ID = re.compile(r"[a-z0-9]{1,64}")
_VERSION = re.compile(r"[1-9][0-9]{0,7}|DRAFT")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card(match: str) -> bool:
    digits = "".join(ch for ch in match if ch.isdigit())
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _ipv4(match: str) -> bool:
    return all(int(part) <= 255 for part in match.split("."))


# Each detector starts only where the lookbehind says a token starts and repeats only a
# bounded number of times, so a 20,000-character run costs one short attempt, not a scan per
# position. ``[0-9]`` not ``\d``: Python's ``\d`` is every script's digits.
_PII: dict[str, tuple[str, Callable[[str], bool] | None]] = {
    "EMAIL": (
        r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
        r"\.[A-Za-z]{2,24}(?![\w-])",
        None,
    ),
    "PHONE": (
        r"(?<![\w+(])(?:\+?1[ .-]?)?(?:\([0-9]{3}\)|[0-9]{3})[ .-]?[0-9]{3}[ .-]?[0-9]{4}(?!\w)"
        r"|(?<![\w+])\+[0-9]{7,15}(?!\w)",
        None,
    ),
    "CREDIT_DEBIT_CARD_NUMBER": (r"(?<![\w-])[0-9](?:[ -]?[0-9]){12,18}(?![\w-])", _card),
    "US_SOCIAL_SECURITY_NUMBER": (
        r"(?<![\w-])(?!000|666|9)[0-9]{3}([- ])(?!00)[0-9]{2}\1(?!0000)[0-9]{4}(?![\w-])",
        None,
    ),
    "IP_ADDRESS": (r"(?<![\w.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![\w.])", _ipv4),
    "AWS_ACCESS_KEY": (r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])", None),
}
PII_TYPES = tuple(_PII)


class PolicyError(ValueError):
    """A guardrails file the server cannot use: names the file, the entry and the fix."""


@dataclass(frozen=True)
class Finding:
    """One detection: where, what it is (policy, label), what the guardrail does about it."""

    start: int
    end: int
    policy: Literal["word", "pii", "regex"]
    label: str  # the configured word, PII type or regex name
    action: Action
    regex: str = ""


@dataclass(frozen=True)
class Detector:
    """A compiled rule: ``finditer(text)`` yields (start, end) of each match it accepts."""

    policy: Literal["word", "pii", "regex"]
    label: str
    action: Action
    pattern: Any  # re.Pattern[str] (built-in PII) or an RE2 pattern (same finditer, spans)
    accept: Callable[[str], bool] | None = None
    source: str = ""

    def find(self, text: str, limit: int) -> Iterator[Finding]:
        """At most ``limit`` findings, in text order."""
        found = 0
        for match in self.pattern.finditer(text):
            if self.accept is not None and not self.accept(match.group(0)):
                continue
            yield Finding(
                match.start(), match.end(), self.policy, self.label, self.action, self.source
            )
            found += 1
            if found >= limit:
                return


@dataclass(frozen=True)
class Guardrail:
    """One guardrail version: its detectors and the message that replaces blocked output."""

    guardrail_id: str
    version: str
    detectors: tuple[Detector, ...]
    blocked_message: str = DEFAULT_BLOCKED


def compile_re2(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (linear time on any text); ``re2.error`` if it is not RE2."""
    import re2  # lazily: a server without regex policies never loads it

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def load_guardrails(path: Path) -> dict[tuple[str, str], Guardrail]:
    """Read a guardrails file (``.json``, else TOML) into {(id, version): Guardrail}."""
    try:
        text = path.read_text("utf-8")
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise PolicyError(
            f"{path}: cannot read guardrails ({exc}). Fix: give a TOML or JSON file"
        ) from None
    entries = raw.get("guardrail") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PolicyError(f"{path}: no [[guardrail]] tables. Fix: see examples/guardrails.toml")
    book: dict[tuple[str, str], Guardrail] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: guardrail #{i + 1}"
        rail = parse_guardrail(entry, where)
        key = (rail.guardrail_id, rail.version)
        if key in book:
            raise PolicyError(f"{where}: {key[0]} version {key[1]} is given twice. Fix: keep one")
        book[key] = rail
    return book


def parse_guardrail(entry: Mapping[str, Any], where: str) -> Guardrail:
    """One ``[[guardrail]]`` table, checked (``where`` names it in errors)."""
    known = {"id", "version", "blocked_message", "words", "regex", "pii"}
    if unknown := sorted(set(entry) - known):
        raise PolicyError(
            f"{where}: unknown key {unknown[0]!r}. Fix: use {', '.join(sorted(known))}"
        )
    gid, version = entry.get("id"), entry.get("version")
    if not isinstance(gid, str) or not _ID.fullmatch(gid):
        raise PolicyError(
            f'{where}: id {gid!r} is not lower-case letters and digits. Fix: id = "support1"'
        )
    version = (
        str(version) if isinstance(version, int) and not isinstance(version, bool) else version
    )
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise PolicyError(
            f'{where}: version {version!r} is not "DRAFT" or a number. Fix: version = "1"'
        )
    message = entry.get("blocked_message", DEFAULT_BLOCKED)
    if not isinstance(message, str) or not message:
        raise PolicyError(f"{where}: blocked_message must be a non-empty string")
    detectors = [*_words(entry.get("words", []), where), *_regexes(entry.get("regex", []), where)]
    detectors += _pii(entry.get("pii", []), where)
    return Guardrail(gid, version, tuple(detectors), message)


def _words(words: object, where: str) -> list[Detector]:
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise PolicyError(f"{where}: words must be a list of non-empty strings")
    # A literal between word boundaries: linear in Python's engine too.
    return [
        Detector(
            "word",
            word.strip(),
            "BLOCKED",
            re.compile(rf"(?<!\w){re.escape(word.strip())}(?!\w)", re.IGNORECASE),
        )
        for word in words
    ]


def _action(item: Mapping[str, Any], where: str) -> Action:
    action = item.get("action", "BLOCK")
    if action not in _ACTIONS:
        raise PolicyError(f"{where}: action {action!r}. Fix: one of BLOCK, ANONYMIZE, NONE")
    return _ACTIONS[action]


def _regexes(items: object, where: str) -> list[Detector]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PolicyError(f"{where}: regex must be [[guardrail.regex]] tables")
    out = []
    for item in items:
        name, pattern = item.get("name"), item.get("pattern")
        here = f"{where}, regex {name!r}"
        if set(item) - {"name", "pattern", "action"}:
            raise PolicyError(f"{here}: keys are name, pattern and action")
        if not isinstance(name, str) or not name or not isinstance(pattern, str) or not pattern:
            raise PolicyError(f"{here}: needs a name and a pattern (non-empty strings)")
        try:
            compiled = compile_re2(pattern)
        except Exception as exc:  # re2.error (its message may be bytes)
            why = exc.args[0] if exc.args else exc
            why = why.decode("utf-8", "replace") if isinstance(why, bytes) else why
            raise PolicyError(
                f"{here}: pattern is not one RE2 accepts ({why}). Fix: no backreferences "
                "or lookaround, as in Bedrock's regex filters"
            ) from None
        out.append(Detector("regex", name, _action(item, here), compiled, None, pattern))
    return out


def _pii(items: object, where: str) -> list[Detector]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PolicyError(f"{where}: pii must be [[guardrail.pii]] tables")
    out = []
    for item in items:
        kind = item.get("type")
        here = f"{where}, pii {kind!r}"
        if set(item) - {"type", "action"}:
            raise PolicyError(f"{here}: keys are type and action")
        if kind not in _PII:
            raise PolicyError(
                f"{here}: not a type this server detects. Fix: one of {', '.join(PII_TYPES)}"
            )
        pattern, accept = _PII[kind]
        out.append(Detector("pii", kind, _action(item, here), re.compile(pattern), accept))
    return out
