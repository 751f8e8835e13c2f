"""Combined mode: every rubric of a sample judged in one call, with the same rewards."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.server.scripted import Judged, ScriptedJudge
from tests.conftest import REPO, ServeFn, make_evaluator, project_copy, sample


def per_rubric(j: Judged) -> int:
    """Different scores per rubric and response, so a mix-up between rubrics shows."""
    base = {"tone": 4, "helpfulness": 2, "brand_voice": 1}.get(j.rubric or "", 3)
    return min(j.scores[-1], base + len(j.response) % 2)


BATCH = [
    sample("a", "Thanks for asking! Bring the tent back within 60 days."),
    sample("b", "Send it back."),
    sample("c", "Send it back."),  # a duplicate: judged once
    sample("d", "Sure, happy to help: start a return on our site.", prompt="Can I return boots?"),
]


@pytest.mark.parametrize("mode", ["tool", "text"])
def test_one_call_per_sample_and_the_same_rewards(serve: ServeFn, mode: str) -> None:
    judge = serve(ScriptedJudge(score_fn=per_rubric))
    separate, sep = run_event(make_evaluator(judge={"verdict_mode": mode}), BATCH, Deadline.never())
    calls_separate = len(judge.requests)
    combined, comb = run_event(
        make_evaluator(judge={"verdict_mode": mode, "combine_rubrics": True}),
        BATCH,
        Deadline.never(),
    )
    assert calls_separate == 3 * 3  # three unique (prompt, response) pairs x three rubrics
    assert len(judge.requests) - calls_separate == 3  # one call per unique pair
    assert [a["aggregate_reward_score"] for a in combined] == [
        a["aggregate_reward_score"] for a in separate
    ]
    assert [a["metrics_list"] for a in combined] == [a["metrics_list"] for a in separate]
    assert comb.deduplicated == sep.deduplicated == 3


@pytest.mark.parametrize("mode", ["tool", "text"])
def test_a_rubric_missing_from_the_answer_is_unscored_alone(serve: ServeFn, mode: str) -> None:
    serve(ScriptedJudge(score_fn=per_rubric, omit="tone"))
    evaluator = make_evaluator(judge={"verdict_mode": mode, "combine_rubrics": True})
    _, batch = run_event(evaluator, BATCH[:1], Deadline.never())
    dims = {d.rubric: d for d in batch.results[0].dimensions}
    assert dims["tone"].normalized is None and "tone" in str(dims["tone"].unscored)
    assert dims["helpfulness"].normalized is not None
    assert dims["brand_voice"].normalized is not None
    assert not batch.results[0].unscored  # the [unscored] policy drops the one dimension


def test_combined_verdicts_are_cached_per_rubric(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=per_rubric))
    first, _ = run_event(make_evaluator(judge={"combine_rubrics": True}), BATCH, Deadline.never())
    calls = len(judge.requests)
    again, batch = run_event(
        make_evaluator(judge={"combine_rubrics": True}), BATCH, Deadline.never()
    )
    assert len(judge.requests) == calls and batch.stats.cache_hits == 3
    assert again == first


def test_a_partial_answer_is_not_cached_as_complete(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=per_rubric, omit="tone"))
    evaluator = make_evaluator(judge={"combine_rubrics": True}, retry={"parse_retries": 0})
    run_event(evaluator, BATCH[:1], Deadline.never())
    run_event(evaluator, BATCH[:1], Deadline.never())
    assert len(judge.requests) == 2  # asked again: tone never got a verdict


def test_combined_request_has_every_rubric(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=per_rubric))
    run_event(make_evaluator(judge={"combine_rubrics": True}), BATCH[:1], Deadline.never())
    request: dict[str, Any] = judge.requests[0]
    schema = request["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert schema["required"] == ["helpfulness", "tone", "brand_voice"]  # reward.toml's order
    assert schema["properties"]["tone"]["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]
    system = request["system"][0]["text"]
    for title in ("Tone", "Helpfulness", "Brand voice"):
        assert title in system


def test_render_shows_the_combined_request(tmp_path: Any) -> None:
    config = project_copy(tmp_path)
    config.write_text(config.read_text().replace("[judge]", "[judge]\ncombine_rubrics = true", 1))
    args = ["render", "--sample", str(REPO / "examples/batch.jsonl"), "--config", str(config)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)
    assert request["requestMetadata"]["rubric"] == "helpfulness,tone,brand_voice"
    plain = project_copy(tmp_path / "plain")
    missing = CliRunner().invoke(main, [*args[:-1], str(plain)])
    assert missing.exit_code == 2 and "--rubric" in missing.output


def test_calibration_judges_anchors_as_the_lambda_does(serve: ServeFn) -> None:
    """Combined mode: anchors are judged in the combined call, and the map is tied to it."""
    from judge.artefact import inference_fingerprint
    from judge.prompt import JudgeInput, Turn

    judge = serve(ScriptedJudge(score_fn=per_rubric))
    evaluator = make_evaluator(judge={"combine_rubrics": True})
    item = JudgeInput((Turn("user", "Can I return it?"),), "Yes, within 60 days.")
    outcomes, _ = evaluator.judge_items(evaluator.rubrics["tone"], [item], 1, Deadline.never())
    assert judge.requests[0]["requestMetadata"]["rubric"] == "helpfulness,tone,brand_voice"
    assert outcomes[0][0].score == per_rubric(  # type: ignore[union-attr]
        Judged(item.response, "", "", [1, 2, 3, 4, 5], "tone")
    )
    separate = make_evaluator().config.judge
    assert inference_fingerprint(evaluator.config.judge) != inference_fingerprint(separate)
