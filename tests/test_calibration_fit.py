"""The isotonic fit (SciPy's PAVA) equals a hand-written pool-adjacent-violators."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from judge.calibration.fit import _pav as pav


def reference_pav(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """The previous hand-written fit: pool adjacent violators over the distinct scores."""
    levels = np.unique(x)
    blocks: list[list[float]] = []  # mean, weight, first, last level index
    for i, v in enumerate(levels):
        blocks.append([float(y[x == v].mean()), float((x == v).sum()), i, i])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, _, e2 = blocks.pop()
            m1, w1, s1, _ = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, s1, e2])
    ys = [0.0] * len(levels)
    for m, _, start, end in blocks:
        for i in range(int(start), int(end) + 1):
            ys[i] = m
    return [float(v) for v in levels], ys


@pytest.mark.parametrize("seed", range(5))
def test_scipy_isotonic_matches_hand_written_pava(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        n = int(rng.integers(1, 80))
        x = rng.integers(0, int(rng.integers(1, 15)), n).astype(np.float64)
        y = rng.normal(size=n) * 3 + x * rng.normal()
        xs, ys = pav(x, y)
        want_xs, want_ys = reference_pav(x, y)
        assert xs == want_xs
        assert np.max(np.abs(np.array(ys) - np.array(want_ys))) <= 1e-12
        assert all(a <= b + 1e-12 for a, b in itertools.pairwise(ys))
