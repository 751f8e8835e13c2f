"""Errors a user can act on: each names the file, the place in it, and the fix."""

from __future__ import annotations

from pathlib import Path


class JudgeError(Exception):
    """Base class for every error this package raises on purpose."""


class SourceError(JudgeError):
    """A rubric, template, config or anchor file is malformed.

    The message always reads ``FILE[:LINE] [PLACE]: PROBLEM. Fix: FIX`` so that the
    user can jump straight to the spot from a terminal or a CI log.
    """

    def __init__(
        self,
        path: Path | str,
        problem: str,
        *,
        fix: str,
        line: int | None = None,
        place: str | None = None,
    ) -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        self.line = line
        self.place = place
        where = self.path if line is None else f"{self.path}:{line}"
        if place:
            where = f"{where} [{place}]"
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class EventError(JudgeError):
    """The Lambda event is not a batch of samples at all (not one bad sample)."""
