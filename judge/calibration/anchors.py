"""Anchor sets: JSONL items with human labels, read strictly (bad lines are reported)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from judge.errors import SourceError, read_text
from judge.prompt import JudgeInput, Turn

# What an anchor line looks like, for error messages (README.md, "Calibration", has more).
ANCHOR_FORMAT = (
    'one JSON object per line: {"id": "a1", "prompt": "Where is my order?", "response": '
    '"It ships tomorrow.", "labels": {"RUBRIC": 4}} (prompt may be a list of '
    '{"role", "content"} messages; a label may be a list, one per rater); see README.md, '
    "Calibration"
)


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str
    content: str


class AnchorLine(BaseModel):
    """One line of an anchor file."""

    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str | list[_Message]
    response: str
    labels: dict[str, float | list[float]]
    raters: dict[str, list[str]] | None = None
    # The rubric version (its content hash) each rubric's labels were made under, and when
    # each rater labelled (ISO 8601, parallel to ``raters``): ``judge label import`` writes
    # them; a rubric without an entry is unversioned (labelled before versions were kept).
    rubric_hash: dict[str, str] | None = None
    labelled_at: dict[str, list[str]] | None = None

    @field_validator("labels")
    @classmethod
    def _finite(cls, labels: dict[str, float | list[float]]) -> dict[str, float | list[float]]:
        for key, value in labels.items():
            values = value if isinstance(value, list) else [value]
            if not values or any(v != v or v in (float("inf"), float("-inf")) for v in values):
                raise ValueError(f"labels.{key} must be a finite number or a non-empty list")
        return labels


@dataclass(frozen=True)
class Anchor:
    """An anchor for one rubric: the judge input, the mean label and each rater's label."""

    id: str
    item: JudgeInput
    label: float
    ratings: tuple[float, ...]
    raters: tuple[str, ...]
    line: int = 0  # in the anchor file, for error messages
    version: str = ""  # the rubric's content hash the labels were made under ("": unknown)


def load_anchors(
    path: Path,
    rubric: str,
    scale: tuple[float, float] | None = None,
    *,
    scale_name: str = "the scale",
    scale_fix: str = "correct those labels",
) -> list[Anchor]:
    """Items of ``path`` labelled for ``rubric``; any bad line is an error with its number.

    With ``scale``, a label outside it is a bad line too: a stray label would otherwise
    stretch the human scale the map is fitted onto, silently. ``scale_name`` and
    ``scale_fix`` say where the scale came from and how to fix such a label.
    """
    lines = read_text(path, "anchors").splitlines()
    anchors: list[Anchor] = []
    problems: list[tuple[int, str]] = []
    off_scale: list[int] = []  # lines whose labels lie outside ``scale``
    malformed = False  # a line that is not an anchor at all
    samples = 0  # lines that are RFT samples (an event file given as anchors)
    seen: set[str] = set()
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = AnchorLine.model_validate_json(text)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "line"
            problems.append((number, f"{where}: {err['msg']}"))
            malformed = True
            samples += _is_sample(text)
            continue
        if line.id in seen:
            problems.append((number, f"duplicate id {line.id!r}"))
            continue
        seen.add(line.id)
        if rubric not in line.labels:
            continue
        value = line.labels[rubric]
        ratings = tuple(value) if isinstance(value, list) else (float(value),)
        outside = [v for v in ratings if not scale[0] <= v <= scale[1]] if scale else []
        if scale and outside:
            off_scale.append(number)
            problems.append(
                (
                    number,
                    f"label {outside[0]:g} for {rubric} is outside {scale_name} "
                    f"{scale[0]:g}..{scale[1]:g}",
                )
            )
            continue
        raters = tuple((line.raters or {}).get(rubric, []))
        if raters and len(raters) != len(ratings):
            problems.append(
                (number, f"raters.{rubric} has {len(raters)} ids for {len(ratings)} labels")
            )
            continue
        version = (line.rubric_hash or {}).get(rubric, "")
        anchors.append(
            Anchor(
                line.id,
                _judge_input(line),
                sum(ratings) / len(ratings),
                ratings,
                raters,
                number,
                version,
            )
        )
    if problems:
        shown = "; ".join(f"line {n}: {msg}" for n, msg in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        fixes = [scale_fix] if off_scale else []
        if len(off_scale) < len(problems):
            fixes.insert(0, "correct or remove those lines")
        if samples:  # the wrong file: fixing its lines is not the way
            fixes = [f"pass an anchor file, which has {ANCHOR_FORMAT.replace('RUBRIC', rubric)}"]
        elif malformed:
            fixes.append(f"an anchor file has {ANCHOR_FORMAT.replace('RUBRIC', rubric)}")
        what = (
            f" ({samples} line(s) are RFT samples with messages: this looks like an event "
            "file, not an anchor file)"
            if samples
            else ""
        )
        raise SourceError(
            path,
            f"{len(problems)} bad anchor line(s){what}: {shown}{more}",
            line=problems[0][0],
            fix="; ".join(fixes),
        )
    if not anchors:
        raise SourceError(
            path,
            f"no item has a label for rubric {rubric!r}",
            fix=f'add "labels": {{"{rubric}": ...}} to the items',
        )
    return anchors


def _is_sample(text: str) -> bool:
    """Whether a line is an RFT sample (``messages``), or a list of them, not an anchor."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return False
    rows = value if isinstance(value, list) else [value]
    return any(isinstance(r, dict) and "messages" in r for r in rows)


def _judge_input(line: AnchorLine) -> JudgeInput:
    if isinstance(line.prompt, str):
        turns: tuple[Turn, ...] = (Turn("user", line.prompt),)
    else:
        turns = tuple(Turn(m.role, m.content) for m in line.prompt)
    return JudgeInput(turns, line.response)
