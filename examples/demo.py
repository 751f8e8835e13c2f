"""The demo: score the example RFT batch through the real handler code path.

By default it starts the local Converse server (``judge serve``) on 127.0.0.1 and points
boto3 at it, so it runs on a fresh machine with no AWS credentials. With
``JUDGE_BACKEND=bedrock`` it calls Amazon Bedrock instead, using your AWS configuration.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BATCH = REPO / "examples" / "batch.jsonl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    """Run the demo; returns the exit status of ``judge score``."""
    env = dict(os.environ)
    backend = env.get("JUDGE_BACKEND", "local")
    server = None
    started = time.monotonic()
    if backend != "bedrock":
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "judge.cli", "serve", "--port", str(port)], env=env
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        env.update(
            AWS_ENDPOINT_URL_BEDROCK_RUNTIME=url,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION="us-east-1",
        )
        env.setdefault("JUDGE_CACHE_DIR", tempfile.mkdtemp(prefix="judge-demo-cache-"))
        print(
            "NOTE: local mode is a plumbing check. The local judge is a keyword heuristic,\n"
            "not a language model: it shows the whole path (rubrics -> prompts -> boto3 ->\n"
            "Converse -> verdicts -> reward) but its scores mean nothing.\n"
            "Run `JUDGE_BACKEND=bedrock make demo` with AWS credentials to use Bedrock.\n"
        )
    try:
        out = Path(tempfile.mkdtemp(prefix="judge-demo-")) / "rewards.json"
        status = subprocess.call(
            [sys.executable, "-m", "judge.cli", "score", str(BATCH), "--out", str(out)],
            env=env,
            cwd=REPO,
        )
        print(
            f"\nLambda answer written to {out}; demo wall time {time.monotonic() - started:.1f} s"
        )
        return status
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
