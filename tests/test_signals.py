"""Per-batch training signals, recomputed here from the raw batch with numpy and scipy."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from scipy import stats

from judge.assemble import SampleResult
from judge.deadline import Deadline
from judge.observe import batch_figures
from judge.server.scripted import Judged, ScriptedJudge
from judge.signals import batch_signals, spearman
from tests.conftest import ServeFn, make_evaluator, sample


def _score(j: Judged) -> int:
    """A point per "good", one for "bad" (a judge whose verdict is in the text)."""
    if "bad" in j.response:
        return 1
    return max(1, min(5, 1 + j.response.count("good")))


def _batch() -> list[Any]:
    grow = [sample(f"a{i}", "good " * (i + 1) + "x" * (7 * i), prompt="A?") for i in range(4)]
    mixed = [
        sample("b0", "good good good good", prompt="B?"),
        sample("b1", "good " + "y" * 40, prompt="B?"),
        sample("b2", "good good good " + "z" * 80, prompt="B?"),
        sample("b3", "bad " + "w" * 10, prompt="B?"),
    ]
    flat = [sample(f"c{i}", "good good " + "q" * (5 * i), prompt="C?") for i in range(3)]
    pair = [sample("d0", "good", prompt="D?"), sample("d1", "good good good", prompt="D?")]
    guarded = [sample("e0", "good good", prompt="E?"), sample("e1", "", prompt="E?")]
    guarded.append(sample("e2", "good good good good " + "r" * 30, prompt="E?"))
    return [*grow, *mixed, *flat, *pair, *guarded, "not a sample"]


def _expected(raw: list[Any], rewards: list[float], unscored: list[bool]) -> dict[str, float]:
    """The figures straight from the event and the rewards: numpy, scipy, no package code."""
    groups: dict[str, list[tuple[int, float]]] = defaultdict(list)
    lengths = []
    for i, s in enumerate(raw):
        if not isinstance(s, dict):
            continue
        n = len(s["messages"][-1]["content"])
        lengths.append(n)
        groups[s["messages"][0]["content"]].append((i, n))
    rhos = []
    for members in groups.values():
        scored = [(n, rewards[i]) for i, n in members if not unscored[i]]
        xs, ys = [n for n, _ in scored], [r for _, r in scored]
        if len(scored) >= 3 and np.ptp(xs) > 0 and np.ptp(ys) > 0:
            rhos.append(float(stats.spearmanr(xs, ys)[0]))
    sized = [m for m in groups.values() if len(m) >= 2]
    flat = [m for m in sized if np.ptp([rewards[i] for i, _ in m]) == 0]
    return {
        "RewardStd": float(np.std(rewards)),
        "ResponseLengthMean": float(np.mean(lengths)),
        "ResponseLengthStd": float(np.std(lengths)),
        "RewardLengthCorr": float(np.mean(rhos)),
        "RewardLengthGroups": len(rhos),
        "ZeroSpreadGroupRate": len(flat) / len(sized),
    }


def test_signals_of_a_scored_batch_match_the_raw_data(serve: ServeFn) -> None:
    serve(ScriptedJudge(score_fn=_score))
    evaluator = make_evaluator(rubrics={"helpfulness": {"weight": 1.0}})
    raw = _batch()
    batch = evaluator.evaluate(raw, Deadline.never())
    rewards = [r.reward for r in batch.results]
    unscored = [r.unscored for r in batch.results]
    assert batch.results[-1].malformed and batch.results[-3].guarded  # the edge cases are there
    want = _expected(raw, rewards, unscored)
    got = batch_figures(batch, ["helpfulness"], None)
    for name, value in want.items():
        assert got[name] == pytest.approx(value), name
    # the groups behind the figures: A climbs with length, C is flat, D too small to rank
    assert want["RewardLengthGroups"] == 3  # A, B and E (its floored empty answer included)
    assert 0 < want["ZeroSpreadGroupRate"] < 1
    assert got["RefusedSamples"] == 0 and got["GuardedSamples"] == 1


def _result(reward: float, length: int | None, group: str | None, **kw: Any) -> SampleResult:
    return SampleResult("x", reward, length=length, group=group, **kw)


def test_groups_too_small_or_without_spread_give_no_correlation() -> None:
    results = [
        _result(0.1, 10, "p"),
        _result(0.9, 20, "p"),  # two members: rho would be +-1 by construction
        _result(0.5, 10, "q"),
        _result(0.5, 20, "q"),
        _result(0.5, 30, "q"),  # rewards constant: undefined, not 0
        _result(0.2, 50, "r"),
        _result(0.4, 50, "r"),
        _result(0.6, 50, "r", unscored=True),  # lengths constant among the scored
        _result(0.0, None, None, malformed="bad"),
    ]
    got = batch_signals(results)
    assert "RewardLengthCorr" not in got and got["RewardLengthGroups"] == 0
    assert got["ZeroSpreadGroupRate"] == pytest.approx(1 / 3)  # q of p, q, r
    assert got["ResponseLengthMean"] == pytest.approx(np.mean([10, 20, 10, 20, 30, 50, 50, 50]))
    assert got["RewardStd"] == pytest.approx(np.std([r.reward for r in results]))
    assert batch_signals([]) == {"RewardStd": 0.0, "RewardLengthGroups": 0}


def test_spearman_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        x = rng.integers(0, 5, 9).astype(float)
        y = rng.integers(0, 4, 9).astype(float)
        ours = spearman(list(x), list(y))
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            assert ours is None
        else:
            assert ours == pytest.approx(float(stats.spearmanr(x, y)[0]))


def test_the_summary_prints_the_signals(serve: ServeFn, capsys: pytest.CaptureFixture[str]) -> None:
    from judge.cli._tables import print_summary

    serve(ScriptedJudge(score_fn=_score))
    evaluator = make_evaluator(rubrics={"helpfulness": {"weight": 1.0}})
    raw = _batch()
    batch = evaluator.evaluate(raw, Deadline.never())
    capsys.readouterr()
    print_summary(batch, ["helpfulness"])
    out = " ".join(capsys.readouterr().out.split())
    want = _expected(raw, [r.reward for r in batch.results], [r.unscored for r in batch.results])
    corr = re.search(r"([+-]\d\.\d{3}) \((\d+) groups\)", out)
    assert corr, out
    assert float(corr.group(1)) == pytest.approx(want["RewardLengthCorr"], abs=5e-4)
    assert int(corr.group(2)) == want["RewardLengthGroups"]
    assert f"{want['ZeroSpreadGroupRate']:.0%}" in out
    assert f"{want['RewardStd']:.3f}" in out
