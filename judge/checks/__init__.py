"""Verifiable checks (issue 20): dimensions code decides exactly, beside the judges.

``base`` holds the protocol; one module per kind; ``KINDS`` maps a ``kind`` value in
``[checks.<name>]`` to its spec model.
"""

from __future__ import annotations

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec

KINDS: dict[str, type[CheckSpec]] = {}

__all__ = ["KINDS", "Check", "CheckInput", "CheckResult", "CheckSpec"]
