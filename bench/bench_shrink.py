"""Benchmark: does ``[reward] shrink`` improve rank agreement with human labels under noisy judges?

The anchors are the bundled politeness set (``calibration/anchors/politeness.jsonl``, rubric
``tone``, 120 items, each labelled 1..5 by five crowd raters; the label is their mean). Nothing
is fitted (no calibration map), so every anchor is held out. Each seed shuffles the anchors
into pseudo-groups of ``--group`` (default 4): each group's samples get the same prompt, so the
pipeline treats them as one prompt's responses, as a GRPO batch would be. The groups are
random, so a group's mean carries no information about its members beyond the set's mean.

The panel is three scripted judges behind the local Converse server, reached over HTTP through
the real pipeline (``run_event``: templates, panel aggregation by mean, spread, shrink). Each
judge scores the human label plus Gaussian noise drawn per (response, judge, seed), rounded
and clamped to 1..5. Two noise models:

- ``uniform``: sd ``--noise`` for every item;
- ``item``: sd ``--noise`` times the item's rater disagreement (sd of its five human ratings)
  over the set's mean rater sd: the items people find ambiguous confuse the judges too, so
  the panel's spread says something about how far its mean may be off;
- ``split``: a stress case, half the items (fixed by id) 0.25 x ``--noise``, half 1.75 x:
  spread is then a strong signal of which verdicts are unreliable.

Each seed scores the same batch with ``shrink`` k in {0, 0.5, 1} (the same verdicts: the noise
does not depend on k). Figures, against the human labels: Spearman and Kendall tau-b over all
items, the mean within-group Kendall tau-b (groups whose rewards and labels both vary), and
``advantage_r``: the Pearson correlation, pooled over all items, of the reward's deviation from
its group's mean with the human label's deviation from its group's mean (the advantage a
group-relative trainer reads, before scaling). Shrink moves magnitudes more than it reorders,
so the last figure is where a smaller step on an uncertain verdict could show. A check line
recomputes k = 1 offline from the k = 0 scores and spreads (``judge.shrink``).

    python bench/bench_shrink.py [--seeds 8] [--noise 0.8] [--group 4]

About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import statistics
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from judge.calibration.anchors import Anchor, load_anchors
from judge.server import ConverseServer
from judge.server.scripted import Judged, ScriptedJudge
from judge.shrink import disagreement, shrink_group

REPO = Path(__file__).resolve().parent.parent
ANCHORS = REPO / "calibration" / "anchors" / "politeness.jsonl"
JUDGES = ("judge-a", "judge-b", "judge-c")
KS = (0.0, 0.5, 1.0)
FIGURES = ("spearman", "kendall", "group_kendall", "advantage_r")


def noisy(truth: dict[str, tuple[float, float]], judge: str, seed: int) -> Callable[[Judged], int]:
    """A judge scoring the human label plus noise of the item's sd, rounded to the scale."""

    def score(j: Judged) -> int:
        label, sd = truth[j.response]
        material = "\x00".join((j.response, judge, str(seed)))
        digest = hashlib.sha256(material.encode("utf-8", "surrogatepass")).digest()
        draw = random.Random(int.from_bytes(digest[:8], "big")).gauss(0.0, 1.0)
        return max(j.scores[0], min(j.scores[-1], math.floor(label + sd * draw + 0.5)))

    return score


def truths(anchors: Sequence[Anchor], noise: float, model: str) -> dict[str, tuple[float, float]]:
    """Fenced response (as the judge reads it) -> (human label, the judges' noise sd)."""
    from judge.prompt import fence

    rater_sd = [statistics.pstdev(a.ratings) for a in anchors]
    scale = statistics.fmean(rater_sd)
    out = {
        fence(a.item.response): (a.label, noise * factor(model, a, sd / scale))
        for a, sd in zip(anchors, rater_sd, strict=True)
    }
    if len(out) != len(anchors):
        raise SystemExit("two anchors read the same to the judge: the lookup is ambiguous")
    return out


def factor(model: str, anchor: Anchor, rater_ratio: float) -> float:
    """The item's noise sd as a multiple of ``--noise`` under ``model``."""
    if model == "item":
        return rater_ratio
    if model == "split":  # a fixed half of the items (by id) 0.25x, the other 1.75x
        return 0.25 if hashlib.sha256(anchor.id.encode()).digest()[0] % 2 else 1.75
    return 1.0


def batch(anchors: Sequence[Anchor], size: int, seed: int) -> list[dict[str, Any]]:
    """The anchors shuffled into pseudo-groups of ``size``: a group shares one prompt."""
    order = list(anchors)
    random.Random(seed).shuffle(order)
    return [
        {
            "id": a.id,
            "messages": [
                {
                    "role": "user",
                    "content": f"Write a request to another editor (group {i // size}).",
                },
                {"role": "assistant", "content": a.item.response},
            ],
        }
        for i, a in enumerate(order)
    ]


def evaluate(samples: list[dict[str, Any]], k: float, root: Path) -> list[tuple[float, float]]:
    """Each sample's tone score (0..1) and its panel spread, scored with ``shrink = k``."""
    from judge.config import parse_config
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event
    from judge.pipeline import Evaluator

    raw = tomllib.loads((REPO / "reward.toml").read_text())
    raw |= {"rubrics": {"tone": {"weight": 1.0}}, "gates": [], "reward": {"shrink": k}}
    raw["judge"] = {**raw["judge"], "panel": [{"model_id": m} for m in JUDGES]}
    raw["judge"]["aggregation"] = "mean"
    raw["guard"] = {**raw.get("guard", {}), "enabled": False}  # anchors include short texts
    raw["paths"] = {**raw.get("paths", {}), "calibration": str(root / "no-maps")}
    os.environ["JUDGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="cache-", dir=root)
    evaluator = Evaluator.from_settings(parse_config(raw, REPO / "reward.toml"))
    try:
        _, result = run_event(evaluator, samples, Deadline.never())
    finally:
        evaluator.close()
    out = []
    for sample, r in zip(samples, result.results, strict=True):
        assert r.id == sample["id"] and not r.unscored, r
        dim = r.dimensions[0]
        assert dim.normalized is not None and dim.spread is not None
        out.append((dim.normalized, dim.spread))
    return out


def figures(
    samples: list[dict[str, Any]], scores: list[float], human: dict[str, float]
) -> dict[str, float]:
    """Spearman and Kendall over all items; mean within-group Kendall; advantage correlation."""
    labels = [human[s["id"]] for s in samples]
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(s["messages"][0]["content"], []).append(i)
    taus: list[float] = []
    adv_h: list[float] = []
    adv_r: list[float] = []
    for members in groups.values():
        xs, ys = [labels[i] for i in members], [scores[i] for i in members]
        adv_h += [x - statistics.fmean(xs) for x in xs]
        adv_r += [y - statistics.fmean(ys) for y in ys]
        if np.ptp(xs) > 0 and np.ptp(ys) > 0:
            taus.append(float(stats.kendalltau(xs, ys)[0]))
    return {
        "spearman": float(stats.spearmanr(labels, scores)[0]),
        "kendall": float(stats.kendalltau(labels, scores)[0]),
        "group_kendall": statistics.fmean(taus),
        "advantage_r": float(stats.pearsonr(adv_h, adv_r)[0]),
    }


def offline(
    samples: list[dict[str, Any]], base: list[tuple[float, float]], k: float
) -> list[float]:
    """``shrink = k`` recomputed from the k = 0 scores and spreads (``judge.shrink``)."""
    out = [unit for unit, _ in base]
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(s["messages"][0]["content"], []).append(i)
    for members in groups.values():
        units = [base[i][0] for i in members]
        spreads = [disagreement(base[i][1], None) for i in members]
        for i, (unit, _) in zip(members, shrink_group(units, spreads, k), strict=True):
            assert unit is not None
            out[i] = unit
    return out


def run_seed(
    anchors: list[Anchor], args: argparse.Namespace, model: str, seed: int, root: Path
) -> dict[float, dict[str, float]]:
    """One seed: a fresh panel, grouping and noise; the figures for each k."""
    truth = truths(anchors, args.noise, model)
    judge = ScriptedJudge(models={m: ScriptedJudge(score_fn=noisy(truth, m, seed)) for m in JUDGES})
    server = ConverseServer(judge).start()
    os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = server.url
    os.environ["JUDGE_FENCE_SECRET"] = f"bench-shrink-{seed}"
    human = {a.id: a.label for a in anchors}
    samples = batch(anchors, args.group, seed)
    try:
        scored = {k: evaluate(samples, k, root) for k in KS}
    finally:
        server.stop()
    again = offline(samples, scored[0.0], 1.0)
    gap = max(abs(a - u) for a, (u, _) in zip(again, scored[1.0], strict=True))
    assert gap < 1e-9, f"pipeline and offline shrink differ by {gap}"
    return {k: figures(samples, [u for u, _ in v], human) for k, v in scored.items()}


def report(model: str, runs: list[dict[float, dict[str, float]]]) -> None:
    """Mean +- sd over seeds per k, and the ratio of the mean to k = 0's."""
    print(f"\nnoise model: {model} ({len(runs)} seeds)")
    print(f"{'k':>4}" + "".join(f"{f:>26}" for f in FIGURES))
    base = {f: statistics.fmean(r[0.0][f] for r in runs) for f in FIGURES}
    for k in KS:
        cells = []
        for f in FIGURES:
            values = [r[k][f] for r in runs]
            mean, sd = statistics.fmean(values), statistics.stdev(values)
            better = sum(r[k][f] > r[0.0][f] for r in runs)
            cells.append(f"{mean:.4f}+-{sd:.4f} x{mean / base[f]:.3f} ({better})")
        print(f"{k:>4}" + "".join(f"{c:>26}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--noise", type=float, default=0.8, help="judges' noise sd, scale points")
    parser.add_argument("--group", type=int, default=4, help="pseudo-group size")
    args = parser.parse_args()
    anchors = load_anchors(ANCHORS, "tone", (1.0, 5.0))
    root = Path(tempfile.mkdtemp(prefix="bench-shrink-"))
    (root / "no-maps").mkdir()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    print(f"anchors: {len(anchors)} ({ANCHORS.name}), pseudo-groups of {args.group}")
    print(f"panel: {len(JUDGES)} scripted judges, mean; human label + noise sd {args.noise}")
    print("cells: mean+-sd over seeds, xratio of the mean to k = 0's, (seeds better than k = 0)")
    for model in ("uniform", "item", "split"):
        runs = [run_seed(anchors, args, model, seed, root) for seed in range(args.seeds)]
        report(model, runs)
    print("\ncheck: k = 1 recomputed offline from the k = 0 scores and spreads: equal (1e-9)")


if __name__ == "__main__":
    main()
