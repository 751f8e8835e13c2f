"""``judge report``: a training run's reward logs as one self-contained HTML page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from judge.cli._app import check_outputs, main, reported_errors, say
from judge.runreport.compute import MAX_LENGTH_CORR, MAX_ZERO_SPREAD

if TYPE_CHECKING:
    from judge.runreport.read import RunLog


def _epoch_ms(value: str | None) -> int | None:
    """An ISO 8601 time (``2026-12-03T07:00:00+00:00``) as epoch milliseconds."""
    if value is None:
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None


@main.command()
@click.argument("details", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--batches",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of the event files the --details files were scored from (same file stem): "
    "gives response lengths and prompt groups.",
)
@click.option("--log-group", default=None, help="Read the function's CloudWatch Logs instead.")
@click.option("--start", default=None, help="With --log-group: from this ISO 8601 time.")
@click.option("--end", default=None, help="With --log-group: until this ISO 8601 time.")
@click.option("--region", default=None, help="With --log-group: AWS region.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="HTML page."
)
@click.option("--window", default=5, show_default=True, type=click.IntRange(1), help="Batches.")
@click.option(
    "--max-length-corr",
    default=MAX_LENGTH_CORR,
    show_default=True,
    type=click.FloatRange(-1.0, 1.0),
    help="Flag a window whose mean within-group reward/length Spearman exceeds this.",
)
@click.option(
    "--max-zero-spread",
    default=MAX_ZERO_SPREAD,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Flag a window whose share of prompt groups with all rewards equal exceeds this.",
)
def report(
    details: tuple[Path, ...],
    batches: Path | None,
    log_group: str | None,
    start: str | None,
    end: str | None,
    region: str | None,
    out: Path,
    window: int,
    max_length_corr: float,
    max_zero_spread: float,
) -> None:
    """Write a run report: reward, dimensions, length, hack signals, rates, calls, per window.

    DETAILS: ``judge score --details`` files or folders of them (one file per batch, in
    name order, digit runs as numbers), or --log-group for the function's CloudWatch Logs
    (e.g. /aws/lambda/rlaif-judge-reward). Windows whose reward/length correlation or
    zero-spread share exceeds its threshold are flagged.
    """
    from judge.runreport.compute import Thresholds, windows
    from judge.runreport.read import read_details
    from judge.runreport.write import page

    if bool(details) == bool(log_group):
        raise click.UsageError("give DETAILS files (or folders) or --log-group, one of them")
    _check_pairing(batches, log_group, start, end, region)
    read = [
        p for d in (*details, batches) if d for p in (sorted(d.iterdir()) if d.is_dir() else [d])
    ]
    check_outputs(
        {"--out": str(out)}, {f"the report's input #{n}": p for n, p in enumerate(read, 1)}
    )
    with reported_errors():
        run: RunLog
        if log_group:
            run = _from_logs(log_group, _epoch_ms(start), _epoch_ms(end), region)
        else:
            run = read_details(details, batches)
        thresholds = Thresholds(max_length_corr, max_zero_spread)
        ws = windows(run, window, thresholds)
        out.write_text(page(run, ws, window, thresholds), encoding="utf-8")
    flagged = [w for w in ws if w.flags]
    n_batches = f"{len(run.batches)} batch{'es' if len(run.batches) != 1 else ''}"
    n_windows = f"{len(ws)} window{'s' if len(ws) != 1 else ''}"
    say("report", "cyan", f"{out}: {n_batches}, {n_windows}")
    if flagged:
        say("flagged", "red", f"{len(flagged)} windows, from batch {flagged[0].first}")


def _check_pairing(
    batches: Path | None,
    log_group: str | None,
    start: str | None,
    end: str | None,
    region: str | None,
) -> None:
    """Options that belong to the other source are refused, not silently ignored."""
    if log_group and batches:
        raise click.UsageError(
            "--batches goes with DETAILS files; with --log-group the lengths and groups "
            "come from the function's own log lines"
        )
    stray = [n for n, v in (("--start", start), ("--end", end), ("--region", region)) if v]
    if not log_group and stray:
        raise click.UsageError(f"{', '.join(stray)} only go with --log-group")


def _from_logs(
    log_group: str, start_ms: int | None, end_ms: int | None, region: str | None
) -> RunLog:
    """The run from the log group, through boto3's ``logs`` client."""
    import boto3

    from judge.deploy.aws_errors import aws_errors
    from judge.region import resolve_region
    from judge.runreport.logs import read_logs

    with aws_errors():  # no credentials, no such group, no network: one line, not a traceback
        client = boto3.session.Session(region_name=resolve_region(region)).client("logs")
        return read_logs(client, log_group, start_ms, end_ms)
