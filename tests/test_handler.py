"""The Lambda contract end to end: boto3 -> local Converse server -> handler answer."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from judge import lambda_handler
from judge.deadline import Deadline, LocalContext
from judge.errors import EventError
from judge.lambda_handler import run_event
from judge.server.scripted import Judged, ScriptedJudge
from tests.conftest import REPO, ServeFn, make_evaluator, sample


def _variations() -> list[Any]:
    q = "My tent pole snapped. Can I get a replacement?"
    good = "I'm sorry it snapped, thank you for telling us. We'll send a new pole today."
    return [
        # Bedrock docs: reference under metadata, string content.
        {
            "id": "meta-ref",
            "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": good}],
            "metadata": {"reference_answer": {"compliant": "Yes"}, "my_key": "x"},
        },
        # SageMaker page: reference at top level.
        {
            "id": "top-ref",
            "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": good}],
            "reference_answer": "Offer a replacement.",
        },
        # Content as text blocks, nova_assistant role, system turn.
        {
            "id": "blocks",
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
                {"role": "user", "content": [{"type": "text", "text": q}]},
                {"role": "nova_assistant", "content": [{"type": "text", "text": good}]},
            ],
        },
        # Multi-turn: the last assistant turn is judged; earlier ones are context.
        {
            "id": 42,
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Whatever."},
                {"role": "user", "content": q},
                {"role": "assistant", "content": good},
            ],
        },
        # Degenerate: guarded.
        {
            "id": "opener",
            "messages": [
                {"role": "user", "content": q},
                {"role": "assistant", "content": "Thought process:"},
            ],
        },
        # Malformed samples: each still answered.
        "not a sample",
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": good}]},
        {"id": "no-assistant", "messages": [{"role": "user", "content": q}]},
        {
            "id": "bad-content",
            "messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": good}],
        },
        {"id": "no-messages"},
    ]


def _check_answer(answer: list[dict[str, Any]], raw: list[Any]) -> None:
    assert len(answer) == len(raw)
    for item, src in zip(answer, raw, strict=True):
        expected_id = src.get("id") if isinstance(src, dict) else None
        assert item["id"] == expected_id
        score = item["aggregate_reward_score"]
        assert isinstance(score, float) and math.isfinite(score) and -1.0 <= score <= 1.0
        for metric in item["metrics_list"]:
            assert set(metric) == {"name", "value", "type"}
            assert metric["type"] in ("Reward", "Metric")
            assert math.isfinite(metric["value"])
    json.dumps(answer, allow_nan=False)


@pytest.mark.parametrize("wrap", [False, True])
def test_every_contract_variation(serve: ServeFn, wrap: bool) -> None:
    seen: list[Judged] = []

    def score(j: Judged) -> int:
        seen.append(j)
        return 5

    serve(ScriptedJudge(score_fn=score))
    raw = _variations()
    event: Any = {"trajectories": raw} if wrap else raw
    answer, _ = run_event(make_evaluator(), event, Deadline.never())
    _check_answer(answer, raw)
    by_id = {str(a["id"]): a for a in answer}
    flags = {i: {m["name"]: m["value"] for m in by_id[i]["metrics_list"]} for i in by_id}
    for ok in ("meta-ref", "top-ref", "blocks", "42"):
        assert by_id[ok]["aggregate_reward_score"] == 1.0
        assert flags[ok]["helpfulness"] == 1.0 and flags[ok]["unscored"] == 0
    assert by_id["opener"]["aggregate_reward_score"] == -1.0 and flags["opener"]["guarded"] == 1
    for bad in ("None", "no-assistant", "bad-content", "no-messages"):
        assert flags[bad]["malformed"] == 1
        assert by_id[bad]["aggregate_reward_score"] == 0.0  # the unscored policy's value
    # The judge saw the reference wherever it was, and the earlier turns as context.
    prompts = [j.user_text for j in seen]
    assert any('{"compliant": "Yes"}' in p for p in prompts)
    assert any("Offer a replacement." in p for p in prompts)
    assert any("·assistant│ Whatever." in p for p in prompts)  # a marked turn of its role
    assert any("·system│ Be kind." in p for p in prompts)


@pytest.mark.parametrize("event", [{"foo": 1}, "[]", None, 3, {"body": "[]"}])
def test_an_event_that_is_not_a_batch_is_a_clear_error(event: object) -> None:
    with pytest.raises(EventError, match="not a batch"):
        run_event(make_evaluator(), event, Deadline.never())


def test_a_lone_sample_object_is_a_batch_of_one() -> None:
    answer, batch = run_event(make_evaluator(), {"id": "1", "messages": []}, Deadline.never())
    assert [a["id"] for a in answer] == ["1"]
    assert batch.results[0].malformed is not None


def test_empty_batch() -> None:
    answer, _ = run_event(make_evaluator(), [], Deadline.never())
    assert answer == []


LADDER = [
    "Whatever. Figure it out yourself.",
    "Send it back.",
    "You can return it within 30 days on the returns page.",
    "Sure, you can return it within 30 days: start on the returns page and print the label.",
    "Of course. Start a return on the returns page within 30 days, print the free label, "
    "and drop the tent at any carrier point; your refund follows in 3-5 days. Thanks!",
]
# What a sensible judge says about each rung (helpfulness, tone, brand_voice).
LADDER_SCORES = {
    "helpfulness": [1, 2, 3, 4, 5],
    "tone": [1, 2, 3, 3, 5],
    "brand_voice": [1, 2, 2, 4, 5],
}


def test_quality_ladder_is_ordered(serve: ServeFn) -> None:
    def score(j: Judged) -> int:
        return LADDER_SCORES[j.rubric or ""][LADDER.index(j.response)]

    serve(ScriptedJudge(score_fn=score))
    answer, _ = run_event(
        make_evaluator(), [sample(str(i), r) for i, r in enumerate(LADDER)], Deadline.never()
    )
    rewards = [a["aggregate_reward_score"] for a in answer]
    assert rewards == sorted(rewards) and len(set(rewards)) == len(rewards), rewards
    assert rewards[0] == -1.0  # brand_voice 1 trips the floor gate


def test_module_handler_uses_judge_config(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(ScriptedJudge(score_fn=lambda j: 4))
    config = tmp_path / "reward.toml"
    config.write_text(
        f'[paths]\nrubrics = "{REPO / "rubrics"}"\nprompts = "{REPO / "prompts"}"\n'
        "[rubrics]\ntone = { weight = 1 }\n[output]\nmin = 0.0\nmax = 10.0\n"
    )
    monkeypatch.setenv("JUDGE_CONFIG", str(config))
    lambda_handler.reset()
    try:
        answer = lambda_handler.handler([sample("a", "Thanks, happy to help.")], LocalContext(60))
    finally:
        lambda_handler.reset()
    assert answer[0]["id"] == "a"
    assert answer[0]["aggregate_reward_score"] == pytest.approx(7.5)  # 4 on 1..5 -> 0.75


def test_module_handler_with_a_panel_in_group_mode(
    serve: ServeFn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The deployed entry point: two judges, each judging the prompt's rollouts together."""
    judges = {
        "judge-a": ScriptedJudge(score_fn=lambda j: 2 if "Read" in j.response else 4),
        "judge-b": ScriptedJudge(score_fn=lambda j: 1 if "Read" in j.response else 5),
    }
    model = serve(ScriptedJudge(models=judges))
    config = tmp_path / "reward.toml"
    config.write_text(
        f'[paths]\nrubrics = "{REPO / "rubrics"}"\nprompts = "{REPO / "prompts"}"\n'
        '[judge]\nmode = "group"\ngroup_orders = 2\n'
        'panel = [{ model_id = "judge-a" }, { model_id = "judge-b" }]\n'
        "[rubrics]\ntone = { weight = 1 }\n"
    )
    monkeypatch.setenv("JUDGE_CONFIG", str(config))
    event = [
        sample("a", "Thanks, happy to help: bring it back within 60 days."),
        sample("b", "Read the manual."),
        sample("c", "Thanks, happy to help: bring it back within 60 days."),  # b's twin
        sample("d", "Sure! Any store takes it back."),
    ]
    lambda_handler.reset()
    try:
        answer = lambda_handler.handler({"trajectories": event}, LocalContext(60))
    finally:
        lambda_handler.reset()
    rewards = {a["id"]: a["aggregate_reward_score"] for a in answer}
    assert list(rewards) == ["a", "b", "c", "d"]
    assert rewards["a"] == rewards["c"] == rewards["d"] == pytest.approx(0.75)  # (4 + 5) / 2
    assert rewards["b"] == pytest.approx(-0.75)  # units (0.25 + 0) / 2 onto -1..1
    assert len(model.requests) == 4  # 2 judges x 2 orders, one group of 3 distinct
    metrics = {m["name"]: m["value"] for m in answer[1]["metrics_list"]}
    assert metrics["panel_spread_tone"] == pytest.approx(0.25)
    assert metrics["order_gap_tone"] == 0.0
    emf = json.loads(capsys.readouterr().out.splitlines()[0])  # the invocation's EMF line
    assert emf["PanelSpreadMean"] == [pytest.approx(0.25)] and emf["OrderGapMean"] == [0.0]
