"""The ``judge`` command line: lint, render, score, calibrate, serve, package, deploy, invoke."""

from judge.cli import _aws, _batch, _canary, _judging, _label, _prefer, _report, _serving  # noqa: F401 - importing registers the commands
from judge.cli._app import main, read_batch

__all__ = ["main", "read_batch"]
