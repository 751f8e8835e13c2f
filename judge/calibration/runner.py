"""``judge calibrate``: judge every anchor, fit a map on a split, report held-out agreement."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from judge.calibration.anchors import Anchor, file_hash, load_anchors
from judge.calibration.artefact import (
    ARTEFACT_FORMAT,
    Artefact,
    HumanScale,
    artefact_path,
    inference_fingerprint,
)
from judge.calibration.fit import fit_map, select_map
from judge.calibration.probes import run_probes
from judge.calibration.report import write_report
from judge.calibration.stats import METRICS, Array, bootstrap, human_agreement, spearman
from judge.deadline import Deadline
from judge.pipeline import Evaluator, Progress
from judge.rubric import load_rubrics
from judge.verdict import Verdict


@dataclass
class CalibrationResult:
    """What a run produced."""

    artefact: Artefact
    artefact_path: Path
    report_path: Path


def split(n: int, holdout: float, seed: int) -> tuple[Array, Array]:
    """Reproducible (calibration, held-out) index split; both sides get at least 2 items."""
    order = np.random.default_rng(seed).permutation(n)
    n_hold = min(n - 2, max(2, round(holdout * n)))
    return np.sort(order[n_hold:]), np.sort(order[:n_hold])


def calibrate(
    evaluator: Evaluator,
    rubric_name: str,
    anchors_path: Path,
    *,
    out: Path,
    holdout: float = 0.3,
    seed: int = 0,
    draws: int = 1,
    human_scale: tuple[float, float] | None = None,
    max_items: int | None = None,
    probe_items: int = 20,
    bootstrap_rounds: int = 1000,
    progress: Progress | None = None,
) -> CalibrationResult:
    """Run a calibration and write ``<out>/<rubric>.json`` and ``<out>/reports/<rubric>/``."""
    rubric = load_rubrics(evaluator.config.path("rubrics"), [rubric_name])[rubric_name]
    anchors = load_anchors(anchors_path, rubric_name)
    if max_items is not None and max_items < len(anchors):
        keep = np.sort(np.random.default_rng(seed).permutation(len(anchors))[:max_items])
        anchors = [anchors[i] for i in keep]
    if len(anchors) < 8:
        raise ValueError(f"{anchors_path}: {len(anchors)} anchors for {rubric_name}; need 8+")
    outcomes, _ = evaluator.judge_items(
        rubric, [a.item for a in anchors], draws, Deadline.never(), progress
    )
    scored: list[tuple[Anchor, list[int]]] = []
    for anchor, row in zip(anchors, outcomes, strict=True):
        verdicts = [o.score for o in row if isinstance(o, Verdict)]
        if verdicts:
            scored.append((anchor, verdicts))
    if len(scored) < 8:
        raise ValueError(f"only {len(scored)} anchors got a verdict; check the judge")
    judge = np.array([float(np.mean(v)) for _, v in scored])
    human = np.array([a.label for a, _ in scored])
    lengths = np.array([len(a.item.response) for a, _ in scored], dtype=float)
    labels = [v for a in anchors for v in a.ratings]
    scale = human_scale or _infer_scale(labels, (rubric.scale_min, rubric.scale_max))
    judge_scale = (float(rubric.scale_min), float(rubric.scale_max))
    levels = rubric.scores

    cal, held = split(len(scored), holdout, seed)
    score_map, cv = select_map(judge[cal], human[cal], judge_scale, scale, seed=seed)
    identity = fit_map("identity", judge[cal], human[cal], judge_scale, scale)
    held_judge, held_human = judge[held], human[held]
    raw_pred = np.array([identity.apply(float(x)) for x in held_judge])
    cal_pred = np.array([score_map.apply(float(x)) for x in held_judge])

    metrics: dict[str, Any] = {
        "holdout": {
            "raw": _flat(
                bootstrap(raw_pred, held_human, scale, levels, rounds=bootstrap_rounds, seed=seed)
            ),
            "calibrated": _flat(
                bootstrap(cal_pred, held_human, scale, levels, rounds=bootstrap_rounds, seed=seed)
            ),
        },
        "model_id": evaluator.config.judge.model_id,
        "endpoint": evaluator.endpoint,
        "anchors_file": str(anchors_path),
        "items": len(anchors),
        "unscored_items": len(anchors) - len(scored),
        "calibration_items": len(cal),
        "holdout_items": len(held),
        "seed": seed,
        "draws": draws,
        "map_kind": score_map.kind,
        "cv_mae": cv,
        "cv_folds": 5,
        "human_agreement": human_agreement([a.ratings for a in anchors]),
        "self_consistency": _consistency([v for _, v in scored]) if draws > 1 else {},
        "length_bias": {
            "judge": spearman(judge, lengths),
            "human": spearman(human, lengths),
        },
        "distribution": _distribution([v for _, vs in scored for v in vs], levels),
        "probes": run_probes(
            evaluator,
            rubric,
            [scored[i][0] for i in held],
            [float(judge[i]) for i in held],
            items=probe_items,
            seed=seed,
        ),
    }
    artefact = Artefact(
        format=ARTEFACT_FORMAT,
        rubric=rubric.name,
        rubric_hash=rubric.content_hash,
        template_hash=evaluator.renderer.template_hash,
        model_id=evaluator.config.judge.model_id,
        inference=inference_fingerprint(evaluator.config.judge),
        anchors_file=anchors_path.name,
        anchors_hash=file_hash(anchors_path),
        human_scale=HumanScale(min=scale[0], max=scale[1]),
        map=score_map,
        metrics=metrics,
        endpoint=evaluator.endpoint,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    out.mkdir(parents=True, exist_ok=True)
    path = artefact_path(out, rubric.name)
    path.write_text(json.dumps(_json_safe(artefact.model_dump()), indent=1) + "\n")
    report = write_report(
        out / "reports" / rubric.name,
        rubric.name,
        held_judge,
        held_human,
        score_map,
        levels,
        metrics,
    )
    return CalibrationResult(artefact, path, report)


def _infer_scale(labels: list[float], rubric: tuple[int, int]) -> tuple[float, float]:
    """The rubric's scale when every label lies on it, else the labels' own range."""
    lo, hi = min(labels), max(labels)
    if rubric[0] <= lo and hi <= rubric[1]:
        return float(rubric[0]), float(rubric[1])
    return float(lo), float(hi)


def _flat(boot: dict[str, dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in METRICS:
        out[name] = boot[name]["value"]
        out[f"{name}_ci"] = [boot[name]["low"], boot[name]["high"]]
    return out


def _consistency(rows: list[list[int]]) -> dict[str, float]:
    multi = [r for r in rows if len(r) > 1]
    if not multi:
        return {}
    return {
        "mean_std": float(np.mean([np.std(r) for r in multi])),
        "all_agree": float(np.mean([len(set(r)) == 1 for r in multi])),
    }


def _distribution(scores: list[int], levels: list[int]) -> dict[str, Any]:
    counts = {str(v): scores.count(v) for v in levels}
    n = max(1, len(scores))
    return {
        "counts": counts,
        "floor": scores.count(levels[0]) / n,
        "ceiling": scores.count(levels[-1]) / n,
    }


def _json_safe(value: Any) -> Any:
    """NaN is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
