r"""The ``pattern`` check: patterns the response must match and must not match.

"No card numbers or e-mail addresses", "mentions the order number", "no markdown in an SMS
channel": rules a regular expression states exactly. User patterns meet hostile text, so
they run on RE2 (``google-re2``), whose matching is linear in the text whatever the pattern:
no catastrophic backtracking for a policy to trigger. RE2 has no backreferences and no
lookaround; such a pattern, or any invalid one, is refused at load with the key, the pattern
and the fix::

    [checks.no_pii]
    kind = "pattern"
    must_not = ['\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}', '[\w.+-]+@[\w-]+\.[\w.]+']
    must = []
    view = "normalised"   # or "raw"
    ignore_case = true    # raw view only; the normalised view is case-folded already

``view = "normalised"`` (the default) matches on the guard's normalised view
(``judge.guard.guard_view``): escapes decoded, full-width and mathematical letters and
digits made ASCII, look-alike letters folded, zero-width characters dropped, lower case. So
``\d`` sees "４２４２" and an e-mail address split by zero-width spaces is still one; write
patterns in lower case (they match case-insensitively there anyway). ``view = "raw"`` sees
the response as sent (lone surrogates replaced), case-sensitive unless ``ignore_case``.

Score: 1 when every ``must`` pattern matches and no ``must_not`` pattern does, else 0; the
details name the patterns that failed (never the text they matched).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec
from judge.guard import guard_view
from judge.text import clean

RE2_MAX_MEM = 64 << 20  # per compiled pattern (RE2's default 8 MiB refuses large alternations)


def compile_pattern(pattern: str, key: str, *, ignore_case: bool) -> Any:
    """``pattern`` compiled by RE2, or a ValueError naming ``key``, the pattern and the fix."""
    import re2  # lazily: only a config with pattern checks loads it

    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False
    options.max_mem = RE2_MAX_MEM
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc
        if isinstance(why, bytes):
            why = why.decode("utf-8", "replace")
        raise ValueError(
            f"{key}: pattern {pattern!r} is not a pattern RE2 accepts ({why}). Fix: RE2 has no "
            "backreferences (\\1) or lookaround ((?=, (?!, (?<=): rewrite the pattern without "
            "them (alternatives, a must_not pattern), or use a python check"
        ) from None


class PatternSpec(CheckSpec):
    """A ``[checks.<name>]`` table of kind ``pattern``."""

    KIND: ClassVar[str] = "pattern"
    kind: Literal["pattern"] = "pattern"
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    view: Literal["normalised", "raw"] = "normalised"
    ignore_case: bool = Field(default=True)

    @model_validator(mode="after")
    def _compiles(self) -> PatternSpec:
        if not self.must and not self.must_not:
            raise ValueError(
                "a pattern check needs 'must' or 'must_not'. Fix: e.g. must_not = ['\\d{16}']"
            )
        if self.view == "normalised" and not self.ignore_case:
            raise ValueError(
                "ignore_case = false on the normalised view, which is lower case. Fix: "
                "write view = 'raw' for case-sensitive patterns"
            )
        self.compiled()
        return self

    def compiled(self) -> tuple[list[Any], list[Any]]:
        """The ``must`` and ``must_not`` patterns compiled (ValueError: key, pattern, fix)."""
        fold = self.ignore_case
        return (
            [compile_pattern(p, f"must[{i}]", ignore_case=fold) for i, p in enumerate(self.must)],
            [
                compile_pattern(p, f"must_not[{i}]", ignore_case=fold)
                for i, p in enumerate(self.must_not)
            ],
        )

    def build(self, name: str, root: Path) -> Check:
        """The check, its patterns compiled."""
        return PatternCheck(name, self)


class PatternCheck:
    """A built ``pattern`` check."""

    kind = PatternSpec.KIND

    def __init__(self, name: str, spec: PatternSpec) -> None:
        self.name = name
        self.spec = spec
        self.must, self.must_not = spec.compiled()

    def run(self, item: CheckInput) -> CheckResult:
        """1 when every ``must`` matches and no ``must_not`` does, else 0."""
        raw = self.spec.view == "raw"
        text = clean(item.response if raw else guard_view(item.response).text)
        missing = [p for p, c in zip(self.spec.must, self.must, strict=True) if not c.search(text)]
        matched = [
            p for p, c in zip(self.spec.must_not, self.must_not, strict=True) if c.search(text)
        ]
        score = 0.0 if missing or matched else 1.0
        return CheckResult.passed(score, view=self.spec.view, missing=missing, matched=matched)
