"""Alike columns (population's single-year ages) are validated by GX as one long column.

GX costs about 20-25 ms of Python per expectation per validation (issue #16), so the population
extract's 92 alike count columns x (required, range) were most of a run's GX time. They are now a
constant number of expectations on a (CSV line, column, value) frame; these tests hold GX's own
report of a failing age value to its exact line, column, rule and reason, and the Data Docs to a
page that says which columns the expectations cover.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pandas as pd

from metrics.contracts import POPULATION, Column
from metrics.core.periods import Period
from metrics.core.results import REJECTED, Problem
from metrics.ingest.load import load_extract
from metrics.validate.gx import GROUP_MIN_COLUMNS, Validator, build_expectations, column_groups, group_expectations
from tests.extract_builders import population_rows, write_extract

Q2 = Period.parse("2023-24-Q2")
AGES = [c.name for c in POPULATION.columns[6:]]


def test_population_suites_do_not_grow_with_its_age_columns() -> None:
    wide, groups = column_groups(POPULATION, Q2)
    assert len(groups) == 1
    (group,) = groups
    assert set(group.columns) == {"all_ages", *AGES}  # 92 columns: required and >= 0 each
    # mid_year is an integer too, but its range (2000-2100) differs: it stays a column of its own.
    assert "mid_year" not in group.columns and ("range", "mid_year") in {(r.rule, r.column) for r in wide}
    total = len(build_expectations(POPULATION, Q2)) + len(group_expectations(group))
    assert total <= 12, total  # was 193 expectations, one per column and rule

    # Twice the age columns: still the same number of expectations.
    more = tuple(Column(f"x{i}", "INTEGER", "more ages", minimum=0) for i in range(100))
    wider = dataclasses.replace(POPULATION, columns=POPULATION.columns + more)
    _, (bigger,) = column_groups(wider, Q2)
    assert len(bigger.columns) == 192
    assert len(build_expectations(wider, Q2)) + len(group_expectations(bigger)) == total


def test_a_few_alike_columns_stay_wide() -> None:
    few = dataclasses.replace(POPULATION, columns=POPULATION.columns[: 6 + GROUP_MIN_COLUMNS - 2])
    assert column_groups(few, Q2)[1] == []


def test_gx_reports_a_bad_age_with_its_own_line_column_rule_and_reason(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    rows = population_rows("E06000061", "North Northamptonshire", {"F": {70: 10}, "M": {3: 4}})
    rows[0]["45"] = -2  # CSV line 2 (M)
    rows[1]["90+"] = None  # line 3 (F)
    rows[1]["all_ages"] = -1  # line 3
    f = write_extract(tmp_path / "population.csv", POPULATION, rows)
    gx_found: list[Problem] = []

    def validate(extract: object, period: Period, frame: pd.DataFrame) -> list[Problem]:
        got = validator.validate(POPULATION, period, frame)
        gx_found.extend(got)
        return got

    out = load_extract(con, POPULATION, f, Q2, "r", validate)
    expected = [
        Problem(2, "45", "range", "45 outside >= 0"),
        Problem(3, "90+", "required", "90+ is required but empty"),
        Problem(3, "all_ages", "range", "all_ages outside >= 0"),
    ]
    # GX alone finds each of them, exactly as the SQL rules word them, and nothing else.
    assert sorted(gx_found, key=lambda p: (p.line or 0, p.column or "")) == expected
    assert out.status == REJECTED
    assert [(p.line, p.column, p.rule, p.reason) for p in out.problems] == [
        (p.line, p.column, p.rule, p.reason) for p in expected
    ]
    stored = con.execute("SELECT line, column_name, rule FROM rejects ORDER BY line, column_name").fetchall()
    assert stored == [(2, "45", "range"), (3, "90+", "required"), (3, "all_ages", "range")]


def test_the_data_docs_show_which_columns_the_long_expectations_cover(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    v = Validator(tmp_path / "docs")
    rows = population_rows("E06000061", "North Northamptonshire", {"F": {70: 10}})
    rows[0]["12"] = -5
    f = write_extract(tmp_path / "population.csv", POPULATION, rows)
    assert load_extract(con, POPULATION, f, Q2, "r", v.validate).status == REJECTED
    index = v.finish()
    assert index is not None
    pages = sorted((tmp_path / "docs" / "validations").rglob("*.html"))
    long = [p for p in pages if "population_2023-24-Q2_columns_all_ages_to_90plus" in p.as_posix()]
    assert len(pages) == 2 and len(long) == 1
    text = long[0].read_text(encoding="utf-8")
    assert "each of the 92 columns all_ages, 0, 1, 2" in text and "89, 90+" in text
    assert "_column" in text and "_line" in text  # each failing value shown with its line and column
    assert "population_2023-24-Q2_columns_all_ages_to_90plus" in index.read_text(encoding="utf-8")
