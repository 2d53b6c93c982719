"""PHE funnel plot limits and significance, as PHEindicatormethods 2.x ``calculate_funnel_limits`` and
``assign_funnel_significance`` (R/Funnels.R, R/utils.R), re-implemented from the published formulae.

Three statistics, as the package:

- proportion: limits at population n around the pooled average p by the Wilson-based
  ``sigma_adjustment`` (z = qnorm(0.975) for the 95% "2s" limits, qnorm(0.999) for the 99.8% "3s"
  limits), clamped to [0, multiplier];
- rate (crude or directly standardised, and here also the indirectly standardised rate): for an
  event count O, the population at which O lies on the limit is E(O) / average, E(O) the exact
  Poisson mean with P(X <= O) = p (lower limit) or P(X >= O) = p (upper limit), p = 0.025 or 0.001;
  the limit is O / population x multiplier;
- ratio (observed over expected, e.g. an indirectly standardised ratio): the limit at E(O) is
  O / E(O) x multiplier around a baseline of 1 x multiplier.

The package finds E(O) by bisection (to 1e-7 on a transformed scale); this uses the exact
chi-squared quantiles, qchisq(p, 2O) / 2 and qchisq(1 - p, 2O + 2) / 2, the values the bisection
approaches (they agree with the package's test data within 1e-5 relative).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy.stats import chi2, norm

from metrics.compute import stats

Statistic = Literal["proportion", "rate", "ratio"]
# The two-sided tail probabilities of the 95% and 99.8% limits (the package's 0.025 and 0.001).
TAILS = {"95": 0.025, "99.8": 0.001}
HIGH_3S, HIGH_2S, LOW_3S, LOW_2S, NOT_SIGNIFICANT = (
    "High (0.001)",
    "High (0.025)",
    "Low (0.001)",
    "Low (0.025)",
    "Not significant",
)
DSR_TOO_FEW = "Not applicable for events less than 10 for dsrs"


def sigma_adjustment(p: float, population: float, average: float, side: str, multiplier: float) -> float:
    """The funnel limit of a proportion at ``population`` around ``average`` (PHEindicatormethods
    ``sigma_adjustment``: the proportion whose Wilson interval at quantile p has ``average`` as its end)."""
    z2 = norm.ppf(p) ** 2
    first = average * (population / z2 + 1)
    adj = math.sqrt(
        (-8 * average * (population / z2 + 1)) ** 2
        - 64
        * (1 / z2 + 1 / population)
        * average
        * (population * (average * (population / z2 + 2) - 1) + z2 * (average - 1))
    )
    last = 1 / z2 + 1 / population
    value = (first - adj / 8) / last if side == "low" else (first + adj / 8) / last
    return float(value / population * multiplier)


def poisson_mean(observed: float, tail: float, side: Literal["low", "high"]) -> float:
    """The Poisson mean at which ``observed`` events are at the ``tail`` probability: "high" (the
    package's side for the lower limit) P(X <= O) = tail, "low" P(X >= O) = tail."""
    if side == "high":
        return float(chi2.ppf(1 - tail, 2 * observed + 2)) / 2
    return 0.0 if observed == 0 else float(chi2.ppf(tail, 2 * observed)) / 2


@dataclass(frozen=True)
class FunnelPoint:
    """One x position of the funnel and its four limits (None where not defined)."""

    x: float
    lower_95: float | None
    upper_95: float | None
    lower_998: float | None
    upper_998: float | None


def proportion_limits(average: float, population: float, multiplier: float = 100) -> FunnelPoint:
    """The 95% and 99.8% limits of a proportion at ``population`` (as ``calculate_funnel_limits``)."""

    def lim(p: float, side: str) -> float:
        v = sigma_adjustment(p, population, average, side, multiplier)
        return max(0.0, v) if side == "low" else min(multiplier, v)

    return FunnelPoint(population, lim(0.975, "low"), lim(0.975, "high"), lim(0.999, "low"), lim(0.999, "high"))


def rate_limits(average: float, events: float, multiplier: float) -> tuple[dict[str, tuple[float, float]], float]:
    """For ``events`` on the funnel: each limit's (population, rate) and the baseline rate, as the
    package's rate funnel (population for the whole period; the package divides by years_of_data
    only to label a per-year population)."""
    out = {}
    for level, tail in TAILS.items():
        lower_pop = poisson_mean(events, tail, "high") / average
        upper_mean = poisson_mean(events, tail, "low")
        out[f"lower_{level}"] = (lower_pop, events / lower_pop * multiplier)
        if upper_mean > 0:
            upper_pop = upper_mean / average
            out[f"upper_{level}"] = (upper_pop, events / upper_pop * multiplier)
    return out, average * multiplier


def ratio_limits(observed: float) -> dict[str, tuple[float, float]]:
    """For ``observed`` events: each limit's (expected events, ratio O/E), the ratio before the
    package's ``count`` (minus 1) or ``isr`` (times 100) scaling."""
    out = {}
    for level, tail in TAILS.items():
        low = poisson_mean(observed, tail, "high")
        out[f"lower_{level}"] = (low, observed / low)
        high = poisson_mean(observed, tail, "low")
        if high > 0:
            out[f"upper_{level}"] = (high, observed / high)
    return out


def _signif_floor(x: float) -> float:
    if x == 0:
        return 0.0
    n = len(str(math.floor(x * 0.95))) - 1
    return float(math.floor(x * 0.95 / 10**n) * 10**n)


def _signif_ceiling(x: float) -> float:
    if x == 0:
        return 0.0
    n = len(str(math.ceil(x * 1.05))) - 2
    return float(math.ceil(x * 1.05 / 10**n) * 10**n)


def axis_grid(min_x: float, max_x: float, statistic: Statistic = "proportion") -> list[float]:
    """The package's 100 x values from the axis minimum to maximum, closer together where x is small:
    the minimum is 0 (so the grid starts at 1) when the largest x is over twice the smallest, else
    the smallest rounded down; the maximum is the largest rounded up (``signif.floor``/``ceiling``)."""
    axis_min = 0.0 if max_x > 2 * min_x else _signif_floor(min_x)
    axis_max = _signif_ceiling(max_x)
    grid = [max(1.0, axis_min)]
    for j in range(2, 101):
        offset = j - 1 if statistic == "ratio" else j
        grid.append(max(float(round((axis_max / grid[-1]) ** (1 / (101 - offset)) * grid[-1])), grid[-1] + 1))
    return grid


def significance(statistic: Statistic, numerator: float, denominator: float, average: float, dsr: bool = False) -> str:
    """The package's funnel significance of one area: High/Low (0.001) outside the 99.8% limits,
    High/Low (0.025) outside the 95% limits, else Not significant. ``denominator`` is n (proportion),
    the population (rate; for a DSR the derived O / rate x multiplier) or E (ratio); ``average`` the
    funnel's baseline (a fraction for proportions, a rate per 1 for rates, 1 for ratios)."""
    if statistic == "proportion":
        p = numerator / denominator
        for tail, label in ((0.999, LOW_3S), (0.975, LOW_2S)):
            if p < sigma_adjustment(tail, denominator, average, "low", 1):
                return label
        for tail, label in ((0.999, HIGH_3S), (0.975, HIGH_2S)):
            if p > sigma_adjustment(tail, denominator, average, "high", 1):
                return label
        return NOT_SIGNIFICANT
    if statistic == "rate" and dsr and numerator < 10:
        return DSR_TOO_FEW
    baseline = 1.0 if statistic == "ratio" else average
    for confidence, high, low in ((0.998, HIGH_3S, LOW_3S), (0.95, HIGH_2S, LOW_2S)):
        lower, upper, _ = stats.count_limits(numerator, confidence)
        if numerator > 0 and baseline < lower / denominator:
            return high
        if baseline > upper / denominator:
            return low
    return NOT_SIGNIFICANT


def pooled_average(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The funnel's baseline: total events over total denominator (the package's ``av``)."""
    total = sum(denominators)
    if total <= 0:
        raise ValueError("funnel: the areas' denominators sum to zero")
    return sum(numerators) / total


@dataclass(frozen=True)
class FunnelArea:
    code: str
    x: float
    value: float
    significance: str


@dataclass(frozen=True)
class FunnelData:
    """A metric's funnel across a run's areas: the baseline, the four limit lines as (x, value)
    points, and each area's point and significance. ``x_label`` names the x axis."""

    metric_id: str
    statistic: Statistic
    baseline: float
    x_label: str
    lines: dict[str, list[tuple[float, float]]]
    areas: list[FunnelArea]


_STATISTIC: dict[str, Statistic] = {
    "proportion": "proportion",
    "crude_rate": "rate",
    "dsr": "rate",
    "isr": "rate",
    "isratio": "ratio",
}


def funnel_for(
    method: str, multiplier: float, metric_id: str, rows: Sequence[tuple[str, float, float, float, bool]]
) -> FunnelData | None:
    """The funnel of one metric from its areas' (code, numerator, denominator, value, publishable)
    headline figures; None for a method PHE draws no funnel for (counts, means) or fewer than two
    areas with figures. Every area counts towards the baseline; only publishable ones are drawn."""
    statistic = _STATISTIC.get(method)
    if statistic is None:
        return None
    prepared: list[tuple[str, float, float, float, bool]] = []
    for code, num, den, value, shown in rows:
        if statistic == "rate" and method != "crude_rate":
            # A standardised rate's denominator is derived as the package does: O / rate x multiplier.
            if num <= 0 or value <= 0:
                continue
            den = num / value * multiplier
        if den > 0:
            prepared.append((code, num, den, value, shown))
    if len(prepared) < 2:
        return None
    nums = [p[1] for p in prepared]
    dens = [p[2] for p in prepared]
    lines: dict[str, list[tuple[float, float]]] = {k: [] for k in ("lower_95", "upper_95", "lower_99.8", "upper_99.8")}
    if statistic == "proportion":
        average = pooled_average(nums, dens)
        baseline = average * multiplier
        for x in axis_grid(min(dens), max(dens), "proportion"):
            pt = proportion_limits(average, x, multiplier)
            for key, y in zip(lines, (pt.lower_95, pt.upper_95, pt.lower_998, pt.upper_998), strict=True):
                if y is not None:
                    lines[key].append((x, y))
        x_label = "denominator"
    elif statistic == "rate":
        average = pooled_average(nums, dens)
        baseline = average * multiplier
        # Events up to a third past the largest area's, so the upper limits reach across the plot.
        for events in axis_grid(min(dens) * average, max(dens) * average * 4 / 3, "rate"):
            limits, _ = rate_limits(average, events, multiplier)
            for key, point in limits.items():
                lines[key].append(point)
        x_label = "population (derived as events / rate for a standardised rate)"
    else:
        average = 1.0
        baseline = multiplier
        for observed in axis_grid(min(nums), max(nums), "ratio"):
            for key, (e, ratio) in ratio_limits(observed).items():
                lines[key].append((e, ratio * multiplier))
        x_label = "expected events"
    for key in lines:
        lines[key].sort()
    areas = [
        FunnelArea(code, den, value, significance(statistic, num, den, average, dsr=method == "dsr"))
        for code, num, den, value, shown in prepared
        if shown
    ]
    return FunnelData(metric_id, statistic, baseline, x_label, lines, areas)
