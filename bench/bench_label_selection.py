"""Benchmark: labels needed to reach a held-out agreement, selecting by disagreement vs at random.

The loop of ``judge label``: label a few items, fit the calibration map, choose the next
items, repeat. On the bundled politeness anchors (rubric ``tone``, 120 items, five crowd
raters each: their mean is the "truth" the simulated labels reveal), a panel of three noisy
scripted judges scores every item once through the real pipeline (``run_event`` against
the local Converse server, panel mean), and ``--details`` lines are made from the results
exactly as ``judge score`` writes them. Then, per seed, 30% of the items are held out
(``split(n, 0.3, seed)``) and the rest form the pool. Both strategies start from the same 8
random labels and add 4 a round until the pool is used up; after each round the map is
fitted as ``judge calibrate`` fits it (``select_map``) and the held-out MAE of the
calibrated panel score against the mean human label is measured:

- random: 4 items uniformly from the unlabelled pool;
- disagreement: ``judge.annotate.select.select`` on the signals recomputed from the details
  and the current map (panel spread, uncertainty of the calibrated score), with its default
  20% random share;
- balanced (a control): the same selection with every priority 0, so only its spreading of
  the picks over the judge's levels (and the random share) is left.

Target: a held-out MAE within 5% of the one the whole pool gives. Reported: the labels each
strategy needed to first reach it (mean and median over seeds; a seed that never reaches
it counts the whole pool), and the area under the MAE curve.

Two judge noise models: "difficulty-linked" (each judge's noise sd grows with how much the
five raters disagreed on the item: items people find hard are the ones judges disagree on,
the premise of disagreement selection) and "uniform" (the same sd for every item: there,
disagreement says nothing about error, and selection has nothing to find).

    python bench/bench_label_selection.py [--seeds 10]

About 1 minute on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judge.annotate.items import Item
from judge.annotate.select import Candidate, select, signals
from judge.calibration.anchors import Anchor, load_anchors
from judge.calibration.fit import select_map
from judge.calibration.runner import split
from judge.server import ConverseServer
from judge.server.scripted import Judged, ScriptedJudge

REPO = Path(__file__).resolve().parent.parent
JUDGES = ("judge-a", "judge-b", "judge-c")
START, BATCH, TARGET = 8, 4, 1.05


@dataclass(frozen=True)
class Noise:
    """A judge noise model: sd = base + per_sd * (the raters' sd on the item)."""

    name: str
    base: float
    per_sd: float


MODELS = (Noise("difficulty-linked", 0.2, 1.6), Noise("uniform", 0.9, 0.0))


def _draw(response: str, judge: str, seed: int) -> float:
    digest = hashlib.sha256(f"{response}\x00{judge}\x00{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big")).gauss(0.0, 1.0)


def _judge(truth: dict[str, tuple[float, float]], noise: Noise, seed: int) -> ScriptedJudge:
    """Three judges: a shared harsh distortion of the truth plus their own noise."""

    def persona(name: str) -> Callable[[Judged], int]:
        def score(j: Judged) -> int:
            mean, sd = truth[j.response]
            harsh = 1 + 4 * math.pow((mean - 1) / 4, 1.8)
            value = harsh + (noise.base + noise.per_sd * sd) * _draw(j.response, name, seed)
            return max(1, min(5, math.floor(value + 0.5)))

        return score

    return ScriptedJudge(models={n: ScriptedJudge(score_fn=persona(n)) for n in JUDGES})


def _details(anchors: list[Anchor], noise: Noise, seed: int, root: Path) -> list[dict[str, Any]]:
    """Every anchor scored by the panel; one ``--details`` line each (``judge score``'s)."""
    from judge.cli._tables import explain
    from judge.config import parse_config
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event
    from judge.pipeline import Evaluator
    from judge.prompt import fence

    truth = {fence(a.item.response): (a.label, statistics.pstdev(a.ratings)) for a in anchors}
    server = ConverseServer(_judge(truth, noise, seed)).start()
    os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = server.url
    os.environ["JUDGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="cache-", dir=root)
    raw = tomllib.loads((REPO / "reward.toml").read_text())
    raw.update(rubrics={"tone": {"weight": 1.0}}, gates=[])
    raw["guard"] = {**raw.get("guard", {}), "enabled": False}
    raw["paths"] = {**raw.get("paths", {}), "calibration": tempfile.mkdtemp(dir=root)}
    raw["judge"] = {**raw["judge"], "panel": [{"model_id": n} for n in JUDGES]}
    raw["judge"]["aggregation"] = "mean"
    evaluator = Evaluator.from_settings(parse_config(raw, REPO / "reward.toml"))
    samples = [
        {
            "id": a.id,
            "messages": [
                *({"role": t.role, "content": t.text} for t in a.item.conversation),
                {"role": "assistant", "content": a.item.response},
            ],
        }
        for a in anchors
    ]
    try:
        _, batch = run_event(evaluator, samples, Deadline.never())
    finally:
        evaluator.close()
        server.stop()
    return [explain(r) for r in batch.results]


def _curve(
    anchors: list[Anchor], details: list[dict[str, Any]], seed: int, strategy: str
) -> list[tuple[int, float]]:
    """(labels, held-out MAE) after each round of one strategy."""
    dims = [d["dimensions"]["tone"] for d in details]
    raw = np.array([d["raw"] for d in dims], dtype=float)
    human = np.array([a.label for a in anchors])
    pool_idx, held = split(len(anchors), 0.3, seed)
    rng = random.Random(seed)
    labelled = rng.sample(sorted(int(i) for i in pool_idx), START)
    items = {int(i): Item(anchors[i].id, anchors[i].item) for i in pool_idx}
    curve = []
    while True:
        ordered = sorted(labelled)  # the fit depends on the set, not the order of labelling
        x, y = raw[ordered], human[ordered]
        score_map, _ = select_map(x, y, (1.0, 5.0), (1.0, 5.0), folds=5, seed=seed)
        pred = np.array([score_map.apply(float(v)) for v in raw[held]])
        curve.append((len(labelled), float(np.mean(np.abs(pred - human[held])))))
        left = [i for i in items if i not in labelled]
        if not left:
            return curve
        if strategy == "random":
            labelled += rng.sample(left, min(BATCH, len(left)))
            continue
        candidates = []
        for i in left:
            normalized = (score_map.apply(float(raw[i])) - 1.0) / 4.0
            dim = {**dims[i], "normalized": normalized}
            if strategy == "balanced":  # the judge's level alone: coverage, no priority
                dim = {"raw": dims[i]["raw"]}
            candidates.append(Candidate(items[i], signals(dim, (1, 5))))
        chosen = select(candidates, BATCH, seed=seed * 1000 + len(labelled))
        by_key = {items[i].key: i for i in left}
        labelled += [by_key[c.candidate.item.key] for c in chosen]


def _needed(curve: list[tuple[int, float]], within: float) -> int:
    target = curve[-1][1] * within
    return next(int(n) for n, mae in curve if mae <= target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--within", type=float, default=TARGET, help="target: this times the whole pool's MAE"
    )
    args = parser.parse_args()
    anchors = load_anchors(REPO / "calibration/anchors/politeness.jsonl", "tone", (1.0, 5.0))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-label-") as tmp:
        root = Path(tmp)
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=str(root / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(root / "no-aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            JUDGE_FENCE_SECRET="bench-label-selection",
        )
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "JUDGE_CONFIG"):
            os.environ.pop(name, None)
        print(f"Labels to reach held-out MAE within {args.within - 1:.0%} of the whole pool's")
        print(f"politeness anchors ({len(anchors)} items, pool 70%, held out 30%), panel of 3")
        print(f"start {START} random labels, +{BATCH} a round; {args.seeds} seeds\n")
        print("| judge noise | strategy | labels needed: mean | median | MAE area | final MAE |")
        print("|---|---|---:|---:|---:|---:|")
        for noise in MODELS:
            rows: dict[str, list[tuple[int, float, float]]] = {
                "random": [],
                "disagreement": [],
                "balanced": [],
            }
            for seed in range(args.seeds):
                details = _details(anchors, noise, seed, root)
                for strategy, out in rows.items():
                    curve = _curve(anchors, details, seed, strategy)
                    area = sum(m for _, m in curve) / len(curve)
                    out.append((_needed(curve, args.within), area, curve[-1][1]))
            for strategy, out in rows.items():
                needed = [n for n, _, _ in out]
                area = statistics.mean(a for _, a, _ in out)
                final = statistics.mean(f for _, _, f in out)
                print(
                    f"| {noise.name} | {strategy} | {statistics.mean(needed):.1f} | "
                    f"{statistics.median(needed):g} | {area:.3f} | {final:.3f} |"
                )
    print(f"\nwall time: {time.perf_counter() - started:.1f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
