"""Verdict cache on disk (diskcache): the key covers everything that determines a verdict.

Only verdicts are stored. Unscored outcomes (errors, refusals, unparseable answers) are
never cached, so a transient failure cannot stick to a sample for the rest of a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.verdict import Verdict

if TYPE_CHECKING:
    import diskcache

log = logging.getLogger("judge")

# Bump when the meaning of a cached entry changes (e.g. the Verdict model).
CACHE_FORMAT = 2


def cache_key(
    *,
    model_id: str,
    endpoint: str,
    request: dict[str, Any],
    rubric_hash: str,
    template_hash: str,
    draw: int = 0,
) -> str:
    """Key for one judgement.

    ``request`` is the full rendered Converse body: inference settings, tool schema, system
    prompt (rubric and template as rendered) and the message with the conversation and the
    response. The rubric file and template hashes are added as well, so an edit that does
    not change the rendered text still starts afresh. ``endpoint`` keeps a local model's
    verdicts from being served as Bedrock's (they share a cache directory by default).
    ``draw`` separates repeated samples of the same judgement (self-consistency).
    """
    payload = {
        "format": CACHE_FORMAT,
        "model": model_id,
        "endpoint": endpoint,
        "request": request,
        "rubric": rubric_hash,
        "template": template_hash,
        "draw": draw,
    }
    # ASCII escapes: a lone surrogate in a sample must not make the encoder raise.
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


class VerdictCache:
    """A thread- and process-safe verdict store; a no-op when ``directory`` is None.

    The cache is an optimisation, never a point of failure: if the directory cannot be
    created, or the store fails (disk full, database locked), the problem is logged once per
    kind and the judgement goes ahead uncached.
    """

    def __init__(self, directory: Path | None, size_limit_mb: int = 256) -> None:
        self.directory = directory
        self._cache: diskcache.Cache | None = None
        self._warned: set[str] = set()
        if directory is not None:
            try:
                import diskcache  # only with a cache configured: not at a Lambda's init

                directory.mkdir(parents=True, exist_ok=True)
                self._cache = diskcache.Cache(str(directory), size_limit=size_limit_mb * 2**20)
            except (OSError, sqlite3.Error) as exc:
                self._warn("open", exc)

    def _warn(self, operation: str, exc: BaseException) -> None:
        if operation not in self._warned:
            self._warned.add(operation)
            log.warning(
                "verdict cache %s failed at %s (%s): judging without it",
                operation,
                self.directory,
                exc,
            )

    def get(self, key: str) -> Verdict | None:
        """The cached verdict, or None."""
        if self._cache is None:
            return None
        try:
            raw = self._cache.get(key)
        except (OSError, sqlite3.Error) as exc:
            self._warn("read", exc)
            return None
        if not isinstance(raw, dict):
            return None
        try:
            return Verdict.model_validate(raw)
        except ValueError:
            return None  # an entry from an incompatible version: judge again

    def get_many(self, keys: list[str]) -> dict[str, Verdict]:
        """The cached verdicts among ``keys``, read in one transaction."""
        if self._cache is None or not keys:
            return {}
        found: dict[str, Verdict] = {}
        try:
            with self._cache.transact():
                raw = {key: self._cache.get(key) for key in keys}
        except (OSError, sqlite3.Error) as exc:
            self._warn("read", exc)
            return {}
        for key, value in raw.items():
            if isinstance(value, dict):
                try:
                    found[key] = Verdict.model_validate(value)
                except ValueError:
                    continue  # an entry from an incompatible version: judge again
        return found

    def put_many(self, verdicts: dict[str, Verdict]) -> None:
        """Store verdicts in one transaction (one fsync per batch, not per verdict)."""
        if self._cache is None or not verdicts:
            return
        try:
            with self._cache.transact():
                for key, verdict in verdicts.items():
                    self._cache.set(key, verdict.model_dump())
        except (OSError, sqlite3.Error) as exc:
            self._warn("write", exc)

    def put(self, key: str, verdict: Verdict) -> None:
        """Store a verdict (callers never pass unscored outcomes)."""
        if self._cache is None:
            return
        try:
            self._cache.set(key, verdict.model_dump())
        except (OSError, sqlite3.Error) as exc:
            self._warn("write", exc)

    def __len__(self) -> int:
        return 0 if self._cache is None else len(self._cache)

    def close(self) -> None:
        """Release the sqlite handles."""
        if self._cache is not None:
            self._cache.close()
