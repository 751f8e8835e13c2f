"""Retry a judge call with tenacity: exponential backoff with full jitter, deadline-bounded."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, stop_after_attempt, wait_random_exponential
from tenacity.stop import stop_base

from judge.bedrock import classify
from judge.config import RetrySettings
from judge.deadline import Deadline

T = TypeVar("T")


@dataclass
class RetryStats:
    """Counters shared by all calls of a batch (thread-safe)."""

    retries: int = 0
    throttles: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, error_class: str) -> None:
        """Count one retried failure."""
        with self._lock:
            self.retries += 1
            if error_class == "throttle":
                self.throttles += 1


class _StopAtDeadline(stop_base):
    """Stop when the next backoff sleep would end after the deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self.deadline.remaining()


def call_with_retries(
    fn: Callable[[], T],
    settings: RetrySettings,
    deadline: Deadline,
    stats: RetryStats | None = None,
) -> T:
    """Call ``fn``; retry throttles, transient and (a few) model errors; re-raise the last.

    Validation and access errors are raised at once: asking again cannot help.
    """
    model_errors = 0

    def should_retry(state: RetryCallState) -> bool:
        nonlocal model_errors
        exc = state.outcome.exception() if state.outcome else None
        if exc is None:
            return False
        kind = classify(exc)
        if kind == "model_error":
            model_errors += 1
            if model_errors > settings.model_error_retries:
                return False
        return kind != "fatal"

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if stats is not None and exc is not None:
            stats.record(classify(exc))

    retrying = Retrying(
        retry=should_retry,
        wait=wait_random_exponential(
            multiplier=settings.initial_backoff_s, max=settings.max_backoff_s
        ),
        stop=stop_after_attempt(settings.max_attempts) | _StopAtDeadline(deadline),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)
