"""The loop's two file steps: write an export for a rubric, and import labels back.

``export_files`` writes what Label Studio needs (``tasks.json``, ``config.xml``,
``instructions.html``) and the plain ``items.jsonl``; ``import_labels`` merges an export's
labels into an anchor file and measures them. The CLI (``judge label``) is a thin layer
over these, so tests and scripts use the same code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.annotate.agreement import judge_human, krippendorff_alpha
from judge.annotate.ingest import Label, read_export
from judge.annotate.items import Item, id_text
from judge.annotate.merge import Merged, merge, read_entries, write_entries
from judge.annotate.select import Candidate, Chosen, signals
from judge.annotate.studio import instructions, labelling_config, plain, task
from judge.errors import SourceError, read_text
from judge.rubric import Rubric


def read_details(path: Path) -> dict[str, dict[str, Any]]:
    """``judge score --details`` lines by sample id (as text); a bad line is an error."""
    out: dict[str, dict[str, Any]] = {}
    for number, text in enumerate(read_text(path, "details").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            line = None
        if not isinstance(line, dict) or "id" not in line:
            raise SourceError(
                path, "not a --details line", line=number, fix="pass `judge score --details` output"
            )
        out[id_text(line["id"])] = line
    return out


def candidates(
    items: list[Item],
    details: Mapping[str, Mapping[str, Any]],
    rubric: Rubric,
    gates: Iterable[float] = (),
) -> list[Candidate]:
    """Each item with its signals for ``rubric`` (none when its details line is missing)."""
    scale = (rubric.scale_min, rubric.scale_max)
    thresholds = list(gates)
    out = []
    for item in items:
        dims = (details.get(item.id) or {}).get("dimensions")
        dim = dims.get(rubric.name) if isinstance(dims, Mapping) else None
        out.append(Candidate(item, signals(dim, scale, thresholds)))
    return out


def export_files(out: Path, chosen: list[Chosen], rubric: Rubric, model_version: str) -> None:
    """Write the Label Studio files and the plain JSONL for ``chosen`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    tasks = [task(c, rubric, model_version) for c in chosen]
    (out / "tasks.json").write_text(json.dumps(tasks, indent=1) + "\n", encoding="utf-8")
    (out / "config.xml").write_text(labelling_config(rubric), encoding="utf-8")
    (out / "instructions.html").write_text(instructions(rubric) + "\n", encoding="utf-8")
    with (out / "items.jsonl").open("w", encoding="utf-8") as fh:
        for c in chosen:
            fh.write(json.dumps(plain(c, rubric, model_version)) + "\n")


@dataclass
class Imported:
    """What an import did and what the new labels say."""

    merged: Merged
    labels: int
    refused: int  # labels made under another rubric version, left out
    refused_items: int
    kept_other: int  # the same, kept because told to
    cancelled: int
    skipped_tasks: int
    human_alpha: float  # ordinal, over the new items with two or more annotators
    multi_rated: int
    judge_human: dict[str, float | int] = field(default_factory=dict)
    # The same on the random share alone: the unbiased estimate (targeted items are chosen
    # where the judge is least sure, so agreement on them understates the judge's).
    judge_human_random: dict[str, float | int] = field(default_factory=dict)


def import_labels(
    export: Path, rubric: Rubric, anchors: Path, *, keep_other_versions: bool = False
) -> Imported:
    """Merge ``export``'s labels for ``rubric`` into ``anchors`` (created if missing)."""
    read = read_export(export, rubric)
    entries = read_entries(anchors)
    labels = read.labels + (read.other_version if keep_other_versions else [])
    merged = merge(entries, labels, rubric.name)
    write_entries(anchors, entries)
    by_item: dict[tuple[str, str], list[float]] = {}
    for label in labels:
        by_item.setdefault((label.key, label.version), []).append(label.value)
    judged = read.predicted
    pairs = [(judged[k], sum(v) / len(v)) for (k, _), v in by_item.items() if k in judged]
    drawn = {label.key for label in labels if label.selected_by == "random"}
    chance = [(k, v) for (k, _), v in by_item.items() if k in judged and k in drawn]
    multi = [v for v in by_item.values() if len(v) >= 2]
    return Imported(
        merged=merged,
        labels=len(labels),
        refused=0 if keep_other_versions else len(read.other_version),
        refused_items=0 if keep_other_versions else len(_items(read.other_version)),
        kept_other=len(read.other_version) if keep_other_versions else 0,
        cancelled=read.cancelled,
        skipped_tasks=read.skipped_tasks,
        human_alpha=krippendorff_alpha(multi, "ordinal"),
        multi_rated=len(multi),
        judge_human=judge_human([j for j, _ in pairs], [h for _, h in pairs]),
        judge_human_random=judge_human(
            [judged[k] for k, _ in chance], [sum(v) / len(v) for _, v in chance]
        ),
    )


def _items(labels: list[Label]) -> set[str]:
    return {label.key for label in labels}
