"""``judge canary build``: the canary set the deployed function re-judges on a schedule."""

from __future__ import annotations

from pathlib import Path

import click

from judge.cli._app import check_outputs, cli_evaluator, config_option, main, reported_errors, say


@main.group()
def canary() -> None:
    """Canaries: known answers re-judged on a schedule, to see the judge drift."""


@canary.command("build")
@click.option(
    "--anchors",
    "anchors",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Anchor file(s) (JSONL with human labels); default: <calibration>/anchors/*.jsonl.",
)
@click.option(
    "--per-end",
    type=click.IntRange(1, 20),
    default=2,
    show_default=True,
    help="Anchors taken at each end of the label range, per rubric.",
)
@click.option(
    "--attacks",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Attack suite (judge probe's format); default: the bundled one.",
)
@click.option(
    "--tries",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="Attacks judged per family to find one the reward floors.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write it; default: <calibration>/canaries.jsonl (judge package ships it).",
)
@config_option
def build(
    anchors: tuple[str, ...],
    per_end: int,
    attacks: str | None,
    tries: int,
    out: str | None,
    config_path: str | None,
) -> None:
    """Pick canaries (anchors at both ends of the scale, attacks floored now) and score them.

    Each canary is judged now, against the configured endpoint and with no verdict cache;
    the deployed function's canary run reports how far each score has moved since.
    """
    from judge.canaries import canary_path
    from judge.canary import build_canaries
    from judge.config import load_config, resolve_config_path
    from judge.deploy.package import content_hashes, evaluator_version
    from judge.probe import load_suite

    with reported_errors():
        config_file = resolve_config_path(config_path)
        config = load_config(config_file)
        target = Path(out) if out else canary_path(config)
        files = [Path(a) for a in anchors] or sorted(
            (config.path("calibration") / "anchors").glob("*.jsonl")
        )
        read: dict[str, str | Path | None] = {"--attacks": attacks}
        read |= {f"anchor file {n} of {len(files)}": f for n, f in enumerate(files, 1)}
        check_outputs({"--out": str(target)}, {"the config": config_file, **read})
        version = evaluator_version(content_hashes(config_file, config))
        suite = load_suite(Path(attacks)) if attacks else None
        evaluator = cli_evaluator(config_path, None)
        try:
            built = build_canaries(
                evaluator,
                files,
                per_end=per_end,
                attacks=suite,
                tries=tries,
                evaluator_version=version,
            )
        finally:
            evaluator.close()
    built.write(target)
    for c in built.canaries:
        label = "" if c.label is None else f", human label {c.label:g}"
        say("canary", "cyan", f"{c.id}: score {c.score:.3f} ({c.expect}{label}; {c.source})")
    for reason in built.skipped:
        say("skipped", "yellow", reason)
    say("wrote", "green", f"{len(built.canaries)} canaries to {target} (evaluator {version})")
