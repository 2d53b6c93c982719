"""SPC in words for the scorecard: variation and assurance of a metric's monthly or quarterly series.

The series is always discrete. For a metric declared monthly (``[spc] monthly = true``) it is the
months computed beside each quarter (views month_1..3: each month's own numerator and denominator),
the latest unbroken run of them; otherwise the quarterly headline, or for a year-to-date metric the
in-period quarter computed beside it (``Metric.spc_view``). Never the running total, which Making
Data Count does not chart (each point contains the last). Only publishable values enter it, so the
limits never rest on a suppressed figure. Limits are bounded by what the unit allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from metrics.compute.methods import method_of
from metrics.compute.spc import Bounds, Improvement, SpcConfig, SpcResult, xmr
from metrics.compute.suppression import DEFAULT_THRESHOLD, publishable
from metrics.core.periods import Period
from metrics.core.registry import MONTHS, Metric
from metrics.core.results import MetricResult

_VARIATION = {
    "common_cause": "common cause variation (no significant change)",
    "improvement_high": "special cause variation: improvement (high)",
    "improvement_low": "special cause variation: improvement (low)",
    "concern_high": "special cause variation: concern (high)",
    "concern_low": "special cause variation: concern (low)",
    "neutral_high": "special cause variation (high)",
    "neutral_low": "special cause variation (low)",
}
_ASSURANCE = {
    "consistent_pass": "the process will consistently meet the plan",
    "consistent_fail": "the process will consistently miss the plan without change",
    "inconsistent": "the process will hit and miss the plan at random",
}


@dataclass(frozen=True)
class SpcSeries:
    """The discrete values SPC is computed on, oldest first, and the points left out."""

    periods: list[Period]  # the quarter of each value (of each month, for a monthly series)
    values: list[float]
    left_out: list[str] = field(default_factory=list)  # short labels: no publishable value
    in_period: bool = False  # True: in-period values of a year-to-date metric
    basis: Literal["quarter", "month"] = "quarter"
    labels: list[str] = field(default_factory=list)  # one per value: "2023-24 Q2", or "Jul 2023"
    plan: float | None = None  # the plan on the series' own scale (a month's share), for assurance
    plan_scaled: bool = False  # True: ``plan`` is the headline plan divided by the months it covers

    @property
    def unit_label(self) -> str:
        return ("in-period " if self.in_period else "") + ("months" if self.basis == "month" else "quarters")


@dataclass(frozen=True)
class SpcReading:
    text: str
    variation_icon: str | None = None
    assurance: str | None = None
    series: SpcSeries | None = None  # None: no discrete series, nothing computed
    result: SpcResult | None = None  # None: too few points for limits


def limit_bounds(metric: Metric) -> Bounds:
    """Where limits stop: 0 for every rate and count, and the multiplier (100) for a percentage."""
    return (0.0, metric.multiplier) if metric.method == "proportion" else (0.0, None)


def improvement_of(metric: Metric) -> Improvement:
    return "neutral" if metric.polarity == "neutral" else "increase" if metric.higher_is_better else "decrease"


def _month_label(day: dt.date) -> str:
    return day.strftime("%b %Y")


def plan_months(metric: Metric, period: Period) -> int:
    """How many months the headline plan of ``period`` covers: a quarter's three, a year-to-date plan
    the months from April (a quarterly plan of a cumulative figure) or the whole year (a year-end plan)."""
    if metric.window == "quarter":
        return 3
    if metric.window.startswith("month_"):
        return 1
    if metric.window == "year_to_date" and metric.plan_basis == "quarter":
        return 3 * period.quarter
    return 12


def monthly_plan(metric: Metric, plan: float | None, period: Period) -> float | None:
    """The headline plan on a month's scale: a count or rate (which grows with the window) divided by
    the months it covers; a percentage, mean or standardised ratio is the same for any window."""
    if plan is None or not method_of(metric).additive:
        return plan
    return plan / plan_months(metric, period)


def _monthly_series(metric: Metric, history: Sequence[MetricResult], threshold: int) -> SpcSeries | None:
    """The latest unbroken run of months (a quarter not loaded breaks it; a withheld month does not)."""
    rows = sorted((r for r in history if r.view in MONTHS), key=lambda r: r.window_start)
    if not rows:
        return None
    run = [rows[-1]]
    for r in reversed(rows[:-1]):
        first = run[0].window_start
        if (r.window_start.year * 12 + r.window_start.month) != (first.year * 12 + first.month) - 1:
            break
        run.insert(0, r)
    periods, values, labels, left_out = [], [], [], []
    for r in run:
        value = publishable(r, threshold)["value"]
        if value is None:
            left_out.append(_month_label(r.window_start))
        else:
            periods.append(Period.parse(r.period))
            values.append(float(value))
            labels.append(_month_label(r.window_start))
    latest = Period.parse(run[-1].period)
    headline = [r for r in history if r.view == "" and r.period == latest.label]
    plan = monthly_plan(metric, headline[0].plan, latest) if headline else None
    scaled = plan is not None and method_of(metric).additive
    return SpcSeries(periods, values, left_out, metric.window != "quarter", "month", labels, plan, scaled)


def spc_series(metric: Metric, history: Sequence[MetricResult], threshold: int = DEFAULT_THRESHOLD) -> SpcSeries | None:
    """The publishable discrete series from ``history`` (any views, any order): the months of a monthly
    metric, else the quarters; None when the run holds no in-period values: then SPC is refused rather
    than computed on running totals."""
    if metric.monthly:
        monthly = _monthly_series(metric, history, threshold)
        if monthly is not None:
            return monthly
    rows = sorted((r for r in history if r.view == metric.spc_view), key=lambda r: Period.parse(r.period))
    if not rows:
        return None
    periods, values, left_out = [], [], []
    for r in rows:
        value = publishable(r, threshold)["value"]
        if value is None:
            left_out.append(Period.parse(r.period).short_label)
        else:
            periods.append(Period.parse(r.period))
            values.append(float(value))
    # The plan of the latest quarter, when it is set for these same quarters (None for an in-period one).
    plan = max(rows, key=lambda r: Period.parse(r.period)).plan
    return SpcSeries(
        periods, values, left_out, metric.spc_view != "", "quarter", [p.short_label for p in periods], plan
    )


# Making Data Count colours: improvement blue, concern orange, neutral purple, common cause grey.
ICON_COLOUR = {"improvement": "#00B0F0", "concern": "#E46C0A", "neutral": "#490092", "common": "#A6A6A6"}


def icon_svg(reading: SpcReading) -> str:
    """Small inline SVG icons: variation (letter H/L, or nothing for common cause) and assurance (P/F/?)."""
    out = []
    if reading.variation_icon:
        kind, _, hl = reading.variation_icon.partition("_")
        colour = ICON_COLOUR["common" if kind == "common" else kind]
        letter = "" if kind == "common" else hl[:1].upper()
        label = _VARIATION[reading.variation_icon]
        out.append(
            f'<svg class="spc-icon" role="img" aria-label="{label}" width="32" height="32" viewBox="0 0 32 32">'
            f'<title>{label}</title><circle cx="16" cy="16" r="14" fill="white" stroke="{colour}" '
            f'stroke-width="3"/><text x="16" y="21" text-anchor="middle" font-size="14" font-weight="bold" '
            f'fill="{colour}">{letter}</text></svg>'
        )
    if reading.assurance:
        colour = {"consistent_pass": "#00B0F0", "consistent_fail": "#E46C0A"}.get(reading.assurance, "#A6A6A6")
        letter = {"consistent_pass": "P", "consistent_fail": "F"}.get(reading.assurance, "?")
        label = _ASSURANCE[reading.assurance]
        out.append(
            f'<svg class="spc-icon" role="img" aria-label="{label}" width="32" height="32" viewBox="0 0 32 32">'
            f'<title>{label}</title><circle cx="16" cy="16" r="14" fill="{colour}"/><text x="16" y="21" '
            f'text-anchor="middle" font-size="14" font-weight="bold" fill="white">{letter}</text></svg>'
        )
    return "".join(out)


def spc_summary(
    metric: Metric,
    history: Sequence[MetricResult],
    config: SpcConfig | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> SpcReading:
    """Making Data Count reading of a metric's discrete monthly or quarterly series (``spc_series``);
    the plan gives assurance only on the series' own scale (``SpcSeries.plan``)."""
    config = config or SpcConfig()
    series = spc_series(metric, history, threshold)
    if series is None:
        return SpcReading(
            f"not assessed: SPC needs in-period values and this run holds only the "
            f"{metric.window.replace('_', ' ')} figures, which accumulate"
        )
    n, d = len(series.values), metric.decimals
    what = series.unit_label
    if n < 2:
        return SpcReading(f"too few points for SPC limits ({n} of {config.min_points} {what})", series=series)
    res = xmr(series.values, improvement_of(metric), series.plan, config=config, bounds=limit_bounds(metric))
    basis = (
        f" (on {what}, not the year-to-date total)"
        if series.in_period
        else " (on monthly values)"
        if series.basis == "month"
        else ""
    )
    if res.trial:
        return SpcReading(
            f"trial limits only: {n} of {config.min_points} {what} needed before variation "
            f"and assurance icons are shown (mean {res.mean[-1]:,.{d}f}, "
            f"process limits {res.lower[-1]:,.{d}f} to {res.upper[-1]:,.{d}f}){basis}",
            series=series,
            result=res,
        )
    text = _VARIATION[res.variation_icon or "common_cause"]
    if res.assurance:
        text += f"; {_ASSURANCE[res.assurance]}"
        if series.plan is not None and series.plan_scaled:
            text += f" (plan scaled to a month: {series.plan:,.{d}f})"
    return SpcReading(text + basis, res.variation_icon, res.assurance, series, res)
