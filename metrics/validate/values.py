"""Strict text forms of the contract types: each type has exactly one accepted way to be written.

DuckDB's casts from text are lenient (``CAST('64.5' AS INTEGER)`` is 65, and so are ``'0x41'``,
``'0b1000001'``, ``'6_5'``, ``' 65 '`` and ``'+65'``; ``'1.9E+3'`` is 1900), and ``TRY_CAST`` is the
same, so a cast alone would load a wrong figure silently. Here the delivered text is matched
against the type's one form (``regexp_full_match``) *before* any cast, in SQL over the raw text
table, and only a match is cast:

- INTEGER: ``-?[0-9]+`` - digits, an optional leading minus; no ``+``, spaces, thousands
  separators, decimal point or exponent - and within the column's 32-bit range;
- DOUBLE: ``-?[0-9]+(\\.[0-9]+)?`` - digits on both sides of an optional point, so ``.5`` and ``5.``
  are refused (a spreadsheet always writes ``0.5``; a bare point is more often a lost digit);
  no exponent, NaN or infinity, and finite as a double;
- DATE: ``YYYY-MM-DD`` that is a real date (``2023-02-30`` and year 0000 are refused);
- TIMESTAMP: ``YYYY-MM-DD HH:MM`` or ``YYYY-MM-DD HH:MM:SS``, with a space or ``T``, that is a
  real date and time.

A cell that is empty or only spaces is missing (NULL), as before; any other text not in the form
is a rejected cell: line, column, rule ``type:<type>`` and a reason giving the expected form. The
reason never repeats the value (values may identify people).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from metrics.contracts import Column, Extract
from metrics.core.results import Problem
from metrics.validate import sql as row_rules

_TIME_FORMATS = "['%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M', '%Y-%m-%dT%H:%M:%S']"


@dataclass(frozen=True)
class TextForm:
    """The one accepted text form of a contract type."""

    dtype: str
    pattern: str  # RE2, matched against the whole cell as delivered (no trimming)
    # SQL giving the typed value of ``{c}``, text already matching ``pattern``; NULL when the text
    # has the form but no value of the type (out of range, not a real date).
    value: str
    form: str  # what the form is, for the reason: "{column} is not <form>"
    no_value: str  # the reason when the form matches but there is no such value: "{column} <no_value>"

    @property
    def rule(self) -> str:
        return f"type:{self.dtype.lower()}"


FORMS: dict[str, TextForm] = {
    f.dtype: f
    for f in (
        TextForm(
            "INTEGER",
            r"-?[0-9]+",
            "TRY_CAST({c} AS INTEGER)",
            "a whole number written as digits with an optional leading minus "
            "(no plus sign, spaces, separators, decimal point or exponent)",
            "is a whole number too large for the column (beyond plus or minus 2,147,483,647)",
        ),
        TextForm(
            "DOUBLE",
            r"-?[0-9]+(\.[0-9]+)?",
            "CASE WHEN isfinite(TRY_CAST({c} AS DOUBLE)) THEN TRY_CAST({c} AS DOUBLE) END",
            "a number written as digits with an optional leading minus and decimal part (digits on both "
            "sides of the point; no plus sign, spaces, separators, exponent or special values)",
            "is a number too large to hold as a double-precision value",
        ),
        TextForm(
            "DATE",
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "CASE WHEN {c}[1:4] <> '0000' THEN TRY_CAST({c} AS DATE) END",
            "a date in YYYY-MM-DD form",
            "is not a real date (YYYY-MM-DD with a month 01-12 and a day that month has)",
        ),
        TextForm(
            "TIMESTAMP",
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?",
            f"CASE WHEN {{c}}[1:4] <> '0000' THEN try_strptime({{c}}, {_TIME_FORMATS}) END",
            "a date and time in YYYY-MM-DD HH:MM form (or YYYY-MM-DD HH:MM:SS, with a space or T)",
            "is not a real date and time (month 01-12, a day that month has, hour 00-23, minutes and seconds 00-59)",
        ),
    )
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _matches(form: TextForm, c: str) -> str:
    return f"regexp_full_match({c}, '{form.pattern}')"


def value_sql(column: Column) -> str:
    """SQL for the column's typed value from the raw text column of the same name: the text
    trimmed (VARCHAR), or the value of a cell in its type's form, else NULL."""
    q = _q(column.name)
    if column.dtype == "VARCHAR":
        return f"NULLIF(trim({q}), '')"
    form = FORMS[column.dtype]
    return f"CAST(CASE WHEN {_matches(form, q)} THEN {form.value.format(c=q)} END AS {column.dtype})"


def typed_select(extract: Extract, source: str) -> str:
    """The typed rows of ``source`` (raw text with ``_line``), every column of the contract."""
    parts = ["_line", *(f"{value_sql(c)} AS {_q(c.name)}" for c in extract.columns)]
    return f"SELECT {', '.join(parts)} FROM {source}"


def value_problems(con: duckdb.DuckDBPyConnection, extract: Extract, table: str) -> list[Problem]:
    """Cells of ``table`` (raw text with ``_line``) present but not in their type's form, or in
    the form with no value of the type; found in one scan, ordered by line then column."""
    checks: list[tuple[Column, TextForm, str, str]] = []
    for c in extract.columns:
        if c.dtype == "VARCHAR":
            continue
        form, q = FORMS[c.dtype], _q(c.name)
        present = f"NULLIF(trim({q}), '') IS NOT NULL"
        checks.append((c, form, f"{present} AND NOT {_matches(form, q)}", f"{c.name} is not {form.form}"))
        checks.append(
            (c, form, f"{_matches(form, q)} AND ({form.value.format(c=q)}) IS NULL", f"{c.name} {form.no_value}")
        )
    if not checks:
        return []
    lines = row_rules.failing_lines(con, table, [cond for _, _, cond, _ in checks])
    found = [
        Problem(line, c.name, form.rule, reason)
        for (c, form, _, reason), hit in zip(checks, lines, strict=True)
        for line in hit
    ]
    order = {name: i for i, name in enumerate(extract.column_names)}
    return sorted(found, key=lambda p: (p.line or 0, order[p.column or ""]))
