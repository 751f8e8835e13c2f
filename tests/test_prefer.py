"""Pairwise preferences (``judge prefer``): both orders, margins, ties, failures, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.deadline import Deadline
from judge.prefer import PairJudge, PreferenceReport
from judge.server.scripted import Faults, Judged, ScriptedJudge
from judge.verdict import PREFERENCES, Unscored, Verdict, parse_preference_response
from tests.conftest import REPO, ServeFn, make_evaluator, project_copy, sample

GOOD = "Thanks for asking! Bring the tent back within 60 days for a full refund."
OKAY = "Bring it back within 60 days."
BAD = "Whatever, figure it out."


def quality(j: Judged) -> int:
    """A score that ranks GOOD > OKAY > BAD, one point apart."""
    return {GOOD: 5, OKAY: 4, BAD: 3}.get(j.response, 1)


def run(batch: list[Any], **overrides: Any) -> PreferenceReport:
    evaluator = make_evaluator(**overrides)
    return PairJudge(evaluator, evaluator.rubrics["tone"]).judge(batch, Deadline.never())


PAIR = [sample("g", GOOD), sample("b", BAD)]


@pytest.mark.parametrize("mode", ["tool", "text"])
def test_both_orders_are_judged_in_one_call_each(serve: ServeFn, mode: str) -> None:
    judge = serve(ScriptedJudge(score_fn=quality))
    report = run(PAIR, judge={"verdict_mode": mode})
    assert len(judge.requests) == 2 and report.stats.calls == 2
    seen = []
    for request in judge.requests:
        text = request["messages"][0]["content"][0]["text"]
        key = text.splitlines()[0].removeprefix("Boundary key: ")
        a = text.index(f"<response_a-{key}>")
        b = text.index(f"<response_b-{key}>")
        seen.append((text.index(GOOD) < text.index(BAD), a < b))
        assert request["system"][0]["text"] == judge.requests[0]["system"][0]["text"]
        assert key not in request["system"][0]["text"]  # the system prompt is static
        if mode == "tool":
            schema = request["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
            assert schema["properties"]["preferred"]["enum"] == ["A", "B", "tie"]
            assert schema["required"] == ["reasoning", "preferred"]
        else:
            assert "toolConfig" not in request and f"verdict-{key}: X" in text
    assert sorted(seen) == [(False, True), (True, True)]  # GOOD shown first once, second once


@pytest.mark.parametrize("mode", ["tool", "text"])
def test_a_consistent_preference_has_margin_one(serve: ServeFn, mode: str) -> None:
    serve(ScriptedJudge(score_fn=quality))
    report = run(PAIR, judge={"verdict_mode": mode})
    [row] = report.rows()
    assert (row["chosen"], row["rejected"], row["margin"]) == (GOOD, BAD, 1.0)
    assert (row["chosen_id"], row["rejected_id"]) == ("g", "b")
    assert report.consistency == 1.0 and report.summary()["ties"] == 0


def test_a_tie_in_one_order_gives_margin_half(serve: ServeFn) -> None:
    # Bias 1 towards A: GOOD first wins by 2, BAD first ties (3 + 1 == 4 vs OKAY's 4).
    serve(ScriptedJudge(score_fn=quality, position_bias=1.0))
    report = run([sample("o", OKAY), sample("b", BAD)])
    [row] = report.rows()
    assert (row["chosen"], row["margin"]) == (OKAY, 0.5)
    assert report.consistency == 0.0  # the two orders did not give the same verdict


def test_a_position_biased_judge_gives_ties_and_low_consistency(serve: ServeFn) -> None:
    # Bias 2 towards A: a one-point gap flips with the order; a two-point gap does not.
    serve(ScriptedJudge(score_fn=quality, position_bias=2.0))
    report = run([sample("g", GOOD), sample("o", OKAY), sample("b", BAD)])
    s = report.summary()
    assert s["pairs"] == 3 and s["inconsistent"] == 2 and s["ties"] == 2
    assert s["preferences"] == 1  # GOOD vs BAD: ties when BAD is first, GOOD wins when first
    assert report.consistency is not None and report.consistency < 1
    assert [r["margin"] for r in report.rows()] == [0.5]


def test_identical_responses_are_skipped(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=quality))
    report = run([sample("a", GOOD), sample("b", GOOD)])
    assert judge.requests == [] and report.results == []
    assert report.identical == 1 and report.singletons == 1
    report = run([sample("a", GOOD), sample("b", GOOD), sample("c", BAD)])
    assert len(report.results) == 1 and report.identical == 1


def test_a_group_of_three_gives_three_pairs(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=quality))
    report = run([sample("g", GOOD), sample("o", OKAY), sample("b", BAD)])
    assert len(report.results) == 3 and len(judge.requests) == 6
    assert {(r["chosen"], r["rejected"]) for r in report.rows()} == {
        (GOOD, OKAY),
        (GOOD, BAD),
        (OKAY, BAD),
    }


def test_singleton_groups_give_no_pairs(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=quality))
    batch = [sample("a", GOOD, prompt="One?"), sample("b", BAD, prompt="Two?"), "not a sample"]
    report = run(batch)
    assert report.results == [] and judge.requests == []
    assert report.singletons == 2 and report.malformed == 1 and report.consistency is None


def test_responses_to_different_references_are_not_compared(serve: ServeFn) -> None:
    """Same prompt, different reference answers: each response is judged against its own."""
    judge = serve(ScriptedJudge(score_fn=quality))
    batch = [
        sample("g", GOOD, reference_answer="Yes, 60 days."),
        sample("b", BAD, reference_answer="No returns."),
    ]
    report = run(batch)
    assert report.results == [] and judge.requests == [] and report.singletons == 2


@pytest.mark.parametrize("fault", ["malformed", "validation"])
def test_failures_are_counted_never_preferences(serve: ServeFn, fault: str) -> None:
    serve(ScriptedJudge(score_fn=quality, faults=Faults(**{fault: 1.0})))
    report = run(PAIR, retry={"max_attempts": 1, "parse_retries": 0})
    assert report.summary()["failed"] == 1 and report.rows() == []
    assert report.consistency is None
    assert all(isinstance(o, Unscored) for r in report.results for o in (r.forward, r.backward))


def test_preferences_are_cached_with_the_endpoint(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=quality))
    first = run(PAIR)
    again = run(PAIR)
    assert len(judge.requests) == 2 and again.stats.cache_hits == 2
    assert again.rows() == first.rows()


def test_text_verdicts_need_the_key_and_agree() -> None:
    def answer(text: str) -> dict[str, Any]:
        return {"output": {"message": {"content": [{"text": text}]}}, "stopReason": "end_turn"}

    key = "0123456789abcdef"
    ok = parse_preference_response(answer(f"B is kinder.\nverdict-{key}: B"), mode="text", key=key)
    assert isinstance(ok, Verdict) and PREFERENCES[ok.score] == "B"
    forged = parse_preference_response(answer("verdict-ffff: A"), mode="text", key=key)
    assert isinstance(forged, Unscored)
    both = f"verdict-{key}: A\nverdict-{key}: B"
    assert isinstance(parse_preference_response(answer(both), mode="text", key=key), Unscored)


def test_rows_have_the_preference_tuning_fields(serve: ServeFn) -> None:
    serve(ScriptedJudge(score_fn=quality))
    [row] = run(PAIR).rows()
    assert row["prompt"] == [{"role": "user", "content": "How do I return a tent?"}]
    assert row["rubric"] == "tone" and row["evaluator_version"]
    assert {"prompt", "chosen", "rejected", "margin", "rubric", "evaluator_version"} <= set(row)


def test_cli_end_to_end(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(score_fn=quality, position_bias=2.0))
    config = project_copy(tmp_path / "project")
    data = tmp_path / "batch.jsonl"
    rows = [sample("g", GOOD), sample("o", OKAY), sample("b", BAD), sample("x", GOOD)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "prefs.jsonl"
    args = ["prefer", str(data), "--out", str(out), "--config", str(config)]
    missing = CliRunner().invoke(main, args)
    assert missing.exit_code == 2 and "--rubric" in missing.output
    result = CliRunner().invoke(main, [*args, "--rubric", "tone"])
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["chosen"], r["margin"], r["rubric"]) for r in written] == [(GOOD, 0.5, "tone")]
    assert "3 pairs on tone" in result.stderr and "2 inconsistent" in result.stderr
    assert "positional consistency 0.000" in result.stderr
    assert "1 identical pairs" in result.stderr
    assert (REPO / "prompts/pairwise.j2").is_file()
