"""judge.frontmatter reads a rubric's front matter exactly as PyYAML does, without PyYAML
for plain ``key: value`` lines (the Lambda's cold start then never imports it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from judge.frontmatter import FrontMatterError, safe_load

REPO = Path(__file__).resolve().parent.parent
RUBRICS = sorted([*REPO.glob("rubrics/*.md"), *REPO.glob("examples/**/rubrics/*.md")])


def front(path: Path) -> str:
    lines = path.read_text("utf-8").splitlines()
    end = lines.index("---", 1)
    return "\n".join(lines[1:end])


def pyyaml(text: str) -> Any:
    """What PyYAML makes of ``text``, or the marker of its error."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return "<error>"


def ours(text: str) -> Any:
    try:
        return safe_load(text)
    except FrontMatterError:
        return "<error>"


def test_bundled_rubrics_read_as_pyyaml_reads_them() -> None:
    assert len(RUBRICS) >= 4
    for path in RUBRICS:
        text = front(path)
        assert safe_load(text) == yaml.safe_load(text), path
        assert isinstance(safe_load(text), dict)


@pytest.mark.parametrize(
    "text",
    [
        "name: tone\nscale: {min: 1, max: 5}\nversion: 1",
        "on: 1",  # a boolean key in YAML 1.1
        "name: yes",
        "name: Null",
        "version: 012",  # octal
        "version: 1_000",
        "version: 1.5",
        "version: -0",
        "version: +3",
        "date: 2001-12-14",
        "name: 'quoted'",
        'name: "quoted"',
        "name: a # comment",
        "name: a:b",
        "name: a: b",
        "scale: {min: 1, min: 2}",
        "scale: {min: 1,}",
        "scale: {min:1, max: 5}",
        "scale: {}",
        "name: a\nname: b",  # PyYAML keeps the last
        "name: a\n  continued",
        "brand: Harbor & Pine (outdoor-gear, a worked example)",
        "name: tone   ",
        "title: Brand voice\n\n\nversion: 2",
        "",
        "\n \n",
        "name: [a, b]",
        "name: *alias",
        "name: &anchor x",
        "name: !!str 3",
        "name: |\n  block",
        "name: x\tz",
        "name: ton\u00e9",
        "name: a\u2028b",
        "nested:\n  key: 1",
        "- a list",
        "name: {min: 1",  # not valid YAML: both raise
        "key: : value",
    ],
)
def test_agrees_with_pyyaml(text: str) -> None:
    assert ours(text) == pyyaml(text)


KEYS = st.sampled_from(["name", "scale", "On", "no", "_k", "min", "Yes", "null", "a1", "x"])
SEPARATORS = st.sampled_from([": ", ":", ":  ", " : ", ":\t"])
VALUE_ALPHABET = "aZy09 -_:#{}[],&*!|>'\"%@`.?=+\t\u00e9\u2028"
VALUES = st.one_of(
    st.text(alphabet=VALUE_ALPHABET, max_size=14),
    st.sampled_from(["yes", "NULL", "off", "012", "-7", "0", "1.0", ".inf", "~", "2020-01-01"]),
    st.builds(
        lambda a, b, sep: "{" + f"min{sep}{a}, max{sep}{b}" + "}",
        st.sampled_from(["1", "0", "-1", "01", "x", "1.5", "on"]),
        st.sampled_from(["5", "10", "+5", "five"]),
        SEPARATORS,
    ),
)
LINES = st.builds(
    lambda indent, key, sep, value: " " * indent + key + sep + value,
    st.integers(0, 2),
    KEYS,
    SEPARATORS,
    VALUES,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(LINES, st.sampled_from(["", " ", "# c", "---"])), max_size=5))
def test_agrees_with_pyyaml_on_generated_front_matter(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert ours(text) == pyyaml(text)


def test_invalid_front_matter_keeps_pyyamls_problem_and_line() -> None:
    with pytest.raises(FrontMatterError) as caught:
        safe_load("name: tone\nscale: {min: 1\nversion: 1")
    assert caught.value.line is not None and caught.value.line >= 1
    assert caught.value.problem


def test_the_handler_cold_start_never_imports_pyyaml(tmp_path: Path) -> None:
    """The bundled config's evaluator is built without PyYAML (its import is cold-start time)."""
    script = (
        "import sys, judge.lambda_handler as h; h.get_evaluator(); "
        "print('yaml' in sys.modules, len(h.get_evaluator().rubrics))"
    )
    env = {
        **os.environ,
        "JUDGE_CONFIG": str(REPO / "reward.toml"),
        "JUDGE_CACHE_DIR": str(tmp_path / "cache"),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "3"]
