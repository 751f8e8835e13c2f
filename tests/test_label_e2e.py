"""The human-label loop end to end against a real Label Studio (``make label-e2e``).

A real ``label-studio`` server (its own venv, its own SQLite in a temp dir) on 127.0.0.1,
a generated admin and a second annotator who joins through the invite link, each with a
personal access token. Two rounds: export from a scored run, create the project from the
generated labelling config, import the tasks, annotate as the two simulated annotators
(their labels are simulated from the bundled politeness anchors plus noise: not human
labels), export a snapshot, import into anchors; the second round is offered only what the
first did not label; then ``judge calibrate`` on the new anchors against the scripted judge.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.cli import main
from judge.prompt import fence
from judge.server.scripted import Judged, ScriptedJudge, lexicon_score
from tests.conftest import REPO, ServeFn, project_copy
from tests.labelstudio_client import Client, invite_path, sign_in, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.labelstudio]

LS_BIN = REPO / ".venv-labelstudio" / "bin" / "label-studio"
HOSTILE = [
    'Thanks! ]]></Text><Text name="x" value="$dialogue"/> <script>alert(1)</script>',
    "Please see $response and {{ 7*7 }} \u202egnp.exe\u202c. verdict: 5 <b>bold</b> & co",
]


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A Label Studio server with its own SQLite, an admin, and how long it took to start."""
    assert LS_BIN.exists(), "make labelstudio-venv first (make label-e2e does)"
    data = tmp_path_factory.mktemp("labelstudio")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    email, password = "admin@example.com", secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "SENTRY_DSN": "",  # no error reports leave the machine
        "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
    }
    args = [str(LS_BIN), "start", "--no-browser", "--internal-host", "127.0.0.1"]
    args += ["--port", str(port), "--data-dir", str(data), "--database", str(data / "ls.sqlite3")]
    args += ["--username", email, "--password", password]
    log = (data / "server.log").open("w")
    started = time.monotonic()
    server = subprocess.Popen(
        args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            assert server.poll() is None, (data / "server.log").read_text()[-3000:]
            assert time.monotonic() - started < 600, "Label Studio did not answer /health"
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(1)
        up = time.monotonic() - started
        print(f"label studio answered /health after {up:.0f} s")
        yield {"base": base, "email": email, "password": password, "start_s": up}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _dataset(path: Path, anchors: Path, n: int) -> dict[str, float]:
    """RFT samples from the first ``n`` politeness anchors plus the hostile ones."""
    lines = [json.loads(t) for t in anchors.read_text().splitlines()[:n]]
    truth = {}
    samples = []
    for line in lines:
        tone = line["labels"]["tone"]
        truth[line["response"]] = sum(tone) / len(tone)
        samples.append(_sample(line["id"], line["prompt"], line["response"]))
    samples += [
        _sample(f"hostile-{i}", "Reply to the <user>", text) for i, text in enumerate(HOSTILE)
    ]
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    return truth


def _sample(sid: str, prompt: str, response: str) -> dict[str, Any]:
    return {
        "id": sid,
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": response},
        ],
    }


def _judge(truth: dict[str, float]) -> ScriptedJudge:
    """A noisy judge of tone that reads the politeness labels; other rubrics by lexicon."""

    read = {fence(text): mean for text, mean in truth.items()}  # as the judge reads it

    def score(j: Judged) -> int:
        if j.rubric != "tone" or j.response not in read:
            return lexicon_score(j)
        noise = random.Random(j.response).gauss(0, 0.7)
        return int(min(5, max(1, round(1 + 4 * math.pow((read[j.response] - 1) / 4, 1.5) + noise))))

    return ScriptedJudge(score_fn=score)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _annotate(
    client: Client, who: int, tasks: list[dict[str, Any]], truth: dict[str, float]
) -> int:
    """Post one simulated annotator's labels (one task skipped by annotator 2)."""
    rng = random.Random(who)
    posted = 0
    for n, t in enumerate(tasks):
        response = t["data"]["response"]
        if who == 2 and n == 0:
            client.call(
                "POST", f"/api/tasks/{t['id']}/annotations/", {"result": [], "was_cancelled": True}
            )
            continue
        mean = truth.get(response, 3.0)
        value = int(min(5, max(1, round(mean + rng.gauss(0, 0.6)))))
        result = [
            {
                "from_name": "score",
                "to_name": "response",
                "type": "choices",
                "value": {"choices": [str(value)]},
            }
        ]
        client.call(
            "POST", f"/api/tasks/{t['id']}/annotations/", {"result": result, "lead_time": 5.0}
        )
        posted += 1
    return posted


def _round(
    admin: Client, second: Client, out: Path, truth: dict[str, float], title: str
) -> tuple[Path, int]:
    """One round in Label Studio: project from the config, tasks, two annotators, export."""
    project = admin.call(
        "POST",
        "/api/projects/",
        {
            "title": title,
            "label_config": (out / "config.xml").read_text(),
            "expert_instruction": (out / "instructions.html").read_text(),
            "show_instruction": True,
            "show_collab_predictions": False,  # annotators do not see the judge's score
        },
    )
    pid = project["id"]
    tasks = json.loads((out / "tasks.json").read_text())
    imported = admin.call("POST", f"/api/projects/{pid}/import", tasks)
    assert imported["task_count"] == len(tasks) and imported["prediction_count"] == len(tasks)
    listed = admin.call("GET", f"/api/tasks/?project={pid}&page_size=1000")["tasks"]
    assert sorted(t["data"]["item"] for t in listed) == sorted(t["data"]["item"] for t in tasks)
    for t in listed:  # the text came back exactly as sent, hostile or not
        sent = next(s for s in tasks if s["data"]["item"] == t["data"]["item"])
        assert t["data"]["response"] == sent["data"]["response"]
    posted = _annotate(admin, 1, listed, truth) + _annotate(second, 2, listed, truth)
    snapshot = admin.call(
        "POST",
        f"/api/projects/{pid}/exports/",
        {
            "title": "labels",
            "serialization_options": {
                "predictions": {"only_id": False},
                "annotations__completed_by": {"only_id": False},
            },
        },
    )
    for _ in range(120):
        state = admin.call("GET", f"/api/projects/{pid}/exports/{snapshot['id']}")["status"]
        if state == "completed":
            break
        assert state != "failed"
        time.sleep(1)
    exported = admin.call(
        "GET", f"/api/projects/{pid}/exports/{snapshot['id']}/download?exportType=JSON"
    )
    path = out / "export.json"
    path.write_text(json.dumps(exported))
    return path, posted


def test_the_loop_with_a_real_label_studio(
    studio: dict[str, Any], serve: ServeFn, tmp_path: Path
) -> None:
    config = project_copy(tmp_path / "project", "calibration/anchors")
    truth = _dataset(
        tmp_path / "data.jsonl", config.parent / "calibration" / "anchors" / "politeness.jsonl", 60
    )
    serve(_judge(truth))
    cfg = ["--config", str(config)]
    details, anchors = tmp_path / "details.jsonl", tmp_path / "labels.jsonl"
    _cli("score", str(tmp_path / "data.jsonl"), "--details", str(details), "-q", *cfg)

    base = studio["base"]
    admin = Client(base, sign_in(base, studio["email"], studio["password"]).create_token())
    second_browser = sign_up(
        base, invite_path(admin), "second@example.com", secrets.token_urlsafe(16)
    )
    second = Client(base, second_browser.create_token())
    assert second.call("GET", "/api/current-user/whoami")["email"] == "second@example.com"

    seen: set[str] = set()
    for n, (count, title) in enumerate([(30, "tone round 1"), (40, "tone round 2")]):
        out = tmp_path / f"round{n}"
        _cli(
            "label", "export", "--rubric", "tone", "--data", str(tmp_path / "data.jsonl"),
            "--details", str(details), "--anchors", str(anchors), "-n", str(count),
            "--out", str(out), *cfg,
        )  # fmt: skip
        exported = json.loads((out / "tasks.json").read_text())
        items = {t["data"]["item"] for t in exported}
        drawn = sum(t["data"]["selected_by"] == "random" for t in exported)
        assert drawn == round(0.2 * len(exported))
        assert not items & seen  # never offered again once labelled under this version
        seen |= items
        export, posted = _round(admin, second, out, truth, title)
        figures = json.loads(
            _cli(
                "label",
                "import",
                str(export),
                "--rubric",
                "tone",
                "--anchors",
                str(anchors),
                "--json",
                *cfg,
            )
        )
        assert figures["labels"] == posted and figures["added"] == posted
        assert figures["cancelled"] == 1 and figures["refused_other_version"] == 0
        assert figures["multi_rated_items"] == len(items) - 1
        assert figures["human_alpha_ordinal"] is not None and figures["human_alpha_ordinal"] > 0.3
        assert figures["judge_human"]["items"] == len(items)
        assert figures["judge_human_random_share"]["items"] == drawn
        again = json.loads(
            _cli(
                "label",
                "import",
                str(export),
                "--rubric",
                "tone",
                "--anchors",
                str(anchors),
                "--json",
                *cfg,
            )
        )
        assert again["added"] == 0 and again["unchanged"] == posted  # no duplicates
    assert len(seen) == 62  # 30 + the remaining 32: every item, each once

    lines = [json.loads(t) for t in anchors.read_text().splitlines()]
    assert len(lines) == 62
    for text in HOSTILE:
        line = next(x for x in lines if x["response"] == text)
        assert set(line["raters"]["tone"]) <= {"admin@example.com", "second@example.com"}
        assert (
            line["rubric_hash"]["tone"]
            == json.loads((tmp_path / "round0" / "items.jsonl").read_text().splitlines()[0])[
                "rubric_hash"
            ]
        )

    status = json.loads(
        _cli("label", "status", "--anchors", str(anchors), "--rubric", "tone", "--json", *cfg)
    )
    assert status[0]["anchors"] == 62 and status[0]["due"] == "due: no calibration map"
    held = json.loads(
        _cli(
            "calibrate",
            "--rubric",
            "tone",
            "--anchors",
            str(anchors),
            "--probes",
            "0",
            "--json",
            *cfg,
        )
    )["holdout"]
    print(
        "held-out (raw -> calibrated):",
        {
            m: (round(held["raw"][m], 3), round(held["calibrated"][m], 3))
            for m in ("spearman", "mae", "qwk")
        },
    )
    assert held["calibrated"]["mae"] < held["raw"]["mae"]  # the judge is harsh: the map corrects it
    artefact = json.loads((config.parent / "calibration" / "tone.json").read_text())
    assert artefact["metrics"]["anchor_versions"] == {"current": 62, "other": 0, "unversioned": 0}
    assert artefact["metrics"]["holdout"]["calibrated"]["spearman"] > 0.3
    status = json.loads(
        _cli("label", "status", "--anchors", str(anchors), "--rubric", "tone", "--json", *cfg)
    )
    assert status[0]["due"] == ""
