"""The ``json`` check: the response (or its fenced block) is JSON valid against a schema.

"Valid JSON for the ticketing API" decided exactly: the text parses and validates against a
JSON Schema (Draft 2020-12, ``jsonschema``), given inline or as a file beside the config::

    [checks.ticket]
    kind = "json"
    block = "any"        # "whole", first "fenced" ```json block, "any": fenced if present
    schema_file = "schemas/ticket.json"   # or: schema = { type = "object", required = ["id"] }
    max_chars = 50000    # longer: fails (0)
    max_depth = 32       # deeper nesting: fails (0)

Score: 1 when it parses and validates, 0 when it does not (not JSON, no fenced block where
one is required, a schema violation: the details give the first errors' keyword and JSON
path, never the values). The bounds are part of the contract: text past ``max_chars``,
nested past ``max_depth`` (measured by a linear scan before parsing, so deep JSON never
reaches the recursive parser or validator) or holding an integer past Python's 4,300-digit
limit fails (0, with the bound in the details). They are the response's doing, so they
cannot leave it undecided: an unscored result does not fire a gate, and a policy would learn
to pad its way past a gated check. Only a RecursionError nobody foresaw is undecided.

The schema is checked at load (``check_schema``, with the failing path and the fix). Hostile
data never meets Python's backtracking ``re``: ``pattern``, ``patternProperties`` and
``additionalProperties`` run on RE2 (every schema pattern is compiled by RE2 at load, an
unsupported one refused with its path), ``unevaluatedProperties`` beside
``patternProperties`` is refused, and ``uniqueItems`` hashes items (linear, where jsonschema
falls back to comparing every pair). ``format`` is an annotation (not asserted). Remote
``$ref`` is refused: nothing is fetched.
"""

from __future__ import annotations

import json
import re
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec
from judge.checks.json_schema import SchemaValidator, schema_problem
from judge.verdict import Unscored

# An opening ```json fence line (up to 3 spaces of indent, CommonMark): bounded quantifiers.
_FENCE = re.compile(r"^ {0,3}```[ \t]*json[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)
MAX_ERRORS = 3  # schema errors listed in the details


def fenced_block(text: str) -> str | None:
    """The first ```json block's content (to its closing fence or the end), or None."""
    found = _FENCE.search(text)
    if found is None:
        return None
    start = found.end() + 1
    end = text.find("\n```", found.end())
    return text[start:] if end < 0 else text[start : end + 1]


def nesting(text: str, limit: int) -> int:
    """How deep ``[``/``{`` nest outside strings, stopping once past ``limit`` (linear)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> None:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


class JsonSpec(CheckSpec):
    """A ``[checks.<name>]`` table of kind ``json``."""

    KIND: ClassVar[str] = "json"
    kind: Literal["json"] = "json"
    block: Literal["any", "whole", "fenced"] = "any"
    schema_: dict[str, Any] | bool | None = Field(default=None, alias="schema")
    schema_file: str | None = None
    max_chars: int = Field(default=50_000, ge=1, le=10_000_000)
    max_depth: int = Field(default=32, ge=1, le=200)

    @model_validator(mode="after")
    def _one_schema(self) -> JsonSpec:
        if self.schema_ is not None and self.schema_file is not None:
            raise ValueError("both 'schema' and 'schema_file' are set. Fix: keep one of them")
        if self.schema_ is not None:
            problem = schema_problem(self.schema_)
            if problem:
                raise ValueError(f"schema: {problem}")
        return self

    def sources(self, root: Path) -> tuple[Path, ...]:
        """The schema file, when the schema is one."""
        return () if self.schema_file is None else (root / self.schema_file,)

    def load_schema(self, root: Path) -> dict[str, Any] | bool | None:
        """The schema, inline or read from ``schema_file`` (ValueError: file, problem, fix)."""
        if self.schema_file is None:
            return self.schema_
        path = root / self.schema_file
        try:
            schema = json.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise ValueError(
                f"schema_file {str(path)!r} cannot be read ({exc.strerror or exc}). Fix: give "
                "a JSON Schema file's path relative to the config's folder"
            ) from None
        except ValueError as exc:
            raise ValueError(
                f"schema_file {str(path)!r} is not JSON ({exc}). Fix: correct the file"
            ) from None
        problem = schema_problem(schema)
        if problem:
            raise ValueError(f"schema_file {str(path)!r}: {problem}")
        return schema  # type: ignore[no-any-return]

    def build(self, name: str, root: Path) -> Check:
        """The check, its schema read and checked."""
        schema = self.load_schema(root)
        return JsonCheck(name, self, None if schema is None else SchemaValidator(schema))


class JsonCheck:
    """A built ``json`` check."""

    kind = JsonSpec.KIND

    def __init__(self, name: str, spec: JsonSpec, validator: SchemaValidator | None) -> None:
        self.name = name
        self.spec = spec
        self.validator = validator

    def run(self, item: CheckInput) -> CheckResult:
        """1 when the chosen text is JSON the schema accepts, 0 when not (or past a bound)."""
        spec = self.spec
        block = fenced_block(item.response) if spec.block != "whole" else None
        if block is None and spec.block == "fenced":
            return CheckResult.passed(0.0, error="no ```json block")
        text = item.response if block is None else block
        where = "whole" if block is None else "fenced"
        if len(text) > spec.max_chars:
            return _failed(where, f"{len(text)} characters, past max_chars = {spec.max_chars}")
        if nesting(text, spec.max_depth) > spec.max_depth:
            return _failed(where, f"nested past max_depth = {spec.max_depth}")
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            return CheckResult.passed(0.0, source=where, error=f"not JSON: {exc.msg}")
        except ValueError:  # an integer past Python's digit limit
            return _failed(where, "an integer past 4,300 digits")
        except RecursionError:
            return _undecided("too deep to parse")
        if self.validator is None:
            return CheckResult.passed(1.0, source=where)
        try:
            errors = list(islice(self.validator.errors(value), MAX_ERRORS))
        except RecursionError:
            return _undecided("too deep to validate")
        return CheckResult.passed(0.0 if errors else 1.0, source=where, errors=errors)


def _failed(where: str, bound: str) -> CheckResult:
    return CheckResult.passed(0.0, source=where, error=f"past a bound: {bound}")


def _undecided(detail: str) -> CheckResult:
    return CheckResult.undecided(Unscored(reason="undecided", detail=detail))
