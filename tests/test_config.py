from __future__ import annotations

from pathlib import Path

import pytest

from judge.config import load_config, parse_config
from judge.errors import SourceError
from tests.conftest import REPO, base_config, merge


def test_repo_config_loads_with_defaults() -> None:
    config = load_config(REPO / "reward.toml")
    assert config.judge.model_id == "us.amazon.nova-pro-v1:0"
    assert (config.output.min, config.output.max) == (-1.0, 1.0)
    assert list(config.rubrics) == ["helpfulness", "tone", "brand_voice"]
    assert config.path("rubrics") == REPO / "rubrics"


def test_env_points_at_another_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.toml"
    other.write_text('[rubrics]\ntone = { weight = 1 }\n[judge]\nmodel_id = "x.y"\n')
    monkeypatch.setenv("JUDGE_CONFIG", str(other))
    config = load_config()
    assert config.judge.model_id == "x.y"
    assert config.base_dir == tmp_path


def test_cache_dir_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_CACHE_DIR", str(tmp_path / "c"))
    assert load_config(REPO / "reward.toml").cache_dir() == tmp_path / "c"


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        ({"judge": {"temprature": 0.2}}, "judge.temprature", "did you mean 'temperature'"),
        ({"judge": {"temperature": 3}}, "judge.temperature", "less than or equal"),
        ({"output": {"min": 1, "max": -1}}, "output.min", "output.min must be below"),
        ({"unscored": {"sample": "zero"}}, "unscored.sample", "group_mean"),
        ({"gates": [{"rubric": "nope", "below": 0.2}]}, "gates.0.rubric", "not in [rubrics]"),
        ({"rubrics": {}}, "rubrics", "at least 1"),
        ({"runtime": {"concurrency": 0}}, "runtime.concurrency", "greater than or equal"),
        ({"retyr": {}}, "retyr", "did you mean 'retry'"),
        ({"rubrics": {"tone": {"wieght": 1}}}, "rubrics.tone.wieght", "did you mean 'weight'"),
        (
            {"gates": [{"rubric": "tone", "below": 0.2, "reward": "floor", "belwo": 1}]},
            "gates.0.belwo",
            "did you mean 'below'",
        ),
    ],
)
def test_bad_config_names_key(overrides: dict[str, object], key: str, words: str) -> None:
    raw = merge(base_config(), overrides)
    if overrides.get("rubrics") == {}:
        raw["rubrics"] = {}
    with pytest.raises(SourceError) as err:
        parse_config(raw, Path("reward.toml"))
    msg = str(err.value)
    assert msg.startswith(f"reward.toml [{key}]"), msg
    assert words in msg
    assert "Fix: " in msg


def test_bad_toml_syntax(tmp_path: Path) -> None:
    bad = tmp_path / "reward.toml"
    bad.write_text("[rubrics\n")
    with pytest.raises(Exception, match=r"reward.toml:1: not valid TOML .*line 1"):
        load_config(bad)


def test_cache_off_beats_cache_dir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: JUDGE_CACHE_DIR used to re-enable a cache the config switched off.
    monkeypatch.setenv("JUDGE_CACHE_DIR", str(tmp_path / "c"))
    raw = merge(base_config(), {"runtime": {"cache": False}})
    assert parse_config(raw, REPO / "reward.toml").cache_dir() is None


@pytest.mark.parametrize(
    ("model_id", "configured", "expected"),
    [
        ("us.amazon.nova-pro-v1:0", None, {"inferenceConfig": {"topK": 1}}),
        ("amazon.nova-lite-v1:0", None, {"inferenceConfig": {"topK": 1}}),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", None, {}),  # rejects Nova's fields
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", {"top_k": 5}, {"top_k": 5}),
    ],
)
def test_request_fields_follow_the_model(
    model_id: str, configured: dict[str, object] | None, expected: dict[str, object]
) -> None:
    judge: dict[str, object] = {"model_id": model_id}
    if configured is not None:
        judge["additional_request_fields"] = configured
    config = parse_config({"rubrics": {"tone": {}}, "judge": judge}, REPO / "reward.toml")
    assert config.judge.request_fields() == expected
