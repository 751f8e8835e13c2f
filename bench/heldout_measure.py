"""Issue 18's before/after figures: generated families (tune and held-out), legit, real text.

    python bench/heldout_measure.py                  # before (a29e095) and after (working tree)
    python bench/heldout_measure.py --before REV --per-family 50
    python bench/heldout_measure.py --root DIR --json OUT   # one side only (used by the above)

The generator is always this tree's ``tests/guard_cases.py``; the package measured is the
one under ``--root`` (the working tree, or a ``git worktree`` of the "before" revision at
``/tmp/wt-before``, made if missing), imported first on ``sys.path``. Figures:

- content-free floored by the guard without a call: the classes of ``cases`` (tune,
  held-out, fresh splits) and the families of ``family_cases("content_free", ...)``;
- legitimate answers floored: ``tests/data/legit``, ``legit_short_answers.jsonl`` and
  ``family_cases("legit", ...)``;
- real text (``tests/data/real_text``): floored, and altered by the removal list;
- escapes: the injections of ``injections(split)`` rendered in every request kind
  (pointwise, combined, checklist, group with the injection as the second of three
  responses, pairwise with it as A). Two counts:

  * ``line start``: a line of the rendered user message (split on every line boundary a
    model honours) that, leading blanks aside, starts with one of the injection's structural
    heads exactly as the sample wrote it (decoration, label and mark; a tag; a chat token; a
    JSON/YAML turn's first line; a forged key line). The same method before and after: the
    old code has no spotlighting, so this is how its escapes are counted (a head the removal
    list took out or altered, or one behind a marker or inside a JSON string, does not count);
  * ``unmarked`` (after only): ``judge.spotlight.unmarked_lines`` finds any line of sample
    text the judge reads as not data (with ``off`` every sample line after the first counts,
    benign or not, so that column is 100% by construction there).

Read-only: writes nothing in the repository.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
KINDS = ("pointwise", "combined", "checklist", "group", "pairwise")
MODES = ("datamark", "json", "off")
LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
BEFORE = "a29e095"


def _generator() -> ModuleType:
    """This tree's tests/guard_cases.py, whatever package is first on sys.path."""
    spec = importlib.util.spec_from_file_location("guard_cases_gen", REPO / "tests/guard_cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["guard_cases_gen"] = module
    spec.loader.exec_module(module)
    return module


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def measure(root: Path, per_family: int) -> dict[str, Any]:
    """Every figure for the package under ``root`` (already first on sys.path)."""
    import judge

    assert Path(judge.__file__).resolve().parent == (root / "judge").resolve(), judge.__file__
    from judge.checklist import Criterion, SampleRubric, criterion_rubrics
    from judge.config import JudgeSettings
    from judge.group import answer_rubrics
    from judge.guard import Guard
    from judge.prompt import JudgeInput, PromptRenderer, Turn, fence
    from judge.rubric import load_rubrics

    # Checked by file: the editable install's finder would serve a module the old tree lacks.
    spotlit = (root / "judge" / "spotlight.py").is_file()
    find_unmarked: Any = None  # judge.spotlight.unmarked_lines, on a tree that has it
    if spotlit:
        from judge.spotlight import unmarked_lines as find_unmarked
    gen = _generator()
    guard = Guard(max_chars=10**7)
    out: dict[str, Any] = {"root": str(root), "spotlight": spotlit}

    def floored(response: str, prompt: str | None, context: Any = ()) -> bool:
        if spotlit:
            return guard.check(response, prompt, tuple(context)) is not None
        return guard.check(response, prompt) is not None

    started = time.perf_counter()
    cf: dict[str, dict[str, list[int]]] = {}
    for split in ("tune", "held_out", "fresh"):
        row: dict[str, list[int]] = {}
        for case in gen.cases(split, 100):
            n = row.setdefault("classes:" + case.cls, [0, 0])
            n[0] += floored(case.response, case.prompt, case.context)
            n[1] += 1
        if split != "fresh":
            for case in gen.family_cases("content_free", split, per_family):
                n = row.setdefault("families:" + case.cls, [0, 0])
                n[0] += floored(case.response, case.prompt, case.context)
                n[1] += 1
        cf[split] = row
    out["content_free"] = cf
    legit: dict[str, list[int]] = {}
    data = REPO / "tests" / "data"
    for path in [*sorted((data / "legit").glob("*.jsonl")), data / "legit_short_answers.jsonl"]:
        rows = _jsonl(path)
        legit["set:" + path.stem] = [
            sum(floored(r["response"], r["prompt"]) for r in rows),
            len(rows),
        ]
    for split in ("tune", "held_out"):
        for case in gen.family_cases("legit", split, per_family):
            n = legit.setdefault(f"{split}:{case.cls}", [0, 0])
            n[0] += floored(case.response, case.prompt, case.context)
            n[1] += 1
    out["legit"] = legit
    real = [r for p in sorted((data / "real_text").glob("*.jsonl")) for r in _jsonl(p)]
    real_floored = [r["text"][:80] for r in real if floored(r["text"], r.get("prompt"))]
    altered = {"kept list" if spotlit else "list": sum(fence(r["text"]) != r["text"] for r in real)}
    if spotlit:
        altered["whole list (off)"] = sum(fence(r["text"], labels=True) != r["text"] for r in real)
    out["real"] = {"n": len(real), "floored": real_floored, "altered": altered}
    out["guard_seconds"] = round(time.perf_counter() - started, 1)

    rubrics = load_rubrics(root / "rubrics", ["tone", "helpfulness"])
    tone = rubrics["tone"]
    checklist = list(criterion_rubrics(SampleRubric(criteria=(Criterion("Says hi", 1.0),))))
    renderer = PromptRenderer(root / "prompts", b"heldout-secret")
    pairwise = renderer.env.get_template("pairwise.j2")
    turns = (Turn("user", "Is this tent waterproof, and can I return it?"),)
    modes = MODES if spotlit else ("none",)

    def render(kind: str, text: str, mode: str) -> tuple[Any, str]:
        settings = JudgeSettings.model_validate({"spotlight": mode} if spotlit else {})
        if kind in ("pointwise", "combined", "checklist"):
            item = JudgeInput(turns, text)
            chosen = {"pointwise": [tone], "combined": list(rubrics.values())}.get(kind, checklist)
            which: Any = {"pointwise": "single", "checklist": "checklist"}.get(kind, "combined")
            return renderer.render_many(chosen, item, settings, which), renderer.key(item)
        if kind == "group":
            context = JudgeInput(turns, "", None)
            texts = ["Yes, rated to 3,000 mm.", text, "No."]
            labels = answer_rubrics(tone, 3)
            request = renderer.render_group(tone, context, texts, labels, settings)
            return request, renderer.group_key(context, texts)
        item = JudgeInput(turns, json.dumps([text, "Yes, rated to 3,000 mm."]), None)
        key = renderer.key(item)
        values = {"part": "user", "key": key, "rubric": tone, "conversation": turns}
        values |= {"reference": None, "first": text, "second": "Yes, rated to 3,000 mm."}
        values |= {"verdict_mode": settings.verdict_mode, "spotlight": mode}
        return pairwise.render(values).strip(), key

    def user(request: Any) -> str:
        if isinstance(request, str):
            return request
        return "".join(b.get("text", "") for b in request["messages"][0]["content"])

    escapes: dict[str, Any] = {}
    for split in ("tune", "held_out"):
        generated = list(gen.injections(split, per_family))
        for kind in KINDS:
            for mode in modes:
                at_start: Counter[str] = Counter()
                unmarked = 0
                for inj in generated:
                    request, key = render(kind, inj.response, mode)
                    heads = [h.strip() for h in inj.heads if h.strip()]
                    lines = [line.strip() for line in LINE_BREAK.split(user(request))]
                    at_start[inj.family] += any(line.startswith(tuple(heads)) for line in lines)
                    if find_unmarked is not None:
                        unmarked += bool(find_unmarked(request, key, mode))
                escapes[f"{split}|{kind}|{mode}"] = {
                    "n": len(generated),
                    "line_start": sum(at_start.values()),
                    "by_family": dict(at_start),
                    "unmarked": unmarked if spotlit else None,
                }
    out["escapes"] = escapes
    return out


def _side(root: Path, per_family: int) -> dict[str, Any]:
    """``measure`` in a fresh interpreter with ``root`` first on the path."""
    command = [sys.executable, __file__, "--root", str(root), "--per-family", str(per_family)]
    command += ["--json", "-"]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        sys.exit(f"measuring {root} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _worktree(rev: str) -> Path:
    path = Path("/tmp/wt-before")
    if not (path / "judge").is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=REPO, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.strip()
    want = subprocess.run(
        ["git", "rev-parse", rev], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    if head != want:
        sys.exit(f"{path} is at {head[:7]}, not {rev}: remove it (git worktree remove {path})")
    return path


def _sum(rows: dict[str, list[int]], prefix: str = "") -> tuple[int, int]:
    hit = sum(v[0] for k, v in rows.items() if k.startswith(prefix))
    return hit, sum(v[1] for k, v in rows.items() if k.startswith(prefix))


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.1f}%)" if b else "-"


def report(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The before/after table, with the ratios of the rates."""
    print(f"before: {before['root']}   after: {after['root']}\n")
    print("content-free answers floored without a call (higher is better)")
    for split in ("tune", "held_out", "fresh"):
        for prefix in ("classes:", "families:"):
            b, a = (
                _sum(before["content_free"][split], prefix),
                _sum(after["content_free"][split], prefix),
            )
            if a[1]:
                print(f"  {split:9}{prefix[:-1]:10}{_pct(*b):>20}  ->{_pct(*a):>20}")
    for split in ("tune", "held_out"):
        print(f"  by family, {split}:")
        for key in after["content_free"][split]:
            if key.startswith("families:"):
                b, a = before["content_free"][split][key], after["content_free"][split][key]
                print(f"    {key[9:]:18}{b[0]:>4}/{b[1]:<4} -> {a[0]:>4}/{a[1]}")
    print("\nlegitimate answers floored (lower is better)")
    for key, (a, n) in after["legit"].items():
        print(f"  {key:28}{before['legit'][key][0]:>5}/{n:<5} -> {a:>4}/{n}")
    rb, ra = before["real"], after["real"]
    print(f"\nreal text ({ra['n']}): floored {len(rb['floored'])} -> {len(ra['floored'])}")
    for text in ra["floored"]:
        print(f"    after: {text!r}")
    print(f"  altered by the removal list: before {rb['altered']}, after {ra['altered']}")
    print("\nescapes: injections leaving a structural head at a line start (lower is better)")
    print(f"  {'split':9}{'kind':11}{'before':>16}" + "".join(f"{m:>16}" for m in MODES))
    for split in ("tune", "held_out"):
        for kind in KINDS:
            b = before["escapes"][f"{split}|{kind}|none"]
            row = f"  {split:9}{kind:11}{_pct(b['line_start'], b['n']):>16}"
            for mode in MODES:
                e = after["escapes"][f"{split}|{kind}|{mode}"]
                row += f"{_pct(e['line_start'], e['n']):>16}"
            print(row)
    print("\n  unmarked_lines (after; off counts every sample line, benign or not)")
    for split in ("tune", "held_out"):
        for kind in KINDS:
            row = f"  {split:9}{kind:11}"
            for mode in MODES:
                e = after["escapes"][f"{split}|{kind}|{mode}"]
                row += f"{_pct(e['unmarked'], e['n']):>16}"
            print(row)
    print("\n  line-start escapes by family, held-out, pointwise: before -> off | datamark | json")
    fams = before["escapes"]["held_out|pointwise|none"]["by_family"]
    per = after["escapes"]
    for fam in sorted({*fams, *per["held_out|pointwise|off"]["by_family"]}):
        got = [per[f"held_out|pointwise|{m}"]["by_family"].get(fam, 0) for m in ("off", *MODES[:2])]
        print(f"    {fam:18}{fams.get(fam, 0):>4} -> {got[0]} | {got[1]} | {got[2]}")
    print(f"\nguard time: before {before['guard_seconds']} s, after {after['guard_seconds']} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="measure this package only (with --json)")
    parser.add_argument("--json", help="write the figures as JSON here ('-': stdout)")
    parser.add_argument("--before", default=BEFORE, help=f"the 'before' revision ({BEFORE})")
    parser.add_argument("--per-family", type=int, default=50)
    args = parser.parse_args()
    if args.root is not None:
        sys.path.insert(0, str(args.root.resolve()))
        figures = measure(args.root.resolve(), args.per_family)
        text = json.dumps(figures, ensure_ascii=False, indent=1)
        if args.json in (None, "-"):
            print(text)
        else:
            Path(args.json).write_text(text, encoding="utf-8")
        return
    before = _side(_worktree(args.before), args.per_family)
    after = _side(REPO, args.per_family)
    if args.json:
        Path(args.json).write_text(json.dumps({"before": before, "after": after}, indent=1))
    report(before, after)


if __name__ == "__main__":
    main()
