"""The ``python`` check: a project function in a forked worker, within its time limit."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from judge.checks import KINDS, CheckInput, CheckResult
from judge.checks.python_check import PythonCheck, PythonSpec
from judge.prompt import Turn

SUPPORT = """
import time

LIMIT = 120


def words(sample):
    return len(sample.response.split()) <= LIMIT


def share(sample):
    return sample.response.count("a") / max(1, len(sample.response))


def sees_everything(sample):
    return (
        sample.last_user == "where is it?"
        and sample.reference == "A-1"
        and sample.raw["meta"]["tier"] == "gold"
    )


def moody(sample):
    if sample.response == "loop":
        while True:
            pass
    if sample.response == "sleep":
        time.sleep(60)
    if sample.response == "raise":
        raise ValueError("no such field \\ud800 " + "x" * 1000)
    if sample.response == "hog":
        hoard = bytearray(2**31)  # 2 GiB, past memory_mb
        return len(hoard)
    if sample.response == "exit":
        import os
        os._exit(3)
    return {"nan": float("nan"), "big": 1.5, "text": "yes", "none": None}.get(sample.response, 1)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "support.py").write_text(SUPPORT)
    return tmp_path


def build(root: Path, function: str, timeout_s: float = 0.5) -> PythonCheck:
    spec = KINDS["python"].model_validate(
        {"kind": "python", "function": function, "timeout_s": timeout_s}
    )
    check = spec.build("py", root)
    assert isinstance(check, PythonCheck)
    return check


def sample(response: str) -> CheckInput:
    raw = MappingProxyType({"meta": {"tier": "gold"}})
    return CheckInput((Turn("user", "where is it?"),), response, "A-1", raw)


def test_registered_and_sources(project: Path) -> None:
    assert KINDS["python"] is PythonSpec
    spec = PythonSpec.model_validate({"kind": "python", "function": "checks.support:words"})
    assert spec.sources(project) == (project / "checks" / "support.py",)
    path_form = PythonSpec.model_validate({"kind": "python", "function": "checks/support.py:x"})
    assert path_form.sources(project) == (project / "checks" / "support.py",)


def test_scores_bools_and_numbers_and_sees_the_sample(project: Path) -> None:
    words, share, sees = (
        build(project, f"checks.support:{f}") for f in ("words", "share", "sees_everything")
    )
    try:
        assert words.run(sample("short reply")).score == 1.0
        assert words.run(sample("w " * 121)).score == 0.0
        assert share.run(sample("aab!")).score == 0.5  # 2 of 4 characters
        assert sees.run(sample("x")).score == 1.0
    finally:
        for check in (words, share, sees):
            check.close()


def reason(result: CheckResult) -> str:
    assert result.score is None and result.unscored is not None
    assert not result.unscored.response_caused
    return f"{result.unscored.reason}: {result.unscored.detail}"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("raise", r"check_error: checks.support:moody: ValueError: no such field \ufffd x+$"),
        ("nan", "check_error: .*returned nan, not a number in 0..1"),
        ("big", "check_error: .*returned 1.5, not a number in 0..1"),
        ("text", "check_error: .*returned a str, not a number in 0..1 or a bool"),
        ("none", "check_error: .*returned a NoneType"),
        ("exit", r"check_error: .*the worker died"),
        ("hog", r"check_error: checks.support:moody: MemoryError"),
    ],
)
def test_failures_are_unscored_with_the_reason(project: Path, response: str, expected: str) -> None:
    check = build(project, "checks.support:moody")
    try:
        assert pytest.approx(1.0) == check.run(sample("fine")).score
        got = reason(check.run(sample(response)))
        assert re.match(expected, got), got
        assert len(got) < 400  # the message is truncated
        assert check.run(sample("fine")).score == 1.0  # the batch goes on
    finally:
        check.close()


@pytest.mark.parametrize("response", ["loop", "sleep"])
def test_a_call_past_its_limit_is_killed_and_the_next_one_runs(
    project: Path, response: str
) -> None:
    check = build(project, "checks.support:moody", timeout_s=0.3)
    try:
        assert check.run(sample("fine")).score == 1.0
        pid = check.worker.pid
        began = time.perf_counter()
        got = reason(check.run(sample(response)))
        took = time.perf_counter() - began
        assert got == "check_timeout: checks.support:moody ran past 0.3 s (killed)"
        assert 0.3 <= took < 0.3 + 0.5
        with pytest.raises(ProcessLookupError):  # killed and reaped: it burns nothing
            os.kill(pid, 0)
        assert check.run(sample("fine")).score == 1.0  # a fresh worker
        assert check.worker.pid not in (0, pid)
    finally:
        check.close()


def write(root: Path, name: str, text: str) -> None:
    (root / "checks").mkdir(exist_ok=True)
    (root / "checks" / name).write_text(text)


@pytest.mark.parametrize(
    ("function", "files", "words"),
    [
        ("checks.nothere:f", {}, r"no file '.*checks/nothere.py'.*Fix:"),
        ("checks.bad:f", {"bad.py": "def f(:\n"}, r"checks/bad.py:1: syntax error.*Fix:"),
        ("checks.boom:f", {"boom.py": "1/0\n"}, r"boom.py: importing it raised ZeroDivisionError"),
        ("checks.ok:g", {"ok.py": "def f(s): return 1\n"}, r"ok.py has no function 'g'.*def g"),
        ("checks.ok:f", {"ok.py": "def f(a, b): return 1\n"}, r"f\(a, b\) cannot take.*Fix:"),
        ("checks.ok:f", {"ok.py": "f = 3\n"}, r"has no function 'f'"),
        ("nocolon", {}, r"not 'module:function'.*Fix:"),
        ("../outside:f", {}, r"outside the config's folder|no file"),
        ("checks.a-b:f", {}, r"not a dotted module name"),
    ],
)
def test_load_errors_name_the_file_and_the_fix(
    tmp_path: Path, function: str, files: dict[str, str], words: str
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "outside.py").write_text("def f(s): return 1\n")
    for name, text in files.items():
        write(root, name, text)
    with pytest.raises(ValueError, match=words):
        PythonSpec.model_validate({"kind": "python", "function": function}).build("p", root)


def test_a_module_outside_the_folder_is_refused_even_through_a_symlink(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "checks").mkdir(parents=True)
    (tmp_path / "evil.py").write_text("def f(s): return 1\n")
    (root / "checks" / "evil.py").symlink_to(tmp_path / "evil.py")
    spec = PythonSpec.model_validate({"kind": "python", "function": "checks.evil:f"})
    with pytest.raises(ValueError, match="outside the config's folder"):
        spec.build("p", root)
    up = PythonSpec.model_validate({"kind": "python", "function": "../evil.py:f"})
    with pytest.raises(ValueError, match="outside the config's folder"):
        up.build("p", root)


def test_sibling_imports_resolve_under_the_folder(tmp_path: Path) -> None:
    write(tmp_path, "__init__.py", "")
    write(tmp_path, "helpers.py", "BANNED = ('card',)\n")
    write(
        tmp_path,
        "main.py",
        "from checks.helpers import BANNED\n\n"
        "def f(s):\n    return not any(b in s.response for b in BANNED)\n",
    )
    check = build(tmp_path, "checks.main:f")
    try:
        assert check.run(sample("your card")).score == 0.0
    finally:
        check.close()


@pytest.mark.parametrize(
    "hostile",
    ["a" * 20_000, "\ud800\udfff" * 10_000, "\x00" * 20_000, "1" * 20_000],
)
def test_hostile_samples_are_sent_and_scored(project: Path, hostile: str) -> None:
    check = build(project, "checks.support:share")
    try:
        began = time.perf_counter()
        result = check.run(sample(hostile))
        assert time.perf_counter() - began < 1.0
        expected = hostile.count("a") / len(hostile)
        assert result.score == pytest.approx(expected)
    finally:
        check.close()


def test_forked_from_a_process_with_busy_threads(project: Path) -> None:
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            logging.getLogger("judge.test").debug("busy %s", "x" * 100)

    threads = [threading.Thread(target=busy) for _ in range(3)]
    for thread in threads:
        thread.start()
    check = build(project, "checks.support:words")
    try:
        assert [check.run(sample("a b")).score for _ in range(20)] == [1.0] * 20
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        check.close()


def test_many_calls_are_cheap(project: Path) -> None:
    check = build(project, "checks.support:words")
    try:
        check.run(sample("warm"))
        began = time.perf_counter()
        scores: list[Any] = [check.run(sample("a b c")).score for _ in range(200)]
        assert scores == [1.0] * 200
        assert time.perf_counter() - began < 2.0  # ~0.1 ms a call here, no process per call
    finally:
        check.close()
