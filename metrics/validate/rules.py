from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from metrics.contracts import Column, Extract
from metrics.core.periods import Period
from metrics.warehouse import reference_codes


def _date_bounds(col: Column, period: Period) -> tuple[dt.date, dt.date] | None:
    if col.window == "period":
        return period.start, period.end
    if col.window == "up_to_period_end":
        return period.end.replace(year=period.end.year - 5), period.end
    if col.window == "by_period_end":
        return dt.date(1900, 1, 1), period.end
    return None


@dataclass(frozen=True)
class Rule:
    """One row rule of a contract for a delivery period; GX and SQL (``metrics.validate.sql``) both run these."""

    rule: str  # required | pattern | code | range | date_window | unique | order | required_if
    column: str  # the column reported (comma-joined for a compound key)
    reason: str
    columns: tuple[str, ...] = ()  # unique: the key; order: (later, earlier); required_if: (column, condition)
    pattern: str | None = None
    values: tuple[str, ...] = ()
    low: Any = None
    high: Any = None


def contract_rules(extract: Extract, period: Period) -> list[Rule]:
    """Every row rule of ``extract`` for ``period``, in the order problems are reported."""
    out: list[Rule] = []
    for c in extract.columns:
        if c.required:
            out.append(Rule("required", c.name, f"{c.name} is required but empty"))
        if c.pattern:
            out.append(Rule("pattern", c.name, f"{c.name} does not match {c.pattern}", pattern=c.pattern))
        if c.codes is not None:
            values = tuple(c.codes) if isinstance(c.codes, tuple) else tuple(reference_codes(c.codes))
            source = "allowed values" if isinstance(c.codes, tuple) else f"reference list {c.codes}"
            out.append(Rule("code", c.name, f"{c.name} is not in the {source}", values=values))
        if c.minimum is not None or c.maximum is not None:
            rng = f"{c.minimum:g}-{c.maximum:g}" if c.maximum is not None else f">= {c.minimum:g}"
            out.append(Rule("range", c.name, f"{c.name} outside {rng}", low=c.minimum, high=c.maximum))
        bounds = _date_bounds(c, period)
        if bounds:
            lo, hi = bounds
            # A timestamp on the window's last day is inside it up to midnight.
            last = dt.time(23, 59, 59) if c.dtype == "TIMESTAMP" else dt.time()
            out.append(
                Rule(
                    "date_window",
                    c.name,
                    f"{c.name} outside {lo.isoformat()}..{hi.isoformat()} for {period.label}",
                    low=dt.datetime.combine(lo, dt.time()),
                    high=dt.datetime.combine(hi, last),
                )
            )
    for cols in extract.unique:
        what = cols[0] if len(cols) == 1 else f"({', '.join(cols)})"
        out.append(Rule("unique", ",".join(cols), f"duplicate {what}", columns=tuple(cols)))
    for later, earlier in extract.ordered:
        out.append(Rule("order", later, f"{later} is before {earlier}", columns=(later, earlier)))
    for col, cond in extract.required_if:
        out.append(Rule("required_if", col, f"{col} is required when {cond} is present", columns=(col, cond)))
    return out
