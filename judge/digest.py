"""The one file-hash helper: manifests, anchors, the zip and templates all name bytes alike."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes: what a manifest or version records about that file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
