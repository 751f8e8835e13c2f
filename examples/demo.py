"""The demo: the whole job on a fresh machine, no AWS credentials needed.

1. starts ``judge serve --backend llama`` on 127.0.0.1: SmolLM2-135M run by llama.cpp, with
   verdicts constrained to the tool's JSON schema;
2. scores ``examples/batch.jsonl`` with ``judge score``: the handler's code path, boto3 and
   the Converse API, exactly as on Lambda;
3. calibrates the tone rubric on a slice of the bundled politeness anchors (human labels);
4. stops the server.

If the local model crashes, the step in progress stops at once with one line saying so (the
server restarts its model worker, ``judge.server.worker``) and the demo stops the server.

``JUDGE_BACKEND=bedrock`` runs steps 2-3 against Amazon Bedrock with your AWS configuration
instead (the judge model from reward.toml). ``JUDGE_BACKEND=scripted`` uses the keyword
heuristic server (seconds, no model).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from judge.server.process import start_server

REPO = Path(__file__).resolve().parent.parent
BATCH = REPO / "examples" / "batch.jsonl"
ANCHORS = REPO / "calibration" / "anchors" / "politeness.jsonl"
CALIBRATION_ITEMS = 24

LOCAL_NOTE = """\
NOTE: this is a plumbing check, not a judgement. The local judge is SmolLM2-135M: measured
here, it cannot tell a rude reply from a polite one, so its rewards and the calibration
figures below mean nothing about quality. What the demo shows is the whole path working:
rubrics -> jinja2 prompts -> boto3 -> Converse on 127.0.0.1 -> llama.cpp with a JSON-schema
grammar -> validated verdicts -> calibration -> one bounded reward per sample.
To judge for real, use Bedrock (AWS credentials needed; the model is [judge].model_id):
    JUDGE_BACKEND=bedrock make demo
"""


SCRIPTED_NOTE = """\
NOTE: the scripted backend is a keyword heuristic, not a language model: a plumbing check.
Use the default (JUDGE_BACKEND unset) for a real local model, JUDGE_BACKEND=bedrock for Bedrock.
"""


def _run(args: list[str], env: dict[str, str]) -> None:
    """Run one ``judge`` command; stop the demo if it fails.

    The command said why, in one line: a crashed local judge is ``the local judge crashed:
    ...``, at once, not after a minute of retries.
    """
    print(f"\n$ judge {' '.join(args)}", flush=True)
    status = subprocess.call([sys.executable, "-m", "judge.cli", *args], env=env, cwd=REPO)
    if status != 0:
        raise SystemExit(status)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop ``judge serve`` (SIGTERM: it stops its model worker too); kill it if it hangs."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def main() -> int:
    """Run the demo; non-zero exit if any step fails."""
    env = dict(os.environ)
    backend = env.get("JUDGE_BACKEND", "llama")
    work = Path(tempfile.mkdtemp(prefix="judge-demo-"))
    server = None
    started = time.monotonic()
    if backend != "bedrock":
        try:
            server, url = start_server(["--backend", backend], env)
        except RuntimeError as exc:  # `judge serve` printed why (one line) above
            print(f"demo stopped: {exc}", file=sys.stderr)
            return 2
        env.update(
            AWS_ENDPOINT_URL_BEDROCK_RUNTIME=url,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION="us-east-1",
        )
        env.setdefault("JUDGE_CACHE_DIR", str(work / "cache"))
        print(LOCAL_NOTE if backend == "llama" else SCRIPTED_NOTE, flush=True)
    # The local model answers one call at a time: queueing 32 calls would only hit timeouts.
    local = ["--concurrency", "1"] if server is not None else []
    try:
        _run(["score", str(BATCH), "--out", str(work / "rewards.json"), *local], env)
        _run(
            [
                "calibrate",
                "--rubric",
                "tone",
                "--anchors",
                str(ANCHORS),
                "--max-items",
                str(CALIBRATION_ITEMS),
                "--out",
                str(work / "calibration"),
                "--probes",
                "4",
                *local,
            ],
            env,
        )
    finally:
        if server is not None:
            _stop(server)
    print(
        f"\nDemo finished in {time.monotonic() - started:.0f} s. Lambda answer: "
        f"{work / 'rewards.json'}; calibration report: {work / 'calibration' / 'reports'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
