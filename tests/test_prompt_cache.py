"""Prompt caching that engages: the family table, the cachePoint decision, the local cache."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.config import JudgeSettings
from judge.deadline import Deadline
from judge.errors import SourceError
from judge.prompt import JudgeInput, PromptRenderer, Turn
from judge.prompt_cache import (
    TABLE,
    add_cache_point,
    decide,
    estimate_tokens,
    family_for,
    minimum_tokens,
    parse_table,
)
from judge.rubric import load_rubrics
from judge.server.scripted import ScriptedJudge
from judge.server.wire import PromptCacheEmulator, usage_for
from tests.conftest import REPO, ServeFn, make_evaluator, project_copy, sample

NOVA = "us.amazon.nova-pro-v1:0"
ITEM = JudgeInput((Turn("user", "Is this tent waterproof?"),), "Yes, rated to 3,000 mm.")
# A handbook long enough that the rubric's system prompt passes Nova's 1,024-token minimum.
HANDBOOK = "\n".join(
    f"- Rule {i}: a reply about order {i} names the return window, the refund route and who "
    "pays for shipping, in that order, without jargon."
    for i in range(40)
)


def write_long_rubric(directory: Path) -> Path:
    """A rubric whose static prefix is cacheable on Nova (a long extra section)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "policy.md").write_text(
        "---\nname: policy\ntitle: Policy accuracy\nscale: {min: 1, max: 3}\n---\n"
        "# Policy accuracy\n\n## Definition\nWhether the reply states the returns policy "
        f"correctly.\n\n## Handbook\n{HANDBOOK}\n\n## Scale\n### 1 - Wrong\nMisstates it.\n\n"
        "### 2 - Partial\nSome of it.\n\n### 3 - Right\nAll of it.\n\n## Examples\n"
        "### Example 1 (score 3)\n**Prompt:** Can I return it?\n"
        "**Response:** Yes, within 30 days; we refund the card and pay the label.\n"
        "**Why:** Window, route and shipping, in order.\n"
    )
    return directory


def _request(
    rubric: str, directory: Path, settings: JudgeSettings, item: JudgeInput = ITEM
) -> dict[str, Any]:
    rubrics = load_rubrics(directory, [rubric])
    return PromptRenderer(REPO / "prompts", b"k").render(rubrics[rubric], item, settings)


def test_estimate_is_four_characters_a_token_rounded_up() -> None:
    assert [estimate_tokens("x" * n) for n in (0, 1, 4, 5, 4000)] == [0, 1, 1, 2, 1000]


def test_family_table_matches_ids_profiles_and_arns() -> None:
    for model in (
        "amazon.nova-micro-v1:0",
        "us.amazon.nova-lite-v1:0",
        NOVA,
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-premier-v1:0",
    ):
        assert minimum_tokens(model) == 1024, model
    assert minimum_tokens("anthropic.claude-3-7-sonnet-20250219-v1:0") == 1024
    assert minimum_tokens("us.anthropic.claude-3-5-haiku-20241022-v1:0") == 2048
    assert minimum_tokens("global.anthropic.claude-haiku-4-5-20251001-v1:0") == 4096
    # the longest match wins: Sonnet 4.5 is not Sonnet 4
    assert minimum_tokens("anthropic.claude-sonnet-4-5-20250929-v1:0") == 4096
    assert minimum_tokens("anthropic.claude-sonnet-4-20250514-v1:0") == 1024
    assert minimum_tokens("anthropic.claude-sonnet-4-6") == 1024
    assert minimum_tokens("meta.llama3-70b-instruct-v1:0") is None
    nova, claude = family_for(NOVA), family_for("anthropic.claude-opus-4-1-20250805-v1:0")
    assert nova is not None and not nova.tools_in_prefix and nova.maximum_tokens == 20000
    assert claude is not None and claude.tools_in_prefix
    text = (REPO / "judge" / "data" / TABLE).read_text()
    assert "docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html" in text
    assert 'read_on = "2026-11-26"' in text


def test_malformed_table_names_file_key_and_fix(tmp_path: Path) -> None:
    path = tmp_path / TABLE
    good = (REPO / "judge" / "data" / TABLE).read_text()
    with pytest.raises(SourceError) as err:
        parse_table(good.replace("minimum_tokens = 2048", "minimum_tokens = -1"), path)
    assert str(path) in str(err.value) and "minimum_tokens" in str(err.value)
    assert "Fix:" in str(err.value)
    with pytest.raises(SourceError, match=r"unknown key .family\.0\.minimun"):
        parse_table(good.replace("minimum_tokens = 1024\nmaximum", "minimun = 1024\nmaximum"), path)


def test_short_prefix_gets_no_cache_point() -> None:
    """The bundled rubrics are under Nova's minimum: a cachePoint would be ignored."""
    request = _request("tone", REPO / "rubrics", JudgeSettings(prompt_cache=True))
    assert [list(b) for b in request["system"]] == [["text"]]
    decision = decide(request, NOVA)
    assert not decision.cacheable and 0 < decision.prefix_tokens < 1024


def test_long_prefix_gets_cache_point_after_the_static_system_prompt(tmp_path: Path) -> None:
    rubrics = write_long_rubric(tmp_path)
    other = JudgeInput((Turn("user", "Where is my refund?"),), "On its way, thanks!")
    first = _request("policy", rubrics, JudgeSettings(prompt_cache=True))
    second = _request("policy", rubrics, JudgeSettings(prompt_cache=True), other)
    assert first["system"][-1] == {"cachePoint": {"type": "default"}}
    assert len(first["system"]) == 2
    # the cached prefix is byte-identical across samples and holds no sample text
    assert json.dumps(first["system"]) == json.dumps(second["system"])
    assert first["toolConfig"] == second["toolConfig"]
    assert "tent" not in json.dumps(first["system"]) and first["messages"] != second["messages"]
    assert decide(first, NOVA).prefix_tokens >= 1024
    off = _request("policy", rubrics, JudgeSettings(prompt_cache=False))
    assert [list(b) for b in off["system"]] == [["text"]]  # prompt_cache off: never


def test_tools_count_toward_the_minimum_only_where_they_are_cached() -> None:
    """Claude caches tools -> system; Nova's checkpoints are in system and messages only."""
    request = {
        "system": [{"text": "s" * 3000}],  # 750 tokens
        "messages": [{"role": "user", "content": [{"text": "q"}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "t", "description": "d" * 1400}}]},
    }
    claude = add_cache_point(json.loads(json.dumps(request)), "anthropic.claude-3-7-sonnet-x")
    nova = add_cache_point(json.loads(json.dumps(request)), NOVA)
    assert claude.cacheable and claude.prefix_tokens > 1024
    assert not nova.cacheable and nova.prefix_tokens == 750
    unknown = json.loads(json.dumps(request))
    unknown["system"] = [{"text": "s" * 40000}]
    assert not add_cache_point(unknown, "meta.llama3-70b-instruct-v1:0").cacheable
    assert len(unknown["system"]) == 1  # no cachePoint on a model without known caching
    huge = {"system": [{"text": "s" * 90000}], "messages": []}
    assert not decide(huge, NOVA).cacheable  # over Nova's 20K-token maximum
    twice = {"system": [{"text": "s" * 8000}], "messages": []}
    add_cache_point(twice, NOVA)
    add_cache_point(twice, NOVA)
    assert len(twice["system"]) == 2  # idempotent


def _converse(client: Any, model: str, system: str, question: str) -> dict[str, int]:
    response = client.converse(
        modelId=model,
        system=[{"text": system}, {"cachePoint": {"type": "default"}}],
        messages=[{"role": "user", "content": [{"text": question}]}],
    )
    usage: dict[str, int] = response["usage"]
    return usage


def test_local_server_reports_cache_writes_then_reads_through_boto3(serve: ServeFn) -> None:
    serve(ScriptedJudge())
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    system = "You judge replies. " * 300  # 5,700 characters: 1,425 tokens
    prefix = estimate_tokens(system)
    first = _converse(client, NOVA, system, "Rate: no.")
    assert first["cacheWriteInputTokens"] == prefix and first["cacheReadInputTokens"] == 0
    second = _converse(client, NOVA, system, "Rate: no.")
    assert second["cacheReadInputTokens"] == prefix and second["cacheWriteInputTokens"] == 0
    # as on Bedrock, inputTokens is the uncached rest only: input + read + write = the whole
    whole = usage_for(
        {
            "system": [{"text": system}],
            "messages": [{"role": "user", "content": [{"text": "Rate: no."}]}],
        },
        "",
    )["inputTokens"]
    assert first["inputTokens"] == second["inputTokens"] == whole - prefix > 0
    changed = _converse(client, NOVA, system + ".", "Rate: no.")  # one more byte: a new prefix
    assert changed["cacheWriteInputTokens"] > 0 and changed["cacheReadInputTokens"] == 0
    other_model = _converse(client, "us.amazon.nova-lite-v1:0", system, "Rate: no.")
    assert other_model["cacheReadInputTokens"] == 0  # caches are per model
    short = _converse(client, NOVA, "Too short to cache.", "Rate: no.")
    assert short["cacheWriteInputTokens"] == short["cacheReadInputTokens"] == 0  # silently
    again = _converse(client, NOVA, "Too short to cache.", "Rate: no.")
    assert again["cacheReadInputTokens"] == 0
    unknown = _converse(client, "meta.llama3-70b-instruct-v1:0", system, "Rate: no.")
    assert unknown["cacheWriteInputTokens"] == 0 and unknown["inputTokens"] > prefix


def test_local_cache_expires_after_its_ttl_and_each_hit_renews_it() -> None:
    now = [0.0]
    emulator = PromptCacheEmulator(ttl_s=300, clock=lambda: now[0])
    request = {
        "system": [{"text": "p" * 8000}, {"cachePoint": {"type": "default"}}],
        "messages": [{"role": "user", "content": [{"text": "q"}]}],
    }

    def usage() -> dict[str, int]:
        response: dict[str, Any] = {"usage": {"inputTokens": 2001, "outputTokens": 1}}
        emulator.account(NOVA, request, response)
        return {k: v for k, v in response["usage"].items() if k != "outputTokens"}

    assert usage() == {"inputTokens": 1, "cacheReadInputTokens": 0, "cacheWriteInputTokens": 2000}
    now[0] = 299.0
    assert usage()["cacheReadInputTokens"] == 2000
    now[0] = 598.0  # 299 s after the last hit, which renewed the entry
    assert usage()["cacheReadInputTokens"] == 2000
    now[0] = 899.0
    assert usage()["cacheWriteInputTokens"] == 2000  # expired: written again


def test_local_cache_writes_once_under_concurrent_first_requests() -> None:
    emulator = PromptCacheEmulator()
    request = {
        "system": [{"text": "p" * 8000}, {"cachePoint": {"type": "default"}}],
        "messages": [{"role": "user", "content": [{"text": "q"}]}],
    }
    usages: list[dict[str, int]] = []
    start = threading.Barrier(16)

    def call() -> None:
        response: dict[str, Any] = {"usage": {"inputTokens": 2001}}
        start.wait()
        emulator.account(NOVA, request, response)
        usages.append(response["usage"])

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(u["cacheWriteInputTokens"] for u in usages) == 2000
    assert sum(u["cacheReadInputTokens"] for u in usages) == 15 * 2000


def test_batch_reads_the_cached_prefix_end_to_end(serve: ServeFn, tmp_path: Path) -> None:
    """Through the handler's code path: one write, then every other call reads the prefix."""
    serve(ScriptedJudge())
    rubrics = write_long_rubric(tmp_path / "rubrics")
    evaluator = make_evaluator(
        rubrics={"policy": {"weight": 1}},
        paths={"rubrics": str(rubrics)},
        judge={"prompt_cache": True},
        runtime={"cache": False},
    )
    batch = [sample(f"s{i}", f"Yes, within 30 days, reply {i}. Thanks!") for i in range(8)]
    result = evaluator.evaluate(batch, Deadline.never())
    s = result.stats
    prefix = decide(evaluator.task(evaluator.rubrics["policy"], ITEM).request, NOVA).prefix_tokens
    assert s.calls == 8 and all(r.dimensions[0].normalized is not None for r in result.results)
    assert s.cache_write_tokens == prefix
    assert s.cache_read_tokens == 7 * prefix
    assert s.tokens[NOVA].cache_read == 7 * prefix  # counted under the judge's model id

    plain = make_evaluator(
        rubrics={"policy": {"weight": 1}},
        paths={"rubrics": str(rubrics)},
        judge={"prompt_cache": False},
        runtime={"cache": False},
    )
    uncached = plain.evaluate(batch, Deadline.never()).stats
    assert uncached.cache_read_tokens == uncached.cache_write_tokens == 0
    assert uncached.input_tokens == s.input_tokens + s.cache_read_tokens + s.cache_write_tokens


def test_render_says_whether_the_prefix_is_cacheable(tmp_path: Path) -> None:
    config = project_copy(tmp_path)
    write_long_rubric(tmp_path / "rubrics")
    batch = str(REPO / "examples" / "batch.jsonl")
    runner = CliRunner()
    short = runner.invoke(
        main, ["render", "--rubric", "tone", "--sample", batch, "--config", str(config)]
    )
    assert short.exit_code == 0, short.output
    json.loads(short.stdout)  # stdout is still exactly the request
    assert "prompt cache: not cacheable, static prefix ~" in short.stderr
    assert "Amazon Nova minimum 1024" in short.stderr
    assert "prompt_cache is off" in short.stderr

    config.write_text(config.read_text().replace("prompt_cache = false", "prompt_cache = true"))
    long = runner.invoke(
        main, ["render", "--rubric", "policy", "--sample", batch, "--config", str(config)]
    )
    assert long.exit_code == 0, long.output
    assert json.loads(long.stdout)["system"][-1] == {"cachePoint": {"type": "default"}}
    assert "prompt cache: cacheable" in long.stderr and "cachePoint added" in long.stderr
