"""The plans (BCF) or targets and tolerances (Red/Amber/Green) a period is judged on."""

from __future__ import annotations

import duckdb

from metrics.compute.status import PlanKey
from metrics.core.periods import Period
from metrics.core.registry import scorecard


def load_plans(con: duckdb.DuckDBPyConnection, period: Period) -> dict[PlanKey, float]:
    rows = con.execute(
        "SELECT hwb_code, metric_id, financial_year, quarter, plan_value FROM plans WHERE _period = ?",
        [period.label],
    ).fetchall()
    return {(r[0], r[1], r[2], r[3]): float(r[4]) for r in rows}


def targets_for(
    con: duckdb.DuckDBPyConnection, card: str, period: Period
) -> tuple[dict[PlanKey, float], dict[PlanKey, float]]:
    """The plans (BCF) or targets and amber tolerances (Red/Amber/Green scorecards) a period is judged on."""
    if scorecard(card).targets_extract == "plans":
        return load_plans(con, period), {}
    return load_targets(con, period)


def load_targets(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[dict[PlanKey, float], dict[PlanKey, float]]:
    """Safeguarding targets and amber tolerances, keyed like annual (YE) plans."""
    rows = con.execute(
        "SELECT la_code, metric_id, financial_year, target, amber_tolerance FROM cs_targets WHERE _period = ?",
        [period.label],
    ).fetchall()
    targets = {(r[0], r[1], r[2], "YE"): float(r[3]) for r in rows}
    tolerances = {(r[0], r[1], r[2], "YE"): float(r[4]) for r in rows}
    return targets, tolerances
