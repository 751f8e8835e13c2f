"""Anchor sets: JSONL items with human labels, read strictly (bad lines are reported)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from judge.errors import SourceError
from judge.prompt import JudgeInput, Turn


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


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_anchors(path: Path, rubric: str) -> list[Anchor]:
    """Items of ``path`` labelled for ``rubric``; any bad line is an error with its number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SourceError(
            path, f"cannot read anchors ({exc.strerror})", fix="check the path"
        ) from exc
    anchors: list[Anchor] = []
    problems: list[tuple[int, str]] = []
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
            continue
        if line.id in seen:
            problems.append((number, f"duplicate id {line.id!r}"))
            continue
        seen.add(line.id)
        if rubric not in line.labels:
            continue
        value = line.labels[rubric]
        ratings = tuple(value) if isinstance(value, list) else (float(value),)
        raters = tuple((line.raters or {}).get(rubric, []))
        if raters and len(raters) != len(ratings):
            problems.append(
                (number, f"raters.{rubric} has {len(raters)} ids for {len(ratings)} labels")
            )
            continue
        anchors.append(
            Anchor(line.id, _judge_input(line), sum(ratings) / len(ratings), ratings, raters)
        )
    if problems:
        shown = "; ".join(f"line {n}: {msg}" for n, msg in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise SourceError(
            path,
            f"{len(problems)} bad anchor line(s): {shown}{more}",
            line=problems[0][0],
            fix="correct or remove those lines",
        )
    if not anchors:
        raise SourceError(
            path,
            f"no item has a label for rubric {rubric!r}",
            fix=f'add "labels": {{"{rubric}": ...}} to the items',
        )
    return anchors


def _judge_input(line: AnchorLine) -> JudgeInput:
    if isinstance(line.prompt, str):
        turns: tuple[Turn, ...] = (Turn("user", line.prompt),)
    else:
        turns = tuple(Turn(m.role, m.content) for m in line.prompt)
    return JudgeInput(turns, line.response)
