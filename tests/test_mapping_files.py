"""Mapping files and the readers behind them (issue #17): a mapping is read strictly (a bad one is a
usage error naming the file, the key and the fix, exit code 2 through the CLI), and a malformed
delivery (SUS-style CSV or Excel workbook) is rejected with its file, row and column; real DuckDB, GX
and .xlsx files written with xlsxwriter."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
import xlsxwriter

from metrics.contracts import EXTRACTS
from metrics.core.periods import Period
from metrics.core.results import LoadOutcome
from metrics.ingest.load import load_delivery
from metrics.ingest.mapping import BadMapping, default_resolve, load_mapping
from metrics.synthetic import sus
from metrics.validate.gx import Validator
from tests.workspace import ROOT, SCORECARD

PERIOD = Period.parse("2023-24-Q2")
APC = EXTRACTS["apc_spells"]
PLANS = EXTRACTS["plans"]
NATIVE = ROOT / "data" / "raw" / PERIOD.label
ROWS = 40  # records taken from the demo for each small delivery


def _native(name: str, n: int = ROWS) -> list[dict[str, str]]:
    with open(NATIVE / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))[:n]


def _stored(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f'SELECT {cols} FROM "{table}" ORDER BY ALL').fetchall()


# ------------------------------------------------------------------ the mapping file, read strictly


def _mapping(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text('[mapping]\nname = "test"\n' + body)
    return path


SUS_OK = (ROOT / "mappings" / "sus_apc.toml").read_text().split("[extracts.apc_spells]", 1)[1]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[extracts.apc_spells]\nformat = 'csv'\nfiles = ['a.csv']\n[other]\nx = 1\n", ["other: unknown key"]),
        ("[extracts.nope]\nformat = 'csv'\nfiles = ['a.csv']\n", ["extracts.nope", "apc_spells"]),
        (
            "[extracts.apc_spells]\nformat = 'sas7bdat'\nfiles = ['a.csv']\n",
            ["extracts.apc_spells.format", "mapped_csv"],
        ),
        ("[extracts.apc_spells]\nformat = 'csv'\nfiles = 'a.csv'\n", ["extracts.apc_spells.files", "list"]),
        ("[extracts.apc_spells]\nformat = 'csv'\nfiles = ['../a.csv']\n", ["'../a.csv' has /", "literally"]),
        ("[extracts.apc_spells]\nformat = 'csv'\nfiles = ['apc*.csv']\n", ["'apc*.csv' has *"]),
        ("[extracts.apc_spells]\nformat = 'xlsx'\nfiles = ['a.xlsx']\nheader_row = 0\n", ["header_row"]),
        ("[extracts.apc_spells]\nformat = 'xlsx'\nfiles = ['a.xlsx']\nsheets = 'A'\n", ["sheets: unknown key"]),
        (
            "[extracts.apc_spells]\nformat = 'mapped_csv'\nfiles = ['a.csv']\n"
            "[extracts.apc_spells.columns]\nsecondary_diagnoses = { from = ['DIAG_02', 'DIAG_03'] }\n",
            ["columns.secondary_diagnoses", "ambiguous", 'join = ";"'],
        ),
        (
            "[extracts.apc_spells]\nformat = 'mapped_csv'\nfiles = ['a.csv']\n"
            "[extracts.apc_spells.columns]\nsex = { from = 'SEX', codes = { 1 = 1 } }\n",
            ["columns.sex.codes", "table"],
        ),
        (
            "[extracts.apc_spells]\nformat = 'mapped_csv'\nfiles = ['a.csv']\n"
            "[extracts.apc_spells.columns]\nadmission_date = { from = 'ADMIDATE', date = 'DD/MM/YYY' }\n",
            ["columns.admission_date.date", "YYYY"],
        ),
        (
            "[extracts.apc_spells]\nformat = 'mapped_csv'\nfiles = ['a.csv']\n"
            "[extracts.apc_spells.columns]\nsexx = 'SEX'\n",
            ["columns.sexx", "apc_spells has no column"],
        ),
        (
            "[extracts.apc_spells]\nformat = 'mapped_csv'\nfiles = ['a.csv']\n"
            "[extracts.apc_spells.columns]\nsex = { from = 'SEX', strip_dots = true }\n",
            ["columns.sex.strip_dots", "ICD-10"],
        ),
        ("[extracts.apc_spells]\nformat = 'mapped_csv'\nfiles = ['a.csv']\ncolums = {}\n", ["colums: unknown key"]),
        ("[extracts.apc_spells\n", ["not valid TOML"]),
    ],
)
def test_a_bad_mapping_names_the_file_the_key_and_the_fix(tmp_path: Path, body: str, words: list[str]) -> None:
    path = _mapping(tmp_path, body)
    with pytest.raises(BadMapping) as err:
        load_mapping(path)
    text = str(err.value)
    assert str(path) in text and err.value.exit_code == 2
    for w in words:
        assert w in text, text


def test_a_missing_mapping_name_and_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("[extracts.plans]\nformat = 'csv'\nfiles = ['p.csv']\n")
    with pytest.raises(BadMapping, match=r"\[mapping\]: missing"):
        load_mapping(path)
    with pytest.raises(BadMapping, match="does not exist"):
        load_mapping(tmp_path / "none.toml")


def test_the_shipped_mappings_load_and_say_where_they_came_from() -> None:
    for name in ("sus_apc.toml", "case_management.toml"):
        m = load_mapping(ROOT / "mappings" / name)
        record = m.record()
        assert record["name"] == m.name and len(record["sha256"]) == 64 and record["extracts"]


@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_mapping_errors_exit_2_with_a_plain_message(tmp_path: Path, command: str) -> None:
    bad = _mapping(tmp_path, "[extracts.apc_spells]\nformat = 'csv'\nfiles = ['/etc/passwd']\n")
    done = subprocess.run(
        [str(SCORECARD), command, "--period", PERIOD.label, "--mapping", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert str(bad) in done.stderr and "extracts.apc_spells.files" in done.stderr and "fix:" in done.stderr


# ------------------------------------------------------------------ a SUS-style CSV, malformed


def _sus(folder: Path, edit: Callable[[list[str], list[list[str]]], None] | None = None) -> Path:
    header = list(sus.HEADER)
    rows = [sus.sus_row(r, n) for n, r in enumerate(_native("apc_spells"))]
    if edit:
        edit(header, rows)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / sus.FILE, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return folder


def _load_sus(
    con: duckdb.DuckDBPyConnection, validator: Validator, folder: Path, mapping: Path | None = None
) -> LoadOutcome:
    m = load_mapping(mapping or ROOT / "mappings" / "sus_apc.toml")
    return load_delivery(con, m.resolve(folder, APC), PERIOD, "t", validator.validate)


def test_a_sus_extract_loads_the_native_records(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    got = _load_sus(con, validator, _sus(tmp_path / "q"))
    assert got.status == "accepted", got.summary()
    mapped = _stored(con, "apc_spells", APC.column_names)
    native = tmp_path / "n"
    native.mkdir()
    with open(native / APC.filename, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, APC.column_names, lineterminator="\n")
        w.writeheader()
        w.writerows(_native("apc_spells"))
    assert load_delivery(con, default_resolve(native, APC), PERIOD, "t", validator.validate, force=True).usable
    assert mapped == _stored(con, "apc_spells", APC.column_names) and len(mapped) == ROWS


def _col(header: list[str], name: str) -> int:
    return header.index(name)


def test_a_missing_required_column_is_named(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    def drop_sex(header: list[str], rows: list[list[str]]) -> None:
        i = _col(header, "SEX")
        del header[i]
        for r in rows:
            del r[i]

    got = _load_sus(con, validator, _sus(tmp_path, drop_sex))
    assert got.status == "rejected"
    assert [(p.line, p.column, p.rule) for p in got.problems] == [(1, "SEX", "missing_column")]
    assert "sus_apc.csv" in got.problems[0].reason and "(for sex)" in got.problems[0].reason


def test_a_wrong_code_is_named_by_line_and_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    def sex_9(header: list[str], rows: list[list[str]]) -> None:
        rows[4][_col(header, "SEX")] = "9"  # not specified: no contract code, no passthrough

    got = _load_sus(con, validator, _sus(tmp_path, sex_9))
    assert got.status == "rejected"
    assert {(p.line, p.column, p.rule) for p in got.problems} == {(6, "SEX", "unmapped_code")}
    assert "line 6, column SEX" in got.summary()
    assert _stored(con, "apc_spells", ["spell_id"]) == []


def test_a_date_not_in_the_declared_format_is_refused(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    def short_date(header: list[str], rows: list[list[str]]) -> None:
        i = _col(header, "ADMIDATE")
        d, m, y = rows[2][i].split("/")
        rows[2][i] = f"{int(d)}/{int(m)}/{y}"
        if rows[2][i] == f"{d}/{m}/{y}":  # a day and month of two digits each: make one short
            rows[2][i] = f"1/{m}/{y}"

    got = _load_sus(con, validator, _sus(tmp_path, short_date))
    assert got.status == "rejected"
    assert [(p.line, p.column, p.rule) for p in got.problems] == [(4, "ADMIDATE", "date_format")]
    assert "DD/MM/YYYY" in got.problems[0].reason


def test_an_unmapped_delivered_column_is_not_dropped_silently(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    def extra(header: list[str], rows: list[list[str]]) -> None:
        header.append("OPERTN_01")
        for r in rows:
            r.append("W371")

    got = _load_sus(con, validator, _sus(tmp_path, extra))
    assert got.status == "rejected"
    assert [(p.line, p.rule) for p in got.problems] == [(1, "unmapped_column")]
    assert "OPERTN_01" in got.problems[0].reason and "ignore" in got.problems[0].reason


def test_dots_are_kept_unless_declared(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    text = (ROOT / "mappings" / "sus_apc.toml").read_text()
    undeclared = text.replace(
        'primary_diagnosis = { from = "DIAG_01", strip_dots = true }', 'primary_diagnosis = "DIAG_01"'
    )
    assert undeclared != text
    mapping = tmp_path / "m.toml"
    mapping.write_text(undeclared)
    got = _load_sus(con, validator, _sus(tmp_path / "q"), mapping)
    assert got.status == "rejected"
    # The contract's ICD-10 pattern refuses "S72.0", shown under the delivered column.
    dotted = [r for r in _native("apc_spells") if len(r["primary_diagnosis"]) > 3]
    assert dotted and {p.column for p in got.problems} == {"DIAG_01"}
    assert {p.unit for p in got.problems} == {"line"}


# ------------------------------------------------------------------ Excel deliveries


def _workbook(
    path: Path,
    header: list[str],
    rows: list[list[Any]],
    sheet: str = "Sheet1",
    more: Callable[[Any, Any], None] | None = None,
) -> Path:
    book = xlsxwriter.Workbook(str(path))
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    ws = book.add_worksheet(sheet)
    ws.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v, date)
            elif isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_number(r, c, v)
            elif v != "":
                ws.write_string(r, c, str(v))
    if more:
        more(book, ws)
    book.close()
    return path


def _apc_cells(r: dict[str, str]) -> list[Any]:
    """A spell as a spreadsheet holds it: dates as date cells, the age as a number."""
    out: list[Any] = []
    for c in APC.columns:
        v = r[c.name]
        if c.dtype == "DATE" and v:
            out.append(dt.datetime.fromisoformat(v))
        elif c.dtype == "INTEGER":
            out.append(float(v))  # stored as 71.0: Excel does not tell 71 and 71.0 apart
        else:
            out.append(v)
    return out


def test_an_xlsx_in_place_of_the_csv_loads_the_same_rows(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    records = _native("apc_spells")
    _workbook(tmp_path / "apc_spells.xlsx", APC.column_names, [_apc_cells(r) for r in records])
    delivery = default_resolve(tmp_path, APC)
    assert delivery.format == "xlsx"
    got = load_delivery(con, delivery, PERIOD, "t", validator.validate)
    assert got.status == "accepted", got.summary()
    from_xlsx = _stored(con, "apc_spells", APC.column_names)
    with open(tmp_path / "n.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, APC.column_names, lineterminator="\n")
        w.writeheader()
        w.writerows(records)
    from metrics.ingest.load import load_extract

    assert load_extract(con, APC, tmp_path / "n.csv", PERIOD, "t", validator.validate, force=True).usable
    assert from_xlsx == _stored(con, "apc_spells", APC.column_names) and len(from_xlsx) == ROWS


def test_a_fraction_in_a_whole_number_column_is_rejected_by_row_and_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    rows = [_apc_cells(r) for r in _native("apc_spells")]
    age = APC.column_names.index("age_at_admission")
    rows[6][age] = 64.5
    _workbook(tmp_path / "apc_spells.xlsx", APC.column_names, rows)
    got = load_delivery(con, default_resolve(tmp_path, APC), PERIOD, "t", validator.validate)
    assert got.status == "rejected"
    # Data row 7 is Excel row 8 (the header is row 1); column H.
    assert {(p.line, p.column, p.unit) for p in got.problems} == {(8, "age_at_admission (H)", "row")}
    assert "row 8, column age_at_admission (H)" in got.summary()


def test_merged_header_cells_are_refused(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    rows = [_apc_cells(r) for r in _native("apc_spells")]
    _workbook(
        tmp_path / "apc_spells.xlsx",
        APC.column_names,
        rows,
        more=lambda book, ws: ws.merge_range("C1:D1", "dates"),
    )
    got = load_delivery(con, default_resolve(tmp_path, APC), PERIOD, "t", validator.validate)
    assert got.status == "rejected"
    merged = [p for p in got.problems if p.rule == "xlsx_merged_cells"]
    assert merged and merged[0].line == 1 and "C1:D1" in merged[0].reason and "Unmerge" in merged[0].reason


def test_sheets_formulas_titles_and_two_deliveries_are_plain_errors(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    plans = _native("plans", 5)
    cells = [[r[c] if c != "plan_value" else float(r[c]) for c in PLANS.column_names] for r in plans]

    def load(folder: Path) -> LoadOutcome:
        return load_delivery(con, default_resolve(folder, PLANS), PERIOD, "t", validator.validate, force=True)

    def rules(o: LoadOutcome) -> set[tuple[int | None, str]]:
        return {(p.line, p.rule) for p in o.problems}

    # Two sheets, no mapping to say which: both named.
    two = tmp_path / "two"
    two.mkdir()
    _workbook(two / "plans.xlsx", PLANS.column_names, cells, more=lambda b, ws: b.add_worksheet("Notes"))
    got = load(two)
    assert rules(got) == {(None, "xlsx_sheet")} and "'Sheet1'" in got.problems[0].reason and "'Notes'" in got.summary()
    # A sheet named by a mapping that is not there.
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[mapping]\nname = "t"\n[extracts.plans]\nformat = "xlsx"\nfiles = ["plans.xlsx"]\nsheet = "Plans"\n'
    )
    got = load_delivery(con, load_mapping(mapping).resolve(two, PLANS), PERIOD, "t", validator.validate)
    assert rules(got) == {(None, "xlsx_sheet")} and "no sheet 'Plans'" in got.problems[0].reason
    # A hidden sheet beside the visible one.
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    _workbook(hidden / "plans.xlsx", PLANS.column_names, cells, more=lambda b, ws: b.add_worksheet("Old").hide())
    assert "(hidden)" in load(hidden).problems[0].reason
    # A formula in a cell: refused, naming the cell.
    formula = tmp_path / "formula"
    formula.mkdir()
    _workbook(formula / "plans.xlsx", PLANS.column_names, cells, more=lambda b, ws: ws.write_formula("E3", "=E2*2"))
    got = load(formula)
    assert (3, "xlsx_formula") in rules(got) and "cell E3" in got.summary() and "plan_value (E)" in got.summary()
    # A title on row 1 and the header below it.
    title = tmp_path / "title"
    title.mkdir()
    book = xlsxwriter.Workbook(str(title / "plans.xlsx"))
    ws = book.add_worksheet()
    ws.write_string(0, 0, "BCF plans 2023-24")
    ws.write_row(2, 0, PLANS.column_names)
    for r, row in enumerate(cells, start=3):
        ws.write_row(r, 0, row)
    book.close()
    assert (1, "xlsx_header_row") in rules(load(title))
    # Row 1 left empty, the header on row 2: named, without a problem for every cell below.
    blank = tmp_path / "blank"
    blank.mkdir()
    book = xlsxwriter.Workbook(str(blank / "plans.xlsx"))
    ws = book.add_worksheet()
    ws.write_row(1, 0, PLANS.column_names)
    for r, row in enumerate(cells, start=2):
        ws.write_row(r, 0, row)
    book.close()
    got = load(blank)
    assert rules(got) == {(None, "xlsx_header_row")} and "the first row with values is row 2" in got.summary()
    # Both a CSV and a workbook: which one is meant is not guessed.
    both = tmp_path / "both"
    both.mkdir()
    _workbook(both / "plans.xlsx", PLANS.column_names, cells)
    (both / "plans.csv").write_text((NATIVE / "plans.csv").read_text())
    got = load(both)
    assert rules(got) == {(None, "two_deliveries")} and "plans.csv and plans.xlsx" in got.problems[0].reason


def test_a_date_cell_in_a_code_column_is_refused(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    rows = [_apc_cells(r) for r in _native("apc_spells")]
    rows[0][APC.column_names.index("admission_method")] = dt.datetime(2023, 1, 21)  # Excel took "21" for a date?
    _workbook(tmp_path / "apc_spells.xlsx", APC.column_names, rows)
    got = load_delivery(con, default_resolve(tmp_path, APC), PERIOD, "t", validator.validate)
    assert got.status == "rejected"
    assert {(p.line, p.column) for p in got.problems} == {(2, "admission_method (F)")}


def test_a_wrong_code_in_a_case_management_sheet_is_named_by_sheet_row_and_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    from metrics.synthetic import case_management

    contacts = _native("cs_contacts")
    contacts[3]["source"] = "police"
    case_management.write_workbook(tmp_path / case_management.FILE, {"Contacts": contacts})
    mapping = load_mapping(ROOT / "mappings" / "case_management.toml")
    extract = EXTRACTS["cs_contacts"]
    good = load_delivery(con, mapping.resolve(tmp_path, extract), PERIOD, "t", validator.validate)
    assert good.status == "accepted", good.summary()
    assert _stored(con, "cs_contacts", ["contact_id"]) == sorted((r["contact_id"],) for r in contacts)
    # The system's code for police is POL; "Police" is not in the mapping's table.
    book = openpyxl.load_workbook(tmp_path / case_management.FILE)
    book["Contacts"]["D7"] = "Police"  # data row 4: header on row 3
    book.save(tmp_path / case_management.FILE)
    got = load_delivery(con, mapping.resolve(tmp_path, extract), PERIOD, "t", validator.validate, force=True)
    assert got.status == "rejected"
    assert {(p.line, p.column, p.rule) for p in got.problems} == {(7, "Contact Source (D)", "unmapped_code")}
    assert "sheet 'Contacts'" in got.file_path and "row 7, column Contact Source (D)" in got.summary()


def test_an_age_is_derived_only_when_declared(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    def dob_for_age(header: list[str], rows: list[list[str]]) -> None:
        """STARTAGE replaced by a date of birth on or before the admission's day in the year of the age."""
        i, adm = _col(header, "STARTAGE"), _col(header, "ADMIDATE")
        header[i] = "DOB"
        for r in rows:
            d, m, y = (int(x) for x in r[adm].split("/"))
            age = 0 if r[i] == sus.INFANT else int(r[i])
            r[i] = f"{min(d, 28):02d}/{m:02d}/{y - age}"

    folder = _sus(tmp_path / "q", dob_for_age)
    text = (ROOT / "mappings" / "sus_apc.toml").read_text()
    start = text.index("age_at_admission = {")
    end = text.index("\n", start)
    # Not declared: the contract column has no source, and DOB is an unmapped column.
    undeclared = tmp_path / "undeclared.toml"
    undeclared.write_text(text[:start] + text[end + 1 :])
    got = _load_sus(con, validator, folder, undeclared)
    assert got.status == "rejected"
    assert {p.rule for p in got.problems} == {"unmapped_contract_column", "unmapped_column"}
    assert "age_at_admission has no source" in got.summary()
    # Declared: whole years from DOB to ADMIDATE, the native ages.
    declared = tmp_path / "declared.toml"
    rule = 'age_at_admission = { derive = "age", birth = "DOB", at = "ADMIDATE", date = "DD/MM/YYYY" }'
    declared.write_text(text[:start] + rule + text[end:])
    got = _load_sus(con, validator, folder, declared)
    assert got.status == "accepted", got.summary()
    ages = con.execute("SELECT spell_id, age_at_admission FROM apc_spells ORDER BY spell_id").fetchall()
    assert ages == sorted((r["spell_id"], int(r["age_at_admission"])) for r in _native("apc_spells"))


def test_one_file_may_feed_several_extracts_only_through_a_multi_extract_reader(tmp_path: Path) -> None:
    """The CIN census XML feeds three extracts and the ONS workbook two, each through the same
    reader; a table-shaped CSV named for two extracts is a copy-paste mistake and is refused."""
    shared = tmp_path / "shared.toml"
    shared.write_text(
        '[mapping]\nname = "x"\n'
        '[extracts.cs_assessments]\nformat = "cin_census"\nfiles = ["census.xml"]\nla_code = "E06000061"\n'
        '[extracts.cs_cp_plans]\nformat = "cin_census"\nfiles = ["census.xml"]\nla_code = "E06000061"\n'
    )
    assert set(load_mapping(shared).extracts) == {"cs_assessments", "cs_cp_plans"}
    twice = tmp_path / "twice.toml"
    twice.write_text(
        '[mapping]\nname = "x"\n'
        '[extracts.plans]\nformat = "csv"\nfiles = ["a.csv"]\n'
        '[extracts.population]\nformat = "csv"\nfiles = ["a.csv"]\n'
    )
    with pytest.raises(BadMapping, match=r"a\.csv is already the delivery of plans"):
        load_mapping(twice)
