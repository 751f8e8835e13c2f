"""The public API (judge.api): the README's example runs, and it answers as the handler does."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from judge import lambda_handler
from judge.api import Reward, load_reward
from judge.errors import EventError
from judge.server.scripted import ScriptedJudge
from tests.conftest import REPO, ServeFn, project_copy


def _samples(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _readme_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    return str(blocks[0])


def test_readme_example_runs(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judge = serve(ScriptedJudge())
    project_copy(tmp_path)
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "batch.jsonl", tmp_path / "examples" / "batch.jsonl")
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_readme_example(), "README.md", "exec"), {})
    out = printed.getvalue()
    samples = _samples(tmp_path / "examples" / "batch.jsonl")
    for s in samples:
        assert str(s["id"]) in out
    assert judge.requests, "the example called the judge"
    assert re.search(r"  \w+: raw \d, calibrated [0-9.]+: \S", out)  # reasoning shown
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["id"] == samples[0]["id"] and isinstance(answer["aggregate_reward_score"], float)


def test_reward_answers_as_the_handler(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge())
    config = project_copy(tmp_path)
    samples = _samples(REPO / "examples" / "batch.jsonl")
    with load_reward(config) as reward:
        batch = reward.score({"trajectories": samples})
        ours = reward.answer(batch)
        lambda_handler._evaluator = reward.evaluator
        try:
            theirs = lambda_handler.handler(samples)
        finally:
            lambda_handler._evaluator = None
        assert ours == theirs
        assert len(batch.results) == len(samples)
        scored = [d for r in batch.results for d in r.dimensions if d.normalized is not None]
        assert scored and all(j.reasoning for d in scored for j in d.judgements)
        with pytest.raises(EventError):
            reward.score({"not": "a batch"})


def test_ascore_does_not_block_the_loop(serve: ServeFn, tmp_path: Path) -> None:
    serve(ScriptedJudge(latency_s=0.05))
    config = project_copy(tmp_path)
    samples = _samples(REPO / "examples" / "batch.jsonl")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def main(reward: Reward) -> list[float]:
        ticker = asyncio.create_task(tick())
        batch = await reward.ascore(samples)
        ticker.cancel()
        return [r.reward for r in batch.results]

    with load_reward(config) as reward:
        rewards = asyncio.run(main(reward))
        assert rewards == [r.reward for r in reward.score(samples).results]
    assert ticks > 3  # the loop ran while the batch was judged
