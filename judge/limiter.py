"""Adaptive concurrency: fewer judge calls in flight when Bedrock throttles, more when it doesn't.

Bedrock quotas are per account, model and region, and it sends no rate-limit headers, so the
only signal is a 429. Backoff alone keeps 32 callers hammering a quota that fits 8; an
additive-increase / multiplicative-decrease limit (as in TCP) settles near what the quota
allows. It lives as long as the container, so a warm Lambda remembers what it learnt.
"""

from __future__ import annotations

import threading

from judge.deadline import Deadline


class DeadlineReached(Exception):
    """No slot became free before the deadline."""


class AdaptiveLimit:
    """A concurrency limit between ``minimum`` and ``maximum``, adjusted by outcomes."""

    def __init__(self, maximum: int, minimum: int = 1) -> None:
        self.maximum = maximum
        self.minimum = minimum
        self.limit = maximum
        self._in_flight = 0
        self._successes = 0
        self._epoch = 0  # bumped at every cut
        self._cond = threading.Condition()

    def acquire(self, deadline: Deadline) -> int:
        """Wait for a slot; returns the ticket to release it with.

        Raises ``DeadlineReached`` if no slot frees up in time.
        """
        with self._cond:
            while self._in_flight >= self.limit:
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise DeadlineReached("no judge slot before the deadline")
                self._cond.wait(timeout=min(remaining, 1.0))
            self._in_flight += 1
            return self._epoch

    def release(self, ticket: int, throttled: bool) -> None:
        """Free a slot; halve the limit on a throttle, else creep up by one per window.

        Only a call started after the last cut may cut again: the 429s of calls that were
        already in flight are one signal, not one each.
        """
        with self._cond:
            self._in_flight -= 1
            if throttled:
                self._successes = 0
                if ticket == self._epoch:
                    self.limit = max(self.minimum, self.limit // 2)
                    self._epoch += 1
            else:
                self._successes += 1
                if self._successes >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self._successes = 0
            self._cond.notify_all()
