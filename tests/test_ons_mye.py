"""The ONS mid-year estimates read as published (``ons_mye``): the MYE2 workbook and the long time
series, written by the synthetic generator from the shipped demo's population records, load exactly
the rows of the native population.csv / child_population.csv (real xlsx files, real DuckDB, real
GX); malformed versions are refused with the file, sheet, row and column."""

from __future__ import annotations

import csv
import functools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from metrics import warehouse
from metrics.contracts import EXTRACTS, Extract
from metrics.core import reference
from metrics.core.periods import Period
from metrics.core.results import LoadOutcome
from metrics.ingest.formats.ons_mye import mid_year_for
from metrics.ingest.load import load_delivery, load_extract
from metrics.ingest.readers import Delivery
from metrics.synthetic import ons
from metrics.validate.gx import Validator
from tests.workspace import ROOT

pytestmark = pytest.mark.fast

RAW = ROOT / "data" / "raw"
POP, CHILD = EXTRACTS["population"], EXTRACTS["child_population"]
Q2_2023, Q2_2025, Q3_2022 = Period.parse("2023-24-Q2"), Period.parse("2025-26-Q2"), Period.parse("2022-23-Q3")
MALES, FEMALES, PERSONS = "MYE2 - Males", "MYE2 - Females", "MYE2 - Persons"
NNORTHANTS = "E06000061"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped demo with its population files written as the ONS publishes them."""
    root = tmp_path_factory.mktemp("ons") / "raw"
    shutil.copytree(RAW, root)
    ons.write_formats(root)
    return root


def _load(
    con: duckdb.DuckDBPyConnection,
    validator: Validator,
    extract: Extract,
    path: Path,
    period: Period,
    options: dict[str, Any] | None = None,
) -> LoadOutcome:
    delivery = Delivery(extract, (path,), "ons_mye", options or {})
    return load_delivery(con, delivery, period, "t", validator.validate, force=True)


def _stored(con: duckdb.DuckDBPyConnection, extract: Extract, period: Period) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in extract.column_names)
    return con.execute(f'SELECT {cols} FROM "{extract.name}" WHERE _period = ? ORDER BY ALL', [period.label]).fetchall()


@pytest.fixture(scope="module")
def native(validator: Validator) -> Iterator[Any]:
    """The rows the shipped native file of an extract and quarter loads (each loaded once: the
    population's GX suite has a column per age)."""
    con = duckdb.connect(":memory:")
    warehouse.initialise(con)

    @functools.cache
    def rows(extract: Extract, period: Period) -> list[tuple[Any, ...]]:
        path = RAW / period.label / extract.filename
        got = load_extract(con, extract, path, period, "t", validator.validate, True)
        assert got.status == "accepted", got.summary()
        return _stored(con, extract, period)

    yield rows
    con.close()


# ------------------------------------------------------------------------------------------------
# Identical to the native files


@pytest.mark.parametrize(
    ("extract", "period"),
    [(POP, Q2_2023), (CHILD, Q2_2023), (POP, Q2_2025), (CHILD, Q3_2022)],
    ids=lambda v: getattr(v, "name", None) or str(v),
)
def test_the_workbook_loads_the_rows_of_the_native_file(
    demo: Path,
    con: duckdb.DuckDBPyConnection,
    validator: Validator,
    native: Any,
    extract: Extract,
    period: Period,
) -> None:
    got = _load(con, validator, extract, demo / period.label / ons.WORKBOOK, period)
    assert got.status == "accepted", got.summary()
    converted = _stored(con, extract, period)
    assert converted and converted == native(extract, period)


def test_one_long_series_gives_each_quarter_its_own_mid_year(
    demo: Path, con: duckdb.DuckDBPyConnection, validator: Validator, native: Any
) -> None:
    # The same file (mid-2022 and mid-2024 columns) in both years' folders: 2023-24 takes mid-2022,
    # 2025-26 mid-2024 (the declared rule: the year before the financial year starts).
    a, b = (demo / p.label / ons.LONG_FILE for p in (Q2_2023, Q2_2025))
    assert a.read_bytes() == b.read_bytes()
    header = a.read_text().splitlines()[0].split(",")
    assert header[-2:] == ["population_2022", "population_2024"]
    assert (mid_year_for(Q2_2023), mid_year_for(Q2_2025)) == (2022, 2024)
    for period, path in ((Q2_2023, a), (Q2_2025, b)):
        got = _load(con, validator, POP, path, period)
        assert got.status == "accepted", got.summary()
        converted = _stored(con, POP, period)
        assert {r[4] for r in converted} == {mid_year_for(period)}
        assert converted == native(POP, period)


def test_the_long_series_gives_persons_as_males_plus_females(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator, native: Any
) -> None:
    # The long layout has no persons rows: the child population is males + females, so persons split
    # into two halves must load back as the native child_population.csv.
    series: dict[tuple[str, str, str], dict[int, list[int]]] = {}
    with open(RAW / Q3_2022.label / CHILD.filename, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for sex in ("M", "F"):
            series.setdefault((r["code"], r["name"], sex), {2021: [0] * 91})
    for r in rows:
        m = int(r["population"]) - int(r["population"]) // 2
        series[(r["code"], r["name"], "M")][2021][int(r["age"])] = m
        series[(r["code"], r["name"], "F")][2021][int(r["age"])] = int(r["population"]) - m
    path = tmp_path / "series.csv"
    ons.write_long(path, series)
    got = _load(con, validator, CHILD, path, Q3_2022)
    assert got.status == "accepted", got.summary()
    assert _stored(con, CHILD, Q3_2022) == native(CHILD, Q3_2022)


# ------------------------------------------------------------------------------------------------
# Malformed workbooks: refused with file, sheet, row and column


def _workbook(demo: Path, tmp_path: Path, name: str = "ukpopestimates.xlsx") -> Path:
    path = tmp_path / name
    shutil.copy(demo / Q2_2023.label / ons.WORKBOOK, path)
    return path


def _row_of(ws: Any, code: str) -> int:
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == code)


def _age_column(age: int) -> int:
    return 5 + age  # A Code, B Name, C Geography, D All ages, E = age 0


def _edit(path: Path, edit: Any) -> None:
    wb = openpyxl.load_workbook(path)
    edit(wb)
    wb.save(path)


def _problems(got: LoadOutcome) -> set[tuple[int | None, str | None, str]]:
    return {(p.line, p.column, p.rule) for p in got.problems}


def test_a_missing_sheet_is_named(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = _workbook(demo, tmp_path)
    _edit(path, lambda wb: wb.remove(wb[FEMALES]))
    got = _load(con, validator, POP, path, Q2_2023)
    assert got.status == "rejected"
    assert [p.rule for p in got.problems] == ["ons_sheet"]
    assert "ukpopestimates.xlsx has no sheet 'MYE2 - Females'" in got.problems[0].reason
    assert _stored(con, POP, Q2_2023) == []
    # The child population reads only the Persons sheet, which is there.
    assert _load(con, validator, CHILD, path, Q2_2023).status == "accepted"


def test_a_missing_age_column_is_named(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = _workbook(demo, tmp_path)
    _edit(path, lambda wb: wb[MALES].delete_cols(_age_column(37)))
    got = _load(con, validator, POP, path, Q2_2023)
    assert got.status == "rejected"
    (problem,) = got.problems
    assert (problem.line, problem.column, problem.rule) == (ons.HEADER_ROW, MALES, "ons_header")
    assert "no column '37'" in problem.reason and "row 8" in got.summary()


def test_a_count_with_a_fraction_is_refused_and_a_whole_float_is_the_same_number(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = _workbook(demo, tmp_path)

    def edit(wb: Any) -> None:
        ws = wb[PERSONS]
        row = _row_of(ws, NNORTHANTS)
        ws.cell(row, _age_column(5)).value = 1000.5
        ws.cell(row, _age_column(6)).value = "1000"  # a number stored as text
        ws.cell(row, _age_column(7)).value = float(ws.cell(row, _age_column(7)).value)  # e.g. 4650.0: whole

    _edit(path, edit)
    row = _row_of(openpyxl.load_workbook(path)[PERSONS], NNORTHANTS)
    got = _load(con, validator, CHILD, path, Q2_2023)
    assert got.status == "rejected"
    assert _problems(got) == {
        (row, f"{PERSONS}!J (5)", "ons_count"),
        (row, f"{PERSONS}!K (6)", "ons_count"),
    }
    assert f"row {row}, column {PERSONS}!J (5)" in got.summary()
    reasons = {p.column: p.reason for p in got.problems}
    assert "not a whole number" in reasons[f"{PERSONS}!J (5)"] and "text" in reasons[f"{PERSONS}!K (6)"]
    assert _stored(con, CHILD, Q2_2023) == []


def test_all_ages_not_the_sum_of_the_single_years_is_refused(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = _workbook(demo, tmp_path)

    def edit(wb: Any) -> None:
        ws = wb[PERSONS]
        row = _row_of(ws, "E06000062")
        ws.cell(row, 4).value = ws.cell(row, 4).value + 3

    _edit(path, edit)
    row = _row_of(openpyxl.load_workbook(path)[PERSONS], "E06000062")
    got = _load(con, validator, CHILD, path, Q2_2023)
    assert got.status == "rejected"
    (problem,) = got.problems
    assert (problem.line, problem.column, problem.rule) == (row, f"{PERSONS}!D (All ages)", "ons_all_ages")
    assert "difference +3" in problem.reason


def test_merged_header_cells_are_refused(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = _workbook(demo, tmp_path)
    _edit(path, lambda wb: wb[FEMALES].merge_cells(f"E{ons.HEADER_ROW}:F{ons.HEADER_ROW}"))
    got = _load(con, validator, POP, path, Q2_2023)
    assert got.status == "rejected"
    assert _problems(got) == {(ons.HEADER_ROW, f"{FEMALES}!E8", "ons_merged_header")}
    assert "E8:F8" in got.problems[0].reason


def _add_area(path: Path, sheet: str, code: str, name: str) -> int:
    """A copy of North Northamptonshire's row under another code, at the foot of ``sheet``."""
    rows: list[int] = []

    def edit(wb: Any) -> None:
        ws = wb[sheet]
        src = _row_of(ws, NNORTHANTS)
        new = ws.max_row + 1
        for c in range(1, ws.max_column + 1):
            ws.cell(new, c).value = ws.cell(src, c).value
        ws.cell(new, 1).value, ws.cell(new, 2).value = code, name
        rows.append(new)

    _edit(path, edit)
    return rows[0]


def test_an_unknown_area_code_is_refused(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = _workbook(demo, tmp_path)
    row = _add_area(path, PERSONS, "E06999999", "Nowhere")
    got = _load(con, validator, CHILD, path, Q2_2023)
    assert got.status == "rejected"
    assert (row, f"{PERSONS}!A (Code)", "ons_area_code") in _problems(got)
    assert "ukpopestimates.xlsx" in got.file_path and f"row {row}, column {PERSONS}!A (Code)" in got.summary()
    # A district row (E07) is not an HWB: ignored as declared, not refused.
    path2 = _workbook(demo, tmp_path, "other.xlsx")
    _add_area(path2, PERSONS, "E07000150", "Corby")
    assert _load(con, validator, CHILD, path2, Q2_2023).status == "accepted"


def test_a_retired_code_with_no_replacement_is_refused_for_a_later_quarter(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    # Northamptonshire county (E10000021) was abolished on 1 April 2021 and split in two: no pure
    # recode. Declared as retired with no replacement in a copy of hwb_codes.csv, an edition still
    # carrying it is refused for a 2023-24 quarter.
    codes = tmp_path / "reference"
    codes.mkdir()
    text = (reference.REFERENCE / "hwb_codes.csv").read_text()
    (codes / "hwb_codes.csv").write_text(text + "E10000021,Northamptonshire,East Midlands,,2021-03-31,\n")
    monkeypatch.setattr(reference, "REFERENCE", codes)
    path = _workbook(demo, tmp_path)
    row = _add_area(path, PERSONS, "E10000021", "Northamptonshire")
    got = _load(con, validator, CHILD, path, Q2_2023)
    assert got.status == "rejected"
    (problem,) = [p for p in got.problems if p.rule == "ons_area_code"]
    assert (problem.line, problem.column) == (row, f"{PERSONS}!A (Code)")
    assert "retired on 2021-03-31, before 2023-24-Q2" in problem.reason


def test_a_code_not_yet_in_use_in_the_quarter_is_refused(
    tmp_path: Path, demo: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    # Cumberland (E06000063) exists from 1 April 2023: not an area of 2022-23 (an edition on a later geography).
    path = tmp_path / "ukpopestimates.xlsx"
    shutil.copy(demo / Q3_2022.label / ons.WORKBOOK, path)
    row = _add_area(path, PERSONS, "E06000063", "Cumberland")
    got = _load(con, validator, CHILD, path, Q3_2022)
    assert got.status == "rejected"
    assert _problems(got) == {(row, f"{PERSONS}!A (Code)", "ons_area_code")}
    assert "in use from 2023-04-01, after 2022-23-Q3" in got.problems[0].reason


def test_a_pure_recode_loads_under_the_current_code_either_side_of_the_change(
    tmp_path: Path, demo: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    # Barnsley E08000016 -> E08000038 on 1 April 2025 (hwb_codes.csv replaced_by): the old code in a
    # 2025-26 quarter and the new code in a 2023-24 one are both the same area, stored as E08000038.
    for period, code, mid_year in ((Q2_2025, "E08000016", 2024), (Q2_2023, "E08000038", 2022)):
        path = tmp_path / f"{period.label}.xlsx"
        shutil.copy(demo / period.label / ons.WORKBOOK, path)
        _add_area(path, PERSONS, code, "Barnsley")
        got = _load(con, validator, CHILD, path, period)
        assert got.status == "accepted", got.summary()
        stored = con.execute(
            "SELECT DISTINCT code, _code_delivered, mid_year FROM child_population WHERE _period = ? "
            "AND name = 'Barnsley'",
            [period.label],
        ).fetchall()
        assert stored == [("E08000038", code, mid_year)]


def test_the_workbook_must_be_the_quarters_mid_year_unless_the_mapping_names_it(
    demo: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    mid_2024 = demo / Q2_2025.label / ons.WORKBOOK  # the mid-2024 edition, delivered for 2023-24
    got = _load(con, validator, POP, mid_2024, Q2_2023)
    assert got.status == "rejected"
    assert _problems(got) >= {(1, f"{MALES}!A", "ons_mid_year")}
    assert "holds the mid-2024 estimates, but the quarter uses mid-2022" in got.problems[0].reason
    named = _load(con, validator, CHILD, mid_2024, Q2_2023, {"mid_year": 2024})
    assert named.status == "accepted", named.summary()
    assert {r[2] for r in _stored(con, CHILD, Q2_2023)} == {2024}


def test_bad_options_and_a_series_without_the_quarters_year_are_named(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = demo / Q2_2023.label / ons.LONG_FILE
    unknown = _load(con, validator, POP, path, Q2_2023, {"sheet_name": "x"})
    assert [p.rule for p in unknown.problems] == ["ons_options"] and "sheet_name" in unknown.problems[0].reason
    later = _load(con, validator, POP, path, Period.parse("2026-27-Q1"))
    assert later.status == "rejected"
    assert _problems(later) == {(1, None, "ons_mid_year")}
    # The demo's series holds the mid-years its quarters use: mid-2019 (2020-21, the SPC history) to mid-2024.
    assert "no population_2025 column (it holds mid-2019-2024)" in later.problems[0].reason


def test_a_long_series_count_must_be_written_plainly(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    lines = (demo / Q2_2023.label / ons.LONG_FILE).read_text().splitlines()
    cells = lines[5].split(",")
    cells[-2] = cells[-2] + ".0"  # population_2022 of the fifth data line
    lines[5] = ",".join(cells)
    path = tmp_path / "series.csv"
    path.write_text("\n".join(lines) + "\n")
    got = _load(con, validator, CHILD, path, Q2_2023)
    assert got.status == "rejected"
    assert _problems(got) == {(6, "population_2022", "ons_count")}
    assert "line 6, column population_2022" in got.summary()


def test_a_contract_check_is_placed_on_the_delivered_sheet_row_and_column(
    demo: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    # An empty Name passes the reader and fails the contract's own check (a required column): it is
    # reported once at the workbook's row, under the sheet and the Excel column, though the row
    # became 18 contract rows (ages 0-17).
    path = _workbook(demo, tmp_path)

    def edit(wb: Any) -> None:
        ws = wb[PERSONS]
        ws.cell(_row_of(ws, "E06000062"), 2).value = None

    _edit(path, edit)
    row = _row_of(openpyxl.load_workbook(path)[PERSONS], "E06000062")
    got = _load(con, validator, CHILD, path, Q2_2023)
    assert got.status == "rejected"
    placed = [p for p in got.problems if p.line == row]
    assert placed and {p.column for p in placed} == {f"{PERSONS}!B (Name)"}
    assert len(placed) == len({(p.line, p.column, p.rule) for p in placed})
    assert all(p.unit == "row" for p in placed), got.summary()
