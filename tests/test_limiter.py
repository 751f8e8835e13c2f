"""Adaptive concurrency against a judge with a concurrency quota."""

from __future__ import annotations

import threading

import pytest

from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.limiter import AdaptiveLimit, DeadlineReached
from judge.server.scripted import ScriptedJudge
from tests.conftest import ServeFn, make_evaluator, sample


def test_limit_halves_on_throttle_and_creeps_back() -> None:
    limit = AdaptiveLimit(16)
    limit.release(limit.acquire(Deadline.never()), throttled=True)
    assert limit.limit == 8
    for _ in range(8):
        limit.release(limit.acquire(Deadline.never()), throttled=False)
    assert limit.limit == 9
    for _ in range(10):
        limit.release(limit.acquire(Deadline.never()), throttled=True)
    assert limit.limit == 1  # never below the minimum


def test_a_burst_of_throttles_is_one_signal() -> None:
    limit = AdaptiveLimit(32)
    tickets = [limit.acquire(Deadline.never()) for _ in range(5)]
    for ticket in tickets:
        limit.release(ticket, throttled=True)
    assert limit.limit == 16  # five calls already in flight: one cut, not five


def test_waiting_for_a_slot_respects_the_deadline() -> None:
    limit = AdaptiveLimit(1)
    ticket = limit.acquire(Deadline.never())
    with pytest.raises(DeadlineReached):
        limit.acquire(Deadline.in_seconds(0.2))
    released = threading.Timer(0.1, limit.release, args=(ticket, False))
    released.start()
    limit.acquire(Deadline.in_seconds(5))  # gets the slot once it is released


def _run(serve: ServeFn, adaptive: bool) -> tuple[int, int, list[bool]]:
    judge = serve(ScriptedJudge(latency_s=0.05, max_in_flight=4))
    evaluator = make_evaluator(
        rubrics={"tone": {"weight": 1}},
        runtime={"cache": False, "concurrency": 32, "adaptive_concurrency": adaptive},
        retry={"max_attempts": 8, "initial_backoff_s": 0.05, "max_backoff_s": 0.5},
    )
    batch = [sample(str(i), f"Thanks for asking, answer {i}.") for i in range(64)]
    _, result = run_event(evaluator, batch, Deadline.never())
    return (
        judge.served.get("over_quota", 0),
        judge.served["ok"],
        [r.unscored for r in result.results],
    )


def test_adaptive_limit_cuts_throttling_against_a_quota(serve: ServeFn) -> None:
    fixed_throttled, _, fixed_unscored = _run(serve, adaptive=False)
    adaptive_throttled, ok, adaptive_unscored = _run(serve, adaptive=True)
    assert ok == 64 and not any(adaptive_unscored)
    assert adaptive_throttled < fixed_throttled / 2, (adaptive_throttled, fixed_throttled)
    print(
        f"429s against a quota of 4 in flight: fixed 32 -> {fixed_throttled} "
        f"({sum(fixed_unscored)} unscored), adaptive -> {adaptive_throttled}"
    )
