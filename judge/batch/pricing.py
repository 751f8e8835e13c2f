"""Batch and on-demand prices side by side, per 1,000 judgements.

Batch prices are data, like the on-demand ones: ``data/batch_prices.toml`` (dated, with
sources), in ``prices.toml``'s format and read by the same parser. A model without a
batch price has an unknown batch cost, never 0.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from judge.config import ModelPrice
from judge.cost import PRICES, TokenCounts, cost_usd, parse_prices, price_for, price_table

BATCH_PRICES = "batch_prices.toml"


@dataclass(frozen=True)
class PriceTable:
    """A price table and the day it was read."""

    prices: dict[str, ModelPrice]
    taken_on: str


@cache
def _bundled(name: str, package: str = "judge") -> PriceTable:
    """A dated table of ``package``'s ``data`` folder (batch prices are tooling's own)."""
    source = resources.files(package).joinpath("data", name)
    text = source.read_text("utf-8")
    return PriceTable(parse_prices(text, Path(str(source))), str(tomllib.loads(text)["taken_on"]))


def batch_prices() -> PriceTable:
    """The bundled batch price table."""
    return _bundled(BATCH_PRICES, "judge.batch")


def on_demand_prices(overrides: dict[str, ModelPrice] | None = None) -> PriceTable:
    """The on-demand table (with the config's ``[pricing]`` overrides) and its date."""
    return PriceTable(price_table(overrides), _bundled(PRICES).taken_on)


@dataclass(frozen=True)
class Comparison:
    """Estimated USD per 1,000 judgements, batch against on-demand (None: no price)."""

    model_id: str
    input_tokens: float  # per judgement
    output_tokens: float
    batch_usd: float | None
    on_demand_usd: float | None
    batch_taken_on: str
    on_demand_taken_on: str

    def describe(self) -> str:
        """One line for people."""

        def usd(value: float | None) -> str:
            return "unknown (no price)" if value is None else f"${value:.3f}"

        saving = ""
        if self.batch_usd is not None and self.on_demand_usd:
            saving = f", {1 - self.batch_usd / self.on_demand_usd:.0%} less"
        return (
            f"per 1,000 judgements on {self.model_id} ({self.input_tokens:,.0f} in / "
            f"{self.output_tokens:,.0f} out tokens each): batch {usd(self.batch_usd)} vs "
            f"on-demand {usd(self.on_demand_usd)}{saving} (prices of "
            f"{self.batch_taken_on} / {self.on_demand_taken_on}, estimates)"
        )


def compare(
    model_id: str,
    input_tokens: int,
    output_tokens: int,
    judgements: int,
    overrides: dict[str, ModelPrice] | None = None,
) -> Comparison | None:
    """Price ``judgements`` that used these tokens both ways, scaled to 1,000 judgements."""
    if judgements <= 0:
        return None
    scale = 1000 / judgements
    tokens = TokenCounts(input=round(input_tokens * scale), output=round(output_tokens * scale))
    batch = batch_prices()
    on_demand = on_demand_prices(overrides)
    return Comparison(
        model_id,
        input_tokens / judgements,
        output_tokens / judgements,
        cost_usd(tokens, price_for(model_id, batch.prices)),
        cost_usd(tokens, price_for(model_id, on_demand.prices)),
        batch.taken_on,
        on_demand.taken_on,
    )
