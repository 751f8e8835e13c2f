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
import tomllib
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
import yaml
from click.testing import CliRunner

import judge
from judge.cli import main
from judge.config import load_config
from judge.deploy.aws_errors import aws_error_message, stack_status_problem
from judge.deploy.iam import invoke_model_arns
from judge.deploy.package import (
    LAMBDA_PYTHONS,
    PackageInfo,
    build_package,
    content_hashes,
    evaluator_version,
)
from judge.deploy.stack import MEMORY_MB, TIMEOUT_S, StackSettings, deploy
from judge.server.process import free_port
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, ServeFn, project_copy

TEMPLATE = REPO / "deploy" / "template.yaml"
ARCH = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
PY = f"{sys.version_info.major}.{sys.version_info.minor}"
# A Lambda runtime that is not this interpreter: its zip ships no bytecode (and says so).
OTHER_PY = "3.13" if PY == "3.12" else "3.12"
EPOCH = 1_700_000_000  # 2023-11-14 22:13:20 UTC


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the project (its reward.toml): no artefacts a user wrote."""
    return project_copy(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, project: Path) -> PackageInfo:
    """A zip built for this interpreter, so that this machine can run it like Lambda."""
    out = tmp_path_factory.mktemp("pkg") / "judge.zip"
    return build_package(out, project, python_version=PY, arch=ARCH)


@dataclass(frozen=True)
class Built:
    """A zip `judge package` built for a Lambda runtime, and what the command printed."""

    path: Path
    config: Path
    output: str
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`judge package` for a deployable runtime (x86_64), with SOURCE_DATE_EPOCH set."""
    config = project_copy(tmp_path_factory.mktemp("project"))
    out = tmp_path_factory.mktemp("pkg") / "judge.zip"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
        result = CliRunner().invoke(
            main,
            [
                *("package", "--out", str(out), "--python-version", OTHER_PY),
                *("--arch", "x86_64", "--config", str(config)),
            ],
        )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    return Built(out, config, result.output, manifest)


RUNNER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
import boto3
boto3_s = time.perf_counter() - started
import judge.lambda_handler as h
imported = time.perf_counter() - started
from judge.deadline import LocalContext
answer = h.handler(json.load(open(sys.argv[2])), LocalContext(60))
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
    # The runtime alone: no CLI, deploy, batch, calibration runner, probe or test double.
    tooling = ("cli", "deploy", "batch", "server", "calibration", "probe")
    assert not any(n.startswith(tuple(f"judge/{t}/" for t in tooling)) for n in names)
    code = {n for n in names if n.startswith("judge/") and not n.endswith(".pyc")}
    assert code == {n for n in manifest["files"] if n.startswith("judge/")}  # all hashed
    assert manifest["evaluator_version"] == package.evaluator_version
    assert (
        manifest["files"]["rubrics/tone.md"]
        == __import__("hashlib").sha256((REPO / "rubrics" / "tone.md").read_bytes()).hexdigest()
    )
    assert (manifest["python_version"], manifest["arch"]) == (PY, ARCH)
    # The zip holds what this environment runs, not what a resolver picks today.
    shipped = {k.lower().replace("_", "-"): v for k, v in manifest["dependencies"].items()}
    for name in ("boto3", "botocore", "pydantic", "pydantic-core", "jinja2", "tenacity"):
        assert shipped[name] == __import__("importlib.metadata").metadata.version(name), name


def test_evaluator_version_tracks_content(tmp_path: Path) -> None:
    def version_of(config: Path) -> str:
        hashes = content_hashes(config, load_config(config))
        assert "rubrics/brand_voice.md" in hashes and "judge/lambda_handler.py" in hashes
        return evaluator_version(hashes)

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    original = project_copy(tmp_path / "a")
    edited = project_copy(tmp_path / "b")
    before = version_of(edited)
    assert version_of(original) == before  # same content elsewhere: same version
    tone = edited.parent / "rubrics" / "tone.md"
    tone.write_text(tone.read_text().replace("### 3 - Neutral", "### 3 - Matter-of-fact"))
    assert version_of(edited) != before
    assert version_of(original) == before


def test_the_zip_holds_the_config_where_the_template_looks(tmp_path: Path) -> None:
    """`--config prod.toml` ships as reward.toml: the function's JUDGE_CONFIG names that."""
    config = project_copy(tmp_path)
    prod = config.rename(tmp_path / "prod.toml")
    function = _cfn_yaml(TEMPLATE.read_text())["Resources"]["Function"]["Properties"]
    assert function["Environment"]["Variables"]["JUDGE_CONFIG"] == "/var/task/reward.toml"
    hashes = content_hashes(prod, load_config(prod))
    assert "reward.toml" in hashes and "prod.toml" not in hashes


def test_package_is_reproducible(
    package: PackageInfo, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two builds of the same tree give the same bytes, bytecode included."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert "built" not in package.manifest  # no wall clock
    assert package.manifest["bytecode"] is True
    again = build_package(tmp_path / "again.zip", project, python_version=PY, arch=ARCH)
    assert again.path.read_bytes() == package.path.read_bytes()


def test_package_honours_source_date_epoch(lambda_zip: Built) -> None:
    assert lambda_zip.manifest["built"] == "2023-11-14T22:13:20+00:00"
    with zipfile.ZipFile(lambda_zip.path) as zf:
        dates = {info.date_time for info in zf.infolist()}
    assert dates == {(2023, 11, 14, 22, 13, 20)}


def test_package_says_when_it_drops_the_bytecode(lambda_zip: Built) -> None:
    """Building for another Python than this one ships no .pyc: one warning line says so."""
    warnings = [x for x in lambda_zip.output.splitlines() if "no bytecode" in x]
    assert len(warnings) == 1, lambda_zip.output
    assert warnings[0].startswith("warning ")
    assert f"Python {OTHER_PY} on Python {PY}" in warnings[0]
    assert lambda_zip.manifest["bytecode"] is False
    with zipfile.ZipFile(lambda_zip.path) as zf:
        assert not any(n.endswith(".pyc") for n in zf.namelist())
        assert "judge/lambda_handler.py" in zf.namelist()  # the zip still works from source


def test_package_rejects_a_bad_source_date_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    config = project_copy(tmp_path)
    result = CliRunner().invoke(
        main, ["package", "--out", str(tmp_path / "x.zip"), "--config", str(config)]
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "SOURCE_DATE_EPOCH='yesterday'" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_runtime_choices_are_the_templates() -> None:
    """`package` and `deploy` offer exactly the runtimes the template accepts."""
    params = _cfn_yaml(TEMPLATE.read_text())["Parameters"]
    assert sorted(params["Runtime"]["AllowedValues"]) == [f"python{v}" for v in LAMBDA_PYTHONS]
    assert (params["MemorySize"]["MinValue"], params["MemorySize"]["MaxValue"]) == MEMORY_MB
    assert (params["Timeout"]["MinValue"], params["Timeout"]["MaxValue"]) == TIMEOUT_S
    assert params["ReservedConcurrency"]["MinValue"] == 0


def test_python_3_14_is_offered(tmp_path: Path) -> None:
    """Lambda runs python3.14: package and deploy take it (and go on to read the config)."""
    missing = tmp_path / "missing.toml"
    for command in (["package", "--out", str(tmp_path / "x.zip")], ["deploy", "--stack", "s"]):
        result = CliRunner().invoke(
            main, [*command, "--python-version", "3.14", "--config", str(missing)]
        )
        assert result.exit_code == 2 and "is not one of" not in result.output
        assert str(missing) in result.output
    runtimes = _cfn_yaml(TEMPLATE.read_text())["Parameters"]["Runtime"]["AllowedValues"]
    assert "python3.14" in runtimes


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["package", "--out", "x.zip", "--python-version", "3.11"], "'3.11' is not one of"),
        (["deploy", "--stack", "s", "--python-version", "3.11"], "'3.11' is not one of"),
        (["deploy", "--stack", "s", "--timeout", "901"], "901 is not in the range 30<=x<=900"),
        (["deploy", "--stack", "s", "--timeout", "0"], "0 is not in the range 30<=x<=900"),
        (["deploy", "--stack", "s", "--memory", "100000"], "not in the range 256<=x<=10240"),
        (["deploy", "--stack", "s", "--reserved-concurrency", "-1"], "-1 is not in the range"),
    ],
)
def test_cli_refuses_what_the_template_refuses(
    args: list[str], complaint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert complaint in result.output
    assert not list(tmp_path.iterdir())  # refused before anything was built


def test_version_has_one_source() -> None:
    """pyproject reads judge.__version__; the installed metadata and the CLI agree with it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "judge.__version__"}
    assert metadata.version("rlaif-judge") == judge.__version__, "reinstall: pip install -e ."
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and judge.__version__ in result.output
    written = [
        str(path.relative_to(REPO))
        for path in [*(REPO / "judge").rglob("*.py"), REPO / "pyproject.toml", REPO / "README.md"]
        if f'"{judge.__version__}"' in path.read_text()
    ]
    assert written == ["judge/__init__.py"]


def test_manifest_carries_the_package_version(package: PackageInfo) -> None:
    assert package.manifest["package_version"] == judge.__version__


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
    _moto_api(url, "reset")  # moto keeps its state per process: each test starts empty
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
    assert {"JudgeInputTokens", "JudgeCacheReadTokens", "JudgeCostUSD"} <= names
    for widget in widgets:  # "." repeats the value above it (CloudWatch's shorthand)
        metrics = widget["properties"]["metrics"]
        assert metrics[0][2:6] == ["function", "rlaif-judge-reward", "service", "rlaif-judge"]
        assert all(m[2:6] == [".", ".", ".", "."] for m in metrics[1:])
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


def test_deploy_grants_every_judge_of_a_panel(local_aws: str, package: PackageInfo) -> None:
    panel = ["us.amazon.nova-pro-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0"]
    done = deploy(
        package.path,
        package.evaluator_version,
        panel,
        StackSettings(stack="panel", function_name="panel"),
        poll_s=1,
    )
    conf = boto3.client("lambda").get_function_configuration(FunctionName=done.function_arn)
    role = conf["Role"].rsplit("/", 1)[1]
    iam = boto3.client("iam")
    doc = iam.get_role_policy(RoleName=role, PolicyName="invoke-judge-models")["PolicyDocument"]
    if isinstance(doc, str):
        doc = ast.literal_eval(urllib.parse.unquote(doc))
    granted = doc["Statement"][0]["Resource"]
    assert granted == done.model_arns and len(set(granted)) == len(granted)
    for model_id in panel:  # every judge may be invoked, through its profile and models
        assert any(a.endswith(f":inference-profile/{model_id}") for a in granted), model_id
        base = model_id.split(".", 1)[1]
        assert any(a.endswith(f"::foundation-model/{base}") for a in granted), model_id


def test_cli_deploy_hyperpod_name(local_aws: str, lambda_zip: Built) -> None:
    result = _deploy_cli(lambda_zip.path, lambda_zip.config, "--stack", "hp", "--hyperpod")
    assert result.exit_code == 0, result.output
    assert ":function:SageMaker-rlaif-judge-reward" in result.output
    assert "lambda:InvokeFunction" in result.output and "lambdaGrader" in result.output
    conf = boto3.client("lambda").get_function_configuration(
        FunctionName="SageMaker-rlaif-judge-reward"
    )
    assert conf["Runtime"] == f"python{OTHER_PY}"


def test_deploy_goes_where_aws_region_says(
    local_aws: str, lambda_zip: Built, package: PackageInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_REGION alone (botocore reads only AWS_DEFAULT_REGION) places the stack; no region
    at all is an error, not a silent us-east-1; [judge] region places the model grant."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    nowhere = _one_error_line(_deploy_cli(lambda_zip.path, lambda_zip.config).output)
    assert "no AWS region is configured. Fix: pass --region, export AWS_REGION" in nowhere
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    result = _deploy_cli(lambda_zip.path, lambda_zip.config, "--stack", "paris")
    assert result.exit_code == 0, result.output
    assert "arn:aws:lambda:eu-west-3:123456789012:function:rlaif-judge-reward" in result.output
    assert "arn:aws:bedrock:eu-west-3:123456789012:inference-profile/" in result.output
    pinned = deploy(
        package.path,
        package.evaluator_version,
        "us.amazon.nova-pro-v1:0",
        StackSettings(stack="pinned", function_name="pinned", judge_region="eu-central-1"),
        poll_s=1,
    )
    assert ":lambda:eu-west-3:" in pinned.function_arn
    assert pinned.model_arns[0].startswith("arn:aws:bedrock:eu-central-1:123456789012:")


def test_deploy_refuses_a_zip_for_another_judge_region(
    aws_env: Path, lambda_zip: Built, tmp_path: Path
) -> None:
    """The grant follows the deploying config's [judge] region; the zip must judge there."""
    text = lambda_zip.config.read_text()
    pinned = tmp_path / "pinned.toml"
    pinned.write_text(text.replace("[judge]\n", '[judge]\nregion = "eu-central-1"\n', 1))
    line = _one_error_line(_deploy_cli(lambda_zip.path, pinned).output)
    assert f"judge_region is missing, [judge].region in {pinned} says eu-central-1" in line


def _lint_errors(config: Path) -> list[str]:
    """What `judge lint` reports as errors (it exits 1 on any)."""
    result = CliRunner().invoke(main, ["lint", "--config", str(config)])
    lines = result.output.splitlines()
    errors = [line.removeprefix("error ") for line in lines if line.startswith("error ")]
    assert (result.exit_code == 1) == bool(errors), result.output
    return errors


def _package_error(config: Path, tmp_path: Path) -> str:
    """`judge package`'s one-line refusal (it lints first: nothing is built)."""
    result = CliRunner().invoke(
        main, ["package", "--out", str(tmp_path / "judge.zip"), "--config", str(config)]
    )
    assert not (tmp_path / "judge.zip").exists()
    return _one_error_line(result.output).removeprefix("error ")


def test_lint_fails_a_map_fitted_locally_as_package_does(serve: ServeFn, tmp_path: Path) -> None:
    """A fresh map fitted on `judge serve`: not stale, but the Lambda would not apply it."""
    serve(ScriptedJudge())
    config = project_copy(tmp_path, "calibration/anchors/politeness.jsonl")
    fitted = CliRunner().invoke(
        main,
        [
            *("calibrate", "--rubric", "tone", "--config", str(config), "--max-items", "16"),
            *("--anchors", str(tmp_path / "calibration/anchors/politeness.jsonl")),
            *("--probes", "0"),
        ],
    )
    assert fitted.exit_code == 0, fitted.output
    shipped = tmp_path / "calibration" / "tone.json"
    [problem] = _lint_errors(config)
    assert problem.startswith(f"{shipped}: fitted against a local judge server (custom)")
    assert _package_error(config, tmp_path) == f"{problem} (judge lint lists all 1 problems)"


def test_lint_fails_files_package_cannot_place(tmp_path: Path) -> None:
    """[paths] folders and a guard lexicon outside the config's folder: package refused
    the one and crashed on the other while lint passed both."""
    project = tmp_path / "project"
    config = project_copy(project)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(project / "rubrics", elsewhere / "rubrics")
    shutil.copy(REPO / "judge" / "data" / "guard_lexicon.toml", elsewhere / "lexicon.toml")
    text = config.read_text().replace(
        "[guard]\n", '[guard]\nlexicon = "../elsewhere/lexicon.toml"\n', 1
    )
    config.write_text(text + '\n[paths]\nrubrics = "../elsewhere/rubrics"\n')
    problems = _lint_errors(config)
    assert problems == [
        f"[paths].rubrics ({elsewhere / 'rubrics'}) must lie under the config's folder "
        f"{project} to be packaged. Fix: move it there and set [paths].rubrics relative to it",
        f"[guard] lexicon ({elsewhere / 'lexicon.toml'}) must lie under the config's folder "
        f"{project} to be packaged. Fix: move it there and set lexicon relative to it",
    ]
    assert _package_error(config, tmp_path) == f"{problems[0]} (judge lint lists all 2 problems)"


def _deploy_cli(zip_path: Path, config: Path, *extra: str) -> Any:
    """`judge deploy` of a zip for OTHER_PY; later options (``extra``) win."""
    return CliRunner().invoke(
        main,
        [
            *("deploy", "--stack", "s", "--package", str(zip_path), "--config", str(config)),
            *("--python-version", OTHER_PY, *extra),
        ],
    )


def _one_error_line(output: str) -> str:
    """The CLI's answer to a failure: exactly one line, `error ...`, no traceback."""
    lines = output.splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error ") and "Traceback" not in output
    return lines[0]


def test_deploy_checks_the_zip_against_flags_and_config(
    aws_env: Path, lambda_zip: Built, tmp_path: Path
) -> None:
    """A zip built for another runtime, arch, judge model or rubric set is refused, before AWS."""
    zip_path, config = lambda_zip.path, lambda_zip.config
    arch = _one_error_line(_deploy_cli(zip_path, config, "--arch", "arm64").output)
    assert "arch is x86_64, --arch says arm64" in arch
    assert "Fix: rebuild it with `judge package" in arch
    assert f"--arch arm64 --python-version {OTHER_PY}`" in arch

    other = next(v for v in LAMBDA_PYTHONS if v != OTHER_PY)
    runtime = _one_error_line(_deploy_cli(zip_path, config, "--python-version", other).output)
    assert f"python_version is {OTHER_PY}, --python-version says {other}" in runtime

    text = config.read_text()
    assert 'model_id = "us.amazon.nova-pro-v1:0"' in text
    lite = tmp_path / "lite.toml"
    lite.write_text(text.replace("us.amazon.nova-pro-v1:0", "us.amazon.nova-lite-v1:0"))
    model = _one_error_line(_deploy_cli(zip_path, lite).output)
    assert f"judge_model is us.amazon.nova-pro-v1:0, [judge].model_id in {lite} says " in model
    assert "us.amazon.nova-lite-v1:0" in model and "arch is" not in model

    dropped = "tone"  # not gated: the config stays valid without it
    fewer = tmp_path / "fewer.toml"
    fewer.write_text(
        "\n".join(x for x in text.splitlines() if not x.startswith(f"{dropped} =")) + "\n"
    )
    assert dropped not in load_config(fewer).rubrics
    rubrics = _one_error_line(_deploy_cli(zip_path, fewer).output)
    assert f"rubrics is [{', '.join(sorted(load_config(config).rubrics))}]" in rubrics
    assert f"[rubrics] in {fewer} says [" in rubrics

    not_zip = tmp_path / "judge.zip"
    not_zip.write_text("hello")
    bad = _one_error_line(_deploy_cli(not_zip, config).output)
    assert f"{not_zip}: cannot read it as a zip" in bad and "judge package" in bad


def test_deploy_without_credentials_is_one_line(
    local_aws: str, lambda_zip: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    line = _one_error_line(_deploy_cli(lambda_zip.path, lambda_zip.config).output)
    assert "no AWS credentials found" in line and "aws configure" in line


def test_deploy_access_denied_is_one_line(
    local_aws: str, lambda_zip: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's server with IAM enforced: a user without permissions gets AWS's code + message."""
    iam = boto3.client("iam")
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    previous = _moto_auth(local_aws, "0")
    try:
        result = _deploy_cli(lambda_zip.path, lambda_zip.config)
    finally:
        _moto_auth(local_aws, previous)
    line = _one_error_line(result.output)
    assert "failed: AccessDenied" in line and "Fix: give your AWS identity" in line


def _moto_auth(url: str, count: str) -> str:
    """Make moto's server check IAM after ``count`` requests; returns the previous setting."""
    reply = _moto_api(url, "reset-auth", count)
    return str(json.loads(reply)["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])


def _moto_api(url: str, action: str, body: str = "") -> bytes:
    """POST to moto's own control API (reset state, IAM enforcement)."""
    request = urllib.request.Request(
        f"{url}/moto-api/{action}", data=body.encode(), headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return bytes(reply.read())


def test_deploy_onto_a_stack_in_progress_is_one_line(local_aws: str, lambda_zip: Built) -> None:
    """A change set that created a stack and was never run leaves it REVIEW_IN_PROGRESS."""
    boto3.client("cloudformation").create_change_set(
        StackName="s",
        ChangeSetName="pending",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(
            {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}}
        ),
    )
    line = _one_error_line(_deploy_cli(lambda_zip.path, lambda_zip.config).output)
    assert "stack s is REVIEW_IN_PROGRESS" in line and "execute or delete" in line
    assert not boto3.client("s3").list_buckets()["Buckets"]  # nothing uploaded


@pytest.mark.parametrize(
    ("status", "fix"),
    [
        ("UPDATE_IN_PROGRESS", "wait until it ends"),
        ("CREATE_IN_PROGRESS", "wait until it ends"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", "wait until it ends"),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "wait until it ends"),
        ("UPDATE_ROLLBACK_FAILED", "`aws cloudformation continue-update-rollback --stack-name s`"),
        ("ROLLBACK_COMPLETE", "`aws cloudformation delete-stack --stack-name s`"),
        ("ROLLBACK_FAILED", "`aws cloudformation delete-stack --stack-name s`"),
        ("DELETE_FAILED", "--retain-resources"),
        ("REVIEW_IN_PROGRESS", "execute or delete that change set"),
    ],
)
def test_stack_states_that_block_a_deploy(status: str, fix: str) -> None:
    problem = stack_status_problem("s", status)
    assert problem is not None and "\n" not in problem
    assert problem.startswith(f"stack s is {status}") and fix in problem.split("Fix: ", 1)[1]


def test_stack_states_that_allow_a_deploy() -> None:
    for status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"):
        assert stack_status_problem("s", status) is None


def _client_error(code: str, message: str, operation: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_aws_errors_map_to_one_line() -> None:
    """Real botocore exceptions, as boto3 raises them, for states moto cannot reach."""
    race = _client_error(
        "ValidationError",
        "Stack:arn:aws:cloudformation:us-east-1:1:stack/s/x is in UPDATE_ROLLBACK_FAILED "
        "state and can not be updated.",
        "UpdateStack",
    )
    assert "continue-update-rollback" in aws_error_message(race, stack="s")
    denied = _client_error(
        "AccessDenied", "User: arn:aws:iam::1:user/u is not authorized\nto perform", "CreateStack"
    )
    line = aws_error_message(denied, stack="s")
    assert line.startswith("CreateStack failed: AccessDenied: User: arn:aws:iam::1:user/u")
    assert "\n" not in line and "Fix:" in line
    expired = _client_error("ExpiredTokenException", "The token has expired", "GetCallerIdentity")
    assert "refresh your credentials" in aws_error_message(expired)
    other = _client_error("LimitExceededException", "Too many stacks", "CreateStack")
    assert aws_error_message(other) == "CreateStack failed: LimitExceededException: Too many stacks"
    assert "aws configure" in aws_error_message(botocore.exceptions.NoCredentialsError())
    assert "--region" in aws_error_message(botocore.exceptions.NoRegionError())
    down = botocore.exceptions.EndpointConnectionError(endpoint_url="https://example.invalid")
    assert "check the network" in aws_error_message(down)
    sso = botocore.exceptions.TokenRetrievalError(provider="sso", error_msg="expired")
    assert "aws sso login" in aws_error_message(sso)


def test_cli_invoke_locally(serve: ServeFn, project: Path) -> None:
    from judge import lambda_handler

    serve(ScriptedJudge(score_fn=lambda j: 5))
    lambda_handler.reset()
    try:
        result = CliRunner().invoke(
            main, ["invoke", str(REPO / "examples" / "batch.jsonl"), "--config", str(project)]
        )
    finally:
        lambda_handler.reset()
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)  # the answer alone, as RFT gets it
    assert [a["id"] for a in answer][:3] == ["s1-polite", "s1-neutral", "s1-rude"]
    assert "s1-polite" in result.stderr and "+1.000" in result.stderr  # the table


def test_invoke_prints_the_answer_alone_on_stdout(
    serve: ServeFn, project: Path, tmp_path: Path
) -> None:
    """In a real process: stdout parses as the handler's list; logs, EMF, table on stderr."""
    serve(ScriptedJudge(score_fn=lambda j: 5))
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            [
                {
                    "id": "a",
                    "messages": [
                        {"role": "user", "content": "Hi"},
                        {"role": "assistant", "content": "Hello, glad to help."},
                    ],
                },
                {"id": "b", "messages": "not a conversation"},
            ]
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "judge.cli", "invoke", str(event), "--config", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert done.stdout == json.dumps(answer, allow_nan=False) + "\n"
    assert [a["id"] for a in answer] == ["a", "b"]
    assert set(answer[0]) == {"id", "aggregate_reward_score", "metrics_list"}
    assert '"_aws"' in done.stderr and "RewardMean" in done.stderr  # EMF
    assert '"batch scored"' in done.stderr  # Powertools JSON log
    assert "rewards" in done.stderr and "+1.000" in done.stderr  # the table


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
    batch = str(REPO / "examples" / "batch.jsonl")
    with LambdaEmulator({"reward-fn": task}) as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", emulator.url)
        arn = "arn:aws:lambda:us-east-1:123456789012:function:reward-fn"
        ok = CliRunner().invoke(main, ["invoke", batch, "--function", arn])
        failed = CliRunner().invoke(main, ["invoke", str(bad_event), "--function", arn])
        missing = CliRunner().invoke(main, ["invoke", batch, "--function", "nope"])
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        anonymous = CliRunner().invoke(main, ["invoke", batch, "--function", arn])
    assert ok.exit_code == 0, ok.output
    answer = json.loads(ok.stdout)
    assert "s1-polite" in ok.stderr and "s3-degenerate" in ok.stderr and "+1.000" in ok.stderr
    assert answer[0]["id"] == "s1-polite"
    assert failed.exit_code != 0 and not failed.stdout
    line = _one_error_line(failed.output)
    assert "EventError" in line and "not a batch" in line
    line = _one_error_line(missing.output)
    assert "Invoke failed: ResourceNotFoundException: Function not found: nope" in line
    line = _one_error_line(anonymous.output)
    assert "no AWS credentials found" in line


def test_every_called_model_is_granted(tmp_path: Path) -> None:
    """A panel's judges (and a substance model) are all in the grant, each once."""
    from judge.config import load_config
    from judge.deploy.iam import called_model_ids

    config = tmp_path / "reward.toml"
    text = (REPO / "reward.toml").read_text()
    panel = (
        'panel = [{ model_id = "us.amazon.nova-pro-v1:0" }, '
        '{ model_id = "us.anthropic.claude-3-5-haiku-20241022-v1:0" }]'
    )
    config.write_text(text.replace("# panel = [", panel + "\n# panel = [", 1))
    for name in ("rubrics", "prompts"):
        (tmp_path / name).symlink_to(REPO / name)
    ids = called_model_ids(load_config(config))
    assert ids == ["us.amazon.nova-pro-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0"]
