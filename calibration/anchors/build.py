"""Build the bundled anchor sets from a copy of the public source data (run from the repo root).

    python calibration/anchors/build.py ANCHORS_DIR

ANCHORS_DIR holds ``stanford_politeness/`` and ``pavlick_formality_1k/`` (see the README).

- politeness.jsonl: a stratified slice of the Stanford Politeness Corpus (Wikipedia and
  Stack Exchange requests). Each of the 5 crowd ratings (slider 1..25) is mapped linearly
  onto the tone rubric's 1..5 scale and kept per rater, with the rater ids.
- formality.jsonl: a slice of the Pavlick & Tetreault (2016) formality test split; the label
  is the mean human formality rescaled to 0..1 by the upstream card.
Both are deterministic (fixed seed) so the files are reproducible.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PER_SOURCE = 60  # politeness items from each community
FORMALITY_ITEMS = 100
SEED = 13
POLITENESS_PROMPT = "Write a request to another editor or user."
FORMALITY_PROMPT = "Write one sentence."


def _politeness(shared: Path) -> list[dict[str, object]]:
    rng = random.Random(SEED)
    items: list[dict[str, object]] = []
    for name in ("wikipedia", "stack-exchange"):
        with open(shared / "stanford_politeness" / f"{name}.annotated.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        rows.sort(key=lambda r: float(r["Normalized Score"]))
        # stratify over the normalised score so that the whole range is represented
        step = len(rows) / PER_SOURCE
        picked = [rows[int(i * step + rng.random() * step)] for i in range(PER_SOURCE)]
        for row in picked:
            ratings = [round(1 + (int(row[f"Score{k}"]) - 1) * 4 / 24, 4) for k in range(1, 6)]
            items.append(
                {
                    "id": f"{name}-{row['Id']}",
                    "prompt": POLITENESS_PROMPT,
                    "response": row["Request"],
                    "labels": {"tone": ratings},
                    "raters": {"tone": [row[f"TurkId{k}"] for k in range(1, 6)]},
                }
            )
    return items


def _formality(shared: Path) -> list[dict[str, object]]:
    with open(shared / "pavlick_formality_1k" / "test.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = sorted(rows, key=lambda r: float(r["label"]))
    step = len(rows) / FORMALITY_ITEMS
    return [
        {
            "id": f"formality-{i}",
            "prompt": FORMALITY_PROMPT,
            "response": row["text"],
            "labels": {"formality": float(row["label"])},
        }
        for i, row in enumerate(rows[int(k * step)] for k in range(FORMALITY_ITEMS))
    ]


def _write(path: Path, items: list[dict[str, object]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} items to {path}")


def main() -> None:
    """Write both files next to this script."""
    if len(sys.argv) != 2:
        raise SystemExit("usage: build.py ANCHORS_DIR (holds stanford_politeness/, ...)")
    shared = Path(sys.argv[1])
    _write(HERE / "politeness.jsonl", _politeness(shared))
    _write(HERE / "formality.jsonl", _formality(shared))


if __name__ == "__main__":
    main()
