"""Whether an area's population is complete enough to be a rate's denominator.

A rate is never computed from an incomplete denominator: a population missing a sex halves the
rate's denominator, a missing age band skews a standardised rate, and neither looks wrong in the
published figure. The check lives here, in compute, per area, rather than rejecting the file at
ingest: each row of a population file can be valid on its own (the contract checks every row),
and whether the rows *together* cover an area is a question about the area - one incomplete
area must not take every other area's metrics with it, and which ages are needed depends on the
metric (``min_age``: 65+ for the falls and care-home metrics, all ages for avoidable admissions).

Every metric reading a population extract (``CHECKS``: the BCF ``population`` in the ONS MYE2
layout, the safeguarding ``child_population`` by single year 0-17) consults ``incomplete``
before computing; an area it names gets no value, and the reason goes into the result's note and
status reason (*Data not available to assess progress*, or a context measure's status).

The checks, per area, for the metric's ages (``min_age`` up to the top age):

- ``population``: a row for each sex (M and F) and only one; a count for every needed age in
  each (``population_long`` leaves out an empty cell); no negative count; ``all_ages`` above zero
  for each sex and equal to the sum of the single years 0-89 and 90+ (the MYE2 total; the contract
  checks each cell, nothing else checks the total).
- ``child_population``: a row for every needed age and only one; no empty or negative count; a
  total above zero.

A single year of age may be zero: a small area (the Isles of Scilly, the City of London) can have
no one of one sex at one old age, and a zero band in a standardised rate is caught by its method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import duckdb

from metrics.core.periods import Period
from metrics.core.registry import Metric

SEXES = ("M", "F")
TOP_AGE = {"population": 90, "child_population": 17}


def _age(a: int, top: int) -> str:
    return "90+" if top == 90 and a == 90 else str(a)


def _ages(ages: Sequence[int], top: int) -> str:
    shown = ", ".join(_age(a, top) for a in ages[:5])
    more = f" and {len(ages) - 5} more" if len(ages) > 5 else ""
    return f"age{'s' if len(ages) > 1 else ''} {shown}{more}"


def _mye2(con: duckdb.DuckDBPyConnection, period: Period, hwbs: Sequence[str], min_age: int) -> dict[str, str]:
    top = TOP_AGE["population"]
    rows = con.execute(
        """
        WITH long AS (
            SELECT hwb_code, sex, list(age ORDER BY age) AS ages, sum(population) AS total,
                   list(age ORDER BY age) FILTER (WHERE population < 0) AS negative
            FROM population_long
            WHERE period = $period AND list_contains($hwbs, hwb_code)
            GROUP BY ALL
        )
        SELECT p.code, p.sex, count(*) OVER (PARTITION BY p.code, p.sex) AS copies, p.all_ages,
               l.ages, l.total, l.negative
        FROM population AS p LEFT JOIN long AS l ON l.hwb_code = p.code AND l.sex = p.sex
        WHERE p._period = $period AND list_contains($hwbs, p.code)
        ORDER BY p.code, p.sex
        """,
        {"period": period.label, "hwbs": list(hwbs)},
    ).fetchall()
    by_area: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_area.setdefault(str(r[0]), []).append(r)
    out: dict[str, str] = {}
    for hwb in hwbs:
        area = by_area.get(hwb, [])
        what = f"population for {hwb}"
        sexes = {str(r[1]) for r in area}
        missing = [s for s in SEXES if s not in sexes]
        if not area:
            out[hwb] = f"{what} has no rows"
            continue
        if missing:
            out[hwb] = f"{what} has no row for sex {' or '.join(missing)}"
            continue
        reason = None
        for _code, sex, copies, all_ages, ages, total, negative in sorted(area, key=lambda r: SEXES.index(str(r[1]))):
            have = set(ages or [])
            lacking = [a for a in range(min_age, top + 1) if a not in have]
            if int(copies) > 1:
                reason = f"{what} has {copies} rows for sex {sex}"
            elif lacking:
                reason = f"{what} has no count for {_ages(lacking, top)} (sex {sex})"
            elif negative:
                reason = f"{what} has a negative count for {_ages(negative, top)} (sex {sex})"
            elif all_ages is None or int(all_ages) <= 0:
                reason = f"{what} has no total (all_ages is empty or zero) for sex {sex}"
            elif len(have) == top + 1 and int(all_ages) != int(total):
                reason = f"{what}: all_ages for sex {sex} is not the sum of the single years of age 0-89 and 90+"
            elif len(have) < top + 1:
                reason = f"{what}: all_ages for sex {sex} cannot be checked, some single years of age are empty"
            if reason:
                break
        if reason:
            out[hwb] = reason
    return out


def _by_age(con: duckdb.DuckDBPyConnection, period: Period, hwbs: Sequence[str], min_age: int) -> dict[str, str]:
    top = TOP_AGE["child_population"]
    rows = con.execute(
        """
        SELECT code, list(age ORDER BY age) FILTER (WHERE population IS NOT NULL) AS ages,
               count(*) - count(DISTINCT age) AS repeated, sum(population) AS total,
               list(age ORDER BY age) FILTER (WHERE population < 0) AS negative
        FROM child_population
        WHERE _period = $period AND list_contains($hwbs, code)
        GROUP BY code
        """,
        {"period": period.label, "hwbs": list(hwbs)},
    ).fetchall()
    found = {str(r[0]): r for r in rows}
    out: dict[str, str] = {}
    for hwb in hwbs:
        what = f"child_population for {hwb}"
        if hwb not in found:
            out[hwb] = f"{what} has no rows"
            continue
        _code, ages, repeated, total, negative = found[hwb]
        lacking = [a for a in range(min_age, top + 1) if a not in set(ages or [])]
        if lacking:
            out[hwb] = f"{what} has no count for {_ages(lacking, top)}"
        elif repeated:
            out[hwb] = f"{what} has more than one row for an age"
        elif negative:
            out[hwb] = f"{what} has a negative count for {_ages(negative, top)}"
        elif total is None or int(total) <= 0:
            out[hwb] = f"{what} totals zero children"
    return out


# A string alias: a runtime ``Callable[[duckdb.DuckDBPyConnection, ...]]`` sits in typing's caches
# until interpreter exit, and DuckDB's nanobind bindings then print "nanobind: leaked ..." lines.
Check: TypeAlias = "Callable[[duckdb.DuckDBPyConnection, Period, Sequence[str], int], dict[str, str]]"
CHECKS: dict[str, Check] = {"population": _mye2, "child_population": _by_age}


def incomplete(
    con: duckdb.DuckDBPyConnection,
    metric: Metric,
    period: Period,
    hwbs: Sequence[str],
    checked: dict[tuple[str, str, tuple[str, ...], int], dict[str, str]] | None = None,
) -> dict[str, str]:
    """Areas whose population cannot be the metric's denominator for ``period``, with the reason
    (empty for a metric reading no population). Needs the views of ``prepare_views``.

    ``checked`` keeps each check's answer for the connection's period: every window of every metric
    with the same population and minimum age asks the same question (27 queries a BCF quarter, 5 distinct)."""
    out: dict[str, str] = {}
    min_age = int(metric.parameters.get("min_age", 0))
    for source in metric.sources:
        check = CHECKS.get(source)
        if check is None:
            continue
        key = (source, period.label, tuple(hwbs), min_age)
        if checked is None or key not in checked:
            found = check(con, period, hwbs, min_age)
            if checked is None:
                checked = {}
            checked[key] = found
        for hwb, reason in checked[key].items():
            out.setdefault(hwb, reason)
    return out
