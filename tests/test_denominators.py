"""A rate is never computed from an incomplete denominator (``metrics.compute.denominators``).

The worked numbers are in ``metrics/definitions/bcf/cases/population_denominators.toml`` (run by
tests/test_metric_cases.py); here the reasons are checked word for word, and the cases a case file
cannot give (an empty count, which ingest would reject) are inserted straight into the tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from metrics import warehouse
from metrics.compute.cases import all_cases, case_database, run_case
from metrics.compute.metric import compute_metric
from metrics.compute.status import CONTEXT, NO_DATA
from metrics.contracts import POPULATION
from metrics.core.periods import Period
from metrics.core.registry import get
from metrics.core.results import MetricResult

Q2, Q4 = Period.parse("2023-24-Q2"), Period.parse("2023-24-Q4")
CASES = {c.id: c for c in all_cases("bcf") if c.file.stem == "population_denominators"}


@pytest.mark.parametrize(
    ("case_id", "reason"),
    [
        ("denominator_missing_sex_f", "population for E06000002 has no row for sex F"),
        ("denominator_missing_sex_f_isr", "population for E06000002 has no row for sex F"),
        (
            "denominator_missing_age_90_plus",
            "population for E06000003: all_ages for sex F is not the sum of the single years of age 0-89 and 90+",
        ),
        (
            "denominator_missing_age_90_plus_dsr",
            "population for E06000003: all_ages for sex F is not the sum of the single years of age 0-89 and 90+",
        ),
        ("denominator_zero_all_ages", "population for E06000004 has no total (all_ages is empty or zero) for sex M"),
        (
            "denominator_all_ages_disagrees",
            "population for E06000005: all_ages for sex M is not the sum of the single years of age 0-89 and 90+",
        ),
    ],
)
def test_an_incomplete_population_gives_no_rate_and_says_why(case_id: str, reason: str) -> None:
    result = run_case(CASES[case_id])
    assert result.value is None and result.denominator is None and result.lower is None
    assert result.note == reason
    assert result.status == NO_DATA and result.status_reason.endswith("; " + reason)


def test_a_complete_population_gives_the_normal_figure() -> None:
    result = run_case(CASES["denominator_complete"])
    assert (result.numerator, result.denominator, result.value, result.note) == (2, 100_000, 2.0, "")


@pytest.fixture
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    con = case_database()
    yield con
    con.close()


def _population(con: duckdb.DuckDBPyConnection, code: str, sex: str, counts: dict[str, int | None]) -> None:
    """One MYE2 row, ages not given 0, all_ages the sum of those given."""
    ages = {c.name: counts.get(c.name, 0) for c in POPULATION.columns[6:]}
    total = sum(v or 0 for v in ages.values())
    cols = ["_period", "_line", "code", "name", "geography", "sex", "mid_year", "all_ages", *ages]
    vals = [Q2.label, 2, code, "-", "UA", sex, 2022, total, *ages.values()]
    names = ", ".join(f'"{c}"' for c in cols)
    con.execute(f"INSERT INTO population ({names}) VALUES ({', '.join('?' * len(vals))})", vals)


def _compute(con: duckdb.DuckDBPyConnection, metric_id: str, period: Period, area: str) -> MetricResult:
    warehouse.prepare_views(con, period)
    card = get(metric_id).scorecard
    scheme = "plan" if card == "bcf" else "rag"
    [result] = compute_metric(con, get(metric_id), period, [area], {}, scheme)
    return result


def test_an_empty_90_plus_count_gives_no_rate(db: duckdb.DuckDBPyConnection) -> None:
    """Ingest rejects an empty count (a required cell); loaded any other way, it is still caught."""
    _population(db, "E06000001", "F", {"70": 10_000, "90+": None})
    _population(db, "E06000001", "M", {"70": 10_000})
    result = _compute(db, "residential_admissions_65_plus", Q2, "E06000001")
    assert result.value is None and result.note == "population for E06000001 has no count for age 90+ (sex F)"


def test_ages_below_the_metric_s_are_not_needed_but_all_ages_still_is(db: duckdb.DuckDBPyConnection) -> None:
    _population(db, "E06000001", "F", {"70": 10_000, "40": None})
    _population(db, "E06000001", "M", {"70": 10_000})
    result = _compute(db, "residential_admissions_65_plus", Q2, "E06000001")
    assert (
        result.note
        == "population for E06000001: all_ages for sex F cannot be checked, some single years of age are empty"
    )
    assert _compute(db, "avoidable_admissions", Q2, "E06000001").note == (
        "population for E06000001 has no count for age 40 (sex F)"
    )


def test_a_negative_count_gives_no_rate(db: duckdb.DuckDBPyConnection) -> None:
    _population(db, "E06000001", "F", {"70": 10_000, "75": -5})
    _population(db, "E06000001", "M", {"70": 10_000})
    result = _compute(db, "residential_admissions_65_plus", Q2, "E06000001")
    assert result.note == "population for E06000001 has a negative count for age 75 (sex F)"


def test_an_area_with_no_population_at_all_gives_no_rate(db: duckdb.DuckDBPyConnection) -> None:
    result = _compute(db, "falls_65_plus", Q2, "E06000009")
    assert result.value is None and result.note == "population for E06000009 has no rows"


def _children(con: duckdb.DuckDBPyConnection, code: str, counts: dict[int, int | None]) -> None:
    if not counts:
        return
    con.executemany(
        "INSERT INTO child_population (_period, _line, code, name, mid_year, age, population) "
        "VALUES (?, ?, ?, '-', 2023, ?, ?)",
        [[Q4.label, i + 2, code, age, n] for i, (age, n) in enumerate(counts.items())],
    )


FULL = dict.fromkeys(range(18), 500)  # 9,000 children aged 0-17


@pytest.mark.parametrize(
    ("counts", "reason"),
    [
        ({a: n for a, n in FULL.items() if a != 5}, "child_population for E06000001 has no count for age 5"),
        ({a: n for a, n in FULL.items() if a < 16}, "child_population for E06000001 has no count for ages 16, 17"),
        ({**FULL, 9: None}, "child_population for E06000001 has no count for age 9"),
        ({**FULL, 3: -1}, "child_population for E06000001 has a negative count for age 3"),
        (dict.fromkeys(range(18), 0), "child_population for E06000001 totals zero children"),
        ({}, "child_population for E06000001 has no rows"),
    ],
)
def test_an_incomplete_child_population_gives_no_rate(
    db: duckdb.DuckDBPyConnection, counts: dict[int, int | None], reason: str
) -> None:
    _children(db, "E06000001", counts)
    for metric_id in ("cla_rate", "cp_rate"):
        result = _compute(db, metric_id, Q4, "E06000001")
        assert result.value is None and result.denominator is None and result.note == reason
        assert result.status == CONTEXT and reason in result.status_reason  # a context measure keeps its status


def test_a_complete_child_population_gives_the_rate(db: duckdb.DuckDBPyConnection) -> None:
    _children(db, "E06000001", FULL)
    result = _compute(db, "cla_rate", Q4, "E06000001")
    assert (result.denominator, result.value, result.note) == (9000, 0.0, "")  # no children looked after: 0 per 10,000
