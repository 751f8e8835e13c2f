"""Sample ids come back exactly as the event held them: RFT joins rewards to samples by id.

An id is any JSON value; a string may hold a lone surrogate (``"\\ud800"`` is valid JSON).
Only text sent to a judge is made encodable; ids are echoed, through the deployed entry
point and the Lambda runtime's own serializer, through ``judge score --out`` and through
``judge invoke``.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judge import lambda_handler
from judge.cli import main
from judge.deadline import Deadline, LocalContext
from judge.lambda_handler import run_event, wire
from judge.server import ConverseServer
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, ServeFn, make_evaluator, sample

REPLY = "Thanks for asking: bring it back within 60 days and we refund you."
LONE = "\ud800"


def rft_sample(sample_id: Any, response: str = REPLY) -> dict[str, Any]:
    """An RFT sample with any id (``conftest.sample`` takes string ids)."""
    return {
        "id": sample_id,
        "messages": [
            {"role": "user", "content": "How do I return a tent?"},
            {"role": "assistant", "content": response},
        ],
    }


def runtime_sends(returned: Any) -> bytes:
    """What Lambda's python3.12+ runtime sends for a handler's return value.

    awslambdaric's marshaller: bytes as they are; anything else written as JSON with
    ``ensure_ascii=False`` (simplejson there; it writes the same text as the standard
    library) and encoded as UTF-8, which raises on a lone surrogate.
    """
    if isinstance(returned, bytes):
        return returned
    return json.dumps(returned, ensure_ascii=False, allow_nan=True).encode("utf-8")


def as_json(values: list[Any]) -> list[str]:
    """Values compared as JSON text (``"\\ud800"`` escapes; NaN would not be JSON)."""
    return [json.dumps(v, allow_nan=False) for v in values]


_LONE_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
_TEXT = st.lists(st.characters() | _LONE_SURROGATES, max_size=12).map("".join)
_NANISH = st.sampled_from(
    ["NaN", "nan", "-NaN", "Infinity", "-Infinity", "inf", "1e999", "-0", "null", "", "\ufffd"]
)
_SCALARS = st.one_of(
    _TEXT,
    _NANISH,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
_IDS = _SCALARS | st.lists(_SCALARS, max_size=3) | st.dictionaries(_TEXT, _SCALARS, max_size=2)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``judge.lambda_handler.handler`` as deployed: its config from JUDGE_CONFIG, a judge
    on loopback (module scope: hypothesis runs many examples against one container)."""
    tmp = tmp_path_factory.mktemp("ids")
    config = tmp / "reward.toml"
    config.write_text(
        f'[paths]\nrubrics = "{REPO / "rubrics"}"\nprompts = "{REPO / "prompts"}"\n'
        f'calibration = "{tmp / "no-calibration"}"\n[rubrics]\ntone = {{ weight = 1 }}\n'
    )
    server = ConverseServer(ScriptedJudge()).start()
    saved = dict(os.environ)
    os.environ.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=server.url,
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION="us-east-1",
        JUDGE_CACHE_DIR=str(tmp / "cache"),
        JUDGE_FENCE_SECRET="test-secret",
        JUDGE_CONFIG=str(config),
    )
    lambda_handler.reset()
    try:
        yield
    finally:
        lambda_handler.reset()
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


@settings(
    deadline=None,
    max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(_IDS, min_size=1, max_size=4))
def test_the_deployed_handler_echoes_every_id_exactly(deployed: None, ids: list[Any]) -> None:
    """Event JSON in, the runtime's bytes out: each answer's id is the event's, as JSON."""
    event = json.loads(json.dumps([rft_sample(i) for i in ids]))  # as the runtime reads it
    sent = runtime_sends(lambda_handler.handler(event, LocalContext(60)))
    answer = json.loads(sent)
    assert as_json([a["id"] for a in answer]) == as_json([s["id"] for s in event])
    assert all(-1.0 <= a["aggregate_reward_score"] <= 1.0 for a in answer)


def test_an_answer_the_runtime_can_write_is_returned_as_is() -> None:
    """Only an answer UTF-8 cannot hold becomes bytes: every other one is unchanged."""
    plain = [{"id": "é-1", "aggregate_reward_score": 0.5, "metrics_list": []}]
    assert wire(plain) is plain
    lone = [{**plain[0], "id": ["a", {"k": f"x{LONE}"}]}]
    sent = wire(lone)
    assert isinstance(sent, bytes) and sent.isascii()
    assert json.loads(sent) == lone


def _batch_file(tmp_path: Path, ids: list[Any]) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps(rft_sample(i)) + "\n" for i in ids))
    return path


ODD_IDS: list[Any] = [LONE, f"a{LONE}b", "\udfff\ud800", "NaN", "\ufffd", 7, 1.5e300, [LONE]]


def test_score_out_and_details_round_trip_every_id(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge())
    batch = _batch_file(tmp_path, ODD_IDS)
    out, details = tmp_path / "answer.json", tmp_path / "why.jsonl"
    args = ["score", str(batch), "--out", str(out), "--details", str(details)]
    result = CliRunner().invoke(main, [*args, "--config", str(REPO / "reward.toml")])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().isascii()  # escapes, readable by any JSON reader
    expected = as_json(ODD_IDS)
    assert as_json([a["id"] for a in json.loads(out.read_text())]) == expected
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert as_json([line["id"] for line in lines]) == expected
    assert "\\ud800" in result.output  # the table shows the id, escaped


def test_invoke_prints_every_id_exactly(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge())
    batch = _batch_file(tmp_path, ODD_IDS)
    lambda_handler.reset()
    try:
        args = ["invoke", str(batch), "--config", str(REPO / "reward.toml")]
        result = CliRunner().invoke(main, args)
    finally:
        lambda_handler.reset()
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout.splitlines()[-1])
    assert as_json([a["id"] for a in answer]) == as_json(ODD_IDS)


class _StrictUtf8(logging.Handler):
    """A log sink that writes UTF-8 and lets a failure raise (as a crash would)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stream = io.BytesIO()

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.write(self.format(record).encode("utf-8") + b"\n")


def test_log_lines_show_hostile_ids_escaped(serve: ServeFn) -> None:
    """Warnings that name ids (duplicates, malformed samples) are written, not lost."""
    serve(ScriptedJudge())
    sink = _StrictUtf8()
    log = logging.getLogger("judge")
    log.addHandler(sink)
    try:
        batch = [rft_sample(LONE), rft_sample(LONE, "Also fine."), {"id": f"m{LONE}"}]
        answer, _ = run_event(make_evaluator(), batch, Deadline.never())
    finally:
        log.removeHandler(sink)
    written = sink.stream.getvalue().decode("utf-8")
    assert "duplicate sample ids in the batch: \\ud800" in written
    assert "malformed sample m\\ud800" in written
    assert [a["id"] for a in answer] == [LONE, LONE, f"m{LONE}"]


def test_batch_planning_names_hostile_ids_printably(serve: ServeFn) -> None:
    """The manifest's "about" line names samples by id: escaped, so it can be written."""
    from judge.batch.records import score_tasks

    serve(ScriptedJudge())
    planned = score_tasks(make_evaluator(), [sample(f"x{LONE}", "Thanks for asking!")])
    assert planned and all("x\\ud800" in p.about for p in planned)
    for p in planned:
        p.about.encode("utf-8")  # a lone surrogate here would fail every write
