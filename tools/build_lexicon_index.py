"""Build the guard's prebuilt data in ``judge/data/``: the lexicon index, the confusables table.

Normalising the 2,000-odd forms of ``judge/data/guard_lexicon.toml``'s phrases (entity
decoding, Unicode folding, confusables, contractions) took most of the Lambda's init, and
deriving the confusables table from confusable-homoglyphs' 900 kB JSON 50 ms of the first
non-ASCII text; ``guard_lexicon_index.json`` and ``confusables_ascii.json`` hold the results,
so a cold start reads them instead. Each records the SHA-256 of what it was made from (the
lexicon, the installed confusables.json): it is used only while those are unchanged, else the
work is done at run time as before. ``tests/test_coldstart_data.py`` fails when either file
no longer matches what the code makes today. Re-run this after editing the lexicon, the
normaliser or upgrading confusable-homoglyphs. The output is deterministic.

Usage::

    python3 tools/build_lexicon_index.py            # writes both files
    python3 tools/build_lexicon_index.py --check    # exit 1 if either is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from judge.guard import LEXICON, LEXICON_INDEX, lexicon_index  # noqa: E402
from judge.text import (  # noqa: E402
    CONFUSABLES_TABLE,
    confusables_json,
    confusables_sha256,
    confusables_table,
)

DATA = ROOT / "judge" / "data"


def render(lexicon: Path) -> str:
    """The index file's text for ``lexicon``: one phrase a line, so diffs stay readable."""
    index = lexicon_index(lexicon.read_bytes(), lexicon)
    phrases = index.pop("phrases")
    assert isinstance(phrases, list)
    head = json.dumps(index, ensure_ascii=False)[:-1]  # the object, left open
    rows = ",\n".join(json.dumps(row, ensure_ascii=False) for row in phrases)
    return f'{head}, "phrases": [\n{rows}\n]}}\n'


def render_confusables() -> str:
    """The confusables table's text for the installed confusable-homoglyphs, a row a line."""
    table = confusables_table(confusables_json())
    rows = ",\n".join(
        f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v)}" for k, v in sorted(table.items())
    )
    head = json.dumps({"confusables_sha256": confusables_sha256()})[:-1]
    return f'{head}, "table": {{\n{rows}\n}}}}\n'


def main() -> int:
    """Write both files, or with ``--check`` say whether they are current (exit 0) or not (1)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lexicon", type=Path, default=DATA / LEXICON)
    parser.add_argument("--out", type=Path, default=DATA, help="the folder to write to")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    args = parser.parse_args()
    stale = 0
    for name, text in (
        (LEXICON_INDEX, render(args.lexicon)),
        (CONFUSABLES_TABLE, render_confusables()),
    ):
        out = args.out / name
        if not args.check:
            out.write_text(text, "utf-8")
            print(f"wrote {out}")
        elif (out.read_text("utf-8") if out.is_file() else "") != text:
            print(f"{out} is out of date: run python3 tools/build_lexicon_index.py")
            stale = 1
        else:
            print(f"{out} is up to date")
    return stale


if __name__ == "__main__":
    sys.exit(main())
