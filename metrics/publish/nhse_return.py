"""The NHSE Better Care Fund quarterly return workbook for one HWB and period.

The official template could not be confirmed, so sheet names, title and
columns come from ``metrics/reference/nhse_return_layout.toml`` and can be
changed without touching code. Figures go through ``metrics.compute.suppression`` so
the return can never publish a count the charts and tables suppress.

Narrative cells hold free text typed by people and later opened in Excel by
others, so every text cell is written with ``write_string`` (never parsed as a
formula or URL) and text that Excel would treat as a formula if re-entered or
exported to CSV gets the ``quote_prefix`` cell format, Excel's own "this is
text" marker.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from metrics.compute.status import plan_statuses
from metrics.compute.suppression import DEFAULT_THRESHOLD, SUPPRESSED, publishable
from metrics.core import atomic, registry
from metrics.core.paths import REFERENCE
from metrics.core.periods import Period
from metrics.core.reference import caveats_for, reference_footnotes
from metrics.core.registry import Metric, MetricSet
from metrics.core.results import MetricResult
from metrics.publish.comparisons_sheet import write_comparisons_sheet
from metrics.publish.xlsx_cells import Formats as _Formats
from metrics.publish.xlsx_cells import mark_synthetic, needs_quote_prefix
from metrics.publish.xlsx_cells import write_number as _write_number
from metrics.publish.xlsx_cells import write_text as _write_text

DEFAULT_LAYOUT = REFERENCE / "nhse_return_layout.toml"

NARRATIVE_FIELDS = ("challenges", "achievements")
# Figures shown to the metric's own number of decimals.
FIGURE_FIELDS = frozenset({"plan", "actual", "lower", "upper", "projection"})
COUNT_FIELDS = frozenset({"numerator", "denominator"})
TEXT_FIELDS = frozenset(
    {
        "title",
        "reference",
        "definition",
        "unit",
        "year_to_date",
        "status",
        "status_reason",
        "period",
        "hwb_code",
        "hwb_name",
        "caveat",
    }
)
# "year_to_date": whether the figure covers the financial year so far (the metric's headline window),
# not the quarter alone; the same as view = year_to_date in results.csv.
YES, NO = "Yes", "No"
FIELDS = FIGURE_FIELDS | COUNT_FIELDS | TEXT_FIELDS | frozenset(NARRATIVE_FIELDS)

# Metrics sheet geometry (0-based): title, subtitle, blank, header row, then one row per metric.
TITLE_ROW, SUBTITLE_ROW, HEADER_ROW, FIRST_DATA_ROW = 0, 1, 3, 4
# Cover sheet geometry (0-based): title, blank, the header of the cover table, then one row per item.
COVER_HEADER_ROW = 2
COVER_HEADERS = ("Item", "Value")
# Excel table names (workbook-wide, fixed so queries and BI tools can find them whatever the layout).
COVER_TABLE, METRICS_TABLE = "ReturnCover", "ReturnMetrics"
TABLE_STYLE = "TableStyleLight1"

INPUT_FILL = "#FFFF99"  # pale yellow: the cells a person is expected to fill in
HEADER_FILL = "#D9E1F2"

# First characters that make Excel (or a CSV importer) treat text as a formula or DDE call;
# the full-width forms are converted by Excel with East Asian input methods.
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    width: float | None = None


@dataclass(frozen=True)
class Layout:
    title: str
    cover_sheet: str
    metrics_sheet: str
    protect: bool
    columns: tuple[Column, ...]


def load_layout(path: Path | None = None) -> Layout:
    """Read and check a layout TOML; a typo in a field name fails here, not as an empty column."""
    path = path or DEFAULT_LAYOUT
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        sheets = raw["sheets"]
        columns = tuple(
            Column(str(c["header"]), str(c["field"]), float(c["width"]) if "width" in c else None)
            for c in raw["columns"]
        )
        layout = Layout(
            str(raw["title"]), str(sheets["cover"]), str(sheets["metrics"]), bool(raw.get("protect", True)), columns
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing required key {exc}") from exc
    if not columns:
        raise ValueError(f"{path}: at least one column is needed")
    unknown = [c.field for c in columns if c.field not in FIELDS]
    if unknown:
        raise ValueError(f"{path}: unknown column field(s) {unknown}; available: {sorted(FIELDS)}")
    for name in (layout.cover_sheet, layout.metrics_sheet):
        if not name or len(name) > 31 or _BAD_SHEET_CHARS.search(name):
            raise ValueError(f"{path}: {name!r} is not a valid Excel sheet name")
    if layout.cover_sheet.casefold() == layout.metrics_sheet.casefold():
        raise ValueError(f"{path}: cover and metrics sheets need different names")
    seen: dict[str, str] = {}
    for c in columns:
        # The columns are an Excel table's header: each must be non-empty and unique (Excel ignores case).
        if not c.header.strip() or c.header.casefold() in seen:
            raise ValueError(
                f"{path}: column header {c.header!r} is empty or repeats {seen.get(c.header.casefold())!r}; "
                "each column of the metrics table needs its own header"
            )
        seen[c.header.casefold()] = c.header
    return layout


def _rows(results: Sequence[MetricResult], hwb_code: str, period: Period) -> list[tuple[Metric, MetricResult]]:
    rows: dict[str, tuple[Metric, MetricResult]] = {}
    for r in results:
        if r.hwb_code != hwb_code or r.period != period.label:
            raise ValueError(
                f"result {r.metric_id}/{r.hwb_code}/{r.period} does not belong in the return for "
                f"{hwb_code} {period.label}"
            )
        if r.metric_id in rows:
            raise ValueError(f"two results for metric {r.metric_id}")
        rows[r.metric_id] = (registry.get(r.metric_id), r)
    if not rows:
        raise ValueError("no results to write")
    return sorted(rows.values(), key=lambda mr: (mr[0].scorecard, mr[0].order))


def _check_narrative(narrative: Mapping[str, Mapping[str, str]], metric_ids: set[str]) -> None:
    """Reject narrative for metrics not in the return, so a mistyped id is not silently dropped."""
    for metric_id, texts in narrative.items():
        if metric_id not in metric_ids:
            raise ValueError(f"narrative given for {metric_id!r}, which is not in the return")
        extra = set(texts) - set(NARRATIVE_FIELDS)
        if extra:
            raise ValueError(f"narrative for {metric_id!r} has unknown keys {sorted(extra)}; use {NARRATIVE_FIELDS}")


def _write_cover(
    ws: Worksheet,
    formats: _Formats,
    layout: Layout,
    hwb_code: str,
    hwb_name: str,
    period: Period,
    generated_at: str,
    run_id: str | None,
    inputs_sha256: str | None,
    threshold: int,
    metric_set: MetricSet | None = None,
    supporting: Sequence[str] = (),
    footnotes: Sequence[str] = (),
) -> None:
    """The cover as an Excel table of items and values. It carries the run id and the inputs digest, not
    the manifest's SHA-256: the manifest lists this workbook's SHA-256, so the workbook cannot hold the
    manifest's (each would have to contain the other). A person matches the two values with the
    manifest's ``run_id`` and ``inputs_sha256``, and the workbook's own SHA-256 with its ``outputs``."""
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 80)
    _write_text(ws, 0, 0, layout.title, formats, bold=True, font_size=14)
    rows = [
        ("Health and Wellbeing Board code", hwb_code),
        ("Health and Wellbeing Board name", hwb_name),
        ("Reporting period", period.short_label),
        ("Period dates", f"{period.start.day} {period.start:%B %Y} to {period.end.day} {period.end:%B %Y}"),
        ("Generated", generated_at),
        ("Run id", run_id or "not provided"),
        ("Inputs digest (sha256)", inputs_sha256 or "not provided"),
        (
            "Check against the manifest",
            "manifest.json beside this workbook has the same run_id and inputs_sha256 "
            "(python -m metrics.publish.manifest manifest.json prints both and rechecks them); "
            "it lists this workbook's own SHA-256 under outputs",
        ),
        (
            "Small-number suppression",
            f"counts from 1 to {threshold - 1} are shown as {SUPPRESSED}; the figures derived from them are withheld",
        ),
        ("Figures", f"see sheet '{layout.metrics_sheet}'"),
    ]
    if metric_set is not None and metric_set.basis:
        rows.append((f"Metrics for {metric_set.year}", metric_set.basis))
    if supporting:
        rows.append(
            (
                "Supporting measures",
                f"not part of this return (shown on the scorecard page and in results.csv): {', '.join(supporting)}",
            )
        )
    if footnotes:
        rows.append(("Reference data caveats", " ".join(footnotes)))
    first = COVER_HEADER_ROW + 1
    for i, (label, value) in enumerate(rows, start=first):
        _write_text(ws, i, 0, label, formats, bold=True)
        _write_text(ws, i, 1, value, formats, text_wrap=True)
    header = formats.get(bold=True, bg_color=HEADER_FILL)
    _add_table(
        ws,
        COVER_HEADER_ROW,
        first + len(rows) - 1,
        COVER_TABLE,
        [{"header": h, "header_format": header} for h in COVER_HEADERS],
        autofilter=False,
    )


def _add_table(
    ws: Worksheet, header_row: int, last_row: int, name: str, columns: list[dict[str, Any]], autofilter: bool
) -> None:
    """An Excel table over cells already written (xlsxwriter writes the headers); fails loudly where
    xlsxwriter would only warn and leave the table out."""
    done = ws.add_table(
        header_row,
        0,
        last_row,
        len(columns) - 1,
        {"name": name, "style": TABLE_STYLE, "columns": columns, "autofilter": autofilter},
    )
    if done not in (None, 0):
        raise ValueError(f"could not add the Excel table {name!r} (xlsxwriter returned {done})")


def _write_footnotes(ws: Worksheet, formats: _Formats, rows: list[tuple[Metric, MetricResult]], first: int) -> None:
    """Below the table: the caveats of unconfirmed reference data behind the figures above."""
    lines = reference_footnotes([m for m, _ in rows])
    if not lines:
        return
    _write_text(ws, first, 0, "Reference data caveats", formats, bold=True)
    for i, line in enumerate(lines, start=1):
        _write_text(ws, first + i, 0, line, formats)


def write_return(
    path: Path,
    results: Sequence[MetricResult],
    hwb_code: str,
    hwb_name: str,
    period: Period,
    generated_at: str,
    narrative: Mapping[str, Mapping[str, str]] | None = None,
    layout_path: Path | None = None,
    suppression_threshold: int = DEFAULT_THRESHOLD,
    metric_set: MetricSet | None = None,
    run_id: str | None = None,
    inputs_sha256: str | None = None,
    synthetic: str = "",
) -> Path:
    """Write the return for one HWB and period: a cover sheet and one metrics row per result.

    ``results`` must all be for ``hwb_code`` and ``period``; rows follow the
    metric order. With ``metric_set`` (the year's headline metrics) only those are rows of the
    return; the cover names the set and the supporting measures left out. ``narrative`` maps
    metric id to ``{"challenges": .., "achievements": ..}``. ``generated_at`` is passed in (not read from the
    clock) so the same inputs give the same workbook. ``run_id`` and ``inputs_sha256`` (the manifest's
    ``run_id`` and ``inputs_sha256``) go on the cover to tie the return to its run's manifest.
    ``synthetic`` (the run's synthetic-data banner, "" for real inputs) is said on every sheet
    (``xlsx_cells.mark_synthetic``).
    """
    layout = load_layout(layout_path)
    supporting: list[str] = []
    if metric_set is not None:
        supporting = [registry.get(r.metric_id).title for r in results if not metric_set.is_headline(r.metric_id)]
        results = [r for r in results if metric_set.is_headline(r.metric_id)]
    rows = _rows(results, hwb_code, period)
    narrative = narrative or {}
    _check_narrative(narrative, {m.id for m, _ in rows})
    if inputs_sha256 is not None and not _SHA256.match(inputs_sha256):
        raise ValueError(f"inputs_sha256 {inputs_sha256!r} is not a sha256 hex digest")

    with atomic.atomic_path(path) as tmp:
        # Belt and braces: all text goes through write_string, but switch off the conversions anyway.
        workbook = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        )
        try:
            try:
                workbook.set_properties({"title": layout.title, "created": dt.datetime.fromisoformat(generated_at)})
            except ValueError:
                workbook.set_properties({"title": layout.title})
            formats = _Formats(workbook)
            cover = workbook.add_worksheet(layout.cover_sheet)
            _write_cover(
                cover,
                formats,
                layout,
                hwb_code,
                hwb_name,
                period,
                generated_at,
                run_id,
                inputs_sha256,
                suppression_threshold,
                metric_set,
                supporting,
                reference_footnotes([m for m, _ in rows]),
            )
            ws = workbook.add_worksheet(layout.metrics_sheet)
            _write_metrics(ws, formats, layout, rows, hwb_code, hwb_name, period, narrative, suppression_threshold)
            write_comparisons_sheet(
                workbook, [m for m, _ in rows], [r for _, r in rows], hwb_code, suppression_threshold
            )
            mark_synthetic(workbook, synthetic)  # "" (real inputs): nothing added
            if layout.protect:
                cover.protect()
        finally:
            workbook.close()
    return path


def _header_format(formats: _Formats, props: Mapping[str, Any], header: str) -> Any:
    """A table header's format, quote-prefixed like any text cell when it could read as a formula."""
    return formats.get(**props, **({"quote_prefix": True} if needs_quote_prefix(header) else {}))


def _write_metrics(
    ws: Worksheet,
    formats: _Formats,
    layout: Layout,
    rows: list[tuple[Metric, MetricResult]],
    hwb_code: str,
    hwb_name: str,
    period: Period,
    narrative: Mapping[str, Mapping[str, str]],
    threshold: int,
) -> None:
    _write_text(ws, TITLE_ROW, 0, layout.title, formats, bold=True, font_size=14)
    _write_text(ws, SUBTITLE_ROW, 0, f"{hwb_code} {hwb_name}, {period.short_label}", formats, bold=True)
    border = {"border": 1, "valign": "top"}
    for col, column in enumerate(layout.columns):
        if column.width is not None:
            ws.set_column(col, col, column.width)

    for i, (metric, result) in enumerate(rows):
        row = FIRST_DATA_ROW + i
        pub = publishable(result, threshold)
        texts: dict[str, str] = {
            "title": metric.title,
            "reference": metric.reference,
            "definition": metric.definition,
            "unit": metric.unit,
            "status": pub["status"],
            "status_reason": pub["status_reason"],
            "period": period.short_label,
            "hwb_code": hwb_code,
            "hwb_name": hwb_name,
            "caveat": "; ".join(caveats_for(metric.reference_data)),
            "year_to_date": YES if (result.view or metric.window) == "year_to_date" else NO,
        }
        numbers: dict[str, Any] = {
            "plan": pub["plan"],
            "actual": pub["value"],
            "lower": pub["lower"],
            "upper": pub["upper"],
            "projection": pub["projection"],
            "numerator": pub["numerator"],
            "denominator": pub["denominator"],
        }
        for col, column in enumerate(layout.columns):
            f = column.field
            if f in NARRATIVE_FIELDS:
                text = narrative.get(metric.id, {}).get(f, "")
                props = {**border, "text_wrap": True, "bg_color": INPUT_FILL, "locked": False}
                if text:
                    _write_text(ws, row, col, text, formats, **props)
                else:
                    ws.write_blank(row, col, None, formats.get(**props))
            elif f in TEXT_FIELDS:
                _write_text(ws, row, col, texts[f], formats, text_wrap=True, **border)
            else:
                _write_number(
                    ws, row, col, numbers[f], formats, border, metric.decimals if f in FIGURE_FIELDS else None
                )

    last = FIRST_DATA_ROW + len(rows) - 1
    header = {"bold": True, "text_wrap": True, "bg_color": HEADER_FILL, **border}
    _add_table(
        ws,
        HEADER_ROW,
        last,
        METRICS_TABLE,
        [{"header": c.header, "header_format": _header_format(formats, header, c.header)} for c in layout.columns],
        autofilter=True,
    )
    _write_footnotes(ws, formats, rows, last + 2)
    fields = [c.field for c in layout.columns]
    if "status" in fields:
        col = fields.index("status")
        ws.data_validation(
            FIRST_DATA_ROW,
            col,
            last,
            col,
            {
                "validate": "list",
                "source": list(plan_statuses(period)),
                "error_title": "Assessment of progress",
                "error_message": "Choose one of the listed statuses.",
            },
        )
    ws.freeze_panes(FIRST_DATA_ROW, 1)
    if layout.protect:
        # Only the narrative cells are unlocked. The status stays locked: it is computed from value,
        # plan and polarity (metrics.compute.status) and must not be typed by hand; the dropdown documents
        # and enforces the allowed values if the sheet is unprotected.
        ws.protect("", {"format_columns": True, "format_rows": True, "autofilter": True, "sort": True})
