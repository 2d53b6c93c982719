"""The SQL row rules find exactly the problems the GX suite finds, extract by extract.

Typed rows are drawn at random (fixed seeds) from pools mixing valid values with every kind of
violation the contracts declare - empty required values, bad patterns, unknown codes, values out
of range, dates just outside their windows, duplicate keys, dates in the wrong order, missing
dependants - then both checks run on the same staging table and must agree line for line.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from metrics.contracts import APC_SPELLS, EXTRACTS, Column, Extract
from metrics.core.periods import Period
from metrics.core.results import REJECTED, Problem
from metrics.ingest.load import load_extract
from metrics.validate import sql as row_rules
from metrics.validate.gx import Validator, gx_max_rows
from metrics.validate.rules import contract_rules
from metrics.warehouse import reference_codes
from tests.extract_builders import spell, write_extract

Q2 = Period.parse("2023-24-Q2")


def _pool(c: Column, period: Period) -> list[object]:
    day = dt.timedelta(days=1)
    if c.dtype == "VARCHAR":
        codes = list(c.codes) if isinstance(c.codes, tuple) else reference_codes(c.codes)[:4] if c.codes else []
        return [None, "zz", "P0001", "P0002", "J441", "W19X;I10", "J44.1", "E06000061", *codes]
    if c.dtype == "INTEGER":
        return [None, -1, 0, 7, 65, 90, 121, 2023]
    if c.dtype == "DOUBLE":
        return [None, -0.5, 0.0, 12.5, 1e6]
    edges = [
        period.start - day,
        period.start,
        period.end,
        period.end + day,
        dt.date(1899, 12, 31),
        period.end.replace(year=period.end.year - 5) - day,
    ]
    if c.dtype == "DATE":
        return [None, *edges]
    return [None, *(dt.datetime.combine(d, t) for d in edges for t in (dt.time(0, 0), dt.time(23, 59)))]


def _staged(con: duckdb.DuckDBPyConnection, extract: Extract, seed: int, rows: int = 60) -> None:
    rng = random.Random(seed)
    pools = {c.name: _pool(c, Q2) for c in extract.columns}
    keys = {c for cols in extract.unique for c in cols}
    cols = ", ".join(f'"{c.name}" {c.dtype}' for c in extract.columns)
    con.execute(f"CREATE OR REPLACE TABLE staged (_line BIGINT, {cols})")
    marks = ", ".join("?" for _ in range(len(extract.columns) + 1))
    data = []
    for line in range(2, rows + 2):
        row: list[object] = [line]
        for c in extract.columns:
            # Mostly valid-looking values; keys from a small pool so duplicates occur.
            pool = pools[c.name]
            row.append(rng.choice(pool[:3] if c.name in keys and rng.random() < 0.2 else pool))
        data.append(row)
    con.executemany(f"INSERT INTO staged VALUES ({marks})", data)


def _key(p: Problem) -> tuple[int, str, str, str]:
    return (p.line or 0, p.column or "", p.rule, p.reason)


@pytest.mark.parametrize("name", sorted(EXTRACTS))
def test_sql_rules_find_what_gx_finds(name: str, validator: Validator, tmp_path: Path) -> None:
    extract = EXTRACTS[name]
    con = duckdb.connect()
    hit: set[tuple[str, str]] = set()
    try:
        for seed in (1, 2, 3):
            _staged(con, extract, seed)
            frame = con.execute("SELECT * FROM staged ORDER BY _line").df().set_index("_line")
            gx = sorted(validator.validate(extract, Q2, frame), key=_key)
            sql = sorted(row_rules.problems(con, extract, Q2, "staged"), key=_key)
            assert sql == gx, f"{name} seed {seed}: SQL-only {set(sql) - set(gx)}, GX-only {set(gx) - set(sql)}"
            hit |= {(p.rule, p.column or "") for p in sql}
    finally:
        con.close()
    # Agreement proves nothing about a rule no row broke: the pools must break every one.
    assert {(r.rule, r.column) for r in contract_rules(extract, Q2)} <= hit


def test_rules_cover_every_declared_check() -> None:
    """Each declared check of every contract becomes a rule (so neither engine can skip one)."""
    for e in EXTRACTS.values():
        rules = {(r.rule, r.column) for r in contract_rules(e, Q2)}
        for c in e.columns:
            assert not c.required or ("required", c.name) in rules
            assert not c.pattern or ("pattern", c.name) in rules
            assert c.codes is None or ("code", c.name) in rules
        assert all(("unique", ",".join(u)) in rules for u in e.unique)
        assert all(("order", later) in rules for later, _ in e.ordered)
        assert all(("required_if", col) in rules for col, _ in e.required_if)


def test_a_file_over_the_gx_limit_is_checked_whole_in_sql_and_gx_sees_every_flagged_line(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORECARD_GX_MAX_ROWS", "3")
    rows = [spell(n) for n in range(1, 21)]  # CSV lines 2-21
    rows[4]["age_at_admission"] = 203  # line 6
    rows[10]["hwb_code"] = "E06999999"  # line 12
    f = write_extract(tmp_path / "apc_spells.csv", APC_SPELLS, rows)
    seen: list[list[int]] = []
    gx_found: list[Problem] = []

    def validate(extract: Extract, period: Period, frame: pd.DataFrame) -> list[Problem]:
        seen.append(sorted(int(i) for i in frame.index))
        found = validator.validate(extract, period, frame)
        gx_found.extend(found)
        return found

    out = load_extract(con, APC_SPELLS, f, Q2, "r", validate)
    assert out.status == REJECTED
    assert {(p.line, p.column, p.rule) for p in out.problems} == {
        (6, "age_at_admission", "range"),
        (12, "hwb_code", "code"),
    }
    # GX saw the flagged lines and a systematic sample (every 7th line: 20 rows / 3), not the file.
    assert seen == [[6, 7, 12, 14, 21]]
    assert {(p.line, p.rule) for p in gx_found} == {(6, "range"), (12, "code")}
    assert con.execute("SELECT count(*) FROM apc_spells").fetchall()[0][0] == 0


def test_a_bad_gx_limit_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCORECARD_GX_MAX_ROWS", "lots")
    with pytest.raises(ValueError, match="SCORECARD_GX_MAX_ROWS must be a whole number"):
        gx_max_rows()
