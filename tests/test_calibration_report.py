"""The calibration report as a new user reads it: intervals, counts, warnings, worst anchors."""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result
from numpy.typing import NDArray

from judge.artefact import load_artefact
from judge.calibration.anchors import load_anchors
from judge.calibration.stats import METRICS, bootstrap
from judge.cli import main
from judge.server.scripted import Judged, ScriptedJudge
from tests.conftest import REPO, ServeFn, project_copy

LEVELS = [1, 2, 3, 4, 5]
# "v [low, high]" as the report and the console print a statistic
INTERVAL = re.compile(r"(-?\d+\.\d+) \[(-?\d+\.\d+), (-?\d+\.\d+)\]")
# Each statistic's own range: an interval must stay inside it
RANGES = {
    "spearman": (-1.0, 1.0),
    "kendall": (-1.0, 1.0),
    "pearson": (-1.0, 1.0),
    "qwk": (-math.inf, 1.0),
    "krippendorff_alpha": (-math.inf, 1.0),
    "mae": (0.0, math.inf),
    "rmse": (0.0, math.inf),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of the project and its bundled anchors; returns its reward.toml."""
    return project_copy(tmp_path / "project", "calibration/anchors")


def _politeness(config: Path) -> Path:
    return config.parent / "calibration" / "anchors" / "politeness.jsonl"


def _cli(config: Path, anchors: Path, *args: str, rubric: str = "tone") -> Result:
    return CliRunner().invoke(
        main,
        [
            "calibrate",
            "--rubric",
            rubric,
            "--anchors",
            str(anchors),
            "--config",
            str(config),
            *args,
        ],
    )


def _report(config: Path, rubric: str = "tone") -> Path:
    return config.parent / "calibration" / "reports" / rubric / "report.md"


def _printed_intervals(text: str) -> list[tuple[float, float, float]]:
    return [(float(v), float(lo), float(hi)) for v, lo, hi in INTERVAL.findall(text)]


# -- 1. a point estimate lies inside its interval ------------------------------------------


def _held_out(rng: np.random.Generator) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A few held-out items whose judge scores are mostly tied (a judge that says 3 to nearly
    everything, as the scripted one does to the politeness anchors); labels in sixths."""
    n = int(rng.integers(2, 15))
    judge = np.full(n, float(rng.choice(LEVELS)))
    for i in rng.integers(0, n, int(rng.integers(0, 4))):
        judge[i] = float(rng.choice(LEVELS))
    return judge, rng.integers(6, 31, n) / 6


def test_every_interval_contains_its_point_estimate() -> None:
    """For random held-out sets, each statistic's point estimate lies in its printed interval,
    and the interval in the statistic's range."""
    rng = np.random.default_rng(17)
    for case in range(150):  # 5 of them printed the point outside (percentile, 60 rounds)
        judge, human = _held_out(rng)
        out = bootstrap(judge, human, (1.0, 5.0), LEVELS, rounds=60, seed=case)
        for name in METRICS:
            value, low, high = out[name]["value"], out[name]["low"], out[name]["high"]
            if math.isnan(value):  # undefined (a constant series): no interval either
                continue
            where = (case, name, judge.tolist(), human.tolist())
            assert low <= value <= high, (*where, value, low, high)
            assert RANGES[name][0] <= low and high <= RANGES[name][1], (*where, low, high)
            [printed] = _printed_intervals(f"{value:.3f} [{low:.3f}, {high:.3f}]")
            assert printed[1] <= printed[0] <= printed[2], (*where, printed)


def test_printed_intervals_contain_their_point_on_the_politeness_anchors(
    serve: ServeFn, project: Path
) -> None:
    """The scripted judge gives most politeness anchors a 3; 6 held out used to print
    Spearman 0.655 [0.664, 0.991] (the resamples' ties pull rank correlations up)."""
    serve(ScriptedJudge())
    result = _cli(
        project, _politeness(project), "--max-items", "20", "--seed", "1", "--probes", "0"
    )
    assert result.exit_code == 0, result.output
    for text in (result.stdout, _report(project).read_text()):
        printed = _printed_intervals(text)
        assert len(printed) >= 2 * 4, text  # qwk, alpha, mae, rmse at least, raw and calibrated
        for value, low, high in printed:
            assert low <= value <= high, (value, low, high)


# -- 2. counts print as integers -----------------------------------------------------------


def test_counts_print_as_integers(serve: ServeFn, project: Path) -> None:
    serve(ScriptedJudge())
    result = _cli(project, _politeness(project), "--max-items", "20", "--probes", "0")
    assert result.exit_code == 0, result.output
    report = _report(project).read_text()
    assert "| items | 20 |" in report, report
    assert not re.search(r"\| items \| \d+\.\d+ \|", report)
    saved = load_artefact(project.parent / "calibration" / "tone.json")
    assert saved is not None and saved.metrics["human_agreement"]["items"] == 20


# -- 3. the report's warnings reach the console --------------------------------------------


def _report_warnings(report: str) -> list[str]:
    return re.findall(r"^\*\*Warning: (.+?)\*\*$", report, flags=re.MULTILINE)


@pytest.mark.parametrize("as_json", [False, True])
def test_every_report_warning_is_printed_on_stderr(
    serve: ServeFn, project: Path, as_json: bool
) -> None:
    serve(ScriptedJudge())
    args = ("--max-items", "12", "--probes", "0", *(["--json"] if as_json else []))
    result = _cli(project, _politeness(project), *args)
    assert result.exit_code == 0, result.output
    warnings = _report_warnings(_report(project).read_text())
    assert any("Only 4 held-out items" in w for w in warnings), warnings
    stderr = " ".join(result.stderr.split())  # the console may wrap long lines
    for warning in warnings:
        assert f"warning {warning}" in stderr, (warning, result.stderr)
    if as_json:
        json.loads(result.stdout)  # stdout stays pure JSON


def test_a_panel_prints_each_judges_warnings(serve: ServeFn, project: Path) -> None:
    serve(ScriptedJudge())
    text = project.read_text().replace(
        "[judge]\n", '[judge]\npanel = [{model_id = "judge-a"}, {model_id = "judge-b"}]\n', 1
    )
    project.write_text(text.replace("[guard]\nenabled = true", "[guard]\nenabled = false"))
    result = _cli(project, _politeness(project), "--max-items", "12", "--probes", "0")
    assert result.exit_code == 0, result.output
    stderr = " ".join(result.stderr.split())
    for model in ("judge-a", "judge-b"):
        warnings = _report_warnings(_report(project, f"tone@{model}").read_text())
        assert warnings
        for warning in warnings:
            assert f"warning {model}: {warning}" in stderr, (warning, result.stderr)


# -- 4. the anchors the judge got most wrong -----------------------------------------------

LONG_TURN = "Please help me with my order, it is late. " * 30  # 1260 characters


def _tricky_anchors(path: Path) -> dict[str, dict[str, Any]]:
    """12 anchors; the judge (score = 5 - label's level) gets the extremes most wrong."""
    lines = {}
    for i in range(12):
        label = 1 + (i % 5)
        line: dict[str, Any] = {
            "id": f"a{i:02d}",
            "prompt": f"Question {i}?",
            "response": f"Answer number {i}.",
            "labels": {"tone": [label, label]},
        }
        if i == 0:  # a multi-turn prompt with a long last turn, a response that breaks markdown
            line["prompt"] = [
                {"role": "user", "content": "Hi."},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": LONG_TURN},
            ]
            line["response"] = "Sorry.\n```\n</pre><script>x</script>\n| a | b |"
        lines[line["id"]] = line
    path.write_text("".join(json.dumps(v) + "\n" for v in lines.values()))
    return lines


def _inverted(j: Judged) -> int:
    """Scores the inverse of the label: item i has label 1 + i % 5 (see ``_tricky_anchors``)."""
    found = re.search(r"Answer number (\d+)\.|Sorry\.", j.response)
    i = int(found.group(1)) if found and found.group(1) else 0
    return 6 - (1 + i % 5)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_report_lists_the_anchors_the_judge_got_most_wrong(
    serve: ServeFn, project: Path, tmp_path: Path
) -> None:
    anchors = tmp_path / "tricky.jsonl"
    lines = _tricky_anchors(anchors)
    judge = serve(ScriptedJudge(score_fn=_inverted))
    records = _Records()
    logging.getLogger("judge").addHandler(records)
    try:
        result = _cli(project, anchors, "--probes", "0", "--worst", "5", "--samples", "2")
    finally:
        logging.getLogger("judge").removeHandler(records)
    assert result.exit_code == 0, result.output
    saved = load_artefact(project.parent / "calibration" / "tone.json")
    assert saved is not None
    labelled = {a.id: a for a in load_anchors(anchors, "tone")}

    worst_file = _report(project).parent / "worst.jsonl"
    rows = [json.loads(line) for line in worst_file.read_text().splitlines()]
    assert len(rows) == 5
    errors = [abs(r["error"]) for r in rows]
    assert errors == sorted(errors, reverse=True)
    everyone = []
    for line in lines.values():  # what each anchor's error is, from the map in the artefact
        label = line["labels"]["tone"][0]
        everyone.append(abs(saved.map.apply(float(6 - label)) - label))
    assert errors == pytest.approx(sorted(everyone, reverse=True)[:5])
    assert len(judge.requests) == 12 * 2
    for row in rows:
        line = lines[row["id"]]
        assert row["response"] == line["response"]
        assert row["prompt"] == line["prompt"]
        assert row["human_label"] == labelled[row["id"]].label
        assert row["judge_score"] == 6 - row["human_label"]
        assert row["calibrated_score"] == pytest.approx(saved.map.apply(row["judge_score"]))
        assert row["error"] == pytest.approx(row["calibrated_score"] - row["human_label"])
        assert len(row["verdicts"]) == 2
        for verdict in row["verdicts"]:  # the judge's own words for that verdict
            assert (
                verdict["reasoning"]
                == f"The response reads as a {verdict['score']} on this rubric."
            )
        assert row["reasoning"] == row["verdicts"][0]["reasoning"]
        assert row["split"] in ("held-out", "calibration")

    report = _report(project).read_text()
    section = report[report.index("## Anchors the judge got most wrong") :]
    shown = re.findall(r"^### \d+\. `(a\d\d)`", section, flags=re.MULTILINE)
    assert shown == [r["id"] for r in rows]
    assert "a00" in shown  # its long multi-turn prompt is cut; its response cannot break out
    assert LONG_TURN not in section and "(last of 3 turns) Please help me" in section
    assert "more characters in worst.jsonl" in section
    assert "````text\nSorry.\n```\n</pre><script>x</script>\n| a | b |\n````" in section
    assert "The response reads as a" in section

    for line in lines.values():  # no response text on the console or in the logs
        assert line["response"] not in result.output
        assert not any(line["response"] in m for m in records.messages)


def test_the_worst_list_can_be_shortened_or_left_out(serve: ServeFn, project: Path) -> None:
    serve(ScriptedJudge())
    result = _cli(project, _politeness(project), "--max-items", "12", "--probes", "0")
    assert result.exit_code == 0, result.output
    worst = _report(project).parent / "worst.jsonl"
    assert len(worst.read_text().splitlines()) == 10  # the default
    assert "worst.jsonl" in " ".join(result.stderr.split())
    result = _cli(
        project, _politeness(project), "--max-items", "12", "--probes", "0", "--worst", "0"
    )
    assert result.exit_code == 0, result.output
    assert worst.read_text() == ""


# -- 5. the anchor format is documented and named in errors --------------------------------


def test_an_event_file_passed_as_anchors_says_what_an_anchor_line_is(
    aws_env: Path, project: Path, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        "".join(
            json.dumps({"id": f"s{i}", "messages": [{"role": "user", "content": "hi"}]}) + "\n"
            for i in range(3)
        )
    )
    result = _cli(project, events, "--probes", "0")
    assert result.exit_code == 2, result.output
    line = " ".join(result.output.split())
    assert "prompt: Field required" in line
    assert "looks like an event file, not an anchor file" in line
    assert '{"id": "a1", "prompt": "Where is my order?", "response":' in line
    assert '"labels": {"tone": 4}' in line and "README.md" in line


def test_the_readme_documents_an_anchor_line_that_loads(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Calibration") :]
    section = section[: section.index("\n## ", 1)]
    examples = re.findall(r"`(\{\"id\".*\})`$", section, flags=re.MULTILINE)
    assert examples, "the Calibration section shows no anchor line"
    path = tmp_path / "one.jsonl"
    path.write_text(examples[0] + "\n")
    rubric = next(iter(json.loads(examples[0])["labels"]))
    [anchor] = load_anchors(path, rubric)
    assert anchor.item.response
    assert "human-labelled" in section
