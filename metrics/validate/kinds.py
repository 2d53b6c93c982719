"""Row-rule kinds: each kind's DuckDB SQL form and Great Expectations form, side by side.

A contract's row rules (``metrics.validate.rules.contract_rules``) are checked twice, in SQL over
every row (``metrics.validate.sql``) and by GX (``metrics.validate.gx``); both must report the same
problems (``tests/test_row_rules.py``). Keeping the two forms of a kind next to each other is what
keeps them equal: a new kind is one entry here, and neither checker has a branch of its own.

``sql(rule)`` gives the condition that marks a failing row and its parameters. ``gx(E, rule, meta)``
gives the expectation, ``E`` being ``great_expectations.expectations`` (passed in, so importing this
module does not import GX).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metrics.validate.rules import Rule


def quote(name: str) -> str:
    """A DuckDB identifier, embedded quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class RuleKind:
    sql: Callable[[Rule], tuple[str, list[object]]]
    gx: Callable[[Any, Rule, dict[str, Any]], Any]
    doc: str


def _range_sql(r: Rule) -> tuple[str, list[object]]:
    q = quote(r.column)
    v = f"{q}::TIMESTAMP" if r.rule == "date_window" else q
    bounds = [(f"{v} < ?", r.low), (f"{v} > ?", r.high)]
    return (
        f"{q} IS NOT NULL AND (" + " OR ".join(c for c, b in bounds if b is not None) + ")",
        [b for _, b in bounds if b is not None],
    )


def _unique_sql(r: Rule) -> tuple[str, list[object]]:
    # Every copy is flagged (pandas keep=False); rows with the whole key empty are not.
    keys = ", ".join(quote(c) for c in r.columns)
    return (
        f"count(*) OVER (PARTITION BY {keys}) > 1 AND NOT ("
        + " AND ".join(f"{quote(c)} IS NULL" for c in r.columns)
        + ")",
        [],
    )


def _unique_gx(E: Any, r: Rule, m: dict[str, Any]) -> Any:
    if len(r.columns) == 1:
        return E.ExpectColumnValuesToBeUnique(column=r.column, meta=m)
    return E.ExpectCompoundColumnsToBeUnique(column_list=list(r.columns), meta=m)


def _order_sql(r: Rule) -> tuple[str, list[object]]:
    later, earlier = (quote(c) for c in r.columns)
    return f"{later} IS NOT NULL AND {earlier} IS NOT NULL AND {later} < {earlier}", []


RULE_KINDS: dict[str, RuleKind] = {
    "required": RuleKind(
        sql=lambda r: (f"{quote(r.column)} IS NULL", []),
        gx=lambda E, r, m: E.ExpectColumnValuesToNotBeNull(column=r.column, meta=m),
        doc="the column is present on every row",
    ),
    "pattern": RuleKind(
        # RE2 search, as GX's pandas regex is re.search; contract patterns are anchored.
        sql=lambda r: (f"{quote(r.column)} IS NOT NULL AND NOT regexp_matches({quote(r.column)}, ?)", [r.pattern]),
        gx=lambda E, r, m: E.ExpectColumnValuesToMatchRegex(column=r.column, regex=r.pattern or "", meta=m),
        doc="a present value matches the column's regular expression",
    ),
    "code": RuleKind(
        sql=lambda r: (
            f"{quote(r.column)} IS NOT NULL AND NOT list_contains(?::VARCHAR[], {quote(r.column)})",
            [list(r.values)],
        ),
        gx=lambda E, r, m: E.ExpectColumnValuesToBeInSet(column=r.column, value_set=list(r.values), meta=m),
        doc="a present value is one of the allowed codes (inline or a reference list)",
    ),
    "range": RuleKind(
        sql=_range_sql,
        gx=lambda E, r, m: E.ExpectColumnValuesToBeBetween(column=r.column, min_value=r.low, max_value=r.high, meta=m),
        doc="a present number lies within the column's minimum and maximum",
    ),
    "date_window": RuleKind(
        sql=_range_sql,
        gx=lambda E, r, m: E.ExpectColumnValuesToBeBetween(column=r.column, min_value=r.low, max_value=r.high, meta=m),
        doc="a present date lies in the window the column declares relative to the delivery period",
    ),
    "unique": RuleKind(sql=_unique_sql, gx=_unique_gx, doc="no two rows share the key"),
    "order": RuleKind(
        sql=_order_sql,
        gx=lambda E, r, m: E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=r.columns[0],
            column_B=r.columns[1],
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=m,
        ),
        doc="when both are present, the later column is not before the earlier one",
    ),
    "required_if": RuleKind(
        sql=lambda r: (f"{quote(r.column)} IS NULL AND {quote(r.columns[1])} IS NOT NULL", []),
        gx=lambda E, r, m: E.ExpectColumnValuesToNotBeNull(
            column=r.column, row_condition=f"{r.columns[1]}.notnull()", condition_parser="pandas", meta=m
        ),
        doc="the column is present whenever its condition column is",
    ),
}


def kind_of(r: Rule) -> RuleKind:
    try:
        return RULE_KINDS[r.rule]
    except KeyError:
        raise ValueError(f"no rule kind {r.rule!r}; known: {sorted(RULE_KINDS)}") from None
