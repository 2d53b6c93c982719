"""Run each metric's SQL in DuckDB and turn its rows into estimates with CIs.

SQL does the set work (filtering, grouping by HWB and stratum); the method
named in the declaration picks the statistic from ``metrics.stats``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from metrics import stats
from metrics.periods import Period
from metrics.registry import Metric
from metrics.status import NO_DATA, PlanKey, assess, plan_for


@dataclass(frozen=True)
class MetricResult:
    """One metric for one HWB and period: the row every output is drawn from."""

    metric_id: str
    hwb_code: str
    period: str
    window_start: dt.date
    window_end: dt.date
    numerator: float | None
    denominator: float | None
    value: float | None
    lower: float | None
    upper: float | None
    method: str
    note: str
    plan: float | None
    assessed_value: float | None
    projection: float | None
    status: str
    status_reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def window(metric: Metric, period: Period) -> tuple[dt.date, dt.date]:
    start = period.start if metric.window == "quarter" else period.fy_first_day
    return start, period.end


def estimate_from_rows(metric: Metric, rows: Sequence[dict[str, Any]]) -> stats.Estimate:
    """Apply the declared method to one HWB's rows (one row, or one per stratum)."""
    m = metric.multiplier
    num = [float(r["numerator"]) for r in rows]
    den = [float(r["denominator"]) for r in rows]
    if metric.method == "proportion":
        return stats.proportion(num[0], den[0], multiplier=m)
    if metric.method == "crude_rate":
        if den[0] <= 0:
            return _unavailable(metric, num[0], den[0], "no population for the area")
        return stats.crude_rate(num[0], den[0], multiplier=m)
    if metric.method == "dsr":
        # DSR needs every band's population; a zero band means the population extract is incomplete.
        if any(d <= 0 for d in den):
            return _unavailable(metric, sum(num), sum(den), "population missing for some age bands")
        return stats.dsr(num, den, [float(r["std_weight"]) for r in rows], multiplier=m)
    if metric.method == "isr":
        if sum(den) <= 0:
            return _unavailable(metric, sum(num), 0.0, "no population for the area")
        return stats.isr(
            sum(num),
            den,
            [float(r["ref_numerator"]) for r in rows],
            [float(r["ref_denominator"]) for r in rows],
            multiplier=m,
        )
    raise ValueError(f"metric {metric.id}: unknown method {metric.method}")


def _unavailable(metric: Metric, num: float, den: float, note: str) -> stats.Estimate:
    return stats.Estimate(None, None, None, num, den, metric.method, metric.multiplier, note)


def compute_metric(
    con: duckdb.DuckDBPyConnection,
    metric: Metric,
    period: Period,
    hwbs: Iterable[str],
    plans: dict[PlanKey, float],
) -> list[MetricResult]:
    hwb_list = sorted(set(hwbs))
    start, end = window(metric, period)
    run_values = {
        "hwbs": hwb_list,
        "window_start": start,
        "window_end": end,
        "period": period.label,
        "period_years": 0.25 if metric.window == "quarter" else period.quarter / 4,
    }
    # Same connection, not a cursor: the views and reference tables are TEMP objects of this connection.
    rel = con.execute(metric.sql, metric.sql_parameters(run_values))
    cols = [d[0] for d in rel.description]
    rows = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
    by_hwb: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_hwb[r["hwb_code"]].append(r)
    results = []
    for hwb in hwb_list:
        est = estimate_from_rows(metric, by_hwb[hwb])
        plan = plan_for(metric, hwb, period, plans)
        a = assess(metric, est.value, plan, period)
        results.append(
            MetricResult(
                metric_id=metric.id,
                hwb_code=hwb,
                period=period.label,
                window_start=start,
                window_end=end,
                numerator=est.numerator,
                denominator=est.denominator,
                value=est.value,
                lower=est.lower,
                upper=est.upper,
                method=est.method,
                note=est.note,
                plan=a.plan,
                assessed_value=a.assessed_value,
                projection=a.projection,
                status=a.status,
                status_reason=a.reason if not est.note else f"{a.reason}; {est.note}",
            )
        )
    return results


def unavailable_results(
    metric: Metric, period: Period, hwbs: Iterable[str], plans: dict[PlanKey, float], reason: str
) -> list[MetricResult]:
    """Results for a metric whose source extract failed validation: no value, status says why."""
    start, end = window(metric, period)
    return [
        MetricResult(
            metric.id, hwb, period.label, start, end, None, None, None, None, None, metric.method,
            reason, plan_for(metric, hwb, period, plans), None, None, NO_DATA, reason,
        )
        for hwb in sorted(set(hwbs))
    ]
