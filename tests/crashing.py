"""A backend that kills its own process on demand: the worker tests' stand-in for llama.cpp.

It answers as the scripted judge does, except when the request carries a marker:
``SEGV-NOW`` makes it read address 0 in C (SIGSEGV, as inside llama_decode), ``EXIT-NOW``
exits with status 3, ``HANG-NOW`` holds the call until the server stops (so a test can kill
the worker mid-request). Importable by the spawned worker (``tests`` is a package).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import threading
from typing import Any

from judge.server.scripted import ScriptedJudge
from judge.server.worker import WorkerSpec

SEGV = "SEGV-NOW"
EXIT = "EXIT-NOW"
HANG = "HANG-NOW"


class CrashingJudge:
    """The scripted judge, plus a crash, an exit or a hang when the request asks for one."""

    def __init__(self) -> None:
        self.scripted = ScriptedJudge()

    def converse(
        self, model_id: str, request: dict[str, Any], stopping: threading.Event
    ) -> dict[str, Any]:
        """Answer, or die as the request's marker says."""
        text = json.dumps(request)
        if SEGV in text:
            segfault()
        if EXIT in text:
            os._exit(3)
        if HANG in text:
            stopping.wait(120)
        return self.scripted.converse(model_id, request, stopping)


def crashing_spec() -> WorkerSpec:
    """The crashing judge as a worker runs it."""
    return WorkerSpec(CrashingJudge, "crashing-test", "crash-on-demand")


def failing_to_load() -> CrashingJudge:
    """A factory whose model cannot be loaded (a Python error while loading)."""
    raise ValueError("tensor 'output.weight' has the wrong shape")


def crashing_while_loading() -> CrashingJudge:
    """A factory that dies natively while loading."""
    segfault()
    raise AssertionError("unreachable")


def segfault() -> None:
    """A real native crash: C code reading address 0, as a broken llama_decode would."""
    ctypes.string_at(0)
    os.kill(os.getpid(), signal.SIGSEGV)  # not reached where address 0 is unmapped
