"""Derive the real-text corpus the guard tests read (stdlib only; never run by the tests).

Usage: ``python tests/data/real_text/derive.py ANCHORS [OUT]`` where ANCHORS holds
``stanford_politeness/``, ``pavlick_formality_1k/`` and ``topical_chat_usr/`` as published.
Writes ``politeness.jsonl`` (700 Wikipedia + 700 Stack Exchange requests),
``topical_chat.jsonl`` (all 360 USR responses, each with its dialogue: the last turn as
``prompt``, the earlier turns as ``context``) and ``formality.jsonl`` (240 sentences) to OUT
(default: beside this script). The selection is deterministic: items ordered by the SHA-256
of their id (or text), first N taken. Texts without a single letter or digit ("???") are left
out: they have no content, so flooring them would be right, and they would blur what the
test measures (real text the guard must not floor).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
POLITENESS = {"wikipedia": 700, "stack-exchange": 700}
FORMALITY = 240


def _order(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _has_content(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def politeness(root: Path) -> list[dict[str, Any]]:
    """Requests from both communities, ``N`` of each."""
    out: list[dict[str, Any]] = []
    for name, count in POLITENESS.items():
        with open(root / "stanford_politeness" / f"{name}.annotated.csv", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if _has_content(r["Request"])]
        rows.sort(key=lambda r: _order(f"{name}:{r['Id']}"))
        out += [
            {"source": f"stanford_politeness/{name}", "id": r["Id"], "text": r["Request"]}
            for r in rows[:count]
        ]
    return out


def topical_chat(root: Path) -> list[dict[str, Any]]:
    """Every USR response with the dialogue it answers (turns are separated by newlines)."""
    items = json.loads((root / "topical_chat_usr" / "topical_chat.json").read_text("utf-8"))
    out: list[dict[str, Any]] = []
    for n, item in enumerate(items):
        turns = [t.strip() for t in item["source"].split("\n") if t.strip()]
        out.append(
            {
                "source": "topical_chat_usr",
                "id": f"{n // 6}:{item['system_id']}",
                "prompt": turns[-1],
                "context": turns[:-1],
                "text": item["system_output"].strip(),
            }
        )
    return out


def formality(root: Path) -> list[dict[str, Any]]:
    """Sentences from all three splits of the 1k subset."""
    rows: list[str] = []
    for split in ("train", "validation", "test"):
        with open(root / "pavlick_formality_1k" / f"{split}.csv", encoding="utf-8") as fh:
            rows += [r["text"] for r in csv.DictReader(fh) if _has_content(r["text"])]
    rows = sorted(set(rows), key=_order)[:FORMALITY]
    return [{"source": "pavlick_formality_1k", "id": _order(t)[:12], "text": t} for t in rows]


def main(argv: list[str]) -> None:
    if len(argv) not in (1, 2):
        raise SystemExit("usage: derive.py ANCHORS [OUT]")
    root = Path(argv[0])
    out = Path(argv[1]) if len(argv) == 2 else HERE
    for name, rows in (
        ("politeness", politeness(root)),
        ("topical_chat", topical_chat(root)),
        ("formality", formality(root)),
    ):
        with open(out / f"{name}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        print(f"{name}: {len(rows)} texts -> {out / f'{name}.jsonl'}")


if __name__ == "__main__":
    main(sys.argv[1:])
