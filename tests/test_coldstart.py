"""The Lambda's cold start imports only what the configured reward uses.

A handler built from the bundled config (pointwise rubrics, no prompt caching, no shrink)
answers a real event through boto3 and a local Converse server without importing the
request kinds, tables and libraries that only other configs need; each of them is still
loaded when a config or a caller asks for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from judge.kinds import kind, kinds
from judge.kinds.base import BUILT_IN
from judge.server.scripted import ScriptedJudge
from tests.conftest import ServeFn

REPO = Path(__file__).resolve().parent.parent

# Imported only by configs that use them (a kind, [judge] prompt_cache, [reward] shrink, a
# rubric whose front matter is more than plain key: value lines).
NOT_NEEDED = [
    "yaml",
    "judge.kinds.checklist",
    "judge.kinds.combined",
    "judge.kinds.group",
    "judge.kinds.pairwise",
    "judge.prompt_cache",
    "judge.shrink",
]

SCRIPT = """
import json, sys
import judge.lambda_handler as h
answer = h.handler(json.loads(sys.argv[1]), None)
print(json.dumps({"answer": answer, "loaded": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def handle_cold(event: list[object], config: Path) -> dict[str, object]:
    """The handler's answer to ``event`` in a fresh interpreter; which of NOT_NEEDED it loaded."""
    env = {**os.environ, "JUDGE_CONFIG": str(config), "AWS_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(event), *NOT_NEEDED],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_default_reward_answers_without_the_modules_it_does_not_use(serve: ServeFn) -> None:
    serve(ScriptedJudge())
    lines = (REPO / "examples" / "batch.jsonl").read_text("utf-8").splitlines()
    event = [json.loads(line) for line in lines[:2]]
    result = handle_cold(event, REPO / "reward.toml")
    answer = result["answer"]
    assert isinstance(answer, list) and len(answer) == 2
    assert all(isinstance(a, dict) and -1.0 <= a["aggregate_reward_score"] <= 1.0 for a in answer)
    assert result["loaded"] == []


def test_a_config_that_uses_them_loads_them(serve: ServeFn, tmp_path: Path) -> None:
    """Group mode, prompt caching and shrink: their modules come in, the answer is whole."""
    serve(ScriptedJudge())
    config = (REPO / "reward.toml").read_text("utf-8")
    config = config.replace("prompt_cache = false", "prompt_cache = true")
    config = config.replace('# mode = "group"', 'mode = "group"')
    config = config.replace("[runtime]", "[reward]\nshrink = 0.5\n\n[runtime]")
    for sub in ("rubrics", "prompts"):
        (tmp_path / sub).symlink_to(REPO / sub)
    (tmp_path / "reward.toml").write_text(config, "utf-8")
    lines = (REPO / "examples" / "batch.jsonl").read_text("utf-8").splitlines()
    result = handle_cold([json.loads(line) for line in lines[:3]], tmp_path / "reward.toml")
    answer = result["answer"]
    assert isinstance(answer, list) and len(answer) == 3
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    assert {"judge.kinds.group", "judge.prompt_cache", "judge.shrink"} <= set(loaded)


def test_built_in_kinds_load_by_name() -> None:
    assert {k.name for k in kinds()} == set(BUILT_IN)
    for name, module in BUILT_IN.items():
        assert kind(name).name == name
        assert module in sys.modules
    with pytest.raises(KeyError, match="known: checklist, combined, group, pairwise, pointwise"):
        kind("pairwize")


def fresh(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_package_imports_its_public_names_on_first_use() -> None:
    """``import judge`` alone loads nothing else, so the handler module's own code runs first."""
    out = fresh(
        "import sys, judge; before = sorted(m for m in sys.modules if m.startswith('judge')); "
        "from judge import Evaluator, load_config; "
        "print(before, Evaluator.__module__, load_config.__module__, judge.__version__)"
    )
    assert out == "['judge'] judge.pipeline judge.config 0.1.0"
    with pytest.raises(subprocess.CalledProcessError):
        fresh("import judge; judge.no_such_name")


def test_the_handler_restores_collection_and_freezes_what_it_built() -> None:
    """Collection is off only while the runtime is imported; what it built is frozen."""
    out = fresh(
        "import gc; import judge.lambda_handler; print(gc.isenabled(), gc.get_freeze_count() > 0)"
    )
    assert out == "True True"
    out = fresh("import gc; gc.disable(); import judge.lambda_handler; print(gc.isenabled())")
    assert out == "False"  # a caller's choice to run without collection is kept
