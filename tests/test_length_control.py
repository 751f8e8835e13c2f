"""Length control: calibration measures a known length bias, the reward removes it where it must.

Every figure is recomputed here from the raw data: the judge's scores (the scripted judge's
own rule), the anchors' labels and lengths, the map in the artefact.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy import optimize, stats

from judge.artefact import load_artefact
from judge.calibration.anchors import Anchor, load_anchors
from judge.calibration.length import length_bias
from judge.calibration.options import CalibrationOptions
from judge.calibration.runner import calibrate
from judge.config import parse_config
from judge.deadline import Deadline
from judge.length import group_adjust
from judge.maps import LengthBias
from judge.pipeline import BatchResult, Evaluator
from judge.server.process import start_server
from judge.server.scripted import Judged, ScriptedJudge
from tests.conftest import ServeFn, base_config, merge, project_copy, sample

BIAS = 1.5  # judge points per unit of log(characters / 100)
FILLER = " To be clear, this is what I am asking for here."


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private project copy with the bundled anchors; returns its folder."""
    return project_copy(tmp_path / "project", "calibration/anchors").parent


@pytest.fixture
def evaluators(project: Path) -> Iterator[Callable[..., Evaluator]]:
    """Evaluators judging ``tone`` alone on the copy, with ``[reward]`` settings given."""
    made: list[Evaluator] = []

    def make(control: str = "off", **reward: Any) -> Evaluator:
        raw = merge(
            base_config(),
            {"retry": {"initial_backoff_s": 0.01, "max_backoff_s": 0.05}},
        )
        raw["rubrics"] = {"tone": {"weight": 1.0}}
        raw["gates"] = []
        raw["reward"] = {"length_control": control, **reward}
        made.append(Evaluator.from_settings(parse_config(raw, project / "reward.toml")))
        return made[-1]

    yield make
    for evaluator in made:
        evaluator.close()


def _anchors(project: Path) -> list[Anchor]:
    return load_anchors(project / "calibration" / "anchors" / "politeness.jsonl", "tone")


def _oracle(anchors: list[Anchor]) -> Callable[[Judged], int]:
    """The anchor's mean human label (the one a response starts with) plus seeded noise."""
    labels = {a.item.response: a.label for a in anchors}

    def score(j: Judged) -> int:
        base = labels[max((r for r in labels if j.response.startswith(r)), key=len)]
        seed = int(hashlib.sha256(j.response.encode()).hexdigest()[:8], 16)
        return int(min(5, max(1, round(base + random.Random(seed).gauss(0, 0.3)))))

    return score


def _calibrate(project: Path, evaluator: Evaluator) -> Path:
    calibrate(
        evaluator,
        "tone",
        project / "calibration" / "anchors" / "politeness.jsonl",
        out=project / "calibration",
        options=CalibrationOptions(seed=0, bootstrap_rounds=200, probe_items=0),
    )
    return project / "calibration" / "tone.json"


def _judge_score(judge: ScriptedJudge, response: str) -> int:
    """What the scripted judge answers for ``response`` (its own rule, not the server's log)."""
    return judge.scored(Judged(response, "", "", [1, 2, 3, 4, 5], "tone"))


def test_calibration_records_a_known_length_bias(
    serve: ServeFn, project: Path, evaluators: Callable[..., Evaluator]
) -> None:
    anchors = _anchors(project)
    judge = serve(ScriptedJudge(score_fn=_oracle(anchors), length_bias=BIAS))
    artefact = load_artefact(_calibrate(project, evaluators()))
    assert artefact is not None and artefact.map.length is not None
    bias = artefact.map.length
    # the slope again, from the raw data, by a fit written apart from the module's: the
    # judge's score as an interval of a normal latent (k +- 0.5, open at 1 and 5), maximum
    # likelihood by Nelder-Mead on scipy.stats.norm
    judge_scores = np.array([float(_judge_score(judge, a.item.response)) for a in anchors])
    human = np.array([a.label for a in anchors])
    x = np.log([len(a.item.response) for a in anchors])
    theta = _censored_mle(judge_scores, human, x)
    assert bias.slope == pytest.approx(theta[2], abs=2e-3)
    assert bias.sigma == pytest.approx(math.exp(theta[3]), abs=2e-3)
    # least squares reads the clamped 5s at face value and finds less of the judge's bias
    ols = np.linalg.lstsq(np.column_stack([np.ones_like(x), human, x]), judge_scores)[0][2]
    assert ols < bias.slope - 0.05
    assert bias.ref_chars == pytest.approx(math.exp(x.mean()))
    assert bias.anchors == len(anchors) and bias.low > 0 and bias.significant
    assert bias.low < bias.slope < bias.high
    assert artefact.metrics["length_excess"]["slope"] == bias.slope
    report = project / "calibration" / "reports" / "tone"
    assert (report / "length_excess.png").stat().st_size > 1000
    assert f"{bias.slope:+.3f}" in (report / "report.md").read_text()


def _censored_mle(judge: np.ndarray, human: np.ndarray, x: np.ndarray) -> np.ndarray:
    lower = np.where(judge <= 1, -np.inf, judge - 0.5)
    upper = np.where(judge >= 5, np.inf, judge + 0.5)

    def nll(t: np.ndarray) -> float:
        mu, sd = t[0] + t[1] * human + t[2] * x, math.exp(t[3])
        p = stats.norm.cdf(upper, mu, sd) - stats.norm.cdf(lower, mu, sd)
        return float(-np.log(np.maximum(p, 1e-300)).sum())

    start = np.array([0.0, 1.0, 0.0, 0.0])
    done = optimize.minimize(
        nll,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 20000, "maxfev": 20000},
    )
    return np.asarray(done.x)


@pytest.mark.parametrize("true_slope", [0.0, 0.6, 1.5])
def test_the_censored_fit_recovers_a_known_slope_where_least_squares_does_not(
    true_slope: float,
) -> None:
    """Judges that score the human label plus ``true_slope`` per log length, rounded and
    clamped to 1..5: the censored fit finds the slope within its interval, and at strong
    bias least squares falls short of it (the clamp flattens the long answers' 5s)."""
    rng = np.random.default_rng(7)
    n = 300
    human = rng.uniform(1, 5, n)
    chars = np.exp(rng.uniform(math.log(20), math.log(400), n))
    latent = human + rng.normal(0, 0.4, n) + true_slope * np.log(chars / 100)
    judge = np.clip(np.round(latent), 1, 5)
    bias = length_bias(judge, human, chars, (1, 5), rounds=200, seed=1)
    assert bias is not None
    assert bias.low <= true_slope <= bias.high
    assert bias.slope == pytest.approx(true_slope, abs=0.1)
    assert bias.sigma == pytest.approx(0.4, abs=0.1)
    assert bias.significant == (true_slope != 0)
    x = np.log(chars)
    ols = np.linalg.lstsq(np.column_stack([np.ones(n), human, x]), judge)[0][2]
    if true_slope >= 1:
        assert ols < bias.low  # least squares' estimate lies outside the censored interval


def test_length_bias_needs_lengths_that_vary() -> None:
    judge, human = np.array([1.0, 2, 3, 4, 5]), np.array([1.0, 2, 3, 4, 5])
    assert length_bias(judge, human, np.full(5, 80.0), (1, 5), rounds=50) is None
    assert length_bias(judge[:3], human[:3], np.array([10.0, 20, 40]), (1, 5)) is None
    # a judge that says 5 to everything: any slope fits, so none is claimed
    chars = np.array([10.0, 20, 40, 80, 160])
    assert length_bias(np.full(5, 5.0), human, chars, (1, 5), rounds=50) is None


def test_an_unbiased_judge_gets_an_interval_around_0(
    serve: ServeFn, project: Path, evaluators: Callable[..., Evaluator]
) -> None:
    serve(ScriptedJudge(score_fn=_oracle(_anchors(project))))
    artefact = load_artefact(_calibrate(project, evaluators()))
    assert artefact is not None and artefact.map.length is not None
    assert artefact.map.length.low < 0 < artefact.map.length.high
    assert not artefact.map.length.significant


def _padded(n_groups: int = 6, size: int = 5) -> list[dict[str, Any]]:
    """Groups of one content (a politeness anchor's words) padded with 0..size-1 fillers."""
    rows = [json.loads(line) for line in _ANCHOR_FILE.read_text().splitlines()]
    out = []
    for g, row in enumerate(rows[:: len(rows) // n_groups][:n_groups]):
        for k in range(size):
            out.append(sample(f"g{g}-{k}", row["response"] + FILLER * k, prompt=f"Request {g}?"))
    return out


_ANCHOR_FILE = Path(__file__).resolve().parent.parent / "calibration/anchors/politeness.jsonl"


def _tone(batch: BatchResult) -> list[float | None]:
    return [next(d.normalized for d in r.dimensions if d.rubric == "tone") for r in batch.results]


def _rewrite_bias(path: Path, **changes: float) -> None:
    data = json.loads(path.read_text())
    if changes:
        data["map"]["length"].update(changes)
    else:
        del data["map"]["length"]  # a map written before length was measured
    path.write_text(json.dumps(data))


def test_the_correction_applies_only_where_the_interval_excludes_0(
    serve: ServeFn, project: Path, evaluators: Callable[..., Evaluator]
) -> None:
    judge = serve(ScriptedJudge(score_fn=_oracle(_anchors(project)), length_bias=BIAS))
    path = _calibrate(project, evaluators())
    artefact = load_artefact(path)
    assert artefact is not None and artefact.map.length is not None
    bias, batch = artefact.map.length, _padded()
    off = _tone(evaluators("off").evaluate(batch, Deadline.never()))
    on = _tone(evaluators("calibrated").evaluate(batch, Deadline.never()))
    cap = 0.5 * 4  # the default length_max_correction, a share of the judge's 1..5 scale
    for s, before, after in zip(batch, off, on, strict=True):
        response = s["messages"][1]["content"]
        score = _judge_score(judge, response)
        assert before == pytest.approx(artefact.map.to_unit(score))  # off: the map alone
        x, ref = math.log(len(response)), math.log(bias.ref_chars)
        if bias.slope * (x - ref) < 0:  # raising a score: the length held inside the anchors'
            x = min(max(x, math.log(bias.min_chars)), math.log(bias.max_chars))
        expected = _expected_at_ref(score, bias.slope * (x - ref), bias.sigma, bias.prior)
        change = max(-cap, min(cap, score - expected))
        assert after == pytest.approx(artefact.map.to_unit(score - change), abs=1e-4)
    assert on != off
    # an interval that includes 0: no correction at all
    _rewrite_bias(path, low=-0.01)
    assert _tone(evaluators("calibrated").evaluate(batch, Deadline.never())) == off


def _expected_at_ref(score: int, shift: float, sigma: float, prior: list[float]) -> float:
    """By numeric integration, apart from judge.length: the judge's latent at this length
    lies in ``score``'s band, drawn from the prior points moved by ``shift``; read it back
    on the 1..5 scale at the reference length (``shift`` taken off) and average."""
    lo = -12.0 if score <= 1 else score - 0.5
    hi = 18.0 if score >= 5 else score + 0.5
    t = np.linspace(lo, hi, 200001)
    density = np.sum([stats.norm.pdf(t, m + shift, sigma) for m in prior], axis=0)
    level = np.clip(np.floor(t - shift + 0.5), 1, 5)
    return float((level * density).sum() / density.sum())


def test_old_maps_load_and_get_no_length_control(
    serve: ServeFn, project: Path, evaluators: Callable[..., Evaluator]
) -> None:
    serve(ScriptedJudge(score_fn=_oracle(_anchors(project)), length_bias=BIAS))
    path = _calibrate(project, evaluators())
    batch = _padded()
    off = _tone(evaluators("off").evaluate(batch, Deadline.never()))
    first = json.loads(path.read_text())
    del first["map"]["length"]["units"]  # as the first release wrote it: a mapped-score slope
    path.write_text(json.dumps(first))
    old = load_artefact(path)
    assert old is not None and old.map.length is None  # its slope meant something else
    _rewrite_bias(path)
    old = load_artefact(path)
    assert old is not None and old.map.length is None
    evaluator = evaluators("calibrated")
    assert "tone" in evaluator.maps and not evaluator.stale_calibration  # applied, not stale
    assert _tone(evaluator.evaluate(batch, Deadline.never())) == off
    # the staleness rules still hold for it
    data = json.loads(path.read_text())
    data["rubric_hash"] = "0" * 64
    path.write_text(json.dumps(data))
    assert "rubric file changed" in evaluators("calibrated").stale_calibration["tone"]


def _slope(units: list[float], chars: list[int]) -> float:
    return float(np.polyfit(np.log(chars), units, 1)[0])


def test_group_adjust_leaves_the_tolerance_and_the_mean() -> None:
    chars = [50, 100, 200, 400, 800]
    units = [0.2, 0.35, 0.5, 0.7, 0.8]
    got = group_adjust(units, chars, tolerance=0.05, cap=1.0)
    assert all(v is not None for v in got)
    done = [float(v or 0.0) for v in got]
    assert _slope(done, chars) == pytest.approx(0.05)
    assert np.mean(done) == pytest.approx(np.mean(units))
    # below the tolerance, negative, too few scored, or one length: unchanged
    flat = [0.5, 0.52, 0.5, 0.53, 0.52]
    assert group_adjust(flat, chars, 0.05, 1.0) == flat
    assert group_adjust(units[::-1], chars, 0.05, 1.0) == units[::-1]
    assert group_adjust([0.1, None, None, 0.9, None], chars, 0.05, 1.0) == [
        0.1,
        None,
        None,
        0.9,
        None,
    ]
    assert group_adjust(units, [100] * 5, 0.05, 1.0) == units
    # the cap bounds each change
    capped = group_adjust(units, chars, 0.0, 0.01)
    assert max(abs(float(a or 0) - b) for a, b in zip(capped, units, strict=True)) == pytest.approx(
        0.01
    )


def test_group_control_flattens_a_padding_group_without_a_map(
    serve: ServeFn, evaluators: Callable[..., Evaluator]
) -> None:
    serve(ScriptedJudge(score_fn=lambda j: 3, length_bias=BIAS))  # length is all it sees
    batch = _padded()
    off = evaluators("off").evaluate(batch, Deadline.never())
    group = evaluators("group", length_tolerance=0.02).evaluate(batch, Deadline.never())
    checked = 0
    for g in range(6):
        idx = [i for i, s in enumerate(batch) if s["id"].startswith(f"g{g}-")]
        chars = [len(batch[i]["messages"][1]["content"]) for i in idx]
        before = [float(_tone(off)[i] or 0) for i in idx]
        after = [float(_tone(group)[i] or 0) for i in idx]
        slope = _slope(before, chars)
        if slope > 0.02:  # the excess removed around the group's mean log length, capped
            x = np.log(chars)
            change = np.clip((slope - 0.02) * (x - x.mean()), -0.5, 0.5)  # the default cap
            assert after == pytest.approx(list(np.clip(np.array(before) - change, 0, 1)))
        else:
            assert after == before
        moved = max(abs(a - b) for a, b in zip(after, before, strict=True))
        if slope > 0.02 and moved < 0.5 and 0 < min(after) <= max(after) < 1:  # no bound hit
            assert _slope(after, chars) == pytest.approx(0.02, abs=1e-6)
            checked += 1
    assert _tone(group) != _tone(off)
    assert checked, "no group was left at the tolerance exactly"


def _bias(**changes: Any) -> LengthBias:
    fields: dict[str, Any] = {
        "units": "judge",
        "slope": 1.0,
        "low": 0.5,
        "high": 1.5,
        "sigma": 0.4,
        "prior": [1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5],
        "ref_chars": 100,
        "min_chars": 20,
        "max_chars": 300,
        "anchors": 50,
    }
    return LengthBias(**(fields | changes))


def test_bias_shift_and_correction_bounds() -> None:
    bias = _bias()
    assert bias.shift(100) == 0
    assert bias.shift(400) == pytest.approx(math.log(4))  # beyond the anchors: followed
    assert bias.shift(2) == pytest.approx(math.log(20 / 100))  # raising: held at 20
    for score in range(1, 6):
        assert bias.correction(score, 100, (1, 5), 2.0) == 0  # the reference length: kept
    assert bias.correction(3, 10**9, (1, 5), 0.25) == 0.25  # capped
    # inside the scale a score loses about the shift; at the top, less: part of a padded
    # answer's 5 is its content's, as the prior says
    inside = bias.correction(3, 270, (1, 5), 9.0)
    assert inside == pytest.approx(math.log(2.7), abs=0.15)
    assert 0 < bias.correction(5, 270, (1, 5), 9.0) < inside
    # scores off the judge's levels, or a scale not of whole points: the plain shift
    assert bias.correction(3.5, 270, (1, 5), 9.0) == pytest.approx(math.log(2.7))
    assert bias.correction(3, 270, (1, 5.5), 9.0) == pytest.approx(math.log(2.7))
    # never off the scale: a bottom score stays the bottom however long (a prior no score
    # of 1 fits, so the plain shift would have taken it below 1), a top one however short
    far = _bias(prior=[3.1, 3.2, 3.3], sigma=0.4)
    for chars in (300, 400, 800, 10**5):
        assert far.correction(1, chars, (1, 5), 9.0) == 0
        assert 2 - far.correction(2, chars, (1, 5), 9.0) >= 1  # a 2 never goes below 1
    assert _bias(slope=-1.0, low=-1.5, high=-0.5).correction(5, 10**5, (1, 5), 9.0) == 0


@given(
    slope=st.floats(-2, 2),
    sigma=st.floats(0.1, 2),
    prior=st.lists(st.floats(0, 6), min_size=1, max_size=21),
    chars=st.integers(1, 5000),
    more=st.integers(1, 5000),
)
def test_corrected_scores_keep_the_judges_order(
    slope: float, sigma: float, prior: list[float], chars: int, more: int
) -> None:
    """At one length, a higher score stays at least as high after the correction; at one
    score, a longer answer never gains on a shorter one when the judge prefers length."""
    bias = _bias(slope=slope, sigma=sigma, prior=prior)
    corrected = [s - bias.correction(s, chars, (1, 5), 9.0) for s in range(1, 6)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(corrected))
    assert all(1 - 1e-9 <= c <= 5 + 1e-9 for c in corrected)
    if slope > 0:
        for score in range(1, 6):
            short, long = sorted((chars, chars + more))
            assert (
                bias.correction(score, long, (1, 5), 9.0)
                >= bias.correction(score, short, (1, 5), 9.0) - 1e-9
            )


def test_a_map_file_cannot_feed_the_correction_junk() -> None:
    """The prior comes from a file: non-finite points or an outsized list are refused."""
    for prior in ([1.0, math.nan], [math.inf], [], [3.0] * 102):
        with pytest.raises(ValidationError):
            _bias(prior=prior)
    for sigma in (0.0, -1.0, math.inf):
        with pytest.raises(ValidationError):
            _bias(sigma=sigma)


def test_judge_serve_length_bias_gives_a_length_hungry_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evaluators: Callable[..., Evaluator]
) -> None:
    """``judge serve --length-bias`` (README: Length control) is the scripted judge with a
    length preference: the same answer padded scores higher with it than without."""
    answer = "Thanks for asking, I am happy to help with your order."
    batch = [sample("short", answer), sample("long", answer + FILLER * 12)]
    scores: dict[str, list[float | None]] = {}
    for bias in ("0", "2.5"):
        proc, url = start_server(["--length-bias", bias], quiet=True)
        try:
            monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", url)
            monkeypatch.setenv("JUDGE_CACHE_DIR", str(tmp_path / f"cache-{bias}"))
            scores[bias] = _tone(evaluators("off").evaluate(batch, Deadline.never()))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    plain, hungry = scores["0"], scores["2.5"]
    assert None not in plain and None not in hungry
    assert (hungry[1] or 0) - (hungry[0] or 0) > (plain[1] or 0) - (plain[0] or 0)
