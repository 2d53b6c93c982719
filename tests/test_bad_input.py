"""A corpus of broken extracts: each gets a specific error naming file, line and column, a documented
outcome (docs/guide/bad-input.md), and leaves the warehouse exactly as it was."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import warehouse
from metrics.contracts import APC_SPELLS, POPULATION
from metrics.core.errors import EnvironmentProblem
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, REJECTED, UNCHANGED
from metrics.ingest import load as ingest
from metrics.ingest.load import load_extract
from metrics.validate.gx import Validator
from tests.extract_builders import population_rows, spell, write_extract

Q1, Q2 = Period.parse("2023-24-Q1"), Period.parse("2023-24-Q2")
GOOD = [spell(1), spell(2), spell(3)]


def _good_file(path: Path) -> Path:
    return write_extract(path, APC_SPELLS, GOOD)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _put(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _field(path: Path, line: int, column: str, value: str) -> None:
    lines = _lines(path)
    cells = lines[line - 1].split(",")
    cells[APC_SPELLS.column_names.index(column)] = value
    lines[line - 1] = ",".join(cells)
    _put(path, lines)


Mutation = Callable[[Path], None]
CASES: list[tuple[str, Mutation, str, int | None, str | None, str]] = [
    # (case, mutation, rule, line, column ("*" = any), words in the reason)
    (
        "semicolon delimiter",
        lambda p: _put(p, [ln.replace(",", ";") for ln in _lines(p)]),
        "header",
        1,
        None,
        "does not look comma-delimited",
    ),
    ("utf-16", lambda p: p.write_bytes(p.read_text().encode("utf-16")), "encoding", 1, None, "UTF-16"),
    (
        "missing column",
        lambda p: _put(p, [",".join(ln.split(",")[:-1]) for ln in _lines(p)]),
        "header",
        1,
        None,
        "missing columns hwb_code",
    ),
    ("extra column", lambda p: _put(p, [ln + ",x" for ln in _lines(p)]), "header", 1, None, "unexpected columns"),
    (
        "renamed column",
        lambda p: _put(p, [_lines(p)[0].replace("spell_id", "spellid"), *_lines(p)[1:]]),
        "header",
        1,
        None,
        "was spell_id renamed to spellid?",
    ),
    (
        "case of header",
        lambda p: _put(p, [_lines(p)[0].upper(), *_lines(p)[1:]]),
        "header",
        1,
        None,
        "differ only in case",
    ),
    (
        "unbalanced quote",
        lambda p: _put(p, [*_lines(p)[:2], _lines(p)[2].replace("P00002", '"P00002'), *_lines(p)[3:]]),
        "csv_",
        3,
        None,
        "quote",
    ),
    ("truncated file", lambda p: p.write_bytes(p.read_bytes()[:-40]), "csv_", 4, "*", "too few fields"),
    ("empty file", lambda p: p.write_bytes(b""), "empty_file", None, None, "empty"),
    ("header only", lambda p: _put(p, _lines(p)[:1]), "no_rows", None, None, "no data rows"),
    ("duplicate row", lambda p: _put(p, [*_lines(p), _lines(p)[1]]), "unique", 5, "spell_id", "duplicate"),
    (
        "UK date format",
        lambda p: _field(p, 3, "admission_date", "10/07/2023"),
        "type",
        3,
        "admission_date",
        "YYYY-MM-DD",
    ),
    (
        "date out of period",
        lambda p: _field(p, 2, "discharge_date", "2023-10-01"),
        "date_window",
        2,
        "discharge_date",
        "2023-07-01..2023-09-30",
    ),
    ("negative age", lambda p: _field(p, 4, "age_at_admission", "-3"), "range", 4, "age_at_admission", "0-120"),
    ("impossible age", lambda p: _field(p, 4, "age_at_admission", "203"), "range", 4, "age_at_admission", "0-120"),
    (
        "age not a number",
        lambda p: _field(p, 4, "age_at_admission", "70y"),
        "type",
        4,
        "age_at_admission",
        "whole number",
    ),
    (
        "unknown admission method",
        lambda p: _field(p, 2, "admission_method", "99"),
        "code",
        2,
        "admission_method",
        "admission_methods",
    ),
    ("unknown HWB", lambda p: _field(p, 2, "hwb_code", "E06999999"), "code", 2, "hwb_code", "hwb_codes"),
    (
        "bad ICD-10",
        lambda p: _field(p, 3, "primary_diagnosis", "J44.1"),
        "pattern",
        3,
        "primary_diagnosis",
        "does not match",
    ),
    ("missing required", lambda p: _field(p, 3, "person_id", ""), "required", 3, "person_id", "required"),
    (
        "wrong quarter",
        lambda p: _put(p, [ln.replace("2023-07-", "2023-05-") for ln in _lines(p)]),
        "wrong_quarter",
        None,
        "discharge_date",
        "most are in 2023-24-Q1",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "rule", "line", "column", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_extract_is_rejected_with_file_line_column_and_nothing_changes(
    tmp_path: Path,
    con: duckdb.DuckDBPyConnection,
    validator: Validator,
    case: str,
    mutate: Mutation,
    rule: str,
    line: int | None,
    column: str | None,
    words: str,
) -> None:
    before = load_extract(con, APC_SPELLS, _good_file(tmp_path / "v1" / "apc_spells.csv"), Q2, "r1", validator.validate)
    assert before.status == ACCEPTED
    snapshot = con.execute("SELECT * FROM apc_spells ORDER BY spell_id").fetchall()

    bad = _good_file(tmp_path / "v2" / "apc_spells.csv")
    mutate(bad)
    out = load_extract(con, APC_SPELLS, bad, Q2, "r2", validator.validate)

    assert out.status == REJECTED, case
    match = [
        p for p in out.problems if p.rule.startswith(rule) and p.line == line and (column == "*" or p.column == column)
    ]
    assert match, f"{case}: {out.problems}"
    assert words in match[0].reason
    assert "v2/apc_spells.csv" in out.summary()
    assert con.execute("SELECT * FROM apc_spells ORDER BY spell_id").fetchall() == snapshot
    stored = con.execute("SELECT count(*) FROM rejects WHERE run_id = 'r2' AND rule LIKE ?", [rule + "%"]).fetchall()
    assert stored[0][0] >= 1


def test_cp1252_file_is_named_as_such(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    f = write_extract(
        tmp_path / "population.csv", POPULATION, population_rows("E06000061", "Kettering & Corby", {"F": {70: 10}})
    )
    f.write_bytes(f.read_bytes().replace(b"Kettering & Corby", "Kettering – Corby".encode("cp1252")))
    out = load_extract(con, POPULATION, f, Q2, "r", validator.validate)
    assert out.status == REJECTED
    assert out.problems[0].line == 2 and "Windows-1252" in out.problems[0].reason


def test_utf8_bom_is_accepted(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    f = _good_file(tmp_path / "apc_spells.csv")
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    assert load_extract(con, APC_SPELLS, f, Q2, "r", validator.validate).status == ACCEPTED


def test_same_file_twice(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    q1_rows = [spell(n, admission_date="2023-05-01", discharge_date="2023-05-03") for n in (1, 2)]
    q1 = write_extract(tmp_path / "Q1" / "apc_spells.csv", APC_SPELLS, q1_rows)
    assert load_extract(con, APC_SPELLS, q1, Q1, "r1", validator.validate).status == ACCEPTED
    # Delivered again for the same quarter: skipped, nothing appended.
    assert load_extract(con, APC_SPELLS, q1, Q1, "r2", validator.validate).status == UNCHANGED
    # The same bytes delivered as next quarter's file: refused with a specific reason.
    q2 = tmp_path / "Q2" / "apc_spells.csv"
    q2.parent.mkdir()
    q2.write_bytes(q1.read_bytes())
    out = load_extract(con, APC_SPELLS, q2, Q2, "r3", validator.validate)
    assert out.status == REJECTED and out.problems[0].rule == "duplicate_delivery"
    assert "accepted for 2023-24-Q1" in out.problems[0].reason
    assert con.execute("SELECT count(*) FROM apc_spells").fetchall() == [(2,)]


@pytest.mark.parametrize("step", ["deleted_old_partition", "inserted_new_partition", "logged_load"])
def test_failure_mid_commit_leaves_the_warehouse_exactly_as_before(
    tmp_path: Path,
    con: duckdb.DuckDBPyConnection,
    validator: Validator,
    step: str,
) -> None:
    v1 = write_extract(tmp_path / "v1" / "apc_spells.csv", APC_SPELLS, GOOD[:2])
    assert load_extract(con, APC_SPELLS, v1, Q2, "r1", validator.validate).status == ACCEPTED
    tables = ("apc_spells", "loads", "rejects")
    before = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}

    def fail(at: str) -> None:
        if at == step:
            raise OSError(f"disk full at {at}")

    v2 = write_extract(tmp_path / "v2" / "apc_spells.csv", APC_SPELLS, GOOD)
    ingest.fault_injection = fail
    try:
        # A write the file system refuses is the environment's problem (exit 3), named as such.
        with pytest.raises(EnvironmentProblem, match="disk full"):
            load_extract(con, APC_SPELLS, v2, Q2, "r2", validator.validate)
    finally:
        ingest.fault_injection = None
    assert {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables} == before
    # And the same file loads normally afterwards.
    assert load_extract(con, APC_SPELLS, v2, Q2, "r3", validator.validate).status == ACCEPTED


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_never_half_loads(tmp_path: Path, validator: Validator, data: st.DataObject) -> None:
    """Random bytes inserted, deleted or lines duplicated: the load is either accepted whole (and then
    every row is in the table) or rejected with reasons and the table untouched; never a crash."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))  # a fresh warehouse for every example
    c = warehouse.connect(root / "w.duckdb")
    try:
        good = write_extract(root / "apc_spells.csv", APC_SPELLS, [spell(n) for n in range(1, 8)])
        raw = bytearray(good.read_bytes())
        for _ in range(data.draw(st.integers(1, 4))):
            kind = data.draw(st.sampled_from(["insert", "delete", "dup_line"]))
            pos = data.draw(st.integers(0, len(raw) - 1))
            if kind == "insert":
                raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=6))
            elif kind == "delete":
                del raw[pos : pos + data.draw(st.integers(1, 10))]
            else:
                lines = bytes(raw).split(b"\n")
                i = data.draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i])
                raw = bytearray(b"\n".join(lines))
        good.write_bytes(bytes(raw))
        out = load_extract(c, APC_SPELLS, good, Q2, "fuzz", validator.validate)
        count = c.execute("SELECT count(*) FROM apc_spells").fetchall()[0][0]
        if out.status == ACCEPTED:
            assert count == out.rows > 0
        else:
            assert out.status == REJECTED and out.problems and all(p.reason for p in out.problems)
            assert count == 0
    finally:
        c.close()
