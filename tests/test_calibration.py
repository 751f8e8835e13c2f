"""Calibration: statistics against published numbers, map recovery, artefacts, staleness."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import random
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from judge import Deadline, lambda_handler
from judge.artefact import load_artefact
from judge.calibration.anchors import load_anchors
from judge.calibration.options import CalibrationOptions
from judge.calibration.runner import calibrate
from judge.calibration.stats import (
    agreement,
    krippendorff_interval,
    quadratic_weighted_kappa,
)
from judge.cli import main
from judge.deadline import LocalContext
from judge.errors import SourceError
from judge.pipeline import Evaluator
from judge.server.scripted import Faults, Judged, ScriptedJudge
from tests.conftest import REPO, ServeFn, project_copy, sample

QAGS = REPO / "tests" / "data" / "qags"  # derived slice, see its README


@pytest.mark.parametrize(
    ("name", "pearson", "spearman", "kendall"),
    [("cnndm", 0.682, 0.662, 0.532), ("xsum", 0.461, 0.488, 0.399)],
)
def test_reproduces_unieval_row_of_geval_table3(
    name: str, pearson: float, spearman: float, kendall: float
) -> None:
    with open(QAGS / f"{name}.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == {"cnndm": 235, "xsum": 239}[name]
    pred = np.array([float(r["unieval"]) for r in rows])
    human = np.array([float(r["human"]) for r in rows])
    got = agreement(pred, human, (0.0, 1.0), [0, 1])
    assert round(got["pearson"], 3) == pearson
    assert round(got["spearman"], 3) == spearman
    assert round(got["kendall"], 3) == kendall


def _alpha_by_pairs(units: list[list[float]]) -> float:
    """Krippendorff's interval alpha straight from the definition (slow, obviously right)."""
    units = [u for u in units if len(u) >= 2]
    values = [v for u in units for v in u]
    n = len(values)
    d_o = (
        sum(
            sum((a - b) ** 2 for a, b in itertools.permutations(u, 2)) / (len(u) - 1) for u in units
        )
        / n
    )
    d_e = sum((a - b) ** 2 for a, b in itertools.permutations(values, 2)) / (n * (n - 1))
    return 1 - d_o / d_e


def test_krippendorff_interval_matches_definition() -> None:
    rng = random.Random(1)
    units = [[rng.uniform(1, 5) for _ in range(rng.randint(1, 5))] for _ in range(40)]
    assert krippendorff_interval(units) == pytest.approx(_alpha_by_pairs(units))
    assert krippendorff_interval([[1, 1], [3, 3], [5, 5]]) == 1.0


def test_qwk_matches_definition() -> None:
    a, b = [1, 2, 3, 4, 5, 5, 2], [1, 3, 3, 5, 4, 5, 1]
    levels = [1, 2, 3, 4, 5]
    n = len(a)
    num = sum((x - y) ** 2 for x, y in zip(a, b, strict=True))
    den = sum((x - y) ** 2 for x in a for y in b) / n
    assert quadratic_weighted_kappa(a, b, levels) == pytest.approx(1 - num / den)
    assert quadratic_weighted_kappa(a, a, levels) == 1.0


def test_derive_script_writes_the_slice(tmp_path: Path) -> None:
    source, out = tmp_path / "src", tmp_path / "out"
    source.mkdir()
    out.mkdir()
    for name in ("cnndm", "xsum"):
        items = [
            {
                "doc_id": i,
                "system_id": 0,
                "source": "article",
                "system_output": "summary",
                "scores": {"consistency": 1 / 3 * i},
                "predict_scores": {"consistency": 0.1 + i},
            }
            for i in range(2)
        ]
        (source / f"unieval_predictions_qags_{name}_result.json").write_text(json.dumps(items))
    script = QAGS / "derive.py"
    subprocess.run([sys.executable, str(script), str(source), str(out)], check=True)
    assert (out / "xsum.csv").read_text() == (
        "doc_id,system_id,human,unieval\n0,0,0.0,0.1\n1,0,0.3333333333333333,1.1\n"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of the project and the bundled anchors, with quick retries.

    Nothing here reads the working tree's ``calibration/`` folder, where a user's own
    ``judge calibrate`` run leaves ``tone.json``; returns the copy's ``reward.toml``.
    """
    config = project_copy(tmp_path / "project", "calibration/anchors")
    text = config.read_text()
    quick = text.replace("initial_backoff_s = 0.25", "initial_backoff_s = 0.01").replace(
        "max_backoff_s = 8.0", "max_backoff_s = 0.05"
    )
    assert quick != text
    config.write_text(quick)
    return config


@pytest.fixture
def new_evaluator(project: Path) -> Iterator[Callable[[], Evaluator]]:
    """Evaluators on the project copy, made after ``serve`` points boto3 at the judge."""
    made: list[Evaluator] = []

    def make() -> Evaluator:
        made.append(Evaluator.from_config(project))
        return made[-1]

    yield make
    for evaluator in made:
        evaluator.close()


def _anchors(config: Path, name: str = "politeness.jsonl") -> Path:
    return config.parent / "calibration" / "anchors" / name


def _shipped(config: Path, rubric: str = "tone") -> Path:
    """Where the Lambda (and ``judge package``) reads a rubric's map."""
    return config.parent / "calibration" / f"{rubric}.json"


def _cli(config: Path, *args: str, anchors: Path | None = None, rubric: str = "tone") -> Result:
    return CliRunner().invoke(
        main,
        [
            "calibrate",
            "--rubric",
            rubric,
            "--anchors",
            str(anchors or _anchors(config)),
            "--config",
            str(config),
            *args,
        ],
    )


def _noisy_judge(anchors: Path, distort: Any, noise: float) -> Callable[[Judged], int]:
    labels = {a.item.response: a.label for a in load_anchors(anchors, "tone")}

    def score(j: Judged) -> int:
        # bias probes append to a response: judge the anchor it starts with, like a robust judge
        h = labels[max((r for r in labels if j.response.startswith(r)), key=len)]
        seed = int(hashlib.sha256(j.response.encode()).hexdigest()[:8], 16)
        value = distort(h) + random.Random(seed).gauss(0, noise)
        return int(min(5, max(1, round(value))))

    return score


def _harsh(h: float) -> float:
    """Compresses the top of the scale (monotone, convex)."""
    return float(1 + 4 * ((h - 1) / 4) ** 2.5)


def test_calibration_recovers_a_distorted_judge(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    serve(ScriptedJudge(score_fn=_noisy_judge(anchors, _harsh, 0.3)))
    result = calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=_shipped(project).parent,
        options=CalibrationOptions(seed=1, bootstrap_rounds=200),
    )
    raw = result.artefact.metrics["holdout"]["raw"]
    cal = result.artefact.metrics["holdout"]["calibrated"]
    assert result.artefact.map.kind != "identity"
    assert cal["mae"] < 0.7 * raw["mae"], (raw["mae"], cal["mae"])
    assert cal["rmse"] < raw["rmse"]
    assert cal["spearman"] >= raw["spearman"] - 0.02  # a monotone map keeps the ranking


def test_calibration_does_not_hurt_a_calibrated_judge(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    serve(ScriptedJudge(score_fn=_noisy_judge(anchors, lambda h: h, 0.3)))
    result = calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=_shipped(project).parent,
        options=CalibrationOptions(seed=1, bootstrap_rounds=200),
    )
    raw = result.artefact.metrics["holdout"]["raw"]
    cal = result.artefact.metrics["holdout"]["calibrated"]
    assert cal["mae"] <= raw["mae"] * 1.05, (raw["mae"], cal["mae"])


def test_artefact_round_trip_and_staleness(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    serve(ScriptedJudge(score_fn=_noisy_judge(anchors, _harsh, 0.3)))
    out = _shipped(project).parent
    result = calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=out,
        options=CalibrationOptions(seed=1, bootstrap_rounds=50),
    )
    assert result.artefact_path == _shipped(project) and not result.rejected
    saved = load_artefact(result.artefact_path)
    assert saved is not None and saved.map == result.artefact.map
    held = json.loads(result.artefact_path.read_text())["metrics"]["holdout"]
    for side in ("raw", "calibrated"):
        for key in ("spearman", "kendall", "pearson", "qwk", "krippendorff_alpha", "mae", "rmse"):
            assert isinstance(held[side][key], float) and len(held[side][f"{key}_ci"]) == 2
    for name in ("report.md", "judge_vs_human.png", "confusion.png", "histograms.png"):
        assert (out / "reports" / "tone" / name).stat().st_size > 0

    fresh = new_evaluator()
    assert "tone" in fresh.maps and not fresh.stale_calibration
    tone = fresh.rubrics["tone"]
    assert fresh.to_unit(tone, 3) == pytest.approx(saved.map.to_unit(3))
    assert fresh.to_unit(tone, 3) != pytest.approx(0.5)  # the map, not the raw scale

    rubric = project.parent / "rubrics" / "tone.md"
    rubric.write_text(rubric.read_text().replace("Insults, mocks", "Insults or mocks"))
    stale = new_evaluator()
    assert "tone" not in stale.maps
    assert "rubric file changed" in stale.stale_calibration["tone"]
    assert stale.to_unit(stale.rubrics["tone"], 3) == 0.5  # raw scale
    batch = stale.evaluate([sample("x", "Hello.", "hi")], Deadline.never())
    flags = {n: v for n, v, _ in batch.results[0].metrics()}
    assert flags["calibration_stale"] == 1


def test_model_change_makes_calibration_stale(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    serve(ScriptedJudge(score_fn=_noisy_judge(anchors, lambda h: h, 0.3)))
    calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=_shipped(project).parent,
        options=CalibrationOptions(bootstrap_rounds=20),
    )
    project.write_text(
        project.read_text().replace(
            'model_id = "us.amazon.nova-pro-v1:0"', 'model_id = "us.amazon.nova-lite-v1:0"'
        )
    )
    assert "judge model is us.amazon.nova-lite-v1:0" in new_evaluator().stale_calibration["tone"]


def test_bad_anchor_lines_are_reported_with_numbers(project: Path, tmp_path: Path) -> None:
    good = _anchors(project).read_text().splitlines()[:3]
    bad = tmp_path / "anchors.jsonl"
    bad.write_text(
        "\n".join(
            [
                good[0],
                "{not json",
                good[1],
                json.dumps({"id": "x", "prompt": "p", "labels": {"tone": 3}}),  # no response
                good[1],  # duplicate id
                json.dumps({"id": "y", "prompt": "p", "response": "r", "labels": {"tone": []}}),
            ]
        )
        + "\n"
    )
    with pytest.raises(SourceError) as err:
        load_anchors(bad, "tone")
    msg = str(err.value)
    assert "4 bad anchor line(s)" in msg
    for number in (2, 4, 5, 6):
        assert f"line {number}:" in msg
    assert err.value.line == 2


def _one_line_error(result: Result, code: int, *parts: str) -> str:
    """The CLI failed with ``code`` and one error line holding every part; no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if all(p in line for p in parts)]
    assert len(lines) == 1, result.output
    return lines[0]


def _write_anchors(path: Path, labels: list[float | list[float]], rubric: str = "tone") -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": f"a{i}", "prompt": "p", "response": f"r{i}", "labels": {rubric: v}})
            + "\n"
            for i, v in enumerate(labels)
        )
    )
    return path


def test_anchor_files_that_are_not_utf8_text_are_one_line_errors(
    aws_env: Path, project: Path, tmp_path: Path
) -> None:
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(
        b'{"id": "caf\xe9", "prompt": "p", "response": "r", "labels": {"tone": 3}}\n'
    )
    _one_line_error(_cli(project, anchors=latin1), 2, str(latin1), "not UTF-8", "byte 11")
    binary = tmp_path / "anchors.bin"
    binary.write_bytes(b"\x00\x01\x02binary\x00")
    _one_line_error(_cli(project, anchors=binary), 2, str(binary), "binary")
    with pytest.raises(SourceError, match="not UTF-8"):
        load_anchors(latin1, "tone")


def test_fewer_than_eight_anchors_says_how_many(
    aws_env: Path, project: Path, tmp_path: Path
) -> None:
    few = _write_anchors(tmp_path / "few.jsonl", [1, 2, 3, 4, 5])
    line = _one_line_error(_cli(project, anchors=few), 2, str(few))
    assert "5 item(s) labelled for tone; calibration needs at least 8" in line
    assert "add 3 or more items labelled for tone" in line


def test_labels_off_the_rubric_scale_are_errors(
    aws_env: Path, project: Path, tmp_path: Path
) -> None:
    # One label of 7 on a 1..5 rubric used to stretch the human scale to 1..7, silently.
    path = _write_anchors(tmp_path / "a.jsonl", [1, 2, 3, 7, 4, 5, 2, 3, 4, 1, [5, 0]])
    line = _one_line_error(_cli(project, anchors=path), 2, f"{path}:4")
    assert "line 4: label 7 for tone is outside the rubric's scale 1..5" in line
    assert "line 11: label 0 for tone" in line
    assert "pass --human-scale MIN MAX" in line
    assert not _shipped(project).exists()

    # --human-scale says which scale the labels are on; labels outside it are errors too.
    line = _one_line_error(_cli(project, "--human-scale", "1", "6", anchors=path), 2, f"{path}:4")
    assert "line 4: label 7 for tone is outside --human-scale 1..6" in line
    assert "widen --human-scale" in line
    wide = load_anchors(path, "tone", (0.0, 10.0))
    assert [a.line for a in wide][:4] == [1, 2, 3, 4]
    reversed_scale = _cli(project, "--human-scale", "5", "1", anchors=path)
    assert reversed_scale.exit_code == 2 and "MIN must be below MAX" in reversed_scale.output


def test_human_scale_puts_other_labels_on_their_own_scale(serve: ServeFn, project: Path) -> None:
    serve(ScriptedJudge())
    formality = _anchors(project, "formality.jsonl")  # labels on 0..1, the rubric is 1..5
    args = ("--max-items", "12", "--probes", "0")
    _one_line_error(
        _cli(project, *args, anchors=formality, rubric="formality"),
        2,
        "outside the rubric's scale 1..5",
    )
    result = _cli(project, *args, "--human-scale", "0", "1", anchors=formality, rubric="formality")
    assert result.exit_code == 0, result.output
    saved = load_artefact(_shipped(project, "formality"))
    assert saved is not None
    assert (saved.human_scale.min, saved.human_scale.max) == (0.0, 1.0)


def test_report_gives_the_real_number_of_folds(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    serve(ScriptedJudge(score_fn=_noisy_judge(anchors, lambda h: h, 0.3)))
    out = _shipped(project).parent
    quick = CalibrationOptions(bootstrap_rounds=20, probe_items=0)
    three = calibrate(new_evaluator(), "tone", anchors, out=out, options=replace(quick, folds=3))
    assert three.artefact.metrics["cv_folds"] == 3
    report = three.report_path.read_text()
    assert "Map chosen by 3-fold cross-validated MAE" in report and "5-fold" not in report
    # 10 items, 8 held out: the 2 left for fitting allow 2 folds, whatever was asked for.
    two = calibrate(
        new_evaluator(), "tone", anchors, out=out, options=replace(quick, max_items=10, holdout=0.8)
    )
    assert two.artefact.metrics["calibration_items"] == 2
    assert two.artefact.metrics["cv_folds"] == 2
    assert "Map chosen by 2-fold cross-validated MAE" in two.report_path.read_text()


def test_cli_gate_and_json(serve: ServeFn, project: Path) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(_anchors(project), lambda h: h, 0.3)))
    passed = _cli(project, "--json", "--min-spearman", "0.3")
    assert passed.exit_code == 0, passed.output
    metrics = json.loads(passed.stdout)
    assert set(metrics["holdout"]) == {"raw", "calibrated"}
    failed = _cli(project, "--json", "--min-spearman", "0.999")
    assert failed.exit_code == 3
    assert "below --min-spearman" in failed.output
    assert "below --min-spearman 0.999" in json.loads(failed.stdout)["rejected"]


def test_failed_gate_does_not_write_the_map_the_lambda_reads(serve: ServeFn, project: Path) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(_anchors(project), lambda h: h, 0.0)))
    quick = ("--max-items", "40", "--probes", "0")
    shipped = _shipped(project)
    reports = shipped.parent / "reports" / "tone"

    failed = _cli(project, *quick, "--min-spearman", "0.999")
    line = _one_line_error(failed, 3, "below --min-spearman 0.999")
    assert not shipped.exists()
    assert f"NOT written to {shipped}" in line and str(reports / "report.md") in line
    assert "Gate failed" in (reports / "report.md").read_text()
    assert load_artefact(reports / "rejected.json") is not None  # kept for inspection

    passed = _cli(project, *quick, "--min-spearman", "0.3")
    assert passed.exit_code == 0, passed.output
    assert shipped.is_file() and not (reports / "rejected.json").exists()

    shipped.write_text(shipped.read_text() + "\n")  # mark the deployed map
    before = shipped.read_bytes()
    again = _cli(project, *quick, "--min-spearman", "0.999")
    assert again.exit_code == 3, again.output
    assert shipped.read_bytes() == before  # the map in force is left as it was
    lint = CliRunner().invoke(main, ["lint", "--config", str(project)])
    # Not stale; its one problem is the one `judge package` has: fitted on a local server.
    errors = [line for line in lint.output.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "fitted against a local judge server" in errors[0], lint.output


def test_map_fitted_locally_is_stale_against_bedrock(
    serve: ServeFn,
    project: Path,
    new_evaluator: Callable[[], Evaluator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    anchors = _anchors(project)
    serve(ScriptedJudge(score_fn=_noisy_judge(anchors, lambda h: h, 0.3)))
    calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=_shipped(project).parent,
        options=CalibrationOptions(bootstrap_rounds=20),
    )
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")  # now the real Bedrock endpoint
    remote = new_evaluator()  # (no call is made)
    assert remote.endpoint == "aws"
    assert "fitted against a custom endpoint" in remote.stale_calibration["tone"]


def test_bias_probes_catch_a_gameable_judge(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    honest = _noisy_judge(anchors, lambda h: h, 0.0)

    def gameable(j: Judged) -> int:
        if "exemplary" in j.response or "Score: 5" in j.response:
            return 5
        score: int = honest(j)
        return score

    serve(ScriptedJudge(score_fn=gameable))
    out = _shipped(project).parent
    result = calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=out,
        options=CalibrationOptions(seed=1, bootstrap_rounds=20, probe_items=15),
    )
    probes = result.artefact.metrics["probes"]
    assert probes["injection"]["items"] == 15
    assert probes["injection"]["mean_shift"] > 1.0 and probes["injection"]["raised"] > 0.5
    assert probes["forged_verdict"]["mean_shift"] > 1.0
    assert probes["padding"]["mean_shift"] == pytest.approx(0.0)  # this judge ignores filler
    assert "| injection | 15 |" in (out / "reports" / "tone" / "report.md").read_text()


def test_bias_probes_are_flat_for_a_robust_judge(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    serve(ScriptedJudge(score_fn=_noisy_judge(anchors, lambda h: h, 0.0)))
    result = calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=_shipped(project).parent,
        options=CalibrationOptions(seed=1, bootstrap_rounds=20, probe_items=10),
    )
    for probe in result.artefact.metrics["probes"].values():
        assert probe["mean_shift"] == pytest.approx(0.0) and probe["raised"] == 0.0


def test_lint_reports_a_stale_artefact(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    serve(ScriptedJudge(score_fn=_noisy_judge(anchors, lambda h: h, 0.3)))
    calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=_shipped(project).parent,
        options=CalibrationOptions(bootstrap_rounds=20, probe_items=0),
    )
    fresh = CliRunner().invoke(main, ["lint", "--config", str(project)])
    # Fresh, not stale; what lint (like `judge package`) refuses is the local server's map.
    assert "calibration is stale" not in fresh.output
    assert "fitted against a local judge server" in fresh.output
    rubric = project.parent / "rubrics" / "tone.md"
    rubric.write_text(rubric.read_text() + "\n")
    stale = CliRunner().invoke(main, ["lint", "--config", str(project)])
    assert stale.exit_code == 1
    assert "tone.json: calibration is stale (the rubric file changed)" in stale.output


class _Records(logging.Handler):
    """The package's log records (the CLI stops ``judge`` logs propagating to pytest)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


BROKEN_ARTEFACTS = {
    "binary": (b"PK\x03\x04\x14\x00\x00\x00", "binary"),  # a zip
    "latin1": ('{"rubric": "tone", "note": "café"}'.encode("latin-1"), "not UTF-8"),
    "json": (b'{"rubric": "tone", ', "not a valid calibration artefact"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "not a valid calibration artefact"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_ARTEFACTS))
def test_a_broken_artefact_leaves_the_lambda_on_the_raw_scale(
    kind: str, serve: ServeFn, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content, problem = BROKEN_ARTEFACTS[kind]
    serve(ScriptedJudge(score_fn=lambda j: 4))
    _shipped(project).write_bytes(content)
    handler = _Records()
    logging.getLogger("judge").addHandler(handler)
    monkeypatch.setenv("JUDGE_CONFIG", str(project))
    lambda_handler.reset()
    try:
        answer = lambda_handler.handler([sample("a", "Thanks, happy to help.")], LocalContext(60))
        evaluator = lambda_handler.get_evaluator()
        assert "tone" not in evaluator.maps
        assert problem in evaluator.stale_calibration["tone"]
    finally:
        lambda_handler.reset()
        logging.getLogger("judge").removeHandler(handler)
    metrics = {m["name"]: m["value"] for m in answer[0]["metrics_list"]}
    assert metrics["calibration_stale"] == 1 and metrics["tone"] == 0.75  # 4 on 1..5, raw
    warned = [r.getMessage() for r in handler.records if r.levelno == logging.WARNING]
    assert any(str(_shipped(project)) in m and problem in m for m in warned), warned

    lint = CliRunner().invoke(main, ["lint", "--config", str(project)])
    _one_line_error(lint, 1, str(_shipped(project)), problem)


def test_calibrate_exits_4_when_no_judgement_succeeded(serve: ServeFn, project: Path) -> None:
    serve(ScriptedJudge(faults=Faults(validation=1.0)))
    result = _cli(project, "--max-items", "12", "--probes", "0")
    _one_line_error(
        result, 4, "no judgement succeeded (12 of 12 unscored: judge_error: ValidationException"
    )
    assert not (_shipped(project).parent / "reports").exists() and not _shipped(project).exists()


def test_calibrate_exits_4_without_credentials(
    aws_env: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against Bedrock itself (a loopback endpoint gets dummy credentials): no request leaves."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = _cli(project, "--max-items", "8", "--probes", "0")
    _one_line_error(
        result, 4, "no judgement succeeded (8 of 8 unscored: judge_error: NoCredentialsError"
    )


def test_calibrate_exits_4_when_the_endpoint_refuses_connections(
    aws_env: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a port nothing listens on once this socket closes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"http://127.0.0.1:{port}")
    result = _cli(project, "--max-items", "8", "--probes", "0", "--concurrency", "8")
    _one_line_error(result, 4, f"no judge server answers at http://127.0.0.1:{port}")
    assert not _shipped(project).exists()


def test_max_unscored_is_a_gate(serve: ServeFn, project: Path) -> None:
    anchors = _anchors(project)
    serve(
        ScriptedJudge(
            score_fn=_noisy_judge(anchors, lambda h: h, 0.3), faults=Faults(validation=0.3)
        )
    )
    text = project.read_text()
    assert "cache = true" in text
    project.write_text(text.replace("cache = true", "cache = false"))  # the 2nd run re-asks
    quick = ("--max-items", "40", "--probes", "0")
    strict = _cli(project, *quick, "--max-unscored", "0.1")
    line = _one_line_error(strict, 4, "of anchor judgements unscored, above --max-unscored 0.1")
    assert "judge_error: ValidationException" in line
    assert not _shipped(project).exists()
    lenient = _cli(project, *quick, "--max-unscored", "0.6")
    assert lenient.exit_code == 0, lenient.output
    saved = load_artefact(_shipped(project))
    assert saved is not None and saved.metrics["unscored_items"] > 0


def test_self_consistency_with_repeated_draws(
    serve: ServeFn, project: Path, new_evaluator: Callable[[], Evaluator]
) -> None:
    anchors = _anchors(project)
    steady = _noisy_judge(anchors, lambda h: h, 0.0)
    rng = random.Random(0)

    def wobbly(j: Judged) -> int:  # a judge that samples: +-1 now and then
        return int(min(5, max(1, steady(j) + rng.choice([-1, 0, 0, 1]))))

    judge = serve(ScriptedJudge(score_fn=wobbly))
    result = calibrate(
        new_evaluator(),
        "tone",
        anchors,
        out=_shipped(project).parent,
        options=CalibrationOptions(draws=3, max_items=30, bootstrap_rounds=20, probe_items=0),
    )
    assert len(judge.requests) == 30 * 3  # each draw is its own judgement (own cache key)
    consistency = result.artefact.metrics["self_consistency"]
    assert 0.0 < consistency["mean_std"] < 1.0
    assert 0.0 < consistency["all_agree"] < 1.0
