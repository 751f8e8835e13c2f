"""Tokens and dollars: per-model counts, the price table and its overrides, where they show."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge import lambda_handler
from judge.caller import CallStats
from judge.cli import main
from judge.config import ModelPrice, parse_config
from judge.cost import (
    PRICES,
    TokenCounts,
    bundled_prices,
    cost_usd,
    model_candidates,
    parse_prices,
    price_for,
    price_table,
    total_cost,
)
from judge.deadline import Deadline, LocalContext
from judge.deploy.dashboard import MAX_BODY, dashboard_body
from judge.errors import SourceError
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, ServeFn, base_config, make_evaluator, merge, project_copy, sample
from tests.test_prompt_cache import write_long_rubric

NOVA = "us.amazon.nova-pro-v1:0"
BATCH = REPO / "examples" / "batch.jsonl"


def test_bundled_prices_are_dated_sourced_and_positive() -> None:
    text = (REPO / "judge" / "data" / PRICES).read_text()
    assert 'taken_on = "2026-11-26"' in text and "estimates" in text.lower()
    assert "aws.amazon.com/bedrock/pricing" in text
    prices = bundled_prices()
    assert {
        "amazon.nova-micro-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
        "amazon.nova-premier-v1:0",
    } <= set(prices)
    assert any(m.startswith("anthropic.claude") for m in prices)
    for model, price in prices.items():
        assert 0 < price.input < price.output, model
        assert price.cache_read is None or price.cache_read < price.input, model
    assert prices["amazon.nova-pro-v1:0"].input == 0.0008  # USD per 1,000 tokens
    assert prices["amazon.nova-premier-v1:0"].cache_read is None  # not found: not invented


def test_profiles_and_arns_resolve_to_their_model() -> None:
    assert model_candidates(NOVA) == [NOVA, "amazon.nova-pro-v1:0"]
    assert model_candidates("amazon.nova-pro-v1:0") == ["amazon.nova-pro-v1:0"]
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0"
    assert model_candidates(arn)[-1] == "amazon.nova-lite-v1:0"
    table = price_table()
    assert price_for(NOVA, table) == table["amazon.nova-pro-v1:0"]
    assert price_for("global.anthropic.claude-sonnet-4-20250514-v1:0", table) is not None
    assert price_for("meta.llama3-70b-instruct-v1:0", table) is None
    assert price_for("local", table) is None


def test_cost_is_tokens_times_price_and_unknown_is_none_never_zero() -> None:
    price = ModelPrice(input=0.0008, output=0.0032, cache_read=0.0002, cache_write=0.0008)
    tokens = TokenCounts(input=1000, output=500, cache_read=4000, cache_write=2000)
    assert cost_usd(tokens, price) == pytest.approx(0.0008 + 0.0016 + 0.0008 + 0.0016)
    assert cost_usd(tokens, None) is None  # unknown model
    assert cost_usd(TokenCounts(), None) == 0.0  # no call made: nothing spent
    no_cache_price = ModelPrice(input=0.0025, output=0.0125)
    assert cost_usd(TokenCounts(input=10, output=10), no_cache_price) == pytest.approx(0.00015)
    assert cost_usd(TokenCounts(input=10, cache_read=10), no_cache_price) is None
    table = price_table()
    by_model = {NOVA: TokenCounts(input=1000), "mystery.model-v1": TokenCounts(input=1)}
    assert total_cost(by_model, table) is None  # one unpriced model: the total is unknown
    assert total_cost({NOVA: TokenCounts(input=1000)}, table) == pytest.approx(0.0008)


def test_pricing_overrides_in_reward_toml(tmp_path: Path) -> None:
    raw = merge(
        base_config(),
        {
            "pricing": {
                NOVA: {"input": 0.001, "output": 0.004},
                "acme.judge-v1": {"input": 0.01, "output": 0.02, "cache_read": 0.001},
            }
        },
    )
    config = parse_config(raw, tmp_path / "reward.toml")
    table = price_table(config.pricing)
    assert price_for(NOVA, table) == ModelPrice(input=0.001, output=0.004)  # exact id wins
    assert price_for("amazon.nova-pro-v1:0", table) == bundled_prices()["amazon.nova-pro-v1:0"]
    assert cost_usd(TokenCounts(input=1000), price_for("acme.judge-v1", table)) == 0.01
    # an override replaces the model's prices: its cache prices are now unknown
    assert cost_usd(TokenCounts(cache_read=5), price_for(NOVA, table)) is None


@pytest.mark.parametrize(
    ("entry", "place", "fix"),
    [
        ({"inptu": 0.1, "output": 0.2}, f"pricing.{NOVA}.inptu", "did you mean 'input'?"),
        ({"input": 0.1}, f"pricing.{NOVA}.output", "add the key"),
        ({"input": -0.1, "output": 0.2}, f"pricing.{NOVA}.input", "use a larger value"),
    ],
)
def test_malformed_pricing_names_file_key_and_fix(
    tmp_path: Path, entry: dict[str, Any], place: str, fix: str
) -> None:
    path = tmp_path / "reward.toml"
    with pytest.raises(SourceError) as err:
        parse_config(merge(base_config(), {"pricing": {NOVA: entry}}), path)
    message = str(err.value)
    assert str(path) in message and f"[{place}]" in message and fix in message


def test_malformed_price_file_names_file_key_and_fix(tmp_path: Path) -> None:
    path = tmp_path / PRICES
    good = (REPO / "judge" / "data" / PRICES).read_text()
    with pytest.raises(SourceError, match=r"unknown key 'model\.amazon\.nova-pro-v1:0\.ouput'"):
        parse_prices(good.replace("output = 0.0032", "ouput = 0.0032"), path)
    with pytest.raises(SourceError) as err:
        parse_prices(good.replace("input = 0.0008", "input = -1"), path)
    assert str(path) in str(err.value) and "Fix:" in str(err.value)


def test_call_stats_count_tokens_per_model_across_threads() -> None:
    stats = CallStats()
    usage = {
        "inputTokens": 10,
        "outputTokens": 2,
        "cacheReadInputTokens": 100,
        "cacheWriteInputTokens": 1,
    }

    def work(model: str) -> None:
        for _ in range(250):
            stats.record_call(0.001, usage, model)

    threads = [threading.Thread(target=work, args=(m,)) for m in (NOVA, NOVA, "other", "other")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats.record_call(0.001, None, NOVA)  # a call without usage counts as a call only
    assert stats.calls == 1001
    assert stats.tokens[NOVA] == TokenCounts(5000, 1000, 50000, 500)
    assert stats.tokens["other"] == TokenCounts(5000, 1000, 50000, 500)
    assert (stats.input_tokens, stats.output_tokens) == (10000, 2000)
    assert (stats.cache_read_tokens, stats.cache_write_tokens) == (100000, 1000)


def _cost_of(stats: CallStats) -> float:
    cost = total_cost(stats.tokens, price_table())
    assert cost is not None
    return cost


def test_score_prints_tokens_and_cost_per_thousand_rewards(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(ScriptedJudge())
    monkeypatch.setenv("COLUMNS", "200")  # one table row a line
    config = project_copy(tmp_path)
    text = config.read_text()
    assert "\ncache = true" in text
    config.write_text(text.replace("\ncache = true", "\ncache = false"))  # every run calls
    result = CliRunner().invoke(main, ["score", str(BATCH), "--config", str(config)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "tokens in / out / cache read / cache write" in out
    assert "per 1,000 rewards" in out
    assert "estimated cost (USD), this run / per 1,000 rewards" in out

    # the same figures, from the handler's own counters
    evaluator = make_evaluator(runtime={"cache": False})
    samples = [json.loads(line) for line in BATCH.read_text().splitlines() if line.strip()]
    batch = evaluator.evaluate(samples, Deadline.never())
    cost = _cost_of(batch.stats)
    assert f"{cost:.6f} / {cost * 1000 / len(samples):.4f}" in out
    per_input = batch.stats.input_tokens * 1000 / len(samples)
    assert f"{per_input:.0f} /" in out

    config.write_text(config.read_text().replace(NOVA, "acme.judge-v1"))
    unpriced = CliRunner().invoke(main, ["score", str(BATCH), "--config", str(config)])
    assert unpriced.exit_code == 0, unpriced.output
    flat = " ".join(unpriced.stdout.split())
    assert "unknown: no price for acme.judge-v1 (add it under [pricing])" in flat

    with config.open("a") as fh:
        fh.write('\n[pricing."acme.judge-v1"]\ninput = 0.5\noutput = 1.0\n')
    priced = CliRunner().invoke(main, ["score", str(BATCH), "--config", str(config)])
    assert priced.exit_code == 0, priced.output
    assert "unknown" not in priced.stdout.split("estimated cost")[1]


def _emf(lines: list[str]) -> dict[str, Any]:
    """The invocation's EMF blob, each metric's value as one number."""
    blobs = [json.loads(x) for x in lines if x.startswith("{") and '"_aws"' in x]
    assert len(blobs) == 1, lines
    blob: dict[str, Any] = blobs[0]
    for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
        value = blob[metric["Name"]]
        values = value if isinstance(value, list) else [value]  # EMF allows either
        assert len(values) == 1, (metric, value)
        blob[metric["Name"]] = values[0]
    return blob


def _invoke(evaluator: Any, batch: list[Any], capfd: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lambda_handler.reset()
    lambda_handler._evaluator = evaluator
    try:
        capfd.readouterr()
        lambda_handler.handler(batch, LocalContext(60))
        return _emf(capfd.readouterr().out.splitlines())
    finally:
        lambda_handler._evaluator = None


def test_lambda_emits_token_and_cost_metrics(
    serve: ServeFn, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    judge = serve(ScriptedJudge())
    rubrics = write_long_rubric(tmp_path / "rubrics")
    batch = [sample(f"s{i}", f"Yes, within 30 days, reply {i}. Thanks!") for i in range(6)]
    settings = {
        "rubrics": {"policy": {"weight": 1}},
        "paths": {"rubrics": str(rubrics)},
        "runtime": {"cache": False},
    }
    cached = make_evaluator(**settings, judge={"prompt_cache": True})
    emf = _invoke(cached, batch, capfd)
    units = {m["Name"]: m["Unit"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    for name in ("JudgeInputTokens", "JudgeOutputTokens", "JudgeCacheReadTokens"):
        assert units[name] == "Count" and emf[name] > 0
    assert units["JudgeCacheWriteTokens"] == "Count" and emf["JudgeCacheWriteTokens"] > 0
    assert emf["JudgeCacheReadTokens"] == 5 * emf["JudgeCacheWriteTokens"]
    assert len(judge.requests) == 6
    input_tokens, read, write, output = (
        emf["JudgeInputTokens"],
        emf["JudgeCacheReadTokens"],
        emf["JudgeCacheWriteTokens"],
        emf["JudgeOutputTokens"],
    )
    expected = (input_tokens * 0.0008 + output * 0.0032 + read * 0.0002 + write * 0.0008) / 1000
    assert emf["JudgeCostUSD"] == pytest.approx(expected)

    plain = make_evaluator(**settings, judge={"prompt_cache": False})
    uncached = _invoke(plain, batch, capfd)
    assert uncached["JudgeCacheReadTokens"] == uncached["JudgeCacheWriteTokens"] == 0
    assert uncached["JudgeCostUSD"] > emf["JudgeCostUSD"]  # caching is cheaper

    unknown = make_evaluator(**settings, judge={"model_id": "acme.judge-v1"})
    no_price = _invoke(unknown, batch, capfd)
    assert no_price["JudgeInputTokens"] > 0
    assert "JudgeCostUSD" not in no_price  # unknown, not 0


def test_lambda_prices_with_the_config_overrides(
    serve: ServeFn, capfd: pytest.CaptureFixture[str]
) -> None:
    serve(ScriptedJudge())
    evaluator = make_evaluator(
        runtime={"cache": False}, pricing={NOVA: {"input": 1.0, "output": 0.0}}
    )
    emf = _invoke(evaluator, [sample("a", "Sure, happy to help: 30 days.")], capfd)
    assert emf["JudgeCostUSD"] == pytest.approx(emf["JudgeInputTokens"] / 1000)


def test_dashboard_has_a_tokens_and_cost_widget() -> None:
    rubrics = [f"rubric_number_{i}" for i in range(8)]
    body = dashboard_body("rlaif-judge-a-rather-long-function-name", "ap-southeast-2", rubrics)
    assert len(body) <= MAX_BODY
    widgets = json.loads(body)["widgets"]
    (widget,) = [w for w in widgets if "JudgeCostUSD" in json.dumps(w)]
    metrics = widget["properties"]["metrics"]
    assert [m[1] for m in metrics] == [
        "JudgeInputTokens",
        "JudgeOutputTokens",
        "JudgeCacheReadTokens",
        "JudgeCacheWriteTokens",
        "JudgeCostUSD",
    ]
    assert metrics[-1][-1] == {"stat": "Sum", "yAxis": "right"}  # dollars on their own axis
    assert all(m[-1]["stat"] == "Sum" for m in metrics)
    boxes = {(w["x"], w["y"]) for w in widgets}
    assert len(boxes) == len(widgets)  # no widget hides another
