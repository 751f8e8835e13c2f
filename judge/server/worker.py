"""Run a backend in a worker process, so a native crash costs a restart, not the server.

llama.cpp runs native code in-process: a segfault inside ``llama_decode`` kills whatever
process holds the model. ``WorkerBackend`` keeps the model in a child process (spawn
context: no inherited threads or locks) and forwards each Converse call to it over a pipe.
When the child dies, by any signal or exit, every call it held is answered with a
Bedrock-shaped error whose message starts with ``judge.errors.LOCAL_JUDGE_CRASHED`` and
names the crash; the child is restarted up to ``max_restarts`` times, after which every
call gets that error (``gave up after N crashes``). The server itself keeps answering.

The worker is generic over a backend factory (any picklable callable returning a
``Backend``), so the machinery is tested with a backend that crashes on demand.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Literal

from judge.errors import LOCAL_JUDGE_CRASHED
from judge.server.wire import Backend, ConverseFault

log = logging.getLogger("judge.server")

MAX_RESTARTS = 3
START_TIMEOUT_S = 300.0  # loading a large GGUF file from a cold disk takes a while
_POLL_S = 0.2  # how often a waiting call looks at the server's ``stopping`` event


@dataclass(frozen=True)
class WorkerSpec:
    """What the worker runs: a picklable backend factory, and names for messages."""

    factory: Callable[[], Backend]  # a top-level function or class (or a partial of one)
    name: str  # what runs the model, e.g. "llama.cpp"
    model: str  # the model it runs, e.g. the GGUF file name


class WorkerStartError(Exception):
    """The worker could not load its backend (an error message, or it died while loading)."""


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, in words: ``killed by signal SIGSEGV``, ``exited with status 3``."""
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


# --- the child ---------------------------------------------------------------------------


def _worker_main(factory: Callable[[], Backend], conn: Connection) -> None:
    """The worker process: build the backend, then answer calls until the pipe closes.

    Each call runs on its own thread (a backend serialises itself if it must), so a slow
    call does not hold up a fast one. Ctrl-C is the parent's to handle: the parent stops the
    worker, which would otherwise die of the same SIGINT and look like a crash.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    handler = logging.StreamHandler()  # the backend's warnings, into `judge serve`'s output
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logging.getLogger("judge").addHandler(handler)
    try:
        backend = factory()
    except Exception as exc:  # reported by the parent as one line
        conn.send(("failed", str(exc) or type(exc).__name__))
        return
    conn.send(("ready", os.getpid()))
    stopping = threading.Event()
    send_lock = threading.Lock()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            break
        if message is None:  # the parent is stopping
            break
        threading.Thread(
            target=_answer,
            args=(backend, message, stopping, conn, send_lock),
            daemon=True,
        ).start()
    stopping.set()
    os._exit(0)  # no interpreter teardown under a native library still generating


def _answer(
    backend: Backend,
    message: tuple[int, str, dict[str, Any]],
    stopping: threading.Event,
    conn: Connection,
    send_lock: threading.Lock,
) -> None:
    """Answer one forwarded call: ("ok", response), ("fault", (status, type, message))..."""
    call_id, model_id, request = message
    reply: tuple[str, Any]
    try:
        reply = ("ok", backend.converse(model_id, request, stopping))
    except ConverseFault as fault:
        reply = ("fault", (fault.status, fault.error_type, fault.message))
    except Exception as exc:
        reply = ("error", f"{type(exc).__name__}: {exc}")
    with send_lock, contextlib.suppress(OSError):
        conn.send((call_id, *reply))


# --- the parent --------------------------------------------------------------------------


class _Call:
    """One forwarded call, waiting for its answer (or for its worker's death)."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: dict[str, Any] | None = None
        self.error: Exception | None = None

    def settle(self, kind: str, payload: Any) -> None:
        if kind == "ok":
            self.response = payload
        elif kind == "fault":
            self.error = ConverseFault(*payload)
        else:
            self.error = RuntimeError(f"the backend failed: {payload}")
        self.done.set()

    def fail(self, fault: ConverseFault) -> None:
        self.error = fault
        self.done.set()


@dataclass
class _Worker:
    """One incarnation of the worker process and the calls it holds."""

    process: BaseProcess
    conn: Connection
    pending: dict[int, _Call] = field(default_factory=dict)


State = Literal["starting", "ready", "restarting", "gave_up", "closed"]


class WorkerBackend:
    """A ``Backend`` that runs ``spec.factory()``'s backend in a restartable child process."""

    def __init__(
        self,
        spec: WorkerSpec,
        *,
        max_restarts: int = MAX_RESTARTS,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self.spec = spec
        self.max_restarts = max_restarts
        self.start_timeout_s = start_timeout_s
        self.crashes = 0
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._send_lock = threading.Lock()
        self._ids = itertools.count()
        self._state: State = "starting"
        self._worker: _Worker | None = None
        self._gave_up = ""  # the message every call gets once the restarts are used up

    def start(self) -> WorkerBackend:
        """Start the worker and wait until its backend is loaded (``WorkerStartError``)."""
        worker = self._spawn()
        with self._changed:
            self._worker, self._state = worker, "ready"
        self._watch(worker)
        return self

    # Backend ------------------------------------------------------------------------------

    def converse(
        self, model_id: str, request: dict[str, Any], stopping: threading.Event
    ) -> dict[str, Any]:
        """Forward one call to the worker; a crash answers it with the named error."""
        call, call_id = _Call(), next(self._ids)
        worker = self._enlist(call_id, call, stopping)
        try:
            with self._send_lock:
                worker.conn.send((call_id, model_id, request))
        except (OSError, ValueError):
            pass  # a dead worker's pipe: its watcher answers this call with the crash
        while not call.done.wait(_POLL_S):
            if stopping.is_set():
                with self._lock:
                    worker.pending.pop(call_id, None)
                raise _shutting_down()
        if call.error is not None:
            raise call.error
        assert call.response is not None
        return call.response

    def _enlist(self, call_id: int, call: _Call, stopping: threading.Event) -> _Worker:
        """Give ``call`` to the live worker, once any restart is over; gave up: the error.

        Enlisted under the lock that a worker's death takes its calls under, so a call is
        either answered by its worker or failed with that worker's crash, never forgotten.
        """
        with self._changed:
            while self._state in ("starting", "restarting") and not stopping.is_set():
                self._changed.wait(_POLL_S)
            if self._state == "gave_up":
                raise ConverseFault(503, "ServiceUnavailableException", self._gave_up)
            if self._state != "ready" or self._worker is None or stopping.is_set():
                raise _shutting_down()
            self._worker.pending[call_id] = call
            return self._worker

    def status(self) -> dict[str, Any]:
        """The worker's state for the health check (``GET /``): pid, calls, crashes."""
        with self._lock:
            worker = self._worker
            return {
                "state": self._state,
                "pid": worker.process.pid if worker and self._state == "ready" else None,
                "calls": len(worker.pending) if worker else 0,  # in flight in the worker
                "crashes": self.crashes,
                "max_restarts": self.max_restarts,
                "model": self.spec.model,
            }

    def close(self) -> None:
        """Stop the worker (the server is stopping); calls still waiting are told so."""
        with self._changed:
            worker, self._state = self._worker, "closed"
            self._changed.notify_all()
        if worker is None:
            return
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            worker.conn.send(None)
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout=5)
        self._fail_pending(worker, _shutting_down())

    # the worker's life --------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        """A new worker with its backend loaded; ``WorkerStartError`` if it cannot load."""
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(self.spec.factory, theirs),
            name=f"{self.spec.name} worker",
            daemon=True,  # never outlives the server
        )
        process.start()
        theirs.close()  # the child's end: its death must read as EOF here
        deadline = time.monotonic() + self.start_timeout_s
        try:
            while not ours.poll(min(1.0, max(0.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    raise WorkerStartError(
                        f"{self.spec.name} did not load {self.spec.model} "
                        f"within {self.start_timeout_s:.0f} s"
                    )
            kind, detail = ours.recv()
        except (EOFError, OSError):
            process.join(timeout=5)
            raise WorkerStartError(
                f"{self.spec.name} worker {describe_exit(process.exitcode)} "
                f"while loading {self.spec.model}"
            ) from None
        except WorkerStartError:
            process.kill()
            raise
        if kind != "ready":
            process.join(timeout=5)
            raise WorkerStartError(f"{self.spec.name} cannot load {self.spec.model}: {detail}")
        log.info("%s worker %d loaded %s", self.spec.name, process.pid, self.spec.model)
        return _Worker(process, ours)

    def _watch(self, worker: _Worker) -> None:
        threading.Thread(
            target=self._read, args=(worker,), daemon=True, name="judge-worker-watch"
        ).start()

    def _read(self, worker: _Worker) -> None:
        """Hand each answer to its call until the worker's pipe closes, then handle the end."""
        while True:
            try:
                call_id, kind, payload = worker.conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                call = worker.pending.pop(call_id, None)
            if call is not None:
                call.settle(kind, payload)
        worker.process.join(timeout=5)
        if worker.process.is_alive():  # a closed pipe but a live process: stop it for good
            worker.process.kill()
            worker.process.join(timeout=5)
        self._crashed(worker, describe_exit(worker.process.exitcode))

    def _crashed(self, worker: _Worker | None, how: str) -> None:
        """Answer the dead worker's calls with the named error; restart it or give up.

        ``worker`` is None when a restarted worker failed to load (it held no calls).
        """
        with self._changed:
            if self._state == "closed":
                return
            self.crashes += 1
            restart = self.crashes <= self.max_restarts
            message = self._message(how, restart)
            self._state = "restarting" if restart else "gave_up"
            if not restart:
                self._gave_up = message
            self._changed.notify_all()
        log.error("%s", message)
        if restart:
            fault = ConverseFault(424, "ModelErrorException", message)
        else:
            fault = ConverseFault(503, "ServiceUnavailableException", message)
        if worker is not None:
            self._fail_pending(worker, fault)
        if restart:
            self._restart()

    def _message(self, how: str, restart: bool) -> str:
        """The named error: what crashed, how, which model, and what happens next."""
        crash = f"{LOCAL_JUDGE_CRASHED}{self.spec.name} worker {how} (model {self.spec.model})"
        if restart:
            return f"{crash}; restarting ({self.crashes} of {self.max_restarts})"
        return f"{crash}; gave up after {self.crashes} crashes: restart `judge serve`"

    def _restart(self) -> None:
        """Start a new worker; a failed start counts as one more crash."""
        try:
            worker = self._spawn()
        except WorkerStartError as exc:
            self._crashed(None, f"failed to restart ({exc})")
            return
        with self._changed:
            if self._state == "closed":  # the server stopped while this one loaded
                worker.process.kill()
                worker.process.join(timeout=5)
                return
            self._worker, self._state = worker, "ready"
            self._changed.notify_all()
        log.warning("%s worker restarted (pid %d)", self.spec.name, worker.process.pid)
        self._watch(worker)

    def _fail_pending(self, worker: _Worker, fault: ConverseFault) -> None:
        with self._lock:
            calls = list(worker.pending.values())
            worker.pending.clear()
        for call in calls:
            call.fail(fault)


def _shutting_down() -> ConverseFault:
    return ConverseFault(503, "ServiceUnavailableException", "the judge server is stopping")
