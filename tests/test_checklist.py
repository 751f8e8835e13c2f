"""Rubrics that travel with the sample: checklists (explicit, implicit), markdown, references."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.checklist import Criterion, explicit_score, parse_sample_rubric
from judge.cli import main
from judge.config import SampleRubricSettings
from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.server.scripted import Faults, Judged, ScriptedJudge
from tests.conftest import REPO, ServeFn, make_evaluator, project_copy, sample

SETTINGS = SampleRubricSettings()
CHECKLIST = [
    {"criterion": "Says the return window is 60 days", "weight": 5},
    {"criterion": "Offers a replacement or a refund", "weight": 3},
    {"criterion": "Apologises", "weight": 2},
    {"criterion": "Blames the customer", "weight": -5},
]


def marked(j: Judged) -> int:
    """A criterion holds when the response carries its marker, e.g. "[criterion_2]"."""
    if j.scores == [0, 1]:
        return int(f"[{j.rubric}]" in j.response)
    return j.scores[-1] - 1  # fixed rubrics and implicit checklists: one below the top


def with_rubric(sid: str, response: str, rubric: Any, **extra: Any) -> dict[str, Any]:
    return sample(sid, response, metadata={"rubric": rubric}, **extra)


# -- parsing ------------------------------------------------------------------------------


def test_both_forms_parse() -> None:
    checklist = parse_sample_rubric("metadata.rubric", CHECKLIST, SETTINGS)
    assert [c.weight for c in checklist.criteria] == [5, 3, 2, -5]
    markdown = (REPO / "rubrics" / "tone.md").read_text()
    own = parse_sample_rubric("rubric", markdown, SETTINGS)
    assert own.rubric is not None and own.rubric.name == "sample_rubric"
    assert own.rubric.scale_max == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"criterion": "x"}, "expected a non-empty list"),
        ([], "expected a non-empty list"),
        (["x"], r"metadata.rubric\[0\]: expected an object"),
        ([{"criterion": "x", "wieght": 1}], r"\[0\]: unknown key 'wieght'"),
        ([{"weight": 1}], r"\[0\].criterion: expected non-empty text"),
        ([{"criterion": "ok"}, {"criterion": "x", "weight": 0}], r"\[1\].weight"),
        ([{"criterion": "x", "weight": math.nan}], r"\[0\].weight"),
        ([{"criterion": "x", "weight": "5"}], r"\[0\].weight"),
        ([{"criterion": "x", "weight": True}], r"\[0\].weight"),
        ([{"criterion": "x", "weight": int("9" * 400)}], r"\[0\].weight"),
        ([{"criterion": "x" * 1001}], "longer than 1000"),
        ([{"criterion": "x"}] * 51, "max_criteria"),
        ("---\nscale: {min: 1, max: 5}\n---\n## Definition\nx\n", "no '## Scale' section"),
        ("---\nscale: {min: 1}\n---\n", r"metadata.rubric line 2: .*scale"),
    ],
)
def test_bad_rubric_data_is_named_precisely(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sample_rubric("metadata.rubric", value, SETTINGS)


# -- explicit scoring ---------------------------------------------------------------------

CRITERIA = tuple(Criterion(str(c["criterion"]), float(str(c["weight"]))) for c in CHECKLIST)


@pytest.mark.parametrize(
    ("answers", "score"),
    [
        ([True, True, True, False], 1.0),
        ([False, False, False, False], 0.0),
        ([True, False, False, False], 0.5),
        ([True, True, False, False], 0.8),
        ([True, True, True, True], 0.5),  # the pitfall takes 5 of the 10 positive points
        ([False, False, True, True], 0.0),  # clamped at 0
        ([True, None, None, False], 0.5),  # against: unanswered positives count as unmet
        ([True, True, True, None], 0.5),  # against: an unanswered pitfall counts as hit
    ],
)
def test_explicit_score(answers: list[bool | None], score: float) -> None:
    result = explicit_score(CRITERIA, answers, "against")
    assert result.score == pytest.approx(score)


def test_partial_answers_policy() -> None:
    partial = [True, None, True, False]
    assert explicit_score(CRITERIA, partial, "drop").score == pytest.approx(1.0)  # 7 of 7
    assert explicit_score(CRITERIA, partial, "against").score == pytest.approx(0.7)
    failed = explicit_score(CRITERIA, partial, "fail")
    assert failed.score is None and "1 criteria unanswered" in failed.reason
    assert explicit_score(CRITERIA, [None] * 4, "drop").score is None


@pytest.mark.parametrize("partial", ["against", "drop"])
def test_suppressing_every_positive_answer_never_pays(partial: str) -> None:
    """Red team: with the positives unanswered, 'drop' used to fall back to pitfalls-only."""
    result = explicit_score(CRITERIA, [None, None, None, False], partial)
    assert result.score is None if partial == "drop" else result.score == 0.0


def test_a_pitfall_only_checklist() -> None:
    pitfalls = (Criterion("Swears", -1), Criterion("Promises a refund", -3))
    assert explicit_score(pitfalls, [False, False], "drop").score == 1.0
    assert explicit_score(pitfalls, [False, True], "drop").score == pytest.approx(0.25)


# -- end to end through the handler ---------------------------------------------------------


def test_explicit_checklist_end_to_end(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=marked))
    evaluator = make_evaluator(sample_rubric={"only": True})
    batch = [
        with_rubric("none", "Hello.", CHECKLIST),
        with_rubric("good", "[criterion_1][criterion_2][criterion_3] Sorry, 60 days.", CHECKLIST),
        with_rubric("pitfall", "[criterion_1][criterion_4] Your fault. 60 days.", CHECKLIST),
    ]
    answer, result = run_event(evaluator, batch, Deadline.never())
    assert len(judge.requests) == 3  # one call per sample, whatever the number of criteria
    assert [a["aggregate_reward_score"] for a in answer] == pytest.approx([-1.0, 1.0, -1.0])
    metrics = {m["name"]: m["value"] for m in answer[1]["metrics_list"]}
    assert metrics["criteria_met"] == 3 and metrics["criteria_total"] == 4
    assert metrics["sample_rubric"] == 1.0
    pitfall = {m["name"]: m["value"] for m in answer[2]["metrics_list"]}
    assert pitfall["pitfalls_hit"] == 1
    checklist = result.results[1].checklist
    assert checklist is not None and [d["true"] for d in checklist.details()] == [
        True,
        True,
        True,
        False,
    ]


def test_scores_rise_as_criteria_are_met_one_by_one(serve: ServeFn) -> None:
    serve(ScriptedJudge(score_fn=marked))
    evaluator = make_evaluator(sample_rubric={"only": True})
    markers = [
        "",
        "[criterion_3]",
        "[criterion_3][criterion_2]",
        "[criterion_3][criterion_2][criterion_1]",
    ]
    batch = [with_rubric(f"s{i}", m + " Yes, you can.", CHECKLIST) for i, m in enumerate(markers)]
    _, result = run_event(evaluator, batch, Deadline.never())
    scores = [r.dimensions[0].normalized for r in result.results]
    assert scores == pytest.approx([0.0, 0.2, 0.5, 1.0])


def test_beside_fixed_rubrics_with_weight_and_gate(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=marked))
    evaluator = make_evaluator(
        sample_rubric={"weight": 3.0},
        gates=[{"rubric": "sample_rubric", "below": 0.3, "reward": "floor"}],
    )
    batch = [
        with_rubric("good", "[criterion_1][criterion_2][criterion_3] ok", CHECKLIST),
        with_rubric("gated", "nothing met", CHECKLIST),
        sample("plain", "No checklist here."),
    ]
    answer, result = run_event(evaluator, batch, Deadline.never())
    assert len(judge.requests) == 3 * 3 + 2  # fixed rubrics for all, a checklist call for two
    dims = {d.rubric for d in result.results[0].dimensions}
    assert dims == {"helpfulness", "tone", "brand_voice", "sample_rubric"}
    assert result.results[1].gate == "sample_rubric" and answer[1]["aggregate_reward_score"] == -1
    # fixed rubrics at 4 of 5 (0.75) with their weights, the checklist at 1.0 with weight 3
    fixed = sum(w.weight for w in evaluator.config.rubrics.values())
    unit = (fixed * 0.75 + 3 * 1.0) / (fixed + 3)
    assert answer[0]["aggregate_reward_score"] == pytest.approx(-1 + 2 * unit)
    assert "sample_rubric" not in {d.rubric for d in result.results[2].dimensions}


def test_implicit_checklist_is_one_score_on_a_scale(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=marked))
    evaluator = make_evaluator(sample_rubric={"only": True, "mode": "implicit"})
    answer, _ = run_event(
        evaluator, [with_rubric("a", "Sorry, 60 days.", CHECKLIST)], Deadline.never()
    )
    assert len(judge.requests) == 1
    request = judge.requests[0]
    system = request["system"][0]["text"]
    assert "(weight 5) Says the return window is 60 days" in system
    assert "(pitfall, weight 5) Blames the customer" in system
    schema = request["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert schema["properties"]["score"]["enum"] == list(range(1, 11))
    assert answer[0]["aggregate_reward_score"] == pytest.approx(-1 + 2 * 8 / 9)


def test_a_criterion_missing_from_the_answer(serve: ServeFn) -> None:
    serve(ScriptedJudge(score_fn=marked, omit="criterion_2"))
    batch = [with_rubric("a", "[criterion_1][criterion_3]", CHECKLIST)]
    dropped = make_evaluator(
        sample_rubric={"only": True, "partial": "drop"}, retry={"parse_retries": 0}
    )
    _, result = run_event(dropped, batch, Deadline.never())
    checklist = result.results[0].checklist
    assert checklist is not None and checklist.score.unanswered == 1
    assert result.results[0].dimensions[0].normalized == pytest.approx(1.0)  # 7 of 7 answered
    failing = make_evaluator(
        sample_rubric={"only": True, "partial": "fail"}, retry={"parse_retries": 0}
    )
    _, failed = run_event(failing, batch, Deadline.never())
    assert failed.results[0].unscored
    unscored = failed.results[0].dimensions[0].unscored
    assert unscored is not None and unscored.reason == "incomplete"
    assert "unanswered" in unscored.detail and not unscored.response_caused


@pytest.mark.parametrize(
    ("faults", "reason"),
    [(Faults(access_denied=1.0), "judge_error"), (Faults(hang=1.0), "deadline")],
)
def test_a_failed_call_leaves_the_checklist_unscored_not_zero(
    serve: ServeFn, faults: Faults, reason: str
) -> None:
    """``partial = against`` is for criteria an answer left out, not for calls that failed."""
    serve(ScriptedJudge(score_fn=marked, faults=faults))
    batch = [with_rubric("a", "[criterion_1]", CHECKLIST)]
    evaluator = make_evaluator(sample_rubric={"only": True})
    answers, result = run_event(evaluator, batch, Deadline.in_seconds(1.5))
    dim = result.results[0].dimensions[0]
    assert dim.normalized is None and dim.unscored is not None and dim.unscored.reason == reason
    assert result.results[0].unscored and answers[0]["aggregate_reward_score"] == 0.0


def test_cache_keys_cover_the_sample_rubric(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=marked))
    evaluator = make_evaluator(sample_rubric={"only": True})
    other = [*CHECKLIST[:3], {"criterion": "Mentions the receipt", "weight": 1}]
    run_event(evaluator, [with_rubric("a", "same answer", CHECKLIST)], Deadline.never())
    run_event(evaluator, [with_rubric("a", "same answer", CHECKLIST)], Deadline.never())
    assert len(judge.requests) == 1  # cached
    run_event(evaluator, [with_rubric("a", "same answer", other)], Deadline.never())
    assert len(judge.requests) == 2  # another checklist, another judgement


def test_bad_rubric_data_makes_one_sample_malformed(serve: ServeFn) -> None:
    serve(ScriptedJudge(score_fn=marked))
    batch = [
        with_rubric("bad", "answer", [{"criterion": "x", "weight": 0}]),
        with_rubric("good", "[criterion_1] answer", CHECKLIST),
    ]
    answer, result = run_event(make_evaluator(), batch, Deadline.never())
    assert [a["id"] for a in answer] == ["bad", "good"]
    assert "metadata.rubric[0].weight" in (result.results[0].malformed or "")
    assert result.results[1].malformed is None


def test_top_level_rubric_and_precedence(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=marked))
    evaluator = make_evaluator(sample_rubric={"only": True})
    top = [{"criterion": "Top-level criterion", "weight": 1}]
    both = sample("both", "Yes, you can.", rubric=top, metadata={"rubric": CHECKLIST})
    run_event(evaluator, [sample("top", "Yes, you can.", rubric=top), both], Deadline.never())
    systems = [r["system"][0]["text"] for r in judge.requests]
    assert any("Top-level criterion" in s for s in systems)
    assert any("Says the return window" in s and "Top-level" not in s for s in systems)


# -- reference-guided rubrics --------------------------------------------------------------


def _reference_project(tmp_path: Path, use: str) -> Path:
    config = project_copy(tmp_path)
    tone = tmp_path / "rubrics" / "tone.md"
    tone.write_text(tone.read_text().replace("---\n", f"---\nreference: {use}\n", 1))
    return config


def test_a_rubric_that_requires_the_reference(serve: ServeFn, tmp_path: Path) -> None:
    judge = serve(ScriptedJudge(score_fn=marked))
    from judge.pipeline import Evaluator

    evaluator = Evaluator.from_config(_reference_project(tmp_path, "required"))
    try:
        batch = [sample("none", "Yes."), sample("ref", "Yes.", reference_answer="Yes, 60 days.")]
        _, result = run_event(evaluator, batch, Deadline.never())
    finally:
        evaluator.close()
    tone = {r.id: next(d for d in r.dimensions if d.rubric == "tone") for r in result.results}
    assert tone["none"].normalized is None
    none = tone["none"].unscored
    assert none is not None and none.reason == "reference_missing"
    assert tone["ref"].normalized is not None
    tone_calls = [r for r in judge.requests if r["requestMetadata"]["rubric"] == "tone"]
    assert len(tone_calls) == 1  # never judged blind


def test_a_rubric_that_ignores_the_reference(serve: ServeFn, tmp_path: Path) -> None:
    judge = serve(ScriptedJudge(score_fn=marked))
    from judge.pipeline import Evaluator

    evaluator = Evaluator.from_config(_reference_project(tmp_path, "ignore"))
    try:
        run_event(evaluator, [sample("ref", "Yes.", reference_answer="REF")], Deadline.never())
    finally:
        evaluator.close()
    by_rubric = {
        r["requestMetadata"]["rubric"]: r["messages"][0]["content"][0]["text"]
        for r in judge.requests
    }
    assert "REF" not in by_rubric["tone"] and "REF" in by_rubric["helpfulness"]


def test_reference_use_is_validated(tmp_path: Path) -> None:
    config = _reference_project(tmp_path, "sometimes")
    result = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert result.exit_code == 1 and "reference" in result.output


# -- CLI ----------------------------------------------------------------------------------


def test_lint_data_reports_bad_lines(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    lines = (REPO / "examples" / "checklists.jsonl").read_text().splitlines()[:3]
    bad = json.loads(lines[1])
    bad["metadata"]["rubric"][1]["weight"] = "high"
    data.write_text("\n".join([lines[0], json.dumps(bad), lines[2], "{oops"]) + "\n")
    result = CliRunner().invoke(main, ["lint", "--data", str(data)])
    assert result.exit_code == 1
    assert "data.jsonl:2: metadata.rubric[1].weight" in result.output
    assert "data.jsonl:4: not JSON" in result.output
    good = CliRunner().invoke(main, ["lint", "--data", str(REPO / "examples/checklists.jsonl")])
    assert good.exit_code == 0 and "12 per-sample rubrics" in good.output


def test_render_shows_a_sample_rubric_request(aws_env: Path) -> None:
    args = [
        "render",
        "--rubric",
        "sample_rubric",
        "--sample",
        str(REPO / "examples/checklists.jsonl"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)
    schema = request["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert schema["required"] == [f"criterion_{i}" for i in range(1, 5)]
    assert "Says the return window is 60 days" in request["system"][0]["text"]
