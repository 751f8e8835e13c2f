"""Read a run's reward logs into one record per batch, oldest first.

Two sources, each with what it holds and nothing made up:

- ``judge score --details`` files (one JSONL file per batch, a line per sample), ordered by
  name with digit runs compared as numbers (``batch_2`` before ``batch_10``); not by mtime,
  which a copy changes. They hold each sample's reward, dimensions and flags but not the
  response or its prompt: with ``batches`` (the folder of the event files that were scored,
  same stem) each sample also gets its response length and its prompt group.
- The function's CloudWatch Logs: ``judge.runreport.logs``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from judge.contract import parse_sample, read_event_file, samples_of, shown_id
from judge.errors import EventError, JudgeError

EVENT_SUFFIXES = (".jsonl", ".json")


@dataclass(frozen=True)
class SampleLog:
    """One sample as the logs show it; ``group``/``length`` need the event file."""

    id: str  # printable (``shown_id``): hostile, escaped wherever it is shown
    reward: float
    dimensions: Mapping[str, float | None]  # normalised 0..1, None: unscored
    unscored: bool = False
    guarded: bool = False
    refused: bool = False
    malformed: bool = False
    calls: int = 0  # judgements answered by a judge call, not the verdict cache
    group: str | None = None  # the prompt it answers (samples sharing it form a group)
    length: int | None = None  # characters of the response


@dataclass(frozen=True)
class BatchLog:
    """One invocation: its samples when logged, the handler's per-batch figures when logged."""

    name: str
    time_ms: int | None = None
    samples: tuple[SampleLog, ...] | None = None
    figures: Mapping[str, float] = field(default_factory=dict)
    cost_usd: float | None = None


@dataclass(frozen=True)
class RunLog:
    """A run: its batches in order, canary readings (time ms, metric, value), where from."""

    source: str
    batches: list[BatchLog]
    canary: list[tuple[int, str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the source could not provide


def natural_key(path: Path) -> list[Any]:
    """Sort key: digit runs as numbers, so ``b2`` < ``b10``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.name)]


def details_files(paths: Iterable[Path]) -> list[Path]:
    """The ``.jsonl`` files named or inside the folders named, in natural name order."""
    found: list[Path] = []
    for p in paths:
        found += sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    if not found:
        raise JudgeError("no --details files found (a folder holds them as *.jsonl)")
    return sorted(found, key=natural_key)


def read_details(paths: Iterable[Path], batches: Path | None = None) -> RunLog:
    """A run from ``--details`` files; ``batches``: the event files, matched by stem."""
    files = details_files(paths)
    run = RunLog(f"{len(files)} --details files", [])
    if batches is None:
        run.notes.append(
            "no --batches folder: the details files hold no responses, so response length, "
            "the reward/length correlation and prompt groups (zero spread) are not shown"
        )
    for path in files:
        records = list(_jsonl(path))
        event = _event_file(batches, path) if batches is not None else None
        if batches is not None and event is None:
            run.notes.append(f"no event file for {path.name} in --batches: no length/groups")
        samples = _pair(path, records, event)
        run.batches.append(BatchLog(path.name, None, tuple(samples)))
    run.notes.append(
        "--details files hold no per-batch cost: judge cost is shown from CloudWatch Logs only"
    )
    return run


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Each line's object; a line that is not one is an error naming the file and line."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                raise JudgeError(f"{path}:{number}: not a --details record (a JSON object)")
            yield record


def _event_file(folder: Path, details: Path) -> Path | None:
    """The event file scored into ``details``: same stem, .jsonl or .json."""
    for suffix in EVENT_SUFFIXES:
        candidate = folder / (details.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def _pair(path: Path, records: list[dict[str, Any]], event: Path | None) -> list[SampleLog]:
    """Each details record as a sample, with its response's length and group when known."""
    try:
        raws: list[Any] = samples_of(read_event_file(event)) if event is not None else []
    except EventError as exc:  # which of the --batches files it is
        raise JudgeError(f"{event}: {exc}") from None
    if event is not None and len(raws) != len(records):
        raise JudgeError(
            f"{path.name} has {len(records)} samples but {event.name} has {len(raws)}: "
            "not the batch it was scored from"
        )
    out = []
    for i, record in enumerate(records):
        sample = sample_of(record)
        item = parse_sample(i, raws[i]).item if raws else None
        if item is not None:
            group = json.dumps([[t.role, t.text] for t in item.conversation])
            sample = replace(sample, group=group, length=len(item.response))
        out.append(sample)
    return out


def sample_of(record: Mapping[str, Any]) -> SampleLog:
    """A ``--details`` line (or a DEBUG ``sample`` log line) as a ``SampleLog``."""
    dims: dict[str, float | None] = {}
    calls = 0
    for name, d in _mapping(record.get("dimensions")).items():
        if isinstance(d, list):  # the DEBUG log line: [raw, normalized, unscored]
            dims[str(name)] = _number(d[1] if len(d) > 1 else None)
            continue
        d = _mapping(d)
        dims[str(name)] = _number(d.get("normalized"))
        judgements = d.get("judgements")
        if isinstance(judgements, list):
            calls += sum(1 for j in judgements if isinstance(j, dict) and not j.get("cached"))
    return SampleLog(
        id=shown_id(record.get("id")),
        reward=_number(record.get("reward")) or 0.0,
        dimensions=dims,
        unscored=bool(record.get("unscored")),
        guarded=bool(record.get("guarded")),
        refused=bool(record.get("refused")),
        malformed=bool(record.get("malformed")),
        calls=calls,
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    """A finite number, else None (bools and strings are not scores)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None
