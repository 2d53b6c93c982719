"""The board-ready scorecard: one self-contained HTML page per area and period.

No external assets (inline CSS and SVG), readable on a projector, printable
to A4. Every figure comes from the same ``MetricResult`` rows, through the
same ``publishable`` suppression, as the NHSE return workbook, so the two
cannot disagree.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metrics.compute.status import AMBER, CONTEXT, GREEN, NO_DATA, NOT_ON_TRACK, ON_TRACK, RED
from metrics.compute.suppression import SUPPRESSED, publishable
from metrics.core.periods import Period
from metrics.core.reference import england_benchmarks
from metrics.core.registry import Metric, Scorecard
from metrics.core.results import MetricResult
from metrics.publish.spc_notes import SpcReading, icon_svg

_STATUS_STYLE = {
    ON_TRACK: ("on-track", "&#10004;", "On track"),  # check mark
    NOT_ON_TRACK: ("off-track", "&#10008;", "Not on track"),  # cross
    NO_DATA: ("no-data", "?", "No data"),
    GREEN: ("on-track", "&#10004;", "Green"),
    AMBER: ("amber", "&#9888;", "Amber"),  # warning sign
    RED: ("off-track", "&#10008;", "Red"),
    CONTEXT: ("context", "&#8226;", "Context"),
}

_CSS = """
:root { --blue:#005EB8; --dark:#231F20; --grey:#425563; --pale:#E8EDEE; --green:#007F3B; --red:#D5281B;
        --amber:#FFB81C; }
* { box-sizing: border-box; }
body { font-family: Arial, Helvetica, sans-serif; color: var(--dark); margin: 0; font-size: 18px; line-height: 1.45; }
header { background: var(--blue); color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0; font-size: 2rem; } header p { margin: .3rem 0 0; }
main { padding: 1rem 2rem 2rem; max-width: 1200px; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border-bottom: 1px solid #AEB7BD; padding: .5rem .6rem; text-align: left; vertical-align: top; }
th { background: var(--pale); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: .15rem .55rem; border-radius: 1rem; font-weight: bold; color: #fff;
         white-space: nowrap; }
.on-track { background: var(--green); } .off-track { background: var(--red); }
.no-data { background: var(--grey); } .amber { background: var(--amber); color: var(--dark); }
.context { background: var(--pale); color: var(--dark); }
.arrow { font-weight: bold; white-space: nowrap; } .better { color: var(--green); } .worse { color: var(--red); }
.same { color: var(--grey); }
section.metric { border-top: 4px solid var(--blue); margin-top: 2rem; padding-top: .5rem; page-break-inside: avoid; }
section.metric svg { max-width: 100%; height: auto; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: bold; }
.note { color: var(--grey); font-size: .9rem; }
.spc-icon { vertical-align: middle; margin-right: .3rem; }
@media print { body { font-size: 11pt; } header { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  .badge { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  section.metric { page-break-before: always; } }
@page { size: A4 landscape; margin: 12mm; }
"""


@dataclass(frozen=True)
class Trend:
    arrow: str
    css: str
    words: str


def trend(metric: Metric, current: MetricResult, previous: MetricResult | None) -> Trend:
    """Change since the previous quarter, in words and by polarity. Year-to-date figures restart
    each April, so they are only compared within a financial year; cumulative ones grow every
    quarter by construction, so their year-end projections are compared instead."""
    cumulative = metric.cumulative and metric.window == "year_to_date"
    now = current.projection if cumulative else current.value
    before = None if previous is None else (previous.projection if cumulative else previous.value)
    if previous is None or now is None or before is None:
        return Trend("&#8211;", "same", "no earlier comparable value")
    new_year = Period.parse(previous.period).fy_start != Period.parse(current.period).fy_start
    if metric.window == "year_to_date" and new_year:
        return Trend("&#8211;", "same", "year to date restarted in April")
    what = "projection " if cumulative else ""
    diff = now - before
    if abs(diff) < 10 ** -(metric.decimals + 1):
        return Trend("&#9654;", "same", f"{what}no change")
    if metric.polarity == "neutral":  # a context measure: the change is shown, not judged
        return Trend(
            "&#9650;" if diff > 0 else "&#9660;",
            "same",
            f"{'up' if diff > 0 else 'down'} {abs(diff):,.{metric.decimals}f}",
        )
    better = (diff > 0) == metric.higher_is_better
    return Trend(
        "&#9650;" if diff > 0 else "&#9660;",
        "better" if better else "worse",
        f"{what}{'up' if diff > 0 else 'down'} {abs(diff):,.{metric.decimals}f} ({'better' if better else 'worse'})",
    )


def _num(v: Any, decimals: int) -> str:
    if v is None:
        return "n/a"
    if v == SUPPRESSED:
        return SUPPRESSED
    return f"{float(v):,.{decimals}f}"


def _count(v: Any) -> str:
    if v is None:
        return "n/a"
    if v == SUPPRESSED:
        return SUPPRESSED
    f = float(v)
    return f"{f:,.0f}" if f.is_integer() else f"{f:,.1f}"


def _svg(path: Path | None) -> str:
    """An SVG file inlined, without its XML prolog and doctype."""
    if path is None or not path.exists():
        return '<p class="note">Chart not available.</p>'
    text = path.read_text(encoding="utf-8")
    return re.sub(r"^.*?(<svg\b)", r"\1", text, count=1, flags=re.S)


def render_scorecard(
    metrics: Sequence[Metric],
    results: Sequence[MetricResult],
    history: Sequence[MetricResult],
    hwb_code: str,
    hwb_name: str,
    period: Period,
    charts: Mapping[str, Path],
    data_quality: Mapping[str, Sequence[str]],
    spc: Mapping[str, SpcReading],
    generated_at: str,
    threshold: int,
    card: Scorecard | None = None,
) -> str:
    """The page's HTML. ``results`` are this area's rows for ``period``; ``history`` all its rows.
    ``card`` None is the BCF scorecard (plans); a Red/Amber/Green card says target and shows
    the England benchmark."""
    e = html.escape
    rag = card is not None and card.status_scheme == "rag"
    title = "Better Care Fund scorecard" if card is None else card.page_title
    plan_word = "Target" if rag else "Plan"
    bench = england_benchmarks() if rag else {}
    by_id = {r.metric_id: r for r in results}
    prev_period = period.previous().label
    previous = {r.metric_id: r for r in history if r.period == prev_period and r.hwb_code == hwb_code}
    rows, sections = [], []
    for m in metrics:
        r = by_id.get(m.id)
        if r is None:
            continue
        p = publishable(r, threshold)
        d = m.decimals
        ci = "" if p["lower"] is None or p["upper"] is None else f"{_num(p['lower'], d)} to {_num(p['upper'], d)}"
        css, icon, short = _STATUS_STYLE[r.status]
        before = previous.get(m.id)
        if p["suppressed"] or (before is not None and publishable(before, threshold)["suppressed"]):
            t = Trend("&#8211;", "same", "not compared: a suppressed figure")
        else:
            t = trend(m, r, before)
        plan = "none" if r.plan is None else f"{r.plan:g}"
        b = bench.get(m.id)
        bench_cell = (
            f'<td class="num england">{"n/a" if b is None else _num(b.value, d)}'
            + (f' <span class="note">({e(b.year)})</span></td>' if b else "</td>")
            if rag
            else ""
        )
        rows.append(
            f'<tr data-metric="{e(m.id)}"><td><a href="#{e(m.id)}">{e(m.title)}</a></td>'
            f'<td class="num value">{_num(p["value"], d)}</td><td class="num ci">{ci}</td>'
            f'<td class="num plan">{plan}</td>{bench_cell}'
            f'<td class="status"><span class="badge {css}" title="{e(r.status)}">{icon} {short}</span>'
            f'<span class="status-text" hidden>{e(r.status)}</span></td>'
            f'<td class="arrow {t.css}" title="{e(t.words)}">{t.arrow} <span class="note">{e(t.words)}</span></td></tr>'
        )
        dq = data_quality.get(m.id, ())
        dq_html = "".join(f"<li>{e(x)}</li>" for x in dq) or "<li>No rejected rows in this metric's extracts.</li>"
        projection = (
            ""
            if p.get("projection") is None
            else (f"<dt>Year-end projection</dt><dd>{_num(p['projection'], d)} (year to date &times; 4 / quarter)</dd>")
        )
        reading = spc.get(m.id)
        spc_html = "not assessed" if reading is None else f"{icon_svg(reading)} {e(reading.text)}"
        sections.append(f"""
<section class="metric" id="{e(m.id)}">
  <h2>{e(m.title)} <span class="badge {css}">{icon} {short}</span></h2>
  {_svg(charts.get(m.id))}
  <dl>
    <dt>Definition</dt><dd>{e(m.definition)} <span class="note">({e(m.reference)})</span></dd>
    <dt>Unit</dt><dd>{e(m.unit)}; {e(m.polarity.replace("_", " "))}</dd>
    <dt>This period</dt><dd>{_num(p["value"], d)}{f" (95% CI {ci})" if ci else ""}; method {e(r.method)}</dd>
    <dt>Numerator</dt><dd>{_count(p["numerator"])} {e(m.numerator_label)}</dd>
    <dt>Denominator</dt><dd>{_count(p["denominator"])} {e(m.denominator_label)}</dd>
    <dt>{plan_word}</dt><dd>{plan} ({e(m.plan_basis)} {plan_word.lower()})</dd>{projection}{
            f"<dt>England</dt><dd>{_num(bench[m.id].value, d)} ({e(bench[m.id].year)}, {e(bench[m.id].status)}): "
            f"{e(bench[m.id].source)}</dd>"
            if m.id in bench
            else ""
        }
    <dt>Status</dt><dd>{e(r.status)}: {e(p["status_reason"] or "")}</dd>
    <dt>SPC</dt><dd>{spc_html}</dd>
    <dt>Data quality</dt><dd><ul>{dq_html}</ul>{f'<p class="note">{e(p["note"])}</p>' if p.get("note") else ""}</dd>
  </dl>
</section>""")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} {e(hwb_name)} {e(period.short_label)}</title>
<style>{_CSS}</style></head>
<body>
<header><h1>{e(title)}: {e(hwb_name)}</h1>
<p>{e(hwb_code)} &middot; {e(period.short_label)} ({period.start:%d %B %Y} to {period.end:%d %B %Y})
&middot; generated {e(generated_at)}</p></header>
<main>
<table id="headline"><caption class="note">Values with 95% confidence intervals; counts of 1 to {threshold - 1}
are suppressed (*). Status is computed from the value, the {plan_word.lower()} and whether lower or higher is
better.</caption>
<thead><tr><th>Metric</th><th>Value</th><th>95% CI</th><th>{plan_word}</th>{"<th>England</th>" if rag else ""}
<th>Status</th><th>Since last quarter</th></tr>
</thead><tbody>
{"".join(rows)}
</tbody></table>
{"".join(sections)}
</main></body></html>
"""


def write_scorecard(path: Path, page: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
