"""Prompt caching that engages: a ``cachePoint`` only where Bedrock will cache the prefix.

Bedrock caches the prefix before a ``cachePoint`` (in the order tools -> system -> messages)
only when it reaches the model family's minimum size; below it the request succeeds and
nothing is cached, silently. The per-family minimums are data (``data/prompt_cache.toml``,
with their source); this module sizes a rendered request's static prefix (the system prompt,
plus the tool schema where it is part of the cached prefix) and adds the ``cachePoint`` after
the system prompt only when the prefix reaches the minimum.

Token counts here are **estimates** (see ``estimate_tokens``); Bedrock's ``usage``
(``cacheWriteInputTokens``, ``cacheReadInputTokens``) gives the exact figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.errors import parse_data_table

TABLE = "prompt_cache.toml"
CHARS_PER_TOKEN = 4
CACHE_POINT: dict[str, Any] = {"cachePoint": {"type": "default"}}


def estimate_tokens(text: str) -> int:
    """Estimated tokens in ``text``: one per 4 characters, rounded up.

    The common rule of thumb for English with BPE tokenizers (Nova and Claude do not publish
    a local tokenizer). It undercounts scripts that take a token per character (CJK), so a
    prefix in those languages may be cacheable before the estimate says so.
    """
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class _Family(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    models: list[str] = Field(min_length=1)
    minimum_tokens: int = Field(gt=0)
    maximum_tokens: int | None = Field(None, gt=0)
    tools_in_prefix: bool
    note: str | None = None


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    read_on: str
    family: list[_Family] = Field(min_length=1)


@dataclass(frozen=True)
class CacheFamily:
    """A model family's prompt-caching limits."""

    name: str
    minimum_tokens: int
    maximum_tokens: int | None
    tools_in_prefix: bool


@cache
def _families() -> tuple[tuple[str, CacheFamily], ...]:
    """(model-id substring, family) pairs from the bundled table, longest substring first."""
    source = resources.files("judge").joinpath("data", TABLE)
    return parse_table(source.read_text("utf-8"), Path(str(source)))


def parse_table(text: str, path: Path) -> tuple[tuple[str, CacheFamily], ...]:
    """Validate a table in the bundled format; errors name the file, the key and the fix."""
    table = parse_data_table(
        text,
        path,
        _Table,
        "each [[family]] has name, models, minimum_tokens and tools_in_prefix "
        "(maximum_tokens and note are optional), and nothing else",
    )
    pairs = [
        (
            pattern,
            CacheFamily(f.name, f.minimum_tokens, f.maximum_tokens, f.tools_in_prefix),
        )
        for f in table.family
        for pattern in f.models
    ]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def family_for(model_id: str) -> CacheFamily | None:
    """The caching family of ``model_id`` (a model id, inference profile or ARN), if known."""
    return next((fam for pattern, fam in _families() if pattern in model_id), None)


def minimum_tokens(model_id: str) -> int | None:
    """The smallest prefix ``model_id`` caches; None when the table does not know the model."""
    family = family_for(model_id)
    return family.minimum_tokens if family else None


def block_tokens(block: object) -> int:
    """Estimated tokens of one request block (text, tool spec, image...); a cachePoint is 0."""
    if not isinstance(block, dict):
        return estimate_tokens(str(block))
    if "cachePoint" in block:
        return 0
    text = block.get("text")
    if isinstance(text, str) and len(block) == 1:
        return estimate_tokens(text)
    return estimate_tokens(json.dumps(block, ensure_ascii=False, separators=(",", ":")))


def prefix_blocks(request: dict[str, Any], *, tools: bool) -> Iterator[Any]:
    """The request's input blocks in Bedrock's cache-prefix order: tools, system, messages.

    ``tools=False`` leaves the tool schema out (a family whose cached prefix does not hold
    it). Each message opens with its role, so equal text under another role differs.
    """
    if tools:
        tool_config = request.get("toolConfig")
        if isinstance(tool_config, dict):
            yield from tool_config.get("tools") or []
    yield from request.get("system") or []
    for message in request.get("messages") or []:
        if isinstance(message, dict):
            yield {"role": message.get("role")}
            yield from message.get("content") or []


@dataclass(frozen=True)
class CacheDecision:
    """Whether a request's static prefix is worth a ``cachePoint``, and why."""

    model_id: str
    family: CacheFamily | None
    prefix_tokens: int  # estimated: system prompt (+ tool schema where it is in the prefix)

    @property
    def cacheable(self) -> bool:
        """The prefix lies within the family's limits (False for a model not in the table)."""
        fam = self.family
        if fam is None or self.prefix_tokens < fam.minimum_tokens:
            return False
        return fam.maximum_tokens is None or self.prefix_tokens <= fam.maximum_tokens

    def describe(self) -> str:
        """One line for ``judge render``."""
        fam = self.family
        if fam is None:
            return (
                f"prompt cache: not cacheable, {self.model_id} is not in judge/data/{TABLE} "
                f"(static prefix ~{self.prefix_tokens} tokens, estimated)"
            )
        verdict = "cacheable" if self.cacheable else "not cacheable"
        limits = f"minimum {fam.minimum_tokens}"
        if fam.maximum_tokens is not None:
            limits += f", maximum {fam.maximum_tokens}"
        return (
            f"prompt cache: {verdict}, static prefix ~{self.prefix_tokens} tokens "
            f"(estimated, {CHARS_PER_TOKEN} characters a token; {fam.name} {limits})"
        )


def decide(request: dict[str, Any], model_id: str) -> CacheDecision:
    """Size the static prefix of a rendered request against ``model_id``'s family.

    The static prefix is everything before the first message: the tool schema (where the
    family's cached prefix holds it) and the system prompt, which are sample-free.
    """
    family = family_for(model_id)
    tools = family.tools_in_prefix if family else False
    blocks = list(prefix_blocks({**request, "messages": []}, tools=tools))
    return CacheDecision(model_id, family, sum(block_tokens(b) for b in blocks))


def add_cache_point(request: dict[str, Any], model_id: str) -> CacheDecision:
    """Put a ``cachePoint`` after the system prompt when the static prefix is cacheable.

    A ``cachePoint`` under the minimum would be ignored by Bedrock, and on a model without
    caching it may be rejected, so none is added then. Idempotent.
    """
    decision = decide(request, model_id)
    system = request.get("system")
    if decision.cacheable and isinstance(system, list) and CACHE_POINT not in system:
        system.append({"cachePoint": {"type": "default"}})
    return decision
