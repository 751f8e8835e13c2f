"""Shared fixtures: a real Converse server on 127.0.0.1 and evaluators that talk to it."""

from __future__ import annotations

import copy
import shutil
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from judge.config import parse_config
from judge.pipeline import Evaluator
from judge.server import ConverseServer
from judge.server.scripted import ScriptedJudge

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Dummy credentials, no AWS profile files, a private cache dir."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("JUDGE_CONFIG", raising=False)
    monkeypatch.setenv("JUDGE_FENCE_SECRET", "test-secret")
    cache = tmp_path / "cache"
    monkeypatch.setenv("JUDGE_CACHE_DIR", str(cache))
    return cache


ServeFn = Callable[[ScriptedJudge], ScriptedJudge]


@pytest.fixture
def serve(aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServeFn]:
    """Start a scripted judge behind a real Converse server; boto3 is pointed at it."""
    servers: list[ConverseServer] = []

    def start(model: ScriptedJudge) -> ScriptedJudge:
        server = ConverseServer(model).start()
        servers.append(server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        return model

    yield start
    for server in servers:
        server.stop()


def project_copy(tmp: Path, *extra: str) -> Path:
    """A private copy of the project's config, rubrics and prompts (plus ``extra`` paths).

    Tests that read or write project files use a copy, so they neither see artefacts a user
    wrote into the working tree (``judge calibrate`` writes ``calibration/<rubric>.json``) nor
    leave any behind. Returns the copied ``reward.toml``.
    """
    for sub in ("rubrics", "prompts", *extra):
        source = REPO / sub
        if source.is_dir():
            shutil.copytree(source, tmp / sub)
        else:
            (tmp / sub).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, tmp / sub)
    shutil.copy(REPO / "reward.toml", tmp / "reward.toml")
    return tmp / "reward.toml"


def base_config() -> dict[str, Any]:
    """The repository's reward.toml as a dict."""
    return tomllib.loads((REPO / "reward.toml").read_text())


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base`` (tables merge, values replace)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


_OPEN: list[Evaluator] = []


@pytest.fixture(autouse=True)
def _close_evaluators() -> Iterator[None]:
    """Close every evaluator a test made (sqlite handles, HTTP pools)."""
    yield
    while _OPEN:
        _OPEN.pop().close()


# Tests never read the working tree's calibration/ (README step 4 writes maps there).
_NO_CALIBRATION = "tests/no-calibration"
FAST_RETRY = {"initial_backoff_s": 0.01, "max_backoff_s": 0.05}


def make_evaluator(**overrides: Any) -> Evaluator:
    """An evaluator on the repository's rubrics and prompts with config ``overrides``.

    Tables merge into the repository's reward.toml; ``rubrics`` replaces its list.
    """
    raw = merge(base_config(), {"retry": FAST_RETRY, "paths": {"calibration": _NO_CALIBRATION}})
    raw = merge(raw, overrides)
    if "rubrics" in overrides:  # a rubric list replaces, and gates on dropped rubrics go
        raw["rubrics"] = overrides["rubrics"]
        if "gates" not in overrides:
            raw["gates"] = [g for g in raw.get("gates", []) if g["rubric"] in raw["rubrics"]]
    evaluator = Evaluator.from_settings(parse_config(raw, REPO / "reward.toml"))
    _OPEN.append(evaluator)
    return evaluator


def sample(
    sid: str, response: str, prompt: str = "How do I return a tent?", **extra: Any
) -> dict[str, Any]:
    """A minimal RFT sample."""
    return {
        "id": sid,
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": response},
        ],
        **extra,
    }
