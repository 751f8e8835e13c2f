"""The ``json`` check: parse, validate against a schema, stay bounded on hostile text."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from judge.checks import KINDS, Check, CheckInput, CheckResult
from judge.checks.json_check import JsonSpec, fenced_block, nesting

TICKET = {
    "type": "object",
    "required": ["order_id"],
    "properties": {
        "order_id": {"type": "string", "pattern": "^A-[0-9]+$"},
        "tags": {"type": "array", "uniqueItems": True},
    },
    "additionalProperties": False,
}


def check(root: Path = Path("."), **table: Any) -> Check:
    return KINDS["json"].model_validate({"kind": "json", **table}).build("j", root)


def run(response: str, **table: Any) -> CheckResult:
    return check(**table).run(CheckInput(conversation=(), response=response))


def test_registered_and_blocks_found() -> None:
    assert KINDS["json"] is JsonSpec
    text = 'Sure:\n```JSON\n{"a": 1}\n```\nand\n```json\n[2]\n```'
    assert fenced_block(text) == '{"a": 1}\n'
    assert fenced_block("```json\n[1, 2") == "[1, 2"  # unclosed: to the end
    assert fenced_block("inline ```json [1]``` is no fence") is None
    assert nesting('[{"a": "[[[[" }, [1]]', 10) == 2  # brackets in strings do not count
    assert nesting("[" * 500, 7) == 8  # stops once past the limit


def test_valid_json_scores_one_and_violations_name_keyword_and_path() -> None:
    assert run('{"order_id": "A-12"}', schema=TICKET).score == 1.0
    bad = run('{"order_id": "B-12", "secret": "x"}', schema=TICKET)
    assert bad.score == 0.0
    assert bad.details["errors"] == [
        {"keyword": "pattern", "path": "$.order_id"},
        {"keyword": "additionalProperties", "path": "$"},
    ]
    assert "x" not in json.dumps(bad.details)  # no response values in the details
    # uniqueItems on objects: 1 and 1.0 are equal, key order does not matter
    dup = run('{"order_id": "A-1", "tags": [{"a": 1, "b": 2}, {"b": 2, "a": 1.0}]}', schema=TICKET)
    assert dup.details["errors"] == [{"keyword": "uniqueItems", "path": "$.tags"}]
    assert run('{"order_id": "A-1", "tags": [true, 1]}', schema=TICKET).score == 1.0


def test_block_modes() -> None:
    fenced = 'Here you go:\n```json\n{"order_id": "A-7"}\n```\n'
    assert run(fenced, schema=TICKET).score == 1.0  # any: the fenced block
    assert run(fenced, schema=TICKET, block="whole").details["error"].startswith("not JSON")
    missing = run('{"order_id": "A-7"}', schema=TICKET, block="fenced")
    assert (missing.score, missing.details["error"]) == (0.0, "no ```json block")
    assert run("not json", block="whole").score == 0.0  # no schema: JSON at all
    assert run("NaN").score == 0.0  # not JSON (RFC 8259)
    assert run(" [1, 2] ").score == 1.0


def test_schema_file_is_read_relative_to_root_and_listed(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "ticket.json").write_text(json.dumps(TICKET))
    spec = JsonSpec.model_validate({"kind": "json", "schema_file": "schemas/ticket.json"})
    assert spec.sources(tmp_path) == (tmp_path / "schemas" / "ticket.json",)
    built = spec.build("j", tmp_path)
    assert built.run(CheckInput((), '{"order_id": "A-1"}')).score == 1.0
    (tmp_path / "schemas" / "bad.json").write_text('{"type": "objekt"}')
    with pytest.raises(ValueError, match=r"bad.json.*/type.*Fix:"):
        check(tmp_path, schema_file="schemas/bad.json")
    with pytest.raises(ValueError, match=r"missing.json.*cannot be read.*Fix:"):
        check(tmp_path, schema_file="missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match=r"broken.json.*is not JSON"):
        check(tmp_path, schema_file="broken.json")


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "objekt"}, r"/type: .*is not valid.*Fix:"),
        ({"properties": {"a": {"pattern": "(a)\\1"}}}, r"/properties/a/pattern: .*RE2"),
        ({"patternProperties": {"(?=x)": {}}}, r"/patternProperties/\(\?=x\).*RE2"),
        ({"$ref": "https://example.com/s.json"}, r"/\$ref: .*not in this schema.*Fix:"),
        (
            {"patternProperties": {"^x": {}}, "unevaluatedProperties": False},
            "unevaluatedProperties beside patternProperties",
        ),
        ("string", "valid dictionary"),
    ],
)
def test_schemas_the_check_cannot_use_are_refused_at_load(schema: Any, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        JsonSpec.model_validate({"kind": "json", "schema": schema})


def test_both_schema_keys_refused() -> None:
    with pytest.raises(ValueError, match="keep one"):
        JsonSpec.model_validate({"kind": "json", "schema": {}, "schema_file": "s.json"})


def test_data_patterns_on_re2_and_pattern_properties() -> None:
    schema = {
        "type": "object",
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": {"type": "string", "pattern": "^(a+)+$"},
    }
    assert run('{"x-n": 1, "note": "aaa"}', schema=schema).score == 1.0
    bad = run('{"x-n": "1", "note": "aab"}', schema=schema)
    assert {e["keyword"] for e in bad.details["errors"]} == {"type", "pattern"}
    # (a+)+$ on "aaa...b" is exponential for Python's re; RE2 is linear
    began = time.perf_counter()
    slow = run(json.dumps({"note": "a" * 20_000 + "b"}), schema=schema)
    assert time.perf_counter() - began < 1.0 and slow.score == 0.0


@pytest.mark.parametrize(
    ("hostile", "bound"),
    [
        ("[" * 20_000, "nested past max_depth = 32"),  # never reaches the recursive parser
        ("[" * 31 + "]" * 31, None),
        ('{"a":' * 5_000 + "1" + "}" * 5_000, "nested past max_depth = 32"),
        ("1" * 20_000, "an integer past 4,300 digits"),
        ("1e999999", None),  # a float: inf to the parser, and no object, array or string
        ('"\\ud800\\udfff\\ud800"', None),
        ('{"order_id": "A-1\\u0000"}', None),
        ("\x00" * 20_000, None),
        ("[" + ",".join(["{}"] * 12_000) + "]", None),
        ("a" * 60_000, "60000 characters, past max_chars = 50000"),
    ],
)
def test_hostile_text_is_bounded_and_a_bound_is_a_failure(hostile: str, bound: str | None) -> None:
    began = time.perf_counter()
    result = run(hostile, schema={"type": ["object", "array", "string"], "uniqueItems": True})
    assert time.perf_counter() - began < 1.0
    assert result.score in (0.0, 1.0) and result.unscored is None  # decided, never raised
    if bound is not None:  # padding past a bound cannot dodge a gated check
        assert (result.score, result.details["error"]) == (0.0, f"past a bound: {bound}")


def test_bounds_are_configurable() -> None:
    assert run("[[[1]]]", max_depth=2).details["error"] == "past a bound: nested past max_depth = 2"
    assert run("[[[1]]]", max_depth=3).score == 1.0
    assert run('"abcdef"', max_chars=5).score == 0.0
