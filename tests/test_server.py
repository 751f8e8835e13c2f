"""The local Converse server on the wire: boto3 and raw HTTP see what Bedrock would send."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from judge.server import ConverseServer
from judge.server.scripted import Faults, ScriptedJudge
from tests.conftest import ServeFn

MESSAGES: Any = [{"role": "user", "content": [{"text": "<response>\nhello\n</response>"}]}]


def _client(url: str) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )


def test_model_id_with_colon_round_trips(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge(answer="text"))
    client = boto3.client("bedrock-runtime")  # endpoint from AWS_ENDPOINT_URL_BEDROCK_RUNTIME
    out = client.converse(modelId="us.amazon.nova-pro-v1:0", messages=MESSAGES)
    assert out["stopReason"] == "end_turn"
    assert "verdict-" in out["output"]["message"]["content"][0]["text"]
    assert out["usage"]["totalTokens"] > 0
    assert len(judge.requests) == 1


@pytest.mark.parametrize(
    ("faults", "code", "status"),
    [
        (Faults(throttle=1), "ThrottlingException", 429),
        (Faults(not_ready=1), "ModelNotReadyException", 429),
        (Faults(timeout=1), "ModelTimeoutException", 408),
        (Faults(model_error=1), "ModelErrorException", 424),
        (Faults(validation=1), "ValidationException", 400),
        (Faults(access_denied=1), "AccessDeniedException", 403),
    ],
)
def test_error_shapes_parse_as_botocore_errors(
    aws_env: object, faults: Faults, code: str, status: int
) -> None:
    with (
        ConverseServer(ScriptedJudge(faults=faults)) as server,
        pytest.raises(botocore.exceptions.ClientError) as err,
    ):
        _client(server.url).converse(modelId="m", messages=MESSAGES)
    assert err.value.response["Error"]["Code"] == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_request_validation_like_bedrock(aws_env: object) -> None:
    with ConverseServer(ScriptedJudge()) as server:
        client = _client(server.url)
        with pytest.raises(botocore.exceptions.ClientError, match="ValidationException"):
            client.converse(
                modelId="m", messages=[{"role": "assistant", "content": [{"text": "I start"}]}]
            )
        with pytest.raises(botocore.exceptions.ClientError, match="not in tools"):
            client.converse(
                modelId="m",
                messages=MESSAGES,
                toolConfig={
                    "tools": [{"toolSpec": {"name": "a", "inputSchema": {"json": {}}}}],
                    "toolChoice": {"tool": {"name": "b"}},
                },
            )


def test_forced_tool_answer(aws_env: object) -> None:
    with ConverseServer(ScriptedJudge(score_fn=lambda j: 2)) as server:
        out = _client(server.url).converse(
            modelId="m",
            messages=MESSAGES,
            toolConfig={
                "tools": [
                    {
                        "toolSpec": {
                            "name": "submit_verdict",
                            "inputSchema": {
                                "json": {
                                    "type": "object",
                                    "properties": {"score": {"type": "integer", "enum": [1, 2]}},
                                }
                            },
                        }
                    }
                ],
                "toolChoice": {"tool": {"name": "submit_verdict"}},
            },
        )
    block = out["output"]["message"]["content"][0]["toolUse"]
    assert out["stopReason"] == "tool_use"
    assert block["name"] == "submit_verdict" and block["input"]["score"] == 2


def test_raw_error_headers_and_routes() -> None:
    with ConverseServer(ScriptedJudge(faults=Faults(throttle=1))) as server:
        req = urllib.request.Request(
            f"{server.url}/model/m/converse",
            method="POST",
            data=json.dumps({"messages": MESSAGES}).encode(),
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 429
        assert err.value.headers["x-amzn-ErrorType"].startswith("ThrottlingException")
        assert json.loads(err.value.read())["message"]
        err.value.close()
        bad = urllib.request.Request(f"{server.url}/nope", method="POST", data=b"{}")
        with pytest.raises(urllib.error.HTTPError) as err404:
            urllib.request.urlopen(bad, timeout=5)
        assert err404.value.code == 404
        err404.value.close()
