"""Label Studio's JSON export, read back as labels.

Each label keeps who made it, when, and under which rubric version (the content hash the
task was exported with); ``judge.annotate.merge`` adds them to an anchor file.

The export is hostile input like any other file: every field is checked, a task this
module did not write (no ``item``/``rubric_hash`` data) is counted and skipped, and a label
off the rubric's scale is an error naming the task.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.annotate.items import content_key, prompt_value
from judge.annotate.studio import DIALOGUE, RESPONSE, SCORE
from judge.errors import SourceError, read_text
from judge.prompt import Turn
from judge.rubric import Rubric


@dataclass(frozen=True)
class Label:
    """One person's label for one item under one rubric version."""

    item: str  # the item id the task carried
    key: str  # its content key
    conversation: tuple[Turn, ...]
    response: str
    value: float
    annotator: str
    time: str  # ISO 8601, as Label Studio wrote it
    version: str  # the rubric's content hash the task was made with
    selected_by: str = ""  # "random" or "targeted", as exported


@dataclass
class Read:
    """What an export held for one rubric: labels by version, and what was left out."""

    labels: list[Label] = field(default_factory=list)
    other_version: list[Label] = field(default_factory=list)
    skipped_tasks: int = 0  # not ours, or for another rubric
    cancelled: int = 0  # annotations skipped by the annotator
    unlabelled_tasks: int = 0  # tasks nobody annotated
    predicted: dict[str, float] = field(default_factory=dict)  # the judge's level, by item key


def read_export(path: Path, rubric: Rubric) -> Read:
    """The labels for ``rubric`` in a Label Studio JSON export (a list of tasks)."""
    try:
        tasks = json.loads(read_text(path, "Label Studio export"))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SourceError(path, f"not JSON ({exc})", fix="export the project as JSON") from None
    if not isinstance(tasks, list):
        raise SourceError(path, "not a list of tasks", fix="export the project as JSON")
    out = Read()
    for number, task in enumerate(tasks, start=1):
        data = task.get("data") if isinstance(task, Mapping) else None
        if not isinstance(data, Mapping) or data.get("rubric") != rubric.name:
            out.skipped_tasks += 1
            continue
        base = _task(data)
        if base is None:
            out.skipped_tasks += 1
            continue
        annotations = _mappings(task.get("annotations"))
        predicted = _predicted(task, annotations)
        if predicted is not None:
            out.predicted[base.key] = predicted
        labels = []
        for annotation in annotations:
            if annotation.get("was_cancelled"):
                out.cancelled += 1
                continue
            value = _score(annotation)
            if value is None:
                continue
            if not rubric.scale_min <= value <= rubric.scale_max:
                raise SourceError(
                    path,
                    f"task {number}: score {value:g} is off the scale "
                    f"{rubric.scale_min}..{rubric.scale_max} of {rubric.name}",
                    fix="export from the project made with this rubric's labelling config",
                )
            labels.append(_label(base, annotation, value))
        if not labels:
            out.unlabelled_tasks += 1
        for label in labels:
            (out.labels if label.version == rubric.content_hash else out.other_version).append(
                label
            )
    return out


def _predicted(task: Mapping[str, Any], annotations: list[Mapping[str, Any]]) -> float | None:
    """The judge's level, from the task's predictions or the one an annotation names.

    A snapshot export carries whole predictions; the quick export lists only their ids, but
    each annotation still names the prediction it was made beside.
    """
    found = _mappings(task.get("predictions"))
    found += [a["prediction"] for a in annotations if isinstance(a.get("prediction"), Mapping)]
    return next((v for v in (_score(p) for p in found) if v is not None), None)


def _task(data: Mapping[str, Any]) -> Label | None:
    """A label template from a task's data, or None when the data is not ours."""
    item, version, dialogue, response = (
        data.get("item"),
        data.get("rubric_hash"),
        data.get(DIALOGUE),
        data.get(RESPONSE),
    )
    if not (isinstance(item, str) and isinstance(version, str) and isinstance(response, str)):
        return None
    if not isinstance(dialogue, list) or not all(
        isinstance(t, Mapping) and isinstance(t.get("role"), str) and isinstance(t.get("text"), str)
        for t in dialogue
    ):
        return None
    turns = tuple(Turn(t["role"], t["text"]) for t in dialogue)
    selected = data.get("selected_by")
    return Label(
        item,
        content_key(turns, response),  # recomputed: a task's own "key" is not trusted
        turns,
        response,
        math.nan,
        "",
        "",
        version,
        selected if isinstance(selected, str) else "",
    )


def _score(annotation: Mapping[str, Any]) -> float | None:
    """The chosen level of the ``score`` control, or None when there is none."""
    for result in _mappings(annotation.get("result")):
        if result.get("from_name") != SCORE:
            continue
        value = result.get("value")
        choices = value.get("choices") if isinstance(value, Mapping) else None
        if isinstance(choices, list) and len(choices) == 1 and isinstance(choices[0], str):
            try:
                number = float(choices[0])
            except ValueError:
                return None
            return number if math.isfinite(number) else None
    return None


def _mappings(value: object) -> list[Mapping[str, Any]]:
    """The objects of a list field; anything else holds none (the export is hostile input)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _label(base: Label, annotation: Mapping[str, Any], value: float) -> Label:
    """``base`` with one annotation's value, annotator and time."""
    who = annotation.get("completed_by")
    if isinstance(who, Mapping):  # expanded: {"id", "email", ...}
        annotator = str(who.get("email") or f"user-{who.get('id')}")
    else:
        annotator = f"user-{who}"
    when = annotation.get("updated_at") or annotation.get("created_at") or ""
    return Label(
        base.item,
        base.key,
        base.conversation,
        base.response,
        value,
        annotator,
        str(when),
        base.version,
        base.selected_by,
    )


def anchor_dict(line: Mapping[str, Any]) -> dict[str, Any]:
    """An anchor line as written: keys in the documented order, no empty extras."""
    return {k: line[k] for k in ANCHOR_KEYS if line.get(k) is not None}


ANCHOR_KEYS = ("id", "prompt", "response", "labels", "raters", "rubric_hash", "labelled_at")


def new_line(label: Label, rubric: str, taken: set[str]) -> dict[str, Any]:
    """A fresh anchor line for ``label``'s item (its id made unique among ``taken``)."""
    anchor_id = label.item
    if anchor_id in taken:
        anchor_id = f"{label.item}#{label.key[:8]}-{label.version[:8]}"
    taken.add(anchor_id)
    return {
        "id": anchor_id,
        "prompt": prompt_value(label.conversation),
        "response": label.response,
        "labels": {rubric: []},
        "raters": {rubric: []},
        "rubric_hash": {rubric: label.version},
        "labelled_at": {rubric: []},
    }
