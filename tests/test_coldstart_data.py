"""What the cold start reads instead of computing, and what it leaves to first use.

The guard lexicon's index and the confusables table must be exactly what the code makes
today, so a lexicon, normaliser or dependency change without ``tools/build_lexicon_index.py``
fails here, not in production. Prompt templates compile on first use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import judge.guard as guard_module
from judge.guard import (
    LEXICON,
    LEXICON_INDEX,
    Guard,
    Phrase,
    bundled_phrases,
    indexed_phrases,
    lexicon_index,
)
from judge.text import CONFUSABLES_TABLE, confusables_json, confusables_sha256, confusables_table

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "judge" / "data"
TOOL = REPO / "tools" / "build_lexicon_index.py"


def test_the_index_is_what_the_lexicon_and_normaliser_give_today() -> None:
    """Rebuilt from the lexicon through today's normaliser, it equals the shipped file."""
    lexicon = DATA / LEXICON
    stored = json.loads((DATA / LEXICON_INDEX).read_text("utf-8"))
    assert stored == lexicon_index(lexicon.read_bytes(), lexicon), (
        "judge/data/guard_lexicon_index.json is stale: run python3 tools/build_lexicon_index.py"
    )


def test_the_confusables_table_is_what_the_installed_package_gives_today() -> None:
    stored = json.loads((DATA / CONFUSABLES_TABLE).read_text("utf-8"))
    assert stored["confusables_sha256"] == confusables_sha256()
    assert stored["table"] == confusables_table(confusables_json())
    assert stored["table"]["а"] == "a" and len(stored["table"]) > 1000  # Cyrillic a


def test_a_table_not_of_the_installed_data_is_not_used(tmp_path: Path) -> None:
    """The table is read only while its recorded hash is the installed file's."""
    code = (
        "import json, judge.text as t\n"
        "t.confusables_sha256.cache_clear(); t._confusables.cache_clear()\n"
        "t.confusables_json = lambda: json.dumps({'\\u0430': [{'c': 'q'}]}).encode()\n"
        "print(json.dumps(t._confusables()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert json.loads(done.stdout) == {"а": "q"}, done.stderr


def test_the_tool_writes_the_shipped_bytes_and_checks_them(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(TOOL), "--out", str(tmp_path)], check=True, cwd=tmp_path)
    for name in (LEXICON_INDEX, CONFUSABLES_TABLE):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes()
    ok = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    index = tmp_path / LEXICON_INDEX
    index.write_text(index.read_text("utf-8").replace('"en"', '"xx"', 1), "utf-8")
    stale = subprocess.run(
        [sys.executable, str(TOOL), "--check", "--out", str(tmp_path)], capture_output=True
    )
    assert stale.returncode == 1 and b"out of date" in stale.stdout


def test_bundled_phrases_come_from_the_index_equal_to_parsing() -> None:
    lexicon = DATA / LEXICON
    parsed = guard_module._parse_lexicon(lexicon.read_text("utf-8"), lexicon)
    assert bundled_phrases() == parsed and len(parsed) > 500
    assert any(p.filler for p in parsed) and any(p.reply for p in parsed)


def test_an_edited_lexicon_is_parsed_not_read_from_the_stale_index(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The index is used only for the lexicon bytes it was built from."""
    index = (DATA / LEXICON_INDEX).read_bytes()
    same = (DATA / LEXICON).read_bytes()
    assert indexed_phrases(same, index, DATA / LEXICON) == bundled_phrases()
    assert not caplog.records
    edited = '[[language]]\ncode = "zz"\nphrases = ["Ｗｉｄｇｅｔ  ｆｌｕｆｆ"]\n'.encode()
    for stale in (index, None):
        found = indexed_phrases(edited, stale, DATA / LEXICON)
        assert found == (Phrase("widgetfluff", "Ｗｉｄｇｅｔ  ｆｌｕｆｆ", "zz"),)
    assert "run tools/build_lexicon_index.py" in caplog.text


@pytest.mark.parametrize(
    ("response", "floored"),
    [
        ("Let's think step by step.", True),
        ("Réfléchissons étape par étape", True),
        ("Paris", False),
    ],
)
def test_a_guard_from_the_index_floors_as_before(response: str, floored: bool) -> None:
    assert (Guard().check(response) is not None) is floored


def _prompts(tmp_path: Path, **override: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for source in (REPO / "prompts").glob("*.j2"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    for name, text in override.items():
        (tmp_path / f"{name}.j2").write_text(text, "utf-8")
    return tmp_path


def test_templates_compile_on_first_use_each_kind_alone(tmp_path: Path) -> None:
    """A broken checklist template costs nothing until a checklist is rendered."""
    from judge.config import JudgeSettings
    from judge.errors import SourceError
    from judge.prompt import JudgeInput, PromptRenderer, Turn
    from judge.rubric import load_rubrics

    renderer = PromptRenderer(_prompts(tmp_path, checklist="ok\n\n{% if %}\n"), b"k")
    tone = load_rubrics(REPO / "rubrics", ["tone"])["tone"]
    item = JudgeInput((Turn("user", "Hi?"),), "Hello.")
    assert "Hello." in json.dumps(renderer.render(tone, item, JudgeSettings()))
    with pytest.raises(SourceError) as err:
        renderer.render_many([tone], item, JudgeSettings(), "checklist")
    assert err.value.line == 3 and "checklist.j2" in str(err.value)


def test_template_hashes_are_of_the_bytes_read_at_start_and_rendered(tmp_path: Path) -> None:
    """The hashes name the files' bytes (as before), and an edit after start-up is not used."""
    import hashlib

    from judge.config import JudgeSettings
    from judge.prompt import JudgeInput, PromptRenderer, Turn
    from judge.rubric import load_rubrics

    folder = _prompts(tmp_path)
    renderer = PromptRenderer(folder, b"k")
    names = ("system.j2", "system_combined.j2", "checklist.j2", "user.j2")
    pointwise = hashlib.sha256(b"".join((folder / n).read_bytes() for n in names)).hexdigest()
    group = hashlib.sha256(pointwise.encode() + (folder / "group.j2").read_bytes()).hexdigest()
    assert (renderer.template_hash, renderer.hash_for("group")) == (pointwise, group)
    assert renderer.hash_for("pointwise") == pointwise and renderer.hash_for("group") == group
    (folder / "user.j2").write_text("EDITED {{ response }}", "utf-8")
    tone = load_rubrics(REPO / "rubrics", ["tone"])["tone"]
    request = renderer.render(tone, JudgeInput((Turn("user", "Hi?"),), "Hello."), JudgeSettings())
    assert "EDITED" not in json.dumps(request)
    assert PromptRenderer(folder, b"k").template_hash != pointwise


def test_a_missing_system_or_user_template_is_an_error_at_start(tmp_path: Path) -> None:
    from judge.errors import SourceError
    from judge.prompt import PromptRenderer

    for missing in ("system.j2", "user.j2"):
        folder = _prompts(tmp_path / missing)
        (folder / missing).unlink()
        with pytest.raises(SourceError, match="template not found") as err:
            PromptRenderer(folder)
        assert missing in str(err.value)
