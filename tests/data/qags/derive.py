"""Derive the QAGS slice the statistics tests need from the published files (stdlib only).

Usage: ``python tests/data/qags/derive.py DIR [OUT]`` where DIR holds UniEval's published
``unieval_predictions_qags_{cnndm,xsum}_result.json`` (and, optionally, the original
``qags_{cnndm,xsum}.json``, used only to check that the human labels agree). Writes
``cnndm.csv`` and ``xsum.csv`` to OUT (default: beside this script): one row per item with the human
consistency label and UniEval's consistency prediction, nothing else (no article or
summary text), which is all G-Eval Table 3's UniEval row depends on.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

SETS = ("cnndm", "xsum")
HERE = Path(__file__).resolve().parent


def derive(source: Path, name: str) -> list[tuple[int, int, float, float]]:
    """(doc_id, system_id, human, unieval) per item of one set, in the published order."""
    items: list[dict[str, Any]] = json.loads(
        (source / f"unieval_predictions_qags_{name}_result.json").read_text(encoding="utf-8")
    )
    original = source / f"qags_{name}.json"
    if original.is_file():  # the predictions file repeats the labels: make sure it is faithful
        labels = json.loads(original.read_text(encoding="utf-8"))
        if [(d["doc_id"], d["scores"]) for d in labels] != [
            (d["doc_id"], d["scores"]) for d in items
        ]:
            raise SystemExit(f"{original}: human labels differ from the predictions file")
    return [
        (
            int(d["doc_id"]),
            int(d["system_id"]),
            float(d["scores"]["consistency"]),
            float(d["predict_scores"]["consistency"]),
        )
        for d in items
    ]


def main(argv: list[str]) -> None:
    """Write one CSV per set; floats keep full precision (``repr``) so results are exact."""
    if len(argv) not in (1, 2):
        raise SystemExit("usage: derive.py DIR [OUT]  (DIR holds unieval_predictions_qags_*.json)")
    source = Path(argv[0])
    out = Path(argv[1]) if len(argv) == 2 else HERE
    for name in SETS:
        rows = derive(source, name)
        with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["doc_id", "system_id", "human", "unieval"])
            writer.writerows((d, s, repr(h), repr(u)) for d, s, h, u in rows)
        print(f"{name}: {len(rows)} items -> {out / f'{name}.csv'}")


if __name__ == "__main__":
    main(sys.argv[1:])
