"""The Converse wire protocol: routing, request checks, response and error shapes.

Errors follow Bedrock's REST-JSON shape: the HTTP status, an ``x-amzn-ErrorType`` header
(botocore reads it first) and a ``{"message": ...}`` body.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

from judge.prompt_cache import block_tokens, estimate_tokens, family_for, prefix_blocks

if TYPE_CHECKING:
    from judge.server.guardrail import GuardrailBook

log = logging.getLogger("judge.server")

_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/converse$")
_ROLES = {"user", "assistant"}
_BLOCK_KEYS = {
    "text",
    "toolUse",
    "toolResult",
    "cachePoint",
    "image",
    "document",
    "reasoningContent",
}


class ConverseFault(Exception):
    """An error answer: HTTP status and Bedrock error type."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


class Backend(Protocol):
    """A model behind the server: takes a Converse request body, returns a response body.

    ``stopping`` is set when the server shuts down; a backend that blocks (a hang, a slow
    model) should give up when it is set.
    """

    def converse(
        self, model_id: str, request: dict[str, Any], stopping: threading.Event
    ) -> dict[str, Any]:
        """Answer one Converse call or raise ``ConverseFault``."""
        ...


def validate_request(request: object) -> dict[str, Any]:
    """Check the parts of a Converse body the judge uses, as Bedrock would (400 on error)."""
    if not isinstance(request, dict):
        raise ConverseFault(400, "ValidationException", "Request body must be a JSON object")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConverseFault(
            400, "ValidationException", "A conversation must start with a user message."
        )
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise ConverseFault(
                400, "ValidationException", f"messages.{i}.role must be one of user, assistant"
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise ConverseFault(400, "ValidationException", f"messages.{i}.content is empty")
        for block in content:
            if not isinstance(block, dict) or len(block) != 1 or not set(block) <= _BLOCK_KEYS:
                raise ConverseFault(
                    400, "ValidationException", f"messages.{i}.content has an invalid block"
                )
    if messages[0].get("role") != "user":
        raise ConverseFault(
            400, "ValidationException", "A conversation must start with a user message."
        )
    inference = request.get("inferenceConfig") or {}
    temperature = inference.get("temperature", 0)
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 1:
        raise ConverseFault(400, "ValidationException", "temperature must be between 0 and 1")
    tool_config = request.get("toolConfig")
    if tool_config is not None:
        tools = tool_config.get("tools") if isinstance(tool_config, dict) else None
        if not isinstance(tools, list) or not tools:
            raise ConverseFault(400, "ValidationException", "toolConfig.tools must not be empty")
        names = {t.get("toolSpec", {}).get("name") for t in tools if isinstance(t, dict)}
        forced = (tool_config.get("toolChoice") or {}).get("tool", {}).get("name")
        if forced is not None and forced not in names:
            raise ConverseFault(
                400,
                "ValidationException",
                f"toolChoice names tool {forced!r}, which is not in tools",
            )
    return request


def tool_response(name: str, tool_input: dict[str, Any], usage: dict[str, int]) -> dict[str, Any]:
    """A Converse response whose answer is one tool call."""
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": f"tooluse_{uuid.uuid4().hex[:20]}",
                            "name": name,
                            "input": tool_input,
                        }
                    }
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": usage,
        "metrics": {"latencyMs": 0},
    }


def text_response(text: str, usage: dict[str, int], stop: str = "end_turn") -> dict[str, Any]:
    """A Converse response whose answer is text."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": usage,
        "metrics": {"latencyMs": 0},
    }


def usage_for(request: dict[str, Any], output_text: str) -> dict[str, int]:
    """Estimated token usage (4 characters a token), in Bedrock's shape.

    Input counts every block a model reads: tool schemas, system prompt and messages. The
    server then splits off what its prompt cache read or wrote (``PromptCacheEmulator``).
    """
    inp = sum(block_tokens(b) for b in prefix_blocks(request, tools=True))
    out = max(1, estimate_tokens(output_text))
    return {
        "inputTokens": inp,
        "outputTokens": out,
        "totalTokens": inp + out,
        "cacheReadInputTokens": 0,
        "cacheWriteInputTokens": 0,
    }


class PromptCacheEmulator:
    """Bedrock's prompt cache as ``usage`` reports it: a prefix is written, then read.

    A request's prefix up to each ``cachePoint`` (in Bedrock's order: tools, system,
    messages; tools only for families whose cached prefix holds them) is a checkpoint when
    it adds at least the family's minimum tokens (``judge.prompt_cache``) and stays under
    its maximum; below that Bedrock caches nothing and says nothing, and so does this. The
    longest checkpoint seen before (same model, same prefix bytes, within ``ttl_s``, which
    each hit renews) is read; the rest up to the last checkpoint is written. As on Bedrock,
    ``inputTokens`` is then only the uncached rest. Models not in the table never cache.
    Thread-safe: concurrent first requests write once, the others read.
    """

    def __init__(self, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[bytes, float] = {}

    def account(self, model_id: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        """Rewrite ``response["usage"]`` for what the cache read and wrote."""
        usage = response.get("usage")
        checkpoints = self._checkpoints(model_id, request)
        if not isinstance(usage, dict) or not checkpoints:
            return
        now = self._clock()
        with self._lock:
            read = 0
            for digest, tokens in checkpoints:
                if self._expiry.get(digest, 0.0) > now:
                    read = tokens
            for digest, _ in checkpoints:
                self._expiry[digest] = now + self.ttl_s
            if len(self._expiry) > 10_000:  # a long-running `judge serve`: drop expired ones
                self._expiry = {d: t for d, t in self._expiry.items() if t > now}
        write = checkpoints[-1][1] - read
        total = int(usage.get("inputTokens", 0))
        usage["cacheReadInputTokens"] = min(read, total)
        usage["cacheWriteInputTokens"] = min(write, total - usage["cacheReadInputTokens"])
        usage["inputTokens"] = (
            total - usage["cacheReadInputTokens"] - usage["cacheWriteInputTokens"]
        )

    def _checkpoints(self, model_id: str, request: dict[str, Any]) -> list[tuple[bytes, int]]:
        """(prefix digest, prefix tokens) at each cachePoint Bedrock would honour."""
        family = family_for(model_id)
        if family is None or not any(
            isinstance(b, dict) and "cachePoint" in b for b in prefix_blocks(request, tools=True)
        ):
            return []  # the common case, kept cheap: the benchmark's server shares its CPU
        digest = hashlib.sha256(model_id.encode("utf-8"))
        out: list[tuple[bytes, int]] = []
        tokens = last = 0
        for block in prefix_blocks(request, tools=family.tools_in_prefix):
            if isinstance(block, dict) and "cachePoint" in block:
                enough = tokens - last >= family.minimum_tokens
                if enough and (family.maximum_tokens is None or tokens <= family.maximum_tokens):
                    out.append((digest.copy().digest(), tokens))
                    last = tokens
                continue
            digest.update(json.dumps(block, sort_keys=False).encode("utf-8"))
            tokens += block_tokens(block)
        return out


class WireHandler(BaseHTTPRequestHandler):
    """One HTTP request to the Converse stand-in (the batch control plane extends it)."""

    server: WireHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines go to the debug log, not stderr."""
        log.debug(format, *args)

    def do_POST(self) -> None:
        """A Converse call, or an ApplyGuardrail call (``judge.server.guardrail``)."""
        path = self.path.split("?", 1)[0]
        if path.startswith("/guardrail/"):
            self._reply(lambda body: self._guardrail(path, body), "guardrail")
            return
        self._reply(self._converse, "backend")

    def _guardrail(self, path: str, request: Any) -> dict[str, Any]:
        """ApplyGuardrail: a server given no guardrails knows none (404, as Bedrock)."""
        book = self.server.guardrails
        if book is None:
            raise ConverseFault(
                404,
                "ResourceNotFoundException",
                "The guardrail identifier or version provided in the request does not exist.",
            )
        return book.answer(path, request)

    def _converse(self, request: Any) -> dict[str, Any]:
        """One Converse call: route, validate, answer through the backend."""
        match = _ROUTE.match(self.path.split("?", 1)[0])
        if not match:
            raise ConverseFault(404, "UnknownOperationException", f"No route for {self.path}")
        model_id = unquote(match.group("model"))
        response = self.server.backend.converse(
            model_id, validate_request(request), self.server.stopping
        )
        self.server.prompt_cache.account(model_id, request, response)
        return response

    def _reply(self, answer: Callable[[Any], dict[str, Any]], what: str) -> None:
        """Read the JSON body, answer it, and send the answer or the error as Bedrock does.

        A ``ConverseFault`` becomes its status and ``x-amzn-ErrorType``; anything else a
        500 ``InternalServerException`` (logged as ``what`` failing).
        """
        request_id = str(uuid.uuid4())
        try:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                request = json.loads(body or b"{}")
            except json.JSONDecodeError:
                raise ConverseFault(400, "SerializationException", "Body is not JSON") from None
            self._send(200, answer(request), request_id)
        except ConverseFault as fault:
            self._send(fault.status, {"message": fault.message}, request_id, fault.error_type)
        except Exception as exc:
            log.exception("%s failed", what)
            self._send(
                500, {"message": f"Internal error: {exc}"}, request_id, "InternalServerException"
            )

    def do_GET(self) -> None:
        """Health check for scripts that wait for the server (and a worker backend's state)."""
        backend = self.server.backend
        health: dict[str, Any] = {"status": "ok", "backend": type(backend).__name__}
        status = getattr(backend, "status", None)
        if callable(status):  # ``judge.server.worker``: the worker's pid, crashes, restarts
            health["worker"] = status()
        self._send(200, health, "-")

    def _send(
        self, status: int, payload: dict[str, Any], request_id: str, error_type: str | None = None
    ) -> None:
        data = json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", request_id)
            if error_type:
                self.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (deadline): nothing to answer


class WireHTTPServer(ThreadingHTTPServer):
    """The threaded HTTP server behind ``ConverseServer``, holding its backend."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self, address: tuple[str, int], backend: Backend, prompt_cache: PromptCacheEmulator
    ) -> None:
        super().__init__(address, WireHandler)
        self.backend = backend
        self.prompt_cache = prompt_cache
        self.stopping = threading.Event()
        self.guardrails: GuardrailBook | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (killed, timed out) is not a server error.

        socketserver would print a traceback for it into ``judge serve``'s output.
        """
        if isinstance(sys.exc_info()[1], ConnectionError):  # reset, broken pipe, aborted
            log.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)


class ConverseServer:
    """Run a backend behind the Converse API on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        backend: Backend,
        host: str = "127.0.0.1",
        port: int = 0,
        prompt_cache: PromptCacheEmulator | None = None,
        guardrails: GuardrailBook | None = None,
    ) -> None:
        self.prompt_cache = prompt_cache or PromptCacheEmulator()
        self._server = WireHTTPServer((host, port), backend, self.prompt_cache)
        self._server.guardrails = guardrails
        self._thread: threading.Thread | None = None

    @property
    def guardrails(self) -> GuardrailBook | None:
        """The guardrails ApplyGuardrail answers for (None: every guardrail is unknown)."""
        return self._server.guardrails

    @guardrails.setter
    def guardrails(self, book: GuardrailBook | None) -> None:
        self._server.guardrails = book

    @property
    def url(self) -> str:
        """The endpoint URL to give boto3."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ConverseServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="converse-server"
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        try:
            self._server.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        """Release blocked backends, stop serving, close the socket and the backend.

        A backend with a ``close`` method (a worker process) is closed last.
        """
        self._server.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        close = getattr(self._server.backend, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> ConverseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
