"""Judge panels: every judgement by each judge, combined by mean, median or majority."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.config import parse_config
from judge.deadline import Deadline
from judge.errors import SourceError
from judge.lambda_handler import run_event
from judge.panel import model_family, same_family
from judge.pipeline import Evaluator
from judge.reduce import Vote, reduce_votes, vote_true
from judge.server.scripted import Faults, Judged, ScriptedJudge
from judge.verdict import Unscored, Verdict
from tests.conftest import REPO, ServeFn, base_config, make_evaluator, merge, project_copy, sample

IDS = ("judge-a", "judge-b", "judge-c")


def fixed(score: int) -> ScriptedJudge:
    def score_fn(j: Judged) -> int:
        return min(j.scores[-1], max(j.scores[0], score))

    return ScriptedJudge(score_fn=score_fn)


def panel(**judge: Any) -> dict[str, Any]:
    return {
        "judge": {"panel": [{"model_id": m} for m in IDS], **judge},
        "rubrics": {"tone": {"weight": 1.0}},
    }


BATCH = [sample("s1", "Thanks for asking! Bring the tent back within 60 days, receipt or not.")]


def served(serve: ServeFn, scores: dict[str, int], **faulty: Faults) -> ScriptedJudge:
    judges = {m: fixed(s) for m, s in scores.items()}
    for model, faults in faulty.items():
        judges[model].faults = faults
        judges[model].__post_init__()
    return serve(ScriptedJudge(models=judges))


@pytest.mark.parametrize(
    ("aggregation", "reward"),
    # scores 2, 4, 4 on 1..5 are 0.25, 0.75, 0.75; onto -1..1
    [("mean", 0.0 + 2 * (1.75 / 3) - 1), ("median", 0.5), ("majority", 0.5)],
)
def test_each_judge_judges_and_the_panel_aggregates(
    serve: ServeFn, aggregation: str, reward: float
) -> None:
    judge = served(serve, {"judge-a": 2, "judge-b": 4, "judge-c": 4})
    answers, result = run_event(
        make_evaluator(**panel(aggregation=aggregation)), BATCH, Deadline.never()
    )
    assert len(judge.requests) == 3
    assert {m: len(j.requests) for m, j in judge.models.items()} == dict.fromkeys(IDS, 1)
    assert answers[0]["aggregate_reward_score"] == pytest.approx(reward)
    dim = result.results[0].dimensions[0]
    assert dim.spread == pytest.approx(0.5)
    metrics = {m["name"]: m["value"] for m in answers[0]["metrics_list"]}
    assert metrics["panel_spread_tone"] == pytest.approx(0.5)


def test_without_a_majority_the_panel_takes_the_median(serve: ServeFn) -> None:
    served(serve, {"judge-a": 2, "judge-b": 5})
    config = {
        "judge": {
            "panel": [{"model_id": "judge-a"}, {"model_id": "judge-b"}],
            "aggregation": "majority",
        },
        "rubrics": {"tone": {"weight": 1.0}},
    }
    answers, _ = run_event(make_evaluator(**config), BATCH, Deadline.never())
    assert answers[0]["aggregate_reward_score"] == 0.25  # (0.25 + 1.0) / 2 onto -1..1


def test_majority_votes_on_calibrated_levels_not_raw_scores() -> None:
    """Three judges all say 3, but judge 0's map puts its 3 at 0.25: two votes for 0.75."""
    harsh = Vote(0.25, 3)
    others = [Vote(0.75, 3), Vote(0.70, 4)]
    reduced = reduce_votes([harsh, *others], "majority", 4)
    assert reduced.unit == pytest.approx(0.725) and reduced.raw == 3.5
    # three different levels: no majority, the median
    spread = [Vote(0.0, 1), Vote(0.5, 3), Vote(1, 5)]
    assert reduce_votes(spread, "majority", 4) == Vote(0.5, 3)
    assert reduce_votes(spread, "mean", 4) == Vote(0.5, 3)
    skewed = [Vote(0.0, 1), Vote(0.25, 2), Vote(1.0, 5)]
    assert reduce_votes(skewed, "median", 4) == Vote(0.25, 2)
    assert reduce_votes(skewed, "mean", 4).unit == pytest.approx(1.25 / 3)


@pytest.mark.parametrize("how", ["mean", "median", "majority"])
@pytest.mark.parametrize(
    ("scores", "expected"),
    [([1, 0, 1], True), ([1, 0], False), ([0, 1, 1, 0], False), ([1, 1, 0, 1], True), ([0], False)],
)
def test_a_criterion_is_true_when_more_than_half_the_judges_say_so_whatever_the_aggregation(
    how: Literal["mean", "median", "majority"], scores: list[int], expected: bool
) -> None:
    """Checklist votes go through the panel's reducer; on 0/1 answers every reducer agrees
    with the lower median the checklist used before (a tie is "not true")."""
    verdicts = [Verdict(score=s, reasoning=f"judge {i}") for i, s in enumerate(scores)]
    answer = vote_true(verdicts, 1, how)
    assert isinstance(answer, Verdict) and bool(answer.score) is expected
    assert answer == next(v for v in verdicts if bool(v.score) is expected)
    failed = Unscored(reason="judge_error", detail="down")
    assert vote_true([failed, *verdicts], len(verdicts) + 1, how) == failed


def test_a_failing_judge_shrinks_the_panel_and_quorum_decides(
    serve: ServeFn, caplog: pytest.LogCaptureFixture
) -> None:
    served(
        serve, {"judge-a": 2, "judge-b": 4, "judge-c": 5}, **{"judge-c": Faults(access_denied=1)}
    )
    answers, result = run_event(make_evaluator(**panel()), BATCH, Deadline.never())
    assert answers[0]["aggregate_reward_score"] == 0.0  # mean of 2 and 4: the 5 never came
    assert not result.results[0].unscored

    answers, result = run_event(make_evaluator(**panel(quorum=3)), BATCH, Deadline.never())
    dim = result.results[0].dimensions[0]
    assert result.results[0].unscored and dim.normalized is None
    assert dim.unscored is not None and dim.unscored.reason == "judge_error"
    assert "2 of 3 judges" in dim.unscored.detail and "judge-c" in dim.unscored.detail


def test_below_the_default_quorum_a_dimension_is_unscored_not_zero(serve: ServeFn) -> None:
    down = Faults(access_denied=1)
    served(serve, {"judge-a": 2, "judge-b": 4, "judge-c": 5}, **{"judge-b": down, "judge-c": down})
    answers, result = run_event(make_evaluator(**panel()), BATCH, Deadline.never())
    assert result.results[0].unscored  # 1 of 3 is below a majority
    assert answers[0]["aggregate_reward_score"] == 0.0  # [unscored] value, flagged
    metrics = {m["name"]: m["value"] for m in answers[0]["metrics_list"]}
    assert metrics["unscored"] == 1.0


def test_a_panel_in_group_mode_gives_each_judge_the_group(serve: ServeFn) -> None:
    judge = served(serve, {"judge-a": 2, "judge-b": 4, "judge-c": 4})
    batch = [sample(f"r{i}", f"Reply {i}: thanks, bring it back.") for i in range(4)]
    config = panel(mode="group", group_orders=2)
    answers, result = run_event(make_evaluator(**config), batch, Deadline.never())
    assert {m: len(j.requests) for m, j in judge.models.items()} == dict.fromkeys(IDS, 2)
    assert all(a["aggregate_reward_score"] == pytest.approx(2 * (1.75 / 3) - 1) for a in answers)
    assert all(d.order_gap == 0 for r in result.results for d in r.dimensions)


def test_a_checklist_criterion_is_the_judges_majority(serve: ServeFn) -> None:
    served(serve, {"judge-a": 0, "judge-b": 1, "judge-c": 1})
    item = sample("c", "We ship in 3 days.", rubric=[{"criterion": "Gives a time", "weight": 1}])
    config = {**panel(), "sample_rubric": {"only": True}}
    answers, result = run_event(make_evaluator(**config), [item], Deadline.never())
    checklist = result.results[0].checklist
    assert checklist is not None and checklist.score.met == 1
    assert answers[0]["aggregate_reward_score"] == 1.0


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("us.amazon.nova-pro-v1:0", "nova"),
        ("amazon.nova-lite-v1:0", "nova"),
        ("nova-micro", "nova"),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "claude"),
        ("eu.anthropic.claude-sonnet-4-20250514-v1:0", "claude"),
        (
            "arn:aws:bedrock:us-east-1:123:inference-profile/us.meta.llama3-1-70b-instruct-v1:0",
            "llama",
        ),
        ("global.mistral.mistral-large-2407-v1:0", "mistral"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/abc",
            "nova",
        ),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0", "nova"),
    ],
)
def test_model_family(model_id: str, family: str) -> None:
    assert model_family(model_id) == family


def test_a_judge_of_the_policys_family_is_warned_about(
    serve: ServeFn, caplog: pytest.LogCaptureFixture
) -> None:
    serve(ScriptedJudge())
    members = [{"model_id": "us.amazon.nova-pro-v1:0"}, {"model_id": "anthropic.claude-3-haiku"}]
    config = {"judge": {"panel": members, "policy_model_id": "amazon.nova-lite-v1:0"}}
    settings = parse_config(merge(base_config(), config), REPO / "reward.toml")
    assert same_family(settings.judge) == ["us.amazon.nova-pro-v1:0"]
    with caplog.at_level(logging.WARNING, logger="judge"):
        make_evaluator(**config)
    warned = [r.getMessage() for r in caplog.records if "same family" in r.getMessage()]
    assert len(warned) == 1 and "nova-pro" in warned[0]
    assert not same_family(settings.judge.model_copy(update={"policy_model_id": "llama3-8b"}))


@pytest.mark.parametrize(
    ("judge", "place"),
    [
        ({"panel": [{"model_id": "a"}, {"model_id": "a"}]}, "judge.panel.1.model_id"),
        ({"panel": [{"model_id": "a"}, {"model_id": "b"}], "quorum": 3}, "judge.quorum"),
        ({"quorum": 2}, "judge.quorum"),
        ({"panel": [{"model_id": "a", "temprature": 0.5}]}, "judge.panel.0.temprature"),
        ({"aggregation": "vote"}, "judge.aggregation"),
        ({"mode": "groups"}, "judge.mode"),
        ({"group_orders": 3}, "judge.group_orders"),
    ],
)
def test_a_bad_panel_or_mode_names_the_key(judge: dict[str, Any], place: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_config(merge(base_config(), {"judge": judge}), REPO / "reward.toml")
    assert err.value.place == place
    assert not err.value.problem.startswith("Value error")


def test_members_inherit_the_judge_settings_and_override_them() -> None:
    raw = merge(
        base_config(),
        {
            "judge": {
                "max_tokens": 300,
                "panel": [{"model_id": "a"}, {"model_id": "b", "max_tokens": 700}],
            }
        },
    )
    members = parse_config(raw, REPO / "reward.toml").judge.members()
    assert [(m.model_id, m.max_tokens, m.panel) for m in members] == [
        ("a", 300, []),
        ("b", 700, []),
    ]


def anchor_lines(n: int) -> list[str]:
    lines = (REPO / "calibration/anchors/politeness.jsonl").read_text().splitlines()
    return lines[:n]


def test_calibrate_fits_a_map_per_judge_and_reports_the_panel(
    serve: ServeFn, tmp_path: Path
) -> None:
    """Judge A is harsh (true - 1), judge B lenient (true + 1): each gets its own map."""
    truth: dict[str, float] = {
        json.loads(line)["response"]: sum(json.loads(line)["labels"]["tone"]) / 5
        for line in anchor_lines(40)
    }

    def shifted(offset: int) -> ScriptedJudge:
        def score_fn(j: Judged) -> int:
            return max(1, min(5, round(truth.get(j.response, 3) + offset)))

        return ScriptedJudge(score_fn=score_fn)

    serve(ScriptedJudge(models={"judge-a": shifted(-1), "judge-b": shifted(1)}))
    config_path = project_copy(tmp_path)
    toml = config_path.read_text()
    toml = toml.replace(
        "[judge]\n", '[judge]\npanel = [{model_id = "judge-a"}, {model_id = "judge-b"}]\n', 1
    )
    config_path.write_text(toml.replace("[guard]\nenabled = true", "[guard]\nenabled = false"))
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text("\n".join(anchor_lines(40)) + "\n")
    result = CliRunner().invoke(
        main,
        [
            "calibrate",
            "--rubric",
            "tone",
            "--anchors",
            str(anchors),
            "--probes",
            "0",
            "--json",
            "--config",
            str(config_path),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(summary["spearman"]) == {"judge-a", "judge-b", "panel"}
    out = tmp_path / "calibration"
    a = json.loads((out / "tone@judge-a.json").read_text())
    b = json.loads((out / "tone@judge-b.json").read_text())
    assert (a["model_id"], b["model_id"]) == ("judge-a", "judge-b")
    assert not (out / "tone.json").exists()
    assert (out / "reports/tone/panel.json").is_file()
    evaluator = Evaluator.from_config(config_path)
    try:
        assert all("tone" in maps for maps in evaluator.member_maps)
        tone = evaluator.rubrics["tone"]
        # the harsh judge's 3 means more than the lenient judge's 3
        assert evaluator.to_unit(tone, 3, 0) > evaluator.to_unit(tone, 3, 1)
        assert not evaluator.stale_calibration
    finally:
        evaluator.close()
    shutil.rmtree(out / "reports")


def test_calibration_writes_every_judges_map_or_none(serve: ServeFn, tmp_path: Path) -> None:
    failing = fixed(3)
    failing.faults = Faults(access_denied=1.0)
    failing.__post_init__()
    serve(ScriptedJudge(models={"judge-a": fixed(3), "judge-b": failing}))
    config_path = project_copy(tmp_path)
    toml = config_path.read_text().replace(
        "[judge]\n", '[judge]\npanel = [{model_id = "judge-a"}, {model_id = "judge-b"}]\n', 1
    )
    config_path.write_text(toml.replace("[guard]\nenabled = true", "[guard]\nenabled = false"))
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text("\n".join(anchor_lines(12)) + "\n")
    args = ["calibrate", "--rubric", "tone", "--anchors", str(anchors), "--probes", "0"]
    result = CliRunner().invoke(main, [*args, "--config", str(config_path)])
    assert result.exit_code == 4, result.output
    assert "judge judge-b" in result.output and "nothing written" in result.output
    out = tmp_path / "calibration"
    assert not list(out.glob("*.json")) and not list(out.glob("reports/*"))


def test_lint_warns_about_settings_that_do_nothing(tmp_path: Path) -> None:
    config = project_copy(tmp_path)
    text = config.read_text().replace(
        "[judge]\n",
        '[judge]\ngroup_orders = 2\npolicy_model_id = "nova-lite"\n'
        'panel = [{model_id = "us.amazon.nova-pro-v1:0"}]\naggregation = "median"\n',
        1,
    )
    config.write_text(text)
    result = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert result.exit_code == 0, result.output  # warnings, not errors
    warnings = [line for line in result.output.splitlines() if line.startswith("warn")]
    assert any("group_orders has no effect" in w for w in warnings)
    assert any("aggregation has no effect" in w for w in warnings)
    assert any("panel has one judge" in w for w in warnings)
    assert any("policy's family" in w for w in warnings)
    assert len(warnings) == 4


def test_a_judge_error_does_not_let_a_response_skip_a_gate(serve: ServeFn) -> None:
    """Judge a fails; b and c are talked out of their answer: the gate fires as for one judge."""
    silenced = {m: fixed(4) for m in ("judge-b", "judge-c")}
    for judge in silenced.values():
        judge.omit = "brand_voice"
    failing = fixed(4)
    failing.faults = Faults(access_denied=1.0)
    failing.__post_init__()
    serve(ScriptedJudge(models={"judge-a": failing, **silenced}))
    config = {
        "judge": {"panel": [{"model_id": m} for m in IDS]},
        "rubrics": {"tone": {"weight": 1.0}, "brand_voice": {"weight": 1.0}},
        "gates": [{"rubric": "brand_voice", "below": 0.25}],
        "retry": {"parse_retries": 0},
    }
    answers, result = run_event(make_evaluator(**config), BATCH, Deadline.never())
    dims = {d.rubric: d for d in result.results[0].dimensions}
    unscored = dims["brand_voice"].unscored
    assert unscored is not None and unscored.reason == "unparseable" and unscored.response_caused
    assert result.results[0].gate == "brand_voice" and answers[0]["aggregate_reward_score"] == -1.0


def test_a_judge_whose_answers_break_the_schema_is_named(
    serve: ServeFn, caplog: pytest.LogCaptureFixture
) -> None:
    served(serve, {"judge-a": 2, "judge-b": 4, "judge-c": 4}, **{"judge-c": Faults(malformed=1)})
    batch = [sample(f"s{i}", f"Reply {i}: thanks, bring it back.") for i in range(4)]
    with caplog.at_level(logging.WARNING, logger="judge"):
        _, result = run_event(
            make_evaluator(**panel(), retry={"parse_retries": 0}), batch, Deadline.never()
        )
    assert result.failed_calls == {"judge-c": 4}
    assert any("judge judge-c: 4 of 4 calls failed" in r.getMessage() for r in caplog.records)
    assert result.counts()["unscored"] == 0  # a and b are a quorum of three


@pytest.mark.parametrize(
    ("judge_lines", "warned"),
    [
        ("", True),  # one judge, pointwise: nothing to disagree
        ('panel = [{model_id = "a"}, {model_id = "b"}]\n', False),
        ('mode = "group"\ngroup_orders = 2\n', False),
    ],
)
def test_lint_warns_when_shrink_has_no_disagreement_to_measure(
    tmp_path: Path, judge_lines: str, warned: bool
) -> None:
    config = project_copy(tmp_path)
    text = config.read_text().replace("[judge]\n", "[judge]\n" + judge_lines, 1)
    config.write_text(text + "\n[reward]\nshrink = 0.5\n")
    result = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warn")]
    assert any("shrink has no effect" in w for w in warnings) is warned
