"""Package, template and deploy: the zip runs isolated, the stack deploys to a local AWS."""

from __future__ import annotations

import ast
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner

from judge.cli import main
from judge.config import load_config
from judge.deploy.iam import invoke_model_arns
from judge.deploy.package import PackageInfo, build_package
from judge.deploy.stack import StackSettings, deploy
from judge.server.process import free_port
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, ServeFn

TEMPLATE = REPO / "deploy" / "template.yaml"
ARCH = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
PY = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> PackageInfo:
    """A zip built for this interpreter, so that this machine can run it like Lambda."""
    out = tmp_path_factory.mktemp("pkg") / "judge.zip"
    return build_package(out, REPO / "reward.toml", python_version=PY, arch=ARCH)


RUNNER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
import boto3
boto3_s = time.perf_counter() - started
import judge.lambda_handler as h
imported = time.perf_counter() - started
class Context:
    def get_remaining_time_in_millis(self):
        return 60000
answer = h.handler(json.load(open(sys.argv[2])), Context())
heavy = sorted(m for m in ("click", "rich", "numpy", "scipy", "matplotlib") if m in sys.modules)
outside = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())
                  if (getattr(m, "__file__", None) or "").find("site-packages") >= 0})
print("RESULT " + json.dumps({"answer": answer, "import_s": imported, "heavy": heavy,
                              "boto3_s": boto3_s,
                              "site_packages": outside, "path": sys.path}))
"""


def test_zip_runs_as_lambda_would(package: PackageInfo, serve: ServeFn, tmp_path: Path) -> None:
    judge = serve(ScriptedJudge(score_fn=lambda j: 4))
    task = tmp_path / "task"
    task.mkdir()
    with zipfile.ZipFile(package.path) as zf:
        zf.extractall(task)
    (tmp_path / "run.py").write_text(RUNNER)
    batch = [
        {
            "id": "a",
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello, glad to help."},
            ],
        },
        {
            "id": "b",
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}],
        },
    ]
    (tmp_path / "event.json").write_text(json.dumps(batch))
    env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "JUDGE_CACHE"))}
    env.update(
        LAMBDA_TASK_ROOT=str(task),
        AWS_LAMBDA_FUNCTION_NAME="judge-test",
        JUDGE_CONFIG=str(task / "reward.toml"),
        PATH="/usr/bin:/bin",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            str(tmp_path / "run.py"),
            str(task),
            str(tmp_path / "event.json"),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    assert result["site_packages"] == []  # nothing came from outside the unpacked zip
    assert result["heavy"] == []  # the Lambda path stays lean
    answer = result["answer"]
    assert [a["id"] for a in answer] == ["a", "b"]
    assert answer[0]["aggregate_reward_score"] == pytest.approx(0.5)  # 4 on 1..5 -> 0.75
    assert answer[1]["aggregate_reward_score"] == -1.0  # empty: guarded floor
    assert all(math.isfinite(a["aggregate_reward_score"]) for a in answer)
    assert len(judge.requests) == 3
    emf = [json.loads(x) for x in done.stdout.splitlines() if '"_aws"' in x]
    assert emf and emf[0]["evaluator_version"] == package.evaluator_version
    assert emf[0]["function"] == "judge-test"  # metrics are per reward function
    print(
        f"cold import from the zip: boto3 {result['boto3_s'] * 1000:.0f} ms, "
        f"boto3 + judge.lambda_handler (with init) {result['import_s'] * 1000:.0f} ms"
    )


def test_package_manifest_and_size(package: PackageInfo, tmp_path: Path) -> None:
    assert package.size < 50 * 2**20
    with zipfile.ZipFile(package.path) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    for required in (
        "judge/lambda_handler.py",
        "reward.toml",
        "rubrics/tone.md",
        "prompts/system.j2",
        "boto3/__init__.py",
        "pydantic_core/__init__.py",
        "aws_lambda_powertools/__init__.py",
    ):
        assert required in names, required
    assert not any(n.startswith(("click/", "rich/", "numpy/")) for n in names)
    assert manifest["evaluator_version"] == package.evaluator_version
    assert (
        manifest["files"]["rubrics/tone.md"]
        == __import__("hashlib").sha256((REPO / "rubrics" / "tone.md").read_bytes()).hexdigest()
    )
    assert (manifest["python_version"], manifest["arch"]) == (PY, ARCH)


def test_evaluator_version_tracks_content(tmp_path: Path) -> None:
    from judge.deploy.package import _project_files

    for sub in ("rubrics", "prompts"):
        shutil.copytree(REPO / sub, tmp_path / sub)
    shutil.copy(REPO / "reward.toml", tmp_path / "reward.toml")
    config = tmp_path / "reward.toml"
    before = set(_project_files(config, load_config(config)))
    assert "rubrics/brand_voice.md" in before and "judge/pipeline.py" in before


def _cfn_yaml(text: str) -> Any:
    """Load a CloudFormation template, keeping intrinsic tags as {tag: value}."""

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        return {suffix: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]

    Loader.add_multi_constructor("!", tagged)
    return yaml.load(text, Loader=Loader)


def test_template_passes_cfn_lint() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_template_grants_no_wildcards() -> None:
    template = _cfn_yaml(TEMPLATE.read_text())
    policies = template["Resources"]["ExecutionRole"]["Properties"]["Policies"]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in a for a in actions)
        assert statement["Resource"] != "*"
    bedrock = [s for s in statements if s["Action"] == "bedrock:InvokeModel"]
    assert bedrock == [
        {
            "Sid": "InvokeJudgeModels",
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": {"Ref": "JudgeModelArns"},
        }
    ]
    function = template["Resources"]["Function"]["Properties"]
    assert function["Handler"] == "judge.lambda_handler.handler"
    assert template["Parameters"]["Timeout"]["Default"] >= 120


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        (
            "us.amazon.nova-pro-v1:0",
            [
                "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
            ],
        ),
        (
            "amazon.nova-lite-v1:0",
            ["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"],
        ),
        (
            "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc",
            ["arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc"],
        ),
    ],
)
def test_model_arns(model_id: str, expected: list[str]) -> None:
    arns = invoke_model_arns(model_id, "us-east-1", "111122223333")
    assert arns == expected and not any("*" in a for a in arns)


@pytest.fixture
def local_aws(monkeypatch: pytest.MonkeyPatch, aws_env: Path) -> Iterator[str]:
    """moto's server on 127.0.0.1: a real local AWS API; boto3 reaches it by AWS_ENDPOINT_URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.stop()


def test_deploy_creates_then_updates(local_aws: str, package: PackageInfo) -> None:
    settings = StackSettings(stack="reward", reserved_concurrency=5)
    first = deploy(
        package.path,
        package.evaluator_version,
        "us.amazon.nova-pro-v1:0",
        settings,
        rubrics=["helpfulness", "tone"],
        poll_s=1,
    )
    assert first.action == "created"
    board = boto3.client("cloudwatch").get_dashboard(DashboardName="rlaif-judge-reward-reward")
    widgets = json.loads(board["DashboardBody"])["widgets"]
    names = {m[1] for w in widgets for m in w["properties"]["metrics"]}
    assert {"RewardMean", "ScoreMean_tone", "ScoreMean_helpfulness", "Throttles"} <= names
    assert all(
        m[2:6] == ["function", "rlaif-judge-reward", "service", "rlaif-judge"]
        for w in widgets
        for m in w["properties"]["metrics"]
    )
    assert first.function_arn.endswith(":function:rlaif-judge-reward")
    lam = boto3.client("lambda")
    conf = lam.get_function_configuration(FunctionName=first.function_arn)
    assert conf["Handler"] == "judge.lambda_handler.handler"
    assert conf["Runtime"] == "python3.12" and conf["Timeout"] == 300
    assert conf["Environment"]["Variables"]["JUDGE_CONFIG"] == "/var/task/reward.toml"
    role = conf["Role"].rsplit("/", 1)[1]
    iam = boto3.client("iam")
    doc = iam.get_role_policy(RoleName=role, PolicyName="invoke-judge-models")["PolicyDocument"]
    if isinstance(doc, str):
        # moto stores a CloudFormation-made inline policy as Python's repr of the dict
        doc = ast.literal_eval(urllib.parse.unquote(doc))
    assert doc["Statement"][0]["Resource"] == first.model_arns
    assert not any("*" in arn for arn in first.model_arns)

    second = deploy(
        package.path,
        package.evaluator_version,
        "us.amazon.nova-pro-v1:0",
        StackSettings(stack="reward", memory_mb=2048),
        poll_s=1,
    )
    assert second.action in ("updated", "unchanged")
    assert second.function_arn == first.function_arn
    assert lam.get_function_configuration(FunctionName=first.function_arn)["MemorySize"] == 2048
    stacks = boto3.client("cloudformation").describe_stacks(StackName="reward")["Stacks"]
    assert len(stacks) == 1 and stacks[0]["StackStatus"].endswith("_COMPLETE")


def test_cli_deploy_hyperpod_name(local_aws: str, package: PackageInfo) -> None:
    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "--stack",
            "hp",
            "--package",
            str(package.path),
            "--hyperpod",
            "--config",
            str(REPO / "reward.toml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert ":function:SageMaker-rlaif-judge-reward" in result.output
    assert "lambda:InvokeFunction" in result.output and "lambdaGrader" in result.output


def test_cli_invoke_locally(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from judge import lambda_handler

    serve(ScriptedJudge(score_fn=lambda j: 5))
    lambda_handler.reset()
    try:
        result = CliRunner().invoke(
            main,
            [
                "invoke",
                str(REPO / "examples" / "batch.jsonl"),
                "--config",
                str(REPO / "reward.toml"),
            ],
        )
    finally:
        lambda_handler.reset()
    assert result.exit_code == 0, result.output
    assert "s1-polite" in result.output and "+1.000" in result.output


def test_cli_invoke_a_function(
    package: PackageInfo, serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`judge invoke --function` through boto3's Lambda client to the packaged handler."""
    from tests.lambda_emulator import LambdaEmulator

    serve(ScriptedJudge(score_fn=lambda j: 5))
    task = tmp_path / "task"
    with zipfile.ZipFile(package.path) as zf:
        zf.extractall(task)
    bad_event = tmp_path / "bad.json"
    bad_event.write_text(json.dumps({"not": "a batch"}))
    with LambdaEmulator({"reward-fn": task}) as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", emulator.url)
        arn = "arn:aws:lambda:us-east-1:123456789012:function:reward-fn"
        ok = CliRunner().invoke(
            main, ["invoke", str(REPO / "examples" / "batch.jsonl"), "--function", arn]
        )
        failed = CliRunner().invoke(main, ["invoke", str(bad_event), "--function", arn])
    assert ok.exit_code == 0, ok.output
    assert "s1-polite" in ok.output and "s3-degenerate" in ok.output and "+1.000" in ok.output
    assert failed.exit_code != 0
    assert "EventError" in failed.output and "not a batch" in failed.output
