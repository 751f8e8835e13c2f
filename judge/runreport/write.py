"""The run report page: one HTML file, no external assets, every data string escaped.

Each figure is an inline PNG beside a table of the numbers it plots (what a test, or a
reader who wants the values, checks). A figure the logs cannot give is named, with why.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from judge.runreport.compute import (
    QUANTILES,
    Thresholds,
    Window,
    canary_names,
    dimension_names,
    rate_names,
)
from judge.runreport.plot import Plot, plots
from judge.runreport.read import RunLog, SampleLog

TOP_SAMPLES = 10  # highest-reward samples of the flagged windows, listed for a look
STYLE = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}.flag td{background:#fde2e2}
.alert{background:#fde2e2;border-left:4px solid #d62728;padding:.5em 1em}
.ok{background:#e5f5e5;border-left:4px solid #2ca02c;padding:.5em 1em}
.missing{color:#a00;font-style:italic}details{margin:.3em 0}
img{max-width:100%}
"""


def esc(value: object) -> str:
    """Any text from the data, safe in HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def num(value: float | None, digits: int = 4) -> str:
    """A figure as a table shows it; n/a when the logs do not hold it."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def page(run: RunLog, ws: Sequence[Window], size: int, t: Thresholds) -> str:
    """The whole page."""
    drawn = plots(ws, t)
    tables = _tables(ws)
    body = [_header(run, ws, size, t), _alerts(ws)]
    body += [_section(p, tables[p.key]) for p in drawn]
    body.append(_top_samples(run, ws))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>judge run report</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _header(run: RunLog, ws: Sequence[Window], size: int, t: Thresholds) -> str:
    """What was read, how it is cut and flagged, and what the logs could not give."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = "".join(f"<li>{esc(n)}</li>" for n in run.notes)
    return (
        "<h1>Run report</h1>"
        f"<p>{esc(run.source)}: {len(run.batches)} batches in {len(ws)} windows of {size} "
        f"batches; written {made} by <code>judge report</code>.</p>"
        "<p>A window is flagged (shaded red on every plot) when the mean within-group "
        f"Spearman correlation of reward with response length exceeds {t.length_corr:g} "
        f"(ODIN measured 0.45 on a length-hacked reward) or the share of prompt groups "
        f"whose rewards are all equal exceeds {t.zero_spread:g} (those groups teach "
        "nothing). Groups are the samples of one batch sharing a prompt; the correlation "
        "uses groups of 3+ scored samples whose rewards and lengths vary.</p>"
        + (f"<p>Not in these logs:</p><ul>{notes}</ul>" if notes else "")
    )


def _alerts(ws: Sequence[Window]) -> str:
    """The flagged windows first: what a reader must see at a glance."""
    flagged = [w for w in ws if w.flags]
    if not flagged:
        return '<p class="ok">No window crossed a threshold.</p>'
    items = "".join(
        f"<li>window {w.index + 1} (batches {w.first}-{w.last}): {esc('; '.join(w.flags))}</li>"
        for w in flagged
    )
    return (
        f'<div class="alert" id="alerts"><strong>{len(flagged)} of {len(ws)} windows '
        f"flagged</strong>, from batch {flagged[0].first}:<ul>{items}</ul></div>"
    )


def _section(p: Plot, table: str) -> str:
    """One figure: its image (or why it is missing) and its numbers."""
    if p.png is not None:
        shown = f'<img alt="{esc(p.title)}" src="data:image/png;base64,{p.png}">'
    else:
        shown = f'<p class="missing">Not shown: {esc(p.missing)}.</p>'
    return (
        f'<section id="{p.key}"><h2>{esc(p.title)}</h2>{shown}'
        f"<details><summary>numbers per window</summary>{table}</details></section>"
    )


Columns = Callable[[Window], list[str]]


def _tables(ws: Sequence[Window]) -> dict[str, str]:
    """Each figure's numbers per window, keyed as the plots are."""
    dims, rates, canaries = dimension_names(ws), rate_names(ws), canary_names(ws)
    five = all(len(w.reward_band or ()) != 2 for w in ws)
    band_names = [f"p{round(q * 100)}" for q in QUANTILES] if five else ["min", "max"]
    quartiles = all(w.length_spread == "p25-p75" for w in ws if w.length_band)
    spread = ["p25", "p75"] if quartiles else ["mean-sd", "mean+sd"]
    specs: dict[str, tuple[list[str], Columns]] = {
        "reward": (
            ["samples", "mean", *band_names],
            lambda w: [str(w.samples), num(w.reward_mean), *_band(w, len(band_names))],
        ),
        "dimensions": (dims, lambda w: [num(w.dimension_means.get(d)) for d in dims]),
        "length": (["mean", *spread], lambda w: [num(w.length_mean), *_pair(w)]),
        "length-corr": (["rho", "groups"], lambda w: [num(w.length_corr), _count(w.corr_groups)]),
        "zero-spread": (["share", "groups"], lambda w: [num(w.zero_spread), _count(w.groups)]),
        "rates": (rates, lambda w: [num(w.rates.get(r)) for r in rates]),
        "canary": (canaries, lambda w: [num(w.canary.get(c)) for c in canaries]),
        "calls": (["calls", "cost USD"], lambda w: [num(w.calls, 0), num(w.cost_usd, 6)]),
    }
    return {key: _table(key, heads, cells, ws) for key, (heads, cells) in specs.items()}


def _band(w: Window, n: int) -> list[str]:
    band = w.reward_band or ()
    return [num(v) for v in band] if len(band) == n else ["n/a"] * n


def _count(n: int | None) -> str:
    return "n/a" if n is None else str(n)


def _pair(w: Window) -> list[str]:
    return [num(v) for v in w.length_band] if w.length_band else ["n/a", "n/a"]


def _table(key: str, heads: list[str], cells: Columns, ws: Sequence[Window]) -> str:
    """A table: window, batches, then the figure's columns; flagged rows marked."""
    head = "".join(f"<th>{esc(h)}</th>" for h in ["window", "batches", *heads])
    rows = "".join(
        f"<tr{' class=flag' if w.flags else ''}><td>{w.index + 1}</td>"
        f"<td>{w.first}-{w.last}</td>" + "".join(f"<td>{esc(c)}</td>" for c in cells(w)) + "</tr>"
        for w in ws
    )
    return f'<table class="data" data-figure="{key}"><tr>{head}</tr>{rows}</table>'


def _top_samples(run: RunLog, ws: Sequence[Window]) -> str:
    """The highest-reward samples of the flagged windows: where to look first."""
    flagged = [w for w in ws if w.flags]
    picked: list[tuple[int, SampleLog]] = [
        (n, s)
        for w in flagged
        for n in range(w.first, w.last + 1)
        for s in run.batches[n - 1].samples or ()
        if not s.unscored and not s.malformed
    ]
    if not picked:
        return ""
    picked.sort(key=lambda p: -p[1].reward)
    rows = "".join(
        f"<tr><td>{n}</td><td>{esc(run.batches[n - 1].name)}</td><td>{esc(s.id)}</td>"
        f"<td>{num(s.reward)}</td><td>{'n/a' if s.length is None else s.length}</td></tr>"
        for n, s in picked[:TOP_SAMPLES]
    )
    return (
        '<section id="top-samples"><h2>Highest rewards in the flagged windows</h2>'
        '<table class="samples"><tr><th>batch</th><th>file</th><th>id</th><th>reward</th>'
        f"<th>length</th></tr>{rows}</table></section>"
    )
