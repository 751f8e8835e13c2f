"""What a new user following the README hit (fourth round: checks, labels, report, canaries)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from judge.annotate.items import Item
from judge.annotate.select import Candidate, Chosen, Signals
from judge.annotate.studio import task
from judge.calibration.anchors import load_anchors
from judge.cli import main
from judge.deploy.lint import config_notes
from judge.prompt import JudgeInput, Turn
from judge.rubric import load_rubrics
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, ServeFn, project_copy


def _support_copy(tmp_path: Path, old: str, new: str) -> Path:
    """examples/support copied with one edit to its reward.toml."""
    folder = tmp_path / "support"
    shutil.copytree(REPO / "examples" / "support", folder)
    config = folder / "reward.toml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))
    return config


def test_lint_and_package_name_a_missing_python_check_module_without_a_traceback(
    tmp_path: Path,
) -> None:
    config = _support_copy(tmp_path, "checks.support:sms_plain", "checks.nosuch:sms_plain")
    lint = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert lint.exit_code == 1 and isinstance(lint.exception, SystemExit)
    assert "checks/nosuch.py" in lint.output and "Traceback" not in lint.output
    out = tmp_path / "j.zip"
    package = CliRunner().invoke(main, ["package", "--config", str(config), "--out", str(out)])
    assert isinstance(package.exception, SystemExit) and package.exit_code != 0
    assert "checks/nosuch.py" in package.output and not out.exists()


def _labelled_task(n: int, score: str) -> dict[str, Any]:
    """A task as `judge label export` writes it for tone, with one annotation of ``score``."""
    rubric = load_rubrics(REPO / "rubrics", ["tone"])["tone"]
    item = Item(f"i{n}", JudgeInput((Turn("user", "q"),), f"reply {n}"))
    chosen = Chosen(Candidate(item, Signals(raw=3.0, normalized=0.5, reasoning="ok")), "random")
    out = task(chosen, rubric, "v1")
    result = [{"from_name": "score", "value": {"choices": [score]}}]
    out["annotations"] = [{"completed_by": 1, "result": result}]
    return out


@pytest.mark.parametrize(
    ("where", "value", "labels"),
    [("annotations", 5, 1), ("predictions", 3, 2), ("result", 7, 1)],
)
def test_label_import_of_an_export_with_a_non_list_field_is_no_traceback(
    tmp_path: Path, where: str, value: object, labels: int
) -> None:
    """A field that should be a list and is not holds nothing, as a missing one does."""
    good, broken = _labelled_task(1, "4"), _labelled_task(2, "2")
    target = broken["annotations"][0] if where == "result" else broken
    target[where] = value
    export = tmp_path / "export.json"
    export.write_text(json.dumps([good, broken]))
    anchors = tmp_path / "anchors.jsonl"
    args = ["import", str(export), "--rubric", "tone", "--anchors", str(anchors)]
    result = CliRunner().invoke(main, ["label", *args, "--config", str(REPO / "reward.toml")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0 and f"imported {labels} label(s) for tone" in result.output
    assert anchors.read_text().count("\n") == labels


def test_report_refuses_an_out_that_is_one_of_its_details_files(tmp_path: Path) -> None:
    """`--out details/batch_1.jsonl` would replace a batch's details with HTML."""
    folder = tmp_path / "details"
    folder.mkdir()
    record = {"id": "a", "reward": 0.5, "dimensions": {}, "unscored": False}
    kept = json.dumps(record) + "\n"
    (folder / "batch_1.jsonl").write_text(kept)
    out = folder / "batch_1.jsonl"
    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(out)])
    assert result.exit_code == 2 and "would overwrite it" in result.output
    assert out.read_text() == kept


def test_invoke_of_the_canary_event_says_what_the_run_found_not_a_bad_answer(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: `judge invoke` on {"judge_canary": true}; its answer is no reward list."""
    serve(ScriptedJudge())
    config = project_copy(tmp_path, "calibration/anchors/politeness.jsonl")
    monkeypatch.setenv("JUDGE_CONFIG", str(config))
    event = tmp_path / "canary.json"
    event.write_text('{"judge_canary": true}')
    missing = CliRunner().invoke(main, ["invoke", str(event)])
    assert missing.exit_code == 0 and "canary run:" in missing.output
    assert "cannot read the canary set" in missing.output
    anchors = str(tmp_path / "calibration" / "anchors" / "politeness.jsonl")
    build = ["canary", "build", "--anchors", anchors, "--per-end", "1", "--tries", "1"]
    assert CliRunner().invoke(main, build).exit_code == 0
    ran = CliRunner().invoke(main, ["invoke", str(event)])
    assert ran.exit_code == 0 and "not a list of RFT reward items" not in ran.output
    answer = json.loads(ran.stdout.strip().splitlines()[-1])
    assert f"canaries {answer['canaries']} judged: CanaryDriftMax 0.0" in ran.output


@pytest.mark.parametrize("option", ["--anchors", "--attacks"])
def test_canary_build_refuses_an_out_that_is_one_of_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    """`--out` on the anchor file it reads would replace the human labels with canaries."""
    config = project_copy(tmp_path, "calibration/anchors/politeness.jsonl")
    monkeypatch.setenv("JUDGE_CONFIG", str(config))
    source = tmp_path / "calibration" / "anchors" / "politeness.jsonl"
    if option == "--attacks":
        source = tmp_path / "attacks.jsonl"
        shutil.copy(REPO / "judge" / "probe" / "data" / "attacks.jsonl", source)
    kept = source.read_bytes()
    args = ["canary", "build", option, str(source), "--out", str(source)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "would overwrite it" in result.output
    assert source.read_bytes() == kept


def test_label_export_refuses_to_write_over_its_own_dataset(tmp_path: Path) -> None:
    """Re-running export on the last round's items.jsonl must not replace it mid-read."""
    out = tmp_path / "labelling"
    out.mkdir()
    data = out / "items.jsonl"
    shutil.copy(REPO / "examples" / "batch.jsonl", data)
    kept = data.read_bytes()
    args = ["label", "export", "--rubric", "tone", "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 2 and "would overwrite it" in result.output
    assert data.read_bytes() == kept and not (out / "tasks.json").exists()


def test_lint_warns_that_calibrated_length_control_without_a_measured_slope_does_nothing(
    serve: ServeFn, tmp_path: Path
) -> None:
    config = project_copy(tmp_path, "calibration/anchors/politeness.jsonl")
    config.write_text(config.read_text() + '\n[reward]\nlength_control = "calibrated"\n')
    assert any("length_control" in note for note in config_notes(config))
    anchors = tmp_path / "calibration" / "anchors" / "politeness.jsonl"
    # a judge that gives the rounded human label: no length preference beyond the humans'
    # (the keyword judge has one: longer texts hit more of its words, slope +0.17 [+0.01, +0.32])
    labels = {a.item.response: a.label for a in load_anchors(anchors, "tone")}
    serve(ScriptedJudge(score_fn=lambda j: min(5, max(1, round(labels.get(j.response, 3))))))
    args = ["calibrate", "--rubric", "tone", "--anchors", str(anchors), "--config", str(config)]
    assert CliRunner().invoke(main, args).exit_code == 0
    artefact = tmp_path / "calibration" / "tone.json"
    fitted = json.loads(artefact.read_text())
    length = fitted["map"]["length"]
    assert length is not None and length["low"] < 0 < length["high"]  # measured: none there
    assert any("length_control" in note for note in config_notes(config))
    length.update(slope=1.33, low=1.15, high=1.51)  # as bench_length measures
    artefact.write_text(json.dumps(fitted))
    assert not any("length_control" in note for note in config_notes(config))


def test_report_from_logs_that_cannot_be_reached_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's --log-group command, with the logs endpoint down: the fix, not botocore's trace."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    args = ["report", "--log-group", "/aws/lambda/rlaif-judge-reward", "--region", "us-east-1"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "run.html")])
    assert isinstance(result.exception, SystemExit) and result.exit_code != 0
    assert "127.0.0.1:9" in result.output and "Fix: check the network" in result.output


def test_label_import_again_does_not_call_the_export_items_new(tmp_path: Path) -> None:
    """Re-importing adds nothing; the agreement line must not speak of new items then."""
    export = tmp_path / "export.json"
    export.write_text(json.dumps([_labelled_task(1, "4"), _labelled_task(2, "2")]))
    anchors = tmp_path / "anchors.jsonl"
    args = ["label", "import", str(export), "--rubric", "tone", "--anchors", str(anchors)]
    CliRunner().invoke(main, [*args, "--config", str(REPO / "reward.toml")])
    again = CliRunner().invoke(main, [*args, "--config", str(REPO / "reward.toml")])
    assert again.exit_code == 0 and "0 new item(s)" in again.output
    assert "vs people on the 2 item(s) of this export" in again.output


def test_label_export_names_its_files_without_a_double_slash(
    serve: ServeFn, tmp_path: Path
) -> None:
    """README writes `--out labelling/`; the summary said `labelling//tasks.json`."""
    serve(ScriptedJudge())
    out = f"{tmp_path / 'labelling'}/"
    data = str(REPO / "examples" / "batch.jsonl")
    args = ["label", "export", "--rubric", "tone", "--data", data, "-n", "3", "--out", out]
    result = CliRunner().invoke(main, [*args, "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 0 and f"{tmp_path / 'labelling' / 'tasks.json'}" in result.output
    assert "//" not in result.output


def test_label_export_with_nothing_to_label_writes_nothing(serve: ServeFn, tmp_path: Path) -> None:
    """Every sample unreadable: it said "wrote 0 item(s)" and left an empty tasks.json."""
    serve(ScriptedJudge())
    data = tmp_path / "data.jsonl"
    data.write_text('{"id": "a"}\n{"id": "b", "messages": "not a list"}\n')
    out = tmp_path / "labelling"
    args = ["label", "export", "--rubric", "tone", "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 0, result.output
    assert "left to label for tone: 0 already labelled, 2 unreadable" in result.output
    assert not (out / "tasks.json").exists() and "wrote" not in result.output


def test_label_status_on_80_columns_cuts_no_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calibration column (why it is due) was cut to `not yet: 8 more label…` at 80 columns."""
    monkeypatch.setenv("COLUMNS", "80")
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text("")
    args = ["label", "status", "--anchors", str(anchors), "--rubric", "tone"]
    result = CliRunner().invoke(main, [*args, "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 0 and "…" not in result.output
    cells = [line.split("│")[-2].strip() for line in result.output.splitlines() if "│" in line]
    assert "".join(cells).replace(" ", "") == "notyet:8morelabelleditem(s)needed"


def test_report_names_the_event_file_that_is_not_a_batch(tmp_path: Path) -> None:
    """With many batches, `the event is an object, not a batch` must say which file."""
    details, events = tmp_path / "details", tmp_path / "events"
    details.mkdir()
    events.mkdir()
    record = {"id": "a", "reward": 0.5, "dimensions": {}, "unscored": False}
    (details / "batch_7.jsonl").write_text(json.dumps(record) + "\n")
    (events / "batch_7.json").write_text('{"judge_canary": true}')
    args = ["report", str(details), "--batches", str(events), "--out", str(tmp_path / "r.html")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"{events / 'batch_7.json'}: the event is an object, not a batch" in result.output


def test_label_import_with_the_wrong_rubric_says_the_tasks_were_skipped(tmp_path: Path) -> None:
    """An export for tone imported as helpfulness: 0 labels, and the user must learn why."""
    export = tmp_path / "export.json"
    export.write_text(json.dumps([_labelled_task(1, "4"), _labelled_task(2, "2")]))
    anchors = tmp_path / "anchors.jsonl"
    args = ["label", "import", str(export), "--rubric", "helpfulness", "--anchors", str(anchors)]
    result = CliRunner().invoke(main, [*args, "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 0 and "imported 0 label(s)" in result.output
    assert "2 task(s) not exported for helpfulness" in result.output


def test_the_readme_cli_block_shows_every_command() -> None:
    """`judge --help` lists prefer, report and label; README's CLI summary left them out."""
    text = (REPO / "README.md").read_text()
    block = text.split("## CLI\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    missing = [name for name in main.commands if f"judge {name} " not in block]
    assert not missing


@pytest.mark.parametrize("event", ['{"judge_canary": 1}', '{"judge_canary": true, "x": 1}'])
def test_a_near_miss_of_the_canary_event_says_what_the_canary_event_is(
    tmp_path: Path, event: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_CONFIG", str(REPO / "reward.toml"))  # invoke sets it in os.environ
    path = tmp_path / "canary.json"
    path.write_text(event)
    result = CliRunner().invoke(main, ["invoke", str(path)])
    assert result.exit_code != 0 and "not a batch" in result.output
    assert 'A canary run is exactly {"judge_canary": true}' in result.output


def test_lint_warns_about_a_canary_set_built_on_a_local_server(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: build canaries against the judge you deploy; a local set would drift at once."""
    serve(ScriptedJudge())
    config = project_copy(tmp_path, "calibration/anchors/politeness.jsonl")
    monkeypatch.setenv("JUDGE_CONFIG", str(config))
    anchors = str(tmp_path / "calibration" / "anchors" / "politeness.jsonl")
    build = ["canary", "build", "--anchors", anchors, "--per-end", "1", "--tries", "1"]
    assert CliRunner().invoke(main, build).exit_code == 0
    assert any("built against a local judge server" in n for n in config_notes(config))
    path = tmp_path / "calibration" / "canaries.jsonl"
    path.write_text(path.read_text().replace('"endpoint": "custom"', '"endpoint": "aws"'))
    assert not any("local judge server" in n for n in config_notes(config))


def test_render_with_a_misspelt_check_suggests_it() -> None:
    """`--rubric no_pi` said `rubrics/no_pi.md: rubric file not found`: no_pii is a check."""
    support = REPO / "examples" / "support"
    args = ["render", "--config", str(support / "reward.toml"), "--rubric", "no_pi"]
    result = CliRunner().invoke(main, [*args, "--sample", str(support / "dataset.jsonl")])
    assert result.exit_code == 2 and "did you mean 'no_pii'?" in result.output


@pytest.mark.parametrize(
    ("event", "words"),
    [(7, "a number"), (2.5, "a number"), ("x", "a string"), (None, "null"), (True, "a boolean")],
)
def test_an_event_that_is_not_a_batch_is_named_in_json_words(event: object, words: str) -> None:
    """The reader said "the event is a int" / "a NoneType": JSON words, not Python types."""
    from judge.contract import samples_of
    from judge.errors import EventError

    with pytest.raises(EventError, match=f"^the event is {words}, not a batch"):
        samples_of(event)


def test_a_sample_that_is_not_an_object_is_named_in_json_words() -> None:
    from judge.contract import parse_sample

    assert parse_sample(0, 42).problem == "sample is a number, not an object"
    assert parse_sample(1, None).problem == "sample is null, not an object"


def test_judge_help_gives_every_command_its_whole_summary() -> None:
    """At 80 columns click cut every command's summary ("...through Bedrock..."); the list
    now wraps each command's whole first sentence."""
    from click.testing import CliRunner

    from judge.cli import main

    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    listing = " ".join(result.output.split("Commands:")[1].split())
    assert "..." not in listing
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        assert command is not None
        summary = " ".join(command.get_short_help_str(limit=200).split())
        assert f"{name} {summary}" in listing
