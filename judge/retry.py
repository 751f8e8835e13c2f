"""Retry a judge call with tenacity: exponential backoff with full jitter, deadline-bounded."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, stop_after_attempt, wait_random_exponential
from tenacity.stop import stop_base

from judge.bedrock import classify, loopback_refused
from judge.config import RetrySettings
from judge.deadline import Deadline

T = TypeVar("T")
# Attempts at a loopback endpoint that refuses connections: nothing listens there. A few
# quick tries ride out a momentary refusal (a full listen backlog); a dead server is
# reported within a second instead of after a minute of backoff.
LOOPBACK_REFUSED_ATTEMPTS = 3


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

    Validation and access errors, and a local judge's crash answer, are raised at once:
    asking again cannot help. A refused connection to this machine is tried only
    ``LOOPBACK_REFUSED_ATTEMPTS`` times: nothing listens there, and a minute of backoff will
    not start ``judge serve``.
    """
    model_errors = 0
    refused = 0

    def should_retry(state: RetryCallState) -> bool:
        nonlocal model_errors, refused
        exc = state.outcome.exception() if state.outcome else None
        if exc is None:
            return False
        kind = classify(exc)
        if kind == "model_error":
            model_errors += 1
            if model_errors > settings.model_error_retries:
                return False
        if loopback_refused(exc) is not None:
            refused += 1
            if refused >= LOOPBACK_REFUSED_ATTEMPTS:
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
