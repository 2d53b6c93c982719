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
