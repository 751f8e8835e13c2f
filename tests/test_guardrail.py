"""The guardrail check over HTTP: boto3's ``apply_guardrail`` against the real local server.

No patching: the server reads a policy file, boto3 serialises and parses every call, and the
check gets its client from the judges' factory through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from judge.checks.base import CheckInput, CheckResult
from judge.checks.guardrail import GuardrailSpec
from judge.cli import main
from judge.config import RetrySettings
from judge.deadline import Deadline
from judge.guardrail import apply_guardrail
from judge.prompt import Turn
from judge.retry import RetryStats
from judge.server import ConverseServer
from judge.server.guardrail import GuardrailBook
from judge.server.guardrail_policy import PolicyError, load_guardrails
from judge.server.process import free_port, start_server
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO

POLICIES = """
[[guardrail]]
id = "support"
version = "1"
blocked_message = "Blocked by policy."
words = ["lawsuit", "refund guaranteed"]

[[guardrail.regex]]
name = "order_leak"
pattern = "ORD-[0-9]{8}"
action = "ANONYMIZE"

# Exponential in a backtracking engine on a run of x: RE2 is linear whatever the pattern.
[[guardrail.regex]]
name = "backtrack"
pattern = "(x+x+)+y"
action = "NONE"

[[guardrail.pii]]
type = "EMAIL"
action = "ANONYMIZE"

[[guardrail.pii]]
type = "PHONE"
action = "ANONYMIZE"

[[guardrail.pii]]
type = "CREDIT_DEBIT_CARD_NUMBER"
action = "BLOCK"

[[guardrail.pii]]
type = "US_SOCIAL_SECURITY_NUMBER"
action = "BLOCK"

[[guardrail]]
id = "watch"
version = "DRAFT"
[[guardrail.pii]]
type = "EMAIL"
action = "NONE"
"""
FAST = RetrySettings(initial_backoff_s=0.01, max_backoff_s=0.05)


@pytest.fixture
def book(aws_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GuardrailBook]:
    """The local server with POLICIES; boto3's bedrock-runtime endpoint points at it."""
    path = tmp_path / "guardrails.toml"
    path.write_text(POLICIES)
    rails = GuardrailBook.from_file(path)
    with ConverseServer(ScriptedJudge(), guardrails=rails) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        yield rails


def _client() -> Any:
    config = botocore.config.Config(retries={"total_max_attempts": 1})
    return boto3.client("bedrock-runtime", region_name="us-east-1", config=config)


def _apply(text: str, gid: str = "support", version: str = "1") -> dict[str, Any]:
    return dict(
        _client().apply_guardrail(
            guardrailIdentifier=gid,
            guardrailVersion=version,
            source="OUTPUT",
            content=[{"text": {"text": text}}],
        )
    )


def _check(gid: str = "support", version: str | int = "1", **extra: Any) -> GuardrailSpec:
    table = {"kind": "guardrail", "guardrail_id": gid, "guardrail_version": version, **extra}
    return GuardrailSpec.model_validate(table, strict=True)


def _run(spec: GuardrailSpec, response: str) -> CheckResult:
    item = CheckInput((Turn("user", "Where is my order?"),), response)
    return spec.build("policy", REPO).run(item)


def test_words_block_whole_words_in_any_case(book: GuardrailBook) -> None:
    out = _apply("We will see you in court: this is a LawSuit.")
    assert out["action"] == "GUARDRAIL_INTERVENED"
    assert out["outputs"] == [{"text": "Blocked by policy."}]
    words = out["assessments"][0]["wordPolicy"]["customWords"]
    assert words == [{"match": "lawsuit", "action": "BLOCKED", "detected": True}]
    # Inside a longer word it is not the word; a phrase is matched across its space.
    assert _apply("Class-action lawsuits are news.")["action"] == "NONE"
    assert _apply("Your REFUND guaranteed!")["action"] == "GUARDRAIL_INTERVENED"
    assert book.calls[("support", "1")] == 3


def test_regex_and_pii_anonymise_and_report(book: GuardrailBook) -> None:
    out = _apply("Write to jo.doe+x@mail.example.com or (555) 123-4567 about ORD-12345678.")
    assert out["action"] == "GUARDRAIL_INTERVENED"
    assert out["outputs"] == [{"text": "Write to {EMAIL} or {PHONE} about {order_leak}."}]
    info = out["assessments"][0]["sensitiveInformationPolicy"]
    assert [(e["type"], e["match"], e["action"]) for e in info["piiEntities"]] == [
        ("EMAIL", "jo.doe+x@mail.example.com", "ANONYMIZED"),
        ("PHONE", "(555) 123-4567", "ANONYMIZED"),
    ]
    assert info["regexes"] == [
        {
            "name": "order_leak",
            "match": "ORD-12345678",
            "regex": "ORD-[0-9]{8}",
            "action": "ANONYMIZED",
            "detected": True,
        }
    ]
    assert out["usage"]["sensitiveInformationPolicyUnits"] == 1
    assert out["guardrailCoverage"]["textCharacters"]["total"] > 0


def test_card_numbers_need_a_valid_luhn_digit(book: GuardrailBook) -> None:
    blocked = _apply("Card 4111-1111-1111-1111 is on file.")
    assert blocked["action"] == "GUARDRAIL_INTERVENED"
    assert blocked["outputs"] == [{"text": "Blocked by policy."}]
    entity = blocked["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][0]
    assert (entity["type"], entity["action"]) == ("CREDIT_DEBIT_CARD_NUMBER", "BLOCKED")
    assert _apply("Card 4111-1111-1111-1112 is on file.")["action"] == "NONE"  # bad check digit
    assert _apply("SSN 123-45-6789.")["action"] == "GUARDRAIL_INTERVENED"
    assert _apply("SSN 000-45-6789.")["action"] == "NONE"  # never issued


def test_clean_text_passes(book: GuardrailBook) -> None:
    out = _apply("Your tent can be returned within 30 days; print the label from your account.")
    assert (out["action"], out["outputs"]) == ("NONE", [])
    assert set(out["assessments"][0]) == {"invocationMetrics"}


def test_unknown_guardrail_or_version_is_bedrocks_error(book: GuardrailBook) -> None:
    for gid, version, code, status in [
        ("nosuch", "1", "ResourceNotFoundException", 404),
        ("support", "2", "ResourceNotFoundException", 404),
        ("Support!", "1", "ValidationException", 400),
        ("support", "v1", "ValidationException", 400),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            _apply("hello", gid, version)
        assert err.value.response["Error"]["Code"] == code
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    arn = "arn:aws:bedrock:us-east-1:123456789012:guardrail/support"  # an ARN names it too
    assert _apply("a lawsuit", arn)["action"] == "GUARDRAIL_INTERVENED"


def test_a_server_without_guardrails_knows_none(aws_env: Path) -> None:
    with ConverseServer(ScriptedJudge()) as server:
        client = boto3.client("bedrock-runtime", endpoint_url=server.url, region_name="us-east-1")
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.apply_guardrail(
                guardrailIdentifier="support",
                guardrailVersion="1",
                source="OUTPUT",
                content=[{"text": {"text": "x"}}],
            )


def test_client_names_the_policies_that_acted(book: GuardrailBook) -> None:
    client = _client()
    outcome = apply_guardrail(client, "support", "1", "Mail a@b.io re ORD-00000001, a lawsuit")
    assert outcome.intervened and outcome.error is None
    assert outcome.policies == ("word:lawsuit", "pii:EMAIL", "regex:order_leak")
    assert outcome.action_reason == "Guardrail blocked."
    # Detect-only (action NONE): reported as detected, no intervention.
    watched = apply_guardrail(client, "watch", "DRAFT", "Mail a@b.io")
    assert (watched.intervened, watched.policies, watched.detected) == (False, (), ("pii:EMAIL",))


def test_client_retries_throttling(book: GuardrailBook) -> None:
    book.throttle = 2
    stats = RetryStats()
    outcome = apply_guardrail(_client(), "support", "1", "a lawsuit", retry=FAST, stats=stats)
    assert outcome.intervened and stats.throttles == 2
    book.throttle = 100  # past the deadline: a failure, not an exception
    spent = apply_guardrail(
        _client(), "support", "1", "hi", retry=FAST, deadline=Deadline.in_seconds(0.3)
    )
    assert spent.error is not None and spent.error.startswith("ThrottlingException")


def test_check_scores_pass_and_intervention(book: GuardrailBook) -> None:
    spec = _check()
    clean = _run(spec, "Returns are free within 30 days.")
    assert (clean.score, clean.unscored) == (1.0, None)
    assert clean.details["intervened"] is False and clean.details["policies"] == []
    caught = _run(spec, "Call me on 555-123-4567 or I file a lawsuit.")
    assert (caught.score, caught.unscored) == (0.0, None)
    assert caught.details["policies"] == ["word:lawsuit", "pii:PHONE"]
    assert "555" not in str(caught.details)  # the matched text never goes to details


def test_a_failed_call_is_unscored_never_zero(book: GuardrailBook) -> None:
    result = _run(_check("nosuch"), "Returns are free within 30 days.")
    assert result.score is None and result.unscored is not None
    assert result.unscored.reason == "judge_error"
    assert "ResourceNotFoundException" in result.unscored.detail
    assert result.details == {"guardrail": "nosuch", "version": "1"}


def test_no_server_is_unscored_quickly(aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    result = _run(_check(timeout_s=5), "hello")
    assert result.score is None and result.unscored is not None
    assert "no judge server answers" in result.unscored.detail
    assert time.monotonic() - started < 5


HOSTILE: list[Callable[[int], str]] = [
    lambda n: "a" * n,
    lambda n: "x" * n,  # the backtracking pattern's worst case
    lambda n: "1" * n,
    lambda n: "a@" * (n // 2),
    lambda n: "1 " * (n // 2),
    lambda n: "1-" * (n // 2),
    lambda n: "a." * (n // 2),
    lambda n: "(555) " * (n // 6),
    lambda n: "ORD-" * (n // 4),
    lambda n: "lawsuit" * (n // 7),
    lambda n: "\ud800" * n,  # lone surrogates: valid JSON, invalid text
    lambda n: "\u0663" * n,  # Arabic-Indic digits
]


@pytest.mark.parametrize("make", HOSTILE)
def test_hostile_text_is_bounded(book: GuardrailBook, make: Callable[[int], str]) -> None:
    spec = _check()
    started = time.perf_counter()
    result = _run(spec, make(20_000) + " then a@b.io")
    assert time.perf_counter() - started < 3.0
    assert result.score == 0.0 and "pii:EMAIL" in result.details["policies"]


def test_many_findings_are_capped(book: GuardrailBook) -> None:
    out = _apply("x@y.co " * 3000)
    assert len(out["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"]) == 200
    assert out["outputs"][0]["text"].startswith("{EMAIL} {EMAIL}")


def test_spec_is_checked_at_load() -> None:
    assert _check(version=3).guardrail_version == "3"  # a number is the version's string
    arn = "arn:aws:bedrock:eu-west-1:123456789012:guardrail/abc123"
    assert _check(arn).guardrail_region == "eu-west-1"
    assert _check(region="us-west-2").guardrail_region == "us-west-2"
    for bad in (
        {"guardrail_id": "My Guardrail"},
        {"guardrail_version": "latest"},
        {"guardrail_version": 0},
        {"region": "mars"},
        {"guardrail_id": arn, "region": "us-east-1"},
        {"timeout_s": 0},
        {"policy": "x"},
    ):
        table = {"kind": "guardrail", "guardrail_id": "abc", "guardrail_version": "1", **bad}
        with pytest.raises(ValidationError):
            GuardrailSpec.model_validate(table, strict=True)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[[guardrail]]\nid = "a"\nversion = "1"\n[[guardrail.pii]]\ntype = "NAME"', "one of"),
        (
            '[[guardrail]]\nid = "a"\nversion = "1"\n[[guardrail.regex]]\nname = "r"\n'
            'pattern = "("',
            "RE2 accepts",
        ),
        (
            '[[guardrail]]\nid = "a"\nversion = "1"\n[[guardrail.regex]]\nname = "r"\n'
            "pattern = '(a)\\1'",
            "no backreferences",
        ),
        ('[[guardrail]]\nid = "A"\nversion = "1"', "lower-case"),
        ('[[guardrail]]\nid = "a"\nversion = "1"\n[[guardrail]]\nid = "a"\nversion = 1', "twice"),
        (
            '[[guardrail]]\nid = "a"\nversion = "1"\nwords = ["x"]\n[[guardrail.pii]]\n'
            'type = "EMAIL"\naction = "MASK"',
            "BLOCK, ANONYMIZE, NONE",
        ),
        ("guardrail = 3", "no [[guardrail]]"),
    ],
)
def test_policy_file_errors_name_the_fix(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=r"g\.toml") as err:
        load_guardrails(path)
    assert says in str(err.value)


def test_example_file_loads() -> None:
    rails = load_guardrails(REPO / "examples" / "guardrails.toml")
    assert ("supportpolicy", "1") in rails and ("supportpolicy", "DRAFT") in rails


def test_judge_serve_guardrails_option(aws_env: Path) -> None:
    proc, url = start_server(
        ["--guardrails", str(REPO / "examples" / "guardrails.toml")], quiet=True
    )
    try:
        client = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1")
        outcome = apply_guardrail(client, "supportpolicy", "1", "Order ORD-12345678 shipped")
        assert outcome.intervened and outcome.policies == ("regex:order_leak",)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = CliRunner().invoke(
        main, ["serve", "--port", "0", "--guardrails", str(REPO / "README.md")]
    )
    assert bad.exit_code != 0 and "cannot read guardrails" in bad.output


def test_a_json_policy_file_reads_as_toml_does(tmp_path: Path) -> None:
    import tomllib

    path = tmp_path / "g.json"
    path.write_text(json.dumps(tomllib.loads(POLICIES)))
    toml_path = tmp_path / "g.toml"
    toml_path.write_text(POLICIES)
    assert load_guardrails(path) == load_guardrails(toml_path)


def test_one_check_serves_many_threads(book: GuardrailBook) -> None:
    check = _check().build("policy", REPO)
    texts = [f"Order {i}: " + ("a lawsuit" if i % 3 == 0 else "shipped") for i in range(60)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda t: check.run(CheckInput((Turn("user", "hi"),), t)), texts))
    assert [r.score for r in results] == [0.0 if i % 3 == 0 else 1.0 for i in range(60)]
    assert book.calls[("support", "1")] == 60
