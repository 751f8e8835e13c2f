"""A point in time by which the batch must be answered (the Lambda deadline minus a margin)."""

from __future__ import annotations

import math
import time
from typing import Protocol


class LambdaContext(Protocol):
    """The part of the Lambda context object we use."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds before Lambda kills the invocation."""
        ...


class LocalContext:
    """Lambda's context for runs outside Lambda (``judge invoke``, tests): a time budget."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left of the budget."""
        return max(0, int((self._end - time.monotonic()) * 1000))


class Deadline:
    """Monotonic-clock deadline; ``Deadline.never()`` for the CLI."""

    def __init__(self, at: float) -> None:
        self.at = at

    @classmethod
    def never(cls) -> Deadline:
        """No deadline."""
        return cls(math.inf)

    @classmethod
    def in_seconds(cls, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now."""
        return cls(time.monotonic() + seconds)

    @classmethod
    def from_context(cls, context: LambdaContext | None, margin_ms: int) -> Deadline:
        """Deadline from the Lambda context, leaving ``margin_ms`` to build the answer."""
        if context is None or not hasattr(context, "get_remaining_time_in_millis"):
            return cls.never()
        remaining = context.get_remaining_time_in_millis() - margin_ms
        return cls(time.monotonic() + max(0, remaining) / 1000.0)

    def remaining(self) -> float:
        """Seconds left (may be ``inf``, never negative)."""
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0.0
