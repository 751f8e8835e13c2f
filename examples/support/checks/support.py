"""Checks of the support example that no built-in kind states (``kind = "python"``).

Each function gets the parsed sample (``judge.checks.CheckInput``: ``conversation``,
``response``, ``reference`` and ``raw``, the sample as the trainer sent it) and returns a
bool or a number in 0..1. It runs in a worker process with a time limit; an exception or a
timeout leaves the dimension unscored with the reason, never 0.
"""

from __future__ import annotations

import re
from typing import Any

# Markdown an SMS shows as clutter: emphasis, headings, bullets, code, links.
MARKDOWN = re.compile(r"\*\*|__|^#{1,6} |^[ \t]*[-*] |`|\[[^\]\n]{1,200}\]\(", re.MULTILINE)


def sms_plain(sample: Any) -> bool:
    """True unless the sample's channel is SMS and the reply uses markdown."""
    metadata = sample.raw.get("metadata")
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    if channel != "sms":
        return True
    return MARKDOWN.search(sample.response[:20000]) is None
