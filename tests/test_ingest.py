"""Loading is all-or-nothing; every rejected value is kept with file, line, column and reason."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from metrics.contracts import APC_SPELLS, PLANS
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, MISSING, REJECTED, UNCHANGED
from metrics.ingest.load import load_extract
from metrics.validate.gx import Validator
from tests.extract_builders import spell, write_extract

Q2 = Period.parse("2023-24-Q2")


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def test_valid_extract_loads_with_line_numbers(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    f = write_extract(
        tmp_path / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2, discharge_date=None, discharge_destination=None)]
    )
    out = load_extract(con, APC_SPELLS, f, Q2, "run1", validator.validate)
    assert out.status == ACCEPTED and out.rows == 2
    rows = con.execute("SELECT _line, spell_id, discharge_date FROM apc_spells ORDER BY _line").fetchall()
    assert rows[0][:2] == (2, "S00001") and rows[1][0] == 3 and rows[1][2] is None


def test_corrupt_extract_is_rejected_whole_and_previous_partition_kept(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    good = write_extract(tmp_path / "good" / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2)])
    assert load_extract(con, APC_SPELLS, good, Q2, "run1", validator.validate).status == ACCEPTED

    bad_rows = [
        spell(1),
        spell(2, admission_date="2023-13-01"),  # line 3: not a date
        spell(3, age_at_admission=130),  # line 4: impossible age
        spell(4, admission_method="99"),  # line 5: unknown code
        spell(5, discharge_date="2023-10-02"),  # line 6: outside the quarter
        spell(6, spell_id="S00001"),  # line 7: duplicate id (with line 2)
        spell(7, primary_diagnosis="j44.1"),  # line 8: not ICD-10
        spell(8, discharge_destination=None),  # line 9: discharged but no destination
        spell(9, discharge_date="2023-07-01", admission_date="2023-07-05"),  # line 10: ends before start
    ]
    bad = write_extract(tmp_path / "bad" / "apc_spells.csv", APC_SPELLS, [*bad_rows, spell(10)])
    out = load_extract(con, APC_SPELLS, bad, Q2, "run2", validator.validate)

    assert out.status == REJECTED
    found = {(p.line, p.column, p.rule) for p in out.problems}
    assert {
        (3, "admission_date", "type:date"),
        (4, "age_at_admission", "range"),
        (5, "admission_method", "code"),
        (6, "discharge_date", "date_window"),
        (2, "spell_id", "unique"),
        (7, "spell_id", "unique"),
        (8, "primary_diagnosis", "pattern"),
        (9, "discharge_destination", "required_if"),
        (10, "discharge_date", "order"),
    } <= found
    assert not any(p.line == 11 for p in out.problems)  # the clean last row is not blamed
    # Nothing of the bad file was loaded: the earlier good partition is exactly as it was.
    assert con.execute("SELECT spell_id FROM apc_spells ORDER BY 1").fetchall() == [("S00001",), ("S00002",)]
    # Every problem is kept, with the row as delivered, file and reason.
    kept = con.execute(
        "SELECT line, column_name, reason, record, file_path FROM rejects WHERE run_id = 'run2' AND line = 4"
    ).fetchall()
    assert kept[0][1] == "age_at_admission" and "0-120" in kept[0][2]
    assert '"age_at_admission": "130"' in kept[0][3] and kept[0][4].endswith("bad/apc_spells.csv")
    assert _count(con, "SELECT count(*) FROM loads WHERE status = 'rejected'") == 1
    # The summary names file, line and column, and never a value.
    text = out.summary(limit=50)
    assert "bad/apc_spells.csv" in text and "line 4, column age_at_admission" in text
    assert "P00003" not in text and "130" not in text


def test_structural_errors_name_the_line(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    f = write_extract(tmp_path / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2)])
    lines = f.read_text().splitlines()
    lines[2] = lines[2] + ",extra"
    lines.append('P00009,"S00009,2023-07-10')  # unbalanced quote, too few fields
    f.write_text("\n".join(lines) + "\n")
    out = load_extract(con, APC_SPELLS, f, Q2, "run", validator.validate)
    assert out.status == REJECTED
    assert any(p.line == 3 and "too many fields" in p.reason for p in out.problems)
    assert _count(con, "SELECT count(*) FROM apc_spells") == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"person_id;spell_id\nP1;S1\n", "comma-delimited"),
        (b"person_id,spell_id,admission_date\nP1,S1,2023-07-01\n", "missing columns discharge_date"),
        (",".join(APC_SPELLS.column_names).encode() + b"\n", "no data rows"),
        (",".join(APC_SPELLS.column_names).encode() + b"\nP\xe9001,S1\n" + b"x" * 10, "not valid UTF-8"),
    ],
)
def test_file_level_problems(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator, content: bytes, expected: str
) -> None:
    f = tmp_path / "apc_spells.csv"
    f.write_bytes(content)
    out = load_extract(con, APC_SPELLS, f, Q2, "run", validator.validate)
    assert out.status == REJECTED
    assert expected in " ".join(p.reason for p in out.problems)


def test_reloading_same_file_is_skipped_and_changed_file_replaces_partition(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    f = write_extract(tmp_path / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2)])
    assert load_extract(con, APC_SPELLS, f, Q2, "r1", validator.validate).status == ACCEPTED
    assert load_extract(con, APC_SPELLS, f, Q2, "r2", validator.validate).status == UNCHANGED
    write_extract(f, APC_SPELLS, [spell(1), spell(2), spell(3)])
    assert load_extract(con, APC_SPELLS, f, Q2, "r3", validator.validate).status == ACCEPTED
    assert _count(con, "SELECT count(*) FROM apc_spells") == 3  # replaced, not appended


def test_missing_file_is_reported(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    out = load_extract(con, PLANS, tmp_path / "plans.csv", Q2, "r", validator.validate)
    assert out.status == MISSING and not out.usable
