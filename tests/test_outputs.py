"""What ``judge score``, ``prefer`` and ``batch collect`` write and print.

Output paths are checked before any judging (an input is never overwritten; a missing
directory is made), ``--details`` explains every score with each judge's reasoning, and the
table stays readable for large batches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from judge.cli import main
from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.pipeline import Evaluator
from judge.server.scripted import Judged, ScriptedJudge
from tests.conftest import REPO, ServeFn, make_evaluator, project_copy, sample
from tests.test_batch import BUCKET, ROLE, StandIns, _job_name, _wait, local  # noqa: F401 (fixture)
from tests.test_panel import anchor_lines

BATCH = REPO / "examples" / "batch.jsonl"
CONFIG = str(REPO / "reward.toml")


def _score(*args: str) -> Result:
    return CliRunner().invoke(main, ["score", *args, "--config", CONFIG])


def _input_as_output(batch: Path, tmp_path: Path, how: str) -> list[str]:
    """Arguments naming ``batch`` (the input) or one output twice, spelled ``how``."""
    if how == "same path":
        return ["--out", str(batch)]
    if how == "another spelling":
        return ["--out", str(tmp_path / "." / "sub" / ".." / batch.name)]
    if how == "symlink":
        (tmp_path / "link.json").symlink_to(batch)
        return ["--out", str(tmp_path / "link.json")]
    if how == "hard link":
        os.link(batch, tmp_path / "hard.json")
        return ["--details", str(tmp_path / "hard.json")]
    return ["--out", str(tmp_path / "a.json"), "--details", str(tmp_path / "a.json")]


@pytest.mark.parametrize(
    "how", ["same path", "another spelling", "symlink", "hard link", "out is details"]
)
def test_score_refuses_to_overwrite_its_input_before_judging(
    serve: ServeFn, tmp_path: Path, how: str
) -> None:
    model = serve(ScriptedJudge())
    batch = tmp_path / "batch.jsonl"
    shutil.copy(BATCH, batch)
    (tmp_path / "sub").mkdir()
    result = _score(str(batch), *_input_as_output(batch, tmp_path, how))
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--" in result.output and "Fix: choose another path" in result.output
    assert "Traceback" not in result.output
    assert not model.requests  # refused before any judge call
    assert batch.read_text() == BATCH.read_text()


def test_score_refuses_the_config_as_output(serve: ServeFn, tmp_path: Path) -> None:
    model = serve(ScriptedJudge())
    config = project_copy(tmp_path)
    before = config.read_text()
    args = ["score", str(BATCH), "--out", str(config), "--config", str(config)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "is the config" in result.output
    assert config.read_text() == before and not model.requests


def test_score_makes_missing_output_directories(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge())
    out, details = tmp_path / "a" / "b" / "answer.json", tmp_path / "c" / "why.jsonl"
    result = _score(str(BATCH), "--out", str(out), "--details", str(details))
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())) == 6
    assert len(details.read_text().splitlines()) == 6


def test_an_output_that_cannot_be_made_fails_before_judging(serve: ServeFn, tmp_path: Path) -> None:
    model = serve(ScriptedJudge())
    (tmp_path / "file").write_text("x")
    result = _score(str(BATCH), "--details", str(tmp_path / "file" / "why.jsonl"))
    assert result.exit_code == 2 and "cannot create the directory" in result.output
    assert not model.requests


def test_prefer_checks_its_output_before_judging(serve: ServeFn, tmp_path: Path) -> None:
    model = serve(ScriptedJudge())
    data = tmp_path / "pairs.jsonl"
    rows = [sample("g", "Thanks! Bring it back within 60 days."), sample("b", "Read the manual.")]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = data.read_text()
    args = ["prefer", str(data), "--rubric", "tone", "--config", CONFIG]
    refused = CliRunner().invoke(main, [*args, "--out", str(data)])
    assert refused.exit_code == 2 and "is the dataset" in refused.output
    assert data.read_text() == before and not model.requests
    out = tmp_path / "new" / "dir" / "prefs.jsonl"
    written = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert len(out.read_text().splitlines()) == 1


def _details(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_details_carry_each_judges_reasoning_and_calibrated_score(
    serve: ServeFn, tmp_path: Path
) -> None:
    """A panel, one judge harsh and one lenient, each with its own calibration map."""
    truth: dict[str, float] = {
        json.loads(line)["response"]: sum(json.loads(line)["labels"]["tone"]) / 5
        for line in anchor_lines(24)
    }

    def shifted(offset: int) -> ScriptedJudge:
        def score_fn(j: Judged) -> int:
            return max(1, min(5, round(truth.get(j.response, 3) + offset)))

        return ScriptedJudge(score_fn=score_fn)

    serve(ScriptedJudge(models={"judge-a": shifted(-1), "judge-b": shifted(1)}))
    config = project_copy(tmp_path)
    toml = config.read_text().replace(
        "[judge]\n", '[judge]\npanel = [{model_id = "judge-a"}, {model_id = "judge-b"}]\n', 1
    )
    config.write_text(toml.replace("[guard]\nenabled = true", "[guard]\nenabled = false"))
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text("\n".join(anchor_lines(24)) + "\n")
    fit = ["calibrate", "--rubric", "tone", "--anchors", str(anchors), "--probes", "0"]
    assert CliRunner().invoke(main, [*fit, "--config", str(config)]).exit_code == 0
    details = tmp_path / "why.jsonl"
    args = ["score", str(BATCH), "--details", str(details), "--config", str(config)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    evaluator = Evaluator.from_config(config)
    try:
        tone = evaluator.rubrics["tone"]
        lines = _details(details)
        judged = [j for line in lines for j in line["dimensions"]["tone"].get("judgements", [])]
        assert {j["judge"] for j in judged} == {"judge-a", "judge-b"}
        for j in judged:
            member = ["judge-a", "judge-b"].index(j["judge"])
            assert j["reasoning"] == f"The response reads as a {j['raw']} on this rubric."
            assert j["calibrated"] == evaluator.to_unit(tone, j["raw"], member)
            assert j["cached"] is False
        # the maps are in force: a calibrated score is not the raw score normalised
        assert any(j["calibrated"] != (j["raw"] - 1) / 4 for j in judged)
    finally:
        evaluator.close()
    helpful = lines[0]["dimensions"]["helpfulness"]["judgements"]  # no map: raw normalised
    assert [j["calibrated"] for j in helpful] == [(j["raw"] - 1) / 4 for j in helpful]
    assert "reads as a" not in first.output  # reasoning goes to --details, never to logs
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    cached = [
        j["cached"]
        for line in _details(details)
        for j in line["dimensions"]["tone"].get("judgements", [])
    ]
    assert cached and all(cached)


def test_collect_writes_details_and_checks_outputs_first(
    local: StandIns,  # noqa: F811 (the fixture imported from test_batch)
    tmp_path: Path,
) -> None:
    data = tmp_path / "small.jsonl"
    shutil.copy(BATCH, data)
    submitted = CliRunner().invoke(
        main,
        ["batch", "submit", str(data), "--bucket", f"s3://{BUCKET}/x", "--role-arn", ROLE,
         "--config", str(local.config), "--min-records", "1"],
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    job = _job_name(submitted)
    _wait(job)
    refused = CliRunner().invoke(main, ["batch", "collect", job, "--out", str(data)])
    assert refused.exit_code == 2 and "is the job's dataset" in refused.output
    assert data.read_text() == BATCH.read_text()
    out, details = tmp_path / "x" / "answer.json", tmp_path / "y" / "why.jsonl"
    args = ["batch", "collect", job, "--out", str(out), "--details", str(details)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())) == 6
    judged = [
        j for line in _details(details) for d in line["dimensions"].values()
        for j in d.get("judgements", [])
    ]  # fmt: skip
    assert judged and all(j["reasoning"].startswith("The response reads as a") for j in judged)


def _rows(output: str) -> list[str]:
    return re.findall(r"row-\d{3}", output)


def test_quiet_and_long_tables(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(ScriptedJudge())
    monkeypatch.setenv("COLUMNS", "200")
    batch = tmp_path / "big.jsonl"
    reply = "Thanks, happy to help: bring it back within 60 days."
    batch.write_text("".join(json.dumps(sample(f"row-{i:03}", reply)) + "\n" for i in range(80)))
    full = _score(str(batch))
    assert full.exit_code == 0, full.output
    assert _rows(full.stdout) == [f"row-{i:03}" for i in range(50)]
    assert "30 more samples not shown" in full.stdout and "--details" in full.stdout
    quiet = _score(str(batch), "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert not _rows(quiet.output) and "rewards" not in quiet.stdout.split("summary")[0]
    assert "samples" in quiet.stdout and "80" in quiet.stdout  # the summary is printed


def test_invoke_quiet_prints_the_answer_and_no_table(serve: ServeFn) -> None:
    from judge import lambda_handler

    serve(ScriptedJudge())
    lambda_handler.reset()
    try:
        result = CliRunner().invoke(main, ["invoke", str(BATCH), "--quiet", "--config", CONFIG])
    finally:
        lambda_handler.reset()
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout.splitlines()[-1])) == 6
    assert "s1-polite" not in result.stderr  # no table of rows


def test_checklist_rows_show_their_counts(
    serve: ServeFn, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from judge.cli._tables import print_results

    serve(ScriptedJudge(score_fn=lambda j: int(j.rubric == "criterion_1")))  # 1 of 3 holds
    monkeypatch.setenv("COLUMNS", "200")
    checklist = [
        {"criterion": "Says yes", "weight": 1},
        {"criterion": "Names the store hours", "weight": 1},
        {"criterion": "Gives a phone number", "weight": 1},
    ]
    raw = sample("c", "Yes, you can.", metadata={"rubric": checklist})
    evaluator = make_evaluator(sample_rubric={"only": True})
    answer, _ = run_event(evaluator, [raw], Deadline.never())
    print_results(answer)
    row = next(line for line in capsys.readouterr().out.splitlines() if "sample_rubric=" in line)
    assert "criteria=1/3" in row, row
    assert "criteria_met" not in row and "criteria_total" not in row


def test_the_cost_row_says_this_run(serve: ServeFn, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(ScriptedJudge())
    monkeypatch.setenv("COLUMNS", "200")
    result = _score(str(BATCH))
    out = " ".join(result.stdout.split())
    assert "estimated cost (USD), this run / per 1,000 rewards" in out
    assert "batch /" not in out


def test_calibrate_checks_its_output_dir_before_judging(serve: ServeFn, tmp_path: Path) -> None:
    model = serve(ScriptedJudge())
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text("\n".join(anchor_lines(16)) + "\n")
    args = ["calibrate", "--rubric", "tone", "--anchors", str(anchors), "--probes", "0"]
    (tmp_path / "taken").write_text("a file")
    inside = str(tmp_path / "taken" / "maps")  # a directory inside a file
    refused = CliRunner().invoke(main, [*args, "--out", inside, "--config", CONFIG])
    assert refused.exit_code == 2, refused.output
    assert "cannot create the directory" in refused.output
    assert "Traceback" not in refused.output and not model.requests
    made = tmp_path / "new" / "maps"
    written = CliRunner().invoke(main, [*args, "--out", str(made), "--config", CONFIG])
    assert written.exit_code == 0, written.output
    assert (made / "tone.json").is_file()


def test_package_refuses_to_write_over_its_config(tmp_path: Path) -> None:
    config = project_copy(tmp_path)
    before = config.read_text()
    args = ["package", "--config", str(config)]
    refused = CliRunner().invoke(main, [*args, "--out", str(config)])
    assert refused.exit_code == 2 and "is the config" in refused.output, refused.output
    assert config.read_text() == before
    folder = CliRunner().invoke(main, [*args, "--out", str(tmp_path)])
    assert folder.exit_code == 2 and "is a directory" in folder.output, folder.output
