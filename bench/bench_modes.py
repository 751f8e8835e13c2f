"""Benchmark: judging modes (pointwise, group, panel) against the bundled human anchor sets.

A scripted judge that knows each anchor's human label stands in for the model: it maps the
label onto the rubric's 1..5 scale, adds its own bias and Gaussian noise drawn per request
(seeded from the rendered request, the response, the judge's name and the run's seed, so the
two orders of a group and the judges of a panel are independent draws, as sampling models
would be), then rounds and clamps. Every judge also has a position bias of one scale point
in group requests (the first response shown gets +1, the last +0, linearly between,
rounded). The requests go through the real pipeline (``run_event``: templates, keyed shuffle,
group split, orders, panel aggregation, verdict parsing) against a local Converse server.

For each anchor set (``politeness.jsonl`` on rubric ``tone``, ``formality.jsonl`` on rubric
``formality``), and for each noise seed, it scores every item with:

1. pointwise: one call per response (noise sd 0.8);
2. group, 1 order: the prompt's responses judged together (at most 8 a call);
3. group, 2 orders: each group also judged reversed, the two verdicts averaged;
4. panel members alone, pointwise: A (sd 0.8, harsh: -1), B (sd 0.8, +1 for responses longer
   than the set's median length), C (sd 1.2);
5. a panel of A+B+C, pointwise, aggregated by mean, median and majority;
6. controls: group mode with 1 and 2 orders by the base judge without its position bias (the
   same requests, so the same noise draws: the difference to rows 2-3 is the bias alone).

A last row gives the ceiling (the human score rounded onto 1..5, no noise), and a check line
compares the pipeline's panel scores with the members-alone scores recombined offline.

Columns: Spearman against the human score on the held-out 30% (``split(n, 0.3, seed=0)``, the
calibration command's split) and on all items (nothing is fitted here), pairwise accuracy
(over all item pairs whose human scores differ, the fraction the judge orders the same way;
a judge tie counts 0.5), Converse calls per sample, and unscored items; mean ± sd over seeds.
No calibration map is applied (empty calibration dir), the guard is off (anchors include very
short texts it would floor), and every run has its own verdict cache. Each seed also has its
own fixed fence secret, so the keyed shuffle (which responses share a group, and where each
stands) differs between seeds as it would between batches.

    python bench/bench_modes.py [--seeds 5] [--quick] [--sets politeness formality]

The default run (5 seeds, 220 items, 11 modes) takes about 2 minutes on 2 cores; ``--quick``
(2 seeds, about 40 items a set) about 30 s.
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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from judge.calibration.anchors import Anchor, load_anchors
from judge.calibration.runner import split
from judge.calibration.stats import Array, spearman
from judge.server import ConverseServer
from judge.server.scripted import Judged, ScriptedJudge

REPO = Path(__file__).resolve().parent.parent
BASE_MODEL = "scripted-judge"  # the single judge of rows 1-3
HOLDOUT = 0.3
SPLIT_SEED = 0


@dataclass(frozen=True)
class AnchorSet:
    """A bundled human-labelled anchor file and the rubric it anchors."""

    name: str
    rubric: str
    human_scale: tuple[float, float]  # the labels' scale (mapped linearly onto 1..5)


SETS = {
    "politeness": AnchorSet("politeness", "tone", (1.0, 5.0)),
    "formality": AnchorSet("formality", "formality", (0.0, 1.0)),
}


@dataclass(frozen=True)
class Persona:
    """A scripted judge's behaviour: its noise, a constant shift and a length bias."""

    model_id: str
    sd: float
    shift: float = 0.0  # added to every score (harsh: negative)
    long_bonus: float = 0.0  # added for responses longer than the set's median length
    about: str = ""


BASE = Persona(BASE_MODEL, 0.8, about="noise sd 0.8, no other bias")
PANEL = (
    Persona("judge-a", 0.8, shift=-1.0, about="noise sd 0.8, harsh (-1)"),
    Persona("judge-b", 0.8, long_bonus=1.0, about="noise sd 0.8, +1 if longer than median"),
    Persona("judge-c", 1.2, about="noise sd 1.2, no other bias"),
)


@dataclass(frozen=True)
class Mode:
    """One row of the table: its label and the ``[judge]`` overrides that make it."""

    label: str
    judge: dict[str, Any]


def _panel(aggregation: str) -> Mode:
    members = [{"model_id": p.model_id} for p in PANEL]
    return Mode(
        f"panel A+B+C, {aggregation}",
        {"model_id": BASE_MODEL, "panel": members, "aggregation": aggregation},
    )


UNBIASED_MODEL = "scripted-judge-unbiased"  # the base judge, same draws, no position bias


def _group(label: str, orders: int, model_id: str = BASE_MODEL) -> Mode:
    return Mode(label, {"model_id": model_id, "mode": "group", "group_orders": orders})


MODES = (
    Mode("pointwise", {"model_id": BASE_MODEL}),
    _group("group, 1 order", 1),
    _group("group, 2 orders", 2),
    Mode("judge A alone", {"model_id": PANEL[0].model_id}),
    Mode("judge B alone", {"model_id": PANEL[1].model_id}),
    Mode("judge C alone", {"model_id": PANEL[2].model_id}),
    _panel("mean"),
    _panel("median"),
    _panel("majority"),
)
# Controls: the same judge with the same noise draws (the same requests) but no position
# bias, so the difference to the rows above is the bias alone.
CONTROLS = (
    _group("control: group, 1 order, no position bias", 1, UNBIASED_MODEL),
    _group("control: group, 2 orders, no position bias", 2, UNBIASED_MODEL),
)


@dataclass
class Oracle:
    """What the scripted judges know: each judged text's human score on 1..5."""

    truth: dict[str, float]  # fenced response text (as the judge reads it) -> 1..5
    median_length: float
    seed: int
    misses: set[str] = field(default_factory=set)  # judged texts not found in ``truth``

    def score_fn(self, persona: Persona) -> Callable[[Judged], int]:
        """The verdict function of ``persona``: label, bias, per-request noise, rounded."""

        def score(judged: Judged) -> int:
            lo, hi = judged.scores[0], judged.scores[-1]
            true = self.truth.get(judged.response)
            if true is None:
                self.misses.add(judged.response[:80])
                return lo
            value = true + persona.shift
            if len(judged.response) > self.median_length:
                value += persona.long_bonus
            value += persona.sd * _noise(judged, persona.model_id, self.seed)
            return max(lo, min(hi, math.floor(value + 0.5)))

        return score


def _noise(judged: Judged, judge: str, seed: int) -> float:
    """A standard normal draw fixed by the request, the response, the judge and the seed."""
    material = "\x00".join((judged.user_text, judged.response, judge, str(seed)))
    digest = hashlib.sha256(material.encode("utf-8", "surrogatepass")).digest()
    return random.Random(int.from_bytes(digest[:8], "big")).gauss(0.0, 1.0)


def _to_five(anchor: Anchor, scale: tuple[float, float]) -> float:
    lo, hi = scale
    return 1.0 + 4.0 * (anchor.label - lo) / (hi - lo)


def _oracle(anchors: Sequence[Anchor], scale: tuple[float, float], seed: int) -> Oracle:
    from judge.prompt import fence  # the judge reads the fenced text

    truth = {fence(a.item.response): _to_five(a, scale) for a in anchors}
    if len(truth) != len(anchors):
        raise SystemExit("two anchors read the same to the judge: the lookup is ambiguous")
    return Oracle(truth, statistics.median(len(t) for t in truth), seed)


def _samples(anchors: Sequence[Anchor]) -> list[dict[str, Any]]:
    return [
        {
            "id": a.id,
            "messages": [
                *({"role": t.role, "content": t.text} for t in a.item.conversation),
                {"role": "assistant", "content": a.item.response},
            ],
        }
        for a in anchors
    ]


def _evaluator(rubric: str, judge: dict[str, Any], concurrency: int, calibration: Path) -> Any:
    from judge.config import parse_config
    from judge.pipeline import Evaluator

    raw = tomllib.loads((REPO / "reward.toml").read_text())
    raw["rubrics"] = {rubric: {"weight": 1.0}}
    raw["gates"] = []
    raw["guard"] = {**raw.get("guard", {}), "enabled": False}
    raw["runtime"] = {**raw.get("runtime", {}), "concurrency": concurrency}
    raw["paths"] = {**raw.get("paths", {}), "calibration": str(calibration)}
    raw["judge"] = {**raw.get("judge", {}), **judge}
    return Evaluator.from_settings(parse_config(raw, REPO / "reward.toml"))


@dataclass(frozen=True)
class RunScores:
    """One mode's scores for one seed: each item's 0..1 score (None: unscored)."""

    scores: list[float | None]
    calls: int


def _run(
    mode: Mode, rubric: str, samples: list[dict[str, Any]], concurrency: int, root: Path
) -> RunScores:
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event

    os.environ["JUDGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="cache-", dir=root)
    calibration = Path(tempfile.mkdtemp(prefix="calibration-", dir=root))
    evaluator = _evaluator(rubric, mode.judge, concurrency, calibration)
    try:
        _, batch = run_event(evaluator, samples, Deadline.never())
    finally:
        evaluator.close()
    scores: list[float | None] = []
    for sample, result in zip(samples, batch.results, strict=True):
        assert result.id == sample["id"]
        dim = next(d for d in result.dimensions if d.rubric == rubric)
        scores.append(dim.normalized)
    return RunScores(scores, batch.stats.calls)


def pairwise_accuracy(pred: Array, human: Array) -> float:
    """Over pairs whose human scores differ: the fraction the judge orders alike (ties: 0.5)."""
    i, j = np.triu_indices(len(human), k=1)
    dh = np.sign(human[i] - human[j])
    dp = np.sign(pred[i] - pred[j])
    keep = dh != 0
    if not keep.any():
        return math.nan
    agree = np.where(dp[keep] == 0, 0.5, (dp[keep] == dh[keep]).astype(float))
    return float(agree.mean())


@dataclass(frozen=True)
class Metrics:
    """One mode's agreement with people, for one seed."""

    spearman_held_out: float
    spearman_all: float
    pairwise: float
    calls_per_sample: float
    unscored: int


def _metrics(run: RunScores, human: Array, held_out: Array) -> Metrics:
    scored = np.array([s is not None for s in run.scores])
    pred = np.array([math.nan if s is None else s for s in run.scores], dtype=float)
    hold = np.zeros(len(human), dtype=bool)
    hold[held_out] = True
    return Metrics(
        spearman(pred[hold & scored], human[hold & scored]),
        spearman(pred[scored], human[scored]),
        pairwise_accuracy(pred[scored], human[scored]),
        run.calls / len(run.scores),
        int((~scored).sum()),
    )


def _ceiling(human: Array, held_out: Array) -> Metrics:
    """The noise-free judge: the human score rounded onto 1..5 (what rounding alone costs)."""
    pred = np.floor(human + 0.5)
    return Metrics(
        spearman(pred[held_out], human[held_out]),
        spearman(pred, human),
        pairwise_accuracy(pred, human),
        0.0,
        0,
    )


def _cell(values: Sequence[float], digits: int = 3) -> str:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return "n/a"
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(finite):.{digits}f}"


HEADER = (
    "| mode | Spearman held-out | Spearman all | pairwise acc. | calls/sample | unscored |",
    "|---|---|---|---|---|---|",
)


def _row(label: str, runs: Sequence[Metrics]) -> str:
    unscored = [float(m.unscored) for m in runs]
    return (
        f"| {label} | {_cell([m.spearman_held_out for m in runs])} "
        f"| {_cell([m.spearman_all for m in runs])} "
        f"| {_cell([m.pairwise for m in runs])} "
        f"| {statistics.fmean(m.calls_per_sample for m in runs):.3f} "
        f"| {_cell(unscored, 1) if max(unscored) else '0'} |"
    )


def recombined(members: Sequence[float | None], how: str) -> float | None:
    """A panel's 0..1 score recomputed from its members' pointwise 0..1 scores (no maps).

    The same rules as ``judge.panel``: mean or median of the units; majority: the level
    (units rounded to the 1..5 scale's quarters) more than half the judges gave, the mean of
    their units; without such a level, the median.
    """
    units = [u for u in members if u is not None]
    if len(units) < len(members) // 2 + 1:
        return None
    if how == "mean":
        return statistics.fmean(units)
    if how == "median":
        return statistics.median(units)
    votes = Counter(round(4 * u) for u in units)
    level, count = votes.most_common(1)[0]
    if count * 2 > len(units):
        return statistics.fmean(u for u in units if round(4 * u) == level)
    return statistics.median(units)


def _panel_check(runs: dict[str, RunScores]) -> tuple[int, int, int]:
    """(items where every aggregation matches its offline recombination, items, no-majority).

    A member alone renders the very requests it gets as a panel member, so its scripted
    verdicts (hence noise draws) are the same: the pipeline's panel rows must equal the
    members-alone rows recombined offline.
    """
    alone = [runs[f"judge {tag} alone"].scores for tag in "ABC"]
    n = len(alone[0])
    same = 0
    for i in range(n):
        members = [a[i] for a in alone]
        ok = True
        for how in ("mean", "median", "majority"):
            want, got = recombined(members, how), runs[f"panel A+B+C, {how}"].scores[i]
            ok &= (want is None and got is None) or (
                want is not None and got is not None and abs(want - got) < 1e-9
            )
        same += ok
    split_votes = sum(len({a[i] for a in alone}) == len(alone) for i in range(n))
    return same, n, split_votes


def bench_set(
    anchor_set: AnchorSet,
    seeds: Sequence[int],
    position_bias: float,
    concurrency: int,
    root: Path,
    limit: int | None,
) -> list[str]:
    """Every mode over every seed on one anchor set; the table's lines."""
    path = REPO / "calibration" / "anchors" / f"{anchor_set.name}.jsonl"
    anchors = load_anchors(path, anchor_set.rubric, anchor_set.human_scale)
    if limit is not None and limit < len(anchors):  # every k-th: the files run low to high
        anchors = anchors[:: math.ceil(len(anchors) / limit)]
    human = np.array([_to_five(a, anchor_set.human_scale) for a in anchors], dtype=float)
    _, held_out = split(len(anchors), HOLDOUT, SPLIT_SEED)
    samples = _samples(anchors)
    prompts = {json_key(s["messages"][:-1]) for s in samples}
    modes = (*MODES, *CONTROLS)
    results: dict[str, list[Metrics]] = {m.label: [] for m in modes}
    checked = [0, 0, 0]  # matching items, items, items without a majority
    started = time.perf_counter()
    for seed in seeds:
        oracle = _oracle(anchors, anchor_set.human_scale, seed)
        judges = {
            p.model_id: ScriptedJudge(score_fn=oracle.score_fn(p), position_bias=position_bias)
            for p in PANEL
        }
        judges[UNBIASED_MODEL] = ScriptedJudge(score_fn=oracle.score_fn(BASE))
        model = ScriptedJudge(
            score_fn=oracle.score_fn(BASE), position_bias=position_bias, models=judges
        )
        server = ConverseServer(model).start()
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = server.url
        os.environ["JUDGE_FENCE_SECRET"] = f"bench-modes-{seed}"
        runs: dict[str, RunScores] = {}
        try:
            for mode in modes:
                runs[mode.label] = _run(mode, anchor_set.rubric, samples, concurrency, root)
                results[mode.label].append(_metrics(runs[mode.label], human, held_out))
        finally:
            server.stop()
        if oracle.misses:
            raise SystemExit(
                f"the scripted judge could not find {len(oracle.misses)} judged text(s) in "
                f"{path.name}, e.g. {sorted(oracle.misses)[0]!r}"
            )
        for k, v in enumerate(_panel_check(runs)):
            checked[k] += v
    wall = time.perf_counter() - started
    lines = [
        f"\n{anchor_set.name}.jsonl, rubric {anchor_set.rubric}: {len(anchors)} items, "
        f"{len(prompts)} prompt(s), held-out {len(held_out)}; {len(seeds)} seed(s); "
        f"{wall:.1f} s",
        *HEADER,
    ]
    lines += [_row(m.label, results[m.label]) for m in modes]
    lines.append(_row("(noise-free: human score rounded to 1..5)", [_ceiling(human, held_out)]))
    same, items, split_votes = checked
    lines.append(
        f"panel check: mean, median and majority recombined offline from the members-alone "
        f"verdicts match the pipeline on {same}/{items} item-seeds; A, B and C gave three "
        f"different scores on {split_votes}/{items} ({100 * split_votes / items:.0f}%)"
    )
    return lines


def json_key(messages: list[dict[str, Any]]) -> str:
    """A hashable key for a conversation."""
    return "\x00".join(f"{m['role']}\x01{m['content']}" for m in messages)


NOTES = """
What this shows (the plumbing, with a judge whose errors are known):
- Cost: group mode makes about 1/8 of pointwise's calls per order (groups of at most 8), a
  panel of three makes 3 calls a sample.
- Position bias: "group, 1 order" and its control saw the same noise draws; the difference
  is what the bias costs when it lands on whichever responses the keyed shuffle shows first.
  The reversed second order cancels it: exactly in groups of 8 (every response gets +1 in
  exactly one order); in groups of 7 (formality: 100 items = 9 groups of 8 and 4 of 7) the
  scripted judge's rounding gives the middle response +0 in both orders, a small residual.
- Noise: two orders average two independent draws per response, which is why "group, 2
  orders" beats pointwise here at a quarter of its calls; that holds only if a judge scores as
  well side by side as alone and its two readings err independently.
- Panels: the mean averages three independent draws and does best. On a 5-point scale three
  noisy judges often give three different scores (see the check line); majority then falls
  back to the median, so the two are close. No calibration map is applied here, so judge A's
  harshness is not corrected before the vote (with per-judge maps it would be). The check
  line recomputes all three aggregations offline from the members-alone rows (the same
  requests, so the same verdicts) and compares them with the pipeline's.
- The noise-free row is the ceiling: the human score rounded onto 1..5, no noise or bias.
  Held-out Spearman uses 30-36 items, so it varies more across seeds than the all-items one.

What it does not show: how a real judge behaves. The scripted judge knows the human label,
its noise is Gaussian and independent between requests, orders and judges, and its biases
are the simple ones stated above. Real judges err in correlated, content-dependent ways (the
same misreading in both orders and in every panel member), so a second order or a panel
gains less with them. Run `judge calibrate` with a real model for real agreement numbers."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="noise seeds (0..N-1)")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 40 items per set")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--position-bias", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    seeds = list(range(2 if args.quick else args.seeds))
    limit = 40 if args.quick else None

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-modes-") as tmp:
        root = Path(tmp)
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=str(root / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(root / "no-aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
        )
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "JUDGE_CONFIG"):
            os.environ.pop(name, None)
        print("Judging modes on the bundled human-labelled anchor sets (scripted judge)")
        print(f"judges: base {BASE.about}; position bias {args.position_bias:g} in groups")
        for p, tag in zip(PANEL, "ABC", strict=True):
            print(f"  {tag} ({p.model_id}): {p.about}")
        print("cells: mean ± sd over seeds; scores 0..1 from the pipeline, no calibration map")
        for name in args.sets:
            lines = bench_set(SETS[name], seeds, args.position_bias, args.concurrency, root, limit)
            print("\n".join(lines))
    print(NOTES)
    print(f"\nwall time: {time.perf_counter() - started:.1f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
