"""The ``python`` check: a function of the project scores the sample.

For what no built-in kind states: the function gets the parsed sample (``CheckInput``:
conversation, response, reference, the sample as sent) and returns a bool or a number in
0..1::

    [checks.no_order_leak]
    kind = "python"
    function = "checks.support:no_order_leak"   # checks/support.py beside reward.toml
    timeout_s = 1.0                             # per call
    memory_mb = 512                             # the worker's allocations past its start

    # checks/support.py
    def no_order_leak(sample) -> bool:
        return "internal-" not in sample.response

The module is resolved under the config's folder (``checks.support`` or
``checks/support.py``; a path that leaves the folder, symlinks included, is refused) and
imported when the config loads, so a missing file, a syntax error, an import that raises,
a missing function or one that cannot take one argument is a ValueError naming the file and
the fix. Its top-level imports see the config's folder on ``sys.path``. The file ships in
the Lambda zip and counts in ``evaluator_version`` (``sources``); helpers it imports from
the project are not listed: keep a check's code in its file.

Each call runs in a forked worker process (``judge.checks.python_worker``) within
``timeout_s``: a function that raises, returns anything but a bool or a finite number in
0..1, allocates past ``memory_mb`` (a MemoryError), or runs past its limit (the worker is
killed) leaves that sample's dimension unscored (``check_error`` with the exception's type
and message, or ``check_timeout``), and the batch goes on. Module state persists from call
to call within a worker, as it would in one process; a new worker starts from the state
after import.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from judge.checks.base import Check, CheckInput, CheckResult, CheckSpec
from judge.checks.python_worker import Crashed, Timeout, Worker
from judge.text import clean
from judge.verdict import Unscored

EXAMPLE = "e.g. function = 'checks.support:no_pii' for def no_pii(sample) in checks/support.py"


class PythonSpec(CheckSpec):
    """A ``[checks.<name>]`` table of kind ``python``."""

    KIND: ClassVar[str] = "python"
    kind: Literal["python"] = "python"
    function: str
    timeout_s: float = Field(default=1.0, gt=0.0, le=60.0)
    # What the worker may allocate beyond what it starts with (0: no limit).
    memory_mb: int = Field(default=512, ge=0, le=10_240)

    @field_validator("function")
    @classmethod
    def _shape(cls, value: str) -> str:
        module, _, name = value.rpartition(":")
        if not module or not name.isidentifier():
            raise ValueError(f"function = {value!r} is not 'module:function'. Fix: {EXAMPLE}")
        return value

    def module_path(self, root: Path) -> Path:
        """The module's file under ``root`` (ValueError when it is missing or outside)."""
        module = self.function.rpartition(":")[0]
        if module.endswith(".py") or "/" in module:
            candidates = [root / module]
        else:
            parts = module.split(".")
            if not all(p.isidentifier() for p in parts):
                raise ValueError(f"module {module!r} is not a dotted module name. Fix: {EXAMPLE}")
            base = root.joinpath(*parts)
            candidates = [base.with_suffix(".py"), base / "__init__.py"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise ValueError(
                f"no file {str(candidates[0])!r} for function = {self.function!r}. Fix: put the "
                "module under the config's folder or correct the name"
            )
        if not found.resolve().is_relative_to(root.resolve()):
            raise ValueError(
                f"{str(found)!r} is outside the config's folder {str(root)!r}. Fix: move the "
                "module under it (it ships in the Lambda zip from there)"
            )
        return found

    def sources(self, root: Path) -> tuple[Path, ...]:
        """The module's file."""
        return (self.module_path(root),)

    def build(self, name: str, root: Path) -> Check:
        """The check, its module imported and its function found (ValueError: file, fix)."""
        path = self.module_path(root)
        function = load_function(path, self.function.rpartition(":")[2], root)
        return PythonCheck(name, self, function)


def load_function(path: Path, name: str, root: Path) -> Callable[[Any], object]:
    """``name`` from the module at ``path``, imported with ``root`` on ``sys.path``."""
    source = path.read_text("utf-8", errors="replace")
    try:
        ast.parse(source, str(path))
    except SyntaxError as exc:
        raise ValueError(
            f"{path}:{exc.lineno}: syntax error: {exc.msg}. Fix: correct the module"
        ) from None
    # A name of its own (two configs' checks/support.py stay apart), registered in
    # sys.modules as imports are (dataclasses and pickling look the module up there).
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(f"judge_check_{digest}_{path.stem}", path)
    assert spec is not None and spec.loader is not None  # a .py file always has one
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(root))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[spec.name]
        raise ValueError(
            f"{path}: importing it raised {type(exc).__name__}: {str(exc)[:200]}. Fix: correct "
            "the module (it is imported when the config loads)"
        ) from None
    finally:
        sys.path.remove(str(root))
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{path} has no function {name!r}. Fix: define def {name}(sample)")
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        raise ValueError(
            f"{path}: {name}{inspect.signature(function)} cannot take the sample as its one "
            f"argument. Fix: def {name}(sample) -> float | bool"
        ) from None
    except ValueError:  # no signature to read (a builtin): let the call tell
        pass
    return function  # type: ignore[no-any-return]


class PythonCheck:
    """A built ``python`` check: its function, run in a worker within its limit."""

    kind = PythonSpec.KIND

    def __init__(self, name: str, spec: PythonSpec, function: Callable[[Any], object]) -> None:
        self.name = name
        self.spec = spec
        self.worker = Worker(function, spec.memory_mb)

    def run(self, item: CheckInput) -> CheckResult:
        """The function's score, or unscored with why there is none."""
        limit = self.spec.timeout_s
        try:
            status, value = self.worker.call(item, limit)
        except Timeout:
            return _unscored("check_timeout", f"{self.spec.function} ran past {limit} s (killed)")
        except Crashed as exc:
            return _unscored("check_error", f"{self.spec.function}: the worker died ({exc})")
        except Exception as exc:  # the sample could not be sent (pickling it failed)
            return _unscored("check_error", f"the sample cannot be sent: {type(exc).__name__}")
        if status != "ok" or not isinstance(value, float):
            return _unscored("check_error", f"{self.spec.function}: {value}")
        return CheckResult.passed(value)

    def close(self) -> None:
        """Stop the worker process."""
        self.worker.stop()


def _unscored(reason: Literal["check_error", "check_timeout"], detail: str) -> CheckResult:
    return CheckResult.undecided(Unscored(reason=reason, detail=clean(detail)))
