"""Benchmark: the handler's cold start against boto3's own, side by side in one run.

A Lambda cold start pays for importing the handler module, which on Lambda also builds the
evaluator from the bundled config (``AWS_LAMBDA_FUNCTION_NAME`` set: config, rubrics,
templates, maps, the guard's tables, the Bedrock client). The floor for any Bedrock-calling
Lambda is importing boto3 and creating a ``bedrock-runtime`` client; the target is the
handler at most 1.25 x that (issue 19).

Three more kinds of fresh interpreter put that figure in context:

- the core-library floor: boto3 + client, then the libraries the reward is built on
  (pydantic with one model, jinja2, tenacity, diskcache). No handler built on them can start
  faster, whatever its own code does; its ratio says how much of the target they leave.
- the first request: the handler's import and init, then one handled event of one sample
  (every rubric of the config judged, the reward assembled and its metrics written) against a
  scripted Converse server on 127.0.0.1, next to boto3 + client + one Converse call to the
  same server. Work moved from init into the first call shows up here.

Each measurement is a fresh interpreter, timed from inside (``perf_counter`` around the
work, so interpreter start-up is left out); the kinds alternate so that machine load falls
on all alike, after one untimed run of each (bytecode written, files in the page cache).
Each first-request run gets its own empty verdict cache.

    python bench/bench_coldstart.py [--runs 7] [--config reward.toml] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
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

# The libraries the reward is built on, after boto3's floor: what no handler of ours avoids.
FLOOR = """
import time
started = time.perf_counter()
import boto3
boto3.client("bedrock-runtime", region_name="us-east-1")
from pydantic import BaseModel
class One(BaseModel):
    name: str
    weight: float
import jinja2, tenacity, diskcache
print(time.perf_counter() - started)
"""

# The module's own init (get_evaluator, run at import under AWS_LAMBDA_FUNCTION_NAME) is
# timed apart from the imports here, so the figure splits into the two; their sum is the
# cold import on Lambda, slightly over: on Lambda init runs with the cyclic collector still
# off (lambda_handler), here after it is back on, so the init figure is conservative.
HANDLER = """
import time
started = time.perf_counter()
import judge.lambda_handler as h
imported = time.perf_counter()
h.get_evaluator()
print(imported - started, time.perf_counter() - imported)
"""

# One Converse call, as small as a request gets, to the bench's local server.
BOTO3_CALL = """
import sys, time
started = time.perf_counter()
import boto3
client = boto3.client("bedrock-runtime", region_name="us-east-1")
client.converse(
    modelId=sys.argv[1],
    messages=[{"role": "user", "content": [{"text": "Rate this reply from 1 to 5: Thanks!"}]}],
)
print(time.perf_counter() - started)
"""

# The cold start a training job sees: import, init, then one handled event.
HANDLER_FIRST = """
import json, sys, time
started = time.perf_counter()
import judge.lambda_handler as h
imported = time.perf_counter()
h.get_evaluator()
built = time.perf_counter()
answer = h.handler(json.loads(sys.argv[1]), None)
done = time.perf_counter()
if not isinstance(answer, list) or len(answer) != 1:
    raise SystemExit(f"unexpected answer: {answer!r}")
print(imported - started, built - imported, done - built)
"""


def _env(config: Path) -> dict[str, str]:
    """A Lambda container's region, config and the function's environment from
    ``deploy/template.yaml`` (its function name left out: init is timed apart, see
    ``HANDLER``); nothing of ours. Every kind runs with the same environment."""
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


def _local_env(env: dict[str, str], url: str, work: Path) -> dict[str, str]:
    """``env`` pointed at the local server, with dummy keys and no AWS files (the first
    request's two kinds alike); the handler's cache and fence key under ``work``."""
    return {
        **env,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_CONFIG_FILE": str(work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "JUDGE_FENCE_SECRET": "bench-coldstart",
    }


def _once(script: str, env: dict[str, str], *args: str) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:] or done.stdout[-3000:])
    # The handler writes its metrics (EMF) to stdout first; the figures are the last line.
    return [float(x) * 1000 for x in done.stdout.strip().splitlines()[-1].split()]


@dataclass
class Figures:
    """Milliseconds per fresh interpreter, in run order."""

    boto3: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)  # boto3 + client + the core libraries
    imports: list[float] = field(default_factory=list)  # import judge.lambda_handler
    init: list[float] = field(default_factory=list)  # its evaluator built from the config
    boto3_call: list[float] = field(default_factory=list)  # boto3 + client + one Converse call
    first: list[float] = field(default_factory=list)  # handler import + init + one event
    first_event: list[float] = field(default_factory=list)  # of which the event

    @property
    def handler(self) -> list[float]:
        return [a + b for a, b in zip(self.imports, self.init, strict=True)]

    def ratio(self) -> float:
        """Handler over boto3 + client, medians."""
        return _ratio(self.handler, self.boto3)

    def as_dict(self) -> dict[str, object]:
        return {
            "boto3_client_ms": _spread(self.boto3),
            "core_floor_ms": _spread(self.floor),
            "core_floor_ratio": round(_ratio(self.floor, self.boto3), 3),
            "handler_ms": _spread(self.handler),
            "handler_import_ms": _spread(self.imports),
            "handler_init_ms": _spread(self.init),
            "ratio_of_medians": round(self.ratio(), 3),
            "ratio_per_pair": _pairs(self.handler, self.boto3),
            "handler_over_floor": round(_ratio(self.handler, self.floor), 3),
            "boto3_first_call_ms": _spread(self.boto3_call),
            "handler_first_request_ms": _spread(self.first),
            "handler_first_event_ms": _spread(self.first_event),
            "first_request_ratio": round(_ratio(self.first, self.boto3_call), 3),
            "first_request_ratio_per_pair": _pairs(self.first, self.boto3_call),
            "target": TARGET,
        }


def _ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(a) / statistics.median(b)


def _pairs(a: list[float], b: list[float]) -> list[float]:
    pairs = [x / y for x, y in zip(a, b, strict=True)]
    return [round(min(pairs), 3), round(max(pairs), 3)]


def _spread(ms: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(ms), 1),
        "min": round(min(ms), 1),
        "max": round(max(ms), 1),
    }


def _first_event() -> str:
    """One sample of the bundled batch, as the RFT event the handler gets."""
    line = (REPO / "examples" / "batch.jsonl").read_text("utf-8").splitlines()[0]
    return json.dumps([json.loads(line)])


def _model_id(config: Path) -> str:
    import tomllib

    judge = tomllib.loads(config.read_text("utf-8")).get("judge", {})
    return str(judge.get("model_id", "us.amazon.nova-pro-v1:0"))


def measure(runs: int, config: Path) -> Figures:
    """``runs`` alternating fresh interpreters of each kind, after one untimed of each."""
    from judge.server import ConverseServer
    from judge.server.scripted import ScriptedJudge

    env = _env(config)
    event, model = _first_event(), _model_id(config)
    figures = Figures()
    with (
        ConverseServer(ScriptedJudge()) as server,
        tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp,
    ):
        local = _local_env(env, server.url, Path(tmp))

        def first() -> list[float]:
            # A fresh verdict cache each run: a cold container's /tmp is empty.
            cache = tempfile.mkdtemp(dir=tmp)
            return _once(HANDLER_FIRST, {**local, "JUDGE_CACHE_DIR": cache}, event)

        for script in (BOTO3, FLOOR, HANDLER):  # untimed: bytecode, page cache
            _once(script, env)
        _once(BOTO3_CALL, local, model)
        first()
        for _ in range(runs):
            figures.boto3 += _once(BOTO3, env)
            figures.floor += _once(FLOOR, env)
            imports, init = _once(HANDLER, env)
            figures.imports.append(imports)
            figures.init.append(init)
            figures.boto3_call += _once(BOTO3_CALL, local, model)
            imports, init, handled = first()
            figures.first.append(imports + init + handled)
            figures.first_event.append(handled)
    return figures


def _line(label: str, ms: list[float], over: list[float] | None = None) -> str:
    ratio = f"  {_ratio(ms, over):.2f} x" if over else ""
    return f"  {label:<46} {statistics.median(ms):6.0f} ms  ({min(ms):.0f}-{max(ms):.0f}){ratio}"


def report(figures: Figures, runs: int) -> None:
    """The figures as a table; ratios are of medians, against boto3's floor of each part."""
    f = figures
    print(f"cold start, {runs} fresh interpreters of each kind (median, min-max, ratio):")
    print(_line("import boto3 + bedrock-runtime client", f.boto3))
    print(_line("core-library floor (+ pydantic, jinja2, ...)", f.floor, f.boto3))
    print(_line("import judge.lambda_handler + its init", f.handler, f.boto3))
    print(_line("  of which the imports", f.imports))
    print(_line("  of which init (evaluator from config)", f.init))
    lo, hi = _pairs(f.handler, f.boto3)
    verdict = "within" if f.ratio() <= TARGET else "OVER"
    print(
        f"  handler ratio {f.ratio():.2f} x (per pair {lo:.2f}-{hi:.2f}; "
        f"{_ratio(f.handler, f.floor):.2f} x the core floor); target <= {TARGET} x: {verdict}"
    )
    print("first request, against a local scripted Converse server:")
    print(_line("boto3 + client + one Converse call", f.boto3_call))
    print(_line("handler import + init + one event (1 sample)", f.first, f.boto3_call))
    print(_line("  of which the event", f.first_event))
    lo, hi = _pairs(f.first, f.boto3_call)
    ratio = _ratio(f.first, f.boto3_call)
    print(f"  first-request ratio {ratio:.2f} x (per pair {lo:.2f}-{hi:.2f})")


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
    report(figures, args.runs)


if __name__ == "__main__":
    main()
