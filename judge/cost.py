"""Tokens to an estimated cost in USD.

Prices are data: ``data/prices.toml`` (dated, with sources) overridden by ``[pricing]`` in
``reward.toml``. A model with no price has an unknown cost (None), never 0: a dashboard
that shows $0 for a model nobody priced would hide the bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.config import ModelPrice
from judge.errors import parse_data_table

PRICES = "prices.toml"


@dataclass
class TokenCounts:
    """Tokens of one model's calls, as Bedrock's ``usage`` splits them.

    ``input`` is only the uncached part: Bedrock reports cache reads and writes beside it
    (total input = input + cache_read + cache_write).
    """

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def add(self, usage: Mapping[str, Any]) -> None:
        """Add one Converse ``usage`` block."""
        self.input += int(usage.get("inputTokens", 0) or 0)
        self.output += int(usage.get("outputTokens", 0) or 0)
        self.cache_read += int(usage.get("cacheReadInputTokens", 0) or 0)
        self.cache_write += int(usage.get("cacheWriteInputTokens", 0) or 0)

    def __iadd__(self, other: TokenCounts) -> TokenCounts:
        self.input += other.input
        self.output += other.output
        self.cache_read += other.cache_read
        self.cache_write += other.cache_write
        return self


class _BundledPrice(ModelPrice):
    source: str


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    taken_on: str
    model: dict[str, _BundledPrice] = Field(min_length=1)


@cache
def bundled_prices() -> dict[str, ModelPrice]:
    """The bundled price table, keyed by foundation-model id."""
    source = resources.files("judge").joinpath("data", PRICES)
    return parse_prices(source.read_text("utf-8"), Path(str(source)))


def parse_prices(text: str, path: Path) -> dict[str, ModelPrice]:
    """Validate a price table in the bundled format; errors name the file, the key and the fix."""
    table = parse_data_table(
        text,
        path,
        _PriceFile,
        'each [model."ID"] has input, output and source, optionally cache_read and '
        "cache_write (USD per 1,000 tokens, not negative), and nothing else",
    )
    return {
        model: ModelPrice(**price.model_dump(exclude={"source"}))
        for model, price in table.model.items()
    }


def price_table(overrides: Mapping[str, ModelPrice] | None = None) -> dict[str, ModelPrice]:
    """The bundled prices with ``[pricing]`` overrides on top (an override replaces a model)."""
    return {**bundled_prices(), **(overrides or {})}


def model_candidates(model_id: str) -> list[str]:
    """Ids to look ``model_id`` up under: as written, then without ARN path and profile prefix.

    ``arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0`` and
    ``us.amazon.nova-pro-v1:0`` both end at ``amazon.nova-pro-v1:0``.
    """
    out = [model_id]
    bare = model_id.rsplit("/", 1)[-1] if model_id.startswith("arn:") else model_id
    while True:
        if bare not in out:
            out.append(bare)
        _, dot, rest = bare.partition(".")
        if not dot or "." not in rest:  # keep "provider.model": never strip the provider
            return out
        bare = rest


def price_for(model_id: str, table: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """``model_id``'s price (an exact entry wins over its base model's), or None."""
    return next((table[c] for c in model_candidates(model_id) if c in table), None)


def cost_usd(tokens: TokenCounts, price: ModelPrice | None) -> float | None:
    """Estimated USD for ``tokens``; None when a price they need is unknown."""
    if price is None:
        return None if _any(tokens) else 0.0
    usd = (tokens.input * price.input + tokens.output * price.output) / 1000
    for count, rate in (
        (tokens.cache_read, price.cache_read),
        (tokens.cache_write, price.cache_write),
    ):
        if count:
            if rate is None:
                return None
            usd += count * rate / 1000
    return usd


def total_cost(
    by_model: Mapping[str, TokenCounts], table: Mapping[str, ModelPrice]
) -> float | None:
    """Estimated USD over every model; None when any model's share is unknown."""
    total = 0.0
    for model_id, tokens in by_model.items():
        usd = cost_usd(tokens, price_for(model_id, table))
        if usd is None:
            return None
        total += usd
    return total


def total_tokens(by_model: Mapping[str, TokenCounts]) -> TokenCounts:
    """The sum over models."""
    out = TokenCounts()
    for tokens in by_model.values():
        out += tokens
    return out


def per_thousand(value: float, rewards: int) -> float | None:
    """``value`` scaled to 1,000 rewards (None for an empty batch)."""
    return value * 1000 / rewards if rewards else None


def _any(tokens: TokenCounts) -> bool:
    return bool(tokens.input or tokens.output or tokens.cache_read or tokens.cache_write)
