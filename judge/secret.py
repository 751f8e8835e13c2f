"""The secret behind the delimiter keys: set it, or one is made and kept beside the cache.

Keys must be unpredictable to the policy but stable for a given sample, so that the same
sample renders the same request and the verdict cache keeps hitting. The secret therefore
lives as long as the cache: ``JUDGE_FENCE_SECRET`` if set (e.g. one per deployment),
otherwise a random one written once into the cache directory (on Lambda, per container,
like the cache itself), otherwise (no cache) a random one for this process.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

SECRET_ENV = "JUDGE_FENCE_SECRET"
SECRET_FILE = "fence.key"

log = logging.getLogger("judge")


def load_secret(cache_dir: Path | None) -> bytes:
    """The delimiter secret for this run (see the module docstring for where it comes from)."""
    if env := os.environ.get(SECRET_ENV):
        return env.encode("utf-8", "surrogatepass")
    if cache_dir is not None:
        path = cache_dir / SECRET_FILE
        try:
            return _read_or_create(path)
        except OSError as exc:
            log.warning("cannot keep the delimiter secret at %s (%s): one per process", path, exc)
    return secrets.token_bytes(32)


def _read_or_create(path: Path) -> bytes:
    try:
        existing = path.read_bytes()
        if len(existing) >= 16:
            return existing
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_bytes(32)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(fresh)
    try:
        os.link(tmp, path)  # atomic and never overwrites: concurrent processes agree
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()
