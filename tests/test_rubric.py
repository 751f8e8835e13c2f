from __future__ import annotations

from pathlib import Path

import pytest

from judge.errors import SourceError
from judge.rubric import load_rubric, load_rubrics, parse_rubric

REPO = Path(__file__).resolve().parent.parent

GOOD = """---
name: demo
scale: {min: 1, max: 3}
---
# Demo

## Definition
What demo means.

## Voice guide
Be plain.

## Scale
### 1 - Bad
Bad things.
### 2 - Fine
Fine things.
### 3 - Good
Good things.

## Examples
### Example (score 3)
**Prompt:** Hi
**Response:** Hello there,
how can I help?
**Why:** Friendly.

```
## Not a section (inside a code fence)
```
"""


def test_bundled_rubrics_parse() -> None:
    rubrics = load_rubrics(REPO / "rubrics")
    assert set(rubrics) == {"tone", "helpfulness", "brand_voice", "formality"}
    for rubric in rubrics.values():
        assert [lv.score for lv in rubric.levels] == rubric.scores == [1, 2, 3, 4, 5]
        assert rubric.examples and rubric.definition
    assert "Harbor & Pine" in rubrics["brand_voice"].sections[0].body


def test_good_rubric_fields() -> None:
    r = parse_rubric(GOOD, Path("demo.md"))
    assert (r.name, r.title, r.scale_min, r.scale_max) == ("demo", "Demo", 1, 3)
    assert [lv.label for lv in r.levels] == ["Bad", "Fine", "Good"]
    assert r.examples[0].response == "Hello there,\nhow can I help?"
    assert [s.title for s in r.sections] == ["Voice guide"]
    assert len(r.content_hash) == 64
    assert parse_rubric(GOOD + " ", Path("demo.md")).content_hash != r.content_hash


@pytest.mark.parametrize(
    ("mutate", "line", "place", "words"),
    [
        (lambda t: t.replace("---\nname", "name", 1), 1, "front matter", "no YAML front matter"),
        (
            lambda t: t.replace("scale: {min: 1, max: 3}", "scale: {min: 3, max: 1}"),
            3,  # the line of 'scale:' (was always 1)
            "front matter",
            "invalid scale",
        ),
        (
            lambda t: t.replace("scale: {min: 1, max: 3}", "scale: [1, 3"),
            3,
            "front matter",
            "not valid YAML",
        ),
        (lambda t: t.replace("name: demo", "name: other"), 2, "front matter", "differs"),
        (
            lambda t: t.replace("### 2 - Fine\nFine things.\n", ""),
            13,
            "## Scale",
            "levels [2] have no description",
        ),
        (lambda t: t.replace("### 2 - Fine", "### Fine"), 16, "## Scale", "does not start"),
        (lambda t: t.replace("### 3 - Good", "### 7 - Good"), 18, "## Scale", "outside"),
        (lambda t: t.replace("Fine things.", ""), 16, "## Scale", "no description"),
        (lambda t: t.replace("(score 3)", "(great)"), 22, "## Examples", "has no score"),
        (lambda t: t.replace("**Why:** Friendly.", ""), 22, "## Examples", "no Why:"),
        (
            lambda t: t.replace("## Definition\nWhat demo means.\n", ""),
            None,
            "## Definition",
            "no '## Definition' section",
        ),
    ],
)
def test_broken_rubric_names_file_line_and_fix(
    mutate: object, line: int | None, place: str, words: str
) -> None:
    text = mutate(GOOD)  # type: ignore[operator]
    with pytest.raises(SourceError) as err:
        parse_rubric(text, Path("rubrics/demo.md"))
    msg = str(err.value)
    assert msg.startswith("rubrics/demo.md")
    assert err.value.line == line
    assert f"[{place}]" in msg
    assert words in msg
    assert "Fix: " in msg and err.value.fix


def test_missing_rubric_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="rubric file not found"):
        load_rubrics(tmp_path, ["nope"])


def test_a_decimal_level_is_an_error(tmp_path: Path) -> None:
    """'### 3.5' used to be read as level 3 with the label '5'."""
    source = (REPO / "rubrics" / "tone.md").read_text()
    path = tmp_path / "tone.md"
    path.write_text(source.replace("### 3 - Neutral", "### 3.5 - Neutral"))
    with pytest.raises(SourceError, match="does not start with a score"):
        load_rubric(path)


def test_bom_and_binary_rubrics(tmp_path: Path) -> None:
    path = tmp_path / "tone.md"
    path.write_bytes(b"\xef\xbb\xbf" + (REPO / "rubrics" / "tone.md").read_bytes())
    assert load_rubric(path).name == "tone"  # a UTF-8 BOM no longer hides the front matter
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(SourceError, match="not UTF-8"):
        load_rubric(path)


@pytest.mark.parametrize(
    ("old", "new", "line", "place", "problem", "fix"),
    [
        (
            "## Scale",
            "## Scael",
            13,
            "## Scael",
            "unknown section 'Scael'",
            "did you mean 'Scale'?",
        ),
        (
            "## Definition",
            "## Definiton",
            7,
            "## Definiton",
            "unknown section 'Definiton'",
            "did you mean 'Definition'?",
        ),
        (
            "## Examples",
            "# Examples",
            21,
            "## Examples",
            "'# Examples' is a level-1 heading",
            "write '## Examples' (two #)",
        ),
        (
            "**Prompt:** Hi",
            "**Promt:** Hi",
            23,
            "## Examples",
            "unknown field 'Promt:'",
            "did you mean 'Prompt:'?",
        ),
        (
            "scale: {min: 1, max: 3}",
            "scale: {min: 1, max: 3}\nreference: requird",
            4,
            "front matter",
            "'reference' is 'requird'",
            "did you mean 'required'?",
        ),
        (
            "scale: {min: 1, max: 3}",
            "scale: {min: 1, max: 3}\nrefrence: required",
            4,
            "front matter",
            "unknown front matter key 'refrence'",
            "did you mean 'reference'?",
        ),
        ("name: demo", "name: Demo", 2, "front matter", "'name' is 'Demo'", "lowercase"),
    ],
)
def test_a_misspelt_heading_or_field_names_its_line_and_the_right_word(
    old: str, new: str, line: int, place: str, problem: str, fix: str
) -> None:
    # '## Scael' used to be passed to the judge as free text, and the error only said that
    # '## Scale' was missing, with no line; front matter errors all said line 1.
    assert old in GOOD
    with pytest.raises(SourceError) as err:
        parse_rubric(GOOD.replace(old, new, 1), Path("rubrics/demo.md"))
    assert (err.value.line, err.value.place) == (line, place)
    assert problem in err.value.problem and fix in err.value.fix


def test_a_custom_section_far_from_the_required_ones_is_still_free_text() -> None:
    text = GOOD.replace("## Voice guide", "## Sample answers")
    assert [s.title for s in parse_rubric(text, Path("demo.md")).sections] == ["Sample answers"]
