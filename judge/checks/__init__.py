"""Verifiable checks (issue 20): dimensions code decides exactly, beside the judges.

``base`` holds the protocol; one module per kind; ``KINDS`` maps a ``kind`` value in
``[checks.<name>]`` to its spec model.
"""

from __future__ import annotations

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec
from judge.checks.guardrail import GuardrailSpec
from judge.checks.json_check import JsonSpec
from judge.checks.language import LanguageSpec
from judge.checks.length import LengthSpec
from judge.checks.pattern import PatternSpec
from judge.checks.python_check import PythonSpec
from judge.checks.reference import ReferenceSpec

# Each kind's module imports only what its spec needs; heavy libraries (RE2, jsonschema, the
# language model) load when a check of that kind is built, so a config without it never pays.
KINDS: dict[str, type[CheckSpec]] = {
    spec.KIND: spec
    for spec in (
        LengthSpec,
        PatternSpec,
        JsonSpec,
        ReferenceSpec,
        LanguageSpec,
        PythonSpec,
        GuardrailSpec,
    )
}

__all__ = ["KINDS", "Check", "CheckInput", "CheckResult", "CheckSpec"]
