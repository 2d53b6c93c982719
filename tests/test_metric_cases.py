"""Every hand-worked metric case (``metrics/definitions/<card>/cases/*.toml``, format in
``metrics.compute.cases``) against the metric it names; every declared metric must have one."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import duckdb
import pytest

from metrics.compute.cases import Case, all_cases, case_database, check_case, run_case
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
    assert check_case(case, run_case(case, con)) == [], case.why


def test_every_metric_has_a_case() -> None:
    covered = {c.metric_id for c in CASES}
    assert sorted(m.id for m in all_metrics() if m.id not in covered) == []


def test_a_wrong_expectation_fails(con: duckdb.DuckDBPyConnection) -> None:
    case = CASES[0]
    result = run_case(case, con)
    wrong = dataclasses.replace(case, numerator=case.numerator + 1)
    assert [p.split(":")[0] for p in check_case(wrong, result)] == ["numerator"]


def test_a_fresh_database_gives_the_same_result(con: duckdb.DuckDBPyConnection) -> None:
    """The shared connection (rolled back per case) and a new in-memory warehouse agree."""
    for case in CASES[:2]:
        assert run_case(case) == run_case(case, con)
