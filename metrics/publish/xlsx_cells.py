"""Writing cells safely in the workbooks we publish (NHSE return, scorecard workbook).

Text goes in only as strings, quote-prefixed when Excel could read it as a formula (formula
injection from a free-text field); numbers keep full precision with rounding in the format;
suppressed counts are written as ``*``.
"""

from __future__ import annotations

from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from metrics.compute.suppression import SUPPRESSED

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def needs_quote_prefix(text: str) -> bool:
    """True if Excel could evaluate ``text`` as a formula (leading spaces are ignored)."""
    return text.lstrip(" ").startswith(_FORMULA_STARTS)


class Formats:
    """xlsxwriter formats built once per distinct set of properties (the workbook caps their number)."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[tuple[str, Any], ...], Format] = {}

    def get(self, **props: Any) -> Format:
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self._workbook.add_format(dict(props))
        return self._cache[key]


def write_text(ws: Worksheet, row: int, col: int, text: str, formats: Formats, **props: Any) -> None:
    """The only way text reaches a cell: as a string, quote-prefixed if it looks like a formula."""
    if needs_quote_prefix(text):
        props["quote_prefix"] = True
    ws.write_string(row, col, text, formats.get(**props))


def figure_format(decimals: int) -> str:
    return "#,##0" if decimals <= 0 else "#,##0." + "0" * decimals


def write_number(
    ws: Worksheet, row: int, col: int, value: Any, formats: Formats, border: dict[str, Any], decimals: int | None
) -> None:
    """Full precision in the cell, rounding in the display format only; ``*`` for suppressed counts.

    ``decimals`` None means a count: whole numbers shown as such, fractional
    ones (expected events, standardised counts) to one decimal.
    """
    if value is None:
        ws.write_blank(row, col, None, formats.get(**border))
    elif value == SUPPRESSED:
        ws.write_string(row, col, SUPPRESSED, formats.get(align="right", **border))
    else:
        x = float(value)
        shown = decimals if decimals is not None else (0 if x.is_integer() else 1)
        ws.write_number(row, col, x, formats.get(num_format=figure_format(shown), **border))


SYNTHETIC_FILL = "#8A1538"  # NHS Dark Red, as the charts' synthetic-data banner


def mark_synthetic(workbook: xlsxwriter.Workbook, banner: str) -> None:
    """Say "synthetic demonstration data" on every sheet of a workbook from synthetic inputs ("" = real
    inputs: nothing is added): a text box at the top beside the data (cells are not moved, so the
    official return layout stays as the template has it), the printed page header, a red tab, and a
    custom document property a script can read. Call after every sheet is written."""
    if not banner:
        return
    header = banner.split(":", 1)[0].upper().replace("&", "&&")
    workbook.set_custom_property("Synthetic demonstration data", True)
    for ws in workbook.worksheets():
        ws.set_header(f'&C&"Arial,Bold"&12{header}')
        ws.set_tab_color(SYNTHETIC_FILL)
        last_col = ws.dim_colmax if ws.dim_colmax is not None else 0
        ws.insert_textbox(
            0,
            last_col + 1,
            banner,
            {
                "width": 420,
                "height": 64,
                "object_position": 3,  # does not move or size with cells
                "font": {"bold": True, "color": "white", "size": 11},
                "fill": {"color": SYNTHETIC_FILL},
                "line": {"color": SYNTHETIC_FILL},
                "align": {"vertical": "middle"},
                "name": "Synthetic demonstration data",
            },
        )
