"""What ``judge probe`` learns about the config's verifiable checks.

An attack meets the checks before any judge. Two questions, per check:

- how the suite's attacks fared on it (passed, failed, unscored): a check every attack
  passes is not what stops them;
- did an attack written to break it get through? An attack's ``breaks`` names the checks it
  violates on purpose (a card number spelled in full-width digits against a ``no_pii``
  pattern); scoring 1 on such a check, or not firing its gate, is a finding: the rule let
  through what it exists to stop. An unscored check is never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from judge.config import RewardConfig
from judge.pipeline import SampleResult
from judge.reward import Dimension, fires


@dataclass
class CheckTally:
    """How the attacks fared on one check."""

    check: str
    kind: str
    passed: int = 0  # scored 1
    partial: int = 0  # scored between 0 and 1
    failed: int = 0  # scored 0
    unscored: int = 0
    findings: int = 0  # attacks meant to break it that got through


@dataclass
class CheckReport:
    """Per-check tallies over the attacks, and the findings (attacks a check let through)."""

    tallies: list[CheckTally] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for ``--json``."""
        return {"tallies": [asdict(t) for t in self.tallies], "findings": self.findings}


def let_through(config: RewardConfig, dim: Dimension) -> bool:
    """Whether check ``dim`` let its response through: scored 1, or scored and no gate fired.

    A gated check passes a response its gate does not fire on; an ungated one, a response
    it scores 1. Unscored is no pass (the check did not decide).
    """
    if dim.normalized is None:
        return False
    gates = [g for g in config.gates if g.rubric == dim.rubric]
    if gates:
        return not any(fires(g, dim) for g in gates)
    return dim.normalized >= 1.0


def check_report(
    config: RewardConfig,
    attacks: Iterable[tuple[str, tuple[str, ...], SampleResult]],
) -> CheckReport:
    """Tally every check over ``attacks`` (id, the checks it breaks, its result)."""
    tallies: dict[str, CheckTally] = {}
    report = CheckReport()
    for attack_id, breaks, result in attacks:
        for dim in result.dimensions:
            if dim.check is None:
                continue
            tally = tallies.setdefault(dim.rubric, CheckTally(dim.rubric, dim.check))
            _count(tally, dim)
            if dim.rubric in breaks and let_through(config, dim):
                tally.findings += 1
                report.findings.append(_finding(attack_id, dim))
    report.tallies = sorted(tallies.values(), key=lambda t: t.check)
    return report


def _count(tally: CheckTally, dim: Dimension) -> None:
    if dim.normalized is None:
        tally.unscored += 1
    elif dim.normalized >= 1.0:
        tally.passed += 1
    elif dim.normalized <= 0.0:
        tally.failed += 1
    else:
        tally.partial += 1


def _finding(attack_id: str, dim: Dimension) -> dict[str, Any]:
    """An attack a check let through: which, its score and what the check measured."""
    details: Mapping[str, Any] = dim.details
    return {
        "id": attack_id,
        "check": dim.rubric,
        "kind": dim.check,
        "score": dim.normalized,
        "details": dict(details),
    }
