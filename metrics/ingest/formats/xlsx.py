"""``xlsx``: an Excel workbook in place of the contract's CSV, the contract's column names in its
header row; cells become text exactly as ``metrics.ingest.formats.table`` describes, and then take
every check a CSV does, with problems shown at the workbook's row (as Excel numbers it) and column
(name and letter).

Without a mapping file, ``<extract>.xlsx`` is read when ``<extract>.csv`` is absent (its only sheet,
header on row 1). A mapping may name the sheet (``sheet = "Data"``) and the header row
(``header_row = 3``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from metrics.contracts import Extract
from metrics.core.results import Problem
from metrics.ingest.formats.table import DateText, Table, read_xlsx
from metrics.ingest.readers import Conversion, register, unknown_keys

OPTIONS = frozenset({"sheet", "header_row"})


def sheet_options(options: Mapping[str, Any], where: str = "") -> list[str]:
    """Problems with ``sheet`` (text) and ``header_row`` (a whole number from 1)."""
    prefix = f"{where}." if where else ""
    out = []
    sheet = options.get("sheet")
    if sheet is not None and (not isinstance(sheet, str) or not sheet):
        out.append(f'{prefix}sheet: must be the sheet\'s name as text, e.g. sheet = "Data"')
    row = options.get("header_row")
    if row is not None and (isinstance(row, bool) or not isinstance(row, int) or row < 1):
        out.append(f"{prefix}header_row: must be a whole number from 1 (the row Excel shows the header on)")
    return out


def check_options(extract: Extract, options: Mapping[str, Any]) -> list[str]:
    return unknown_keys(options, OPTIONS) + sheet_options(options)


def sheet_of(path: Path, name: str, options: Mapping[str, Any]) -> Table:
    return read_xlsx(path, name, options.get("sheet"), int(options.get("header_row", 1)))


def write_table(extract: Extract, table: Table, out: TextIO) -> Conversion:
    """The table as CSV, its header as delivered (the contract's header check then compares it)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.header)
    # A date cell at midnight is shown without its time; a date-and-time column wants it.
    stamps = {
        i for i, h in enumerate(table.header) if h in extract.column_names and extract.column(h).dtype == "TIMESTAMP"
    }
    lines = []
    for number, cells in table.rows:
        writer.writerow(
            [
                f"{c} 00:00" if i in stamps and isinstance(c, DateText) and len(c) == 10 else c
                for i, c in enumerate(cells)
            ]
        )
        lines.append(number)
    columns = {name: table.label(i) for i, name in enumerate(table.header) if name}
    return Conversion(table.problems, lines, columns, unit=table.unit, header_line=table.header_line)


@register("xlsx", check_options)
def read(
    extract: Extract, files: Sequence[Path], names: Sequence[str], options: Mapping[str, Any], out: TextIO
) -> Conversion:
    """A workbook holding the contract's own columns."""
    if len(files) != 1:
        return Conversion([Problem(None, None, "xlsx_files", f"the xlsx format reads one workbook, not {len(files)}")])
    return write_table(extract, sheet_of(files[0], names[0], options), out)


@register("_csv_and_xlsx")
def both(
    extract: Extract, files: Sequence[Path], names: Sequence[str], options: Mapping[str, Any], out: TextIO
) -> Conversion:
    """Both ``<extract>.csv`` and ``<extract>.xlsx`` delivered: which one is meant is not guessed."""
    return Conversion(
        [
            Problem(
                None,
                None,
                "two_deliveries",
                f"both {' and '.join(names)} are in the folder, so which one delivers {extract.name} is not "
                "clear: move the one that should not be loaded out of the folder",
            )
        ]
    )
