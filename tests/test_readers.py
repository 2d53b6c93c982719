"""The one load path for converted deliveries (``metrics.ingest.readers``): a reader reshapes, the
contract's checks judge, and every problem is placed back in the delivered file (its row numbers,
its column names). A toy reader stands in for the real formats (tested in their own files): a
pipe-delimited file with two title rows and upper-case column names."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import duckdb
import pytest

from metrics.contracts import EXTRACTS, Extract
from metrics.core.periods import Period
from metrics.core.results import Problem
from metrics.ingest.load import load_delivery, load_extract
from metrics.ingest.readers import READERS, Conversion, Delivery, register
from metrics.validate.gx import Validator
from tests.workspace import ROOT

pytestmark = pytest.mark.fast

PERIOD = Period.parse("2023-24-Q2")
PLANS = EXTRACTS["plans"]
SRC = ROOT / "data" / "raw" / PERIOD.label / "plans.csv"
TITLE_ROWS = 2  # the toy format's rows above its header


def _toy(
    extract: Extract, files: Sequence[Path], names: Sequence[str], options: Mapping[str, Any], out: TextIO
) -> Conversion:
    """Rows 1-2 are titles, row 3 the header (contract names in upper case), data from row 4."""
    rows = files[0].read_text().splitlines()[TITLE_ROWS:]
    header = rows[0].split("|")
    if [h.lower() for h in header] != extract.column_names:
        return Conversion([Problem(TITLE_ROWS + 1, None, "toy_header", f"{names[0]}: header is not the contract's")])
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(extract.column_names)
    lines = []
    problems = []
    for i, row in enumerate(rows[1:], start=TITLE_ROWS + 2):
        cells = row.split("|")
        refused = options.get("refuse")
        if refused in cells:
            problems.append(Problem(i, header[cells.index(refused)], "toy_refused", "the toy reader refuses it", "row"))
        writer.writerow(cells)
        lines.append(i)
    return Conversion(
        problems, lines, {c: c.upper() for c in extract.column_names}, unit="row", header_line=TITLE_ROWS + 1
    )


@pytest.fixture(scope="module", autouse=True)
def toy_reader() -> Iterator[None]:
    register("toy")(_toy)
    yield
    del READERS["toy"]


def _toy_file(folder: Path, lines: list[str]) -> Path:
    out = folder / "plans.toy"
    header, *data = lines
    out.write_text(
        "\n".join(
            [
                "Title",
                "Made by a council system",
                header.upper().replace(",", "|"),
                *(line.replace(",", "|") for line in data),
            ]
        )
        + "\n"
    )
    return out


def _stored(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in PLANS.column_names)
    return con.execute(f"SELECT {cols} FROM plans ORDER BY ALL").fetchall()


def test_a_converted_delivery_loads_the_same_rows_as_the_native_csv(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    toy = _toy_file(tmp_path, SRC.read_text().splitlines())
    got = load_delivery(con, Delivery(PLANS, (toy,), "toy"), PERIOD, "t", validator.validate)
    assert got.status == "accepted", got.summary()
    converted = _stored(con)
    native = load_extract(con, PLANS, SRC, PERIOD, "t", validator.validate, force=True)
    assert native.status == "accepted"
    assert converted == _stored(con) and converted
    # Loaded again unchanged: skipped, by the delivery's own digest (files, reader and options).
    again = load_delivery(con, Delivery(PLANS, (toy,), "toy"), PERIOD, "t", validator.validate)
    assert again.status == "accepted"  # the native load in between is now the latest
    same = load_delivery(con, Delivery(PLANS, (toy,), "toy"), PERIOD, "t", validator.validate)
    assert same.status == "unchanged"
    other_options = load_delivery(
        con, Delivery(PLANS, (toy,), "toy", {"refuse": "no-such-text"}), PERIOD, "t", validator.validate
    )
    assert other_options.status == "accepted"  # different options: a different delivery, loaded


def test_problems_are_placed_in_the_delivered_file(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    lines = SRC.read_text().splitlines()
    header = lines[0].split(",")
    bad = lines[2].split(",")
    bad[header.index("quarter")] = "Q9"  # not a quarter: the contract's check finds it
    lines[2] = ",".join(bad)
    toy = _toy_file(tmp_path, lines)
    got = load_delivery(con, Delivery(PLANS, (toy,), "toy"), PERIOD, "t", validator.validate)
    assert got.status == "rejected"
    # Line 3 of the converted CSV is the delivered file's row 5 (two titles, the header, a row before it).
    placed = [p for p in got.problems if p.line == TITLE_ROWS + 3]
    assert placed and all(p.column == "QUARTER" and p.unit == "row" for p in placed), got.problems
    assert "row 5, column QUARTER" in got.summary()
    assert _stored(con) == []  # nothing half-loaded
    # The rejected record is kept, under the delivered row.
    kept = con.execute("SELECT line, record FROM rejects WHERE column_name = 'QUARTER'").fetchall()
    assert kept and kept[0][0] == 5 and "Q9" in kept[0][1]


def test_a_reader_problem_rejects_even_when_the_contract_checks_pass(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    lines = SRC.read_text().splitlines()
    first = lines[1].split(",")
    toy = _toy_file(tmp_path, lines)
    # The first data row's area code is valid (the file loads natively), but this reader refuses it.
    options = {"refuse": first[0]}
    got = load_delivery(con, Delivery(PLANS, (toy,), "toy", options), PERIOD, "t", validator.validate)
    assert got.status == "rejected"
    assert {(p.line, p.column, p.rule) for p in got.problems} >= {(4, "HWB_CODE", "toy_refused")}
    assert {p.rule for p in got.problems} == {"toy_refused"}
    assert _stored(con) == []


def test_a_multi_file_delivery_with_one_file_missing_is_named(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    toy = _toy_file(tmp_path, SRC.read_text().splitlines())
    got = load_delivery(con, Delivery(PLANS, (toy, tmp_path / "second.toy"), "toy"), PERIOD, "t", validator.validate)
    assert got.status == "rejected"
    assert got.problems[0].rule == "file_missing" and "second.toy" in got.problems[0].reason
    none = load_delivery(
        con, Delivery(PLANS, (tmp_path / "a.toy", tmp_path / "b.toy"), "toy"), PERIOD, "t", validator.validate
    )
    assert none.status == "missing"
