"""Build ``judge/data/guard_lexicon_index.json``: the guard lexicon's phrases, normalised.

Normalising the 2,000-odd phrases of ``judge/data/guard_lexicon.toml`` (entity decoding,
Unicode folding, confusables, contractions) took most of the Lambda's init; the index holds
the result, so a cold start reads it instead. It records the lexicon's SHA-256: the guard
uses it only while the lexicon is unchanged (else it normalises at init, as before), and
``tests/test_coldstart_data.py`` fails when it no longer matches the lexicon or the
normaliser. Re-run this after editing either. The output is deterministic.

Usage::

    python3 tools/build_lexicon_index.py            # writes the index
    python3 tools/build_lexicon_index.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from judge.guard import LEXICON, LEXICON_INDEX, lexicon_index  # noqa: E402

DATA = ROOT / "judge" / "data"


def render(lexicon: Path) -> str:
    """The index file's text for ``lexicon``: one phrase a line, so diffs stay readable."""
    index = lexicon_index(lexicon.read_bytes(), lexicon)
    phrases = index.pop("phrases")
    assert isinstance(phrases, list)
    head = json.dumps(index, ensure_ascii=False)[:-1]  # the object, left open
    rows = ",\n".join(json.dumps(row, ensure_ascii=False) for row in phrases)
    return f'{head}, "phrases": [\n{rows}\n]}}\n'


def main() -> int:
    """Write the index, or with ``--check`` say whether it is current (exit 0) or not (1)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lexicon", type=Path, default=DATA / LEXICON)
    parser.add_argument("--out", type=Path, default=DATA / LEXICON_INDEX)
    parser.add_argument("--check", action="store_true", help="exit 1 if --out is out of date")
    args = parser.parse_args()
    text = render(args.lexicon)
    if args.check:
        current = args.out.read_text("utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date: run python3 tools/build_lexicon_index.py")
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, "utf-8")
    print(f"wrote {args.out} ({len(json.loads(text)['phrases'])} phrases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
