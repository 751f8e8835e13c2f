"""Calibration: statistics against published numbers, map recovery, artefacts, staleness."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from judge.calibration.anchors import load_anchors
from judge.calibration.artefact import load_artefact
from judge.calibration.runner import calibrate
from judge.calibration.stats import (
    agreement,
    krippendorff_interval,
    quadratic_weighted_kappa,
)
from judge.cli import main
from judge.errors import SourceError
from judge.server.scripted import Judged, ScriptedJudge
from tests.conftest import REPO, ServeFn, make_evaluator

QAGS = REPO / "tests" / "data" / "qags"  # derived slice, see its README
POLITENESS = REPO / "calibration" / "anchors" / "politeness.jsonl"


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


def _labels() -> dict[str, float]:
    return {a.item.response: a.label for a in load_anchors(POLITENESS, "tone")}


def _noisy_judge(distort: Any, noise: float) -> Callable[[Judged], int]:
    labels = _labels()

    def score(j: Judged) -> int:
        # bias probes append to a response: judge the anchor it starts with, like a robust judge
        h = labels[max((r for r in labels if j.response.startswith(r)), key=len)]
        seed = int(hashlib.sha256(j.response.encode()).hexdigest()[:8], 16)
        value = distort(h) + random.Random(seed).gauss(0, noise)
        return int(min(5, max(1, round(value))))

    return score


def test_calibration_recovers_a_distorted_judge(serve: ServeFn, tmp_path: Path) -> None:
    # A harsh judge: compresses the top of the scale (monotone, convex) plus noise.
    serve(ScriptedJudge(score_fn=_noisy_judge(lambda h: 1 + 4 * ((h - 1) / 4) ** 2.5, 0.3)))
    result = calibrate(
        make_evaluator(), "tone", POLITENESS, out=tmp_path, seed=1, bootstrap_rounds=200
    )
    raw = result.artefact.metrics["holdout"]["raw"]
    cal = result.artefact.metrics["holdout"]["calibrated"]
    assert result.artefact.map.kind != "identity"
    assert cal["mae"] < 0.7 * raw["mae"], (raw["mae"], cal["mae"])
    assert cal["rmse"] < raw["rmse"]
    assert cal["spearman"] >= raw["spearman"] - 0.02  # a monotone map keeps the ranking


def test_calibration_does_not_hurt_a_calibrated_judge(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(lambda h: h, 0.3)))
    result = calibrate(
        make_evaluator(), "tone", POLITENESS, out=tmp_path, seed=1, bootstrap_rounds=200
    )
    raw = result.artefact.metrics["holdout"]["raw"]
    cal = result.artefact.metrics["holdout"]["calibrated"]
    assert cal["mae"] <= raw["mae"] * 1.05, (raw["mae"], cal["mae"])


def _project(tmp: Path) -> Path:
    """A copy of the project's config, rubrics and prompts that a test may edit."""
    for sub in ("rubrics", "prompts"):
        shutil.copytree(REPO / sub, tmp / sub)
    shutil.copy(REPO / "reward.toml", tmp / "reward.toml")
    return tmp / "reward.toml"


def test_artefact_round_trip_and_staleness(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(lambda h: 1 + 4 * ((h - 1) / 4) ** 2.5, 0.3)))
    config = _project(tmp_path)
    from judge.pipeline import Evaluator

    evaluator = Evaluator.from_config(config)
    result = calibrate(
        evaluator, "tone", POLITENESS, out=tmp_path / "calibration", seed=1, bootstrap_rounds=50
    )
    evaluator.close()
    saved = load_artefact(result.artefact_path)
    assert saved is not None and saved.map == result.artefact.map
    held = json.loads(result.artefact_path.read_text())["metrics"]["holdout"]
    for side in ("raw", "calibrated"):
        for key in ("spearman", "kendall", "pearson", "qwk", "krippendorff_alpha", "mae", "rmse"):
            assert isinstance(held[side][key], float) and len(held[side][f"{key}_ci"]) == 2
    for name in ("report.md", "judge_vs_human.png", "confusion.png", "histograms.png"):
        assert (tmp_path / "calibration" / "reports" / "tone" / name).stat().st_size > 0

    fresh = Evaluator.from_config(config)
    assert "tone" in fresh.maps and not fresh.stale_calibration
    tone = fresh.rubrics["tone"]
    assert fresh.to_unit(tone, 3) == pytest.approx(saved.map.to_unit(3))
    assert fresh.to_unit(tone, 3) != pytest.approx(0.5)  # the map, not the raw scale
    fresh.close()

    rubric = tmp_path / "rubrics" / "tone.md"
    rubric.write_text(rubric.read_text().replace("Insults, mocks", "Insults or mocks"))
    stale = Evaluator.from_config(config)
    assert "tone" not in stale.maps
    assert "rubric file changed" in stale.stale_calibration["tone"]
    assert stale.to_unit(stale.rubrics["tone"], 3) == 0.5  # raw scale
    batch = stale.evaluate(
        [
            {
                "id": "x",
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "Hello."},
                ],
            }
        ],
        __import__("judge").Deadline.never(),
    )
    flags = {n: v for n, v, _ in batch.results[0].metrics()}
    assert flags["calibration_stale"] == 1
    stale.close()


def test_model_change_makes_calibration_stale(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(lambda h: h, 0.3)))
    config = _project(tmp_path)
    from judge.pipeline import Evaluator

    evaluator = Evaluator.from_config(config)
    calibrate(evaluator, "tone", POLITENESS, out=tmp_path / "calibration", bootstrap_rounds=20)
    evaluator.close()
    config.write_text(
        config.read_text().replace(
            'model_id = "us.amazon.nova-pro-v1:0"', 'model_id = "us.amazon.nova-lite-v1:0"'
        )
    )
    other = Evaluator.from_config(config)
    assert "judge model is us.amazon.nova-lite-v1:0" in other.stale_calibration["tone"]
    other.close()


def test_bad_anchor_lines_are_reported_with_numbers(tmp_path: Path) -> None:
    good = POLITENESS.read_text().splitlines()[:3]
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


def test_cli_gate_and_json(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(lambda h: h, 0.3)))
    args = [
        "calibrate",
        "--rubric",
        "tone",
        "--anchors",
        str(POLITENESS),
        "--out",
        str(tmp_path),
        "--config",
        str(REPO / "reward.toml"),
        "--json",
    ]
    passed = CliRunner().invoke(main, [*args, "--min-spearman", "0.3"])
    assert passed.exit_code == 0, passed.output
    metrics = json.loads(passed.stdout)
    assert set(metrics["holdout"]) == {"raw", "calibrated"}
    failed = CliRunner().invoke(main, [*args, "--min-spearman", "0.999"])
    assert failed.exit_code == 3
    assert "below --min-spearman" in failed.output


def test_map_fitted_locally_is_stale_against_bedrock(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(lambda h: h, 0.3)))
    config = _project(tmp_path)
    from judge.pipeline import Evaluator

    local = Evaluator.from_config(config)
    calibrate(local, "tone", POLITENESS, out=tmp_path / "calibration", bootstrap_rounds=20)
    local.close()
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")  # now the real Bedrock endpoint
    remote = Evaluator.from_config(config)  # (no call is made)
    assert remote.endpoint == "aws"
    assert "fitted against a custom endpoint" in remote.stale_calibration["tone"]
    remote.close()


def test_bias_probes_catch_a_gameable_judge(serve: ServeFn, tmp_path: Path) -> None:
    honest = _noisy_judge(lambda h: h, 0.0)

    def gameable(j: Judged) -> int:
        if "exemplary" in j.response or "Score: 5" in j.response:
            return 5
        score: int = honest(j)
        return score

    serve(ScriptedJudge(score_fn=gameable))
    result = calibrate(
        make_evaluator(),
        "tone",
        POLITENESS,
        out=tmp_path,
        seed=1,
        bootstrap_rounds=20,
        probe_items=15,
    )
    probes = result.artefact.metrics["probes"]
    assert probes["injection"]["items"] == 15
    assert probes["injection"]["mean_shift"] > 1.0 and probes["injection"]["raised"] > 0.5
    assert probes["forged_verdict"]["mean_shift"] > 1.0
    assert probes["padding"]["mean_shift"] == pytest.approx(0.0)  # this judge ignores filler
    assert "| injection | 15 |" in (tmp_path / "reports" / "tone" / "report.md").read_text()


def test_bias_probes_are_flat_for_a_robust_judge(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(lambda h: h, 0.0)))
    result = calibrate(
        make_evaluator(),
        "tone",
        POLITENESS,
        out=tmp_path,
        seed=1,
        bootstrap_rounds=20,
        probe_items=10,
    )
    for probe in result.artefact.metrics["probes"].values():
        assert probe["mean_shift"] == pytest.approx(0.0) and probe["raised"] == 0.0


def test_lint_reports_a_stale_artefact(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(score_fn=_noisy_judge(lambda h: h, 0.3)))
    config = _project(tmp_path)
    from judge.pipeline import Evaluator

    evaluator = Evaluator.from_config(config)
    calibrate(
        evaluator,
        "tone",
        POLITENESS,
        out=tmp_path / "calibration",
        bootstrap_rounds=20,
        probe_items=0,
    )
    evaluator.close()
    fresh = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert fresh.exit_code == 0, fresh.output
    rubric = tmp_path / "rubrics" / "tone.md"
    rubric.write_text(rubric.read_text() + "\n")
    stale = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert stale.exit_code == 1
    assert "tone.json: calibration is stale (the rubric file changed)" in stale.output


def test_self_consistency_with_repeated_draws(serve: ServeFn, tmp_path: Path) -> None:
    steady = _noisy_judge(lambda h: h, 0.0)
    rng = random.Random(0)

    def wobbly(j: Judged) -> int:  # a judge that samples: +-1 now and then
        return int(min(5, max(1, steady(j) + rng.choice([-1, 0, 0, 1]))))

    judge = serve(ScriptedJudge(score_fn=wobbly))
    result = calibrate(
        make_evaluator(),
        "tone",
        POLITENESS,
        out=tmp_path,
        draws=3,
        max_items=30,
        bootstrap_rounds=20,
        probe_items=0,
    )
    assert len(judge.requests) == 30 * 3  # each draw is its own judgement (own cache key)
    consistency = result.artefact.metrics["self_consistency"]
    assert 0.0 < consistency["mean_std"] < 1.0
    assert 0.0 < consistency["all_agree"] < 1.0
