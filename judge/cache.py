"""Verdict cache on disk (diskcache): the key covers everything that determines a verdict.

Only verdicts are stored. Unscored outcomes (errors, refusals, unparseable answers) are
never cached, so a transient failure cannot stick to a sample for the rest of a run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache

from judge.verdict import Verdict

# Bump when the meaning of a cached entry changes (e.g. the Verdict model).
CACHE_FORMAT = 1


def cache_key(
    *,
    model_id: str,
    request: dict[str, Any],
    rubric_hash: str,
    template_hash: str,
    draw: int = 0,
) -> str:
    """Key for one judgement.

    ``request`` is the full rendered Converse body: inference settings, tool schema, system
    prompt (rubric and template as rendered) and the message with the conversation and the
    response. The rubric file and template hashes are added as well, so an edit that does
    not change the rendered text still starts afresh. ``draw`` separates repeated samples
    of the same judgement (self-consistency).
    """
    payload = {
        "format": CACHE_FORMAT,
        "model": model_id,
        "request": request,
        "rubric": rubric_hash,
        "template": template_hash,
        "draw": draw,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class VerdictCache:
    """A thread- and process-safe verdict store; a no-op when ``directory`` is None."""

    def __init__(self, directory: Path | None, size_limit_mb: int = 512) -> None:
        self.directory = directory
        self._cache: diskcache.Cache | None = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(str(directory), size_limit=size_limit_mb * 2**20)

    def get(self, key: str) -> Verdict | None:
        """The cached verdict, or None."""
        if self._cache is None:
            return None
        raw = self._cache.get(key)
        if not isinstance(raw, dict):
            return None
        try:
            return Verdict.model_validate(raw)
        except ValueError:
            return None  # an entry from an incompatible version: judge again

    def put(self, key: str, verdict: Verdict) -> None:
        """Store a verdict (callers never pass unscored outcomes)."""
        if self._cache is not None:
            self._cache.set(key, verdict.model_dump())

    def __len__(self) -> int:
        return 0 if self._cache is None else len(self._cache)

    def close(self) -> None:
        """Release the sqlite handles."""
        if self._cache is not None:
            self._cache.close()
