"""Property tests: the reward is finite and in range for any verdicts and any valid config."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judge.config import RewardConfig, parse_config
from judge.reward import Dimension, combine, fill_unscored, normalize
from judge.verdict import Unscored

NAMES = ["a", "b", "c"]


@st.composite
def configs(draw: st.DrawFn) -> RewardConfig:
    lo = draw(st.floats(-1e6, 1e6, allow_nan=False))
    hi = lo + draw(st.floats(1e-3, 1e6, allow_nan=False))
    raw: dict[str, Any] = {
        "rubrics": {n: {"weight": draw(st.floats(1e-6, 1e6))} for n in NAMES},
        "output": {"min": lo, "max": hi},
        "unscored": {
            "dimension": draw(st.sampled_from(["drop", "fail"])),
            "sample": draw(st.sampled_from(["group_mean", "fixed"])),
            "value": draw(st.floats(lo, hi)),
        },
        "gates": [
            {
                "rubric": draw(st.sampled_from(NAMES)),
                "below": draw(st.floats(0, 1)),
                "reward": draw(st.one_of(st.just("floor"), st.floats(lo, hi))),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
    }
    return parse_config(raw, Path("reward.toml"))


dims = st.lists(
    st.tuples(st.sampled_from(NAMES), st.one_of(st.none(), st.floats(0, 1))),
    min_size=3,
    max_size=3,
).map(lambda xs: [Dimension(NAMES[i], v) for i, (_, v) in enumerate(xs)])


@settings(max_examples=300, deadline=None)
@given(config=configs(), batch=st.lists(st.tuples(dims, st.integers(0, 3)), max_size=12))
def test_reward_is_finite_and_in_range(
    config: RewardConfig, batch: list[tuple[list[Dimension], int]]
) -> None:
    combined = [combine(d, config).reward for d, _ in batch]
    rewards = fill_unscored(combined, [str(g) for _, g in batch], config)
    assert len(rewards) == len(batch)
    for r in rewards:
        assert math.isfinite(r)
        assert config.output.min <= r <= config.output.max


@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 5), st.integers(1, 10))
def test_normalize_is_clamped(score: float, lo: int, width: int) -> None:
    assert 0.0 <= normalize(score, lo, lo + width) <= 1.0


def test_normalize_rejects_nan() -> None:
    with pytest.raises(ValueError, match="not finite"):
        normalize(float("nan"), 1, 5)


def test_weights_and_gates() -> None:
    config = parse_config(
        {
            "rubrics": {"a": {"weight": 3}, "b": {"weight": 1}},
            "gates": [{"rubric": "b", "below": 0.25}],
        },
        Path("reward.toml"),
    )
    assert combine([Dimension("a", 1.0), Dimension("b", 0.0)], config).reward == -1.0
    assert combine([Dimension("a", 1.0), Dimension("b", 0.5)], config).reward == pytest.approx(
        -1 + 2 * (3 * 1.0 + 0.5) / 4
    )
    # drop: an unscored dimension is re-weighted away, not counted as 0
    assert combine([Dimension("a", 1.0), Dimension("b", None)], config).reward == 1.0
    # an unscored gated dimension does not trip its gate
    assert combine([Dimension("a", 0.5), Dimension("b", None)], config).gate is None


@pytest.mark.parametrize(
    ("reason", "gated"),
    [
        (Unscored(reason="unparseable", detail="no keyed line"), True),
        (Unscored(reason="out_of_range", detail="9"), True),
        (Unscored(reason="judge_error", detail="500"), False),
        (Unscored(reason="refused", detail="unparseable"), False),
        (Unscored(reason="incomplete", detail="1 criteria unanswered"), False),
    ],
)
def test_a_gated_dimension_the_answer_made_unreadable_fires_the_gate(
    reason: Unscored, gated: bool
) -> None:
    """Red team: a response that got its gated rubric unscored used to skip the gate."""
    config = parse_config(
        {
            "rubrics": {"tone": {}, "brand_voice": {}},
            "gates": [{"rubric": "brand_voice", "below": 0.25}],
        },
        Path("reward.toml"),
    )
    dims = [Dimension("tone", 1.0, 5), Dimension("brand_voice", None, None, reason)]
    result = combine(dims, config)
    assert (result.gate == "brand_voice") is gated
    assert result.reward == (-1.0 if gated else 1.0)


def test_group_mean_fill_stays_in_range_when_the_mean_rounds_outside() -> None:
    """Found by the property above: the mean of equal rewards at the range's edge can round a
    hair past it (sum of three -349526.1386833956, divided by 3); the filled reward is clamped
    into the range."""
    low = -349526.1386833956
    config = RewardConfig.model_validate(
        {
            "rubrics": {"a": {}},
            "output": {"min": low, "max": low + 1.0},
            "unscored": {"value": low + 0.5},
        }
    )
    assert sum([low] * 3) / 3 < low  # the rounding the clamp is for
    rewards = fill_unscored([low] * 3 + [None], ["g"] * 4, config)
    assert all(config.output.min <= r <= config.output.max for r in rewards)
