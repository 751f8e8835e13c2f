from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from judge.cache import VerdictCache, cache_key
from judge.deadline import Deadline
from judge.server.scripted import Faults, ScriptedJudge
from tests.conftest import ServeFn, make_evaluator, sample

REQUEST: dict[str, Any] = {
    "system": [{"text": "rubric text"}],
    "messages": [{"role": "user", "content": [{"text": "<response>\nhi\n</response>"}]}],
    "inferenceConfig": {"maxTokens": 512, "temperature": 0.0},
}
BASE: dict[str, Any] = {
    "model_id": "m",
    "endpoint": "https://bedrock-runtime.us-east-1.amazonaws.com",
    "request": REQUEST,
    "rubric_hash": "r",
    "template_hash": "t",
}


def test_key_survives_lone_surrogates() -> None:
    """A lone surrogate is valid JSON; it used to make the encoder raise and lose the batch."""
    key = cache_key(**_with(("messages", 0, "content", 0, "text"), "bad \ud83d half"))
    assert len(key) == 64


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    request = copy.deepcopy(REQUEST)
    node: Any = request
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return {**BASE, "request": request}


@pytest.mark.parametrize(
    "changed",
    [
        {**BASE, "model_id": "other"},
        {**BASE, "endpoint": "http://127.0.0.1:8765"},
        {**BASE, "rubric_hash": "r2"},
        {**BASE, "template_hash": "t2"},
        {**BASE, "draw": 1},
        _with(("inferenceConfig", "temperature"), 0.7),
        _with(("system", 0, "text"), "edited rubric text"),
        _with(("messages", 0, "content", 0, "text"), "<response>\nbye\n</response>"),
    ],
)
def test_key_covers_everything_that_determines_a_verdict(changed: dict[str, Any]) -> None:
    assert cache_key(**changed) != cache_key(**BASE)


def test_key_is_stable() -> None:
    reordered = {**BASE, "request": dict(reversed(list(REQUEST.items())))}
    assert cache_key(**reordered) == cache_key(**BASE)


def test_store_round_trip(tmp_path: Path) -> None:
    from judge.verdict import Verdict

    cache = VerdictCache(tmp_path / "c")
    cache.put("k", Verdict(score=4, reasoning="ok"))
    cache.close()
    again = VerdictCache(tmp_path / "c")
    assert again.get("k") == Verdict(score=4, reasoning="ok")
    assert again.get("missing") is None
    assert len(VerdictCache(None)) == 0


def test_failures_are_never_cached(serve: ServeFn, aws_env: Path) -> None:
    broken = serve(ScriptedJudge(faults=Faults(malformed=1.0)))
    ev = make_evaluator(rubrics={"tone": {"weight": 1}})
    first = ev.evaluate([sample("a", "Happy to help, thank you!")], Deadline.never())
    assert first.results[0].unscored
    assert len(ev.caller.cache) == 0
    assert len(broken.requests) == 2  # the call and one parse retry
    healthy = serve(ScriptedJudge())
    ev2 = make_evaluator(rubrics={"tone": {"weight": 1}})
    second = ev2.evaluate([sample("a", "Happy to help, thank you!")], Deadline.never())
    assert not second.results[0].unscored
    assert len(healthy.requests) == 1 and second.stats.cache_hits == 0
    third = ev2.evaluate([sample("a", "Happy to help, thank you!")], Deadline.never())
    assert third.stats.cache_hits == 1 and len(healthy.requests) == 1


def test_cache_persists_across_evaluators(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge())
    batch = [sample(str(i), f"Thank you for asking ({i}).") for i in range(5)]
    make_evaluator().evaluate(batch, Deadline.never())
    calls = len(judge.requests)
    assert calls == 15
    warm = make_evaluator().evaluate(batch, Deadline.never())
    assert len(judge.requests) == calls
    assert warm.stats.cache_hits == 15 and warm.stats.calls == 0


def test_identical_pairs_in_a_batch_are_judged_once(serve: ServeFn) -> None:
    judge = serve(ScriptedJudge())
    batch = [sample(str(i), "Same answer, thanks!") for i in range(6)]
    batch += [sample("other-prompt", "Same answer, thanks!", prompt="Another question?")]
    result = make_evaluator(runtime={"cache": False}).evaluate(batch, Deadline.never())
    assert len(judge.requests) == 2 * 3  # two distinct (prompt, response) pairs x 3 rubrics
    assert result.deduplicated == 5 * 3
    assert len({r.reward for r in result.results[:6]}) == 1


def test_unusable_cache_dir_degrades_to_no_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from judge.verdict import Verdict

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = VerdictCache(blocker / "cache")  # mkdir fails: a file is in the way
    cache.put("k", Verdict(score=3))
    assert cache.get("k") is None and len(cache) == 0
    assert "judging without it" in caplog.text


def test_store_errors_are_misses_not_failures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from judge.verdict import Verdict

    cache = VerdictCache(tmp_path / "c")
    cache.put("k", Verdict(score=3))
    cache.close()
    (tmp_path / "c" / "cache.db").write_bytes(b"this is not a sqlite database" * 100)
    broken = VerdictCache(tmp_path / "c")
    assert broken.get("k") is None
    broken.put("k", Verdict(score=4))  # no exception
    assert "verdict cache" in caplog.text
