"""Measure the guard before and after: generated content-free classes, legit sets, real text.

Usage: ``python bench/guard_measure.py [REV]`` (REV: the git revision of the "before" guard,
default ``a1dc520``, the last commit with the lexicon guard). Loads that revision's
``judge/guard.py`` and lexicon into a scratch module and runs both guards on:

- the generated content-free classes of ``tests/guard_cases.py`` (tune and held-out splits);
- the legitimate-answer sets in ``tests/data/legit/`` and ``tests/data/legit_short_answers.jsonl``;
- the real-text corpus in ``tests/data/real_text/``.

Prints floored counts per class and set. Read-only: writes nothing in the repository.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from judge.guard import Guard  # noqa: E402
from tests.guard_cases import ALL_CLASSES, SPLITS, cases  # noqa: E402


class Checker(Protocol):
    def check(self, response: str, prompt: str | None = None) -> str | None: ...


def old_guard(rev: str) -> Checker:
    """The guard of ``rev``, with its own lexicon."""
    source = subprocess.run(
        ["git", "show", f"{rev}:judge/guard.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lexicon = subprocess.run(
        ["git", "show", f"{rev}:judge/data/guard_lexicon.toml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    scratch = Path(tempfile.mkdtemp())
    (scratch / "guard_lexicon.toml").write_text(lexicon, encoding="utf-8")
    source = source.replace(
        'resources.files("judge").joinpath("data", LEXICON)',
        f"Path({str(scratch / 'guard_lexicon.toml')!r})",
    )
    (scratch / "old_guard.py").write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_guard", scratch / "old_guard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_guard"] = module
    spec.loader.exec_module(module)
    guard: Checker = module.Guard(max_chars=10**7)
    return guard


def _check(guard: Checker, response: str, prompt: str | None, context: Any = ()) -> bool:
    if isinstance(guard, Guard):
        return guard.check(response, prompt, tuple(context)) is not None
    return guard.check(response, prompt) is not None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def main(argv: list[str]) -> None:
    rev = argv[0] if argv else "a1dc520"
    guards: dict[str, Checker] = {"before": old_guard(rev), "after": Guard(max_chars=10**7)}
    for split in SPLITS:
        generated = list(cases(split, 100))
        print(f"\ngenerated content-free answers, {split} split (floored / total)")
        for name, guard in guards.items():
            floored: Counter[str] = Counter()
            for case in generated:
                floored[case.cls] += _check(guard, case.response, case.prompt, case.context)
            total = Counter(c.cls for c in generated)
            row = "  ".join(f"{c} {floored[c]}/{total[c]}" for c in ALL_CLASSES)
            print(f"  {name:6} {row}  all {sum(floored.values())}/{len(generated)}")
    legit = {
        p.stem: _jsonl(p)
        for p in [
            *sorted((REPO / "tests/data/legit").glob("*.jsonl")),
            REPO / "tests/data/legit_short_answers.jsonl",
        ]
    }
    print("\nlegitimate answers floored")
    for name, guard in guards.items():
        row = "  ".join(
            f"{k} {sum(_check(guard, r['response'], r['prompt']) for r in v)}/{len(v)}"
            for k, v in legit.items()
        )
        print(f"  {name:6} {row}")
    real = [r for p in sorted((REPO / "tests/data/real_text").glob("*.jsonl")) for r in _jsonl(p)]
    print("\nreal text floored")
    for name, guard in guards.items():
        started = time.perf_counter()
        hits = [r for r in real if _check(guard, r["text"], r.get("prompt"), r.get("context", ()))]
        took = time.perf_counter() - started
        print(f"  {name:6} {len(hits)}/{len(real)} ({took:.1f} s)")
        for r in hits:
            print(f"         {r['source']}: {r['text'][:80]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
