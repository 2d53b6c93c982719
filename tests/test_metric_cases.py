"""Every hand-worked metric case (``metrics/definitions/<card>/cases/*.toml``, format in
``metrics.compute.cases``) against the metric it names; every declared metric must have one."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from metrics.compute.cases import Case, CaseError, all_cases, case_database, check_case, load_cases, run_case
from metrics.core.registry import all_metrics

pytestmark = pytest.mark.fast

CASES = all_cases()


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """One in-memory warehouse for the module: each case runs in a transaction rolled back after it."""
    c = case_database()
    yield c
    c.close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, con: duckdb.DuckDBPyConnection) -> None:
    problems = check_case(case, run_case(case, con))
    assert not problems, "\n".join([case.why, *problems])


def test_every_metric_has_a_case() -> None:
    covered = {c.metric_id for c in CASES}
    assert sorted(m.id for m in all_metrics() if m.id not in covered) == []


def test_a_wrong_expectation_fails(con: duckdb.DuckDBPyConnection) -> None:
    case = CASES[0]
    result = run_case(case, con)
    assert check_case(case, result) == []
    for wrong, what in (
        (dataclasses.replace(case, numerator=(case.numerator or 0) + 1), "numerator"),
        (dataclasses.replace(case, value=(case.value or 0) + 2 * case.tolerance), "value"),
        (dataclasses.replace(case, denominator=None), "denominator"),
    ):
        assert [p.split(":")[0] for p in check_case(wrong, result)] == [what]


def test_a_fresh_database_gives_the_same_result(con: duckdb.DuckDBPyConnection) -> None:
    """The shared connection (rolled back after each case) and a new in-memory warehouse agree."""
    for card in ("bcf", "safeguarding"):
        case = next(c for c in CASES if c.card == card)
        assert run_case(case) == run_case(case, con)


_CASE = """
area = "E06000061"
period = "2023-24-Q2"
[given.care_home_admissions]
rows = [{ROW}]
[[case]]
id = "x"
metric = "residential_admissions_65_plus"
why = "-"
numerator = 0
denominator = 0
value = "none"
tolerance = 0
"""


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            '{ admission_id = "C1", age = 70, admission_date = 2023-07-01, setting = "residential", colour = "red" }',
            "'colour' is not a column",
        ),
        ('{ admission_id = "C1", age = 70, admission_date = 2023-07-01 }', "required column setting"),
    ],
)
def test_malformed_rows_are_refused(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "bcf" / "cases" / "x.toml"
    path.parent.mkdir(parents=True)
    path.write_text(_CASE.replace("{ROW}", row), encoding="utf-8")
    with pytest.raises(CaseError, match=message):
        load_cases(path)


def test_a_value_of_the_wrong_type_is_refused(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = tmp_path / "bcf" / "cases" / "x.toml"
    path.parent.mkdir(parents=True)
    row = (
        '{ admission_id = "C1", age = "seventy", admission_date = 2023-07-01, setting = "residential", '
        "first_admission_date = 2023-07-01 }"
    )
    path.write_text(_CASE.replace("{ROW}", row), encoding="utf-8")
    [case] = load_cases(path)
    with pytest.raises(CaseError, match="seventy"):
        run_case(case, con)
    assert check_case(CASES[0], run_case(CASES[0], con)) == []  # the connection is still usable
