"""The handler fuzz and the red-team regressions again, with every check kind enabled.

Every string is the policy's: with checks in the config the batch must still answer every
sample with one finite, in-range reward, each check scored or unscored with a reason (never
an exception out of the handler), and bounded in time on the suites' inputs (20,000-character
runs, deep JSON, invalid Unicode). The judges and the guardrail are the local server (boto3
over HTTP); the python check is the support example's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings

from judge.contract import parse_sample
from judge.deadline import Deadline
from judge.errors import EventError
from judge.lambda_handler import run_event
from judge.server import ConverseServer
from judge.server.guardrail import GuardrailBook
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, make_evaluator, sample
from tests.test_adversary import _FUZZ, _JSON, _answers_every_sample, _rft_events

CHECKS: dict[str, Any] = {
    "short_circuit": True,
    "concise": {"kind": "length", "unit": "tokens", "max": 200},
    "no_pii": {"kind": "pattern", "must_not": [r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}", "(a|a)*b"]},
    "ticket": {
        "kind": "json",
        "schema": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^T-"}}},
    },
    "order": {"kind": "reference", "mode": "numeric", "reference": "optional"},
    "same_language": {"kind": "language"},
    "sms_plain": {"kind": "python", "function": "examples.support.checks.support:sms_plain"},
    "policy": {"kind": "guardrail", "guardrail_id": "supportpolicy", "guardrail_version": "1"},
}
GATES = [{"dimension": "no_pii", "below": 1.0}, {"dimension": "policy", "below": 1.0}]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An evaluator with every check kind, against the scripted judge and guardrail server."""
    rails = GuardrailBook.from_file(REPO / "examples" / "guardrails.toml")
    server = ConverseServer(ScriptedJudge(), guardrails=rails).start()
    saved = dict(os.environ)
    os.environ.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=server.url,
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION="us-east-1",
        JUDGE_CACHE_DIR=str(tmp_path_factory.mktemp("checked-cache")),
    )
    evaluator = make_evaluator(checks=CHECKS, gates=GATES)
    try:
        yield evaluator
    finally:
        evaluator.close()
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


def _every_check_decided_or_explained(result: Any) -> None:
    for r in result.results:
        checks = [d for d in r.dimensions if d.check is not None]
        if r.malformed is None and r.guarded is None:
            assert [d.rubric for d in checks] == [n for n in CHECKS if n != "short_circuit"]
        for d in checks:
            assert (d.normalized is None) == (d.unscored is not None)
            assert d.normalized is None or 0.0 <= d.normalized <= 1.0
        json.dumps([dict(d.details) for d in checks], allow_nan=False)


@settings(_FUZZ, max_examples=60)
@given(_JSON | _rft_events())
def test_handler_fuzz_with_checks(checked: Any, event: Any) -> None:
    """Arbitrary JSON and mutated RFT events: EventError, or one finite reward each."""
    try:
        answer, result = run_event(checked, event, Deadline.in_seconds(20))
    except EventError:
        return
    _answers_every_sample(event, answer)
    _every_check_decided_or_explained(result)


def _redteam() -> list[dict[str, Any]]:
    path = REPO / "tests" / "data" / "redteam_regressions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_red_team_regressions_with_checks(checked: Any) -> None:
    """Every red-team input as a response (with its prompt), in one batch: all answered."""
    cases = _redteam()
    batch = [
        sample(f"rt-{n}", c["input"], prompt=c.get("prompt") or "How do I return a tent?")
        for n, c in enumerate(cases)
    ]
    answer, result = run_event(checked, batch, Deadline.in_seconds(120))
    _answers_every_sample(batch, answer)
    _every_check_decided_or_explained(result)
    assert sum(bool(r.dimensions) for r in result.results) > 0  # checks ran on the passed ones


HOSTILE = {
    "run": "a" * 20_000,
    "near_pii_run": "4242 " * 4_000,
    "deep_json": "[" * 20_000 + "]" * 20_000,
    "deep_fenced_json": "```json\n" + '{"a":' * 5_000 + "1" + "}" * 5_000 + "\n```",
    "surrogates": "fine \ud83d answer \udc00 " * 500,
    "re_bomb": "a" * 19_999 + "!",
    "numbers": "1," * 9_999 + "1",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_check_is_bounded_on_hostile_text(checked: Any, name: str) -> None:
    """A 20,000-character response: every check decides or explains, well under a second."""
    raw = sample(name, HOSTILE[name], reference_answer="4242")
    item = parse_sample(0, raw).item  # what the pipeline hands the checks
    assert item is not None
    for check in checked.checks.checks:
        started = time.perf_counter()
        result = checked.checks.run(item, raw)[check.name]
        took = time.perf_counter() - started
        assert took < 1.5, (check.name, took)
        assert (result.score is None) == (result.unscored is not None), check.name


def test_guard_floor_and_short_circuit_keep_their_order(checked: Any) -> None:
    """The guard floors first (no check runs); a gated check then short-circuits the judges."""
    batch = [sample("empty", " "), sample("pii", "Your card 4242 4242 4242 4242 is on file.")]
    answer, result = run_event(checked, batch, Deadline.never())
    assert result.results[0].guarded is not None and result.results[0].dimensions == []
    assert result.results[1].short_circuited and result.results[1].gate in ("no_pii", "policy")
    assert [a["aggregate_reward_score"] for a in answer] == [-1.0, -1.0]
