"""An anchor file read for the loop, merged with new labels without duplicates, and written.

A label is keyed by (item content, rubric version, annotator): importing the same export
twice changes nothing, an annotator who changed their mind updates their own label, and a
label made under another rubric version never lands on a line of this version's labels.
Lines the merge does not touch are written back byte for byte.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judge.annotate.ingest import Label, anchor_dict, new_line
from judge.annotate.items import content_key
from judge.calibration.anchors import AnchorLine
from judge.errors import SourceError, read_text
from judge.prompt import Turn


@dataclass
class Entry:
    """One line of the file: its parsed content, and its text while it is unchanged."""

    data: dict[str, Any]
    text: str | None = None

    @property
    def key(self) -> str:
        """The content key of its prompt and response."""
        prompt = self.data["prompt"]
        turns = (
            (Turn("user", prompt),)
            if isinstance(prompt, str)
            else tuple(Turn(m["role"], m["content"]) for m in prompt)
        )
        return content_key(turns, self.data["response"])

    def version(self, rubric: str) -> str | None:
        """The rubric version of its labels for ``rubric`` ("" unversioned; None: none)."""
        if rubric not in self.data.get("labels", {}):
            return None
        return str((self.data.get("rubric_hash") or {}).get(rubric, ""))


@dataclass
class Merged:
    """What a merge did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    new_items: int = 0
    keys: set[str] = field(default_factory=set)  # the items that received labels


def read_entries(path: Path) -> list[Entry]:
    """The file's lines (none when it does not exist yet); a bad line is an error."""
    if not path.exists():
        return []
    entries: list[Entry] = []
    for number, text in enumerate(read_text(path, "anchors").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            AnchorLine.model_validate_json(text)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "line"
            raise SourceError(
                path, f"{where}: {err['msg']}", line=number, fix="correct or remove the line"
            ) from None
        entries.append(Entry(json.loads(text), text))
    return entries


def labelled_keys(entries: list[Entry], rubric: str, version: str) -> set[str]:
    """Items labelled for ``rubric`` under ``version`` or under no recorded version."""
    return {e.key for e in entries if e.version(rubric) in (version, "")}


def merge(entries: list[Entry], labels: list[Label], rubric: str) -> Merged:
    """Add ``labels`` to ``entries`` (in place) without duplicates."""
    out = Merged()
    by_version = {(e.key, e.version(rubric)): e for e in entries if e.version(rubric)}
    unlabelled = {e.key: e for e in entries if e.version(rubric) is None}
    taken = {str(e.data["id"]) for e in entries}
    for label in labels:
        entry = by_version.get((label.key, label.version))
        if entry is None:
            entry = unlabelled.pop(label.key, None)
            if entry is None:
                entry = Entry(new_line(label, rubric, taken))
                entries.append(entry)
                out.new_items += 1
            _start(entry, rubric, label.version)
            by_version[(label.key, label.version)] = entry
        _put(entry, rubric, label, out)
        out.keys.add(label.key)
    return out


def _start(entry: Entry, rubric: str, version: str) -> None:
    """Give ``entry`` empty label lists for ``rubric`` under ``version``."""
    data = entry.data
    for name in ("labels", "raters", "labelled_at"):
        data.setdefault(name, {})
        data[name] = {**(data[name] or {}), rubric: []}
    data["rubric_hash"] = {**(data.get("rubric_hash") or {}), rubric: version}
    entry.text = None


def _put(entry: Entry, rubric: str, label: Label, out: Merged) -> None:
    """One annotator's label on ``entry``: added, updated or already there."""
    data = entry.data
    values = data["labels"][rubric]
    values = values if isinstance(values, list) else [values]
    raters = list((data.get("raters") or {}).get(rubric) or [])
    times = list((data.get("labelled_at") or {}).get(rubric) or [])
    times += [""] * (len(values) - len(times))
    if label.annotator in raters:
        i = raters.index(label.annotator)
        if values[i] == label.value and times[i] == label.time:
            out.unchanged += 1
            return
        values[i], times[i] = label.value, label.time
        out.updated += 1
    else:
        values.append(label.value)
        raters.append(label.annotator)
        times.append(label.time)
        out.added += 1
    data["labels"][rubric] = values
    data.setdefault("raters", {})[rubric] = raters
    data.setdefault("labelled_at", {})[rubric] = times
    entry.text = None


def write_entries(path: Path, entries: list[Entry]) -> None:
    """Write the file atomically (a crash leaves the old file, never half a new one)."""
    lines = [
        e.text if e.text is not None else json.dumps(anchor_dict(e.data), allow_nan=False)
        for e in entries
    ]
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(tmp, path)
