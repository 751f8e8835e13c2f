"""The package's shape, checked from its source: what a newcomer can rely on when reading it.

No module imports another's private names; the runtime modules (``judge/*.py``, and
``judge/kinds/`` once it exists) import each other without cycles at module level, keep
every class under 250 lines and every function under 60. Each rule is also run on a small
source that breaks it, so a checker that stopped finding anything would fail here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "judge"
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    """``judge/run.py`` -> ``judge.run``; a package's ``__init__.py`` is the package."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, ast.Module]:
    """Every module of the package, parsed, by dotted name."""
    return {module_name(p): ast.parse(p.read_text("utf-8")) for p in sorted(ROOT.rglob("*.py"))}


def runtime() -> dict[str, ast.Module]:
    """The runtime modules: ``judge/*.py`` and ``judge/kinds/*.py``."""
    paths = [*ROOT.glob("*.py"), *(ROOT / "kinds").glob("*.py")]
    return {module_name(p): ast.parse(p.read_text("utf-8")) for p in sorted(paths)}


def private_imports(name: str, tree: ast.Module) -> list[str]:
    """``from judge.x import _y`` anywhere in ``name`` (its own names and package aside)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if node.module.split(".")[0] != "judge" or node.module == name:
            continue
        found += [
            f"{name}: from {node.module} import {a.name}"
            for a in node.names
            if a.name.startswith("_") and not a.name.startswith("__")
        ]
    return found


def module_imports(tree: ast.Module) -> Iterator[str]:
    """The judge modules a module imports when it is imported (not under TYPE_CHECKING)."""
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def cycles(trees: dict[str, ast.Module]) -> list[list[str]]:
    """Import cycles among ``trees`` (each as a path that returns to its start)."""
    graph = {
        name: sorted({d for d in module_imports(tree) if d in trees and d != name})
        for name, tree in trees.items()
    }
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in graph[name]:
            if state.get(dep) == 1:
                found.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    return found


def too_long(name: str, tree: ast.Module) -> list[str]:
    """Classes over 250 lines and functions (methods too) over 60, with their length."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
            if lines > limit:
                found.append(f"{name}.{node.name}: {lines} lines (limit {limit})")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    problems = [p for name, tree in sources().items() for p in private_imports(name, tree)]
    assert problems == []


def test_runtime_modules_import_each_other_without_cycles() -> None:
    trees = runtime()
    assert {"judge.pipeline", "judge.planner", "judge.run", "judge.assemble"} <= set(trees)
    assert cycles(trees) == []


def test_runtime_classes_and_functions_are_short() -> None:
    problems = [p for name, tree in runtime().items() for p in too_long(name, tree)]
    assert problems == []


def test_the_checks_find_what_they_look_for() -> None:
    """Each rule on a source that breaks it (the checks above must be able to fail)."""
    leak = ast.parse("def f():\n    from judge.bedrock import _secret, public\n")
    assert private_imports("judge.other", leak) == [
        "judge.other: from judge.bedrock import _secret"
    ]
    assert private_imports("judge.bedrock", leak) == []  # its own names
    loop = {
        "judge.a": ast.parse("from judge.b import x\n"),
        "judge.b": ast.parse("from judge import a\n"),
        "judge.c": ast.parse("if TYPE_CHECKING:\n    from judge.a import y\nimport judge.b\n"),
    }
    assert cycles(loop) == [["judge.a", "judge.b", "judge.a"]]
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    long = ast.parse(f"class K:\n    def m(self):\n{body.replace('    ', '        ')}\n")
    assert too_long("judge.k", long) == ["judge.k.m: 61 lines (limit 60)"]
    assert too_long("judge.k", ast.parse("def short():\n    return 1\n")) == []
