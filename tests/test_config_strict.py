"""A new user's first day with reward.toml: wrong types, typos and lost files, each pinned.

Every config error names the file, the line, the key, what was given and the fix.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from judge.config import load_config, parse_config
from judge.deploy.lint import lint_project
from judge.errors import SourceError
from judge.tomlpos import key_lines, line_of
from tests.conftest import REPO, base_config, project_copy

BASE = (REPO / "reward.toml").read_text()


def _load_edited(tmp_path: Path, old: str, new: str) -> tuple[SourceError, str]:
    """reward.toml with ``old`` replaced by ``new``: the error it raises, and the new text."""
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    path = tmp_path / "reward.toml"
    path.write_text(text)
    with pytest.raises(SourceError) as err:
        load_config(path)
    return err.value, text


def _line(text: str, snippet: str) -> int:
    """The 1-based line where ``snippet`` starts in ``text``."""
    return text[: text.index(snippet)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "place", "given", "fix"),
    [
        (
            "tone = { weight = 0.3 }",
            'tone = { weight = "0.3" }',
            "rubrics.tone.weight",
            'weight = "0.3": expected a number, got a string',
            "write weight = 0.3 (without quotes)",
        ),
        (
            "max_tokens = 512 ",
            'max_tokens = "512" ',
            "judge.max_tokens",
            'max_tokens = "512": expected a whole number, got a string',
            "write max_tokens = 512 (without quotes)",
        ),
        (
            "max_tokens = 512 ",
            "max_tokens = 512.5 ",
            "judge.max_tokens",
            "max_tokens = 512.5: expected a whole number, got a number",
            "write max_tokens = 512",
        ),
        (
            "cache = true",
            'cache = "no"',
            "runtime.cache",
            'cache = "no": expected true or false (no quotes), got a string',
            "write cache = false (without quotes)",
        ),
        (
            "prompt_cache = false",
            'prompt_cache = "off"',
            "judge.prompt_cache",
            'prompt_cache = "off": expected true or false',
            "write prompt_cache = false (without quotes)",
        ),
        (
            "enabled = true",
            "enabled = 1",
            "guard.enabled",
            "enabled = 1: expected true or false (no quotes), got an integer",
            "write enabled = true",
        ),
        (
            'model_id = "us.amazon.nova-pro-v1:0"',
            "model_id = 7",
            "judge.model_id",
            "model_id = 7: expected text in quotes",
            'write model_id = "7"',
        ),
        (
            "below = 0.25",
            'below = "0.25"',
            "gates.0.below",
            'below = "0.25": expected a number, got a string',
            "write below = 0.25 (without quotes)",
        ),
        (
            'reward = "floor"',
            'reward = "0.3"',
            "gates.0.reward",
            'reward = "0.3": expected a number or "floor", got a string',
            "write reward = 0.3 (without quotes)",
        ),
        (
            "extra_patterns = []",
            'extra_patterns = "^ok$"',
            "guard.extra_patterns",
            'extra_patterns = "^ok$": expected a list [...], got a string',
            'write extra_patterns = ["^ok$"]',
        ),
        (
            "tone = { weight = 0.3 }",
            "tone = 0.3",
            "rubrics.tone",
            "tone = 0.3: expected a table, got a number",
            "write tone = { weight = 0.3 }",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_an_error_with_line_and_fix(
    tmp_path: Path, old: str, new: str, place: str, given: str, fix: str
) -> None:
    # Each of these used to be coerced silently ("no" became false, "512" became 512).
    err, text = _load_edited(tmp_path, old, new)
    assert err.line == _line(text, new.strip())
    assert str(err).startswith(f"{tmp_path / 'reward.toml'}:{err.line} [{place}]: "), str(err)
    assert given in err.problem
    assert fix in err.fix


def test_the_readme_example_is_what_the_user_sees(tmp_path: Path) -> None:
    err, _ = _load_edited(tmp_path, "tone = { weight = 0.3 }", 'tone = { weight = "0.3" }')
    shown = str(err).replace(str(tmp_path / "reward.toml"), "reward.toml")
    assert f"\n{shown}\n" in (REPO / "README.md").read_text()


def test_implicit_scale_items_are_strict_integers(tmp_path: Path) -> None:
    new = '[sample_rubric]\nimplicit_scale = [1, "10"]\n\n[guard]'
    err, text = _load_edited(tmp_path, "[guard]", new)
    assert err.place == "sample_rubric.implicit_scale.1"
    assert err.line == _line(text, "implicit_scale")
    assert "write 10 for implicit_scale[1]" in err.fix


def test_integers_still_count_as_floats_and_lists_as_the_scale(tmp_path: Path) -> None:
    path = tmp_path / "reward.toml"
    text = BASE.replace("tone = { weight = 0.3 }", "tone = { weight = 1 }")
    path.write_text(text.replace("[guard]", "[sample_rubric]\nimplicit_scale = [1, 7]\n\n[guard]"))
    config = load_config(path)
    assert config.rubrics["tone"].weight == 1.0
    assert isinstance(config.rubrics["tone"].weight, float)
    assert config.sample_rubric.implicit_scale == (1, 7)
    assert config.output.min == -1.0 and isinstance(config.gates[0].below, float)


@pytest.mark.parametrize(
    ("old", "new", "place", "fix"),
    [
        ('reward = "floor"', 'reward = "flor"', "gates.0.reward", "did you mean 'floor'?"),
        ('dimension = "drop"', 'dimension = "fial"', "unscored.dimension", "did you mean 'fail'?"),
        (
            'sample = "group_mean"',
            'sample = "groupmean"',
            "unscored.sample",
            "did you mean 'group_mean'?",
        ),
        ('verdict_mode = "tool"', 'verdict_mode = "tol"', "judge.verdict_mode", "'tool'?"),
        ('# aggregation = "mean"', 'aggregation = "meen"', "judge.aggregation", "'mean'?"),
        ('# mode = "group"', 'mode = "grup"', "judge.mode", "did you mean 'group'?"),
        (
            "tone = { weight = 0.3 }",
            'tone = { weight = 0.3, mode = "pointwize" }',
            "rubrics.tone.mode",
            "did you mean 'pointwise'?",
        ),
        (
            'rubric = "brand_voice"',
            'rubric = "brand_vioce"',
            "gates.0.rubric",
            "did you mean 'brand_voice'?",
        ),
    ],
)
def test_a_misspelt_choice_gets_the_closest_valid_value(
    tmp_path: Path, old: str, new: str, place: str, fix: str
) -> None:
    err, text = _load_edited(tmp_path, old, new)
    assert (err.place, err.line) == (place, _line(text, new))
    assert fix in err.fix


@pytest.mark.parametrize(
    ("old", "new", "place", "words", "fix"),
    [
        (
            "temperature = 0.0",
            "temprature = 0.0",
            "judge.temprature",
            "unknown key",
            "'temperature'",
        ),
        (
            "tone = { weight = 0.3 }",
            "tone = { wieght = 0.3 }",
            "rubrics.tone.wieght",
            "unknown",
            "'weight'",
        ),
        (
            "temperature = 0.0",
            "temperature = 3",
            "judge.temperature",
            "temperature = 3:",
            "smaller",
        ),
        (
            "concurrency = 32",
            "concurrency = 0",
            "runtime.concurrency",
            "concurrency = 0:",
            "larger",
        ),
        ("[output]\nmin = -1.0", "[output]\nmin = 2.0", "output.min", "must be below", "swap"),
        ("value = 0.0 ", "value = 5.0 ", "unscored.value", "output range", "-1.0..1.0"),
        ('reward = "floor"', "reward = 3.0", "gates.0.reward", "outside the output", "-1.0..1.0"),
        (
            "extra_patterns = []",
            'extra_patterns = ["ok", "(bad"]',
            "guard.extra_patterns.1",
            "regex",
            "correct",
        ),
        ('# aggregation = "mean"', "quorum = 2", "judge.quorum", "no panel", "remove quorum"),
        (
            '# aggregation = "mean"',
            'panel = [{ model_id = "a" }, { model_id = "a" }]',
            "judge.panel.1.model_id",
            "twice",
            "once",
        ),
    ],
)
def test_unknown_keys_and_bad_values_carry_the_line(
    tmp_path: Path, old: str, new: str, place: str, words: str, fix: str
) -> None:
    err, text = _load_edited(tmp_path, old, new)
    first = new.splitlines()[-1]
    assert (err.place, err.line) == (place, _line(text, first))
    assert words in err.problem and fix in err.fix


def test_a_missing_key_points_at_its_table(tmp_path: Path) -> None:
    err, text = _load_edited(tmp_path, "below = 0.25\n", "")
    assert (err.place, err.line) == ("gates.0.below", _line(text, "[[gates]]"))
    assert "add the key: below = ... in [[gates]] #1" in err.fix


def test_parse_config_without_text_has_no_line() -> None:
    with pytest.raises(SourceError) as err:
        parse_config({"rubrics": {"tone": {"weight": "0.3"}}}, Path("reward.toml"))
    assert err.value.line is None and err.value.place == "rubrics.tone.weight"


def test_base_dir_cannot_be_set_from_the_file(tmp_path: Path) -> None:
    err, text = _load_edited(tmp_path, "[judge]", 'base_dir = "/etc"\n\n[judge]')
    assert (err.place, err.line) == ("base_dir", _line(text, "base_dir"))


def test_a_loaded_config_names_the_line_of_a_key_in_later_errors(tmp_path: Path) -> None:
    path = tmp_path / "reward.toml"
    path.write_text(BASE)
    err = load_config(path).source_error(("rubrics", "tone"), "no rubric file", fix="create it")
    assert str(err).startswith(f"{path}:{_line(BASE, 'tone = {')} [rubrics.tone]: no rubric")


def test_lint_names_the_config_line_of_a_rubric_with_no_file(tmp_path: Path) -> None:
    config = project_copy(tmp_path)
    text = config.read_text().replace("[rubrics]\n", "[rubrics]\nsafety = { weight = 0.1 }\n")
    config.write_text(text)
    problems, _ = lint_project(config)
    assert f"{config}:{_line(text, 'safety =')} [rubrics.safety]: no rubric file" in problems[0]


def test_bad_toml_syntax_carries_its_line(tmp_path: Path) -> None:
    path = tmp_path / "reward.toml"
    path.write_text('[judge]\nmodel_id = "x"\ntemperature = \n')
    with pytest.raises(SourceError) as err:
        load_config(path)
    assert err.value.line == 3 and "not valid TOML" in err.value.problem


# --- where the config was looked for ------------------------------------------------------


def test_not_found_by_default_names_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JUDGE_CONFIG", raising=False)
    (tmp_path / "reward.toml").write_text(BASE)
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    with pytest.raises(SourceError) as err:
        load_config()
    assert str(sub / "reward.toml") in err.value.problem
    assert "no --config was given and JUDGE_CONFIG is not set" in err.value.problem
    assert "--config PATH" in err.value.fix and str(tmp_path / "reward.toml") in err.value.fix


def test_not_found_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(SourceError) as err:
        load_config()
    assert f"JUDGE_CONFIG={tmp_path / 'gone.toml'}" in err.value.problem
    assert "unset JUDGE_CONFIG" in err.value.fix


def test_not_found_when_given_says_nothing_else_was_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_CONFIG", str(REPO / "reward.toml"))
    with pytest.raises(SourceError) as err:
        load_config(tmp_path / "typo.toml")
    assert f"the path given (--config): {tmp_path / 'typo.toml'}" in err.value.problem
    assert "JUDGE_CONFIG and ./reward.toml are not used" in err.value.fix


def test_a_directory_given_as_config_points_at_its_reward_toml(tmp_path: Path) -> None:
    (tmp_path / "reward.toml").write_text(BASE)
    with pytest.raises(SourceError) as err:
        load_config(tmp_path)
    assert "is a directory" in err.value.problem
    assert err.value.fix == f"point at {tmp_path / 'reward.toml'}"


# --- the line locator -----------------------------------------------------------------------

TOML = """\
top = 1                       # 1
a.b.c = "x"                   # 2
[judge]                       # 3
note = \"\"\"a [fake] table    # 4
fake = 1
\"\"\"                           # 6
panel = [                     # 7
  { model_id = "m1" },        # 8
  { model_id = "m2", region = 'r' },  # 9
]                             # 10
[rubrics]                     # 11
"tone.x" = { weight = 0.3 }   # 12
[[gates]]                     # 13
rubric = "tone"               # 14
[[gates]]                     # 15
rubric = "x"                  # 16
[gates.extra]                 # 17
k = [[1, 2], [3]]             # 18
[pricing."us.amazon.nova-pro-v1:0"]  # 19
input = 0.1                   # 20
"""


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        (("top",), 1),
        (("a", "b", "c"), 2),
        (("judge",), 3),
        (("judge", "note"), 4),
        (("judge", "fake"), 3),  # only inside a string: falls back to the table
        (("judge", "panel", 1, "model_id"), 9),
        (("judge", "panel", 1, "region"), 9),
        (("rubrics", "tone.x", "weight"), 12),
        (("gates", 0, "rubric"), 14),
        (("gates", 1, "rubric"), 16),
        (("gates", 1, "below"), 15),  # missing: the table's header
        (("gates", 1, "extra", "k", 1, 0), 18),
        (("pricing", "us.amazon.nova-pro-v1:0", "input"), 20),
        (("nowhere", "at", "all"), None),
    ],
)
def test_key_lines_follow_tables_dotted_keys_inline_tables_and_arrays(
    loc: tuple[str | int, ...], line: int | None
) -> None:
    tomllib.loads(TOML)  # the locator only ever sees valid TOML
    assert line_of(key_lines(TOML), loc) == line


def test_key_lines_stop_quietly_on_text_they_cannot_follow() -> None:
    assert key_lines("a = 1\nb = [\n") == {("a",): 1, ("b",): 2}


# --- every bundled config still loads ---------------------------------------------------------


def test_the_repo_config_and_base_config_load_strictly() -> None:
    assert load_config(REPO / "reward.toml").rubrics
    assert parse_config(base_config(), REPO / "reward.toml").gates
