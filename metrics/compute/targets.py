"""The plans or targets (and amber tolerances) a period is judged on, read from the table its scorecard
declares (``[targets]`` in ``scorecard.toml``)."""

from __future__ import annotations

import duckdb

from metrics.compute.status import PlanKey
from metrics.core.periods import Period
from metrics.core.registry import Scorecard


def targets_for(
    con: duckdb.DuckDBPyConnection, card: Scorecard, period: Period
) -> tuple[dict[PlanKey, float], dict[PlanKey, float]]:
    """Plans or targets keyed (area, metric, financial year, quarter or "YE"), and tolerances keyed the same
    (empty when the scorecard declares none). Annual-only targets are keyed "YE", like annual plans."""
    t = card.targets
    quarter = f'"{t.quarter_column}"' if t.quarter_column else "'YE'"
    tolerance = f'"{t.tolerance_column}"' if t.tolerance_column else "NULL"
    rows = con.execute(
        f'SELECT "{t.area_column}", metric_id, financial_year, {quarter}, "{t.value_column}", {tolerance} '
        f'FROM "{t.extract}" WHERE _period = ?',
        [period.label],
    ).fetchall()
    targets = {(r[0], r[1], r[2], r[3]): float(r[4]) for r in rows}
    tolerances = {(r[0], r[1], r[2], r[3]): float(r[5]) for r in rows if r[5] is not None}
    return targets, tolerances
