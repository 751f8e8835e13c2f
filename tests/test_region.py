"""One region for every AWS command: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's.

botocore itself reads only AWS_DEFAULT_REGION and the profile: these tests set AWS_REGION
alone and check that each command goes there (a real moto server names the region a call
reached in its answer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.bedrock import make_client
from judge.cli import main
from judge.config import JudgeSettings
from judge.errors import JudgeError
from judge.region import arn_region, resolve_region
from judge.server.process import free_port
from tests.conftest import REPO


@pytest.fixture
def no_region(aws_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No region anywhere (no env var, an AWS config file without one); returns that file."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    config = tmp_path / "aws-config"
    config.write_text("[default]\noutput = json\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def test_the_order_is_flag_aws_region_default_region_profile(
    no_region: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_region.write_text("[default]\nregion = ap-south-1\n[profile other]\nregion = sa-east-1\n")
    assert resolve_region() == "ap-south-1"
    assert resolve_region(profile="other") == "sa-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    assert resolve_region() == "eu-north-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert resolve_region() == "eu-west-3"
    assert resolve_region("ca-central-1") == "ca-central-1"


def test_no_region_is_a_clear_error_unless_there_is_a_default(no_region: Path) -> None:
    with pytest.raises(JudgeError) as caught:
        resolve_region()
    assert "pass --region, export AWS_REGION" in str(caught.value)
    assert resolve_region(default="us-east-1") == "us-east-1"


def test_a_missing_profile_is_one_line(no_region: Path) -> None:
    with pytest.raises(JudgeError, match="nope"):
        resolve_region(profile="nope")


def test_arn_region() -> None:
    assert arn_region("arn:aws:lambda:eu-west-3:123456789012:function:f") == "eu-west-3"
    assert arn_region("arn:aws-us-gov:lambda:us-gov-west-1:1:function:f") == "us-gov-west-1"
    assert arn_region("reward-fn") is None


def test_the_judge_client_follows_aws_region(
    no_region: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Bedrock client (`judge score`, batch verdict keys) resolves its region the same way."""
    settings = JudgeSettings()
    assert make_client(settings, 1).meta.region_name == "us-east-1"  # local mode's default
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert make_client(settings, 1).meta.region_name == "eu-west-3"
    assert make_client(JudgeSettings(region="eu-central-1"), 1).meta.region_name == "eu-central-1"


@pytest.fixture
def moto_url(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.stop()


def test_invoke_function_goes_to_aws_region(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's Lambda answers a missing function with its ARN, region included."""
    batch = str(REPO / "examples" / "batch.jsonl")
    runner = CliRunner()
    nowhere = runner.invoke(main, ["invoke", batch, "--function", "reward-fn"])
    assert nowhere.exit_code == 2 and "no AWS region is configured" in nowhere.output
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    reached = runner.invoke(main, ["invoke", batch, "--function", "reward-fn"])
    assert "arn:aws:lambda:eu-west-3:123456789012:function:reward-fn" in reached.output
    flag = runner.invoke(
        main, ["invoke", batch, "--function", "reward-fn", "--region", "sa-east-1"]
    )
    assert "arn:aws:lambda:sa-east-1:" in flag.output
    arn = "arn:aws:lambda:ap-south-1:123456789012:function:reward-fn"
    assert (
        f"Function not found: {arn}"
        in runner.invoke(main, ["invoke", batch, "--function", arn]).output
    )


def test_batch_role_policy_follows_aws_region(
    no_region: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["batch", "role-policy", "--bucket", "s3://my-bucket/judge", "--account", "123456789012"]
    args += ["--config", str(REPO / "reward.toml")]
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    trust = json.loads(result.stdout)["trust_policy"]
    arn = trust["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert arn == "arn:aws:bedrock:eu-west-3:123456789012:model-invocation-job/*"
