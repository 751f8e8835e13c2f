"""``judge report``: a simulated 50-batch run, scored through the real pipeline, as a page.

The policy pads its answers from batch 30 on, and a judge that likes length rewards it on
helpfulness (tone ignores length); from batch 43 every answer is padded to the top score, so
groups lose their reward spread. Each batch is scored by the handler's code path and
written as ``judge score --details`` writes it; the page's figures are recomputed here from
those raw records (scipy's Spearman, statistics' quantiles), not from the report's code.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import random
import re
import statistics
import time
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scipy.stats import spearmanr

from judge.cli import main
from judge.cli._tables import write_outputs
from judge.deadline import Deadline
from judge.lambda_handler import run_event
from judge.server.process import free_port
from judge.server.scripted import Judged, ScriptedJudge
from tests.conftest import ServeFn, make_evaluator, sample

BATCHES, WINDOW, HACK_FROM, SATURATED_FROM = 50, 5, 30, 43
PROMPTS = ("How do I return a tent?", "Can I change my order?", "Where is my parcel?")
PER_PROMPT = 6
FILLER = "In addition, our store team is always glad to make every return smooth for you."
HOSTILE_ID = '<img src=x onerror="alert(1)">'
PLOTS = ("reward", "dimensions", "length", "length-corr", "zero-spread", "rates", "calls")


def judge_score(j: Judged) -> int:
    """The answer's grade; helpfulness adds a point per two filler sentences (length bias)."""
    found = re.search(r"grade (\d)", j.response)
    score = int(found.group(1)) if found else j.scores[0]
    if j.rubric == "helpfulness":
        score += j.response.count("In addition") // 2
    return max(j.scores[0], min(j.scores[-1], score))


def answer(rng: random.Random, n: int) -> str:
    """The policy: honest early, padding from HACK_FROM, all padded to the top later."""
    if n >= SATURATED_FROM:
        grade, pads = 5, 8
    elif n >= HACK_FROM:
        grade, pads = rng.randint(2, 3), rng.randint(0, 6)
    else:
        grade, pads = rng.randint(1, 5), rng.randint(0, 1)
    order = rng.randint(10_000, 99_999)  # a distinct answer each time: no verdict cache hits
    text = f"Bring order {order} to any store with the receipt, grade {grade}, for a refund."
    return " ".join([text, *[FILLER] * pads])


def simulate(tmp: Path, batches: int) -> tuple[Path, Path]:
    """Score BATCHES batches; write each as ``--details`` and its event file (same stem)."""
    details, events = tmp / "details", tmp / "events"
    details.mkdir()
    events.mkdir()
    evaluator = make_evaluator(
        rubrics={"helpfulness": {"weight": 0.6}, "tone": {"weight": 0.4}},
        judge={"combine_rubrics": False},
    )
    rng = random.Random(7)
    for n in range(1, batches + 1):
        batch = [
            sample(f"b{n}-{HOSTILE_ID}-{p}-{k}", answer(rng, n), prompt)
            for p, prompt in enumerate(PROMPTS)
            for k in range(PER_PROMPT)
        ]
        rng.shuffle(batch)  # a group's samples need not be adjacent
        (events / f"batch_{n}.jsonl").write_text("".join(json.dumps(s) + "\n" for s in batch))
        answers, result = run_event(evaluator, batch, Deadline.never())
        write_outputs(answers, result, None, str(details / f"batch_{n}.jsonl"))
    return details, events


class Tables(HTMLParser):
    """The page's per-figure tables (rows of cell texts), images and missing notes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: dict[str, str] = {}
        self.missing: dict[str, str] = {}
        self._section = ""
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_missing = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id") or ""
        elif tag == "table" and a.get("class") == "data":
            self._table = a.get("data-figure") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "img":
            self.images[self._section] = a.get("src") or ""
        elif tag == "p" and a.get("class") == "missing":
            self._in_missing = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "p":
            self._in_missing = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_missing:
            self.missing[self._section] = self.missing.get(self._section, "") + data


def parse(page: str) -> Tables:
    tables = Tables()
    tables.feed(page)
    return tables


def column(tables: Tables, figure: str, name: str) -> list[str]:
    """One column of a figure's table, by header, a cell per window."""
    head, *rows = tables.tables[figure]
    return [row[head.index(name)] for row in rows]


def records(details: Path, events: Path) -> list[list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Per batch, in batch order: (details line, event sample) pairs."""
    out = []
    for n in range(1, BATCHES + 1):
        lines = (details / f"batch_{n}.jsonl").read_text().splitlines()
        raws = (events / f"batch_{n}.jsonl").read_text().splitlines()
        out.append([(json.loads(d), json.loads(e)) for d, e in zip(lines, raws, strict=True)])
    return out


def expected_window(batches: list[list[tuple[dict[str, Any], dict[str, Any]]]]) -> dict[str, Any]:
    """A window's figures from the raw records, computed independently of judge.runreport."""
    pairs = [p for b in batches for p in b]
    rewards = [d["reward"] for d, _ in pairs]
    cuts = statistics.quantiles(rewards, n=20, method="inclusive")
    rhos, flat, sized = [], 0, 0
    for b in batches:
        groups: dict[str, list[tuple[float, int, bool]]] = {}
        for d, e in b:
            prompt, response = e["messages"][0]["content"], e["messages"][1]["content"]
            groups.setdefault(prompt, []).append((d["reward"], len(response), d["unscored"]))
        for g in groups.values():
            sized += 1
            flat += max(r for r, _, _ in g) == min(r for r, _, _ in g)
            scored = [(r, n) for r, n, u in g if not u]
            varies = len({r for r, _ in scored}) > 1 and len({n for _, n in scored}) > 1
            if len(scored) >= 3 and varies:  # else undefined: the group is left out
                rhos.append(spearmanr([n for _, n in scored], [r for r, _ in scored]).statistic)
    helpful = [d["dimensions"]["helpfulness"]["normalized"] for d, _ in pairs]
    return {
        "mean": statistics.fmean(rewards),
        "p5": cuts[0],
        "p50": cuts[9],
        "p95": cuts[18],
        "helpfulness": statistics.fmean(h for h in helpful if h is not None),
        "length": statistics.fmean(len(e["messages"][1]["content"]) for _, e in pairs),
        "rho": statistics.fmean(rhos) if rhos else None,
        "zero_spread": flat / sized,
    }


@pytest.fixture
def run(serve: ServeFn, tmp_path: Path) -> tuple[Path, Path]:
    """The simulated run, scored through a real Converse server."""
    serve(ScriptedJudge(score_fn=judge_score))
    return simulate(tmp_path, BATCHES)


def report(*args: str) -> str:
    """``judge report ARGS``; the page it wrote."""
    result = CliRunner().invoke(main, ["report", *args])
    assert result.exit_code == 0, result.output
    out = Path(args[args.index("--out") + 1])
    return out.read_text(encoding="utf-8")


def test_report_figures_match_the_run(run: tuple[Path, Path], tmp_path: Path) -> None:
    details, events = run
    page = report(str(details), "--batches", str(events), "--out", str(tmp_path / "r.html"))
    tables = parse(page)
    by_batch = records(details, events)
    windows = [by_batch[i : i + WINDOW] for i in range(0, BATCHES, WINDOW)]
    expected = [expected_window(w) for w in windows]
    for name, key in [("mean", "mean"), ("p5", "p5"), ("p50", "p50"), ("p95", "p95")]:
        got = [float(v) for v in column(tables, "reward", name)]
        assert got == pytest.approx([e[key] for e in expected], abs=1e-4), name
    got = [float(v) for v in column(tables, "dimensions", "helpfulness")]
    assert got == pytest.approx([e["helpfulness"] for e in expected], abs=1e-4)
    got = [float(v) for v in column(tables, "length", "mean")]
    assert got == pytest.approx([e["length"] for e in expected], abs=1e-4)
    rho = [None if v == "n/a" else float(v) for v in column(tables, "length-corr", "rho")]
    assert rho == pytest.approx([e["rho"] for e in expected], abs=1e-4)
    spread = [float(v) for v in column(tables, "zero-spread", "share")]
    assert spread == pytest.approx([e["zero_spread"] for e in expected], abs=1e-4)
    # The hack shows: honest windows unflagged, every window after batch 30 flagged.
    rows = re.findall(r"<tr( class=flag)?><td>(\d+)</td>", page.split('data-figure="reward"')[1])
    marked = {int(n) for cls, n in rows if cls}
    assert marked >= {7, 8, 9, 10} and not marked & {1, 2, 3, 4, 5}
    assert max(e["rho"] for e in expected[:5]) < 0.3 < min(e["rho"] for e in expected[6:9])
    assert expected[-1]["zero_spread"] > 0.25 >= max(e["zero_spread"] for e in expected[:6])
    assert 'id="alerts"' in page and "from batch 3" in page
    for key in PLOTS:  # each figure is an inline PNG
        src = tables.images[key]
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "canary" in tables.missing and "no canary records" in tables.missing["canary"]
    assert "http" not in page.replace("http-equiv", "") and "<script" not in page
    assert HOSTILE_ID not in page and html.escape(HOSTILE_ID) in page


HOSTILE_RUBRIC = "tone</th><script>alert(1)</script>$x^2$"


def test_hostile_rubric_name_is_escaped_and_missing_figures_say_why(
    serve: ServeFn, tmp_path: Path
) -> None:
    """Details files edited to carry a hostile dimension name; no --batches folder."""
    serve(ScriptedJudge(score_fn=judge_score))
    details, _ = simulate(tmp_path, 3)
    for path in details.iterdir():
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        for line in lines:
            line["dimensions"][HOSTILE_RUBRIC] = line["dimensions"].pop("tone")
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    page = report(str(details), "--window", "1", "--out", str(tmp_path / "r.html"))
    tables = parse(page)
    assert "<script" not in page and HOSTILE_RUBRIC not in page
    assert html.escape(HOSTILE_RUBRIC) in page
    assert tables.tables["dimensions"][0][2:] == ["helpfulness", HOSTILE_RUBRIC]
    assert "dimensions" in tables.images  # drawn, the name as plain text (no mathtext)
    for key in ("length", "length-corr", "zero-spread"):
        assert "--batches" in tables.missing[key]
    assert "no --batches folder" in page


def emitted(capfd: pytest.CaptureFixture[str], call: Callable[[], Any]) -> tuple[list[str], Any]:
    """The stdout lines (JSON logs, EMF) the handler's code writes during ``call()``, and
    what it returned."""
    capfd.readouterr()
    value = call()
    lines = [line for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    return lines, value


@pytest.fixture
def local_logs(monkeypatch: pytest.MonkeyPatch, aws_env: Path) -> Iterator[str]:
    """moto's server on 127.0.0.1: CloudWatch Logs over HTTP; boto3 reaches it by URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    request = urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).close()  # moto keeps state per process
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", url)
    yield url
    server.stop()


@pytest.mark.parametrize("debug", [False, True])
def test_report_from_cloudwatch_logs(
    debug: bool,
    request: pytest.FixtureRequest,
    serve: ServeFn,
    local_logs: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The handler's own log lines for 10 batches and two canary runs, put to moto's
    CloudWatch Logs; the page's figures recomputed from the handler's answers. At DEBUG the
    handler logs each sample's reward too: the band is then quantiles, else min..max."""
    import boto3

    from judge import lambda_handler, observe
    from judge.canaries import CanaryRun, emit
    from judge.deadline import LocalContext

    serve(ScriptedJudge(score_fn=judge_score))
    if debug:  # as LOG_LEVEL=DEBUG on the function would; restored after the test
        std = logging.getLogger(observe.logger.name)
        request.addfinalizer(partial(std.setLevel, std.level))
        std.setLevel(logging.DEBUG)
    monkeypatch.setattr(
        lambda_handler,
        "_evaluator",
        make_evaluator(rubrics={"helpfulness": {"weight": 0.6}, "tone": {"weight": 0.4}}),
    )
    rng, t0 = random.Random(3), int(time.time() * 1000) - 3_600_000  # CloudWatch: recent
    logs = boto3.client("logs", region_name="us-east-1")
    group = "/aws/lambda/rlaif-judge-reward"
    logs.create_log_group(logGroupName=group)
    answers: list[list[float]] = []
    scored: list[dict[str, Any]] = []  # each invocation's ``batch scored`` line, as logged
    drifts = {1: 0.02, 7: 0.4}  # a canary run before batch 1 and one before batch 7
    for n in range(1, 11):
        if n in drifts:
            run = CanaryRun({"c<1>": drifts[n], "c2": drifts[n] / 2}, [])
            lines, _ = emitted(capfd, partial(emit, run.figures()))
            put(logs, group, "canary", t0 + n * 1000 - 500, lines)
        batch = [sample(f"{n}-{k}", answer(rng, n * 4), PROMPTS[k % 3]) for k in range(9)]
        lines, got = emitted(capfd, partial(lambda_handler.handler, batch, LocalContext(60)))
        answers.append([a["aggregate_reward_score"] for a in got])
        scored += [json.loads(x) for x in lines if '"message":"batch scored"' in x]
        put(logs, group, f"stream-{n % 2}", t0 + n * 1000, lines)
    page = report("--log-group", group, "--region", "us-east-1", "--out", str(tmp_path / "r.html"))
    tables = parse(page)
    windows = [answers[i : i + WINDOW] for i in (0, 5)]
    means = [statistics.fmean(r for b in w for r in b) for w in windows]
    assert [float(v) for v in column(tables, "reward", "mean")] == pytest.approx(means, abs=1e-4)
    if debug:  # every sample's reward: quantiles
        cuts = [
            statistics.quantiles([r for b in w for r in b], n=20, method="inclusive")
            for w in windows
        ]
        got = [float(v) for v in column(tables, "reward", "p25")]
        assert got == pytest.approx([c[4] for c in cuts], abs=1e-4)
    else:
        assert [float(v) for v in column(tables, "reward", "max")] == pytest.approx(
            [max(r for b in w for r in b) for w in windows], abs=1e-4
        )
        assert "no per-sample lines" in page
    drift = [float(v) for v in column(tables, "canary", "CanaryDriftMean")]
    assert drift == pytest.approx([(0.02 + 0.01) / 2, (0.4 + 0.2) / 2], abs=1e-4)
    assert html.escape("CanaryDrift_c<1>") in page and "CanaryDrift_c<1>" not in page
    for key in ("reward", "dimensions", "rates", "canary", "calls"):
        assert tables.images[key].startswith("data:image/png;base64,")
    signals(tables, [scored[i : i + WINDOW] for i in (0, 5)])
    assert all(float(c) > 0 for c in column(tables, "calls", "calls"))


def signals(tables: Tables, windows: list[list[dict[str, Any]]]) -> None:
    """Length, correlation, zero-spread and refused as the handler's lines give them: per
    window, recomputed from its ``batch scored`` lines; named as missing if they lack them."""
    if not all("RewardLengthGroups" in line for w in windows for line in w):
        for key in ("length", "length-corr", "zero-spread"):  # a handler without the signals
            assert key not in tables.images and key in tables.missing
        assert "no RewardLengthCorr" in tables.missing["length-corr"]
        assert "refused" not in tables.tables["rates"][0]
        return
    corr = []
    for w in windows:
        groups = sum(line["RewardLengthGroups"] for line in w)
        parts = [line.get("RewardLengthCorr", 0) * line["RewardLengthGroups"] for line in w]
        corr.append(sum(parts) / groups if groups else None)
    got = [None if v == "n/a" else float(v) for v in column(tables, "length-corr", "rho")]
    assert got == pytest.approx(corr, abs=1e-4)
    lengths = [
        sum(line["ResponseLengthMean"] * line["BatchSize"] for line in w)
        / sum(line["BatchSize"] for line in w)
        for w in windows
    ]
    got = [float(v) for v in column(tables, "length", "mean")]
    assert got == pytest.approx(lengths, abs=1e-4)
    refused = [
        sum(x["RefusedSamples"] for x in w) / sum(x["BatchSize"] for x in w) for w in windows
    ]
    assert [float(v) for v in column(tables, "rates", "refused")] == pytest.approx(refused)


def put(logs: Any, group: str, stream: str, time_ms: int, lines: list[str]) -> None:
    """Lines as one log stream's events at ``time_ms`` (the stream made on first use)."""
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    events = [{"timestamp": time_ms, "message": line} for line in lines]
    reply = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    assert not reply.get("rejectedLogEventsInfo"), reply


def test_windows_from_per_batch_signals() -> None:
    """A handler that logs the per-batch signals: each window's figures as if from its
    samples (lengths pooled, the correlation averaged over all the window's groups)."""
    from judge.metrics import metric
    from judge.runreport.compute import windows
    from judge.runreport.read import BatchLog, RunLog

    rng = random.Random(5)
    lengths = [[rng.randint(20, 900) for _ in range(rng.randint(4, 12))] for _ in range(4)]
    rhos = [[rng.uniform(-1, 1) for _ in range(rng.randint(1, 3))] for _ in range(4)]
    batches = []
    for n, (ls, rs) in enumerate(zip(lengths, rhos, strict=True)):
        figures = {
            "BatchSize": len(ls),
            "RewardMean": 0.1 * n,
            "RewardMin": -0.5,
            "RewardMax": 0.5,
            "ResponseLengthMean": statistics.fmean(ls),
            "ResponseLengthStd": statistics.pstdev(ls),
            "RewardLengthCorr": statistics.fmean(rs),
            "RewardLengthGroups": len(rs),
            "ZeroSpreadGroupRate": 0.25 * n,
            "GuardedSamples": 1,
            "UnscoredSamples": 0,
            "MalformedSamples": 0,
            "RefusedSamples": n % 2,
            "JudgeCalls": 10,
        }
        for name in figures:
            metric(name)  # every name is the handler's (judge.metrics), or KeyError
        batches.append(BatchLog(f"b{n}", 1000 * n, None, figures, 0.01))
    ws = windows(RunLog("test", batches), 2)
    for w, pair in zip(ws, (slice(0, 2), slice(2, 4)), strict=True):
        pooled = [x for ls in lengths[pair] for x in ls]
        groups = [r for rs in rhos[pair] for r in rs]
        mean, sd = statistics.fmean(pooled), statistics.pstdev(pooled)
        assert w.length_mean == pytest.approx(mean)
        assert w.length_band == pytest.approx((mean - sd, mean + sd))
        assert w.length_corr == pytest.approx(statistics.fmean(groups))
        assert w.corr_groups == len(groups)
        assert w.rates["refused"] == pytest.approx(1 / len(pooled))
        assert w.calls == 20 and w.cost_usd == pytest.approx(0.02)
        hacked = statistics.fmean(groups) > 0.3
        assert any("correlation" in f for f in w.flags) == hacked
    assert [w.zero_spread for w in ws] == pytest.approx([0.125, 0.625])
    assert [any("zero-spread" in f for f in w.flags) for w in ws] == [False, True]


def test_report_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    """No source or two sources: a usage error; a details file that is not one, or an
    event file of another batch: one line naming the file, exit 2, no page."""
    out = tmp_path / "r.html"
    runner = CliRunner()
    assert runner.invoke(main, ["report", "--out", str(out)]).exit_code == 2
    details = tmp_path / "d"
    details.mkdir()
    (details / "b1.jsonl").write_text(json.dumps({"id": "a", "reward": 0.5}) + "\n")
    both = runner.invoke(main, ["report", str(details), "--log-group", "g", "--out", str(out)])
    assert both.exit_code == 2 and "one of them" in both.output
    # an option of the other source is refused, not ignored; thresholds are in range
    for extra, said in (
        (["--log-group", "g", "--batches", str(details)], "--batches goes with DETAILS"),
        ([str(details), "--start", "2026-01-01T00:00:00"], "--start only go"),
        ([str(details), "--region", "us-east-1", "--end", "2026-01-02"], "--end, --region only"),
        ([str(details), "--max-length-corr", "1.5"], "--max-length-corr"),
        ([str(details), "--max-zero-spread", "-0.1"], "--max-zero-spread"),
    ):
        refused = runner.invoke(main, ["report", *extra, "--out", str(out)])
        assert refused.exit_code == 2 and said in refused.output, (extra, refused.output)
        assert not out.exists()
    events = tmp_path / "e"
    events.mkdir()
    (events / "b1.jsonl").write_text(json.dumps(sample("a", "x")) + "\n" + "[]\n")
    other = runner.invoke(
        main, ["report", str(details), "--batches", str(events), "--out", str(out)]
    )
    assert other.exit_code == 2 and "not the batch it was scored from" in other.output
    (details / "b2.jsonl").write_text("not json\n")
    bad = runner.invoke(main, ["report", str(details), "--out", str(out)])
    assert bad.exit_code == 2 and "b2.jsonl:1" in bad.output and not out.exists()
