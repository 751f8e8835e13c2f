"""``judge label export``, ``import`` and ``status``: the human-label loop (judge.annotate)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from judge.cli._app import (
    check_output_dir,
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


@main.group()
def label() -> None:
    """Choose items for people to label, send them to Label Studio, bring the labels back."""


def _rubric(config_path: str | None, name: str) -> Any:
    from judge.config import load_config
    from judge.rubric import load_rubrics

    config = load_config(config_path)
    return config, load_rubrics(config.path("rubrics"), [name])[name]


def _model_version(config_path: str | None) -> str:
    """The evaluator version the judge's scores come from (as `judge package` names it)."""
    from judge.config import load_config, resolve_config_path
    from judge.deploy.package import content_hashes, evaluator_version
    from judge.errors import JudgeError

    try:
        path = resolve_config_path(config_path)
        return evaluator_version(content_hashes(Path(path), load_config(config_path)))
    except (JudgeError, OSError):
        return "unpackaged"


@label.command("export")
@click.option("--rubric", required=True, help="Rubric to label (rubrics/NAME.md).")
@click.option(
    "--data",
    "data_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Dataset of RFT samples (JSON or JSONL) the items come from.",
)
@click.option(
    "--details",
    "details_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="`judge score --details` output for --data: its scores are used, no judge is "
    "called. Without it, --data is scored first.",
)
@click.option(
    "--anchors",
    "anchors_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Anchor file: items labelled there under this rubric version are never offered.",
)
@click.option("-n", "count", type=click.IntRange(1), default=50, show_default=True)
@click.option(
    "--random-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.2,
    show_default=True,
    help="Fraction drawn uniformly at random (keeps agreement estimates unbiased).",
)
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for tasks.json, config.xml, instructions.html and items.jsonl.",
)
@concurrency_option
@config_option
def export_cmd(
    rubric: str,
    data_file: str,
    details_file: str | None,
    anchors_file: str | None,
    count: int,
    random_share: float,
    seed: int,
    out: str,
    concurrency: int | None,
    config_path: str | None,
) -> None:
    """Choose N items for RUBRIC and write Label Studio tasks and a labelling config."""
    from judge.annotate.items import items_of
    from judge.annotate.loop import candidates, export_files, read_details
    from judge.annotate.merge import labelled_keys, read_entries
    from judge.annotate.select import select

    check_output_dir("--out", Path(out))
    read = {"--data": data_file, "--details": details_file, "--anchors": anchors_file}
    for name in ("tasks.json", "config.xml", "instructions.html", "items.jsonl"):
        check_outputs({"--out": str(Path(out) / name)}, read)
    with reported_errors():
        config, parsed = _rubric(config_path, rubric)
        items, skipped = items_of(read_batch(Path(data_file)))
        if details_file:
            details = read_details(Path(details_file))
        else:
            details = _score(config_path, concurrency, Path(data_file))
        exclude: set[str] = set()
        if anchors_file:
            entries = read_entries(Path(anchors_file))
            exclude = labelled_keys(entries, rubric, parsed.content_hash)
        gates = [g.below for g in config.gates if g.rubric == rubric]
        chosen = select(
            candidates(items, details, parsed, gates),
            count,
            exclude=exclude,
            random_share=random_share,
            seed=seed,
        )
        if not chosen:  # an empty tasks.json would import as a finished labelling round
            say(
                "nothing",
                "yellow",
                f"left to label for {rubric}: {len(exclude)} already labelled, {skipped} "
                "unreadable sample(s); no files written",
            )
            return
        export_files(Path(out), chosen, parsed, _model_version(config_path))
    by = {how: sum(c.selected_by == how for c in chosen) for how in ("random", "targeted")}
    unscored = len(chosen) - by["random"] - by["targeted"]
    also = f", {unscored} unscored" if unscored else ""
    say(
        "wrote",
        "green",
        f"{len(chosen)} item(s) for {rubric} ({by['random']} random, {by['targeted']} "
        f"targeted{also}; {len(exclude)} already labelled, {skipped} unreadable sample(s) left "
        "out) "
        f"to {Path(out) / 'tasks.json'}, config.xml, instructions.html and items.jsonl",
    )


def _score(config_path: str | None, concurrency: int | None, data: Path) -> dict[str, Any]:
    """Score the dataset as `judge score` does; its --details lines by id."""
    from judge.annotate.items import id_text
    from judge.cli._tables import explain
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event

    evaluator = cli_evaluator(config_path, concurrency)
    try:
        with progress_bar("judging") as progress:
            _, batch = run_event(evaluator, read_batch(data), Deadline.never(), progress)
    finally:
        evaluator.close()
    return {id_text(r.id): explain(r) for r in batch.results}


@label.command("import")
@click.argument("export", type=click.Path(exists=True, dir_okay=False))
@click.option("--rubric", required=True, help="Rubric the labels are for.")
@click.option(
    "--anchors",
    "anchors_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="Anchor file to merge into (created if missing).",
)
@click.option(
    "--keep-other-versions",
    is_flag=True,
    help="Keep labels made under another version of the rubric (each keeps its version).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@config_option
def import_cmd(
    export: str,
    rubric: str,
    anchors_file: str,
    keep_other_versions: bool,
    as_json: bool,
    config_path: str | None,
) -> None:
    """Merge a Label Studio JSON EXPORT into the anchors, with who labelled, when, which version."""
    from judge.annotate.loop import import_labels

    with reported_errors():
        _, parsed = _rubric(config_path, rubric)
        done = import_labels(
            Path(export), parsed, Path(anchors_file), keep_other_versions=keep_other_versions
        )
    m = done.merged
    figures = {
        "labels": done.labels,
        "added": m.added,
        "updated": m.updated,
        "unchanged": m.unchanged,
        "new_items": m.new_items,
        "refused_other_version": done.refused,
        "kept_other_version": done.kept_other,
        "cancelled": done.cancelled,
        "skipped_tasks": done.skipped_tasks,
        "human_alpha_ordinal": _finite(done.human_alpha),
        "multi_rated_items": done.multi_rated,
        "judge_human": {k: _finite(v) for k, v in done.judge_human.items()},
        "judge_human_random_share": {k: _finite(v) for k, v in done.judge_human_random.items()},
    }
    if as_json:
        click.echo(json.dumps(figures, indent=1))
    say(
        "imported",
        "green",
        f"{done.labels} label(s) for {rubric}: {m.added} added, {m.updated} updated, "
        f"{m.unchanged} already there, {m.new_items} new item(s) in {anchors_file}",
    )
    if done.skipped_tasks:
        say(
            "skipped",
            "yellow",
            f"{done.skipped_tasks} task(s) not exported for {rubric} by `judge label export` "
            "(another rubric's, or not made by it): check --rubric",
        )
    if done.refused:
        say(
            "refused",
            "yellow",
            f"{done.refused} label(s) on {done.refused_items} item(s) were made under another "
            "version of the rubric and were left out (--keep-other-versions keeps them)",
        )
    if done.kept_other:
        say("kept", "yellow", f"{done.kept_other} label(s) made under another rubric version")
    alpha = "n/a" if math.isnan(done.human_alpha) else f"{done.human_alpha:.3f}"
    say(
        "agreement",
        "cyan",
        f"people: Krippendorff's alpha (ordinal) {alpha} on "
        f"{done.multi_rated} item(s) with two or more annotators",
    )
    jh = done.judge_human
    if jh.get("items"):
        say(
            "agreement",
            "cyan",
            f"judge (its predicted level) vs people on the {jh['items']} item(s) of this export: "
            f"MAE {jh['mae']:.3f}, exact {jh['exact']:.0%}; run `judge calibrate` for the "
            "calibrated figures",
        )
    jr = done.judge_human_random
    if jr.get("items"):
        say(
            "agreement",
            "cyan",
            f"the same on the {jr['items']} item(s) of the random share (unbiased): "
            f"MAE {jr['mae']:.3f}, exact {jr['exact']:.0%}",
        )


def _finite(value: float | int) -> float | int | None:
    return None if isinstance(value, float) and math.isnan(value) else value


@label.command("status")
@click.option(
    "--anchors",
    "anchors_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Anchor file.",
)
@click.option("--rubric", "rubrics", multiple=True, help="Rubric(s) (default: the config's).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@config_option
def status_cmd(
    anchors_file: str, rubrics: tuple[str, ...], as_json: bool, config_path: str | None
) -> None:
    """Per rubric: anchors, balance across the scale, agreement, whether calibration is due."""
    from judge.annotate.merge import read_entries
    from judge.annotate.status import rubric_status
    from judge.artefact import artefact_path, load_artefact
    from judge.config import load_config
    from judge.rubric import load_rubrics

    with reported_errors():
        config = load_config(config_path)
        names = list(rubrics) or [n for n in config.rubrics if n in _files(config)]
        loaded = load_rubrics(config.path("rubrics"), names)
        entries = read_entries(Path(anchors_file))
        rows = [
            rubric_status(
                loaded[n],
                entries,
                Path(anchors_file),
                load_artefact(artefact_path(config.path("calibration"), n)),
            )
            for n in names
        ]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=1))
        return
    table = Table(title=f"labels in {escape(anchors_file)}")
    for col in (
        "rubric",
        "anchors",
        "other version",
        "levels",
        "balance",
        "people alpha",
        "map (spearman, mae)",
        "calibration",
    ):
        table.add_column(col, overflow="fold")  # never cut: the last says why calibration is due
    for r in rows:
        metrics = ", ".join(f"{v:.3f}" for v in r.map_metrics.values() if v is not None)
        table.add_row(
            r.rubric,
            str(r.anchors),
            str(r.other_version),
            " ".join(f"{k}:{v}" for k, v in r.levels.items()),
            "n/a" if math.isnan(r.balance) else f"{r.balance:.2f}",
            "n/a" if math.isnan(r.human_alpha) else f"{r.human_alpha:.3f} ({r.multi_rated})",
            metrics or "none",
            r.due or "up to date",
        )
    Console().print(table)


def _files(config: Any) -> set[str]:
    return {p.stem for p in config.path("rubrics").glob("*.md")}
