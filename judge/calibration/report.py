"""The calibration report: markdown with PNG plots, under ``<out>/reports/<rubric>/``.

Beside it, ``worst.jsonl`` holds the anchors the judge got most wrong, in full, for scripts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from judge.calibration.stats import METRICS, Array, to_levels
from judge.maps import ScoreMap
from judge.prompt import Turn
from judge.verdict import Verdict

SMALL_HOLDOUT = 30  # fewer held-out items: the intervals are unreliable
WORST = 10  # anchors listed in "Anchors the judge got most wrong"
PROMPT_CHARS = 200  # of the prompt's last turn, in the report (worst.jsonl has it all)
TEXT_CHARS = 1500  # of a response or a reasoning, in the report


@dataclass(frozen=True)
class Miss:
    """One scored anchor: what the humans said, what the judge said and why."""

    id: str
    line: int  # in the anchor file
    prompt: tuple[Turn, ...]
    response: str
    human: float  # the mean label
    verdicts: tuple[Verdict, ...]  # one per draw that was scored
    calibrated: float  # the map applied to the mean judge score
    held_out: bool

    @property
    def judge(self) -> float:
        """The mean raw judge score over the draws."""
        return sum(v.score for v in self.verdicts) / len(self.verdicts)

    @property
    def error(self) -> float:
        """Calibrated judge score minus human label, on the human scale."""
        return self.calibrated - self.human


def worst(misses: Sequence[Miss], n: int = WORST) -> list[Miss]:
    """The ``n`` anchors with the largest |calibrated - human|; ties by anchor id."""
    return sorted(misses, key=lambda m: (-abs(m.error), m.id))[:n]


def report_warnings(metrics: dict[str, Any]) -> list[str]:
    """What a reader must not miss; the report shows each, ``judge calibrate`` prints each."""
    out: list[str] = []
    held = metrics["holdout_items"]
    if held < SMALL_HOLDOUT:
        out.append(
            f"Only {held} held-out items: the intervals are unreliable; use more anchors or a "
            "larger --holdout."
        )
    if metrics.get("unscored_items"):
        out.append(
            f"{metrics['unscored_items']} of {metrics['items']} anchors were left out because "
            "every judgement of them was unscored: the map is fitted on the rest, which may "
            "not be a random sample."
        )
    if math.isnan(metrics["holdout"]["raw"]["spearman"]):
        out.append(
            "The judge gave every held-out item the same score, or the humans gave them the "
            "same label: the correlations are undefined (n/a)."
        )
    return out


def write_report(
    directory: Path,
    rubric: str,
    judge: Array,
    human: Array,
    score_map: ScoreMap,
    levels: list[int],
    metrics: dict[str, Any],
    misses: Sequence[Miss] = (),
    length_points: tuple[Array, Array] | None = None,
) -> Path:
    """Write plots, ``report.md`` and ``worst.jsonl``; returns the markdown path.

    ``judge`` and ``human`` are the held-out items'; ``misses`` are the worst anchors, worst
    first (``worst``); ``length_points``: every scored anchor's (characters, judge score less
    its human-label part), for the length plot (drawn when the map carries a ``LengthBias``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    human_scale = (score_map.y_min, score_map.y_max)
    _scatter(directory / "judge_vs_human.png", judge, human, score_map, rubric)
    plot = directory / "length_excess.png"
    plot.unlink(missing_ok=True)
    if length_points is not None and score_map.length is not None:
        _length_plot(plot, *length_points, score_map, rubric)
    _confusion(directory / "confusion.png", judge, human, human_scale, levels)
    _histograms(directory / "histograms.png", judge, human, levels)
    write_worst(directory / "worst.jsonl", misses)
    md = directory / "report.md"
    md.write_text(_markdown(rubric, metrics, misses), encoding="utf-8")
    return md


def write_worst(path: Path, misses: Sequence[Miss]) -> None:
    """One JSON line per anchor, worst first, with the full texts (for scripts)."""
    with path.open("w", encoding="utf-8") as fh:
        for rank, m in enumerate(misses, start=1):
            line = {
                "rank": rank,
                "id": m.id,
                "anchor_line": m.line,
                "split": "held-out" if m.held_out else "calibration",
                "prompt": _prompt_json(m.prompt),
                "response": m.response,
                "human_label": m.human,
                "judge_score": m.judge,
                "calibrated_score": m.calibrated,
                "error": m.error,
                "reasoning": m.verdicts[0].reasoning,
                "verdicts": [{"score": v.score, "reasoning": v.reasoning} for v in m.verdicts],
            }
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def _prompt_json(turns: tuple[Turn, ...]) -> str | list[dict[str, str]]:
    """The prompt as an anchor line gives it: a string for one user turn, else messages."""
    if len(turns) == 1 and turns[0].role == "user":
        return turns[0].text
    return [{"role": t.role, "content": t.text} for t in turns]


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


def _length_plot(
    path: Path, chars: Array, residual: Array, score_map: ScoreMap, rubric: str
) -> None:
    """The judge score less its human-label part against length, with the fitted slope."""
    bias = score_map.length
    assert bias is not None
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.scatter(chars, residual, s=12, alpha=0.5, label="anchors (both splits)")
    grid = np.geomspace(max(float(chars.min()), 1.0), max(float(chars.max()), 2.0), 100)
    centre = float(np.mean(residual))
    for value, style in ((bias.slope, "-"), (bias.low, ":"), (bias.high, ":")):
        ax.plot(
            grid,
            centre + value * (np.log(grid) - np.log(bias.ref_chars)),
            "C3" + style,
            lw=2 if style == "-" else 1,
        )
    ax.axhline(centre, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("response length (characters, log scale)")
    ax.set_ylabel("judge score - a - c * human (judge points)")
    ax.set_title(f"{rubric}: slope {bias.slope:+.3f} [{bias.low:+.3f}, {bias.high:+.3f}]")
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


COUNTS = frozenset({"items"})  # statistics that count things
SHARES = frozenset({"all_agree", "floor", "ceiling"})  # fractions, shown as percentages


def _fmt(v: object, name: str = "") -> str:
    """A statistic as its type reads: counts whole, shares in percent, the rest to 3 places."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if name in COUNTS or isinstance(v, int):
        return f"{round(v)}"
    if name in SHARES:
        return f"{v:.0%}"
    return f"{v:.3f}"


def _with_interval(side: dict[str, Any], name: str) -> str:
    low, high = side[f"{name}_ci"]
    if side[name] is None or math.isnan(side[name]):
        return "n/a"
    return f"{_fmt(side[name])} [{_fmt(low)}, {_fmt(high)}]"


def _fence(text: str) -> str:
    """``text`` verbatim in a code block that nothing inside it can close."""
    runs = [len(r) for r in re.findall(r"`{3,}", text)]
    ticks = "`" * max(3, max(runs, default=0) + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary, saying how much was left out."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return f"{cut.rstrip()} … [{len(text) - len(cut)} more characters in worst.jsonl]"


def _prompt_text(turns: tuple[Turn, ...]) -> str:
    """The last turn the response answers, whitespace collapsed and clipped."""
    text = _clip(" ".join(turns[-1].text.split()), PROMPT_CHARS)
    return text if len(turns) == 1 else f"(last of {len(turns)} turns) {text}"


def _worst_section(misses: Sequence[Miss]) -> str:
    if not misses:
        return "None listed (`--worst 0`).\n"
    parts = []
    for rank, m in enumerate(misses, start=1):
        scores = ", ".join(str(v.score) for v in m.verdicts)
        raw = f"{_fmt(m.judge)} (draws: {scores})" if len(m.verdicts) > 1 else scores
        split = "held out" if m.held_out else "calibration split"
        reasoning = m.verdicts[0].reasoning or "(the judge gave no reasoning)"
        which = " (first draw)" if len(m.verdicts) > 1 else ""
        parts.append(
            f"### {rank}. `{m.id}` (anchor line {m.line}, {split})\n"
            f"Human label {_fmt(m.human)}; judge raw score {raw}; calibrated "
            f"{_fmt(m.calibrated)} (error {m.error:+.3f}).\n\n"
            f"Prompt:\n{_fence(_prompt_text(m.prompt))}\n"
            f"Response:\n{_fence(_clip(m.response, TEXT_CHARS))}\n"
            f"Judge's reasoning{which}:\n{_fence(_clip(reasoning, TEXT_CHARS))}\n"
        )
    return "\n".join(parts)


def _excess_section(excess: dict[str, Any] | None) -> str:
    """The judge's length preference beyond the humans' (the map's ``LengthBias``)."""
    if not excess:
        return "Preference beyond the humans': not measured (the anchors' lengths do not vary)."
    applies = excess["low"] > 0 or excess["high"] < 0
    verdict = (
        'the interval excludes 0: `[reward] length_control = "calibrated"` removes it'
        if applies
        else "the interval includes 0: length control leaves this rubric alone"
    )
    return (
        "Preference beyond the humans' (the judge's raw score regressed on the human label "
        f"and log characters together, over {excess['anchors']} anchors): slope "
        f"{excess['slope']:+.3f} [{excess['low']:+.3f}, {excess['high']:+.3f}] judge points per "
        f"unit of log length, the label held fixed, around {excess['ref_chars']:.0f} "
        f"characters; {verdict}.\n\n"
        "![length excess](length_excess.png)\n"
    )


def _markdown(rubric: str, m: dict[str, Any], misses: Sequence[Miss] = ()) -> str:
    raw, cal = m["holdout"]["raw"], m["holdout"]["calibrated"]
    rows = "\n".join(
        f"| {name} | {_with_interval(raw, name)} | {_with_interval(cal, name)} |"
        for name in METRICS
    )
    human = m.get("human_agreement") or {}
    human_rows = "\n".join(f"| {k} | {_fmt(v, k)} |" for k, v in human.items()) or "| - | - |"
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
    warned = "".join(f"\n**Warning: {w}**\n" for w in report_warnings(m))
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
{warned}
Map chosen by {m["cv_folds"]}-fold cross-validated MAE on the calibration split: **{m["map_kind"]}**
({", ".join(f"{k} {v:.3f}" for k, v in m["cv_mae"].items())}).

## Held-out agreement (95% intervals)
"Raw" is the judge scale stretched linearly onto the human scale; "calibrated" applies the map.
Intervals: the point estimate +- 1.96 bootstrap standard errors ({m.get("bootstrap_rounds", "")}
item resamples), on Fisher's z for the correlations, log(1 - value) for kappa and alpha
and log for the errors, so they stay in range and always contain the point estimate.

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
{_fmt(sc.get("all_agree", math.nan), "all_agree")}.

## Length bias
Spearman of score with response length: judge {_fmt(lb["judge"])}, humans {_fmt(lb["human"])}.
{_excess_section(m.get("length_excess"))}

## Bias probes
Held-out responses rewritten in ways that should not change the score; shift in judge points.

| probe | items | mean shift | raised | lowered |
|---|---|---|---|---|
{probe_rows}

## Score distribution
Judge scores per level: {", ".join(f"{k}: {v}" for k, v in dist["counts"].items())}.
Floor share {_fmt(dist["floor"], "floor")}, ceiling share {_fmt(dist["ceiling"], "ceiling")}.

![judge vs human](judge_vs_human.png)
![confusion](confusion.png)
![histograms](histograms.png)

## Anchors the judge got most wrong
The {len(misses)} scored anchors (of either split) with the largest |calibrated judge score -
human label|, worst first; `worst.jsonl` beside this report has them in full.

{_worst_section(misses)}"""
