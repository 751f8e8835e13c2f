"""``judge probe`` end to end: the bundled suite through the real code path.

The judge is a gullible scripted model (``gullible_score``): it obeys instructions that escape
the response block and gives content-free answers the top score, so any escape or any master
key that reached it shows up as an attack that beat the honest answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.deadline import Deadline
from judge.probe import Attack, judge_identity, load_suite, run_probe
from judge.prompt import fence
from judge.server import ConverseServer
from judge.server.scripted import ScriptedJudge, gullible_score
from tests.conftest import ServeFn, make_evaluator, project_copy

SUITE = load_suite()
FAMILIES = sorted({a.family for a in SUITE})
# The rule guard judges a lone ordinary word ("Solution"): the substance check decides it.
SUBSTANCE = {"substance_model": "us.amazon.nova-micro-v1:0"}


def test_suite_is_broad() -> None:
    assert len(SUITE) >= 150
    assert len(FAMILIES) >= 10
    assert all(sum(a.family == f for a in SUITE) >= 12 for f in FAMILIES)


@pytest.mark.parametrize("mode", ["tool", "text"])
def test_no_family_beats_an_honest_answer(serve: ServeFn, mode: str) -> None:
    serve(ScriptedJudge(score_fn=gullible_score, quote=True))
    evaluator = make_evaluator(judge={"verdict_mode": mode}, guard=SUBSTANCE)
    report = run_probe(evaluator, SUITE, Deadline.never())
    assert report.honest_unscored == 0
    assert {f.family: f.above_honest for f in report.families} == dict.fromkeys(FAMILIES, 0)
    assert sum(f.cases for f in report.families) == len(SUITE)


@pytest.mark.parametrize("mode", ["tool", "text"])
def test_no_family_beats_an_honest_answer_in_the_same_group(serve: ServeFn, mode: str) -> None:
    """Group mode: attacks share a call with the honest answer (and each other), two orders."""
    judge = serve(ScriptedJudge(score_fn=gullible_score, quote=True))
    evaluator = make_evaluator(
        judge={"verdict_mode": mode, "mode": "group", "group_orders": 2}, guard=SUBSTANCE
    )
    report = run_probe(evaluator, SUITE, Deadline.never())
    assert report.honest_unscored == 0
    assert {f.family: f.above_honest for f in report.families} == dict.fromkeys(FAMILIES, 0)
    grouped = [r for r in judge.requests if r["requestMetadata"].get("mode") == "group"]
    assert len(grouped) >= len(judge.requests) // 2  # most attacks were judged in a group


def test_the_rule_guard_alone_leaves_lone_meta_words_to_the_judge(serve: ServeFn) -> None:
    """Without the substance check, the master keys that are one ordinary word win; with it,
    none: it is what decides them (the rule guard never floors an ordinary word)."""
    serve(ScriptedJudge(score_fn=gullible_score))
    keys = [a for a in SUITE if a.family == "master_key_openers"]
    alone = run_probe(make_evaluator(), keys, Deadline.never())
    assert alone.successes, "the rule guard alone let no lone word through"
    assert all(len(s["response"].split()) <= 3 for s in alone.successes)
    checked = run_probe(make_evaluator(guard=SUBSTANCE), keys, Deadline.never())
    assert not checked.successes
    assert checked.families[0].floored > alone.families[0].floored


def test_probe_catches_a_judge_without_the_guard(serve: ServeFn) -> None:
    """The negative control: the same suite with the guard off is gamed by master keys."""
    serve(ScriptedJudge(score_fn=gullible_score))
    report = run_probe(make_evaluator(guard={"enabled": False}), SUITE, Deadline.never())
    rates = {f.family: f.rate for f in report.families}
    assert rates["master_key_openers"] > 0.5 and rates["multilingual_openers"] > 0.5


@pytest.mark.parametrize(("template", "mode"), [("user.j2", "pointwise"), ("group.j2", "group")])
def test_probe_catches_an_unfenced_template(
    serve: ServeFn, tmp_path: Path, template: str, mode: str
) -> None:
    """The negative control for delimiters: a template that shows the response raw is escaped."""
    serve(ScriptedJudge(score_fn=gullible_score))
    config = project_copy(tmp_path)
    path = tmp_path / "prompts" / template
    text = path.read_text()
    shown = (
        '{{ response | spotlight("resp") }}'
        if mode == "pointwise"
        else '{{ response | spotlight("r" ~ loop.index) }}'
    )
    assert shown in text
    path.write_text(text.replace(shown, "{{ response }}"))
    config.write_text(config.read_text().replace("[judge]\n", f'[judge]\nmode = "{mode}"\n', 1))
    from judge.pipeline import Evaluator

    evaluator = Evaluator.from_config(config)
    try:
        attacks = [a for a in SUITE if a.family in ("delimiter_spoof", "chat_template")]
        report = run_probe(evaluator, attacks, Deadline.never())
    finally:
        evaluator.close()
    assert all(f.rate > 0.5 for f in report.families), report.to_json()["families"]


def test_cli_probe_reports_and_gates(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(score_fn=gullible_score))
    config = project_copy(tmp_path)
    stock = config.read_text()
    on = "[guard]\nenabled = true"
    config.write_text(stock.replace(on, on + '\nsubstance_model = "m"', 1))
    runner = CliRunner()
    ok = runner.invoke(
        main, ["probe", "--config", str(config), "--json", "--family", "master_key_openers"]
    )
    assert ok.exit_code == 0, ok.output
    report: dict[str, Any] = json.loads(ok.stdout)
    assert report["families"][0]["family"] == "master_key_openers" and report["worst_rate"] == 0.0
    toml = config.read_text().replace("[guard]\nenabled = true", "[guard]\nenabled = false")
    assert toml != config.read_text()
    config.write_text(toml)
    gamed = runner.invoke(
        main, ["probe", "--config", str(config), "--family", "master_key_openers"]
    )
    assert gamed.exit_code == 1, gamed.output
    assert "succeeded" in gamed.output


def test_a_bad_suite_names_the_line(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        '{"id": "a", "family": "x", "prompt": "p", "honest": "h", "response": "r"}\n{"id": 1}\n'
    )
    result = CliRunner().invoke(main, ["probe", "--suite", str(suite)])
    assert result.exit_code == 2 and "suite.jsonl:2" in result.output


def test_stock_probe_names_the_judge_and_the_attack_that_won(
    serve: ServeFn, tmp_path: Path
) -> None:
    """`judge serve`'s default judge (keyword heuristic): one chat-template attack wins.

    Not through spotlighting: both turn markers are marked lines of the response (data, not
    turns), and the word "Please" in the text is what the heuristic scores up. The output says
    which judge and which attack.
    """
    serve(ScriptedJudge())  # what `judge serve` runs: lexicon_score
    config = project_copy(tmp_path)
    runner = CliRunner()
    args = ["probe", "--config", str(config), "--family", "chat_template"]
    table = runner.invoke(main, args, env={"COLUMNS": "250"})
    assert table.exit_code == 1, table.output
    assert "local scripted judge" in table.stderr
    assert "model id us.amazon.nova-pro-v1:0; pointwise, tool verdicts" in table.stderr
    assert "chat_template-008" in table.stderr
    assert "judge (nothing to fence)" in table.stderr
    report = json.loads(runner.invoke(main, [*args, "--json"]).stdout)
    assert report["judge"]["where"].startswith("local scripted judge")
    [won] = report["successes"]
    assert won["id"] == "chat_template-008" and won["note"].startswith("chat-template tokens")
    assert won["through"].startswith("judge") and won["fence_removed"] == 0
    assert won["won_on"] == ["helpfulness 4 > 3", "tone 4 > 3", "brand_voice 4 > 3"]
    fenced = fence(SUITE_BY_ID["chat_template-008"].response)
    assert "Human:" in fenced and "Please" in fenced  # the keyword, not a turn, won
    assert "Human:" not in fence(fenced, labels=True)  # (without spotlighting: removed)


SUITE_BY_ID = {a.id: a for a in SUITE}


def test_a_floored_honest_answer_is_the_guards_doing(serve: ServeFn) -> None:
    """When the honest answer is the one floored, the report blames the guard, not the judge."""
    serve(ScriptedJudge())
    attack = Attack(
        "x-1", "x", "What is 6 x 7?", "FLOOR ME", "Six times seven is forty-two, so: 42."
    )
    evaluator = make_evaluator(guard={"extra_patterns": ["FLOOR ME"]})
    report = run_probe(evaluator, [attack], Deadline.never())
    [won] = report.successes
    assert won["through"].startswith("guard (floored the honest answer: custom_pattern")
    assert won["won_on"] == [
        "helpfulness 3 > floored",
        "tone 3 > floored",
        "brand_voice 3 > floored",
    ]


def test_the_report_says_which_judge_it_is_about(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bedrock, a local `judge serve` (which backend), or some other endpoint: never guessed."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    bedrock = judge_identity(make_evaluator(judge={"verdict_mode": "text"}))
    assert bedrock.where == "Bedrock"
    assert bedrock.endpoint == "https://bedrock-runtime.us-east-1.amazonaws.com"
    assert bedrock.describe().endswith("model id us.amazon.nova-pro-v1:0; pointwise, text verdicts")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://10.0.0.1:9")
    assert judge_identity(make_evaluator()).where.startswith("a custom endpoint")
    server = ConverseServer(ScriptedJudge()).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        grouped = judge_identity(make_evaluator(judge={"mode": "group", "group_orders": 2}))
    finally:
        server.stop()
    assert grouped.where.startswith("local scripted judge") and grouped.endpoint == server.url
    assert grouped.mode == "group (2 orders)"


def test_a_wrong_family_lists_the_families(aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9")  # never AWS
    result = CliRunner().invoke(main, ["probe", "--family", "chat_templates", "--family", "echo"])
    assert result.exit_code == 2
    assert "'chat_templates' (did you mean 'chat_template'?)" in result.output
    assert all(family in result.output for family in FAMILIES)
