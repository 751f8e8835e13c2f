"""What a new user's review of a fresh clone hit (second round), each pinned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.config import parse_config
from judge.deadline import Deadline
from judge.errors import JudgeError, SourceError
from judge.lambda_handler import run_event
from judge.server.scripted import Judged, ScriptedJudge
from tests.conftest import REPO, ServeFn, base_config, make_evaluator, merge, project_copy, sample


def test_the_documented_refused_default_can_be_written_out() -> None:
    config = parse_config(merge(base_config(), {"unscored": {"refused": "floor"}}), REPO / "r.toml")
    assert config.refused_reward() == config.output.min


@pytest.mark.parametrize(
    "override",
    [
        {"rubrics": {"tone": {"weight": float("inf")}}},
        {"gates": [{"rubric": "tone", "below": 0.1, "reward": float("nan")}]},
    ],
)
def test_non_finite_weights_and_gate_rewards_are_errors(override: dict[str, object]) -> None:
    with pytest.raises(SourceError):
        parse_config(merge(base_config(), override), REPO / "reward.toml")


@pytest.mark.parametrize("template", ["system_combined.j2", "checklist.j2"])
def test_lint_renders_every_template(tmp_path: Path, template: str) -> None:
    config = project_copy(tmp_path)
    broken = tmp_path / "prompts" / template
    broken.write_text(broken.read_text() + "{{ no_such_var }}\n")
    result = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert result.exit_code == 1 and template in result.output


def test_a_file_that_is_not_json_is_one_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["score", str(REPO / "README.md")])
    assert result.exit_code == 2 and "neither JSON nor JSONL" in result.output


def test_every_sample_malformed_exits_4(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge())
    batch = tmp_path / "b.json"
    batch.write_text(json.dumps([{"id": "a"}, {"id": "b", "messages": []}]))
    args = ["score", str(batch), "--config", str(REPO / "reward.toml")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 4 and "no sample could be read" in result.output


def test_rubric_front_matter_typos_are_errors(tmp_path: Path) -> None:
    config = project_copy(tmp_path)
    tone = tmp_path / "rubrics" / "tone.md"
    tone.write_text(tone.read_text().replace("---\n", "---\nrefrence: required\n", 1))
    result = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert result.exit_code == 1 and "did you mean 'reference'?" in result.output


@pytest.mark.parametrize("mode", ["tool", "text"])
def test_a_one_criterion_checklist(serve: ServeFn, mode: str) -> None:
    def met(j: Judged) -> int:
        return 1 if j.scores == [0, 1] else j.scores[-1]

    serve(ScriptedJudge(score_fn=met))
    evaluator = make_evaluator(judge={"verdict_mode": mode}, sample_rubric={"only": True})
    checklist = [{"criterion": "Says yes", "weight": 1}]
    raw = sample("a", "Yes, you can.", metadata={"rubric": checklist})
    answer, _ = run_event(evaluator, [raw], Deadline.never())
    assert answer[0]["aggregate_reward_score"] == 1.0


def test_batch_submit_checks_the_role_arn_before_uploading() -> None:
    args = ["batch", "submit", str(REPO / "examples/batch.jsonl"), "--bucket", "s3://b"]
    result = CliRunner().invoke(main, [*args, "--role-arn", "my-role"])
    assert result.exit_code == 2 and "is not an IAM role ARN" in result.output


def test_package_refuses_a_map_fitted_on_a_local_server(tmp_path: Path) -> None:
    from judge.deploy.package import build_package

    config = project_copy(tmp_path, "calibration")
    artefact = {"endpoint": "custom"}  # not a whole artefact: refused either way
    (tmp_path / "calibration" / "tone.json").write_text(json.dumps(artefact))
    with pytest.raises(JudgeError, match=r"tone\.json"):
        build_package(tmp_path / "judge.zip", config)


@pytest.mark.parametrize("template", ["system_combined.j2", "checklist.j2", "group.j2"])
def test_lint_compiles_templates_this_config_never_renders(tmp_path: Path, template: str) -> None:
    """Templates compile on first use (a cold start pays for none it does not need), so lint
    compiles every one present: a one-rubric config must still hear of a syntax error."""
    config = project_copy(tmp_path)
    text = config.read_text()
    for other in ("helpfulness = { weight = 0.5 }\n", "brand_voice = { weight = 0.2 }\n"):
        assert other in text
        text = text.replace(other, "")
    config.write_text(text.replace('rubric = "brand_voice"', 'rubric = "tone"'))
    assert CliRunner().invoke(main, ["lint", "--config", str(config)]).exit_code == 0
    broken = tmp_path / "prompts" / template
    broken.write_text(broken.read_text() + "{% if %}\n")
    result = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert result.exit_code == 1 and template in result.output, result.output
