"""What ``judge score``, ``judge batch collect`` and ``judge invoke`` print and write."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from judge.config import ModelPrice
from judge.contract import shown_id
from judge.cost import per_thousand, price_for, price_table, total_cost
from judge.pipeline import BatchResult, SampleResult
from judge.signals import batch_signals

# Rows ``judge score`` prints before it says how many it left out (``--details`` has all).
MAX_ROWS = 50
# 0/1 metrics: a row names the ones that are set. Other metrics are counts or spreads,
# shown with their values.
FLAGS = frozenset(
    ("unscored", "guarded", "malformed", "gated", "refused", "calibration_stale", "short_circuited")
)


def explain(result: SampleResult) -> dict[str, Any]:
    """One sample's line of ``--details``: scores, each judge's reasoning, flags."""
    return {
        "id": result.id,
        "reward": result.reward,
        "dimensions": {
            d.rubric: {
                "raw": d.raw,
                "normalized": d.normalized,
                "unscored": str(d.unscored) if d.unscored is not None else None,
                **({"panel_spread": d.spread} if d.spread is not None else {}),
                **({"order_gap": d.order_gap} if d.order_gap is not None else {}),
                **({"shrink": d.shrink.details()} if d.shrink is not None else {}),
                **({"judgements": [j.details() for j in d.judgements]} if d.judgements else {}),
                **({"check": d.check, "details": dict(d.details)} if d.check else {}),
            }
            for d in result.dimensions
        },
        "unscored": result.unscored,
        "guarded": result.guarded,
        "malformed": result.malformed,
        "gate": result.gate,
        "refused": result.refused,
        **({"short_circuited": True} if result.short_circuited else {}),
        **({"criteria": result.checklist.details()} if result.checklist else {}),
    }


def write_outputs(
    answer: list[dict[str, Any]], batch: BatchResult, out: str | None, details: str | None
) -> None:
    """``--out`` (the Lambda's answer) and ``--details`` (one ``explain`` line per sample).

    ASCII JSON: its escapes keep every id exactly as the event held it, lone surrogates
    included (NaN ids were made strings upstream).
    """
    if out:
        Path(out).write_text(json.dumps(answer, indent=1, allow_nan=False) + "\n")
    if details:
        with open(details, "w", encoding="utf-8") as fh:
            for r in batch.results:
                fh.write(json.dumps(explain(r), allow_nan=False) + "\n")


def print_results(
    answer: list[dict[str, Any]],
    *,
    stderr: bool = False,
    limit: int | None = MAX_ROWS,
    every: str = "--details FILE writes every sample",
) -> None:
    """The rewards as a table; on stderr when stdout carries the answer itself (invoke).

    At most ``limit`` rows (None: all): a table of thousands of rows buries the summary, so
    the rest are counted, with ``every`` (where to find them all).
    """
    table = Table(title="rewards")
    table.add_column("id")
    table.add_column("reward", justify="right")
    table.add_column("dimensions / flags")
    shown = answer if limit is None else answer[:limit]
    for item in shown:
        table.add_row(
            escape(shown_id(item["id"])),
            f"{item['aggregate_reward_score']:+.3f}",
            " ".join(_row_metrics(item["metrics_list"])),
        )
    console = Console(stderr=stderr)
    console.print(table)
    if len(shown) < len(answer):
        console.print(
            f"{len(answer) - len(shown)} more samples not shown (the first {len(shown)} of "
            f"{len(answer)} are); {every}, --quiet prints no rows"
        )


def _row_metrics(metrics: list[dict[str, Any]]) -> list[str]:
    """A row's dimension scores, its set flags, and its other metrics with their values."""
    parts = [f"{m['name']}={m['value']:.2f}" for m in metrics if m["type"] == "Reward"]
    values = {m["name"]: m["value"] for m in metrics if m["type"] == "Metric"}
    if "criteria_total" in values:  # an explicit checklist: how many criteria held
        parts.append(f"criteria={values['criteria_met']:g}/{values['criteria_total']:g}")
    for name, value in values.items():
        if not value or name in ("criteria_met", "criteria_total", "unscored_dimensions"):
            continue
        parts.append(name if name in FLAGS else f"{name}={value:g}")
    return parts


def print_summary(
    batch: BatchResult, rubrics: list[str], prices: Mapping[str, ModelPrice] | None = None
) -> None:
    """The batch summary; ``prices`` (default: the bundled table) price its tokens."""
    rewards = [r.reward for r in batch.results]
    s = batch.stats
    table = Table(title="summary", show_header=False)
    if rewards:
        q = (  # inclusive: quartiles between min and max, however few the rewards
            statistics.quantiles(rewards, n=4, method="inclusive")
            if len(rewards) > 1
            else [rewards[0]] * 3
        )
        table.add_row(
            "reward mean / min / p25 / median / p75 / max",
            " / ".join(
                f"{v:+.3f}" for v in (statistics.fmean(rewards), min(rewards), *q, max(rewards))
            ),
        )
    for name in rubrics:
        values = batch.scores(name)
        mean = f"{statistics.fmean(values):.3f}" if values else "-"
        table.add_row(f"{name} mean (0..1)", f"{mean}  (n={len(values)})")
    table.add_row("samples", str(len(rewards)))
    counts = batch.counts()
    table.add_row(" / ".join(counts), " / ".join(str(n) for n in counts.values()))
    for label, row in signal_rows(batch):
        table.add_row(label, row)
    reasons = Counter(
        f"{d.unscored.reason}: {d.unscored.detail.split(':', 1)[0]}"  # not the detail's text
        for r in batch.results
        for d in r.dimensions
        if d.unscored is not None
    )
    if reasons:
        table.add_row(
            "unscored judgements, by reason",
            "; ".join(f"{why} x{n}" for why, n in reasons.most_common(5)),
        )
    table.add_row(
        "judgements / deduplicated / cache hits / judge calls",
        f"{batch.judgements} / {batch.deduplicated} / {s.cache_hits} / {s.calls}",
    )
    table.add_row("retries / throttles", f"{s.retries} / {s.throttles}")
    if batch.failed_calls:
        table.add_row(
            "failed judge calls, by judge",
            "; ".join(f"{model} x{n}" for model, n in batch.failed_calls.items()),
        )
    if (sub := batch.substance).asked:  # [guard] substance_model: its own figures
        table.add_row(
            "substance checks: asked / calls / cache hits / floored / failed",
            f"{sub.asked} / {sub.calls} / {sub.cache_hits} / {sub.floored} / {sub.failed}",
        )
    for label, row in token_rows(batch, price_table() if prices is None else prices):
        table.add_row(label, escape(row))  # "[pricing]" is not rich markup
    table.add_row("wall time", f"{batch.wall_s:.2f} s")
    Console().print(table)


def signal_rows(batch: BatchResult) -> list[tuple[str, str]]:
    """The batch's training signals (``judge.signals``) and rates, as summary rows."""
    sig, n = batch_signals(batch.results), len(batch.results)
    rows = [("reward std (population)", f"{sig['RewardStd']:.3f}")]
    if "ResponseLengthMean" in sig:
        rows.append(
            (
                "response length mean / std (characters)",
                f"{sig['ResponseLengthMean']:.0f} / {sig['ResponseLengthStd']:.0f}",
            )
        )
    corr = sig.get("RewardLengthCorr")
    rows.append(
        (
            "reward/length Spearman, mean within prompt groups (3+ scored, both varying)",
            ("-" if corr is None else f"{corr:+.3f}")
            + f"  ({sig['RewardLengthGroups']:.0f} groups)",
        )
    )
    share = sig.get("ZeroSpreadGroupRate")
    rows.append(
        ("prompt groups (2+) with zero reward spread", "-" if share is None else f"{share:.0%}")
    )
    if n:
        counts = batch.counts()
        rates = (counts["unscored"], counts["guarded"], counts["refused"])
        rows.append(
            ("unscored / guarded / refused rate", " / ".join(f"{c / n:.1%}" for c in rates))
        )
    return rows


def token_rows(batch: BatchResult, prices: Mapping[str, ModelPrice]) -> list[tuple[str, str]]:
    """Tokens and estimated cost, for this run and per 1,000 rewards."""
    s, n = batch.stats, len(batch.results)
    tokens = (s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens)
    label = "tokens in / out / cache read / cache write"
    rows = [(f"{label}, this run", " / ".join(str(t) for t in tokens))]
    if n:
        rows.append(
            (f"{label}, per 1,000 rewards", " / ".join(f"{t * 1000 / n:.0f}" for t in tokens))
        )
    cost = total_cost(s.tokens, prices)
    if cost is None:
        unpriced = [m or "(no model id)" for m in s.tokens if price_for(m, prices) is None]
        missing = ", ".join(unpriced) or "a cache price"
        rows.append(
            ("estimated cost (USD)", f"unknown: no price for {missing} (add it under [pricing])")
        )
    else:
        per = per_thousand(cost, n)
        rows.append(
            (
                "estimated cost (USD), this run / per 1,000 rewards",
                f"{cost:.6f} / " + ("-" if per is None else f"{per:.4f}"),
            )
        )
    return rows


def with_interval(metrics: dict[str, Any], name: str) -> str:
    """A metric with its 95% interval, or why it is undefined."""
    low, high = metrics[f"{name}_ci"]
    if metrics[name] != metrics[name]:  # NaN: undefined (e.g. the judge gave one score)
        return "n/a (constant scores)"
    return f"{metrics[name]:.3f} [{low:.3f}, {high:.3f}]"
