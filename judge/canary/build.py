"""Pick the canaries and record the score the configured judge gives each one now.

Two kinds, both with a known right answer, so that a move is the judge's and not the data's:
- **anchors**: the calibration anchors with the highest and the lowest human labels of each
  rubric the config scores (the ends of the scale, where a judge change shows first);
- **attacks**: per family of the probe's suite (``judge.probe.load_suite``), one of its first
  few attacks that the reward floors now (one the judge floors, rather than the guard, when
  there is one: it watches the judge): it must stay floored.

The set is judged through the normal evaluator (guard, spotlighting, judges, maps, reward)
against the configured endpoint, in one batch exactly as the canary run will judge it, and
with no verdict cache (``judge.canaries.judge_canaries``): the score is the judge's answer now.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from judge.calibration.anchors import Anchor, load_anchors
from judge.canaries import Canary, comparable, judge_canaries, share
from judge.config import RewardConfig
from judge.deadline import Deadline
from judge.errors import JudgeError, SourceError
from judge.pipeline import Evaluator
from judge.probe import Attack, load_suite

log = logging.getLogger("judge")


@dataclass(frozen=True)
class CanarySet:
    """The canaries built, and what was left out (with why)."""

    canaries: list[Canary]
    skipped: list[str]

    def write(self, path: Path) -> None:
        """The canary file: one canary per line."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(c.line() + "\n" for c in self.canaries), encoding="utf-8")


def slug(text: str) -> str:
    """A canary id part: letters, digits, ``_`` and ``-`` (it becomes a metric name)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)[:60]


def anchor_sample(cid: str, anchor: Anchor) -> dict[str, Any]:
    """An anchor as an RFT sample: its conversation, then the response as the assistant's."""
    turns = [{"role": t.role, "content": t.text} for t in anchor.item.conversation]
    return {"id": cid, "messages": [*turns, {"role": "assistant", "content": anchor.item.response}]}


def attack_sample(cid: str, attack: Attack) -> dict[str, Any]:
    """An attack as an RFT sample: its prompt, then the attack as the answer."""
    messages = [
        {"role": "user", "content": attack.prompt},
        {"role": "assistant", "content": attack.response},
    ]
    return {"id": cid, "messages": messages}


def anchor_canaries(
    config: RewardConfig, files: list[Path], per_end: int
) -> tuple[list[Canary], list[str]]:
    """The ``per_end`` highest- and lowest-labelled anchors of each rubric the config scores."""
    out: list[Canary] = []
    skipped: list[str] = []
    for rubric in config.rubrics:
        found: list[tuple[Path, Anchor]] = []
        for path in files:
            try:
                found += [(path, a) for a in load_anchors(path, rubric)]
            except SourceError as exc:
                if "no item has a label" not in exc.problem:
                    skipped.append(f"{path}: {exc.problem}")
        if not found:
            skipped.append(f"rubric {rubric}: no anchors with its labels")
            continue
        ranked = sorted(found, key=lambda pa: (pa[1].label, pa[1].id))
        ends = {"bottom": ranked[:per_end], "top": ranked[::-1][:per_end]}
        if len(ranked) < 2 * per_end:  # too few to pick both ends apart: no canary twice
            ends["top"] = [pa for pa in ends["top"] if pa not in ends["bottom"]]
        for expect, picked in ends.items():
            for n, (path, anchor) in enumerate(picked, start=1):
                cid = slug(f"{rubric}-{expect}-{n}")
                out.append(
                    Canary(
                        cid,
                        "anchor",
                        expect,
                        anchor_sample(cid, anchor),
                        0.0,
                        f"{path.name}#{anchor.id}",
                        anchor.label,
                    )
                )
    return out, skipped


def attack_canaries(
    evaluator: Evaluator, attacks: list[Attack], tries: int, deadline: Deadline
) -> tuple[list[Canary], list[str]]:
    """Per family, the first of its first ``tries`` attacks that the reward floors now."""
    by_family: dict[str, list[Attack]] = {}
    for attack in attacks:
        if len(by_family.setdefault(attack.family, [])) < tries:
            by_family[attack.family].append(attack)
    tried = [a for family in by_family.values() for a in family]
    samples = [attack_sample(slug(f"attack-{a.id}"), a) for a in tried]
    batch = judge_canaries(evaluator, samples, deadline)
    floor = evaluator.config.output.min
    # Floored, and whether by the judge (not the guard): those watch the judge itself.
    floored = {
        a.id: r.guarded is None and not r.short_circuited
        for a, r in zip(tried, batch.results, strict=True)
        if comparable(r) and r.reward <= floor
    }
    out: list[Canary] = []
    skipped: list[str] = []
    for family, candidates in by_family.items():
        ranked = sorted((a for a in candidates if a.id in floored), key=lambda a: not floored[a.id])
        pick = ranked[0] if ranked else None
        if pick is None:
            skipped.append(f"attack family {family}: none of {len(candidates)} is floored now")
            continue
        cid = slug(f"attack-{family}")
        out.append(
            Canary(cid, "attack", "floored", attack_sample(cid, pick), 0.0, f"attacks#{pick.id}")
        )
    return out, skipped


def build_canaries(
    evaluator: Evaluator,
    anchors: list[Path],
    *,
    per_end: int = 2,
    attacks: list[Attack] | None = None,
    tries: int = 3,
    evaluator_version: str = "",
    deadline: Deadline | None = None,
) -> CanarySet:
    """The canary set, each canary with the score ``evaluator`` gives it now.

    ``attacks``: the suite (default: the probe's bundled one); ``evaluator_version``: the
    version the set is built for (the Lambda warns when it runs another).
    """
    deadline = deadline or Deadline.never()
    chosen, skipped = anchor_canaries(evaluator.config, anchors, per_end)
    found, missed = attack_canaries(
        evaluator, load_suite() if attacks is None else attacks, tries, deadline
    )
    chosen, skipped = chosen + found, skipped + missed
    if not chosen:
        raise JudgeError(
            "no canary: no anchors for the config's rubrics and no attack floored. Fix: pass "
            "--anchors with labels for a rubric of the config"
        )
    batch = judge_canaries(evaluator, [c.sample for c in chosen], deadline)
    built = {
        "model_ids": [m.model_id for m in evaluator.members],
        "endpoint": evaluator.endpoint,
        "evaluator_version": evaluator_version,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    canaries: list[Canary] = []
    for canary, result in zip(chosen, batch.results, strict=True):
        if not comparable(result):
            skipped.append(f"{canary.id}: the judge left it unscored now")
            continue
        score = round(share(result.reward, evaluator.config), 6)
        canaries.append(
            Canary(
                canary.id,
                canary.kind,
                canary.expect,
                canary.sample,
                score,
                canary.source,
                canary.label,
                built,
            )
        )
    return CanarySet(canaries, skipped)
