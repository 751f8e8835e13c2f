"""Anchors carry the rubric version they were labelled under; calibrate refuses other ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.calibration.anchors import load_anchors
from judge.calibration.options import CalibrationOptions
from judge.calibration.runner import calibrate
from judge.errors import SourceError
from judge.pipeline import Evaluator
from judge.rubric import load_rubrics
from judge.server.scripted import ScriptedJudge
from tests.conftest import ServeFn, project_copy

OLD = "0" * 64  # the content hash of a rubric version that is not the current one


def _anchors(path: Path, current: str, versions: Sequence[str | None]) -> Path:
    """Twelve tone anchors whose labels follow the response's politeness words."""
    lines = []
    for i, version in enumerate(versions):
        polite = i % 5
        line: dict[str, object] = {
            "id": f"a{i}",
            "prompt": "Where is my order?",
            "response": f"answer {i}" + " please thank" * polite,
            "labels": {"tone": [1 + polite, min(5, 2 + polite)]},
            "raters": {"tone": ["r1", "r2"]},
        }
        if version is not None:
            line["rubric_hash"] = {"tone": current if version == "current" else version}
            line["labelled_at"] = {"tone": ["2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"]}
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_copy(tmp_path / "project")


def _hash(project: Path) -> str:
    return load_rubrics(project.parent / "rubrics", ["tone"])["tone"].content_hash


def test_load_anchors_reads_the_version(project: Path, tmp_path: Path) -> None:
    path = _anchors(tmp_path / "a.jsonl", _hash(project), ["current", OLD, None] * 4)
    versions = [a.version for a in load_anchors(path, "tone")]
    assert versions[:3] == [_hash(project), OLD, ""]


def test_calibrate_refuses_other_versions_unless_told(
    serve: ServeFn, project: Path, tmp_path: Path
) -> None:
    serve(ScriptedJudge())
    path = _anchors(tmp_path / "a.jsonl", _hash(project), ["current"] * 9 + [OLD] * 3)
    quick = CalibrationOptions(bootstrap_rounds=20, probe_items=0)
    evaluator = Evaluator.from_config(project)
    try:
        with pytest.raises(SourceError, match=r"3 of 12 anchor\(s\) for tone were labelled under"):
            calibrate(evaluator, "tone", path, out=tmp_path / "out", options=quick)
        assert not (tmp_path / "out" / "tone.json").exists()
        kept = CalibrationOptions(bootstrap_rounds=20, probe_items=0, keep_other_versions=True)
        result = calibrate(evaluator, "tone", path, out=tmp_path / "out", options=kept)
    finally:
        evaluator.close()
    assert result.artefact.metrics["anchor_versions"] == {
        "current": 9,
        "other": 3,
        "unversioned": 0,
    }
    assert result.artefact.metrics["items"] == 12
    assert any("3 anchor(s) labelled under another version" in w for w in result.warnings)


def test_unversioned_anchors_are_accepted_and_counted(
    serve: ServeFn, project: Path, tmp_path: Path
) -> None:
    serve(ScriptedJudge())
    path = _anchors(tmp_path / "a.jsonl", _hash(project), ["current"] * 8 + [None] * 4)
    evaluator = Evaluator.from_config(project)
    try:
        result = calibrate(
            evaluator,
            "tone",
            path,
            out=tmp_path / "out",
            options=CalibrationOptions(bootstrap_rounds=20, probe_items=0),
        )
    finally:
        evaluator.close()
    counts = result.artefact.metrics["anchor_versions"]
    assert counts == {"current": 8, "other": 0, "unversioned": 4}
    assert any("4 anchor(s) carry no rubric version" in w for w in result.warnings)


def test_the_cli_says_how_many_and_how_to_keep_them(
    serve: ServeFn, project: Path, tmp_path: Path
) -> None:
    from judge.cli import main

    serve(ScriptedJudge())
    path = _anchors(tmp_path / "a.jsonl", _hash(project), ["current"] * 10 + [OLD] * 2)
    args = ["calibrate", "--rubric", "tone", "--anchors", str(path), "--config", str(project)]
    args += ["--probes", "0", "--out", str(tmp_path / "out")]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2, refused.output
    assert "2 of 12 anchor(s) for tone were labelled under another version" in refused.output
    assert "--keep-other-versions" in refused.output
    kept = CliRunner().invoke(main, [*args, "--keep-other-versions"])
    assert kept.exit_code == 0, kept.output
    assert "2 anchor(s) labelled under another version of the rubric were kept" in kept.output
