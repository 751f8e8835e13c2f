"""Benchmark: calibrated length control against a judge that prefers length.

The judge is the scripted one, through the real Converse wire: on the bundled politeness
anchors (rubric ``tone``, 120 items, five crowd raters each) it scores the mean human label
plus per-response noise (sd ``--noise``), plus ``--bias`` points per unit of log(characters /
100) (``ScriptedJudge.length_bias``), rounded to the 1..5 scale. Steps:

1. ``judge calibrate`` on the anchors against that judge (``calibrate``, as the CLI runs it):
   the map and the judge's length preference beyond the humans' (slope and 95% interval).
2. A padding batch: ``--groups`` prompts, each answered ``--size`` times with the same
   content (an anchor's response) and 0, 1, ... filler sentences after it. Scored with
   ``length_control`` off, then ``calibrated`` (same map, same verdicts), then ``group`` with
   no map at all (a rubric without anchors).
3. The reward/length correlation of each run: Spearman within each prompt group, averaged
   over groups (``judge.signals``, recomputed here with scipy), against the humans' own
   label/length Spearman on the anchors.

Target (issue 21): above 0.5 without length control, within +-0.1 of the humans' with it.

    python bench/bench_length.py [--bias 1.5] [--noise 0.3] [--groups 120] [--size 6] [--seeds 5]

About 2 minutes for 5 seeds on 2 cores. Each seed draws its own calibration split and batch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from judge.calibration.anchors import Anchor, load_anchors
from judge.server import ConverseServer
from judge.server.scripted import Judged, ScriptedJudge

REPO = Path(__file__).resolve().parent.parent
ANCHORS = REPO / "calibration" / "anchors" / "politeness.jsonl"
FILLER = (
    " To be clear, this is what I am asking.",
    " I hope that makes the request easier to follow.",
    " Let me restate it once more so nothing is lost.",
    " In other words, the point above is the request.",
    " Thanks for reading this far, it is appreciated.",
    " Again, that is the whole of what I need here.",
)


def oracle(anchors: list[Anchor], noise: float) -> Callable[[Judged], int]:
    """The mean human label of the anchor a response starts with, plus seeded noise."""
    labels = {a.item.response: a.label for a in anchors}

    def score(j: Judged) -> int:
        base = labels[max((r for r in labels if j.response.startswith(r)), key=len)]
        seed = int(hashlib.sha256(j.response.encode()).hexdigest()[:8], 16)
        return int(min(5, max(1, round(base + random.Random(seed).gauss(0, noise)))))

    return score


def evaluator(tmp: Path, calibration: Path, control: str) -> Any:
    """An evaluator judging ``tone`` alone, its maps in ``calibration``, length control set."""
    from judge.config import parse_config
    from judge.pipeline import Evaluator

    raw = tomllib.loads((REPO / "reward.toml").read_text())
    raw["rubrics"] = {"tone": {"weight": 1.0}}
    raw["gates"] = []
    raw["retry"] = {**raw.get("retry", {}), "initial_backoff_s": 0.01, "max_backoff_s": 0.05}
    raw["paths"] = {
        "rubrics": str(REPO / "rubrics"),
        "prompts": str(REPO / "prompts"),
        "calibration": str(calibration),
    }
    raw["reward"] = {"length_control": control}
    return Evaluator.from_settings(parse_config(raw, tmp / "reward.toml"))


def padding_batch(anchors: list[Anchor], groups: int, size: int, seed: int) -> list[Any]:
    """``groups`` prompts, each answered ``size`` times: one content, 0..size-1 fillers."""
    rng = random.Random(seed)
    picked = rng.sample(anchors, groups)
    batch = []
    for g, anchor in enumerate(picked):
        fillers = rng.sample(FILLER, min(size - 1, len(FILLER)))
        for k in range(size):
            batch.append(
                {
                    "id": f"g{g}-{k}",
                    "messages": [
                        {"role": "user", "content": f"Write request number {g} to an editor."},
                        {
                            "role": "assistant",
                            "content": anchor.item.response + "".join(fillers[:k]),
                        },
                    ],
                }
            )
    return batch


def within_group_spearman(batch: list[Any], rewards: list[float]) -> tuple[float, int]:
    """Mean Spearman of reward with length over groups where both vary (scipy)."""
    groups: dict[str, list[tuple[int, float]]] = {}
    for sample, reward in zip(batch, rewards, strict=True):
        key = sample["messages"][0]["content"]
        groups.setdefault(key, []).append((len(sample["messages"][1]["content"]), reward))
    rhos = []
    for members in groups.values():
        xs, ys = zip(*members, strict=True)
        if len(members) >= 3 and np.ptp(xs) > 0 and np.ptp(ys) > 0:
            rhos.append(float(stats.spearmanr(xs, ys)[0]))
    return (statistics.fmean(rhos) if rhos else float("nan")), len(rhos)


def run(anchors: list[Anchor], args: argparse.Namespace, seed: int, tmp: Path) -> dict[str, float]:
    """Calibrate (split by ``seed``), then score one padding batch three ways."""
    from judge.calibration.options import CalibrationOptions
    from judge.calibration.runner import calibrate
    from judge.deadline import Deadline
    from judge.signals import batch_signals

    maps, empty = tmp / f"calibration-{seed}", tmp / "no-maps"
    maps.mkdir()
    empty.mkdir(exist_ok=True)
    ev = evaluator(tmp, maps, "off")
    options = CalibrationOptions(seed=seed, probe_items=0)
    result = calibrate(ev, "tone", ANCHORS, out=maps, options=options)
    ev.close()
    bias = result.artefact.map.length
    assert bias is not None
    out = {"slope": bias.slope, "low": bias.low, "high": bias.high}
    batch = padding_batch(anchors, args.groups, args.size, seed)
    for name, where in (("off", maps), ("calibrated", maps), ("group", empty)):
        ev = evaluator(tmp, where, name)
        scored = ev.evaluate(batch, Deadline.never())
        ev.close()
        ours = batch_signals(scored.results).get("RewardLengthCorr", float("nan"))
        rho, _ = within_group_spearman(batch, [r.reward for r in scored.results])
        assert abs(ours - rho) < 1e-9, (name, ours, rho)  # the EMF figure is scipy's
        out[name] = ours
    print(
        f"{seed:>4}  {result.artefact.map.kind:<9}{bias.slope:>+7.3f} [{bias.low:+.3f}, "
        f"{bias.high:+.3f}]{out['off']:>+9.3f}{out['calibrated']:>+12.3f}{out['group']:>+9.3f}"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bias", type=float, default=1.5, help="points per unit of log length")
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--groups", type=int, default=120, help="at most the 120 anchors")
    parser.add_argument("--size", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()

    anchors = load_anchors(ANCHORS, "tone", (1.0, 5.0))
    lengths = [len(a.item.response) for a in anchors]
    human = float(stats.spearmanr([a.label for a in anchors], lengths)[0])
    judge = ScriptedJudge(score_fn=oracle(anchors, args.noise), length_bias=args.bias)
    server = ConverseServer(judge).start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-length-"))
    os.environ.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=server.url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        JUDGE_CACHE_DIR=str(tmp / "cache"),
        JUDGE_FENCE_SECRET="bench",
    )
    print(f"anchors: {len(anchors)} ({ANCHORS.name}), {min(lengths)}-{max(lengths)} characters")
    print(f"humans' label/length Spearman on the anchors: {human:+.3f}")
    print(f"judge: human label + noise sd {args.noise} + {args.bias} points per log(chars/100)")
    print(f"padding batches: {args.groups} groups x {args.size} (0..{args.size - 1} fillers)")
    print("reward/length rho: mean within-group Spearman (judge.signals, checked against scipy)")
    print(
        f"{'seed':>4}  {'map':<9}{'excess slope [95%]':>24}{'off':>9}{'calibrated':>12}{'group':>9}"
    )
    try:
        runs = [run(anchors, args, seed, tmp) for seed in range(args.seeds)]
    finally:
        server.stop()
    mean = {k: statistics.fmean(r[k] for r in runs) for k in ("off", "calibrated", "group")}
    print(
        f"mean over {args.seeds} seeds: off {mean['off']:+.3f}, calibrated "
        f"{mean['calibrated']:+.3f} (humans {human:+.3f}), group {mean['group']:+.3f}"
    )
    within = sum(abs(r["calibrated"] - human) <= 0.1 for r in runs)
    above = sum(r["off"] > 0.5 for r in runs)
    met = mean["off"] > 0.5 and abs(mean["calibrated"] - human) <= 0.1
    print(
        f"target (off > 0.5, calibrated within +-0.1 of the humans'): "
        f"{'met' if met else 'NOT met'} on the mean; off > 0.5 in {above}/{len(runs)} seeds, "
        f"calibrated within +-0.1 in {within}/{len(runs)}"
    )


if __name__ == "__main__":
    main()
