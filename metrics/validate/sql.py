"""The contract's row rules as DuckDB SQL over the typed staging table.

These are the same rules, with the same rule ids and reasons, as the Great Expectations suites
that ``metrics.validate.gx`` generates from the contract (``build_expectations`` and, for columns
declared alike, ``group_expectations``). GX validates a pandas frame, and turning a national
quarter (4-5 million spells) into one took most of a run's time and memory; DuckDB checks every
row in place in a fraction of that. GX still validates each file - whole for files up to
``validation.GX_MAX_ROWS`` rows, otherwise every line these rules flag plus a systematic sample -
so its suite and Data Docs stay the published record of what was checked.
``tests/test_row_rules.py`` holds the two to the same problems on every bad-input case.
"""

from __future__ import annotations

from collections import Counter

import duckdb

from metrics.contracts import Extract
from metrics.core.periods import Period
from metrics.core.results import Problem
from metrics.validate.kinds import kind_of, quote
from metrics.validate.rules import Rule, contract_rules


def _condition(r: Rule) -> tuple[str, list[object]]:
    """The SQL condition that marks a row failing ``r``, and its parameters (``metrics.validate.kinds``)."""
    return kind_of(r).sql(r)


def problems(con: duckdb.DuckDBPyConnection, extract: Extract, period: Period, table: str) -> list[Problem]:
    """Every failing (line, rule) in ``table`` (typed rows with their CSV ``_line``), in suite order."""
    rules = contract_rules(extract, period)
    if not rules:
        return []
    checks = [_condition(r) for r in rules]
    by_rule = failing_lines(con, table, [c for c, _ in checks], [p for _, ps in checks for p in ps])
    return [
        Problem(line, r.column, r.rule, r.reason) for r, lines in zip(rules, by_rule, strict=True) for line in lines
    ]


def failing_lines(
    con: duckdb.DuckDBPyConnection, table: str, conditions: list[str], params: list[object] | None = None
) -> list[list[int]]:
    """For each condition, the ``_line`` of every row of ``table`` meeting it, ascending.

    One scan: each row gets the list of the conditions it meets, and only those rows come back.
    """
    flags = ", ".join(f"CASE WHEN {cond} THEN {i} END" for i, cond in enumerate(conditions))
    rows = con.execute(
        f"SELECT _line, failed FROM (SELECT _line, list_filter([{flags}], lambda x: x IS NOT NULL) AS failed "
        f"FROM {table}) WHERE len(failed) > 0 ORDER BY _line",
        params or [],
    ).fetchall()
    out: list[list[int]] = [[] for _ in conditions]
    for line, failed in rows:
        for i in failed:
            out[i].append(int(line))
    return out


def wrong_quarter(
    con: duckdb.DuckDBPyConnection, extract: Extract, period: Period, table: str, found: list[Problem]
) -> list[Problem]:
    """A file-level explanation when most of a column's dates belong to another quarter."""
    out = []
    for c in extract.windowed:
        outside = sum(1 for p in found if p.rule == "date_window" and p.column == c.name)
        if not outside:  # the usual case: no need to scan the column
            continue
        days = con.execute(
            f"SELECT {quote(c.name)}::DATE, count(*) FROM {table} WHERE {quote(c.name)} IS NOT NULL GROUP BY 1"
        ).fetchall()
        dated = sum(int(n) for _, n in days)
        if not dated or outside * 2 < dated:
            continue
        quarters: Counter[str] = Counter()
        for day, n in days:
            quarters[Period.containing(day).label] += int(n)
        likely = min(quarters, key=lambda q: (-quarters[q], q))  # the most common; the earliest on a tie
        out.append(
            Problem(
                None,
                c.name,
                "wrong_quarter",
                f"{outside} of {dated} {c.name} values fall outside {period.label}; most are in "
                f"{likely}: is this the {likely} extract in the {period.label} folder?",
            )
        )
    return out
