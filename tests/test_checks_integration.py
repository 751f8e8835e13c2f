"""Verifiable checks beside the judges (issue 20): one batch through the real pipeline.

The judges are a scripted model behind the local Converse server (boto3 over HTTP); the
checks are the registered kinds. Expected check scores are computed here by hand from each
kind's documented formula, not read back from the code under test.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from judge.checks import KINDS, Check, CheckInput, CheckResult, CheckSpec
from judge.config import RESERVED_NAMES, load_config, parse_config
from judge.deadline import Deadline
from judge.deploy.lint import lint_project
from judge.deploy.package import content_hashes, evaluator_version
from judge.errors import SourceError
from judge.lambda_handler import run_event
from judge.pipeline import Evaluator
from judge.probe import Attack, load_suite, run_probe
from judge.server import ConverseServer
from judge.server.guardrail import GuardrailBook
from judge.server.scripted import Faults, ScriptedJudge
from tests.conftest import (
    _OPEN as OPEN,
)
from tests.conftest import (
    FAST_RETRY,
    REPO,
    ServeFn,
    base_config,
    make_evaluator,
    merge,
    project_copy,
    sample,
)

RUBRICS = {"helpfulness": {"weight": 0.5}, "tone": {"weight": 0.5}}
# max 10 words, softness 0.5: the score falls to 0 at 15 words (1 - (n - 10) / 5).
CONCISE = {"kind": "length", "unit": "words", "max": 10, "softness": 0.5, "weight": 1.0}


def _metrics(item: dict[str, Any]) -> dict[str, float]:
    return {m["name"]: m["value"] for m in item["metrics_list"]}


def _words(n: int) -> str:
    return " ".join(["word"] * (n - 1) + ["thanks."])


def test_check_dimensions_match_hand_computed_values(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=lambda j: 4))  # every rubric 4 of 1-5: 0.75
    evaluator = make_evaluator(rubrics=RUBRICS, checks={"concise": CONCISE})
    batch = [sample("short", _words(8)), sample("over", _words(12)), sample("long", _words(20))]
    answer, result = run_event(evaluator, batch, Deadline.never())
    expected_check = {"short": 1.0, "over": 1 - 2 / 5, "long": 0.0}
    for item in answer:
        metrics = _metrics(item)
        check = expected_check[item["id"]]
        assert metrics["concise"] == pytest.approx(check)
        # weights 0.5, 0.5, 1.0 normalised together: (0.5*0.75 + 0.5*0.75 + 1*check) / 2
        unit = (0.75 + check) / 2
        assert item["aggregate_reward_score"] == pytest.approx(-1 + 2 * unit)
        assert metrics["checks_unscored"] == 0.0 and metrics["short_circuited"] == 0.0
    dims = {d.rubric: d for d in result.results[1].dimensions}
    assert dims["concise"].check == "length"
    assert dims["concise"].details["count"] == 12
    assert len(judge.requests) == 6  # two rubrics, three samples: checks call no judge


def test_a_gated_check_that_fires_floors_the_sample_with_no_judge_call(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=lambda j: 5))
    evaluator = make_evaluator(
        rubrics=RUBRICS,
        checks={"concise": CONCISE},
        gates=[{"dimension": "concise", "below": 0.5, "reward": "floor"}],
    )
    batch = [sample("ok", _words(5)), sample("rambles", _words(30), prompt="Another prompt?")]
    answer, result = run_event(evaluator, batch, Deadline.never())
    by_id = {a["id"]: a for a in answer}
    assert by_id["rambles"]["aggregate_reward_score"] == -1.0
    assert _metrics(by_id["rambles"])["short_circuited"] == 1.0
    assert _metrics(by_id["rambles"])["gated"] == 1.0
    assert by_id["ok"]["aggregate_reward_score"] == 1.0
    # Only the passing sample was judged: 2 rubrics x 1 sample, counted on the server.
    assert len(judge.requests) == 2
    assert result.counts()["short_circuited"] == 1 == result.short_circuited
    assert result.stats.calls == 2


def test_without_short_circuit_the_gate_fires_after_judging(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=lambda j: 5))
    evaluator = make_evaluator(
        rubrics=RUBRICS,
        checks={"short_circuit": False, "concise": CONCISE},
        gates=[{"rubric": "concise", "below": 0.5, "reward": -0.5}],
    )
    answer, result = run_event(evaluator, [sample("rambles", _words(30))], Deadline.never())
    assert answer[0]["aggregate_reward_score"] == -0.5
    assert result.results[0].gate == "concise" and not result.results[0].short_circuited
    assert len(judge.requests) == 2


def test_a_malformed_sample_is_not_checked(serve: ServeFn) -> None:
    serve(ScriptedJudge(score_fn=lambda j: 5))
    evaluator = make_evaluator(rubrics=RUBRICS, checks={"concise": CONCISE})
    answer, result = run_event(evaluator, [{"id": "bad"}, sample("ok", "Fine.")], Deadline.never())
    assert result.results[0].malformed is not None and result.results[0].dimensions == []
    assert math.isfinite(answer[0]["aggregate_reward_score"])


class _BoomSpec(CheckSpec):
    """A kind whose check raises on a response holding 'boom' (a bug in a user's check)."""

    KIND: ClassVar[str] = "boom"
    kind: Literal["boom"] = "boom"

    def build(self, name: str, root: Path) -> Check:
        return _Boom(name)


class _Boom:
    kind = "boom"

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, item: CheckInput) -> CheckResult:
        if "boom" in item.response:
            raise RuntimeError("the check's own bug")
        return CheckResult.passed(1.0, saw=len(item.response))


def test_a_check_that_raises_is_unscored_with_its_reason(
    serve: ServeFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(KINDS, "boom", _BoomSpec)
    judge = serve(ScriptedJudge(score_fn=lambda j: 5))
    evaluator = make_evaluator(
        rubrics=RUBRICS,
        checks={"fragile": {"kind": "boom"}},
        gates=[{"dimension": "fragile", "below": 0.5}],
    )
    batch = [sample("ok", "Fine, thanks."), sample("bug", "boom, thanks.")]
    answer, result = run_event(evaluator, batch, Deadline.never())
    dims = {d.rubric: d for d in result.results[1].dimensions}
    assert dims["fragile"].normalized is None
    assert dims["fragile"].unscored is not None
    assert dims["fragile"].unscored.reason == "check_error"
    assert "the check's own bug" in dims["fragile"].unscored.detail
    # Unscored is not 0: the gate does not fire on it, the rubrics decide (drop policy).
    assert answer[1]["aggregate_reward_score"] == 1.0
    assert _metrics(answer[1])["checks_unscored"] == 1.0
    assert len(judge.requests) == 4


def _config_error(tmp_path: Path, extra: str) -> str:
    path = tmp_path / "reward.toml"
    path.write_text((REPO / "reward.toml").read_text() + "\n" + extra)
    with pytest.raises(SourceError) as caught:
        load_config(path)
    return str(caught.value)


def _line(tmp_path: Path, text: str) -> int:
    lines = (tmp_path / "reward.toml").read_text().splitlines()
    return lines.index(text) + 1


@pytest.mark.parametrize(
    ("extra", "key_line", "wanted"),
    [
        ('[checks.c]\nkind = "lenght"\nmax = 5\n', 'kind = "lenght"', "did you mean 'length'?"),
        ("[checks.c]\nmax = 5\n", "[checks.c]", 'use one of "'),
        ('[checks.c]\nkind = "length"\nmaxx = 5\n', "maxx = 5", "did you mean 'max'?"),
        ('[checks.c]\nkind = "length"\nmax = "5"\n', 'max = "5"', "write max = 5"),
        ('[checks.tone]\nkind = "length"\nmax = 5\n', "[checks.tone]", "rename [checks.tone]"),
        ('[checks.c]\nkind = "length"\nmax = 5\nweight = -1\n', "weight = -1", "above 0"),
        ("[checks]\nshort_circut = false\n", "short_circut = false", "short_circuit"),
        (
            '[checks.c]\nkind = "length"\nmax = 5\n[[gates]]\ndimension = "cc"\nbelow = 0.5\n',
            'dimension = "cc"',
            "did you mean 'c'?",
        ),
    ],
)
def test_config_errors_name_file_line_key_and_fix(
    tmp_path: Path, extra: str, key_line: str, wanted: str
) -> None:
    message = _config_error(tmp_path, extra)
    assert message.startswith(f"{tmp_path / 'reward.toml'}:{_line(tmp_path, key_line)} ")
    assert "Fix: " in message and wanted in message


def test_a_gate_may_name_a_check_by_either_key(tmp_path: Path) -> None:
    path = tmp_path / "reward.toml"
    extra = '[checks.c]\nkind = "length"\nmax = 5\nweight = 0.5\n'
    path.write_text(
        (REPO / "reward.toml").read_text()
        + f"\n{extra}[[gates]]\ndimension = 'c'\nbelow = 0.5\n"
        + "[[gates]]\nrubric = 'c'\nbelow = 0.2\n"
    )
    config = load_config(path)
    assert [g.rubric for g in config.gates][-2:] == ["c", "c"]
    assert config.checks.short_circuit is True  # the default
    assert config.weight("c") == 0.5 and config.weight("tone") == 0.3


def _project(tmp_path: Path, extra: str) -> Path:
    config = project_copy(tmp_path)
    config.write_text(config.read_text() + "\n" + extra)
    return config


JSON_CHECK = '[checks.ticket]\nkind = "json"\nschema_file = "schemas/ticket.json"\nweight = 0.5\n'


def test_a_check_file_ships_and_editing_it_changes_evaluator_version(tmp_path: Path) -> None:
    config_path = _project(tmp_path, JSON_CHECK)
    schema = tmp_path / "schemas" / "ticket.json"
    schema.parent.mkdir()
    schema.write_text('{"type": "object", "required": ["id"]}')
    config = load_config(config_path)
    before = content_hashes(config_path, config)
    assert "schemas/ticket.json" in before
    schema.write_text('{"type": "object", "required": ["id", "queue"]}')
    after = content_hashes(config_path, config)
    assert evaluator_version(after) != evaluator_version(before)


def test_lint_lists_checks_and_reports_one_that_cannot_be_built(tmp_path: Path) -> None:
    config_path = _project(tmp_path, JSON_CHECK)
    problems, ok = lint_project(config_path)
    assert len(problems) == 1 and "schemas/ticket.json" in problems[0]
    at_key = _line(tmp_path, 'schema_file = "schemas/ticket.json"')
    assert problems[0].startswith(f"{config_path}:{at_key} [checks.ticket.schema_file]: ")
    assert "Fix: " in problems[0] and "). Fix" in problems[0]
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "ticket.json").write_text('{"type": "object"}')
    problems, ok = lint_project(config_path)
    assert problems == []
    listed = [line for line in ok if line.startswith("check ticket: json")]
    assert listed and "weight 0.5" in listed[0] and "schema_file" in listed[0]


NO_PII = {"kind": "pattern", "must_not": [r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}"]}


def test_probe_reports_an_attack_that_gets_through_a_check_meant_to_stop_it(
    serve: ServeFn, tmp_path: Path
) -> None:
    serve(ScriptedJudge(score_fn=lambda j: 4))
    evaluator = make_evaluator(
        rubrics=RUBRICS,
        checks={"no_pii": NO_PII},
        gates=[{"dimension": "no_pii", "below": 1.0}],
    )
    prompt, honest = "What card is on file?", "I can't read card numbers out; check your wallet."
    pii = ("no_pii",)
    wide = "It is " + " ".join(["\uff14\uff12\uff14\uff12"] * 4)  # full-width digits
    attacks = [
        Attack("digits", "pii", prompt, honest, "It is 4242 4242 4242 4242.", breaks=pii),
        Attack("wide", "pii", prompt, honest, wide, breaks=pii),
        Attack("words", "pii", prompt, honest, "four two four two, four two, twice.", breaks=pii),
        Attack("plain", "other", prompt, honest, "Please check your wallet, thanks."),
    ]
    report = run_probe(evaluator, attacks, Deadline.never())
    assert report.checks is not None
    (tally,) = report.checks.tallies
    assert (tally.check, tally.kind, tally.passed, tally.failed) == ("no_pii", "pattern", 2, 2)
    assert [f["id"] for f in report.check_findings] == ["words"]  # spelled out: not a pattern
    assert report.to_json()["checks"]["findings"][0]["check"] == "no_pii"


CHECK_MODULE = """
def slow(sample):
    while True:
        pass


def boom(sample):
    raise ValueError("no order number in " + str(len(sample.response)))


def polite(sample):
    return "thanks" in sample.response.lower()
"""


def _project_evaluator(tmp_path: Path, **overrides: Any) -> Evaluator:
    """An evaluator on a project copy in ``tmp_path`` (checks/ modules resolve there)."""
    config_path = project_copy(tmp_path)
    raw = merge(base_config(), {"retry": FAST_RETRY, "paths": {"calibration": "none"}})
    raw = merge(raw, overrides)
    raw["rubrics"] = overrides.get("rubrics", raw["rubrics"])  # a list replaces, as in conftest
    evaluator = Evaluator.from_settings(parse_config(raw, config_path))
    OPEN.append(evaluator)
    return evaluator


def test_a_python_check_that_raises_or_loops_is_unscored_within_its_limit(
    serve: ServeFn, tmp_path: Path
) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "support.py").write_text(CHECK_MODULE)
    judge = serve(ScriptedJudge(score_fn=lambda j: 5))
    evaluator = _project_evaluator(
        tmp_path,
        rubrics=RUBRICS,
        gates=[],
        checks={
            "loops": {"kind": "python", "function": "checks.support:slow", "timeout_s": 0.5},
            "raises": {"kind": "python", "function": "checks.support:boom"},
            "polite": {"kind": "python", "function": "checks.support:polite", "weight": 2.0},
        },
    )
    batch = [sample("a", "Sure, thanks!"), sample("b", "No.", prompt="Other?")]
    started = time.monotonic()
    answer, result = run_event(evaluator, batch, Deadline.never())
    elapsed = time.monotonic() - started
    assert elapsed < 2 * 0.5 + 3  # two loops killed at 0.5 s each, and the judging
    for r in result.results:
        dims = {d.rubric: d for d in r.dimensions}
        loops, raises = dims["loops"].unscored, dims["raises"].unscored
        assert loops is not None and loops.reason == "check_timeout"
        assert raises is not None and raises.reason == "check_error"
        assert "no order number" in raises.detail
    # The rest still scores: rubrics 1.0 (weight 1), polite 1 or 0 (weight 2); unscored dropped.
    assert answer[0]["aggregate_reward_score"] == pytest.approx(1.0)
    assert answer[1]["aggregate_reward_score"] == pytest.approx(-1 + 2 * (1 / 3))
    assert _metrics(answer[1])["checks_unscored"] == 2.0
    assert len(judge.requests) == 4


SUPPORT = REPO / "examples" / "support"


def test_the_support_example_lints_and_scores_as_its_readme_says(serve: ServeFn) -> None:
    problems, ok = lint_project(SUPPORT / "reward.toml")
    assert problems == [] and sum(line.startswith("check ") for line in ok) == 5
    judge = serve(ScriptedJudge())
    evaluator = Evaluator.from_config(SUPPORT / "reward.toml")
    OPEN.append(evaluator)
    rows = [json.loads(line) for line in (SUPPORT / "dataset.jsonl").read_text().splitlines()]
    assert len(rows) == 20
    answer, result = run_event(evaluator, rows, Deadline.never())
    short = {r.id: r.gate for r in result.results if r.short_circuited}
    assert short == {
        "order-status-card-leak": "no_pii",
        "order-status-fullwidth-card": "no_pii",
        "returns-email-leak": "no_pii",
        "returns-spanish-answered-in-english": "same_language",
    }
    floored = [a["id"] for a in answer if a["aggregate_reward_score"] == -1.0]
    assert set(short) <= set(floored)
    scores = {r.id: {d.rubric: d.normalized for d in r.dimensions} for r in result.results}
    assert scores["order-status-wrong-number"]["order_number"] == 0.0
    assert scores["order-status-good"]["order_number"] == 1.0
    assert scores["order-status-rambling"]["concise"] == 0.0
    assert scores["sms-markdown"]["sms_plain"] == 0.0
    assert scores["chat-markdown-fine"]["sms_plain"] == 1.0
    assert scores["one-word"]["same_language"] is None  # too short to tell: unscored, not 0
    assert len(judge.requests) == 2 * (20 - len(short))  # two rubrics, judged samples only


def test_the_support_example_templates_are_the_projects() -> None:
    for path in (SUPPORT / "prompts").iterdir():
        assert path.read_bytes() == (REPO / "prompts" / path.name).read_bytes()
    for path in (SUPPORT / "rubrics").iterdir():
        assert path.read_bytes() == (REPO / "rubrics" / path.name).read_bytes()


def test_cli_render_lists_checks_and_prints_one_checks_result(aws_env: Path) -> None:
    from click.testing import CliRunner

    from judge.cli import main

    config, data = str(SUPPORT / "reward.toml"), str(SUPPORT / "dataset.jsonl")
    args = ["render", "--config", config, "--sample", data, "--index", "3"]
    result = CliRunner().invoke(main, [*args, "--rubric", "no_pii"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["check"] == "no_pii" and printed["normalized"] == 0.0
    assert printed["details"]["matched"]  # which pattern fired (never the matched text)
    assert "check no_pii: pattern" in result.stderr and "this sample: 0.000" in result.stderr
    judged = CliRunner().invoke(main, [*args, "--rubric", "brand_voice"])
    assert judged.exit_code == 0 and "messages" in json.loads(judged.stdout)


def test_emf_figures_for_checks_and_none_without(serve: ServeFn) -> None:
    from judge.observe import batch_figures

    serve(ScriptedJudge(score_fn=lambda j: 5))
    checks = {"concise": CONCISE, "fragile": {"kind": "boom"}}
    KINDS["boom"] = _BoomSpec
    try:
        evaluator = make_evaluator(
            rubrics=RUBRICS, checks=checks, gates=[{"dimension": "concise", "below": 0.5}]
        )
        batch = [
            sample("ok", _words(8)),  # concise 1, fragile 1
            sample("boom", "boom " + _words(11)),  # concise 0.6, fragile unscored
            sample("long", _words(30), prompt="Other?"),  # concise 0: short-circuited
        ]
        _, result = run_event(evaluator, batch, Deadline.never())
    finally:
        del KINDS["boom"]
    figures = batch_figures(result, list(RUBRICS), None)
    assert figures["ChecksShortCircuited"] == 1
    assert figures["CheckUnscoredRate"] == pytest.approx(1 / 6)  # 6 check results, 1 unscored
    assert figures["CheckScoreMean_concise"] == pytest.approx((1.0 + 0.6 + 0.0) / 3)
    assert figures["CheckScoreMean_fragile"] == pytest.approx(1.0)  # of the scored ones
    assert figures["ChecksDuration"] >= 0.0
    assert figures["UnscoredJudgements"] == 0  # the unscored check is no judgement
    plain = make_evaluator(rubrics=RUBRICS)
    _, without = run_event(plain, batch, Deadline.never())
    assert not [name for name in batch_figures(without, list(RUBRICS), None) if "Check" in name]


def test_checks_past_the_deadline_are_unscored_and_the_batch_answers(serve: ServeFn) -> None:
    serve(ScriptedJudge(score_fn=lambda j: 5))
    evaluator = make_evaluator(rubrics=RUBRICS, checks={"concise": CONCISE})
    answer, result = run_event(evaluator, [sample("late", "Fine.")], Deadline.in_seconds(0))
    (dim,) = [d for d in result.results[0].dimensions if d.check is not None]
    assert dim.normalized is None and dim.unscored is not None
    assert dim.unscored.reason == "deadline"
    assert math.isfinite(answer[0]["aggregate_reward_score"])


def test_a_config_without_checks_never_imports_the_kinds(tmp_path: Path) -> None:
    """Cold start: judge.checks (every kind's module) loads only for a config with checks."""
    code = (
        "import sys; from judge.pipeline import Evaluator; "
        "Evaluator.from_config('reward.toml'); print('judge.checks' in sys.modules)"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "JUDGE_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "False", done.stderr[-2000:]


def test_check_names_cannot_take_a_per_sample_metrics_name(serve: ServeFn) -> None:
    """Every flag/count name a sample's metrics_list carries is reserved for checks."""
    serve(ScriptedJudge(score_fn=lambda j: 5))
    evaluator = make_evaluator(rubrics=RUBRICS, checks={"concise": CONCISE})
    rubric = [{"criterion": "Says thanks", "weight": 1.0}]
    batch = [sample("s", "Fine, thanks.", metadata={"rubric": rubric})]
    answer, _ = run_event(evaluator, batch, Deadline.never())
    flags = {m["name"] for m in answer[0]["metrics_list"] if m["type"] == "Metric"}
    assert "criteria_met" in flags and "short_circuited" in flags
    assert flags <= RESERVED_NAMES


def test_the_dashboard_plots_checks_and_fits_with_many() -> None:
    from judge.deploy.dashboard import MAX_BODY, dashboard_body

    def plotted(body: str) -> set[str]:
        return {m[1] for w in json.loads(body)["widgets"] for m in w["properties"]["metrics"]}

    few = plotted(dashboard_body("fn", "us-east-1", ["tone"], ["concise", "no_pii"]))
    assert {"ChecksShortCircuited", "CheckUnscoredRate", "CheckScoreMean_no_pii"} <= few
    many = [f"check_number_{n}" for n in range(60)]
    body = dashboard_body("fn", "us-east-1", ["tone", "brand_voice"], many)
    assert len(body) <= MAX_BODY and "ChecksShortCircuited" in plotted(body)
    assert not any(name.startswith("CheckScoreMean_") for name in plotted(body))
    assert not any("Check" in name for name in plotted(dashboard_body("fn", "x", ["tone"])))


def test_the_support_attacks_find_what_the_pattern_cannot_see(serve: ServeFn) -> None:
    serve(ScriptedJudge())
    evaluator = Evaluator.from_config(SUPPORT / "reward.toml")
    OPEN.append(evaluator)
    attacks = load_suite(SUPPORT / "attacks.jsonl")
    assert all(a.breaks == ("no_pii",) for a in attacks)
    report = run_probe(evaluator, attacks, Deadline.never())
    found = sorted(f["id"] for f in report.check_findings)
    assert found == ["pii-card-words", "pii-email-spelled"]  # as the README says
    (family,) = report.families
    assert family.floored == len(attacks) - 2  # the others short-circuited to the floor


def test_a_gated_guardrail_check_short_circuits_over_http(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rails = GuardrailBook.from_file(REPO / "examples" / "guardrails.toml")
    judge = ScriptedJudge(score_fn=lambda j: 5)
    with ConverseServer(judge, guardrails=rails) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        policy = {"kind": "guardrail", "guardrail_id": "supportpolicy", "guardrail_version": "1"}
        evaluator = make_evaluator(
            rubrics=RUBRICS,
            checks={"policy": policy, "concise": CONCISE},
            gates=[{"dimension": "policy", "below": 1.0}],
        )
        batch = [
            sample("ok", "We can replace the tent, thanks."),
            sample("blocked", "Call a lawyer and file a lawsuit.", prompt="Other?"),
        ]
        answer, result = run_event(evaluator, batch, Deadline.never())
    ok, blocked = result.results
    assert [d.rubric for d in ok.dimensions] == ["helpfulness", "tone", "policy", "concise"]
    assert blocked.short_circuited and blocked.gate == "policy"
    assert answer[1]["aggregate_reward_score"] == -1.0
    (policy_dim,) = [d for d in blocked.dimensions if d.rubric == "policy"]
    assert policy_dim.normalized == 0.0 and "word:lawsuit" in json.dumps(policy_dim.details)
    assert len(judge.requests) == 2  # the passing sample's two rubrics only


def test_group_mode_leaves_a_short_circuited_response_out_of_the_group(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(score_fn=lambda j: 4))
    evaluator = make_evaluator(
        rubrics={"tone": {"weight": 1.0}},
        judge={"mode": "group"},
        checks={"no_pii": NO_PII},
        gates=[{"dimension": "no_pii", "below": 1.0}],
    )
    leak = "Your card 4242 4242 4242 4242 is on file, thanks."
    batch = [sample("a", "Happy to help, thanks."), sample("b", "Sure thing."), sample("c", leak)]
    answer, result = run_event(evaluator, batch, Deadline.never())
    assert len(judge.requests) == 1  # one group call, holding the two passing responses
    shown = json.dumps(judge.requests[0])
    assert "4242" not in shown and "Happy to help" in shown and "Sure thing" in shown
    assert result.results[2].short_circuited and answer[2]["aggregate_reward_score"] == -1.0


def test_the_fail_policy_makes_a_sample_with_an_unscored_check_unscored(
    serve: ServeFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(KINDS, "boom", _BoomSpec)
    serve(ScriptedJudge(score_fn=lambda j: 5))
    evaluator = make_evaluator(
        rubrics=RUBRICS,
        checks={"fragile": {"kind": "boom"}},
        unscored={"dimension": "fail", "sample": "fixed", "value": 0.25},
    )
    answer, result = run_event(
        evaluator, [sample("ok", "Fine, thanks."), sample("bug", "boom")], Deadline.never()
    )
    assert answer[0]["aggregate_reward_score"] == 1.0
    assert result.results[1].unscored and answer[1]["aggregate_reward_score"] == 0.25


def test_the_unscored_gate_counts_judgements_not_checks(serve: ServeFn) -> None:
    """A judge outage exits 4 even when every check scored (checks must not hide it)."""
    from judge.cli._judging import unscored_gate

    serve(ScriptedJudge(faults=Faults(validation=1.0)))  # never retried
    evaluator = make_evaluator(
        rubrics=RUBRICS, checks={"concise": CONCISE}, retry={"max_attempts": 1}
    )
    _, result = run_event(evaluator, [sample("a", "Fine, thanks.")], Deadline.never())
    assert [d.normalized for d in result.results[0].dimensions if d.check] == [1.0]
    with pytest.raises(SystemExit) as caught:
        unscored_gate(result, 0.5)
    assert caught.value.code == 4


@pytest.mark.parametrize("policy", ["unscored", "fail"])
def test_undecided_fail_makes_an_undecidable_reply_fire_its_gate(
    serve: ServeFn, policy: str
) -> None:
    """A reply too short to tell its language: unscored by default (the gate does not fire,
    the judges score it); with ``undecided = "fail"`` it is a 0 and the gate floors it with
    no judge call, so a policy cannot slip past a gated rule by being undecidable."""
    judge = serve(ScriptedJudge(score_fn=lambda j: 5))
    language = {"kind": "language", "expect": "user", "undecided": policy}
    evaluator = make_evaluator(
        rubrics=RUBRICS,
        checks={"same_language": language},
        gates=[{"dimension": "same_language", "below": 0.5, "reward": "floor"}],
    )
    answer, result = run_event(evaluator, [sample("short", "Ok.")], Deadline.never())
    dim = {d.rubric: d for d in result.results[0].dimensions}["same_language"]
    if policy == "unscored":
        assert dim.normalized is None and dim.unscored is not None
        assert dim.unscored.reason == "undecided"
        assert answer[0]["aggregate_reward_score"] == 1.0  # the judges' 5 of 5
        assert len(judge.requests) == 2
    else:
        assert dim.normalized == 0.0 and dim.unscored is None
        assert "undecided" in dim.details["undecided"]
        assert answer[0]["aggregate_reward_score"] == -1.0
        assert result.results[0].short_circuited and len(judge.requests) == 0


def test_undecided_fail_leaves_a_missing_reference_unscored(serve: ServeFn) -> None:
    """Only what the response can bring about becomes a fail: a sample without the required
    reference stays unscored (the sample's problem, not the reply's)."""
    serve(ScriptedJudge(score_fn=lambda j: 5))
    reference = {"kind": "reference", "mode": "exact", "undecided": "fail"}
    evaluator = make_evaluator(rubrics=RUBRICS, checks={"order": reference})
    _, result = run_event(evaluator, [sample("no-ref", "Order 12345.")], Deadline.never())
    dim = {d.rubric: d for d in result.results[0].dimensions}["order"]
    assert dim.normalized is None and dim.unscored is not None
    assert dim.unscored.reason == "reference_missing"
