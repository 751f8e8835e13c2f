"""``judge prefer``: pairwise preferences for preference tuning, judged in both orders."""

from __future__ import annotations

import json
from pathlib import Path

import click

from judge.cli._app import (
    check_outputs,
    cli_evaluator,
    concurrency_option,
    config_option,
    main,
    progress_bar,
    read_batch,
    reported_errors,
    say,
)


@main.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Write one preference per line (JSONL: prompt, chosen, rejected, margin, ...).",
)
@click.option(
    "--rubric",
    default=None,
    help="Rubric name (rubrics/NAME.md); default: the config's only rubric.",
)
@click.option(
    "--time-budget",
    type=float,
    default=None,
    help="Seconds before unfinished judgements are counted as failed.",
)
@concurrency_option
@config_option
def prefer(
    data: str,
    out: str,
    rubric: str | None,
    time_budget: float | None,
    config_path: str | None,
    concurrency: int | None,
) -> None:
    """Judge every pair of responses to the same prompt in both orders; write preferences.

    Consistent verdicts give a preference (margin 1.0 when both orders pick the winner, 0.5
    when one says tie); contradictory ones are ties. Failures are counted, never preferences.
    """
    from judge.config import resolve_config_path
    from judge.deadline import Deadline
    from judge.prefer import PairJudge
    from judge.rubric import load_rubrics

    check_outputs(
        {"--out": out}, {"the dataset": data, "the config": resolve_config_path(config_path)}
    )
    with reported_errors():
        samples = read_batch(Path(data))
        evaluator = cli_evaluator(config_path, concurrency)
        try:
            names = list(evaluator.rubrics)
            if rubric is None and len(names) != 1:
                raise click.UsageError("name a rubric with --rubric: " + ", ".join(names))
            name = rubric or names[0]
            chosen = (
                evaluator.rubrics.get(name)
                or load_rubrics(evaluator.config.path("rubrics"), [name])[name]
            )
            deadline = Deadline.never() if time_budget is None else Deadline.in_seconds(time_budget)
            with progress_bar("judging pairs") as progress:
                report = PairJudge(evaluator, chosen).judge(samples, deadline, progress)
        finally:
            evaluator.close()
    rows = report.rows()
    with open(out, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, allow_nan=False) + "\n")
    s = report.summary()
    consistency = s["positional_consistency"]
    say(
        "pairs",
        "cyan",
        f"{s['pairs']} pairs on {name}, {s['judged']} judged in both orders "
        f"({s['calls']} calls, {s['cache_hits']} from the cache)",
    )
    say(
        "result",
        "green",
        f"{s['preferences']} preferences, {s['ties']} ties "
        f"({s['inconsistent']} inconsistent across orders), {s['failed']} failed",
    )
    say(
        "consistency",
        "cyan",
        "positional consistency "
        + ("n/a" if consistency is None else f"{consistency:.3f}")
        + " (share of judged pairs whose two orders agree)",
    )
    say(
        "skipped",
        "yellow",
        f"{s['identical_skipped']} identical pairs, {s['singleton_groups']} groups with one "
        f"distinct response, {s['malformed_samples']} malformed samples",
    )
    say("wrote", "green", f"{len(rows)} rows to {out}")
    if s["pairs"] and not s["judged"]:
        say("error", "red", "no pair could be judged")
        raise SystemExit(4)
