"""``judge label status``: per rubric, the anchors so far and whether calibration is due.

How many anchors, how balanced across the scale, how much people agree.

Calibration is due when there is no map, when the rubric changed since the map was fitted,
or when the anchor file the map was fitted on has changed (labels came in since).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.annotate.agreement import krippendorff_alpha
from judge.annotate.merge import Entry
from judge.artefact import Artefact
from judge.digest import sha256_file
from judge.rubric import Rubric

MIN_ANCHORS = 8  # judge.calibration.runner.MIN_ANCHORS (no numpy import here)


@dataclass
class RubricStatus:
    """One rubric's anchors and its calibration."""

    rubric: str
    version: str
    anchors: int  # usable: labelled under this version or unversioned
    other_version: int
    ratings: int
    levels: dict[int, int] = field(default_factory=dict)  # mean label, rounded -> items
    balance: float = math.nan  # normalised entropy of ``levels`` over the scale: 1 even
    human_alpha: float = math.nan  # ordinal, items with two or more raters
    multi_rated: int = 0
    map_metrics: dict[str, Any] = field(default_factory=dict)
    due: str = ""  # why calibration is due ("" when it is not)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None)."""
        out = {k: v for k, v in self.__dict__.items()}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


def rubric_status(
    rubric: Rubric, entries: list[Entry], anchors_path: Path, artefact: Artefact | None
) -> RubricStatus:
    """The status of ``rubric`` from the anchor file's ``entries`` and its map in force."""
    usable: list[list[float]] = []
    other = 0
    for entry in entries:
        version = entry.version(rubric.name)
        if version is None:
            continue
        if version not in ("", rubric.content_hash):
            other += 1
            continue
        value = entry.data["labels"][rubric.name]
        usable.append([float(v) for v in value] if isinstance(value, list) else [float(value)])
    status = RubricStatus(
        rubric.name, rubric.content_hash, len(usable), other, sum(len(u) for u in usable)
    )
    counts = Counter(round(sum(u) / len(u)) for u in usable)
    status.levels = {s: counts.get(s, 0) for s in rubric.scores}
    status.balance = _balance(list(status.levels.values()))
    multi = [u for u in usable if len(u) >= 2]
    status.multi_rated = len(multi)
    status.human_alpha = krippendorff_alpha(multi, "ordinal")
    if artefact is not None:
        held = artefact.metrics.get("holdout", {}).get("calibrated", {})
        status.map_metrics = {k: held.get(k) for k in ("spearman", "mae") if k in held}
    status.due = _due(rubric, status.anchors, anchors_path, artefact)
    return status


def _balance(counts: list[int]) -> float:
    total = sum(counts)
    if total == 0 or len(counts) < 2:
        return math.nan
    entropy = -sum(c / total * math.log(c / total) for c in counts if c)
    return entropy / math.log(len(counts))


def _due(rubric: Rubric, anchors: int, path: Path, artefact: Artefact | None) -> str:
    if anchors < MIN_ANCHORS:
        return f"not yet: {MIN_ANCHORS - anchors} more labelled item(s) needed"
    if artefact is None:
        return "due: no calibration map"
    if artefact.rubric_hash != rubric.content_hash:
        return "due: the rubric changed since the map was fitted"
    if artefact.anchors_file == path.name and path.is_file():
        if artefact.anchors_hash != sha256_file(path):
            return "due: labels changed since the map was fitted"
    elif artefact.anchors_file != path.name:
        return f"due: the map was fitted on {artefact.anchors_file}, not {path.name}"
    return ""
