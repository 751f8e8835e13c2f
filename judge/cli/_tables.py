"""Tables printed by ``judge score`` and ``judge invoke``."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from judge.config import ModelPrice
from judge.cost import per_thousand, price_for, price_table, total_cost
from judge.pipeline import BatchResult, SampleResult


def explain(result: SampleResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "reward": result.reward,
        "dimensions": {
            d.rubric: {
                "raw": d.raw,
                "normalized": d.normalized,
                "unscored": d.unscored_reason,
                **({"panel_spread": d.spread} if d.spread is not None else {}),
                **({"order_gap": d.order_gap} if d.order_gap is not None else {}),
            }
            for d in result.dimensions
        },
        "unscored": result.unscored,
        "guarded": result.guarded,
        "malformed": result.malformed,
        "gate": result.gate,
        "refused": result.refused,
        **({"criteria": result.checklist.details()} if result.checklist else {}),
    }


def print_results(answer: list[dict[str, Any]], *, stderr: bool = False) -> None:
    """The rewards as a table; on stderr when stdout carries the answer itself (invoke)."""
    table = Table(title="rewards")
    table.add_column("id")
    table.add_column("reward", justify="right")
    table.add_column("dimensions / flags")
    for item in answer:
        parts = [
            f"{m['name']}={m['value']:.2f}" for m in item["metrics_list"] if m["type"] == "Reward"
        ]
        parts += [
            m["name"]
            for m in item["metrics_list"]
            if m["type"] == "Metric" and m["value"] and m["name"] != "unscored_dimensions"
        ]
        table.add_row(str(item["id"]), f"{item['aggregate_reward_score']:+.3f}", " ".join(parts))
    Console(stderr=stderr).print(table)


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
    reasons = Counter(
        ":".join(d.unscored_reason.split(":", 2)[:2])  # reason and error code, not the text
        for r in batch.results
        for d in r.dimensions
        if d.unscored_reason
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
    for label, row in token_rows(batch, price_table() if prices is None else prices):
        table.add_row(label, escape(row))  # "[pricing]" is not rich markup
    table.add_row("wall time", f"{batch.wall_s:.2f} s")
    Console().print(table)


def token_rows(batch: BatchResult, prices: Mapping[str, ModelPrice]) -> list[tuple[str, str]]:
    """Tokens and estimated cost, for the batch and per 1,000 rewards."""
    s, n = batch.stats, len(batch.results)
    tokens = (s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens)
    label = "tokens in / out / cache read / cache write"
    rows = [(label, " / ".join(str(t) for t in tokens))]
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
                "estimated cost (USD), batch / per 1,000 rewards",
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
