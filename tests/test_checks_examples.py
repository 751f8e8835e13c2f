"""Each built-in kind's docstring example is a table its spec accepts (the docs stay true)."""

from __future__ import annotations

import importlib
import tomllib

import pytest

from judge.checks import KINDS

MODULES = {
    "length": "judge.checks.length",
    "pattern": "judge.checks.pattern",
    "json": "judge.checks.json_check",
    "reference": "judge.checks.reference",
    "language": "judge.checks.language",
    "python": "judge.checks.python_check",
}


def example(module: str) -> str:
    """The indented ``[checks.<name>]`` block of the module's docstring, to its blank line."""
    doc = importlib.import_module(module).__doc__ or ""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("[checks."))
    block = []
    for line in lines[start:]:
        if not line.strip():
            break
        block.append(line.strip())
    return "\n".join(block)


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_the_docstring_example_validates(kind: str) -> None:
    tables = tomllib.loads(example(MODULES[kind]))["checks"]
    ((_name, table),) = tables.items()
    assert table["kind"] == kind
    spec = KINDS[kind].model_validate(table)
    assert spec.kind == kind
