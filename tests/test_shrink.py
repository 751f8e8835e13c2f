"""Uncertainty-aware rewards: ``[reward] shrink`` pulls disputed dimensions to the group mean."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from judge.cli._tables import explain
from judge.config import RewardSettings
from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.pipeline import BatchResult
from judge.server.scripted import Judged, ScriptedJudge
from judge.shrink import disagreement, shrink_group, weight
from tests.conftest import ServeFn, make_evaluator, sample

IDS = ("judge-a", "judge-b")
# Each response names the verdict each judge gives it: judge-a's, then judge-b's.
RESPONSES = {
    "s1": "Thanks for asking! Bring the tent back within 60 days, with or without a receipt.",
    "s2": "You can return the tent within 60 days. Bring it to any store and we will help.",
    "s3": "Returns take 60 days. Bring the tent and the receipt to the desk, that is all.",
}
SCORES = {"s1": (5, 5), "s2": (3, 3), "s3": (1, 4)}  # s3: the judges disagree
LONE = "Happy to help: any store takes the tent back within 60 days, receipt or not."


def verdicts(member: int) -> ScriptedJudge:
    by_response = {RESPONSES[k]: v[member] for k, v in SCORES.items()} | {LONE: (2, 5)[member]}

    def score_fn(j: Judged) -> int:
        return by_response[j.response]

    return ScriptedJudge(score_fn=score_fn)


def batch() -> list[dict[str, Any]]:
    """Three answers to one prompt (a group), and one to another (a group of one)."""
    group = [sample(k, r) for k, r in RESPONSES.items()]
    return [*group, sample("lone", LONE, prompt="Can I return a stove?")]


def run(serve: ServeFn, **reward: Any) -> tuple[list[dict[str, Any]], BatchResult]:
    serve(ScriptedJudge(models={m: verdicts(i) for i, m in enumerate(IDS)}))
    evaluator = make_evaluator(
        judge={"panel": [{"model_id": m} for m in IDS], "aggregation": "mean"},
        rubrics={"tone": {"weight": 1.0}},
        gates=[],
        **({"reward": reward} if reward else {}),
    )
    return run_event(evaluator, batch(), Deadline.never())


def unit(score: int) -> float:
    return (score - 1) / 4  # tone's 1..5 scale on 0..1


def test_a_disputed_dimension_moves_toward_its_group_mean_by_hand(serve: ServeFn) -> None:
    k = 0.8
    answers, result = run(serve, shrink=k)
    means = {s: (unit(a) + unit(b)) / 2 for s, (a, b) in SCORES.items()}  # 1.0, 0.5, 0.375
    group_mean = sum(means.values()) / 3  # 0.625, before any member is shrunk
    spread = unit(4) - unit(1)  # 0.75
    w = k * spread  # 0.6
    expected = {
        "s1": means["s1"],  # judges agree: weight 0
        "s2": means["s2"],
        "s3": means["s3"] - w * (means["s3"] - group_mean),  # 0.525
        "lone": (unit(2) + unit(5)) / 2,  # a group of one: untouched
    }
    rewards = {a["id"]: a["aggregate_reward_score"] for a in answers}
    for sid, d in expected.items():
        assert rewards[sid] == pytest.approx(-1.0 + 2.0 * d)  # onto [output] -1..1
    by_id = {r.id: r for r in result.results}
    s3 = by_id["s3"].dimensions[0]
    assert s3.normalized == pytest.approx(0.525)
    assert s3.shrink is not None
    assert s3.shrink.details() == pytest.approx(
        {"disagreement": 0.75, "weight": 0.6, "group_mean": 0.625, "before": 0.375}
    )
    record = explain(by_id["s3"])["dimensions"]["tone"]
    assert record["normalized"] == pytest.approx(0.525)
    assert record["shrink"]["weight"] == pytest.approx(0.6)
    assert record["panel_spread"] == pytest.approx(0.75)
    s1 = by_id["s1"].dimensions[0]
    assert s1.shrink is not None and s1.shrink.weight == 0.0
    assert by_id["lone"].dimensions[0].shrink is None
    assert "shrink" not in explain(by_id["lone"])["dimensions"]["tone"]


def test_k_zero_leaves_rewards_identical(serve: ServeFn) -> None:
    off, off_result = run(serve)
    zero, zero_result = run(serve, shrink=0.0)
    on, _ = run(serve, shrink=1.0)
    assert [a["aggregate_reward_score"] for a in zero] == [a["aggregate_reward_score"] for a in off]
    assert all(d.shrink is None for r in zero_result.results for d in r.dimensions)
    assert all(d.shrink is None for r in off_result.results for d in r.dimensions)
    # and the test can fail: with k = 1 the disputed s3 does move
    assert on[2]["aggregate_reward_score"] != off[2]["aggregate_reward_score"]
    assert [a["aggregate_reward_score"] for i, a in enumerate(on) if i != 2] == [
        a["aggregate_reward_score"] for i, a in enumerate(off) if i != 2
    ]


def test_a_gated_rubric_is_not_shrunk(serve: ServeFn) -> None:
    serve(ScriptedJudge(models={m: verdicts(i) for i, m in enumerate(IDS)}))
    evaluator = make_evaluator(
        judge={"panel": [{"model_id": m} for m in IDS], "aggregation": "mean"},
        rubrics={"tone": {"weight": 1.0}},
        gates=[{"rubric": "tone", "below": 0.1}],
        reward={"shrink": 1.0},
    )
    _, result = run_event(evaluator, batch(), Deadline.never())
    assert all(d.shrink is None for r in result.results for d in r.dimensions)


def test_group_of_one_and_unscored_members_are_left_alone() -> None:
    assert shrink_group([0.2], [1.0], 1.0) == [(0.2, None)]
    assert shrink_group([0.2, None], [1.0, 1.0], 1.0) == [(0.2, None), (None, None)]
    out = shrink_group([0.0, 1.0, None], [1.0, None, 0.5], 1.0)
    assert out[0][0] == pytest.approx(0.5)  # k * u = 1: the group mean of 0.0 and 1.0
    assert out[1] == (1.0, None)  # no disagreement measured: no evidence, no shrink
    assert out[2] == (None, None)


def test_disagreement_takes_the_larger_measure_within_bounds() -> None:
    assert disagreement(None, None) is None
    assert disagreement(0.25, None) == 0.25
    assert disagreement(0.25, 0.5) == 0.5
    assert disagreement(1.5, float("nan")) == 1.0
    assert weight(1.0, 1.0) == 1.0 and weight(0.5, 0.5) == 0.25 and weight(0.0, 1.0) == 0.0


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf])
def test_shrink_setting_is_bounded(bad: float) -> None:
    with pytest.raises(ValidationError):
        RewardSettings(shrink=bad)


unit_or_none = st.one_of(st.none(), st.floats(0.0, 1.0))


@given(
    st.lists(st.tuples(unit_or_none, unit_or_none), min_size=1, max_size=8),
    st.floats(0.0, 1.0),
)
def test_shrunk_scores_lie_between_the_score_and_the_group_mean(
    members: list[tuple[float | None, float | None]], k: float
) -> None:
    units = [u for u, _ in members]
    out = shrink_group(units, [d for _, d in members], k)
    for before, (after, how) in zip(units, out, strict=True):
        if how is None:
            assert after == before
            continue
        assert before is not None and after is not None
        assert 0.0 <= how.weight <= 1.0 and 0.0 <= after <= 1.0
        lo, hi = sorted((before, how.group_mean))
        assert lo - 1e-12 <= after <= hi + 1e-12
        assert abs(after - how.group_mean) <= abs(before - how.group_mean) + 1e-12


def test_the_batch_reports_its_mean_shrink_weight_only_when_shrink_is_on(serve: ServeFn) -> None:
    from judge.observe import batch_figures

    _, on = run(serve, shrink=0.8)
    _, off = run(serve)
    # s1, s2 weighed 0; s3 0.6; the lone sample is not weighed (a group of one)
    assert batch_figures(on, ["tone"], None)["ShrinkWeightMean"] == pytest.approx(0.6 / 3)
    assert "ShrinkWeightMean" not in batch_figures(off, ["tone"], None)


def test_two_orders_that_disagree_shrink_by_their_gap(serve: ServeFn) -> None:
    """Group mode, two orders: a judge with a position bias disagrees with itself."""

    def score_fn(j: Judged) -> int:
        return {RESPONSES["s1"]: 4, RESPONSES["s2"]: 3, RESPONSES["s3"]: 2}[j.response]

    serve(ScriptedJudge(score_fn=score_fn, position_bias=2.0))
    results = {}
    for k in (0.0, 1.0):
        evaluator = make_evaluator(
            judge={"mode": "group", "group_orders": 2},
            rubrics={"tone": {"weight": 1.0}},
            gates=[],
            reward={"shrink": k},
        )
        _, result = run_event(evaluator, batch()[:3], Deadline.never())
        results[k] = [r.dimensions[0] for r in result.results]
    before = [d.normalized for d in results[0.0]]
    gaps = [d.order_gap for d in results[0.0]]
    assert all(g is not None for g in gaps) and max(g or 0.0 for g in gaps) > 0
    assert all(d.spread is None for d in results[0.0])  # one judge: no panel spread
    group_mean = sum(b or 0.0 for b in before) / 3
    for b, gap, after in zip(before, gaps, results[1.0], strict=True):
        assert b is not None and gap is not None and after.shrink is not None
        assert after.shrink.disagreement == pytest.approx(gap)
        assert after.normalized == pytest.approx(b - min(1.0, gap) * (b - group_mean))
