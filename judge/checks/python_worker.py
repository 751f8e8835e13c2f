"""A forked worker process that runs one user function per call, within a time limit.

AWS Lambda has no ``/dev/shm``, so ``multiprocessing``'s Pool, Queue and locks (POSIX
semaphores) fail there; a plain ``os.fork`` with two pipes works anywhere Linux does. The
worker is forked once (after the user's module is imported in the parent, so it starts with
everything loaded, in ~ms) and serves calls until it is killed: a call that outlives its
limit kills it (SIGKILL: a loop burns no more CPU), and the next call forks a fresh one.

Forking a process that has threads is hazardous only for locks another thread holds at that
instant: CPython takes the import lock around ``fork`` and ``logging`` re-initialises its
handler locks in the child; the child then only reads a pipe, calls the function and writes
a pipe. Python 3.12+ warns about ``fork`` with threads; the warning is silenced here for that
reason. Calls are serialised (one worker, one lock).

Messages: the sample goes to the child pickled (the parent's own objects); the child answers
in JSON, ``["ok", score]`` or ``["error", "Type: message"]``, so the parent never unpickles
what the user's code produced.
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import json
import math
import numbers
import os
import pickle
import signal
import threading
import warnings
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import MappingProxyType
from typing import Any

MESSAGE_CHARS = 300  # of an exception's message in the reason
MAX_REPLY = 4096


class Timeout(Exception):
    """The call outlived its limit; the worker was killed."""


class Crashed(Exception):
    """The worker died or its pipe broke mid-call."""


def read_only(contents: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """A read-only view of ``contents`` (how a pickled one comes back)."""
    return MappingProxyType(contents)


class _Pickler(pickle.Pickler):
    """Pickles a read-only mapping view (a sample's ``raw`` may be one) as its contents."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = {
            **copyreg.dispatch_table,
            MappingProxyType: lambda m: (read_only, (dict(m),)),
        }


def dumps(value: object) -> bytes:
    """``value`` pickled, read-only mappings as their contents."""
    buffer = io.BytesIO()
    _Pickler(buffer).dump(value)
    return buffer.getvalue()


def as_score(value: object) -> tuple[str, object]:
    """A function's return value as a reply: a bool or a finite number in 0..1."""
    if isinstance(value, bool):
        return ("ok", float(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and 0.0 <= number <= 1.0:
            return ("ok", number)
        return ("error", f"returned {number!r}, not a number in 0..1")
    return ("error", f"returned a {type(value).__name__}, not a number in 0..1 or a bool")


def limit_memory(memory_mb: int) -> None:
    """Let this process map at most ``memory_mb`` MiB more than it has now (0: no limit).

    A function that allocates past it gets a MemoryError (reported as the reason) instead of
    taking the Lambda's memory, which parent and worker share. Linux only (``/proc``).
    """
    if memory_mb <= 0:
        return
    try:
        import resource

        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = mapped + memory_mb * 2**20
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (OSError, ValueError, ImportError):  # no /proc or no rlimits here: no limit
        pass


def _serve(conn: Connection, function: Callable[[Any], object]) -> None:
    """The child's loop: a pickled sample in, a JSON reply out, until the pipe closes."""
    while True:
        try:
            item = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            reply = as_score(function(item))
        except BaseException as exc:  # the user's code: every failure is a reason
            reply = ("error", f"{type(exc).__name__}: {str(exc)[:MESSAGE_CHARS]}")
        conn.send_bytes(json.dumps(reply).encode())


class Worker:
    """The parent's handle on a forked worker running ``function``."""

    def __init__(self, function: Callable[[Any], object], memory_mb: int = 0) -> None:
        self.function = function
        self.memory_mb = memory_mb
        self.lock = threading.Lock()
        self.pid = 0
        self.conn: Connection | None = None
        self._finalizer: weakref.finalize[Any, Worker] | None = None

    def _start(self) -> Connection:
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # the child: serve, then leave without running the parent's cleanup
            code = 0
            try:
                os.close(to_child_w)
                os.close(to_parent_r)
                limit_memory(self.memory_mb)
                _serve(_Duplex(to_child_r, to_parent_w), self.function)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(to_child_r)
        os.close(to_parent_w)
        self.pid = pid
        self.conn = _Duplex(to_parent_r, to_child_w)
        self._finalizer = weakref.finalize(self, _kill, pid, self.conn)
        return self.conn

    def call(self, item: object, timeout: float) -> tuple[str, object]:
        """The function's reply for ``item``; ``Timeout`` or ``Crashed`` when there is none."""
        payload = dumps(item)
        with self.lock:
            conn = self.conn or self._start()
            try:
                conn.send_bytes(payload)
                if not conn.poll(timeout):
                    self.stop()
                    raise Timeout
                reply = json.loads(conn.recv_bytes(MAX_REPLY))
            except (EOFError, OSError, ValueError) as exc:
                self.stop()
                raise Crashed(type(exc).__name__) from None
        return (str(reply[0]), reply[1])

    def stop(self) -> None:
        """Kill the worker (if any) and reap it; the next call forks a new one."""
        if self._finalizer is not None:
            self._finalizer()
        self.pid, self.conn, self._finalizer = 0, None, None


class _Duplex(Connection):
    """One connection over two pipes: reads from the child, writes to it."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        super().__init__(read_fd)
        self._write = Connection(write_fd, readable=False)

    def send_bytes(self, buf: Any, offset: int = 0, size: int | None = None) -> None:
        self._write.send_bytes(buf, offset, size)

    def close(self) -> None:
        self._write.close()
        super().close()


def _kill(pid: int, conn: Connection) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        conn.close()
