"""Run a config's verifiable checks on a batch, before any judge task is planned.

Checks (``judge.checks``) are built once per evaluator from ``[checks.<name>]`` and run on
every well-formed sample the guard lets through. With ``[checks] short_circuit`` a sample
whose gated check fires gets the gate's reward here, so no judge task is planned for it,
cached or sent: a policy that breaks a hard rule costs nothing to score. A check that raises
anyway (a bug in it, a user's function) is that sample's check unscored with the reason,
never a lost batch.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from judge.config import Gate, RewardConfig
from judge.deadline import Deadline
from judge.errors import JudgeError
from judge.prompt import JudgeInput
from judge.reward import Dimension, fires
from judge.verdict import Unscored, UnscoredReason

if TYPE_CHECKING:  # judge.checks imports every kind: only a config with checks loads it
    from judge.checks import Check, CheckInput, CheckResult, CheckSpec

log = logging.getLogger("judge")

# The reason of a check that raised instead of returning (its bug, not the response's).
CHECK_FAILED: UnscoredReason = "check_error"
# Kinds whose run waits on a network call: their samples run concurrently.
REMOTE_KINDS = frozenset({"guardrail"})


def build_checks(config: RewardConfig) -> list[Check]:
    """Every ``[checks.<name>]`` built, in file order (``SourceError``: file, key, fix)."""
    built: list[Check] = []
    for name, spec in config.checks.specs.items():
        built.append(build_check(config, name, spec))
    return built


def build_check(config: RewardConfig, name: str, spec: CheckSpec) -> Check:
    """One check built from its table; a table that cannot be built names its key and fix."""
    try:
        built = spec.build(name, config.base_dir)
    except (ValueError, OSError, ImportError) as exc:
        problem, _, fix = str(exc).partition(" Fix: ")
        problem = problem.removesuffix(".")
        raise config.source_error(
            ("checks", name, *_key_named(spec, problem)),
            f"check {name!r} ({spec.kind}) cannot be built: {problem}",
            fix=fix or "correct the table's settings",
        ) from None
    return FailingUndecided(built) if spec.undecided == "fail" else built


class FailingUndecided:
    """A check whose undecidable results are failures (``undecided = "fail"``)."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.name = check.name
        self.kind = check.kind

    def run(self, item: CheckInput) -> CheckResult:
        """The wrapped check's result, an undecidable one scored 0."""
        from judge.checks.base import failing_undecided

        return failing_undecided(run_one(self.check, item))


def _key_named(spec: CheckSpec, problem: str) -> tuple[str, ...]:
    """The table key a kind's message starts with (``schema_file '...': ...``), if any.

    So the error points at that key's line, not the table's.
    """
    first = re.match(r"[A-Za-z_]\w*", problem)
    keys = {f.alias or n: n for n, f in type(spec).model_fields.items()}
    return (first.group(),) if first and first.group() in keys else ()


@dataclass
class CheckOutcomes:
    """A batch's check results by sample index, the samples short-circuited and the cost."""

    results: dict[int, dict[str, CheckResult]] = field(default_factory=dict)
    short_circuited: dict[int, str] = field(default_factory=dict)  # index -> gated check
    seconds: float = 0.0  # wall time spent running checks


@dataclass(frozen=True)
class CheckRunner:
    """The evaluator's built checks and what a fired gate on one of them means."""

    config: RewardConfig
    checks: tuple[Check, ...]

    @classmethod
    def build(cls, config: RewardConfig) -> CheckRunner:
        """The config's checks, built once (a warm Lambda keeps them)."""
        return cls(config, tuple(build_checks(config)))

    def __bool__(self) -> bool:
        return bool(self.checks)

    def run(
        self, item: JudgeInput, raw: Any, only: Sequence[Check] | None = None
    ) -> dict[str, CheckResult]:
        """Every check (or ``only`` these) on one sample, in config order.

        One that raises is unscored, named.
        """
        from judge.checks import CheckInput

        view = MappingProxyType(raw) if isinstance(raw, dict) else MappingProxyType({})
        given = CheckInput(item.conversation, item.response, item.reference, view)
        return {c.name: run_one(c, given) for c in (self.checks if only is None else only)}

    def run_batch(
        self, items: Mapping[int, JudgeInput], raws: list[Any], deadline: Deadline | None = None
    ) -> CheckOutcomes:
        """Every sample's checks, and the samples a gated check short-circuits.

        Local checks run in turn in this thread; remote ones (a guardrail call) concurrently.
        A sample reached after ``deadline`` is not checked (each check unscored ``deadline``),
        so slow remote checks cannot spend the Lambda's time: the batch still answers.
        """
        started = time.monotonic()
        outcomes = CheckOutcomes()
        if not self.checks or not items:
            return outcomes
        indexes = list(items)
        remote = [c for c in self.checks if c.kind in REMOTE_KINDS]
        local = [c for c in self.checks if c.kind not in REMOTE_KINDS]

        def one(i: int, only: Sequence[Check]) -> dict[str, CheckResult]:
            if deadline is not None and deadline.expired:
                return self.too_late(only)
            return self.run(items[i], raws[i], only)

        done = {i: one(i, local) for i in indexes}
        if remote:
            workers = min(self.config.runtime.concurrency, len(indexes))
            with ThreadPoolExecutor(workers, thread_name_prefix="judge-check") as pool:
                answered = pool.map(lambda i: one(i, remote), indexes)
                for i, results in zip(indexes, answered, strict=True):
                    done[i].update(results)
        order = [c.name for c in self.checks]
        for i in indexes:
            results = {name: done[i][name] for name in order}
            outcomes.results[i] = results
            gate = self.short_circuit(results)
            if gate is not None:
                outcomes.short_circuited[i] = gate.rubric
        outcomes.seconds = time.monotonic() - started
        return outcomes

    def too_late(self, checks: Sequence[Check]) -> dict[str, CheckResult]:
        """``checks`` unscored: the deadline came before this sample's turn."""
        from judge.checks import CheckResult

        late = Unscored(reason="deadline", detail="the deadline came before the checks ran")
        return {c.name: CheckResult.undecided(late) for c in checks}

    def short_circuit(self, results: Mapping[str, CheckResult]) -> Gate | None:
        """The first gate (config order) on a check that fires, when ``short_circuit`` is on."""
        if not self.config.checks.short_circuit:
            return None
        for gate in self.config.gates:
            result = results.get(gate.rubric)
            if result is not None and fires(gate, dimension(gate.rubric, "", result)):
                return gate
        return None

    def kind(self, name: str) -> str:
        """The kind of the check called ``name``."""
        return next(c.kind for c in self.checks if c.name == name)


def run_one(check: Check, given: CheckInput) -> CheckResult:
    """``check.run(given)``; an exception is the check's unscored result, never the batch's."""
    from judge.checks import CheckResult

    try:
        result: object = check.run(given)  # a user's function may return anything
    except JudgeError:
        raise  # the config or a client is broken for every sample alike
    except Exception as exc:  # a bug in a check (a user's python function) is its own
        # The type alone: the message may quote the response, never logged above DEBUG.
        log.error("check %s raised %s (a bug in the check)", check.name, type(exc).__name__)
        log.debug("check %s raised", check.name, exc_info=True)
        return CheckResult.undecided(
            Unscored(reason=CHECK_FAILED, detail=f"check {check.name} raised {exc!r}"[:300])
        )
    if not isinstance(result, CheckResult):
        detail = f"check {check.name} returned {type(result).__name__}, not a CheckResult"
        return CheckResult.undecided(Unscored(reason=CHECK_FAILED, detail=detail))
    return result


def dimension(name: str, kind: str, result: CheckResult) -> Dimension:
    """A check's result as a reward dimension (``raw`` is its 0..1 score)."""
    return Dimension(
        name,
        result.score,
        result.score,
        result.unscored,
        check=kind,
        details=json_ready(result.details),
    )


def json_ready(details: Mapping[str, Any]) -> dict[str, Any]:
    """A check's details as plain JSON (``--details`` must never fail on a check's values)."""
    try:
        out: dict[str, Any] = json.loads(json.dumps(dict(details), allow_nan=False, default=str))
    except (TypeError, ValueError, RecursionError):
        return {"unreadable_details": repr(details)[:300]}
    return out
