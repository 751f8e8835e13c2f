"""The deployed role may apply the configured guardrail and nothing else.

The template passes cfn-lint with the guardrail ARNs ``judge deploy`` would pass; a deploy to
moto's server (a real local AWS API) gives the role ``bedrock:ApplyGuardrail`` on exactly that
ARN, and a deploy without a guardrail check gives it no ApplyGuardrail at all.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from judge.checks.guardrail import GuardrailSpec
from judge.deploy.iam import called_guardrails, guardrail_arns, invoke_model_arns
from judge.deploy.stack import StackSettings, deploy
from judge.server.process import free_port
from tests.conftest import REPO

TEMPLATE = REPO / "deploy" / "template.yaml"
ACCOUNT = "123456789012"  # moto's account
MODEL = "amazon.nova-lite-v1:0"


def _spec(gid: str, **extra: Any) -> GuardrailSpec:
    table = {"kind": "guardrail", "guardrail_id": gid, "guardrail_version": "1", **extra}
    return GuardrailSpec.model_validate(table, strict=True)


def test_guardrail_arns_are_exact() -> None:
    arn = "arn:aws:bedrock:eu-west-1:111122223333:guardrail/abc123"
    pairs = [("gr1", None), ("gr2", "us-west-2"), (arn, None), ("gr1", None)]
    assert guardrail_arns(pairs, "us-east-1", "111122223333") == [
        "arn:aws:bedrock:us-east-1:111122223333:guardrail/gr1",
        "arn:aws:bedrock:us-west-2:111122223333:guardrail/gr2",
        arn,
    ]
    assert guardrail_arns([], "us-east-1", "111122223333") == []


def test_called_guardrails_reads_guardrail_checks_only() -> None:
    class Other:
        guardrail_id = "not-a-guardrail-check"

    specs = {"pii": _spec("gr1"), "eu": _spec("gr2", region="eu-west-1"), "len": Other()}
    assert called_guardrails(specs) == [("gr1", None), ("gr2", "eu-west-1")]


def _cfn_lint(tmp_path: Path, guardrails: list[str]) -> subprocess.CompletedProcess[str]:
    params = [
        {"ParameterKey": "GuardrailArns", "ParameterValue": guardrails},
        {
            "ParameterKey": "JudgeModelArns",
            "ParameterValue": invoke_model_arns(MODEL, "us-east-1", ACCOUNT),
        },
        {"ParameterKey": "CodeBucket", "ParameterValue": "rlaif-judge-code"},
        {"ParameterKey": "CodeKey", "ParameterValue": "rlaif-judge/v.zip"},
    ]
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            str(TEMPLATE),
            "--parameter-files",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _template() -> Any:
    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        return {suffix: loader.construct_sequence(node, deep=True)}  # type: ignore[arg-type]

    Loader.add_multi_constructor("!", tagged)
    return yaml.load(TEMPLATE.read_text(), Loader=Loader)


def test_template_grants_apply_guardrail_on_the_parameter_only(tmp_path: Path) -> None:
    arns = guardrail_arns([("gr1abc", None)], "us-east-1", ACCOUNT)
    done = _cfn_lint(tmp_path, arns)
    assert done.returncode == 0, done.stdout + done.stderr
    resources = _template()["Resources"]
    granted = [
        (name, statement)
        for name, res in resources.items()
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::Role")
        for doc in (
            [res["Properties"]["PolicyDocument"]]
            if "PolicyDocument" in res["Properties"]
            else [p["PolicyDocument"] for p in res["Properties"].get("Policies", [])]
        )
        for statement in doc["Statement"]
        if "bedrock:ApplyGuardrail" in json.dumps(statement["Action"])
    ]
    assert granted == [
        (
            "GuardrailPolicy",
            {
                "Sid": "ApplyConfiguredGuardrails",
                "Effect": "Allow",
                "Action": "bedrock:ApplyGuardrail",
                "Resource": {"Ref": "GuardrailArns"},
            },
        )
    ]
    assert resources["GuardrailPolicy"]["Condition"] == "HasGuardrails"


@pytest.fixture
def local_aws(monkeypatch: pytest.MonkeyPatch, aws_env: Path) -> Iterator[str]:
    """moto's server on 127.0.0.1; boto3 reaches it by AWS_ENDPOINT_URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    request = urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.stop()


def _role_policies(function_arn: str) -> dict[str, Any]:
    conf = boto3.client("lambda").get_function_configuration(FunctionName=function_arn)
    role = conf["Role"].rsplit("/", 1)[1]
    iam = boto3.client("iam")
    out = {}
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(doc, str):  # moto keeps a CloudFormation-made policy as the dict's repr
            doc = ast.literal_eval(urllib.parse.unquote(doc))
        out[name] = doc
    return out


def test_deploy_grants_exactly_the_configured_guardrail(local_aws: str, tmp_path: Path) -> None:
    code = tmp_path / "judge.zip"
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("judge/lambda_handler.py", "def handler(event, context):\n    return []\n")
    specs = {"no_pii": _spec("gr1abc"), "eu": _spec("gr2abc", region="eu-west-1")}
    with_rail = deploy(
        code,
        "v1",
        MODEL,
        StackSettings(stack="rails", function_name="rails", region="us-east-1"),
        guardrails=called_guardrails(specs),
        poll_s=1,
    )
    expected = [
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/gr1abc",
        f"arn:aws:bedrock:eu-west-1:{ACCOUNT}:guardrail/gr2abc",
    ]
    assert with_rail.guardrail_arns == expected
    policies = _role_policies(with_rail.function_arn)
    statements = [s for doc in policies.values() for s in doc["Statement"]]
    applies = [s for s in statements if "bedrock:ApplyGuardrail" in json.dumps(s["Action"])]
    assert len(applies) == 1 and applies[0]["Resource"] == expected

    without = deploy(
        code,
        "v1",
        MODEL,
        StackSettings(stack="plain", function_name="plain", region="us-east-1"),
        poll_s=1,
    )
    assert without.guardrail_arns == []
    plain = _role_policies(without.function_arn)
    assert "ApplyGuardrail" not in json.dumps(plain) and "invoke-judge-models" in plain
