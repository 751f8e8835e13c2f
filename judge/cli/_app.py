"""The ``judge`` command group and what every command shares: options, errors, output."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.text import Text

from judge.errors import BackendDown, JudgeError

if TYPE_CHECKING:
    from judge.pipeline import Evaluator

console = Console(stderr=True, soft_wrap=True)
concurrency_option = click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Parallel judge calls (default: [runtime].concurrency). Use 1 for a local model.",
)


def max_unscored_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--max-unscored FRACTION``: the CI gate on unscored judgements (score, calibrate)."""
    return click.option(
        "--max-unscored",
        type=click.FloatRange(0.0, 1.0),
        default=1.0,
        show_default=True,
        help=help_text,
    )


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Reward config (default: $JUDGE_CONFIG, else ./reward.toml).",
)


class _SayHandler(logging.Handler):
    """The package's log warnings as CLI lines on stderr (stdout is for answers)."""

    def emit(self, record: logging.LogRecord) -> None:
        style = "red" if record.levelno >= logging.ERROR else "yellow"
        say(record.levelname.lower(), style, record.getMessage())


class _Commands(click.Group):
    """A group whose command list wraps each command's first sentence instead of cutting it.

    click cuts a command's summary to fit one line ("...through Bedrock..."), so at 80
    columns half of every description was lost; the list wraps it instead.
    """

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands, each with its whole first sentence (wrapped)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=200)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_Commands)
@click.version_option(package_name="rlaif-judge")
def main() -> None:
    """LLM-as-judge rewards for Amazon Nova RFT."""
    log = logging.getLogger("judge")
    if not any(isinstance(h, _SayHandler) for h in log.handlers):
        log.addHandler(_SayHandler(logging.WARNING))
        log.propagate = False


def cli_evaluator(config_path: str | None, concurrency: int | None) -> Evaluator:
    """The evaluator for a CLI run, with the command line's overrides.

    It fails fast: a crashed or absent judge server stops the run with one line
    (``BackendDown``, reported by ``reported_errors``) instead of unscoring every judgement.
    """
    from judge.caller import Tripwire
    from judge.config import load_config
    from judge.pipeline import Evaluator

    config = load_config(config_path)
    if concurrency is not None:
        runtime = config.runtime.model_copy(update={"concurrency": concurrency})
        config = config.model_copy(update={"runtime": runtime})
    evaluator = Evaluator.from_settings(config)
    tripwire = Tripwire()
    for caller in evaluator.callers:
        caller.tripwire = tripwire
    return evaluator


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr; yields the pipeline's progress callback."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def check_outputs(
    outputs: Mapping[str, str | None], inputs: Mapping[str, str | Path | None]
) -> None:
    """Check a command's output paths before any judging, and make their directories.

    ``outputs``: option -> path given (None: not asked for); ``inputs``: what the command
    reads, by name. Refused, naming the option: an output that is an input (the same file,
    through any symlink or hard link: judging must not replace the dataset with rewards),
    the same file as another output, or a directory. A missing parent directory is created
    (the user named that path), so nothing fails after the judging is paid for.
    """
    given = {option: Path(path) for option, path in outputs.items() if path}
    sources = {name: Path(path) for name, path in inputs.items() if path}
    for n, (option, path) in enumerate(given.items()):
        for name, source in sources.items():
            if _same_file(path, source):
                _refuse(option, f"{path} is {name} ({source}): writing there would overwrite it")
        for other, earlier in list(given.items())[:n]:
            if _same_file(path, earlier):
                _refuse(option, f"{path} is also {other}'s path: one would overwrite the other")
        if path.is_dir():
            _refuse(option, f"{path} is a directory", fix=f"name a file in it, e.g. {path / 'out'}")
        _make_parent(option, path)


def check_output_dir(option: str, path: Path) -> None:
    """An output directory, checked and created before any judging: not a file, writable."""
    if path.exists() and not path.is_dir():
        _refuse(option, f"{path} is a file, and this option names a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _refuse(option, f"cannot create the directory {path} ({exc.strerror or exc})")
    if not os.access(path, os.W_OK):
        _refuse(option, f"cannot write in {path}")


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (symlinks resolved; hard links compared)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _make_parent(option: str, path: Path) -> None:
    """Create ``path``'s directory if missing; refuse one that cannot be written."""
    parent = path.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _refuse(option, f"cannot create the directory {parent} ({exc.strerror or exc})")
    if not os.access(parent, os.W_OK):
        _refuse(option, f"cannot write in {parent}")


def _refuse(option: str, problem: str, fix: str = "choose another path") -> NoReturn:
    raise click.BadParameter(f"{problem}. Fix: {fix}", param_hint=f"'{option}'")


def say(label: str, style: str, message: str) -> None:
    """One unwrapped line on stderr; the message is plain text (paths contain brackets)."""
    console.print(Text.assemble((label, style), " ", message))


def read_batch(path: Path) -> list[Any]:
    """The samples of an event file, through the handler's own reader (``judge.contract``)."""
    from judge.contract import read_event_file, samples_of

    return samples_of(read_event_file(path))


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn our own errors (bad config, rubric, event...) into one line and exit status 2.

    A judge server found crashed or gone (``BackendDown``) exits 4, as a run in which no
    judgement succeeded does: no more can.
    """
    try:
        yield
    except BackendDown as exc:
        say("error", "red", str(exc))
        raise SystemExit(4) from None
    except JudgeError as exc:
        say("error", "red", str(exc))
        raise SystemExit(2) from None
