"""A local stand-in for Lambda's Invoke API, running the packaged zip like Lambda does.

Each invocation runs the handler from the unpacked zip in a fresh interpreter that sees
nothing else (``python -I -S``, only the task folder on the path), with Lambda's environment
variables. boto3's ``lambda.invoke`` reaches it through ``AWS_ENDPOINT_URL_LAMBDA``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

MARKER = "__LAMBDA_RESULT__ "
RUNNER = f"""
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
try:
    import judge.lambda_handler as h
    from judge.deadline import LocalContext
    ok = h.handler(json.load(sys.stdin), LocalContext(300))
    # Bytes go out as they are, as Lambda's runtime sends them (``judge.lambda_handler.wire``);
    # anything else as the python3.12+ runtimes marshal it: JSON without ASCII escapes, UTF-8
    # encoded (a lone surrogate there fails the invocation, as it does on Lambda).
    wire = ok if isinstance(ok, bytes) else json.dumps(ok, ensure_ascii=False).encode("utf-8")
    result = {{"ok": json.loads(wire)}}
except Exception as exc:
    result = {{"error": {{"errorMessage": str(exc), "errorType": type(exc).__name__,
                          "stackTrace": traceback.format_exc().splitlines()}}}}
print({MARKER!r} + json.dumps(result))
"""
_ROUTE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


class _Handler(BaseHTTPRequestHandler):
    server: LambdaEmulator

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        match = _ROUTE.match(self.path.split("?", 1)[0])
        name = unquote(match.group("name")).rsplit(":", 1)[-1] if match else ""
        task = self.server.functions.get(name)
        payload = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if task is None:
            self._send(
                404,
                {"Type": "User", "Message": f"Function not found: {name}"},
                {"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
            return
        env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "JUDGE_CACHE"))}
        env.update(
            LAMBDA_TASK_ROOT=str(task),
            AWS_LAMBDA_FUNCTION_NAME=name,
            JUDGE_CONFIG=str(task / "reward.toml"),
            PATH="/usr/bin:/bin",
        )
        env.pop("AWS_ENDPOINT_URL_LAMBDA", None)
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", RUNNER, str(task)],
            input=payload,
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        lines = [x for x in done.stdout.decode().splitlines() if x.startswith(MARKER)]
        if not lines:
            result: dict[str, Any] = {
                "error": {
                    "errorMessage": done.stderr.decode()[-2000:],
                    "errorType": "Runtime.ExitError",
                }
            }
        else:
            result = json.loads(lines[-1].removeprefix(MARKER))
        if "error" in result:
            self._send(200, result["error"], {"X-Amz-Function-Error": "Unhandled"})
        else:
            self._send(200, result["ok"], {"X-Amz-Executed-Version": "$LATEST"})

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class LambdaEmulator(ThreadingHTTPServer):
    """Serve Invoke for functions unpacked into task folders, on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, functions: dict[str, Path]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.functions = functions
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The endpoint for boto3's Lambda client."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> LambdaEmulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
