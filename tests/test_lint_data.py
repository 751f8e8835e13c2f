"""``judge lint --data`` reads a dataset as ``judge score`` and the handler read an event."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from judge.cli import main
from tests.conftest import REPO


def _bad_rows() -> list[dict[str, object]]:
    lines = (REPO / "examples" / "checklists.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    rows[1]["metadata"]["rubric"][1]["weight"] = "high"
    return rows


def test_a_json_list_is_linted_sample_by_sample(tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text(json.dumps(_bad_rows(), indent=1))
    result = CliRunner().invoke(main, ["lint", "--data", str(data)])
    assert result.exit_code == 1
    assert "data.json: sample 2: metadata.rubric[1].weight" in result.output
    assert "12 per-sample rubrics" in result.output


def test_trajectories_and_blank_lines(tmp_path: Path) -> None:
    wrapped = tmp_path / "event.json"
    wrapped.write_text(json.dumps({"trajectories": _bad_rows()}))
    result = CliRunner().invoke(main, ["lint", "--data", str(wrapped)])
    assert result.exit_code == 1 and "sample 2: metadata.rubric[1].weight" in result.output
    jsonl = tmp_path / "data.jsonl"  # a blank line: messages still name the file's lines
    rows = [json.dumps(r) for r in _bad_rows()]
    jsonl.write_text("\n".join([rows[0], "", rows[1], *rows[2:]]) + "\n")
    result = CliRunner().invoke(main, ["lint", "--data", str(jsonl)])
    assert result.exit_code == 1 and "data.jsonl:3: metadata.rubric[1].weight" in result.output


def test_an_object_that_is_no_batch_is_one_problem(tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"rows": []}))
    result = CliRunner().invoke(main, ["lint", "--data", str(data)])
    assert result.exit_code == 1 and "not a batch" in result.output
