"""The scorecard workbook for Red/Amber/Green scorecards (safeguarding): one per area and quarter.

Sheets: ``Scorecard`` (every measure with its quarter, year-to-date and
rolling-year views, target, tolerance, status and England benchmark),
``Trend`` (headline values by quarter), ``Definitions`` and ``Notes``. It is
written from the same result rows as the charts and the HTML page, through
the same suppression, so none of them can disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xlsxwriter

from metrics.compute.status import AMBER, CONTEXT, GREEN, NO_DATA, RED, plan_significance
from metrics.compute.suppression import publishable
from metrics.core import atomic
from metrics.core.periods import Period
from metrics.core.reference import caveats_for, comparable_benchmark, england_benchmarks, reference_footnotes
from metrics.core.registry import Metric, Scorecard, metric_set, metrics_for
from metrics.core.results import MetricResult
from metrics.publish.comparisons_sheet import write_comparisons_sheet
from metrics.publish.xlsx_cells import Formats, mark_synthetic, write_number, write_text

# Colour-blind-safe fills with dark text; the status word is always written, colour only helps.
STATUS_FILL = {GREEN: "#C6E6C3", AMBER: "#FFE3A3", RED: "#F4B6B6", CONTEXT: "#E4E4E4", NO_DATA: "#FFFFFF"}

SCORECARD_COLUMNS = (
    "Measure",
    "Unit",
    "Better",
    "Quarter value",
    "95% CI lower",
    "95% CI upper",
    "Numerator",
    "Denominator",
    "Year to date",
    "Rolling 12 months",
    "Target",
    "Amber tolerance",
    "Status",
    "Target vs 95% CI",
    "England",
    "England year",
    "Change on previous quarter",
    "Metric set",
    "Caveat",
)


def _better(m: Metric) -> str:
    return {"higher_is_better": "higher", "lower_is_better": "lower", "neutral": "context"}[m.polarity]


def write_scorecard_workbook(
    path: Path,
    card: Scorecard,
    current: Sequence[MetricResult],
    history: Sequence[MetricResult],
    hwb_code: str,
    hwb_name: str,
    period: Period,
    generated_at: str,
    suppression_threshold: int,
    tolerances: dict[str, float] | None = None,
    synthetic: str = "",
) -> Path:
    """Write the workbook for one area; ``current`` holds every view of the quarter's results.
    ``synthetic`` (the run's synthetic-data banner, "" for real inputs) is said on every sheet."""
    metrics = metrics_for(card.id)
    mine = [r for r in current if r.hwb_code == hwb_code and r.period == period.label]
    by_view = {(r.metric_id, r.view): publishable(r, suppression_threshold) for r in mine}
    previous = period.previous().label
    before = {
        r.metric_id: publishable(r, suppression_threshold)
        for r in history
        if r.hwb_code == hwb_code and r.period == previous and not r.view
    }
    with atomic.atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        try:
            f = Formats(wb)
            _scorecard_sheet(wb, f, card, metrics, by_view, before, hwb_code, hwb_name, period, tolerances or {})
            _trend_sheet(wb, f, metrics, history, hwb_code, period, suppression_threshold)
            _definitions_sheet(wb, f, metrics)
            _notes_sheet(wb, f, card, hwb_code, hwb_name, period, generated_at, suppression_threshold)
            write_comparisons_sheet(wb, metrics, mine, hwb_code, suppression_threshold)
            mark_synthetic(wb, synthetic)
        finally:
            wb.close()
    return path


def _scorecard_sheet(
    wb: xlsxwriter.Workbook,
    f: Formats,
    card: Scorecard,
    metrics: Sequence[Metric],
    by_view: dict[tuple[str, str], dict[str, Any]],
    before: dict[str, dict[str, Any]],
    hwb_code: str,
    hwb_name: str,
    period: Period,
    tolerances: dict[str, float],
) -> None:
    ws = wb.add_worksheet("Scorecard")
    border = {"border": 1}
    write_text(ws, 0, 0, f"{card.title}: {hwb_name} ({hwb_code}), {period.short_label}", f, bold=True, font_size=14)
    write_text(
        ws,
        1,
        0,
        "Status is computed from the value, the target, the tolerance and the measure's polarity; "
        "'Target vs 95% CI' says whether the target lies inside the value's 95% CI; '*' = suppressed small number.",
        f,
        italic=True,
    )
    for c, name in enumerate(SCORECARD_COLUMNS):
        write_text(ws, 3, c, name, f, bold=True, bg_color="#D9E1F2", text_wrap=True, **border)
    chosen = metric_set(card, period.financial_year)
    for i, m in enumerate(metrics):
        row = 4 + i
        q = by_view.get((m.id, ""), {})
        ytd = by_view.get((m.id, "year_to_date"), {})
        r12 = by_view.get((m.id, "rolling_12_months"), {})
        dec = m.decimals
        write_text(ws, row, 0, m.title, f, text_wrap=True, **border)
        write_text(ws, row, 1, m.unit, f, text_wrap=True, **border)
        write_text(ws, row, 2, _better(m), f, **border)
        write_number(ws, row, 3, q.get("value"), f, border, dec)
        write_number(ws, row, 4, q.get("lower"), f, border, dec)
        write_number(ws, row, 5, q.get("upper"), f, border, dec)
        write_number(ws, row, 6, q.get("numerator"), f, border, None)
        write_number(ws, row, 7, q.get("denominator"), f, border, None)
        write_number(ws, row, 8, ytd.get("value") if ytd else None, f, border, dec)
        write_number(ws, row, 9, r12.get("value") if r12 else None, f, border, dec)
        write_number(ws, row, 10, q.get("plan"), f, border, dec)
        write_number(ws, row, 11, tolerances.get(m.id), f, border, dec)
        status = str(q.get("status", NO_DATA))
        write_text(ws, row, 12, status, f, bg_color=STATUS_FILL.get(status, "#FFFFFF"), text_wrap=True, **border)
        # Beside the status, never changing it: does the target lie inside the published interval?
        significance = plan_significance(
            m, period, q.get("value"), q.get("lower"), q.get("upper"), q.get("plan"), target=True
        )
        write_text(ws, row, 13, significance, f, text_wrap=True, **border)
        # A benchmark defined differently (e.g. another start point) is not set beside the figure: the
        # year column says why instead.
        b, not_comparable = comparable_benchmark(m.id, m.parameters)
        write_number(ws, row, 14, b.value if b else None, f, border, dec)
        write_text(ws, row, 15, b.year if b else not_comparable, f, text_wrap=bool(not_comparable), **border)
        prev = before.get(m.id, {}).get("value")
        now = q.get("value")
        change = now - prev if isinstance(now, float) and isinstance(prev, float) else None
        write_number(ws, row, 16, change, f, border, dec)
        # headline: in the year's declared metric set ([years] in scorecard.toml); supporting: shown, not in it.
        write_text(ws, row, 17, chosen.role(m.id), f, **border)
        write_text(ws, row, 18, "; ".join(caveats_for(m.reference_data)), f, text_wrap=True, **border)
    if chosen.basis:
        write_text(ws, 5 + len(metrics), 0, f"Metric set for {chosen.year}: {chosen.basis}", f, italic=True)
    ws.set_column(0, 0, 46)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 11, 12)
    ws.set_column(12, 12, 30)
    ws.set_column(13, 13, 18)
    ws.set_column(14, 17, 12)
    ws.set_column(18, 18, 30)
    ws.freeze_panes(4, 1)


def _trend_sheet(
    wb: xlsxwriter.Workbook,
    f: Formats,
    metrics: Sequence[Metric],
    history: Sequence[MetricResult],
    hwb_code: str,
    period: Period,
    threshold: int,
) -> None:
    ws = wb.add_worksheet("Trend")
    rows = [r for r in history if r.hwb_code == hwb_code and not r.view and Period.parse(r.period) <= period]
    periods = sorted({Period.parse(r.period) for r in rows})
    values = {(r.metric_id, r.period): publishable(r, threshold)["value"] for r in rows}
    write_text(ws, 0, 0, "Measure (headline window)", f, bold=True, border=1)
    for c, p in enumerate(periods, start=1):
        write_text(ws, 0, c, p.short_label, f, bold=True, border=1)
    for i, m in enumerate(metrics, start=1):
        write_text(ws, i, 0, m.title, f, border=1)
        for c, p in enumerate(periods, start=1):
            write_number(ws, i, c, values.get((m.id, p.label)), f, {"border": 1}, m.decimals)
    ws.set_column(0, 0, 46)
    ws.set_column(1, len(periods), 12)


def _definitions_sheet(wb: xlsxwriter.Workbook, f: Formats, metrics: Sequence[Metric]) -> None:
    ws = wb.add_worksheet("Definitions")
    for c, name in enumerate(
        (
            "Measure",
            "Id",
            "Definition",
            "Method (95% CI)",
            "Numerator",
            "Denominator",
            "Sources",
            "Reference",
            "Specification",
            "Confirmation",
        )
    ):
        write_text(ws, 0, c, name, f, bold=True, border=1)
    for i, m in enumerate(metrics, start=1):
        for c, text in enumerate(
            (
                m.title,
                m.id,
                m.definition,
                m.method,
                m.numerator_label,
                m.denominator_label,
                ", ".join(m.sources),
                m.reference,
                m.source,
                m.confirmation,
            )
        ):
            write_text(ws, i, c, text, f, text_wrap=True, valign="top", border=1)
    ws.set_column(0, 1, 28)
    ws.set_column(2, 2, 80)
    ws.set_column(3, 7, 22)
    ws.set_column(8, 8, 60)
    ws.set_column(9, 9, 14)


def _notes_sheet(
    wb: xlsxwriter.Workbook,
    f: Formats,
    card: Scorecard,
    hwb_code: str,
    hwb_name: str,
    period: Period,
    generated_at: str,
    threshold: int,
) -> None:
    ws = wb.add_worksheet("Notes")
    notes = [
        ("Area", f"{hwb_name} ({hwb_code})"),
        ("Period", f"{period.short_label} ({period.start.isoformat()} to {period.end.isoformat()})"),
        ("Generated", generated_at),
        (
            "Small-number suppression",
            f"Counts from 1 to {threshold - 1} are shown as *, with the values, "
            "intervals and status derived from them. Where one category of a total is "
            "suppressed, another is withheld too so the total cannot reveal it.",
        ),
        (
            "Status",
            "Green: target met. Amber: short of the target by no more than the tolerance. Red: further "
            "off. Context measures have no status. Targets and tolerances come from cs_targets.csv.",
        ),
        (
            "Views",
            "Quarter = the quarter; year to date = 1 April to the quarter end; rolling 12 months = the "
            "four quarters to the quarter end. Snapshot measures (rates per 10,000) are at the quarter end.",
        ),
        (
            "England benchmarks",
            "; ".join(
                f"{k}: {b.value:g} ({b.year}, {b.status}) {b.source}"
                + (f" [definition: {', '.join(f'{n}={v}' for n, v in b.definition)}]" if b.definition else "")
                for k, b in england_benchmarks().items()
            ),
        ),
        ("Scorecard", card.description),
    ]
    footnotes = reference_footnotes(metrics_for(card.id))
    if footnotes:
        notes.append(("Reference data caveats", " ".join(footnotes)))
    for i, (k, v) in enumerate(notes):
        write_text(ws, i, 0, k, f, bold=True, valign="top")
        write_text(ws, i, 1, v, f, text_wrap=True, valign="top")
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 110)
