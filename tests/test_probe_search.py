"""``judge probe --search`` through the real local Converse server and the gullible judge.

The gullible scripted judge (``gullible_score``) tops any request where text escapes the
response block and any short answer made only of meta words; everything else gets what an
honest answer gets. A search that finds nothing against the stock defences must find plenty
once they are switched off (the negative control), or it proves nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.probe.mutate import TRANSFORMS, crossover, load_vocabulary, mutate
from judge.probe.search import SearchSettings, run_search
from judge.server.scripted import ScriptedJudge, gullible_score
from tests.conftest import ServeFn, make_evaluator, project_copy

SUBSTANCE = "us.amazon.nova-micro-v1:0"
DEFENCES_OFF: dict[str, Any] = {"spotlight": "off"}
SMALL = SearchSettings(generations=3, population=6, prompts=2, budget_calls=400)


def _gullible(serve: ServeFn) -> ScriptedJudge:
    return serve(ScriptedJudge(score_fn=gullible_score))


@pytest.mark.parametrize("mode", ["pointwise", "group"])
def test_negative_control_finds_winners_without_the_defences(serve: ServeFn, mode: str) -> None:
    """Spotlighting off, guard off: the default-budget search beats the honest answer."""
    _gullible(serve)
    evaluator = make_evaluator(judge={**DEFENCES_OFF, "mode": mode}, guard={"enabled": False})
    report = run_search(evaluator)
    assert len(report.winners) >= 5, report.stopped
    assert report.calls <= SearchSettings().budget_calls
    for winner in report.winners:
        assert winner["reward"] > winner["honest_reward"]
        assert winner["through"].startswith(("guard (off", "spotlight (off")), winner
    # every winner is a distinct candidate
    texts = [(w["prompt_id"], w["response"]) for w in report.winners]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("mode", ["pointwise", "group"])
def test_stock_defences_hold_within_the_default_budget(serve: ServeFn, mode: str) -> None:
    """Spotlighting, the rule guard and the substance check: nothing beats honest."""
    _gullible(serve)
    evaluator = make_evaluator(judge={"mode": mode}, guard={"substance_model": SUBSTANCE})
    report = run_search(evaluator)
    assert report.candidates >= 150  # the budget was spent searching, not refused
    assert report.winners == [], report.winners[:5]


def test_a_template_without_spotlighting_is_escaped(serve: ServeFn, tmp_path: Path) -> None:
    """The spotlight's own negative control: user.j2 shows the response raw, every guard on.

    Only escapes can win here (the substance check floors lone meta words), and the report
    blames the spotlighting.
    """
    _gullible(serve)
    config = project_copy(tmp_path)
    path = tmp_path / "prompts" / "user.j2"
    shown = '{{ response | spotlight("resp") }}'
    assert shown in path.read_text()
    path.write_text(path.read_text().replace(shown, "{{ response }}"))
    toml = config.read_text().replace(
        "[guard]\nenabled = true", f'[guard]\nenabled = true\nsubstance_model = "{SUBSTANCE}"'
    )
    assert toml != config.read_text()
    config.write_text(toml)
    from judge.pipeline import Evaluator

    evaluator = Evaluator.from_config(config)
    try:
        report = run_search(evaluator, SearchSettings(prompts=1))
    finally:
        evaluator.close()
    assert report.winners
    assert all(w["through"].startswith("spotlight (") for w in report.winners), report.winners


def test_without_the_substance_check_lone_meta_words_win(serve: ServeFn) -> None:
    """The rule guard alone never floors an ordinary word: the search finds "Solution"-likes
    and blames the guard (content-free text it passed), not the spotlighting."""
    _gullible(serve)
    report = run_search(make_evaluator())
    assert report.winners
    assert all(w["through"].startswith("guard (content-free") for w in report.winners)
    assert all(len(w["response"].split()) <= 3 for w in report.winners)


def test_the_same_seed_gives_the_same_report(serve: ServeFn) -> None:
    _gullible(serve)
    off = {"judge": DEFENCES_OFF, "guard": {"enabled": False}}
    first = run_search(make_evaluator(**off), SMALL).to_json()
    again = run_search(make_evaluator(**off), SMALL).to_json()  # verdict cache warm now
    assert first == again
    other = run_search(make_evaluator(**off), SearchSettings(**{**vars(SMALL), "seed": 1}))
    assert {w["response"] for w in other.winners} != {w["response"] for w in first["winners"]}


def test_moves_are_seeded() -> None:
    import random

    vocab = load_vocabulary()
    runs = [
        [mutate("The capital is Canberra.", vocab, random.Random(s))[0] for _ in range(3)]
        for s in (7, 7, 8)
    ]
    assert runs[0] == runs[1] != runs[2]
    assert crossover("a b\nc d", "e f\ng h", random.Random(3)) == crossover(
        "a b\nc d", "e f\ng h", random.Random(3)
    )
    assert all(f("Answer 42", random.Random(0)) != "Answer 42" for f in TRANSFORMS.values())


def test_the_calls_budget_is_never_exceeded(serve: ServeFn) -> None:
    judge = _gullible(serve)
    for mode in ("pointwise", "group"):
        before = len(judge.requests)
        settings = SearchSettings(generations=50, population=8, prompts=2, budget_calls=90)
        report = run_search(make_evaluator(judge={"mode": mode}), settings)
        made = len(judge.requests) - before
        assert 0 < made <= report.calls <= 90, (mode, made, report.calls)
        assert "calls" in report.stopped, report.stopped
        assert len(report.generations) < 50


def test_a_dollar_budget_stops_the_search(serve: ServeFn) -> None:
    """A local endpoint is free unless [pricing] names its model; priced, the budget binds."""
    judge = _gullible(serve)
    settings = SearchSettings(seed=5, generations=50, population=8, prompts=2, budget_usd=0.1)
    free = run_search(make_evaluator(), SearchSettings(generations=2, population=4, prompts=1))
    assert free.cost_usd == 0.0
    price = {"input": 0.0008, "output": 0.0032}
    evaluator = make_evaluator(pricing={"us.amazon.nova-pro-v1:0": price})
    before = len(judge.requests)
    report = run_search(evaluator, settings)
    assert report.cost_usd is not None and 0 < report.cost_usd <= 0.1
    assert len(report.generations) < 50 and len(judge.requests) > before
    assert "dollar" in report.stopped, report.stopped


def test_cli_search_exit_code_and_output(serve: ServeFn, tmp_path: Path) -> None:
    _gullible(serve)
    config = project_copy(tmp_path)
    text = config.read_text()
    args = ["probe", "--search", "--config", str(config), "--generations", "2"]
    args += ["--population", "6", "--prompts", "2"]
    held = text.replace(
        "[guard]\nenabled = true", f'[guard]\nenabled = true\nsubstance_model = "{SUBSTANCE}"'
    )
    assert held != text
    config.write_text(held)
    runner = CliRunner()
    ok = runner.invoke(main, args, env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    assert "local scripted judge" in ok.stderr
    assert "generation 1" in ok.stderr and "calls" in ok.stderr
    assert "no candidate beat the honest answer in 24 candidates" in ok.stderr
    config.write_text(
        text.replace("[guard]\nenabled = true", "[guard]\nenabled = false").replace(
            "[judge]\n", '[judge]\nspotlight = "off"\n', 1
        )
    )
    gamed = runner.invoke(main, [*args, "--json"], env={"COLUMNS": "200"})
    assert gamed.exit_code == 1, gamed.output
    report = json.loads(gamed.stdout)
    assert report["winners"] and report["settings"]["population"] == 6
    assert "beat the honest answer" in gamed.stderr
    table = runner.invoke(main, args, env={"COLUMNS": "200"})
    assert table.exit_code == 1 and "let through by" in table.stderr
