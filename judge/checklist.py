"""Rubrics that travel with the sample: per-prompt checklists and markdown rubrics.

A dataset may carry its own grading criteria per prompt ("Rubrics as Rewards", Gunjal et
al. 2025, arXiv 2507.17746; HealthBench-style checklists). Nova RFT passes extra dataset
fields under ``metadata``, so a sample's rubric is ``metadata.rubric``, else a top-level
``rubric``. Two forms:

- a checklist: ``[{"criterion": "Mentions the 60-day window", "weight": 5},
  {"criterion": "Claims the tent is waterproof", "weight": -3}]`` (negative weight: a
  pitfall, bad when true of the response);
- markdown in the ``rubrics/*.md`` format (its own scale, levels and examples).

Bad rubric data makes that one sample malformed, with the place and the problem.

A checklist is judged in one of two ways. *Explicit*: one call asks, per criterion, whether
it is true of the response (a 0/1 "score" per criterion, so the combined-call machinery does
the parsing, the per-criterion caching and "missing means unscored"), and the dimension's
score is computed here. *Implicit*: the judge sees every criterion with its weight and gives
one score on a scale, as for a file rubric.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from judge.config import SAMPLE_RUBRIC, SampleRubricSettings
from judge.errors import SourceError
from judge.label import Label
from judge.rubric import Level, Rubric, parse_rubric
from judge.text import clean

MAX_CRITERION_CHARS = 1000
CRITERION_PREFIX = "criterion_"


@dataclass(frozen=True)
class Criterion:
    """One checklist item; a negative weight marks a pitfall."""

    text: str
    weight: float


@dataclass(frozen=True)
class SampleRubric:
    """A sample's own rubric: a checklist, or a markdown rubric (``rubric``)."""

    criteria: tuple[Criterion, ...] = ()
    rubric: Rubric | None = None

    @property
    def content_hash(self) -> str:
        """Identifies the rubric's content (for cache keys and calibration)."""
        if self.rubric is not None:
            return self.rubric.content_hash
        blob = json.dumps([[c.text, c.weight] for c in self.criteria], ensure_ascii=True)
        return hashlib.sha256(blob.encode("ascii")).hexdigest()


def parse_sample_rubric(place: str, value: object, settings: SampleRubricSettings) -> SampleRubric:
    """Validate a sample's rubric; ``ValueError`` names the place and the problem."""
    if isinstance(value, str):
        try:
            rubric = parse_rubric(clean(value), Path(f"{SAMPLE_RUBRIC}.md"), name_as=SAMPLE_RUBRIC)
        except SourceError as exc:
            where = f" line {exc.line}" if exc.line else ""
            raise ValueError(f"{place}{where}: {exc.problem}. Fix: {exc.fix}") from None
        return SampleRubric(rubric=rubric)
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"{place}: expected a non-empty list of {{'criterion', 'weight'}} or markdown text"
        )
    if len(value) > settings.max_criteria:
        raise ValueError(
            f"{place}: {len(value)} criteria, more than [sample_rubric] max_criteria "
            f"({settings.max_criteria})"
        )
    criteria: list[Criterion] = []
    for i, item in enumerate(value):
        where = f"{place}[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected an object with 'criterion' and 'weight'")
        unknown = sorted(set(item) - {"criterion", "weight"})
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (use 'criterion', 'weight')")
        text = item.get("criterion")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}.criterion: expected non-empty text")
        if len(text) > MAX_CRITERION_CHARS:
            raise ValueError(f"{where}.criterion: longer than {MAX_CRITERION_CHARS} characters")
        weight = item.get("weight", 1)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not -100 <= weight <= 100  # before isfinite: a 400-digit int overflows a float
            or not math.isfinite(weight)
            or weight == 0
        ):
            raise ValueError(f"{where}.weight: expected a non-zero number from -100 to 100")
        criteria.append(Criterion(" ".join(clean(text).split()), float(weight)))
    return SampleRubric(criteria=tuple(criteria))


def criterion_labels(sample: SampleRubric) -> tuple[Label, ...]:
    """Explicit mode: one 0/1 label per criterion ("is this true of the response?")."""
    return tuple(
        Label(
            name=f"{CRITERION_PREFIX}{i + 1}",
            title=c.text,
            scale_min=0,
            scale_max=1,
            definition=c.text,
            content_hash=hashlib.sha256(f"{c.text}\x00{c.weight}".encode()).hexdigest(),
        )
        for i, c in enumerate(sample.criteria)
    )


criterion_rubrics = criterion_labels  # the name tooling used before labels had a type


def implicit_rubric(sample: SampleRubric, scale: tuple[int, int]) -> Rubric:
    """Implicit mode: the whole checklist as one rubric on ``scale``."""
    lo, hi = scale
    lines = [
        f"- ({'pitfall, ' if c.weight < 0 else ''}weight {abs(c.weight):g}) {c.text}"
        for c in sample.criteria
    ]
    definition = (
        "How well the response meets this prompt's checklist. Criteria with a weight add to the "
        "quality in proportion to the weight when met; pitfalls take away in proportion to "
        "theirs when the response does what they describe.\n" + "\n".join(lines)
    )
    levels = (
        Level(lo, "fails the checklist", "Meets few or none of the criteria, or hits pitfalls."),
        Level(hi, "meets the checklist", "Meets every criterion and hits no pitfall."),
    )
    middle = tuple(Level(s, "", "Between the levels around it.") for s in range(lo + 1, hi))
    return Rubric(
        name=SAMPLE_RUBRIC,
        title="Checklist",
        path=Path(SAMPLE_RUBRIC),
        scale_min=lo,
        scale_max=hi,
        definition=definition,
        levels=(levels[0], *middle, levels[1]),
        examples=(),
        content_hash=sample.content_hash,
    )


@dataclass(frozen=True)
class ChecklistScore:
    """An explicit checklist's result: the 0..1 score (None: unscored) and its counts."""

    score: float | None
    met: int
    total: int
    pitfalls_hit: int
    unanswered: int
    reason: str = ""


def explicit_score(
    criteria: tuple[Criterion, ...], answers: list[bool | None], partial: str
) -> ChecklistScore:
    """Weighted share of positive criteria met, minus pitfalls hit, clamped to 0..1.

    ``answers[i]`` is whether criterion i is true of the response (None: unanswered).
    ``partial``: ``against`` (default) counts an unanswered criterion against the response
    (a positive one unmet, a pitfall hit), so leaving criteria unanswered never pays;
    ``drop`` leaves them out; ``fail`` makes the checklist unscored. A checklist with no
    positive criterion scores 1 minus the share of pitfall weight hit.
    """
    pairs = list(zip(criteria, answers, strict=True))
    unanswered = sum(a is None for _, a in pairs)
    met = sum(bool(a) for c, a in pairs if c.weight > 0)
    hit = sum(bool(a) for c, a in pairs if c.weight < 0)

    def unscored(reason: str) -> ChecklistScore:
        return ChecklistScore(None, met, len(criteria), hit, unanswered, reason)

    if unanswered and partial == "fail":
        return unscored(f"{unanswered} criteria unanswered")
    if partial == "against":
        judged = [(c, a if a is not None else c.weight < 0) for c, a in pairs]
    else:
        judged = [(c, a) for c, a in pairs if a is not None]
    if not judged or (
        any(c.weight > 0 for c in criteria) and not any(c.weight > 0 for c, _ in judged)
    ):
        return unscored("no positive criterion answered")
    positive = sum(c.weight for c, _ in judged if c.weight > 0)
    gained = sum(c.weight for c, a in judged if c.weight > 0 and a)
    lost = sum(-c.weight for c, a in judged if c.weight < 0 and a)
    if positive > 0:
        score = (gained - lost) / positive
    else:
        pitfalls = sum(-c.weight for c, _ in judged)
        score = 1.0 - lost / pitfalls
    return ChecklistScore(min(1.0, max(0.0, score)), met, len(criteria), hit, unanswered)
