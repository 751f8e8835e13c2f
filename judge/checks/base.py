"""What every verifiable check is.

A value built from its ``[checks.<name>]`` table that turns one sample into a score in
0..1, or unscored with a reason, without calling a model.

Checks are the RLVR half of the reward: code decides them exactly, so they run before any
judge call and a gated one that fails floors the sample without one. A check sees hostile
text; each kind bounds its own time and memory, and one that cannot decide says so
(``CheckResult.unscored``), never 0 and never an exception out of the batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from judge.prompt import Turn
from judge.verdict import Unscored


@dataclass(frozen=True)
class CheckInput:
    """What a check may look at.

    The conversation, the response, the reference answer and the sample as the trainer sent
    it (for ``python`` checks; never mutated).
    """

    conversation: tuple[Turn, ...]
    response: str
    reference: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def last_user(self) -> str:
        """The last user turn's text ("" when there is none)."""
        for turn in reversed(self.conversation):
            if turn.role == "user":
                return turn.text
        return ""


@dataclass(frozen=True)
class CheckResult:
    """A check's outcome: ``score`` in 0..1, or None with ``unscored`` saying why.

    ``details`` is JSON-ready and goes to ``--details`` (what was measured, which rule
    fired); it never holds the response itself.
    """

    score: float | None
    unscored: Unscored | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, score: float, **details: Any) -> CheckResult:
        """A decided outcome, ``score`` clamped to 0..1."""
        return cls(min(1.0, max(0.0, float(score))), None, details)

    @classmethod
    def undecided(cls, unscored: Unscored, **details: Any) -> CheckResult:
        """The check could not decide: never a score."""
        return cls(None, unscored, details)


# Unscored reasons a response can bring about in a check (too short or unclear to decide, a
# user's function that raises or loops on it): ``undecided = "fail"`` scores them 0.
UNDECIDABLE = frozenset({"undecided", "check_error", "check_timeout"})


def failing_undecided(result: CheckResult) -> CheckResult:
    """``result`` with an undecidable outcome turned into a 0 (``undecided = "fail"``)."""
    if result.unscored is None or result.unscored.reason not in UNDECIDABLE:
        return result
    return CheckResult(0.0, None, {**result.details, "undecided": str(result.unscored)})


class Check(Protocol):
    """A built check: its dimension name and kind, and how it scores one sample."""

    name: str
    kind: str

    def run(self, item: CheckInput) -> CheckResult:
        """Score one sample; must not raise on any input (undecided instead)."""
        ...


class CheckSpec(BaseModel):
    """A ``[checks.<name>]`` table: the keys every kind shares; each kind adds its own.

    ``root`` in ``build`` is the config file's folder: relative paths (a schema file, a
    ``checks/*.py`` module) resolve there, as ``[paths]`` do.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    KIND: ClassVar[str] = ""
    kind: str
    weight: float = 1.0
    # What a result the check cannot decide means: "unscored" (the [unscored] policy, and a
    # gate does not fire) or "fail" (a 0, so a gate fires: a policy cannot slip past a gated
    # rule by being undecidable). Only what the response can bring about turns into a fail
    # (UNDECIDABLE); a missing reference, a failed service call or the deadline stay unscored.
    undecided: Literal["unscored", "fail"] = "unscored"

    def build(self, name: str, root: Path) -> Check:
        """The check this table describes (raises ValueError naming the key and the fix)."""
        raise NotImplementedError

    def sources(self, root: Path) -> tuple[Path, ...]:
        """The project files the check loads (a schema file, a ``python`` check's module).

        They shape the reward, so they ship in the Lambda zip and count in
        ``evaluator_version``; none for most kinds.
        """
        return ()
