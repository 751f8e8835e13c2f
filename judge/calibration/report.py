"""The calibration report: markdown with PNG plots, under ``<out>/reports/<rubric>/``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from judge.calibration.maps import ScoreMap
from judge.calibration.stats import METRICS, Array, to_levels


def write_report(
    directory: Path,
    rubric: str,
    judge: Array,
    human: Array,
    score_map: ScoreMap,
    levels: list[int],
    metrics: dict[str, Any],
) -> Path:
    """Write plots and ``report.md``; returns the markdown path."""
    directory.mkdir(parents=True, exist_ok=True)
    human_scale = (score_map.y_min, score_map.y_max)
    _scatter(directory / "judge_vs_human.png", judge, human, score_map, rubric)
    _confusion(directory / "confusion.png", judge, human, human_scale, levels)
    _histograms(directory / "histograms.png", judge, human, levels)
    md = directory / "report.md"
    md.write_text(_markdown(rubric, metrics), encoding="utf-8")
    return md


def _scatter(path: Path, judge: Array, human: Array, score_map: ScoreMap, rubric: str) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(judge))
    ax.scatter(judge + jitter, human, s=12, alpha=0.5, label="anchors (held-out)")
    grid = np.linspace(score_map.x_min, score_map.x_max, 200)
    ax.plot(
        grid,
        [score_map.apply(float(g)) for g in grid],
        color="C3",
        lw=2,
        label=f"fitted map ({score_map.kind})",
    )
    ax.set_xlabel("judge score")
    ax.set_ylabel("human label")
    ax.set_title(f"{rubric}: judge vs human")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _confusion(
    path: Path, judge: Array, human: Array, scale: tuple[float, float], levels: list[int]
) -> None:
    human_levels = to_levels(human, scale, levels)
    matrix = np.zeros((len(levels), len(levels)), dtype=int)
    for j, h in zip(judge, human_levels, strict=True):
        matrix[levels.index(h), levels.index(int(j))] += 1
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.imshow(matrix, cmap="Blues", origin="lower")
    for (r, c), v in np.ndenumerate(matrix):
        ax.text(c, r, str(v), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(levels)), [str(v) for v in levels])
    ax.set_yticks(range(len(levels)), [str(v) for v in levels])
    ax.set_xlabel("judge score")
    ax.set_ylabel("human label, on the rubric's levels")
    ax.set_title("confusion (held-out)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _histograms(path: Path, judge: Array, human: Array, levels: list[int]) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    axes[0].hist(judge, bins=np.arange(levels[0] - 0.5, levels[-1] + 1.5), rwidth=0.8)
    axes[0].set_title("judge scores")
    axes[1].hist(human, bins=20, color="C2")
    axes[1].set_title("human labels")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def _markdown(rubric: str, m: dict[str, Any]) -> str:
    raw, cal = m["holdout"]["raw"], m["holdout"]["calibrated"]
    rows = "\n".join(
        f"| {name} | {_fmt(raw[name])} [{_fmt(raw[name + '_ci'][0])}, {_fmt(raw[name + '_ci'][1])}]"
        f" | {_fmt(cal[name])} [{_fmt(cal[name + '_ci'][0])}, {_fmt(cal[name + '_ci'][1])}] |"
        for name in METRICS
    )
    human = m.get("human_agreement") or {}
    human_rows = "\n".join(f"| {k} | {_fmt(v)} |" for k, v in human.items()) or "| - | - |"
    sc = m.get("self_consistency") or {}
    probe_rows = (
        "\n".join(
            f"| {name} | {p['items']:.0f} | {p['mean_shift']:+.2f} | {p['raised']:.0%} | "
            f"{p['lowered']:.0%} |"
            for name, p in (m.get("probes") or {}).items()
        )
        or "| (not run) | | | | |"
    )
    lb, dist = m["length_bias"], m["distribution"]
    endpoint = "Bedrock" if m.get("endpoint") == "aws" else "a custom endpoint (local server)"
    small = (
        f"\n**Only {m['holdout_items']} held-out items: the intervals below are unreliable; "
        "use more anchors or a larger --holdout.**\n"
        if m["holdout_items"] < 30
        else ""
    )
    rejected = (
        f"\n**Gate failed: {m['rejected']}. The map was not written where the Lambda reads it "
        "(it is kept beside this report as `rejected.json`).**\n"
        if m.get("rejected")
        else ""
    )
    return f"""# Calibration report: {rubric}
{rejected}
Judge `{m["model_id"]}` via {endpoint}; anchors `{m["anchors_file"]}`: {m["items"]} items,
{m["calibration_items"]} for fitting and {m["holdout_items"]} held out (seed {m["seed"]}).
Items left out because every judgement was unscored: {m["unscored_items"]}.
{small}
Map chosen by {m["cv_folds"]}-fold cross-validated MAE on the calibration split: **{m["map_kind"]}**
({", ".join(f"{k} {v:.3f}" for k, v in m["cv_mae"].items())}).

## Held-out agreement (95% bootstrap intervals)
"Raw" is the judge scale stretched linearly onto the human scale; "calibrated" applies the map.

| metric | raw | calibrated |
|---|---|---|
{rows}

## Human-human agreement
| statistic | value |
|---|---|
{human_rows}

## Self-consistency
{m["draws"]} verdict(s) per item. Mean per-item standard deviation
{_fmt(sc.get("mean_std", math.nan))}; items whose verdicts all agree:
{_fmt(sc.get("all_agree", math.nan))}.

## Length bias
Spearman of score with response length: judge {_fmt(lb["judge"])}, humans {_fmt(lb["human"])}.

## Bias probes
Held-out responses rewritten in ways that should not change the score; shift in judge points.

| probe | items | mean shift | raised | lowered |
|---|---|---|---|---|
{probe_rows}

## Score distribution
Judge scores per level: {dist["counts"]}. Floor share {_fmt(dist["floor"])}, ceiling share
{_fmt(dist["ceiling"])}.

![judge vs human](judge_vs_human.png)
![confusion](confusion.png)
![histograms](histograms.png)
"""
