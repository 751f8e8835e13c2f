"""Benchmark: the handler's cold import against boto3's own, side by side in one run.

A Lambda cold start pays for importing the handler module, which on Lambda also builds the
evaluator from the bundled config (``AWS_LAMBDA_FUNCTION_NAME`` set: config, rubrics,
templates, maps, the guard's tables, the Bedrock client). The floor for any Bedrock-calling
Lambda is importing boto3 and creating a ``bedrock-runtime`` client; the target is the
handler at most 1.25 x that (issue 19).

Each measurement is a fresh interpreter, timed from inside (``perf_counter`` around the
imports, so interpreter start-up is left out); the two kinds alternate so that machine load
falls on both alike, after one untimed run of each (bytecode written, files in the page cache).

    python bench/bench_coldstart.py [--runs 7] [--config reward.toml]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 1.25

BOTO3 = """
import time
started = time.perf_counter()
import boto3
boto3.client("bedrock-runtime", region_name="us-east-1")
print(time.perf_counter() - started)
"""

# The module's own init (get_evaluator, run at import under AWS_LAMBDA_FUNCTION_NAME) is
# timed apart from the imports here, so the figure splits into the two; their sum is the
# cold import on Lambda.
HANDLER = """
import time
started = time.perf_counter()
import judge.lambda_handler as h
imported = time.perf_counter()
h.get_evaluator()
print(imported - started, time.perf_counter() - imported)
"""


def _env(config: Path) -> dict[str, str]:
    """A Lambda container's region, config and the function's environment from
    ``deploy/template.yaml`` (its function name left out: init is timed apart, see
    ``HANDLER``); nothing of ours. Both kinds run with the same environment."""
    keep = ("PATH", "HOME", "LANG", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        JUDGE_CONFIG=str(config),
        PYTHONDONTWRITEBYTECODE="",
        # deploy/template.yaml sets it: no pydantic plugin ships, so no entry-point scan.
        PYDANTIC_DISABLE_PLUGINS="__all__",
    )
    return env


def _once(script: str, env: dict[str, str]) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return [float(x) for x in done.stdout.strip().splitlines()[-1].split()]


@dataclass(frozen=True)
class Figures:
    """Milliseconds per fresh interpreter, in run order."""

    boto3: list[float]
    imports: list[float]  # import judge.lambda_handler
    init: list[float]  # its evaluator built from the config

    @property
    def handler(self) -> list[float]:
        return [a + b for a, b in zip(self.imports, self.init, strict=True)]

    def ratio(self) -> float:
        """Handler over boto3 + client, medians."""
        return statistics.median(self.handler) / statistics.median(self.boto3)

    def as_dict(self) -> dict[str, object]:
        pairs = [h / b for h, b in zip(self.handler, self.boto3, strict=True)]
        return {
            "boto3_client_ms": _spread(self.boto3),
            "handler_ms": _spread(self.handler),
            "handler_import_ms": _spread(self.imports),
            "handler_init_ms": _spread(self.init),
            "ratio_of_medians": round(self.ratio(), 3),
            "ratio_per_pair": [round(min(pairs), 3), round(max(pairs), 3)],
            "target": TARGET,
        }


def _spread(ms: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(ms), 1),
        "min": round(min(ms), 1),
        "max": round(max(ms), 1),
    }


def measure(runs: int, config: Path) -> Figures:
    """``runs`` alternating fresh interpreters of each kind, after one untimed of each."""
    env = _env(config)
    _once(BOTO3, env)
    _once(HANDLER, env)
    figures = Figures([], [], [])
    for _ in range(runs):
        figures.boto3.append(_once(BOTO3, env)[0] * 1000)
        imports, init = _once(HANDLER, env)
        figures.imports.append(imports * 1000)
        figures.init.append(init * 1000)
    return figures


def _line(label: str, ms: list[float]) -> str:
    return f"  {label:<40} {statistics.median(ms):6.0f} ms  ({min(ms):.0f}-{max(ms):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--config", type=Path, default=REPO / "reward.toml")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure(args.runs, args.config.resolve())
    if args.json:
        print(json.dumps(figures.as_dict(), indent=1))
        return
    print(f"cold import, {args.runs} fresh interpreters each (median, min-max):")
    print(_line("import boto3 + bedrock-runtime client", figures.boto3))
    print(_line("import judge.lambda_handler + its init", figures.handler))
    print(_line("  of which the imports", figures.imports))
    print(_line("  of which init (evaluator from config)", figures.init))
    pairs = [h / b for h, b in zip(figures.handler, figures.boto3, strict=True)]
    verdict = "within" if figures.ratio() <= TARGET else "OVER"
    print(
        f"  ratio {figures.ratio():.2f} x (per pair {min(pairs):.2f}-{max(pairs):.2f}); "
        f"target <= {TARGET} x: {verdict}"
    )


if __name__ == "__main__":
    main()
