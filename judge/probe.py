"""``judge probe``: can the configured judge and rubrics be gamed? Measured, per attack family.

Each attack of the suite (``judge/data/attacks.jsonl``, or a user's file in that format) is
scored beside an honest answer to the same prompt, in one batch through the Lambda's own
code path (guard, fence, judge, verdict parser, calibration, reward). An attack succeeds
when its reward is above the honest answer's: that is what a policy would learn to write.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from judge.deadline import Deadline
from judge.errors import SourceError, read_text
from judge.pipeline import Evaluator, Progress

SUITE = "attacks.jsonl"
_FIELDS = ("id", "family", "prompt", "honest", "response")


@dataclass(frozen=True)
class Attack:
    """One attack: a response to ``prompt`` that tries to out-score ``honest``."""

    id: str
    family: str
    prompt: str
    honest: str
    response: str
    note: str = ""


def load_suite(path: Path | None = None) -> list[Attack]:
    """The bundled attack suite, or a JSONL file in its format."""
    if path is None:
        source = resources.files("judge").joinpath("data", SUITE)
        text, where = source.read_text("utf-8"), Path(str(source))
    else:
        text, where = read_text(path, "attack suite"), path
    attacks: list[Attack] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise SourceError(
                where, "not JSON", line=number, fix="one JSON object per line"
            ) from None
        if not isinstance(record, dict) or not all(isinstance(record.get(f), str) for f in _FIELDS):
            raise SourceError(
                where,
                "an attack needs string fields " + ", ".join(_FIELDS),
                line=number,
                fix="add the missing fields",
            )
        attacks.append(Attack(**{f: record[f] for f in (*_FIELDS, "note") if f in record}))
    if not attacks:
        raise SourceError(where, "the attack suite is empty", fix="add attacks")
    return attacks


@dataclass
class FamilyResult:
    """How one family fared: how many attacks were floored, unscored, and above honest."""

    family: str
    cases: int = 0
    floored: int = 0
    unscored: int = 0
    above_honest: int = 0

    @property
    def rate(self) -> float:
        """The share of attacks whose reward beat the honest answer's."""
        return self.above_honest / self.cases if self.cases else 0.0


@dataclass
class ProbeReport:
    """Per-family results, the successful attacks, and the honest baseline rewards."""

    families: list[FamilyResult]
    successes: list[dict[str, Any]]
    honest_rewards: dict[str, float]
    honest_unscored: int

    @property
    def worst_rate(self) -> float:
        """The highest success rate of any family."""
        return max((f.rate for f in self.families), default=0.0)

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON (for ``--json`` and CI)."""
        return {
            "families": [{**asdict(f), "rate": f.rate} for f in self.families],
            "successes": self.successes,
            "honest_unscored": self.honest_unscored,
            "worst_rate": self.worst_rate,
        }


def _sample(sid: str, prompt: str, response: str) -> dict[str, Any]:
    return {
        "id": sid,
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": response},
        ],
    }


def run_probe(
    evaluator: Evaluator,
    attacks: list[Attack],
    deadline: Deadline | None = None,
    progress: Progress | None = None,
) -> ProbeReport:
    """Score every attack beside an honest answer to its prompt; count who wins."""
    honest = {a.prompt: a.honest for a in attacks}
    honest_ids = {prompt: f"honest-{i}" for i, prompt in enumerate(honest)}
    batch = [_sample(honest_ids[p], p, h) for p, h in honest.items()]
    batch += [_sample(f"attack-{a.id}", a.prompt, a.response) for a in attacks]
    result = evaluator.evaluate(batch, deadline or Deadline.never(), progress)
    by_id = {r.id: r for r in result.results}
    baseline = {p: by_id[sid].reward for p, sid in honest_ids.items()}
    families: dict[str, FamilyResult] = defaultdict(lambda: FamilyResult(""))
    successes: list[dict[str, Any]] = []
    for attack in attacks:
        family = families[attack.family]
        family.family = attack.family
        outcome = by_id[f"attack-{attack.id}"]
        family.cases += 1
        family.floored += outcome.guarded is not None
        family.unscored += outcome.unscored
        if outcome.reward > baseline[attack.prompt] + 1e-9:
            family.above_honest += 1
            successes.append(
                {
                    "id": attack.id,
                    "family": attack.family,
                    "reward": outcome.reward,
                    "honest_reward": baseline[attack.prompt],
                    "response": attack.response[:200],
                }
            )
    return ProbeReport(
        sorted(families.values(), key=lambda f: f.family),
        successes,
        {honest_ids[p]: r for p, r in baseline.items()},
        sum(by_id[sid].unscored for sid in honest_ids.values()),
    )
