"""A delivered table as text cells with the row numbers the user sees: a CSV file, or one sheet of an
``.xlsx`` workbook. Shared by the workbook reader (``xlsx``) and the column-mapping reader
(``mapped_csv``).

Excel cells are turned into text exactly, never by guessing (documented in docs/guide/own-extracts.md):

- a text cell is its text, as typed (``"2023-04-01"`` stays that text; the contract then checks it);
- a number is its shortest exact decimal form: ``65`` (also when stored as ``65.0``, which Excel does
  not tell apart), ``64.5``; the contract then refuses ``64.5`` in a whole-number column;
- a date cell is ``YYYY-MM-DD``, or ``YYYY-MM-DD HH:MM`` (``:SS`` if it has seconds) when it has a
  time of day; so a date in a whole-number or code column is refused by the contract's check;
- a TRUE/FALSE cell, an error cell (``#N/A``), a time-only or duration cell and a formula are refused,
  naming the cell: no contract column is a boolean, and a formula's cached value may be stale or
  absent (files written by tools that do not calculate), so the value must be pasted as a value;
- merged cells, a hidden sheet (or several sheets) where "its only sheet" is read, a header not on the
  expected row (row 1, or ``header_row``: a title above it is then skipped) and a value in a column
  with no header are refused, naming the sheet, row and column letter.

The sheet's ``<dimension>`` is ignored (some tools write it wrong, which would silently cut rows).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from metrics.core.results import Problem


class DateText(str):
    """The text of an Excel date cell (``YYYY-MM-DD``): a typed date, so a declared text date format
    (``DD/MM/YYYY``) does not apply to it."""


@dataclass
class Table:
    """A delivered table: the header as delivered, each data row with its source row number."""

    name: str  # the file as the user named it (and the sheet, for a workbook)
    header: list[str]
    rows: list[tuple[int, list[str]]]
    unit: str = "line"
    header_line: int = 1
    letters: list[str] = field(default_factory=list)  # Excel column letters, by header position
    problems: list[Problem] = field(default_factory=list)

    def label(self, i: int) -> str:
        """The delivered column at position ``i`` as the user finds it: ``AGE`` or ``AGE (H)``."""
        name = self.header[i] if i < len(self.header) else ""
        if not self.letters:
            return name
        return f"{name} ({self.letters[i]})" if name else f"column {self.letters[i]}"

    def problem(self, line: int | None, column: str | None, rule: str, reason: str) -> None:
        self.problems.append(Problem(line, column, rule, reason, self.unit))


def letter(column: int) -> str:
    """Excel's column letters of a 1-based column number (1 -> A, 27 -> AA)."""
    out = ""
    while column:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out


def read_csv(path: Path, name: str, delimiter: str = ",") -> Table:
    """A delimited text file, UTF-8 (a byte-order mark is allowed): header on line 1."""
    table = Table(name, [], [])
    try:
        text = path.read_bytes()
        decoded = codecs.decode(text.removeprefix(codecs.BOM_UTF8), "utf-8")
    except UnicodeDecodeError as exc:
        line = 1 + text[: exc.start].count(b"\n")
        table.problem(None, None, "encoding", f"{name} is not UTF-8 (line {line}): re-save it as CSV UTF-8")
        return table
    reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            table.problem(None, None, "empty_file", f"{name} is empty (no header, no rows)")
            return table
        table.header = header
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            table.rows.append((reader.line_num, cells))
    except csv.Error as exc:
        table.problem(reader.line_num, None, "csv_unreadable", f"{name}: line {reader.line_num} cannot be read ({exc})")
    return table


def read_xlsx(path: Path, name: str, sheet: str | None = None, header_row: int = 1) -> Table:
    """One sheet of a workbook: the named sheet, or the only sheet; header on ``header_row``."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet._reader import WorkSheetParser

    table = Table(name, [], [], unit="row", header_line=header_row)
    # Opened as a file object: the private copy has no ``.xlsx`` name for openpyxl to check.
    fh = open(path, "rb")  # noqa: SIM115  (closed with the workbook below)
    try:
        book = openpyxl.load_workbook(fh, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        fh.close()
        table.problem(
            None, None, "xlsx_unreadable", f"{name} cannot be read as an Excel workbook: {exc}; save it as .xlsx"
        )
        return table
    try:
        sheets = {ws.title: ws for ws in book.worksheets}
        states = {title: getattr(ws, "sheet_state", "visible") for title, ws in sheets.items()}
        listed = ", ".join(f"{t!r}" + ("" if s == "visible" else f" ({s})") for t, s in states.items())
        if sheet is None:
            if len(sheets) != 1:
                table.problem(
                    None,
                    None,
                    "xlsx_sheet",
                    f"{name} has {len(sheets)} sheets ({listed}): keep only the delivery's sheet, or name it "
                    'in a mapping file (sheet = "...")',
                )
                return table
            sheet = next(iter(sheets))
        if sheet not in sheets:
            table.problem(None, None, "xlsx_sheet", f"{name} has no sheet {sheet!r}; its sheets are {listed}")
            return table
        if states[sheet] != "visible":
            table.problem(
                None,
                None,
                "xlsx_sheet",
                f"sheet {sheet!r} of {name} is {states[sheet]}: unhide it (Format > Hide & Unhide > Unhide Sheet) "
                "to confirm it is the delivery, and save",
            )
            return table
        ws = sheets[sheet]
        table.name = f"{name} sheet {sheet!r}"
        with ws._get_source() as src:  # the sheet's XML, parsed as openpyxl's read-only mode does
            parser = WorkSheetParser(
                src,
                ws._shared_strings,
                data_only=False,
                epoch=book.epoch,
                date_formats=book._date_formats,
                timedelta_formats=book._timedelta_formats,
            )
            try:
                _cells(table, parser.parse(), header_row)
            except (SyntaxError, ValueError, KeyError, TypeError, zipfile.BadZipFile, OSError) as exc:
                # SyntaxError: xml.etree's ParseError, a damaged sheet.
                table.problems = [
                    Problem(
                        None, None, "xlsx_unreadable", f"{table.name} cannot be read ({exc}); save it again as .xlsx"
                    )
                ]
                return table
            merged = [r.ref for r in parser.merged_cells.mergeCell] if parser.merged_cells else []
    finally:
        book.close()
        fh.close()
    if merged:
        where = "the header" if any(_rows_of(r)[0] <= header_row <= _rows_of(r)[1] for r in merged) else "the sheet"
        table.problem(
            header_row if where == "the header" else None,
            None,
            "xlsx_merged_cells",
            f"{table.name} has merged cells in {where} ({', '.join(merged[:5])}{' ...' if len(merged) > 5 else ''}): "
            "a merged cell holds its value once and leaves the others empty; unmerge them "
            "(Home > Merge & Center > Unmerge Cells) and put each column's own name or value in its cell",
        )
    return table


def _rows_of(ref: str) -> tuple[int, int]:
    from openpyxl.utils.cell import range_boundaries

    _, low, _, high = range_boundaries(ref)
    return int(low or 0), int(high or 0)


def _cells(table: Table, rows: Iterator[tuple[int, list[dict[str, object]]]], header_row: int) -> None:
    width = widest = 0
    seen_header = False
    unnamed: list[Problem] = []  # values in columns without a header
    for number, cells in rows:
        texts: dict[int, str] = {}
        for cell in cells:
            col = int(str(cell["column"]))
            text = _text(table, number, col, cell)
            if text:
                texts[col] = text
        if number < header_row:  # a title above a declared header row
            continue
        if number == header_row:
            seen_header = True
            width = max(texts, default=0)
            table.header = [texts.get(c, "") for c in range(1, width + 1)]
            table.letters = [letter(c) for c in range(1, width + 1)]
            for c in range(1, width + 1):
                if c not in texts:
                    table.problem(
                        number,
                        None,
                        "xlsx_header",
                        f"{table.name}: the header cell {letter(c)}{number} is empty; name every column",
                    )
            continue
        if not texts:
            continue
        widest = max(widest, max(texts))
        beyond = [c for c in texts if c > width]
        if beyond:
            c = min(beyond)
            unnamed.append(
                Problem(
                    number,
                    f"column {letter(c)}",
                    "xlsx_no_header",
                    f"{table.name}: cell {letter(c)}{number} has a value but column {letter(c)} has no header; "
                    "name the column or clear it",
                    table.unit,
                )
            )
        table.rows.append((number, [texts.get(c, "") for c in range(1, width + 1)]))
    if seen_header and sum(1 for h in table.header if h) == 1 and widest > 1:
        table.problem(
            header_row,
            None,
            "xlsx_header_row",
            f"{table.name}: row {header_row}, where the header is expected, holds one cell only (a title?) while "
            f"rows below reach column {letter(widest)}: delete the rows above the header so that it is on "
            f"row {header_row}, "
            "or give its row in a mapping file (header_row = ...)",
        )
    elif seen_header:
        table.problems.extend(unnamed)
    if not seen_header:
        table.problem(
            None,
            None,
            "xlsx_header_row",
            f"{table.name}: row {header_row}, where the header is expected, is empty"
            + (
                f"; the first row with values is row {table.rows[0][0]}: delete the rows above the header, or "
                "give its row in a mapping file (header_row = ...)"
                if table.rows
                else " and so is the sheet"
            ),
        )


def _text(table: Table, row: int, col: int, cell: dict[str, object]) -> str:
    """A cell's one text form (see the module docstring); a refused cell is a problem, and ``""``."""
    value, kind = cell["value"], cell["data_type"]
    ref = f"{letter(col)}{row}"
    if value is None:
        return ""

    def refuse(rule: str, what: str, fix: str) -> str:
        column = table.label(col - 1) if table.header else f"column {letter(col)}"
        table.problem(row, column, rule, f"cell {ref} is {what}: {fix}")
        return ""

    if kind == "f":
        return refuse(
            "xlsx_formula",
            f"a formula ({str(value)[:40]})",
            "its saved result may be out of date or missing; copy the column and Paste Special > Values",
        )
    if kind == "e":
        return refuse("xlsx_error", f"an error value ({value})", "correct the value")
    if kind == "b" or isinstance(value, bool):
        return refuse("xlsx_boolean", f"TRUE/FALSE ({value})", "no column is a yes/no value; type the code as text")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return DateText(value.strftime("%Y-%m-%d"))
        form = "%Y-%m-%d %H:%M:%S" if value.second or value.microsecond else "%Y-%m-%d %H:%M"
        return DateText(value.strftime(form))
    if isinstance(value, dt.date):
        return DateText(value.isoformat())
    if isinstance(value, dt.time | dt.timedelta):
        return refuse("xlsx_time", f"a time of day or duration ({value})", "give a date, or a date and time")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    return str(value)
