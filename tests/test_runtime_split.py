"""Runtime and tooling apart: the handler imports no tooling, and only runtime edits re-version.

``evaluator_version`` names what shaped a reward. It must change when a rubric, a template,
a calibration map or a runtime module changes, and must not when a test double or the CLI
does: otherwise every tooling commit would look like a new reward function.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from judge.deploy.package import TOOLING, runtime_files
from tests.conftest import REPO, project_copy

# The tooling: the CLI, deploy, batch jobs, calibration runner, probe, test doubles.
assert {"cli", "deploy", "batch", "calibration", "probe", "server"} <= TOOLING

CLOSURE = """
import json, sys
import judge.lambda_handler as h
assert h._evaluator is not None, "the handler built no evaluator at import"
print(json.dumps(sorted(m for m in sys.modules if m == "judge" or m.startswith("judge."))))
"""

VERSION = """
import json, sys
from pathlib import Path
import judge
from judge.config import load_config
from judge.deploy.package import content_hashes, evaluator_version
assert Path(judge.__file__).is_relative_to(Path(sys.argv[1])), judge.__file__
config = Path(sys.argv[2])
hashes = content_hashes(config, load_config(config))
print(json.dumps({"version": evaluator_version(hashes), "files": sorted(hashes)}))
"""


def _python(script: str, *args: str, env: dict[str, str], cwd: Path) -> str:
    """Run ``script`` in a fresh interpreter (from ``cwd``: ``-c`` puts it first on the path)."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_handler_imports_no_tooling(tmp_path: Path) -> None:
    """Imported as Lambda's init does (evaluator built from the config): no tooling module."""
    config = project_copy(tmp_path)
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "judge-test",
        "JUDGE_CONFIG": str(config),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    modules: list[str] = json.loads(_python(CLOSURE, env=env, cwd=tmp_path))
    assert "judge.lambda_handler" in modules and "judge.pipeline" in modules
    tooling = [m for m in modules if m.split(".")[1:2] and m.split(".")[1] in TOOLING]
    assert tooling == []
    # Everything it imports ships: a module the zip lacked would fail the Lambda at init.
    shipped = set(runtime_files())
    for module in modules:
        path = module.replace(".", "/")
        assert {f"{path}.py", f"{path}/__init__.py"} & shipped, module


def _tree(tmp: Path) -> tuple[Path, Path]:
    """A private copy of the judge package and of the project (config, rubrics, prompts)."""
    src = tmp / "src"
    shutil.copytree(
        REPO / "judge", src / "judge", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    config = project_copy(tmp / "project")
    return src, config


def _version(src: Path, config: Path) -> tuple[str, list[str]]:
    """evaluator_version as the copied package computes it (its own runtime files)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = json.loads(_python(VERSION, str(src), str(config), env=env, cwd=src.parent))
    return out["version"], out["files"]


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_only_what_shapes_a_reward_changes_evaluator_version(tmp_path: Path) -> None:
    src, config = _tree(tmp_path)
    project = config.parent
    maps = project / "calibration"
    maps.mkdir(exist_ok=True)
    (maps / "tone.json").write_text('{"rubric": "tone"}\n')
    before, files = _version(src, config)
    assert "calibration/tone.json" in files and "judge/lambda_handler.py" in files
    assert not [f for f in files if f.split("/")[1:2] and f.split("/")[1] in TOOLING]

    # Tooling: the fault-injecting test double, the CLI, the probe, batch, calibration runner.
    for tool in (
        "server/scripted.py",
        "cli/_app.py",
        "deploy/package.py",
        "probe/__init__.py",
        "batch/jobs.py",
        "calibration/runner.py",
    ):
        _append(src / "judge" / tool, "\n# edited by a test\n")
    assert _version(src, config)[0] == before

    # What shapes a reward: each edit is a new version.
    seen = {before}
    for edited in (
        project / "rubrics" / "tone.md",
        project / "prompts" / "user.j2",
        maps / "tone.json",
        src / "judge" / "reward.py",
        src / "judge" / "data" / "guard_lexicon.toml",
    ):
        _append(edited, "\n")
        version, _ = _version(src, config)
        assert version not in seen, edited
        seen.add(version)
