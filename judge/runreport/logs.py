"""Read a run from the function's CloudWatch Logs (``filter_log_events`` on its log group).

What the handler logs per invocation (``judge.observe``): one ``batch scored`` line with the
batch's figures (size, reward mean/min/max, per-rubric means, unscored/guarded/malformed
counts, judge calls, tokens, ``cost_usd``) and its EMF line; at DEBUG, a ``sample`` line per
sample (id, reward, dimensions) after it. It logs no response text and no prompt: length,
the reward/length correlation and zero-spread groups come from its per-batch signals
(``ResponseLengthMean``, ``RewardLengthCorr``, ``ZeroSpreadGroupRate``...) when it logs them,
and the page says what is missing when it does not. EMF metrics whose names start with
``Canary`` are read as canary readings (their own invocations, not training batches).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from judge.runreport.read import BatchLog, RunLog, SampleLog, sample_of

CANARY_PREFIX = "Canary"
# Non-optional per-batch figures the report needs -> what a handler that predates them lacks.
NEEDED = {
    "RewardLengthGroups": "response length, the reward/length correlation and zero-spread groups",
    "RefusedSamples": "the refused rate",
}
NO_SAMPLES_NOTE = (
    "no per-sample lines (the function logs them at DEBUG only): the reward band is each "
    "window's min..max with its mean, not quantiles, and per-rubric means are means of the "
    "batches' means"
)


@dataclass
class _Open:
    """A batch being read: its ``batch scored`` line, then any DEBUG ``sample`` lines."""

    time_ms: int
    stream: str
    line: dict[str, Any]
    samples: list[SampleLog] = field(default_factory=list)


def read_logs(
    client: Any, log_group: str, start_ms: int | None = None, end_ms: int | None = None
) -> RunLog:
    """A run from the log group between ``start_ms`` and ``end_ms`` (epoch milliseconds)."""
    opened: list[_Open] = []
    last: dict[str, _Open] = {}  # per log stream: one container runs one invocation at a time
    canary: list[tuple[int, str, float]] = []
    for event in sorted(_events(client, log_group, start_ms, end_ms), key=lambda e: e[0]):
        time_ms, stream, line = event
        if line.get("message") == "batch scored":
            last[stream] = _Open(time_ms, stream, line)
            opened.append(last[stream])
        elif line.get("message") == "sample" and stream in last:
            last[stream].samples.append(sample_of(line))
        elif isinstance(line.get("_aws"), dict):
            canary += [(time_ms, n, v) for n, v in _emf(line) if n.startswith(CANARY_PREFIX)]
    batches = [_batch(i, o) for i, o in enumerate(opened)]
    notes = [
        f"{what}: no {name} on every batch scored line (logged by a later handler)"
        for name, what in NEEDED.items()
        if any(name not in b.figures for b in batches)
    ]
    if any(b.samples is None for b in batches):
        notes.append(NO_SAMPLES_NOTE)
    return RunLog(f"CloudWatch Logs group {log_group}", batches, canary, notes)


def _events(
    client: Any, log_group: str, start_ms: int | None, end_ms: int | None
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Each JSON log line of the group: (timestamp, stream, object); other lines skipped."""
    kwargs: dict[str, Any] = {"logGroupName": log_group}
    if start_ms is not None:
        kwargs["startTime"] = start_ms
    if end_ms is not None:
        kwargs["endTime"] = end_ms
    for page in client.get_paginator("filter_log_events").paginate(**kwargs):
        for e in page.get("events", []):
            try:
                line = json.loads(e.get("message", ""))
            except ValueError:
                continue  # START/END/REPORT lines, tracebacks
            if isinstance(line, dict):
                yield int(e.get("timestamp", 0)), str(e.get("logStreamName", "")), line


def _batch(index: int, o: _Open) -> BatchLog:
    """The batch's figures: the numbers on its ``batch scored`` line."""
    figures = {
        k: float(v)
        for k, v in o.line.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and v == v
    }
    cost = o.line.get("cost_usd")
    return BatchLog(
        f"invocation {index + 1} ({o.stream})",
        o.time_ms,
        tuple(o.samples) if o.samples else None,
        figures,
        float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
    )


def _emf(line: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """An EMF line's metric values (a list of values is averaged)."""
    for directive in line["_aws"].get("CloudWatchMetrics", []):
        for m in directive.get("Metrics", []) if isinstance(directive, dict) else []:
            name = m.get("Name") if isinstance(m, dict) else None
            value = line.get(name) if isinstance(name, str) else None
            values = value if isinstance(value, list) else [value]
            numbers = [float(v) for v in values if isinstance(v, int | float)]
            if isinstance(name, str) and numbers:
                yield name, sum(numbers) / len(numbers)
