"""What the cold start reads instead of computing: the guard lexicon's prebuilt index.

The index must be exactly what normalising the lexicon gives today, so a lexicon or
normaliser edit without ``tools/build_lexicon_index.py`` fails here, not in production.
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


def test_the_tool_writes_the_shipped_bytes_and_checks_them(tmp_path: Path) -> None:
    out = tmp_path / "index.json"
    subprocess.run([sys.executable, str(TOOL), "--out", str(out)], check=True, cwd=tmp_path)
    assert out.read_bytes() == (DATA / LEXICON_INDEX).read_bytes()
    ok = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    out.write_text(out.read_text("utf-8").replace('"en"', '"xx"', 1), "utf-8")
    stale = subprocess.run(
        [sys.executable, str(TOOL), "--check", "--out", str(out)], capture_output=True
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
