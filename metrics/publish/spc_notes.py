"""SPC in words for the scorecard: variation and assurance of a metric's quarterly series.

The series is always discrete: the metric's quarterly headline, or for a year-to-date metric the
in-period quarter computed beside it (``Metric.spc_view``), never the running total, which Making
Data Count does not chart (each point contains the last). Only publishable values enter it, so the
limits never rest on a suppressed figure. Limits are bounded by what the unit allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from metrics.compute.spc import Bounds, Improvement, SpcConfig, SpcResult, xmr
from metrics.compute.suppression import DEFAULT_THRESHOLD, publishable
from metrics.core.periods import Period
from metrics.core.registry import Metric
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
    """The discrete values SPC is computed on, oldest first, and the quarters left out."""

    periods: list[Period]
    values: list[float]
    left_out: list[str] = field(default_factory=list)  # short labels: no publishable value
    in_period: bool = False  # True: in-period quarters of a year-to-date metric


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


def spc_series(metric: Metric, history: Sequence[MetricResult], threshold: int = DEFAULT_THRESHOLD) -> SpcSeries | None:
    """The publishable discrete series from ``history`` (any views, any order), or None when the
    run holds no in-period values: then SPC is refused rather than computed on running totals."""
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
    return SpcSeries(periods, values, left_out, in_period=metric.spc_view != "")


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
    """Making Data Count reading of a metric's discrete quarterly series (``spc_series``); the plan
    gives assurance only when it is set for those same quarters."""
    config = config or SpcConfig()
    series = spc_series(metric, history, threshold)
    if series is None:
        return SpcReading(
            f"not assessed: SPC needs in-period values and this run holds only the "
            f"{metric.window.replace('_', ' ')} figures, which accumulate"
        )
    n, d = len(series.values), metric.decimals
    what = "in-period quarters" if series.in_period else "quarters"
    if n < 2:
        return SpcReading(f"too few points for SPC limits ({n} of {config.min_points} {what})", series=series)
    mine = [r for r in history if r.view == metric.spc_view]
    plan = max(mine, key=lambda r: Period.parse(r.period)).plan
    res = xmr(series.values, improvement_of(metric), plan, config=config, bounds=limit_bounds(metric))
    basis = " (on in-period quarterly values, not the year-to-date total)" if series.in_period else ""
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
    return SpcReading(text + basis, res.variation_icon, res.assurance, series, res)
