"""Run each metric's SQL in DuckDB and turn its rows into estimates with CIs.

SQL does the set work (filtering, grouping by HWB and stratum); the method
named in the declaration picks the statistic from ``metrics.compute.stats``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import duckdb

from metrics.compute import comparisons, stats
from metrics.compute.denominators import incomplete
from metrics.compute.methods import method_of
from metrics.compute.status import CONTEXT, NO_DATA, Assessment, PlanKey, assess, assess_rag, plan_for
from metrics.core.periods import Period
from metrics.core.registry import Metric, MetricWindow, StatusScheme
from metrics.core.results import MetricResult


def window(metric: Metric, period: Period, kind: MetricWindow | None = None) -> tuple[dt.date, dt.date]:
    kind = kind or metric.window
    if kind == "quarter":
        return period.start, period.end
    if kind == "year_to_date":
        return period.fy_first_day, period.end
    if kind.startswith("month_"):
        return month_window(period, int(kind.removeprefix("month_")))
    return period.rolling_year()[0].start, period.end


def month_window(period: Period, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of the quarter's ``month``-th calendar month (1-3)."""
    if month not in (1, 2, 3):
        raise ValueError(f"month of a quarter must be 1, 2 or 3, got {month}")
    first = period.start
    index = first.month - 1 + month - 1
    start = dt.date(first.year + index // 12, index % 12 + 1, 1)
    after = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, after - dt.timedelta(days=1)


def period_years(kind: MetricWindow, period: Period) -> float:
    if kind.startswith("month_"):
        return 1 / 12
    return {"quarter": 0.25, "year_to_date": period.quarter / 4, "rolling_12_months": 1.0}[kind]


def estimate_from_rows(metric: Metric, rows: Sequence[dict[str, Any]], confidence: float = 0.95) -> stats.Estimate:
    """Apply the declared method (``metrics.compute.methods``) to one HWB's rows (one row, or one per stratum)."""
    return method_of(metric).estimate(metric, rows, confidence)


def judge(
    metric: Metric,
    hwb: str,
    period: Period,
    value: float | None,
    plans: dict[PlanKey, float],
    scheme: StatusScheme = "plan",
    tolerances: dict[PlanKey, float] | None = None,
) -> Assessment:
    """Status by the scorecard's scheme: BCF plan (on track or not) or Red/Amber/Green with tolerance."""
    if scheme == "plan":
        return assess(metric, value, plan_for(metric, hwb, period, plans), period)
    key = (hwb, metric.id, period.financial_year, "YE")
    return assess_rag(metric, value, plans.get(key), (tolerances or {}).get(key))


def _is_spc_only(metric: Metric, kind: MetricWindow) -> bool:
    """A window computed only for SPC (``Metric.windows``): the in-period quarter beside a year-to-date
    headline, or a month of a monthly metric whose declaration does not report months."""
    return kind not in metric.declared_windows


def _spc_only(metric: Metric, kind: MetricWindow = "quarter") -> Assessment:
    """No plan status for an in-period quarter or month whose plan is set for the headline window:
    judging it (or projecting it to year end) against that plan would be wrong."""
    what = "quarter" if kind == "quarter" else "month"
    return Assessment(
        CONTEXT if metric.polarity == "neutral" else NO_DATA,
        None,
        None,
        None,
        f"not assessed: in-period {what} kept for SPC; the plan is for the {metric.window.replace('_', ' ')} figure",
    )


def compute_metric(
    con: duckdb.DuckDBPyConnection,
    metric: Metric,
    period: Period,
    hwbs: Iterable[str],
    plans: dict[PlanKey, float],
    scheme: StatusScheme = "plan",
    tolerances: dict[PlanKey, float] | None = None,
    kind: MetricWindow | None = None,
    comparing: comparisons.Settings | None = None,
    checked: dict[tuple[str, str, tuple[str, ...], int], dict[str, str]] | None = None,
) -> list[MetricResult]:
    """One result per HWB for the metric's headline window, or for the further view ``kind``, each
    compared with England and its region (``metrics.compute.comparisons``); ``checked``: the population
    checks already made on this connection (``metrics.compute.denominators.incomplete``)."""
    hwb_list = sorted(set(hwbs))
    kind = kind or metric.window
    start, end = window(metric, period, kind)
    run_values = {
        "hwbs": hwb_list,
        "window_start": start,
        "window_end": end,
        "period": period.label,
        "period_years": period_years(kind, period),
    }
    # Same connection, not a cursor: the views and reference tables are TEMP objects of this connection.
    rel = con.execute(metric.sql, metric.sql_parameters(run_values))
    cols = [d[0] for d in rel.description]
    rows = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
    by_hwb: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_hwb[r["hwb_code"]].append(r)
    # An area whose population is incomplete gets no rate at all, never one from part of it.
    lacking = incomplete(con, metric, period, hwb_list, checked)
    results = []
    estimates: dict[str, stats.Estimate] = {}
    withheld_areas: dict[str, str] = {}
    for hwb in hwb_list:
        # The SQL may say why no figure can be given (e.g. a cohort whose follow-up has not ended):
        # an ``unavailable`` column, non-null on the area's rows. No counts are shown then.
        withheld = next((str(r["unavailable"]) for r in by_hwb[hwb] if r.get("unavailable")), "")
        if withheld:
            est = stats.Estimate(None, None, None, 0.0, None, metric.method, metric.multiplier, withheld)
        elif hwb in lacking:
            num = sum(float(r["numerator"]) for r in by_hwb[hwb])
            est = stats.Estimate(None, None, None, num, None, metric.method, metric.multiplier, lacking[hwb])
        else:
            est = estimate_from_rows(metric, by_hwb[hwb])
        estimates[hwb] = est
        if withheld or hwb in lacking:  # no usable records: a pooled comparator would lack the area
            withheld_areas[hwb] = est.note
        a = (
            _spc_only(metric, kind)
            if _is_spc_only(metric, kind)
            else judge(metric, hwb, period, est.value, plans, scheme, tolerances)
        )
        results.append(
            MetricResult(
                metric_id=metric.id,
                hwb_code=hwb,
                period=period.label,
                window_start=start,
                window_end=end,
                numerator=None if withheld else est.numerator,
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
                view="" if kind == metric.window else kind,
            )
        )
    compared = comparisons.compare_areas(
        metric,
        period.financial_year,
        kind == metric.window,
        hwb_list,
        by_hwb,
        estimates,
        withheld_areas,
        comparing or comparisons.Settings(),
    )
    return [replace(r, **compared[r.hwb_code]) for r in results]


def unavailable_results(
    metric: Metric,
    period: Period,
    hwbs: Iterable[str],
    plans: dict[PlanKey, float],
    reason: str,
    scheme: StatusScheme = "plan",
    kind: MetricWindow | None = None,
) -> list[MetricResult]:
    """Results for a metric whose source extract failed validation: no value, status says why."""
    kind = kind or metric.window
    start, end = window(metric, period, kind)
    status = CONTEXT if metric.polarity == "neutral" else NO_DATA
    return [
        MetricResult(
            metric.id,
            hwb,
            period.label,
            start,
            end,
            None,
            None,
            None,
            None,
            None,
            metric.method,
            reason,
            None if _is_spc_only(metric, kind) else judge(metric, hwb, period, None, plans, scheme).plan,
            None,
            None,
            status,
            reason,
            "" if kind == metric.window else kind,
        )
        for hwb in sorted(set(hwbs))
    ]
