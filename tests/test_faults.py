"""Fault storms, retries and the deadline, against the real local Converse server."""

from __future__ import annotations

import time

import pytest

from judge import lambda_handler
from judge.deadline import Deadline, LocalContext
from judge.lambda_handler import run_event
from judge.pipeline import Evaluator
from judge.server.scripted import Faults, Judged, ScriptedJudge
from tests.conftest import ServeFn, make_evaluator, sample


def _score(j: Judged) -> int:
    """A deterministic judge: the score is encoded in the response's length."""
    return j.scores[len(j.response) % len(j.scores)]


def _batch(n: int) -> list[dict[str, object]]:
    return [sample(f"s{i}", "Thanks! " + "x" * i, prompt=f"Question {i // 4}?") for i in range(n)]


def test_fault_storm_matches_fault_free_run(serve: ServeFn) -> None:
    batch = _batch(48)
    serve(ScriptedJudge(score_fn=_score))
    clean, _ = run_event(make_evaluator(runtime={"cache": False}), batch, Deadline.never())

    storm = Faults(
        throttle=0.30,
        server_error=0.03,
        timeout=0.03,
        model_error=0.03,
        malformed=0.04,
        not_ready=0.02,
    )
    judge = serve(ScriptedJudge(score_fn=_score, faults=storm, seed=7))
    evaluator = make_evaluator(runtime={"cache": False}, retry={"max_attempts": 8})
    stormy, result = run_event(evaluator, batch, Deadline.never())

    equal = sum(a == b for a, b in zip(clean, stormy, strict=True))
    assert [a["id"] for a in stormy] == [b["id"] for b in clean]
    assert equal / len(batch) >= 0.90, f"{equal}/{len(batch)} equal"
    assert judge.served["throttle"] >= 20  # the storm really happened
    assert result.stats.throttles >= judge.served["throttle"] - 1
    assert result.stats.retries >= result.stats.throttles


def _one(evaluator: Evaluator) -> tuple[dict[str, object], int]:
    answer, batch = run_event(evaluator, [sample("a", "Thanks, happy to help.")], Deadline.never())
    return answer[0], batch.stats.retries


@pytest.mark.parametrize(
    ("faults", "requests", "reason"),
    [
        (Faults(validation=1.0), 1, "ValidationException"),
        (Faults(access_denied=1.0), 1, "AccessDeniedException"),
        (Faults(model_error=1.0), 3, "ModelErrorException"),  # 1 + model_error_retries (2)
        (Faults(throttle=1.0), 6, "ThrottlingException"),  # max_attempts
        (Faults(timeout=1.0), 6, "ModelTimeoutException"),
    ],
)
def test_which_errors_are_retried(
    serve: ServeFn, faults: Faults, requests: int, reason: str
) -> None:
    judge = serve(ScriptedJudge(faults=faults))
    evaluator = make_evaluator(rubrics={"tone": {"weight": 1}}, runtime={"cache": False})
    answer, batch = run_event(evaluator, [sample("a", "Thanks, happy to help.")], Deadline.never())
    assert len(judge.requests) == requests
    flags = {m["name"]: m["value"] for m in answer[0]["metrics_list"]}
    assert flags["unscored"] == 1
    assert answer[0]["aggregate_reward_score"] == 0.0  # the policy value, not a judged 0
    dim = batch.results[0].dimensions[0]
    assert dim.unscored is not None and reason in str(dim.unscored)


def test_group_mean_policy_gives_unscored_sample_its_peers_mean(serve: ServeFn) -> None:
    def score(j: Judged) -> int:
        if "broken" in j.response:
            raise RuntimeError("judge crashed")  # the server answers 500 every time
        return 5 if "great" in j.response else 3

    serve(ScriptedJudge(score_fn=score))
    batch = [
        sample("a", "great"),
        sample("b", "ok"),
        sample("c", "broken"),
        sample("d", "broken", prompt="Another prompt"),
    ]
    evaluator = make_evaluator(
        rubrics={"tone": {"weight": 1}}, runtime={"cache": False}, retry={"max_attempts": 2}
    )
    answer, _ = run_event(evaluator, batch, Deadline.never())
    rewards = [a["aggregate_reward_score"] for a in answer]
    assert rewards[:2] == [1.0, 0.0]
    assert rewards[2] == pytest.approx(0.5)  # mean of its group's scored peers
    assert rewards[3] == 0.0  # no scored peer: the fixed value


def test_hanging_judge_with_8s_left_answers_in_time(serve: ServeFn) -> None:
    serve(ScriptedJudge(faults=Faults(hang=1.0)))
    lambda_handler.reset()
    lambda_handler._evaluator = make_evaluator()  # the handler's own warm-container slot
    batch = _batch(8)
    started = time.monotonic()
    try:
        answer = lambda_handler.handler(batch, LocalContext(8))
    finally:
        lambda_handler.reset()
    elapsed = time.monotonic() - started
    assert elapsed < 8.0, elapsed
    assert [a["id"] for a in answer] == [s["id"] for s in batch]
    for item in answer:
        flags = {m["name"]: m["value"] for m in item["metrics_list"]}
        assert flags["unscored"] == 1 and flags["unscored_dimensions"] == 3
        assert item["aggregate_reward_score"] == 0.0


def test_partial_hang_keeps_the_verdicts_that_arrived(serve: ServeFn) -> None:
    def score(j: Judged) -> int:
        return 5

    judge = serve(ScriptedJudge(score_fn=score, faults=Faults(hang=0.3), seed=3))
    evaluator = make_evaluator(runtime={"cache": False})
    started = time.monotonic()
    answer, batch = run_event(evaluator, _batch(12), Deadline.in_seconds(2.0))
    assert time.monotonic() - started < 3.0
    assert judge.served.get("hang", 0) > 0
    scored = [a for a in answer if a["aggregate_reward_score"] == 1.0]
    assert scored, "verdicts that arrived before the deadline are used"
    reasons = {
        d.unscored.reason for r in batch.results for d in r.dimensions if d.unscored is not None
    }
    assert reasons == {"deadline"}


def test_backoff_never_sleeps_past_the_deadline(serve: ServeFn) -> None:
    serve(ScriptedJudge(faults=Faults(throttle=1.0)))
    evaluator = make_evaluator(
        rubrics={"tone": {"weight": 1}},
        runtime={"cache": False},
        retry={"max_attempts": 20, "initial_backoff_s": 2.0, "max_backoff_s": 30.0},
    )
    started = time.monotonic()
    answer, _ = run_event(evaluator, [sample("a", "Thanks!")], Deadline.in_seconds(1.5))
    assert time.monotonic() - started < 2.0
    assert answer[0]["aggregate_reward_score"] == 0.0
