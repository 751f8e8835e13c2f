from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, ServeFn, project_copy

BATCH = REPO / "examples" / "batch.jsonl"


def test_lint_passes_on_repo() -> None:
    result = CliRunner().invoke(main, ["lint", "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 0, result.output
    assert "rubric" in result.output and "templates" in result.output


def test_lint_reports_every_broken_file(tmp_path: Path) -> None:
    project_copy(tmp_path)
    tone = tmp_path / "rubrics" / "tone.md"
    tone.write_text(tone.read_text().replace("### 3 - Neutral", "### Neutral"))
    (tmp_path / "rubrics" / "extra.md").write_text("no front matter\n")
    result = CliRunner().invoke(main, ["lint", "--config", str(tmp_path / "reward.toml")])
    assert result.exit_code == 1
    assert "tone.md:" in result.output and "[## Scale]" in result.output
    assert "extra.md:1 [front matter]" in result.output


def test_render_prints_the_exact_request() -> None:
    result = CliRunner().invoke(
        main,
        [
            "render",
            "--rubric",
            "tone",
            "--sample",
            str(BATCH),
            "--index",
            "5",
            "--config",
            str(REPO / "reward.toml"),
        ],
    )
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)  # stdout is the request alone; notes go to stderr
    assert request["modelId"] == "us.amazon.nova-pro-v1:0"
    assert request["toolConfig"]["toolChoice"] == {"tool": {"name": "submit_verdict"}}
    user = request["messages"][0]["content"][0]["text"]
    key = user.split("Boundary key: ", 1)[1][:16]
    assert user.count(f"</response-{key}>") == 1
    assert "</response>" not in user and "[tag removed]" in user  # the forged tag is gone


def test_score_writes_answer_and_details(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge())
    bad_batch = tmp_path / "batch.jsonl"
    bad_batch.write_text(BATCH.read_text() + "{not json\n")
    out, details = tmp_path / "answer.json", tmp_path / "details.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "score",
            str(bad_batch),
            "--out",
            str(out),
            "--details",
            str(details),
            "--concurrency",
            "2",
            "--config",
            str(REPO / "reward.toml"),
        ],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(out.read_text())
    assert [a["id"] for a in answer] == [
        "s1-polite",
        "s1-neutral",
        "s1-rude",
        "s2-blocks",
        "s3-degenerate",
        "s4-injection",
        None,
    ]
    lines = [json.loads(x) for x in details.read_text().splitlines()]
    assert lines[4]["guarded"].startswith("opener:")
    assert lines[6]["malformed"]
    assert "batch.jsonl:7: not JSON" in result.output
    assert "judge calls" in result.output
    assert answer[0]["aggregate_reward_score"] > answer[2]["aggregate_reward_score"]


def test_score_reports_config_errors_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "reward.toml"
    bad.write_text("[rubrics]\ntone = { wieght = 1 }\n")
    result = CliRunner().invoke(main, ["score", str(BATCH), "--config", str(bad)])
    assert result.exit_code == 2
    assert "rubrics.tone.wieght" in result.output


def test_score_summary_counts_unscored_reasons(serve: ServeFn) -> None:
    from judge.server.scripted import Faults

    serve(ScriptedJudge(faults=Faults(validation=1.0)))
    result = CliRunner().invoke(main, ["score", str(BATCH), "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 4, result.output  # no judgement succeeded
    assert "judge_error: ValidationException x15" in result.output
    assert "no judgement succeeded (15 of 15 unscored" in result.output


def test_score_max_unscored_gate(serve: ServeFn) -> None:
    from judge.server.scripted import Faults

    serve(ScriptedJudge(faults=Faults(validation=0.5), seed=3))
    args = ["score", str(BATCH), "--config", str(REPO / "reward.toml")]
    assert CliRunner().invoke(main, args).exit_code == 0
    gated = CliRunner().invoke(main, [*args, "--max-unscored", "0.1"])
    assert gated.exit_code == 4 and "> --max-unscored 0.1" in gated.output


def test_local_mode_needs_no_credentials(serve: ServeFn, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(ScriptedJudge())
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = CliRunner().invoke(main, ["score", str(BATCH), "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 0, result.output


def test_score_exits_4_when_the_endpoint_refuses(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9"
    )  # discard port: refused
    args = ["score", str(BATCH), "--config", str(REPO / "reward.toml"), "--time-budget", "5"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 4, result.output


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_serve_refuses_a_port_out_of_range(port: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", port])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"Invalid value for '--port': {port} is not in the range 0<=x<=65535" in result.output


def test_serve_on_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use. "
        "Fix: pick another --port (0 takes any free one) or --host"
    ]


def test_serve_banner_says_no_real_credentials_are_needed() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "judge.cli", "serve", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        stop = threading.Timer(30, proc.terminate)  # a shorter banner must not hang the test
        stop.start()
        try:
            assert proc.stderr is not None
            banner = [proc.stderr.readline(), proc.stderr.readline()]
        finally:
            stop.cancel()
            proc.terminate()
            proc.wait(timeout=10)
    assert banner[0].startswith("serving Converse (scripted) on http://127.0.0.1:")
    assert "export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:" in banner[0]
    assert banner[1].startswith("note no real AWS credentials needed")
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set to anything" in banner[1]


def test_summary_quartiles_lie_between_min_and_max(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one table row a line
    from judge.caller import CallStats
    from judge.cli._tables import print_summary
    from judge.pipeline import BatchResult, SampleResult

    print_summary(BatchResult([SampleResult("a", -1.0), SampleResult("b", 0.0)], CallStats()), [])
    row = next(line for line in capsys.readouterr().out.splitlines() if "p25" in line)
    numbers = [float(v) for v in re.findall(r"[+-]\d+\.\d+", row)]
    _mean, low, q1, median, q3, high = numbers
    assert low <= q1 <= median <= q3 <= high and (low, high) == (-1.0, 0.0)
