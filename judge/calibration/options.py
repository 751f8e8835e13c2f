"""One calibration options model: ``judge calibrate``, ``judge batch submit/collect`` and bench.

Each option is declared once, here, with its default and its command-line form; the click
options are generated from ``FIELDS`` so a default or a range cannot drift between commands.
``RUN`` names the options the judgements depend on (a batch job records them, and a replay
must match them); the rest only change what is computed from the verdicts or gated on.
No numpy here: the CLI imports this without the ``calibrate`` extra.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

WORST = 10  # anchors listed in the report's "Anchors the judge got most wrong"


@dataclass(frozen=True)
class CalibrationOptions:
    """How a calibration run splits, draws, fits, reports and gates."""

    holdout: float = 0.3
    seed: int = 0
    draws: int = 1
    human_scale: tuple[float, float] | None = None
    max_items: int | None = None
    probe_items: int = 20
    bootstrap_rounds: int = 1000
    folds: int = 5
    min_spearman: float | None = None
    max_unscored: float = 1.0
    worst_items: int = WORST
    keep_other_versions: bool = False

    def run(self) -> dict[str, Any]:
        """The options the judgements depend on, as a batch job records them."""
        return {name: value for name, value in asdict(self).items() if name in RUN}

    def with_run(self, run: CalibrationOptions) -> CalibrationOptions:
        """These options with ``run``'s judgement options (a batch job's own apply)."""
        return replace(self, **run.run())


RUN = ("holdout", "seed", "draws", "human_scale", "max_items", "probe_items")

# Field -> its click option (the CLI's names; bootstrap_rounds and folds are Python-only).
FIELDS: dict[str, Callable[[F], F]] = {
    "holdout": click.option(
        "--holdout",
        default=0.3,
        show_default=True,
        type=click.FloatRange(0.05, 0.9),
        help="Fraction of anchors held out for the report.",
    ),
    "seed": click.option(
        "--seed", default=0, show_default=True, help="Seed for the split and bootstrap."
    ),
    "draws": click.option(
        "--samples",
        "draws",
        default=1,
        show_default=True,
        type=click.IntRange(1, 10),
        help="Verdicts per item, for self-consistency.",
    ),
    "human_scale": click.option(
        "--human-scale",
        type=(float, float),
        default=None,
        help="MIN MAX of the labels when they are not on the rubric's scale; a label outside "
        "the scale in use is an error.",
    ),
    "max_items": click.option(
        "--max-items",
        type=click.IntRange(8),
        default=None,
        help="Use a seeded random subset of this many anchors (quick runs).",
    ),
    "probe_items": click.option(
        "--probes",
        "probe_items",
        type=click.IntRange(0),
        default=20,
        show_default=True,
        help="Held-out items rewritten for bias probes (injection, forged verdict, "
        "padding); 0 to skip.",
    ),
    "min_spearman": click.option(
        "--min-spearman",
        type=float,
        default=None,
        help="Exit 3 if calibrated held-out Spearman is below this (CI gate); the map is then "
        "not written where the Lambda reads it.",
    ),
    "max_unscored": click.option(
        "--max-unscored",
        type=click.FloatRange(0.0, 1.0),
        default=1.0,
        show_default=True,
        help="Exit 4, writing nothing, if a larger fraction of anchor judgements is unscored "
        "(all unscored always exits 4).",
    ),
    "worst_items": click.option(
        "--worst",
        "worst_items",
        type=click.IntRange(0),
        default=WORST,
        show_default=True,
        help="Anchors the judge got most wrong listed in the report "
        "(and reports/RUBRIC/worst.jsonl).",
    ),
    "keep_other_versions": click.option(
        "--keep-other-versions",
        is_flag=True,
        default=False,
        help="Keep anchors labelled under another version of the rubric (its content hash "
        "differs); without it they are refused. Either way their count is reported.",
    ),
}
GATES = ("min_spearman", "max_unscored", "worst_items", "keep_other_versions")


def click_options(*names: str) -> Callable[[F], F]:
    """Add the click options of ``names`` and hand the command one ``options`` argument.

    The command receives ``options: CalibrationOptions`` (defaults for the fields not
    named) instead of one parameter per option; ``ctx.params`` still holds each by name.
    """
    known = {f.name for f in fields(CalibrationOptions)}
    assert set(names) <= known and set(names) <= set(FIELDS), names

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in names}
            return command(*args, options=CalibrationOptions(**given), **kwargs)

        decorated: Any = wrapper
        for name in reversed(names):
            decorated = FIELDS[name](decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate
