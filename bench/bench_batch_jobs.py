"""Batch inference locally: records/s through submit and collect, and batch vs on-demand price.

Runs against the local stand-ins the tests use: moto's S3 server and the project's batch
control plane (``judge.server.control.BatchServer``) with the scripted judge, in this
process. ``submit`` is timed from reading the data to the job being created (render every
request through the Lambda's code path, shard, upload, CreateModelInvocationJob);
``collect`` from the first GetModelInvocationJob to the rewards (download, parse every
record with the verdict parser, cache the verdicts, run the scoring path). The job itself
is the stand-in's time, reported apart: on Bedrock it is the service's.

The price per 1,000 judgements uses the job's own token counts (``manifest.json.out``; the
scripted judge counts 4 characters a token and answers briefly) and the bundled tables:
``judge/batch/data/batch_prices.toml`` and ``judge/data/prices.toml`` (dates printed).

    .venv/bin/python bench/bench_batch_jobs.py [--samples 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUCKET = "bench-batch"
ROLE = "arn:aws:iam::123456789012:role/bench-batch"
MODELS = ("amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0")
WORDS = ("please", "thank you", "glad to help", "sorry", "", "obviously", "whatever")


def _samples(path: Path, n: int) -> None:
    lines = []
    for i in range(n):
        answer = (
            f"To return tent {i}, bring it back with the receipt {WORDS[i % len(WORDS)]}. "
            "Refunds take five working days and go back to the card you paid with."
        )
        lines.append(
            json.dumps(
                {
                    "id": f"s{i}",
                    "messages": [
                        {"role": "user", "content": f"How do I return tent {i // 4}?"},
                        {"role": "assistant", "content": answer},
                    ],
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="samples (x3 rubrics)")
    args = parser.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    from judge.server.process import free_port

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "JUDGE_CACHE_DIR": str(work / "cache"),
            "JUDGE_BATCH_DIR": str(work / "jobs"),
            "JUDGE_FENCE_SECRET": "bench",
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "JUDGE_CONFIG"):
        os.environ.pop(name, None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    s3_url = f"http://127.0.0.1:{port}"
    reset = urllib.request.Request(f"{s3_url}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    os.environ["AWS_ENDPOINT_URL_S3"] = s3_url

    import boto3

    from judge.batch import jobs
    from judge.batch.pricing import batch_prices, compare, on_demand_prices
    from judge.config import load_config
    from judge.server.control import BatchServer
    from judge.server.scripted import ScriptedJudge

    server = BatchServer(ScriptedJudge())
    server.start()
    os.environ["AWS_ENDPOINT_URL_BEDROCK"] = server.url
    os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = server.url
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    data = work / "data.jsonl"
    _samples(data, args.samples)
    config = REPO / "reward.toml"
    try:
        submitted = jobs.submit_score(
            data, jobs.Target(f"s3://{BUCKET}/bench", ROLE), config_path=config
        )
        records = submitted.records
        started = time.monotonic()
        jobs.wait(submitted.manifest, poll_s=0.05)
        job_s = time.monotonic() - started
        started = time.monotonic()
        replayed = jobs.replay(submitted.manifest.job_name)
        answer, result = jobs.collect_score(replayed)
        replayed.evaluator.close()
        collect_s = time.monotonic() - started
    finally:
        server.stop()
        moto.stop()
    scored = sum(d.normalized is not None for r in result.results for d in r.dimensions)
    print(f"samples {args.samples}, records {records} in {submitted.files} file(s)")
    print(
        f"submit : {submitted.seconds:6.2f} s  {records / submitted.seconds:8,.0f} records/s "
        "(render through the Lambda's path, shard, upload to S3, create the job)"
    )
    print(f"job    : {job_s:6.2f} s  (the local stand-in's scripted judge; Bedrock's on AWS)")
    print(
        f"collect: {collect_s:6.2f} s  {records / collect_s:8,.0f} records/s "
        f"(download, parse, cache, score: {len(answer)} rewards, {scored} verdicts)"
    )
    outputs = replayed.outputs
    overrides = load_config(config).pricing
    print(
        f"tokens per judgement: {outputs.input_tokens / outputs.judgements:,.0f} in, "
        f"{outputs.output_tokens / outputs.judgements:,.0f} out (scripted judge, "
        "4 characters a token)"
    )
    print(
        f"prices: batch {batch_prices().taken_on} (judge/batch/data/batch_prices.toml), on-demand "
        f"{on_demand_prices(overrides).taken_on} (judge/data/prices.toml)"
    )
    for model in MODELS:
        comparison = compare(
            model, outputs.input_tokens, outputs.output_tokens, outputs.judgements, overrides
        )
        if comparison is not None:
            print(f"  {comparison.describe()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
