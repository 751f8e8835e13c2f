"""One calibration options model: the CLI's options are generated from it, defaults agree."""

from __future__ import annotations

from dataclasses import fields

import click

from judge.calibration.options import GATES, RUN, CalibrationOptions
from judge.cli import main


def _params(*path: str) -> dict[str, click.Parameter]:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return {p.name: p for p in command.params if p.name}


def test_cli_defaults_are_the_models() -> None:
    defaults = {f.name: f.default for f in fields(CalibrationOptions)}
    calibrate, submit = _params("calibrate"), _params("batch", "submit")
    for name in (*RUN, *GATES):
        assert calibrate[name].default == defaults[name], name
    for name in RUN:
        assert submit[name].default == defaults[name], name
        mine, theirs = submit[name], calibrate[name]
        assert mine.opts == theirs.opts and mine.to_info_dict() == theirs.to_info_dict(), name


def test_run_options_are_what_a_job_records() -> None:
    options = CalibrationOptions(seed=3, draws=2, min_spearman=0.5, worst_items=4)
    assert set(options.run()) == set(RUN)
    job = CalibrationOptions(seed=9, holdout=0.5)
    merged = options.with_run(job)
    assert (merged.seed, merged.holdout, merged.draws) == (9, 0.5, 1)  # the job's run
    assert (merged.min_spearman, merged.worst_items) == (0.5, 4)  # the command's gates
