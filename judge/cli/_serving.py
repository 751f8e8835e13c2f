"""``judge serve``: the local Converse server."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from judge.cli._app import (
    main,
    reported_errors,
    say,
)

if TYPE_CHECKING:
    from judge.server import Backend


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0: any free port.",
)
@click.option(
    "--backend",
    type=click.Choice(["scripted", "llama"]),
    default="scripted",
    show_default=True,
    help="scripted: keyword heuristic with optional faults; llama: a GGUF model run by "
    "llama.cpp in a worker process, restarted if it crashes (needs the 'local' extra).",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(),  # checked by the llama backend: one line naming the file and the fix
    default=None,
    help="GGUF file for --backend llama (default: SmolLM2-135M).",
)
@click.option("--threads", type=int, default=None, help="llama.cpp threads (default: all cores).")
@click.option("--latency-ms", default=0, show_default=True, help="scripted: added latency.")
@click.option(
    "--fault-rate",
    default=0.0,
    show_default=True,
    help="scripted: probability of a throttle/5xx/408/424/malformed fault per call.",
)
@click.option(
    "--length-bias",
    default=0.0,
    show_default=True,
    type=click.FloatRange(-10.0, 10.0),
    help="scripted: points added per unit of log(characters / 100), rounded onto the scale: "
    "a judge that prefers long answers, to try length control on (README: Length control).",
)
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--batch",
    is_flag=True,
    help="Also serve the Bedrock batch inference control plane (model invocation jobs, "
    "run by this backend against S3 at AWS_ENDPOINT_URL_S3): AWS_ENDPOINT_URL_BEDROCK.",
)
@click.option(
    "--guardrails",
    "guardrails_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Also answer ApplyGuardrail with the word, regex and PII policies of this TOML/JSON "
    "file (see examples/guardrails.toml); without it every guardrail is unknown.",
)
def serve(
    host: str,
    port: int,
    backend: str,
    model_path: str | None,
    threads: int | None,
    latency_ms: int,
    fault_rate: float,
    length_bias: float,
    seed: int,
    batch: bool,
    guardrails_file: Path | None,
) -> None:
    """Serve the Converse API on HOST:PORT for boto3 (AWS_ENDPOINT_URL_BEDROCK_RUNTIME)."""
    from judge.server import ConverseServer
    from judge.server.guardrail import GuardrailBook
    from judge.server.guardrail_policy import PolicyError
    from judge.server.scripted import Faults, ScriptedJudge

    try:
        book = GuardrailBook.from_file(guardrails_file) if guardrails_file else None
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    model: Backend
    if backend == "llama":
        model = _llama_worker(Path(model_path) if model_path else None, threads)
    else:
        share = fault_rate / 5
        model = ScriptedJudge(
            latency_s=latency_ms / 1000,
            seed=seed,
            length_bias=length_bias,
            faults=Faults(
                throttle=share,
                server_error=share,
                timeout=share,
                model_error=share,
                malformed=share,
            ),
        )
    try:
        if batch:
            from judge.server.control import BatchServer

            server: ConverseServer = BatchServer(model, host, port)
        else:
            server = ConverseServer(model, host, port)
    except OSError as exc:  # port in use, host not on this machine...
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}. "
            "Fix: pick another --port (0 takes any free one) or --host"
        ) from None
    say(
        "serving",
        "green",
        f"Converse ({backend}) on {server.url}; "
        f"export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={server.url}",
    )
    if batch:
        say(
            "serving",
            "green",
            f"batch control plane on {server.url}; export AWS_ENDPOINT_URL_BEDROCK={server.url} "
            "(and AWS_ENDPOINT_URL_S3 at an S3, e.g. moto_server)",
        )
    if book is not None:
        server.guardrails = book
        names = ", ".join(f"{gid} v{version}" for gid, version in book.guardrails)
        say("serving", "green", f"ApplyGuardrail for {names} on {server.url}")
    say(
        "note",
        "green",
        "no real AWS credentials needed: judge score/calibrate use dummy ones for a loopback "
        "endpoint; other boto3 code needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set "
        "to anything",
    )
    # SIGTERM (the demo, a service manager) stops the server as Ctrl-C does: the worker
    # process is stopped with it.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _llama_worker(model_path: Path | None, threads: int | None) -> Backend:
    """llama.cpp in a worker process, its model loaded; a mistake is one line and exit 2."""
    from judge.server.llama import worker_spec
    from judge.server.worker import WorkerBackend, WorkerStartError

    with reported_errors():
        spec = worker_spec(model_path, threads)
    try:
        return WorkerBackend(spec).start()
    except WorkerStartError as exc:
        say("error", "red", f"{exc}. Fix: check --model (a GGUF file llama.cpp can load)")
        raise SystemExit(2) from None
