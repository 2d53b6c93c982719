"""ONS mid-year population estimates read as delivered: the MYE2 workbook or the long time series.

Two layouts (``layout`` option; default by the file's extension):

- ``mye2`` (``.xlsx``): the published workbook, one sheet per sex (``MYE2 - Persons``, ``MYE2 -
  Males``, ``MYE2 - Females``), title rows, then a header row ``Code, Name, Geography, All ages, 0
  ... 89, 90+``. The ``population`` extract is read from the Males and Females sheets, the
  ``child_population`` extract (persons 0-17) from the Persons sheet. ``All ages`` must equal the
  sum of the single years.
- ``long`` (``.csv``, or an ``.xlsx`` sheet named by ``sheet``): the detailed time series, one row
  per area, sex and single year of age, one ``population_YYYY`` column per mid-year.

The quarter's mid-year is chosen by rule (``ons_mye.toml`` ``[mid_year]``: the year before the
financial year starts), or named by the mapping's ``mid_year``. A workbook whose title names
another mid-year, or a time series without that year's column, is refused: a rate is never worked
from another year's population without saying so.

Only HWB rows are kept (codes ``E06``/``E08``/``E09``/``E10``); every other row (UK, countries,
regions, districts) is ignored as declared. An HWB code is checked against ``hwb_codes.csv`` for
the quarter: unknown, retired before it without a successor, or not yet in use (other than as a
pure recode's new code) is a problem at the row; a pure recode (Barnsley E08000016 -> E08000038 in
April 2025) loads and is stored under the current code. Areas to be summed from an older edition's
codes are not declared in ``hwb_codes.csv``, so an edition on an older geography is refused.

Cells are strict: a count is a number that is whole (Excel stores every number as a double, so
``65`` and ``65.0`` are the same cell; ``65.5``, text such as ``"65"`` or ``1,200``, and an empty
cell are refused); a CSV count is written plainly (``65``, not ``65.0`` or ``+65``). Every problem
names the file, the sheet, the row as Excel numbers it (or the CSV line) and the column (its Excel
letter and header).
"""

from __future__ import annotations

import csv
import functools
import io
import re
import tomllib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException

from metrics.contracts import Extract
from metrics.core import reference
from metrics.core.periods import Period
from metrics.core.results import Problem
from metrics.ingest.readers import Conversion, register_by_period, unknown_keys

DECLARATIONS = Path(__file__).with_suffix(".toml")
FORMAT = "ons_mye"
OPTIONS = ("layout", "mid_year", "sheets", "sheet")
TOP = 90  # the contract's last age column is 90+
CHILD_TOP = 17
_GSS = re.compile(r"^[A-Z][0-9]{8}$")
_WHOLE = re.compile(r"^(0|[1-9][0-9]*)$")
_MID_YEAR = re.compile(r"\bmid[- ]?(\d{4})\b", re.IGNORECASE)
# Problems that leave nothing to convert (the contract's checks are then not run).
STRUCTURAL = frozenset({"ons_sheet", "ons_header", "ons_merged_header", "ons_mid_year"})
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


@functools.cache
def rules() -> dict[str, Any]:
    """The declared facts the reader relies on (``ons_mye.toml``)."""
    with open(DECLARATIONS, "rb") as fh:
        return tomllib.load(fh)


def mid_year_for(period: Period) -> int:
    """The mid-year estimate a quarter uses by the declared rule (``[mid_year] offset``)."""
    return period.fy_start - int(rules()["mid_year"]["offset"])


@dataclass
class _Area:
    """One area's counts for one sex (``M``, ``F``, or ``P`` for persons) as read."""

    code: str
    name: str
    geography: str
    sex: str
    line: int  # row (or CSV line) of the record, or of its first source row
    sheet: str | None
    ages: list[int]  # 0 ... 89, 90+
    all_ages: int | None = None


@dataclass
class _Read:
    areas: list[_Area] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # contract column -> delivered column
    unit: str = "row"
    header_line: int | None = None


def check_options(extract: Extract, options: Mapping[str, Any]) -> list[str]:
    """The options of ``ons_mye`` as the mapping loader checks them before anything loads (the
    layout against the file's extension is checked when the file is read)."""
    found = (
        []
        if extract.name in ("population", "child_population")
        else [f"format {FORMAT} reads population and child_population, not {extract.name}"]
    )
    found += unknown_keys(options, frozenset(OPTIONS))
    if "layout" in options and options["layout"] not in ("mye2", "long"):
        found.append("layout: use mye2 (the MYE2 workbook) or long (the time series)")
    mid_year = options.get("mid_year")
    if mid_year is not None and (isinstance(mid_year, bool) or not isinstance(mid_year, int)):
        found.append("mid_year: a year such as 2022")
    sheets = options.get("sheets", {})
    if not isinstance(sheets, Mapping) or set(sheets) - {"persons", "males", "females"}:
        found.append("sheets: a table with persons, males and/or females (the sheet names)")
    if "sheet" in options and not isinstance(options["sheet"], str):
        found.append("sheet: the name of the long layout's sheet, as text")
    return found


@register_by_period(FORMAT, check_options)  # the mid-year and the area codes depend on the period
def convert(
    extract: Extract,
    files: Sequence[Path],
    names: Sequence[str],
    options: Mapping[str, Any],
    out: TextIO,
    period: Period,
) -> Conversion:
    """The contract CSV of ``extract`` (``population`` or ``child_population``) for ``period``."""
    setup = _setup(extract, files, names, options)
    if isinstance(setup, Problem):
        return Conversion([setup], unit="row")
    layout, mid_year = setup
    if mid_year is None:
        mid_year = mid_year_for(period)
    name = names[0]
    if layout == "mye2":
        got = _read_mye2(extract, files[0], name, options, mid_year)
    else:
        got = _read_long(extract, files[0], name, options, mid_year)
    if any(p.line is None or p.rule in STRUCTURAL for p in got.problems):
        return Conversion(got.problems, unit=got.unit, header_line=got.header_line, halted=True)
    for area in got.areas:
        why = _area_problem(area.code, period)
        if why:
            column = got.columns.get("code", "code")
            got.problems.append(_at(area.line, area.sheet, column, "ons_area_code", why, got.unit))
    if not got.areas:  # every HWB row had a problem, or there are none
        empty = Problem(None, None, "ons_no_areas", f"{name}: {_no_areas(extract, layout)}")
        return Conversion(got.problems or [empty], unit=got.unit, header_line=got.header_line, halted=True)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(extract.column_names)
    lines: list[int] = []
    sheets: list[str] = []
    for area in got.areas:
        for row in _rows(extract, area, mid_year):
            writer.writerow(row)
            lines.append(area.line)
            sheets.append(area.sheet or "")
    return Conversion(
        sorted(got.problems, key=lambda p: (p.line or 0, p.column or "")),
        lines,
        got.columns,
        unit=got.unit,
        header_line=got.header_line,
        sheets=sheets if any(sheets) else None,
    )


def _setup(
    extract: Extract, files: Sequence[Path], names: Sequence[str], options: Mapping[str, Any]
) -> tuple[str, int | None] | Problem:
    """The layout and the mapping's ``mid_year`` (None: by rule), or why the delivery cannot be read."""
    if extract.name not in ("population", "child_population"):
        return Problem(
            None, None, "ons_extract", f"the {FORMAT} format reads population and child_population, not {extract.name}"
        )
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        return Problem(
            None, None, "ons_options", f"unknown {FORMAT} option(s) {', '.join(unknown)}: use {', '.join(OPTIONS)}"
        )
    if len(files) != 1:
        return Problem(None, None, "ons_files", f"the {FORMAT} format reads one file, not {len(files)}")
    suffix = Path(names[0]).suffix.lower()
    layout = options.get("layout", {".csv": "long", ".xlsx": "mye2"}.get(suffix))
    if layout not in ("mye2", "long"):
        return Problem(
            None,
            None,
            "ons_layout",
            f"{names[0]}: layout {layout!r} is not mye2 or long; a .xlsx is read as mye2 and a .csv as long "
            "unless the mapping sets layout",
        )
    if suffix not in (".csv", ".xlsx") or (layout == "mye2" and suffix != ".xlsx"):
        return Problem(None, None, "ons_layout", f"{names[0]}: the {layout} layout is read from .xlsx or .csv")
    mid_year = options.get("mid_year")
    if mid_year is not None and (isinstance(mid_year, bool) or not isinstance(mid_year, int)):
        return Problem(None, None, "ons_options", f"mid_year must be a year such as 2022, not {mid_year!r}")
    sheets = options.get("sheets", {})
    if not isinstance(sheets, Mapping) or set(sheets) - {"persons", "males", "females"}:
        return Problem(None, None, "ons_options", "sheets must be a table with persons, males and/or females")
    return str(layout), mid_year


def _no_areas(extract: Extract, layout: str) -> str:
    where = "the Males and Females sheets" if extract.name == "population" else "the Persons sheet"
    if layout == "long":
        where = "the file"
    prefixes = ", ".join(rules()["areas"]["hwb_prefixes"])
    return f"no HWB rows (codes {prefixes}) in {where}: nothing to load as {extract.name} from it"


# ------------------------------------------------------------------------------------------------
# The area codes for the period


def _area_problem(code: str, period: Period) -> str | None:
    """Why an HWB code cannot be this quarter's area (``hwb_codes.csv``), or None."""
    codes = {c.code: c for c in reference.hwb_code_list()}
    found = codes.get(code)
    if found is None:
        return (
            f"{code} is not an HWB code in metrics/reference/hwb_codes.csv: if it is a council abolished in a "
            "reorganisation (e.g. Northamptonshire E10000021, 1 April 2021), the edition is on an older geography "
            f"than {period.label}, and which areas it must be summed into is not declared there; deliver the "
            "edition on the current geography"
        )
    if found.valid_to is not None and found.valid_to < period.start:
        if found.replaced_by:
            return None  # a pure recode: loaded and stored under the current code
        return (
            f"{code} ({found.name}) was retired on {found.valid_to.isoformat()}, before {period.label}, and "
            "hwb_codes.csv gives no code replacing it: deliver the edition on the geography of the quarter"
        )
    if found.valid_from is not None and found.valid_from > period.end:
        successor_of = [c for c in codes.values() if c.replaced_by == code]
        if successor_of:
            return None  # the new code of a pure recode: the same area
        return (
            f"{code} ({found.name}) is in use from {found.valid_from.isoformat()}, after {period.label}: the "
            "edition is on a later geography than the quarter; deliver the edition its areas existed in"
        )
    return None


# ------------------------------------------------------------------------------------------------
# Cells


def _count(value: object) -> int | str:
    """A count from a cell, or why it is not one."""
    if isinstance(value, bool):
        return f"{value} is a TRUE/FALSE cell, not a count"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return f"{value!r} is not a whole number: a count of people has no fraction"
    if value is None or (isinstance(value, str) and not value.strip()):
        return "empty: every age needs a count (0 if none)"
    if isinstance(value, str):
        return f"{value!r} is text, not a number: enter it as a number"
    return f"{value!r} is not a number"


def _text_count(value: str) -> int | str:
    if _WHOLE.match(value):
        return int(value)
    if not value.strip():
        return "empty: every age needs a count (0 if none)"
    return f"{value!r} is not a whole number written plainly (e.g. 1200, not 1,200, 1200.0 or +1200)"


def _at(line: int | None, sheet: str | None, column: str | None, rule: str, reason: str, unit: str) -> Problem:
    where = f"{sheet}!{column}" if sheet and column else (sheet or column)
    return Problem(line, where, rule, reason, unit)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheet_rows(path: Path, sheet: str) -> tuple[list[tuple[object, ...]], list[str]] | str:
    """Every row of ``sheet`` (Excel row ``i + 1`` is ``rows[i]``) and its merged ranges, or why not."""
    with open(path, "rb") as fh:  # a file object: the private copy's path has no .xlsx extension
        wb = _open(fh)
        if isinstance(wb, str):
            return wb
        try:
            if sheet not in wb.sheetnames:
                return f"has no sheet {sheet!r} (its sheets: {', '.join(wb.sheetnames)})"
            ws = wb[sheet]
            rows = list(ws.iter_rows(min_row=1, values_only=True))
            merged = _merged(wb, ws)
        finally:
            wb.close()
    return rows, merged


def _open(fh: BinaryIO) -> Any:
    """The workbook (read-only, cached values), or why it cannot be opened."""
    try:
        return load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, InvalidFileException) as exc:
        return f"cannot be opened as an Excel workbook ({type(exc).__name__}: {exc}); save it as .xlsx"


def _merged(wb: Any, ws: Any) -> list[str]:
    """The sheet's merged ranges. openpyxl's read-only mode does not read them, so they are found in
    the sheet's XML part (``<mergeCell ref=...>``) by pattern, without parsing the XML."""
    part = getattr(ws, "_worksheet_path", None)
    archive = getattr(wb, "_archive", None)
    if part is None or archive is None:  # pragma: no cover - an openpyxl without these internals
        raise RuntimeError("this openpyxl version does not expose the sheet's XML part; pin openpyxl 3.1")
    with archive.open(part) as fh:
        return [m.decode() for m in _MERGE.findall(fh.read())]


def _merged_in(merged: Sequence[str], line: int) -> list[str]:
    out = []
    for ref in merged:
        _, top, _, bottom = range_boundaries(ref)
        if top is not None and bottom is not None and top <= line <= bottom:
            out.append(ref)
    return out


def _header_label(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        return str(int(value))
    return _text(value)


# ------------------------------------------------------------------------------------------------
# The MYE2 workbook


def _read_mye2(extract: Extract, path: Path, name: str, options: Mapping[str, Any], mid_year: int) -> _Read:
    decl = rules()["mye2"]
    sheets = {**decl["sheets"], **options.get("sheets", {})}
    wanted = ["males", "females"] if extract.name == "population" else ["persons"]
    got = _Read(unit="row")
    for key in wanted:
        sheet = str(sheets[key])
        sex = {"males": "M", "females": "F", "persons": "P"}[key]
        found = _sheet_rows(path, sheet)
        if isinstance(found, str):
            got.problems.append(
                Problem(
                    None,
                    None,
                    "ons_sheet",
                    f"{name} {found}: the MYE2 workbook has {', '.join(repr(s) for s in sheets.values())}; "
                    "name the sheets in the mapping (sheets = {{ males = ... }}) if this edition calls them otherwise",
                )
            )
            continue
        rows, merged = found
        _mye2_sheet(got, name, sheet, sex, rows, merged, mid_year, decl)
    return got


def _mye2_sheet(
    got: _Read,
    name: str,
    sheet: str,
    sex: str,
    rows: list[tuple[object, ...]],
    merged: list[str],
    mid_year: int,
    decl: Mapping[str, Any],
) -> None:
    header_at = next((i for i, r in enumerate(rows, start=1) if r and _text(r[0]) == decl["code"]), None)
    if header_at is None:
        got.problems.append(
            Problem(
                None,
                None,
                "ons_header",
                f"{name}, sheet {sheet!r}: no header row (a row whose column A is {decl['code']!r}) - is it the MYE2 "
                "sheet of the ONS workbook?",
            )
        )
        return
    got.header_line = header_at
    spans = _merged_in(merged, header_at)
    if spans:
        got.problems.append(
            Problem(
                header_at,
                f"{sheet}!{spans[0].split(':')[0]}",
                "ons_merged_header",
                f"{name}: merged header cells {', '.join(spans)} on sheet {sheet!r}: a merged cell hides which "
                "column is which; unmerge them so each column has its own header",
                "row",
            )
        )
        return
    title = " ".join(_text(c) for r in rows[: header_at - 1] for c in r if c is not None)
    edition = [int(y) for y in _MID_YEAR.findall(title)]
    if not edition:
        got.problems.append(
            Problem(
                1,
                f"{sheet}!A",
                "ons_mid_year",
                f"{name}: the title rows above the header on sheet {sheet!r} do not say which mid-year the "
                f"estimates are for (e.g. 'mid-{mid_year}'): set mid_year in the mapping to the edition's year",
                "row",
            )
        )
        return
    if mid_year not in edition:
        got.problems.append(
            Problem(
                1,
                f"{sheet}!A",
                "ons_mid_year",
                f"{name}: sheet {sheet!r} holds the mid-{edition[0]} estimates, but the quarter uses mid-{mid_year}: "
                f"deliver the mid-{mid_year} edition, or set mid_year = {edition[0]} in the mapping to use this one",
                "row",
            )
        )
        return
    header = [_header_label(c) for c in rows[header_at - 1]]
    where: dict[str, int] = {}
    for i, label in enumerate(header):
        if label and label in where:
            got.problems.append(
                Problem(
                    header_at,
                    f"{sheet}!{get_column_letter(i + 1)}",
                    "ons_header",
                    f"{name}: column {label!r} appears twice on sheet {sheet!r} "
                    f"({get_column_letter(where[label] + 1)} and {get_column_letter(i + 1)})",
                    "row",
                )
            )
        where.setdefault(label, i)
    geography = next((g for g in decl["geography"] if g in where), None)
    ages = [str(a) for a in range(TOP)] + [decl["top_age"]]
    needed = [decl["code"], decl["name"], decl["all_ages"], *ages]
    missing = [c for c in needed if c not in where] + ([] if geography else [" or ".join(decl["geography"])])
    if missing:
        got.problems.append(
            Problem(
                header_at,
                sheet,
                "ons_header",
                f"{name}: the header on sheet {sheet!r} has no column {', '.join(repr(m) for m in missing)}; the MYE2 "
                f"header is {decl['code']}, {decl['name']}, Geography, {decl['all_ages']}, 0 ... 89, {decl['top_age']}",
                "row",
            )
        )
        return
    assert geography is not None

    def letter(label: str) -> str:
        return f"{get_column_letter(where[label] + 1)} ({label})"

    if not got.columns:
        got.columns = {
            "code": letter(decl["code"]),
            "name": letter(decl["name"]),
            "geography": letter(geography),
            "sex": "(the sheet)",
            "mid_year": "(the title rows)",
            "all_ages": letter(decl["all_ages"]),
            **{a: letter(a) for a in [*ages[:-1]]},
            "90+": letter(decl["top_age"]),
            "age": "(the age columns' header)",
            "population": f"{get_column_letter(where['0'] + 1)}:{get_column_letter(where[str(CHILD_TOP)] + 1)} "
            f"(ages 0-{CHILD_TOP})",
        }
    prefixes = tuple(rules()["areas"]["hwb_prefixes"])
    for line, row in enumerate(rows[header_at:], start=header_at + 1):
        cells = list(row) + [None] * (len(header) - len(row))
        code = _text(cells[where[decl["code"]]])
        rest = [c for i, c in enumerate(cells) if i != where[decl["code"]] and _text(c)]
        if not _GSS.match(code):
            if rest and code:
                got.problems.append(
                    _at(line, sheet, letter(decl["code"]), "ons_area_code", f"{code!r} is not an ONS area code", "row")
                )
            elif rest:
                got.problems.append(
                    _at(line, sheet, letter(decl["code"]), "ons_area_code", "a row with figures but no code", "row")
                )
            continue  # a blank row or a footnote
        if not code.startswith(prefixes):
            continue  # UK, country, region, district: not an HWB (declared in ons_mye.toml [areas])
        counts: list[int] = []
        bad = False
        for label in [*ages, decl["all_ages"]]:
            value = _count(cells[where[label]])
            if isinstance(value, str):
                got.problems.append(_at(line, sheet, letter(label), "ons_count", value, "row"))
                bad = True
            elif value < 0:
                got.problems.append(_at(line, sheet, letter(label), "ons_count", f"{value} is below zero", "row"))
                bad = True
            else:
                counts.append(value)
        if bad:
            continue
        *by_age, total = counts
        if total != sum(by_age):
            got.problems.append(
                _at(
                    line,
                    sheet,
                    letter(decl["all_ages"]),
                    "ons_all_ages",
                    f"All ages is {total}, but the single years 0 ... 89 and 90+ sum to {sum(by_age)} "
                    f"(difference {total - sum(by_age):+d}): the row's figures do not add up",
                    "row",
                )
            )
            continue
        got.areas.append(
            _Area(
                code,
                _text(cells[where[decl["name"]]]),
                _text(cells[where[geography]]),
                sex,
                line,
                sheet,
                by_age,
                total,
            )
        )


# ------------------------------------------------------------------------------------------------
# The long time series


def _read_long(extract: Extract, path: Path, name: str, options: Mapping[str, Any], mid_year: int) -> _Read:
    decl = rules()["long"]
    sheet: str | None = None
    if Path(name).suffix.lower() == ".xlsx":
        got = _Read(unit="row")
        sheet = options.get("sheet")
        if not isinstance(sheet, str):
            with open(path, "rb") as fh:
                wb = _open(fh)
                if isinstance(wb, str):
                    got.problems.append(Problem(None, None, "ons_sheet", f"{name} {wb}"))
                    return got
                names = list(wb.sheetnames)
                wb.close()
            if len(names) != 1:
                got.problems.append(
                    Problem(
                        None,
                        None,
                        "ons_sheet",
                        f"{name} has {len(names)} sheets ({', '.join(names)}): name the one to read with sheet = ...",
                    )
                )
                return got
            sheet = names[0]
        found = _sheet_rows(path, sheet)
        if isinstance(found, str):
            got.problems.append(Problem(None, None, "ons_sheet", f"{name} {found}"))
            return got
        rows, merged = found
    else:
        got = _Read(unit="line")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            got.problems.append(Problem(None, None, "encoding", f"{name} is not UTF-8 text: re-save it as CSV UTF-8"))
            return got
        try:
            rows = [tuple(r) for r in csv.reader(io.StringIO(text, newline=""), strict=True)]
        except csv.Error as exc:
            got.problems.append(Problem(None, None, "csv_unreadable", f"{name} cannot be read as CSV ({exc})"))
            return got
        merged = []
    _long_rows(extract, got, name, sheet, rows, merged, mid_year, decl)
    return got


def _long_rows(
    extract: Extract,
    got: _Read,
    name: str,
    sheet: str | None,
    rows: list[tuple[object, ...]],
    merged: list[str],
    mid_year: int,
    decl: Mapping[str, Any],
) -> None:
    unit = got.unit
    in_sheet = f" on sheet {sheet!r}" if sheet else ""
    header_at = next(
        (
            i
            for i, r in enumerate(rows, start=1)
            if decl["sex"] in [_text(c) for c in r] and decl["age"] in [_text(c) for c in r]
        ),
        None,
    )
    if header_at is None:
        got.problems.append(
            Problem(
                None,
                None,
                "ons_header",
                f"{name}: no header row{in_sheet} with {decl['sex']!r} and {decl['age']!r} columns - is it the ONS "
                "detailed time series (ladcode, laname, sex, age, population_YYYY)?",
            )
        )
        return
    got.header_line = header_at
    spans = _merged_in(merged, header_at)
    if spans:
        got.problems.append(
            Problem(
                header_at,
                f"{sheet}!{spans[0].split(':')[0]}",
                "ons_merged_header",
                f"{name}: merged header cells {', '.join(spans)}{in_sheet}: unmerge them so each column has its "
                "own header",
                unit,
            )
        )
        return
    header = [_text(c) for c in rows[header_at - 1]]
    code_at = next((i for i, h in enumerate(header) if re.match(decl["code"], h)), None)
    name_at = next((i for i, h in enumerate(header) if re.match(decl["name"], h)), None)
    years = {int(m.group(1)): i for i, h in enumerate(header) if (m := re.match(decl["population"], h))}
    missing = [
        what
        for what, at in (("ladcode", code_at), ("laname", name_at), ("a population_YYYY", years or None))
        if at is None
    ]
    if missing:
        got.problems.append(
            Problem(
                header_at,
                sheet,
                "ons_header",
                f"{name}: the header{in_sheet} has no {', '.join(missing)} column",
                unit,
            )
        )
        return
    if mid_year not in years:
        held = f"{min(years)}-{max(years)}" if len(years) > 1 else str(min(years))
        got.problems.append(
            Problem(
                header_at,
                sheet,
                "ons_mid_year",
                f"{name}: no population_{mid_year} column (it holds mid-{held}), and the quarter uses mid-{mid_year}: "
                f"deliver an edition with mid-{mid_year}, or set mid_year in the mapping to a year it holds",
                unit,
            )
        )
        return
    assert code_at is not None and name_at is not None
    sex_at, age_at, value_at = header.index(decl["sex"]), header.index(decl["age"]), years[mid_year]

    def label(i: int) -> str:
        return f"{get_column_letter(i + 1)} ({header[i]})" if sheet else header[i]

    got.columns = {
        "code": label(code_at),
        "name": label(name_at),
        "geography": "(from the code)",
        "sex": label(sex_at),
        "mid_year": label(value_at),
        "all_ages": label(value_at),
        **{str(a): label(value_at) for a in range(TOP)},
        "90+": label(value_at),
        "age": label(age_at),
        "population": label(value_at),
    }
    sexes = {str(v): k for k, v in decl["sex_codes"].items()}
    top = int(decl["top_age"])
    prefixes = tuple(rules()["areas"]["hwb_prefixes"])
    geographies = rules()["areas"]["geography"]
    found: dict[tuple[str, str], _Area] = {}
    seen: dict[tuple[str, str, int], int] = {}
    broken: set[str] = set()  # areas with a refused cell: already reported, left out without more
    for line, row in enumerate(rows[header_at:], start=header_at + 1):
        cells = list(row) + [None] * (len(header) - len(row))
        code = _text(cells[code_at])
        if not code and not any(_text(c) for c in cells):
            continue
        if not _GSS.match(code):
            got.problems.append(
                _at(line, sheet, label(code_at), "ons_area_code", f"{code!r} is not an ONS area code", unit)
            )
            continue
        if not code.startswith(prefixes):
            continue  # districts, Wales, Scotland, Northern Ireland: not an HWB (ons_mye.toml [areas])
        sex = sexes.get(_text(cells[sex_at]))
        if sex is None:
            got.problems.append(
                _at(
                    line,
                    sheet,
                    label(sex_at),
                    "ons_sex",
                    f"sex {_text(cells[sex_at])!r} is not one of {', '.join(sorted(sexes))} "
                    f"({', '.join(f'{v} = {k}' for k, v in decl['sex_codes'].items())})",
                    unit,
                )
            )
            continue
        age = _text_count(_text(cells[age_at])) if sheet is None else _count(cells[age_at])
        if isinstance(age, str) or not 0 <= age <= top:
            why = age if isinstance(age, str) else f"age {age} is outside 0-{top} ({top} = {top} and over)"
            got.problems.append(_at(line, sheet, label(age_at), "ons_age", why, unit))
            broken.add(code)
            continue
        value = _text_count(_text(cells[value_at])) if sheet is None else _count(cells[value_at])
        if isinstance(value, int) and value < 0:
            value = f"{value} is below zero"
        if isinstance(value, str):
            got.problems.append(_at(line, sheet, label(value_at), "ons_count", value, unit))
            broken.add(code)
            continue
        key = (code, sex, age)
        if key in seen:
            got.problems.append(
                _at(
                    line,
                    sheet,
                    label(age_at),
                    "ons_duplicate",
                    f"{code} sex {sex} age {age} is also on {unit} {seen[key]}: one row per area, sex and age",
                    unit,
                )
            )
            continue
        seen[key] = line
        area = found.setdefault(
            (code, sex),
            _Area(code, _text(cells[name_at]), geographies.get(code[:3], ""), sex, line, sheet, [-1] * (TOP + 1)),
        )
        area.ages[min(age, TOP)] = value
    for area in found.values():
        gaps = [str(a) for a, v in enumerate(area.ages) if v < 0]
        if gaps and area.code not in broken:
            got.problems.append(
                _at(
                    area.line,
                    sheet,
                    label(age_at),
                    "ons_ages_missing",
                    f"{area.code} sex {area.sex}: no row for age {', '.join(gaps)}: every age 0-{top} is needed",
                    unit,
                )
            )
    complete = [a for a in found.values() if min(a.ages) >= 0 and a.code not in broken]
    if extract.name == "child_population":
        complete = _persons(complete, got, sheet, label(sex_at), unit)
    got.areas = complete


def _persons(areas: list[_Area], got: _Read, sheet: str | None, column: str, unit: str) -> list[_Area]:
    """Persons = males + females, per area (the long layout has no persons rows)."""
    by_code: dict[str, dict[str, _Area]] = {}
    for a in areas:
        by_code.setdefault(a.code, {})[a.sex] = a
    out = []
    for code, pair in by_code.items():
        if set(pair) != {"M", "F"}:
            only = next(iter(pair.values()))
            got.problems.append(
                _at(
                    only.line,
                    sheet,
                    column,
                    "ons_sex",
                    f"{code} has rows for sex {only.sex} only: persons need both",
                    unit,
                )
            )
            continue
        m, f = pair["M"], pair["F"]
        out.append(
            _Area(
                code,
                m.name,
                m.geography,
                "P",
                min(m.line, f.line),
                sheet,
                [x + y for x, y in zip(m.ages, f.ages, strict=True)],
            )
        )
    return out


# ------------------------------------------------------------------------------------------------
# The contract rows


def _rows(extract: Extract, area: _Area, mid_year: int) -> list[list[object]]:
    if extract.name == "population":
        total = area.all_ages if area.all_ages is not None else sum(area.ages)
        return [[area.code, area.name, area.geography, area.sex, mid_year, total, *area.ages]]
    return [[area.code, area.name, mid_year, age, area.ages[age]] for age in range(CHILD_TOP + 1)]
