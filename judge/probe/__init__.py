"""``judge probe``: can the configured judge and rubrics be gamed? Measured, per attack family.

Each attack of the suite (``judge/probe/data/attacks.jsonl``, or a user's file in that format) is
scored beside an honest answer to the same prompt, in one batch through the Lambda's own
code path (guard, spotlighting, judge, verdict parser, calibration, reward). An attack succeeds
when its reward is above the honest answer's: that is what a policy would learn to write.

A result is about one judge (model, endpoint, judging mode): the report names it, and says
of each successful attack which defence let it through, as far as that can be known.
"""

from __future__ import annotations

import difflib
import json
import urllib.request
from collections import defaultdict
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from judge.bedrock import is_loopback
from judge.caller import CallStats
from judge.deadline import Deadline
from judge.errors import SourceError, read_text
from judge.pipeline import Evaluator, Progress, SampleResult
from judge.probe.checks import CheckReport, check_report
from judge.probe.defence import let_through
from judge.prompt import structure_spans

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
    # The checks this attack breaks on purpose: one that lets it through is a finding.
    breaks: tuple[str, ...] = ()


def load_suite(path: Path | None = None) -> list[Attack]:
    """The bundled attack suite, or a JSONL file in its format."""
    if path is None:
        source = resources.files("judge.probe").joinpath("data", SUITE)
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
        breaks = record.get("breaks", [])
        breaks = [breaks] if isinstance(breaks, str) else breaks
        if not isinstance(breaks, list) or not all(isinstance(b, str) for b in breaks):
            raise SourceError(
                where,
                "'breaks' names the checks an attack breaks: a string or a list of strings",
                line=number,
                fix='write "breaks": ["no_pii"]',
            )
        fields = {f: record[f] for f in (*_FIELDS, "note") if f in record}
        attacks.append(Attack(**fields, breaks=tuple(breaks)))
    if not attacks:
        raise SourceError(where, "the attack suite is empty", fix="add attacks")
    return attacks


def family_problem(attacks: list[Attack], wanted: tuple[str, ...]) -> str | None:
    """Why ``--family`` names no family of the suite (with the likely ones), or None."""
    known = sorted({a.family for a in attacks})
    unknown = [name for name in wanted if name not in known]
    if not unknown:
        return None
    hints = [
        f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
        for name in unknown
        for close in [difflib.get_close_matches(name, known, n=1, cutoff=0.6)]
    ]
    return f"no attack family {', '.join(hints)} in the suite; its families: {', '.join(known)}"


# What ``judge serve`` answers on GET (its backend class) -> how a reader knows that judge.
_BACKENDS = {
    "ScriptedJudge": "local scripted judge (`judge serve`: rules, not a model)",
    "LlamaJudge": "local llama.cpp model (`judge serve --backend llama`)",
}


@dataclass(frozen=True)
class JudgeIdentity:
    """Which judge a probe result is about: a result says nothing about any other judge."""

    model_ids: tuple[str, ...]
    endpoint: str
    where: str
    mode: str
    verdict_mode: str

    def describe(self) -> str:
        """One line: where the verdicts come from, the model id(s) asked, how they judge."""
        return (
            f"{self.where} at {self.endpoint}, model id {', '.join(self.model_ids)}; "
            f"{self.mode}, {self.verdict_mode} verdicts"
        )


def judge_identity(evaluator: Evaluator) -> JudgeIdentity:
    """The judge ``evaluator`` calls: Bedrock, a local ``judge serve`` (which backend), or other."""
    url = evaluator.endpoint_url
    if evaluator.endpoint == "aws":
        where = "Bedrock"
    elif is_loopback(url):
        backend = _local_backend(url)
        where = _BACKENDS.get(backend or "", f"local server (backend {backend or 'unknown'})")
    else:
        where = "a custom endpoint (not Bedrock's)"
    config = evaluator.config
    modes = sorted({config.mode(name) for name in config.rubrics})
    mode = " and ".join(modes)
    if "group" in modes:
        mode += f" ({config.judge.group_orders} order{'s' * (config.judge.group_orders > 1)})"
    return JudgeIdentity(
        tuple(m.model_id for m in evaluator.members), url, where, mode, config.judge.verdict_mode
    )


def _local_backend(url: str) -> str | None:
    """The backend a local ``judge serve`` reports on GET (its health check), if it answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # loopback only
            backend = json.loads(reply.read()).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) else None


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
    judge: JudgeIdentity | None = None
    checks: CheckReport | None = None  # with [checks]: how the attacks fared on each

    @property
    def check_findings(self) -> list[dict[str, Any]]:
        """Attacks a check let through that were written to break it."""
        return self.checks.findings if self.checks is not None else []

    @property
    def worst_rate(self) -> float:
        """The highest success rate of any family."""
        return max((f.rate for f in self.families), default=0.0)

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON (for ``--json`` and CI)."""
        return {
            "judge": asdict(self.judge) if self.judge else None,
            "families": [{**asdict(f), "rate": f.rate} for f in self.families],
            "successes": self.successes,
            "honest_unscored": self.honest_unscored,
            "worst_rate": self.worst_rate,
            **({"checks": self.checks.to_json()} if self.checks is not None else {}),
        }


def _sample(sid: str, prompt: str, response: str) -> dict[str, Any]:
    return {
        "id": sid,
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": response},
        ],
    }


@dataclass(frozen=True)
class Entry:
    """A response to score beside the honest answer to its prompt (``id``: unique in a batch)."""

    id: str
    prompt: str
    response: str


@dataclass
class Scored:
    """One batch of entries scored beside their prompts' honest answers."""

    results: dict[str, SampleResult]  # entry id -> its result
    honest: dict[str, SampleResult]  # prompt -> the honest answer's result
    honest_ids: dict[str, str]  # prompt -> the honest answer's sample id
    stats: CallStats


def honest_batch(honest: dict[str, str], entries: list[Entry]) -> list[dict[str, Any]]:
    """The Lambda batch: each prompt's honest answer first, then every entry (its own id).

    In group mode the entries of a prompt share calls with its honest answer, as a policy's
    rollouts of one prompt would.
    """
    ids = honest_ids(honest)
    batch = [_sample(ids[p], p, h) for p, h in honest.items()]
    return batch + [_sample(e.id, e.prompt, e.response) for e in entries]


def honest_ids(honest: dict[str, str]) -> dict[str, str]:
    """Each prompt's honest sample id (``honest-N``, N its place in ``honest``)."""
    return {prompt: f"honest-{i}" for i, prompt in enumerate(honest)}


def score_beside_honest(
    evaluator: Evaluator,
    honest: dict[str, str],
    entries: list[Entry],
    deadline: Deadline | None = None,
    progress: Progress | None = None,
) -> Scored:
    """Score ``entries`` and the honest answers in one batch through the Lambda's code path.

    ``judge probe`` and ``judge probe --search`` both score this way, so a margin means the
    same in both: an entry's reward minus its prompt's honest reward, from one batch.
    """
    result = evaluator.evaluate(
        honest_batch(honest, entries), deadline or Deadline.never(), progress
    )
    by_id = {r.id: r for r in result.results}
    ids = honest_ids(honest)
    return Scored(
        {e.id: by_id[e.id] for e in entries},
        {p: by_id[sid] for p, sid in ids.items()},
        ids,
        result.stats,
    )


def run_probe(
    evaluator: Evaluator,
    attacks: list[Attack],
    deadline: Deadline | None = None,
    progress: Progress | None = None,
) -> ProbeReport:
    """Score every attack beside an honest answer to its prompt; count who wins."""
    honest = {a.prompt: a.honest for a in attacks}
    entries = [Entry(f"attack-{a.id}", a.prompt, a.response) for a in attacks]
    scored = score_beside_honest(evaluator, honest, entries, deadline, progress)
    families: dict[str, FamilyResult] = defaultdict(lambda: FamilyResult(""))
    successes: list[dict[str, Any]] = []
    for attack in attacks:
        family = families[attack.family]
        family.family = attack.family
        outcome = scored.results[f"attack-{attack.id}"]
        family.cases += 1
        family.floored += outcome.guarded is not None or outcome.short_circuited
        family.unscored += outcome.unscored
        baseline = scored.honest[attack.prompt]
        if outcome.reward > baseline.reward + 1e-9:
            family.above_honest += 1
            successes.append(_success(evaluator, attack, outcome, baseline))
    checks = None
    if evaluator.config.checks.specs:
        results = [(a.id, a.breaks, scored.results[f"attack-{a.id}"]) for a in attacks]
        checks = check_report(evaluator.config, results)
    return ProbeReport(
        sorted(families.values(), key=lambda f: f.family),
        successes,
        {scored.honest_ids[p]: r.reward for p, r in scored.honest.items()},
        sum(r.unscored for r in scored.honest.values()),
        judge_identity(evaluator),
        checks,
    )


def _success(
    evaluator: Evaluator, attack: Attack, outcome: SampleResult, honest: SampleResult
) -> dict[str, Any]:
    """A successful attack, and which defence let it through (``let_through``)."""
    found = len(structure_spans(attack.response))
    return {
        "id": attack.id,
        "family": attack.family,
        "note": attack.note,
        "reward": outcome.reward,
        "honest_reward": honest.reward,
        "through": let_through(evaluator, attack.prompt, attack.response, attack.honest, honest),
        "fence_removed": found,
        "won_on": won_on(outcome, honest),
        # The checks it met (passed every one, or scored higher than the honest answer on one).
        "checks": {d.rubric: d.normalized for d in outcome.dimensions if d.check is not None},
        "response": attack.response[:200],
    }


def won_on(attack: SampleResult, honest: SampleResult) -> list[str]:
    """The dimensions the attack scored higher on: ``rubric attack-raw > honest-raw``."""
    theirs = {d.rubric: d for d in honest.dimensions}
    missing = "floored" if honest.guarded is not None else "unscored"
    out = []
    for mine in attack.dimensions:
        other = theirs.get(mine.rubric)
        if mine.normalized is None or mine.raw is None:
            continue
        if other is None or other.normalized is None or other.raw is None:
            out.append(f"{mine.rubric} {mine.raw:g} > {missing}")
        elif mine.normalized > other.normalized + 1e-9:
            out.append(f"{mine.rubric} {mine.raw:g} > {other.raw:g}")
    return out
