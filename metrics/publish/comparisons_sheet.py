"""The Comparisons sheet of every workbook: each metric's value and interval beside England's and the
region's value, the verdict (better / similar / worse), the area's rank among its peers and where
each comparator came from, suppressed exactly as the page (``comparisons.publishable_comparison``)."""

from __future__ import annotations

from collections.abc import Sequence

import xlsxwriter

from metrics.compute.comparisons import publishable_comparison
from metrics.compute.suppression import publishable
from metrics.core.registry import Metric
from metrics.core.results import MetricResult
from metrics.publish.xlsx_cells import Formats, write_number, write_text

SHEET = "Comparisons"
HEADERS = (
    "Metric",
    "Value",
    "Lower 95% CI",
    "Upper 95% CI",
    "Comparison level (%)",
    "England value",
    "Compared with England",
    "England value source",
    "Region",
    "Region value",
    "Compared with region",
    "Region value source",
    "Rank among peers",
    "Areas ranked",
    "Peers' lowest",
    "Peers' highest",
    "Peer group",
)


def write_comparisons_sheet(
    workbook: xlsxwriter.Workbook,
    metrics: Sequence[Metric],
    results: Sequence[MetricResult],
    hwb_code: str,
    threshold: int,
) -> None:
    """One row per metric with a headline result for ``hwb_code`` (the results' period)."""
    f = Formats(workbook)
    ws = workbook.add_worksheet(SHEET)
    border = {"border": 1}
    for col, head in enumerate(HEADERS):
        write_text(ws, 0, col, head, f, bold=True, bg_color="#E8EDEE", text_wrap=True, **border)
    by_id = {r.metric_id: r for r in results if r.hwb_code == hwb_code and not r.view}
    row = 1
    for m in metrics:
        r = by_id.get(m.id)
        if r is None:
            continue
        p = publishable(r, threshold)
        c = publishable_comparison(r, threshold)
        d = m.decimals
        write_text(ws, row, 0, m.title, f, **border)
        write_number(ws, row, 1, p["value"], f, border, d)
        write_number(ws, row, 2, p["lower"], f, border, d)
        write_number(ws, row, 3, p["upper"], f, border, d)
        write_number(ws, row, 4, c["comparison_level"], f, border, 1)
        write_number(ws, row, 5, c["england_value"], f, border, d)
        write_text(ws, row, 6, c["england_comparison"], f, **border)
        write_text(ws, row, 7, c["england_source"], f, **border)
        write_text(ws, row, 8, c["region"], f, **border)
        write_number(ws, row, 9, c["region_value"], f, border, d)
        write_text(ws, row, 10, c["region_comparison"], f, **border)
        write_text(ws, row, 11, c["region_source"], f, **border)
        write_number(ws, row, 12, c["peer_rank"], f, border, 0)
        write_number(ws, row, 13, c["peer_count"], f, border, 0)
        write_number(ws, row, 14, c["peer_min"], f, border, d)
        write_number(ws, row, 15, c["peer_max"], f, border, d)
        write_text(ws, row, 16, c["peer_source"], f, **border)
        row += 1
    ws.set_column(0, 0, 40)
    ws.set_column(1, 6, 12)
    ws.set_column(7, 7, 50)
    ws.set_column(8, 10, 14)
    ws.set_column(11, 11, 50)
    ws.set_column(12, 15, 10)
    ws.set_column(16, 16, 50)
    ws.freeze_panes(1, 1)
