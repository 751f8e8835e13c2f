"""Run ``judge serve`` in a child process and wait until it answers (demo, benchmark)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    args: list[str],
    env: dict[str, str] | None = None,
    *,
    quiet: bool = False,
    timeout_s: float = 60.0,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``judge serve ARGS`` on a free port; returns the process and its URL.

    The server runs in its own process, as Bedrock would, so a client measured against it
    does not share the server's interpreter lock.
    """
    port = free_port()
    output = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "judge.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=output,
        stderr=output,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"judge serve exited with status {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"judge serve did not answer within {timeout_s:.0f} s")
