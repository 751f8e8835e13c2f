"""Errors a user can act on: each names the file, the place in it, and the fix."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound="BaseModel")


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


# How the local judge server's crash answers begin (``judge.server.worker``): the client
# knows them by it (``judge.bedrock.backend_down``) and neither retries nor carries on.
LOCAL_JUDGE_CRASHED = "the local judge crashed: "


class BackendDown(JudgeError):
    """The judge server crashed or is gone: a CLI run stops at once, in one line.

    Only fail-fast runs raise it (the CLI's, see ``judge.caller.Tripwire``); the Lambda
    handler's judgements are unscored with the same message instead.
    """


def read_text(path: Path | str, kind: str) -> str:
    """A user's text file (rubric, config, event, anchors, artefact) as str, or a SourceError.

    Binary or non-UTF-8 files are named with the byte offset, never a traceback; a UTF-8
    byte-order mark (left by some Windows editors) is dropped so front matter still parses.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SourceError(
            p, f"cannot read the {kind} ({exc.strerror or exc})", fix="check the path"
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            p,
            f"the {kind} is not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r})",
            fix="save it as UTF-8",
        ) from None
    if "\x00" in text:
        raise SourceError(
            p, f"the {kind} is binary (it contains NUL bytes)", fix=f"point at a {kind} text file"
        )
    return text


def data_file_error(path: Path, exc: ValidationError, fix: str) -> SourceError:
    """A bundled data table that fails validation, as a SourceError naming the key.

    An unknown key is reported before the missing one it was probably meant to be.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    place = ".".join(str(p) for p in err["loc"])
    problem = f"unknown key '{place}'" if err["type"] == "extra_forbidden" else err["msg"]
    return SourceError(path, problem, place=place, fix=fix)


def parse_data_table(text: str, path: Path, model: type[M], fix: str) -> M:
    """A bundled (or user) TOML data table validated by ``model``; a SourceError otherwise."""
    from pydantic import ValidationError

    try:
        return model.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(path, f"not valid TOML ({exc})", fix="correct the TOML syntax") from None
    except ValidationError as exc:
        raise data_file_error(path, exc, fix) from None
