"""The run report's plots: one matplotlib PNG per figure, base64 for an inline ``<img>``.

Every plot shades the windows that crossed a threshold, so a hack starting shows on each.
Names from the data (rubrics, canaries) are plain text to matplotlib (``text.parse_math``
off: a ``$`` in a rubric name is not mathtext) and cut short.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from judge.runreport.compute import (
    Thresholds,
    Window,
    canary_names,
    dimension_names,
    rate_names,
)

NAME_CHARS = 40  # of a data name in a legend
MAX_LINES = 12  # dimensions or canaries drawn (the tables list all)
FLAG_COLOUR = "#d62728"
CANARY_FIRST = ("CanaryDriftMean", "CanaryDriftMax")  # judge.canaries' EMF names


@dataclass(frozen=True)
class Plot:
    """One figure: its PNG (base64), or why it could not be drawn from these logs."""

    key: str
    title: str
    png: str | None
    missing: str | None = None


def short(name: str) -> str:
    """A data name cut for a legend."""
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 3] + "..."


def plots(ws: Sequence[Window], t: Thresholds) -> list[Plot]:
    """Every figure of the page, in order."""
    makers: list[tuple[str, str, Callable[[Axes, Sequence[Window], Thresholds], str | None]]] = [
        ("reward", "Reward distribution per window", _reward),
        ("dimensions", "Per-dimension mean score (0..1)", _dimensions),
        ("length", "Response length (characters)", _length),
        ("length-corr", "Reward/length Spearman within prompt groups", _length_corr),
        ("zero-spread", "Groups with zero reward spread", _zero_spread),
        ("rates", "Guarded, unscored, refused, malformed samples", _rates),
        ("canary", "Canary drift", _canary),
        ("calls", "Judge calls and cost", _calls),
    ]
    return [_draw(key, title, fn, ws, t) for key, title, fn in makers]


def _draw(
    key: str,
    title: str,
    fn: Callable[[Axes, Sequence[Window], Thresholds], str | None],
    ws: Sequence[Window],
    t: Thresholds,
) -> Plot:
    """One figure; ``fn`` draws on the axes or returns why it cannot."""
    with matplotlib.rc_context({"text.parse_math": False, "font.size": 9}):
        fig, ax = plt.subplots(figsize=(8, 3.2))
        try:
            missing = fn(ax, ws, t) if ws else "no batches in these logs"
            if missing is not None:
                return Plot(key, title, None, missing)
            for w in ws:
                if w.flags:
                    ax.axvspan(w.first - 0.5, w.last + 0.5, color=FLAG_COLOUR, alpha=0.12, lw=0)
            ax.set_title(title)
            ax.set_xlabel("batch (each point: a window, at its last batch)")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best", fontsize=7)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=90)
            return Plot(key, title, base64.b64encode(buffer.getvalue()).decode("ascii"))
        finally:
            plt.close(fig)


def _x(ws: Sequence[Window]) -> list[int]:
    """Each window's point: its last batch (the ``or 0.0`` below never applies: filtered)."""
    return [w.last for w in ws]


def _reward(ax: Axes, ws: Sequence[Window], t: Thresholds) -> str | None:
    """Quantile bands (p5-p95, p25-p75), median and mean; min..max when only figures."""
    shown = [w for w in ws if w.reward_band is not None and w.reward_mean is not None]
    if not shown:
        return "no rewards in these logs"
    x = _x(shown)
    bands = [w.reward_band or () for w in shown]
    if all(len(b) == 5 for b in bands):
        ax.fill_between(x, [b[0] for b in bands], [b[4] for b in bands], alpha=0.2, label="p5-p95")
        ax.fill_between(x, [b[1] for b in bands], [b[3] for b in bands], alpha=0.4, label="p25-p75")
        ax.plot(x, [b[2] for b in bands], label="median")
    else:
        lows, highs = [b[0] for b in bands], [b[-1] for b in bands]
        ax.fill_between(x, lows, highs, alpha=0.3, label="min-max")
    ax.plot(x, [w.reward_mean or 0.0 for w in shown], "k--", label="mean")
    ax.set_ylabel("reward")
    return None


def _dimensions(ax: Axes, ws: Sequence[Window], t: Thresholds) -> str | None:
    names = dimension_names(ws)
    if not names:
        return "no dimension scores in these logs"
    for name in names[:MAX_LINES]:
        pts = [(w.last, w.dimension_means[name]) for w in ws if name in w.dimension_means]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=short(name))
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("mean (0..1)")
    return None


def _length(ax: Axes, ws: Sequence[Window], t: Thresholds) -> str | None:
    shown = [w for w in ws if w.length_mean is not None and w.length_band is not None]
    if not shown:
        return (
            "no response lengths: --details files hold no responses (give --batches), and "
            "these CloudWatch Logs no ResponseLengthMean"
        )
    x = _x(shown)
    bands = [w.length_band or (0.0, 0.0) for w in shown]
    label = shown[0].length_spread
    ax.fill_between(x, [b[0] for b in bands], [b[1] for b in bands], alpha=0.3, label=label)
    ax.plot(x, [w.length_mean or 0.0 for w in shown], "k-", marker=".", label="mean")
    ax.set_ylabel("characters")
    return None


def _length_corr(ax: Axes, ws: Sequence[Window], t: Thresholds) -> str | None:
    shown = [w for w in ws if w.length_corr is not None]
    if not shown:
        return (
            "no reward/length correlation: it needs responses and prompt groups of 3+ scored "
            "samples whose rewards and lengths vary (give --batches with --details; these "
            "CloudWatch Logs have no RewardLengthCorr)"
        )
    ax.plot(
        _x(shown), [w.length_corr or 0.0 for w in shown], "k-", marker="o", label="mean over groups"
    )
    ax.axhline(t.length_corr, color=FLAG_COLOUR, ls="--", label=f"threshold {t.length_corr:g}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("Spearman rho")
    return None


def _zero_spread(ax: Axes, ws: Sequence[Window], t: Thresholds) -> str | None:
    shown = [w for w in ws if w.zero_spread is not None]
    if not shown:
        return (
            "no prompt groups: --details files hold no prompts (give --batches), and these "
            "CloudWatch Logs no ZeroSpreadGroupRate"
        )
    ax.plot(
        _x(shown), [w.zero_spread or 0.0 for w in shown], "k-", marker="o", label="share of groups"
    )
    ax.axhline(t.zero_spread, color=FLAG_COLOUR, ls="--", label=f"threshold {t.zero_spread:g}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("share of groups")
    return None


def _rates(ax: Axes, ws: Sequence[Window], t: Thresholds) -> str | None:
    names = rate_names(ws)
    if not names:
        return "no sample counts in these logs"
    for name in names:
        pts = [(w.last, w.rates[name]) for w in ws if name in w.rates]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=name)
    ax.set_ylabel("share of samples")
    return None


def _canary(ax: Axes, ws: Sequence[Window], t: Thresholds) -> str | None:
    """Drift (0..1 of the reward range): the run's mean and max, then each canary's."""
    seen = [n for n in canary_names(ws) if n.startswith("CanaryDrift")]
    names = [n for n in CANARY_FIRST if n in seen] + [n for n in seen if n not in CANARY_FIRST]
    if not names:
        return "no canary records in these logs (canaries run from the deployed stack)"
    for name in names[:MAX_LINES]:
        pts = [(w.last, w.canary[name]) for w in ws if name in w.canary]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=short(name))
    ax.set_ylabel("drift (0..1 of the reward range)")
    return None


def _calls(ax: Axes, ws: Sequence[Window], t: Thresholds) -> str | None:
    shown = [w for w in ws if w.calls is not None]
    if not shown:
        return "no judge calls in these logs"
    widths = [w.last - w.first + 0.8 for w in shown]
    centres = [(w.first + w.last) / 2 for w in shown]
    ax.bar(centres, [w.calls or 0.0 for w in shown], width=widths, alpha=0.5, label="judge calls")
    ax.set_ylabel("calls")
    costed = [w for w in shown if w.cost_usd is not None]
    if costed:
        twin = ax.twinx()
        twin.plot(
            _x(costed), [w.cost_usd or 0.0 for w in costed], "k-", marker="o", label="cost USD"
        )
        twin.set_ylabel("USD")
        twin.legend(loc="upper left", fontsize=7)
    return None
