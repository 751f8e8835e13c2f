"""End to end with a real language model: boto3 -> judge serve (llama.cpp) -> verdicts.

Marked ``e2e``: `.ci/run` installs the 'local' extra and the SmolLM2 GGUF and runs these;
`make test` skips them for speed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.pipeline import Evaluator
from judge.prompt import verdict_tool_spec
from judge.rubric import load_rubrics
from judge.server.llama import default_model_path
from judge.server.process import start_server
from tests.conftest import REPO, make_evaluator, sample

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def llama_url() -> Iterator[str]:
    """`judge serve --backend llama` as users run it: its own process, on 127.0.0.1."""
    proc, url = start_server(["--backend", "llama"], dict(os.environ), timeout_s=120)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_boto3_gets_schema_valid_verdicts(llama_url: str, aws_env: object) -> None:
    rubric = load_rubrics(REPO / "rubrics", ["tone"])["tone"]
    client: Any = boto3.client("bedrock-runtime", endpoint_url=llama_url, region_name="us-east-1")
    for response in ("Thank you so much, happy to help!", "Whatever. Figure it out."):
        out = client.converse(
            modelId="us.amazon.nova-pro-v1:0",
            system=[{"text": "You grade the tone of a response from 1 to 5."}],
            messages=[
                {"role": "user", "content": [{"text": f"<response>\n{response}\n</response>"}]}
            ],
            inferenceConfig={"maxTokens": 200, "temperature": 0.0},
            toolConfig={
                "tools": [{"toolSpec": verdict_tool_spec(rubric)}],
                "toolChoice": {"tool": {"name": "submit_verdict"}},
            },
        )
        assert out["stopReason"] == "tool_use"
        verdict = out["output"]["message"]["content"][0]["toolUse"]["input"]
        assert set(verdict) == {"reasoning", "score"}
        assert verdict["score"] in rubric.scores and isinstance(verdict["reasoning"], str)
        assert out["usage"]["inputTokens"] > 0


def llama_evaluator(url: str, monkeypatch: pytest.MonkeyPatch, **judge: Any) -> Evaluator:
    """An evaluator on the tone rubric against the llama.cpp server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", url)
    # A 135M model on 2 shared cores: allow for a slow read rather than retrying it.
    return make_evaluator(
        rubrics={"tone": {"weight": 1}},
        runtime={"concurrency": 2},
        judge={"read_timeout_s": 300, **judge},
    )


def test_handler_path_scores_with_the_real_model(
    llama_url: str, monkeypatch: pytest.MonkeyPatch, aws_env: object
) -> None:
    evaluator = llama_evaluator(llama_url, monkeypatch)
    answer, batch = run_event(
        evaluator,
        [
            sample("a", "Thanks for asking! You can return it within 30 days."),
            sample("b", "Read the manual."),
        ],
        Deadline.never(),
    )
    assert [a["id"] for a in answer] == ["a", "b"]
    assert all(not r.unscored for r in batch.results), [r.dimensions for r in batch.results]
    assert batch.stats.calls == 2


def test_group_mode_scores_every_response_with_the_real_model(
    llama_url: str, monkeypatch: pytest.MonkeyPatch, aws_env: object
) -> None:
    evaluator = llama_evaluator(llama_url, monkeypatch, mode="group")
    batch = [
        sample("a", "Thanks for asking! You can return it within 30 days."),
        sample("b", "Read the manual."),
        sample("c", "Happy to help: bring it back with the receipt."),
    ]
    answer, result = run_event(evaluator, batch, Deadline.never())
    assert [a["id"] for a in answer] == ["a", "b", "c"]
    assert all(not r.unscored for r in result.results), [r.dimensions for r in result.results]
    if result.stats.calls != 1:
        # A 135M model may write a group verdict past max_tokens (seen on a fresh machine:
        # stopReason=max_tokens). Then the group call is asked once more (parse_retries) and,
        # still unparseable, each response is judged alone: 1 + 1 + 3 calls, none lost.
        assert result.failed_calls == {evaluator.config.judge.model_id: 1}, result.failed_calls
        assert result.stats.calls == 1 + evaluator.config.retry.parse_retries + len(batch)


def _worker(url: str) -> dict[str, Any]:
    """The llama.cpp worker's state, from the server's health check."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        worker: dict[str, Any] = json.loads(answer.read())["worker"]
    return worker


def test_a_llama_worker_killed_mid_generation_is_named_and_restarted(
    llama_url: str, aws_env: object
) -> None:
    """SIGKILL the real worker while it generates: that call gets the named error, the next
    call is answered by a restarted worker, and the server never went away."""
    client: Any = boto3.client(
        "bedrock-runtime",
        endpoint_url=llama_url,
        region_name="us-east-1",
        config=botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=300),
    )
    before = _worker(llama_url)
    messages = [{"role": "user", "content": [{"text": "Write a very long story about a tent."}]}]
    caught: list[botocore.exceptions.ClientError] = []

    def generate() -> None:
        try:
            client.converse(modelId="local", messages=messages, inferenceConfig={"maxTokens": 4000})
        except botocore.exceptions.ClientError as exc:
            caught.append(exc)

    long_call = threading.Thread(target=generate)
    long_call.start()
    deadline = time.monotonic() + 60
    while _worker(llama_url)["calls"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # well inside the generation: 4000 tokens take minutes here
    os.kill(before["pid"], signal.SIGKILL)
    long_call.join(timeout=60)
    assert not long_call.is_alive()
    model = default_model_path().name
    assert [e.response["Error"]["Code"] for e in caught] == ["ModelErrorException"]
    crashes = before["crashes"] + 1
    assert caught[0].response["Error"]["Message"] == (
        f"the local judge crashed: llama.cpp worker killed by signal SIGKILL (model {model}); "
        f"restarting ({crashes} of 3)"
    )
    answer = client.converse(
        modelId="local",
        messages=[{"role": "user", "content": [{"text": "Say hello."}]}],
        inferenceConfig={"maxTokens": 8},
    )
    assert answer["output"]["message"]["content"][0]["text"]
    after = _worker(llama_url)
    assert after["state"] == "ready" and after["crashes"] == crashes
    assert after["pid"] != before["pid"]


def test_stopping_judge_serve_stops_its_llama_worker() -> None:
    """SIGTERM (as the demo stops it) takes the worker down too: no orphaned model."""
    proc, url = start_server(["--backend", "llama"], dict(os.environ), timeout_s=120)
    try:
        pid = _worker(url)["pid"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"the llama.cpp worker {pid} outlived judge serve")
