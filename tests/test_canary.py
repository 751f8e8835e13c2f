"""Canaries: built from anchors and attacks, re-judged on a canary event, drift as EMF.

A real Converse server with a scripted judge whose scoring can be switched mid-run; the
handler is invoked as Lambda invokes it. The alarms' conditions are read from the template
and evaluated over the EMF the handler printed (``tests/alarm_eval.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge import lambda_handler
from judge.canaries import CANARY_FILE, load_canaries
from judge.cli import main
from judge.config import load_config
from judge.contract import samples_of
from judge.deadline import LocalContext
from judge.deploy.package import content_hashes, evaluator_version, monitoring_files
from judge.errors import EventError, SourceError
from judge.server.scripted import Judged, ScriptedJudge, lexicon_score
from tests.alarm_eval import alarm_state, emf_records, template_alarms, value
from tests.conftest import REPO, ServeFn, project_copy, sample


class Switchable:
    """A lexicon judge whose verdicts can be shifted mid-run (a provider update)."""

    def __init__(self) -> None:
        self.bias = 0

    def __call__(self, judged: Judged) -> int:
        lo, hi = judged.scores[0], judged.scores[-1]
        return max(lo, min(hi, lexicon_score(judged) + self.bias))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project copy with the bundled anchors; the handler reads its config."""
    config = project_copy(tmp_path / "project", "calibration/anchors")
    monkeypatch.setenv("JUDGE_CONFIG", str(config))
    lambda_handler.reset()
    yield config
    lambda_handler.reset()


def _build(config: Path, *extra: str) -> list[str]:
    result = CliRunner().invoke(
        main, ["canary", "build", "--config", str(config), "--per-end", "2", *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def _invoke(event: object, capfd: pytest.CaptureFixture[str]) -> tuple[Any, list[str]]:
    capfd.readouterr()
    answer = lambda_handler.handler(event, LocalContext(120))
    return answer, capfd.readouterr().out.splitlines()


def test_build_picks_both_ends_and_floored_attacks(serve: ServeFn, project: Path) -> None:
    judge = serve(ScriptedJudge(score_fn=Switchable()))
    _build(project)
    canaries = load_canaries(project.parent / "calibration" / CANARY_FILE)
    anchors = [c for c in canaries if c.kind == "anchor"]
    attacks = [c for c in canaries if c.kind == "attack"]
    # tone (politeness anchors) and brand_voice (the example's) have anchors; helpfulness none
    assert {c.id.rsplit("-", 2)[0] for c in anchors} == {"tone", "brand_voice"}
    for rubric in ("tone", "brand_voice"):
        top = [c.label for c in anchors if c.id.startswith(f"{rubric}-top")]
        bottom = [c.label for c in anchors if c.id.startswith(f"{rubric}-bottom")]
        assert len(top) == len(bottom) == 2
        assert min(x for x in top if x is not None) > max(x for x in bottom if x is not None)
    assert attacks and all(c.expect == "floored" and c.score == 0.0 for c in attacks)
    assert len({c.id for c in canaries}) == len(canaries)
    # each was judged now, by the server (no verdict cache), with the evaluator's version
    assert len(judge.requests) > len(anchors)
    version = evaluator_version(content_hashes(project, load_config(project)))
    assert {c.built["evaluator_version"] for c in canaries if c.built} == {version}
    assert {c.built["endpoint"] for c in canaries if c.built} == {"custom"}


def test_the_canary_file_ships_outside_evaluator_version(serve: ServeFn, project: Path) -> None:
    serve(ScriptedJudge(score_fn=Switchable()))
    config = load_config(project)
    before = evaluator_version(content_hashes(project, config))
    assert monitoring_files(config) == {}
    _build(project)
    shipped = monitoring_files(config)
    assert list(shipped) == [f"calibration/{CANARY_FILE}"]
    assert f"calibration/{CANARY_FILE}" not in content_hashes(project, config)
    assert evaluator_version(content_hashes(project, config)) == before


def test_a_judge_that_changes_mid_run_raises_drift_past_the_alarm(
    serve: ServeFn, project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    scoring = Switchable()
    judge = serve(ScriptedJudge(score_fn=scoring))
    _build(project)
    canaries = load_canaries(project.parent / "calibration" / CANARY_FILE)
    alarms = template_alarms(function="local", canary_minutes=60)

    answer, out = _invoke({"judge_canary": True}, capfd)
    assert answer["canaries"] == len(canaries) and answer["CanaryUnscored"] == 0
    assert answer["CanaryDriftMax"] == 0.0  # the same judge: no drift
    calm = emf_records(out)
    assert [value(r, "Canaries") for r in calm] == [len(canaries)]

    calls = len(judge.requests)
    scoring.bias = -2  # the provider's update: a harsher judge
    answer, out = _invoke({"judge_canary": True}, capfd)
    assert len(judge.requests) - calls >= answer["canaries"] - len(
        [c for c in canaries if c.kind == "attack"]
    )  # judged again, not answered from a cache
    moved = emf_records(out)
    [record] = moved
    anchors = [c for c in canaries if c.kind == "anchor"]
    assert value(record, "CanaryDriftMax") > 0 and value(record, "CanaryDriftMean") > 0
    for c in anchors:  # each canary's own drift, from the score it had at build
        assert value(record, f"CanaryDrift_{c.id}") == pytest.approx(answer["drift"][c.id])
    for c in canaries:
        if c.kind == "attack":  # floored by the guard or the judge: stays floored
            assert answer["drift"][c.id] == 0.0

    print("drift after the change:", {k: answer[k] for k in ("CanaryDriftMean", "CanaryDriftMax")})
    calm_at, moved_at = calm[0]["_aws"]["Timestamp"], moved[0]["_aws"]["Timestamp"]
    for name in ("CanaryDriftMeanAlarm", "CanaryDriftMaxAlarm"):
        assert alarm_state(alarms[name], calm, at_ms=calm_at) == "OK", name
        assert alarm_state(alarms[name], moved, at_ms=moved_at) == "ALARM", name
    # the judge still answered every canary, and the runs keep coming
    for name in ("CanaryUnscoredAlarm", "CanariesMissingAlarm"):
        assert alarm_state(alarms[name], calm + moved, at_ms=moved_at) == "OK", name


def test_canary_figures_stay_out_of_training_batches(
    serve: ServeFn, project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    serve(ScriptedJudge(score_fn=Switchable()))
    _build(project)
    _, out = _invoke({"judge_canary": True}, capfd)
    [canary] = emf_records(out)
    directive = canary["_aws"]["CloudWatchMetrics"][0]
    names = {m["Name"] for m in directive["Metrics"]}
    assert "CanaryDriftMax" in names
    assert not names & {"BatchDuration", "JudgeLatencyMean", "JudgeCostUSD", "JudgeCalls"}
    answer, out = _invoke([sample("a", "Happy to help, thanks!")], capfd)
    [batch] = emf_records(out)
    assert value(batch, "BatchSize") == 1 and not any(k.startswith("Canar") for k in batch)
    assert answer[0]["id"] == "a"


def test_no_canary_set_is_reported_not_an_error(
    serve: ServeFn, project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    serve(ScriptedJudge(score_fn=Switchable()))
    answer, out = _invoke({"judge_canary": True}, capfd)
    assert answer["canaries"] == 0 and "canaries.jsonl" in answer["problem"]
    [record] = emf_records(out)
    assert value(record, "Canaries") == 0
    alarm = template_alarms(function="local", canary_minutes=60)["CanariesMissingAlarm"]
    assert alarm_state(alarm, [record], at_ms=record["_aws"]["Timestamp"]) == "ALARM"


@pytest.mark.parametrize(
    "event",
    [
        [{"judge_canary": True}],
        {"judge_canary": True, "trajectories": []},
        {"judge_canary": True, "messages": [], "id": "x"},
        {"judge_canary": "true"},
        {"judge_canary": 1},
        {"trajectories": [sample("a", "hi")]},
    ],
)
def test_no_rft_batch_is_a_canary_event(event: object) -> None:
    assert not lambda_handler.is_canary_event(event)


def test_the_canary_event_is_not_a_batch() -> None:
    assert lambda_handler.is_canary_event({"judge_canary": True})
    with pytest.raises(EventError, match="not a batch"):
        samples_of({"judge_canary": True})


def test_a_training_invocation_never_imports_the_canary_code() -> None:
    script = (
        "import sys, judge.lambda_handler\n"
        "assert 'judge.canaries' not in sys.modules, 'imported at init'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    source = (REPO / "judge" / "lambda_handler.py").read_text()
    assert "from judge.canaries import" in source.split("def handler", 1)[1]


@pytest.mark.parametrize(
    "row",
    [
        {"id": "x"},
        {"id": "x", "kind": "anchor", "expect": "top", "sample": {}, "score": float("nan")},
        {"id": 'x" ]}\n{', "kind": "anchor", "expect": "top", "sample": {}, "score": 0.5},
    ],
)
def test_a_broken_canary_file_is_one_line(tmp_path: Path, row: dict[str, Any]) -> None:
    path = tmp_path / CANARY_FILE
    good = {"id": "ok", "kind": "anchor", "expect": "top", "sample": {}, "score": 0.5}
    path.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(SourceError, match=r"canaries\.jsonl:2: not a canary"):
        load_canaries(path)
    path.write_text(json.dumps(good) + "\n")
    assert [c.id for c in load_canaries(path)] == ["ok"]


def test_a_set_built_for_another_judge_is_reported_stale(
    serve: ServeFn, project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    serve(ScriptedJudge(score_fn=Switchable()))
    _build(project)
    answer, _ = _invoke({"judge_canary": True}, capfd)
    assert answer["stale"] == []
    path = project.parent / "calibration" / CANARY_FILE
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        row["built"] |= {"endpoint": "aws", "model_ids": ["another.model-v1:0"]}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    answer, _ = _invoke({"judge_canary": True}, capfd)
    [endpoint, model] = answer["stale"]
    assert "aws endpoint, this is custom" in endpoint and "another.model-v1:0" in model


RUNNER = """
import json, sys
sys.path.insert(0, sys.argv[1])
import judge.lambda_handler as h
from judge.deadline import LocalContext
print("RESULT " + json.dumps(h.handler({"judge_canary": True}, LocalContext(60))))
"""


def test_the_zip_runs_its_canaries_for_its_own_version(
    serve: ServeFn, project: Path, tmp_path: Path
) -> None:
    """Built, packaged, unpacked and invoked as Lambda would: the set is the zip's own."""
    import platform
    import zipfile

    from judge.deploy.package import build_package

    serve(ScriptedJudge(score_fn=Switchable()))
    _build(project)
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    info = build_package(tmp_path / "judge.zip", project, python_version=py, arch=arch)
    task = tmp_path / "task"
    with zipfile.ZipFile(info.path) as zf:
        assert f"calibration/{CANARY_FILE}" in zf.namelist()
        assert f"calibration/{CANARY_FILE}" not in info.manifest["files"]  # type: ignore[operator]
        zf.extractall(task)
    (tmp_path / "run.py").write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "JUDGE_CACHE"))}
    env.update(
        LAMBDA_TASK_ROOT=str(task),
        AWS_LAMBDA_FUNCTION_NAME="judge-test",
        JUDGE_CONFIG=str(task / "reward.toml"),
        PATH="/usr/bin:/bin",
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(tmp_path / "run.py"), str(task)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    answer = json.loads(line.removeprefix("RESULT "))
    canaries = load_canaries(project.parent / "calibration" / CANARY_FILE)
    assert answer["canaries"] == len(canaries) and answer["CanaryDriftMax"] == 0.0
    # the set was built for exactly the version the zip runs (its own file not hashed in)
    assert answer["stale"] == []
    assert {c.built["evaluator_version"] for c in canaries if c.built} == {info.evaluator_version}
    [record] = emf_records(done.stdout.splitlines())
    assert record["function"] == "judge-test" and value(record, "CanaryUnscored") == 0


def test_an_attack_the_judge_floors_is_preferred_to_one_the_guard_floors(serve: ServeFn) -> None:
    from judge.canary import build_canaries
    from judge.probe import Attack
    from tests.conftest import make_evaluator

    serve(ScriptedJudge(score_fn=lambda j: 1))  # every judged answer: brand_voice's gate floors
    prompt, honest = "Can I return my tent?", "Yes, within 60 days with the receipt."
    attacks = [
        Attack("f-001", "f", prompt, honest, " "),  # the guard floors it, no judge call
        Attack("f-002", "f", prompt, honest, "Sure, whatever, figure it out."),
        Attack("g-001", "g", prompt, honest, "   "),  # only guard-floored candidates
    ]
    built = build_canaries(make_evaluator(), [], attacks=attacks)
    picks = {c.id: c.source for c in built.canaries}
    assert picks == {"attack-f": "attacks#f-002", "attack-g": "attacks#g-001"}


def test_judge_invoke_runs_the_canaries_locally(
    serve: ServeFn, project: Path, tmp_path: Path
) -> None:
    serve(ScriptedJudge(score_fn=Switchable()))
    _build(project)
    event = tmp_path / "canary.json"
    event.write_text('{"judge_canary": true}')
    result = CliRunner().invoke(main, ["invoke", str(event), "--config", str(project)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["CanaryDriftMax"] == 0.0 and answer["canaries"] > 0
