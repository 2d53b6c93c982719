"""Statistical methods a metric may declare (``method`` in its TOML): one table, each entry with its
estimate function, the label of its confidence interval and a line of documentation.

Everything that lists methods reads this table: the registry's check of a declaration
(``metrics.core.registry.METHOD_NAMES``, kept equal to it by a test), the compute step and the
generated reference docs. The statistics themselves are in ``metrics.compute.stats``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from metrics.compute import stats
from metrics.core.registry import Metric

Rows = Sequence[dict[str, Any]]


def _unavailable(metric: Metric, num: float, den: float | None, note: str) -> stats.Estimate:
    return stats.Estimate(None, None, None, num, den, metric.method, metric.multiplier, note)


def _count(metric: Metric, rows: Rows, confidence: float = 0.95) -> stats.Estimate:
    # A count of events: the value is the count, with the Fingertips exact/Byar's limits.
    n = float(rows[0]["numerator"])
    lo, hi, how = stats.count_limits(n, confidence)
    return stats.Estimate(n, lo, hi, n, None, how, 1.0)


def _proportion(metric: Metric, rows: Rows, confidence: float = 0.95) -> stats.Estimate:
    num, den = float(rows[0]["numerator"]), float(rows[0]["denominator"])
    if den <= 0:
        return _unavailable(metric, num, den, "no cases in the denominator")
    return stats.proportion(num, den, multiplier=metric.multiplier, confidence=confidence)


def _crude_rate(metric: Metric, rows: Rows, confidence: float = 0.95) -> stats.Estimate:
    num, den = float(rows[0]["numerator"]), float(rows[0]["denominator"])
    if den <= 0:
        return _unavailable(metric, num, den, "no population for the area")
    return stats.crude_rate(num, den, multiplier=metric.multiplier, confidence=confidence)


def _mean(metric: Metric, rows: Rows, confidence: float = 0.95) -> stats.Estimate:
    # SQL gives the sum of the values (numerator), how many (denominator) and their sum of squares.
    total, count = float(rows[0]["numerator"]), float(rows[0]["denominator"])
    return stats.mean(total, count, float(rows[0]["sum_squares"]), multiplier=metric.multiplier, confidence=confidence)


def _dsr(metric: Metric, rows: Rows, confidence: float = 0.95) -> stats.Estimate:
    num = [float(r["numerator"]) for r in rows]
    den = [float(r["denominator"]) for r in rows]
    # DSR needs every band's population; a zero band means the population extract is incomplete.
    if any(d <= 0 for d in den):
        return _unavailable(metric, sum(num), sum(den), "population missing for some age bands")
    return stats.dsr(
        num, den, [float(r["std_weight"]) for r in rows], multiplier=metric.multiplier, confidence=confidence
    )


def _isr(metric: Metric, rows: Rows, confidence: float = 0.95) -> stats.Estimate:
    num = [float(r["numerator"]) for r in rows]
    den = [float(r["denominator"]) for r in rows]
    if sum(den) <= 0:
        return _unavailable(metric, sum(num), 0.0, "no population for the area")
    return stats.isr(
        sum(num),
        den,
        [float(r["ref_numerator"]) for r in rows],
        [float(r["ref_denominator"]) for r in rows],
        multiplier=metric.multiplier,
        confidence=confidence,
    )


def _isratio(metric: Metric, rows: Rows, confidence: float = 0.95) -> stats.Estimate:
    num = [float(r["numerator"]) for r in rows]
    den = [float(r["denominator"]) for r in rows]
    if sum(den) <= 0:
        return _unavailable(metric, sum(num), 0.0, "no population for the area")
    return stats.isratio(
        sum(num),
        den,
        [float(r["ref_numerator"]) for r in rows],
        [float(r["ref_denominator"]) for r in rows],
        multiplier=metric.multiplier,
        confidence=confidence,
    )


@dataclass(frozen=True)
class StatMethod:
    # (metric, rows, confidence): the confidence (0.95 by default) sets the interval's level, e.g.
    # 0.998 for a comparison at 99.8% (metrics.compute.comparisons).
    estimate: Callable[[Metric, Rows, float], stats.Estimate]
    ci_label: str
    doc: str
    # True when the value grows with the window's length (a count, or events over a yearly population):
    # a month's value is then about a third of a quarter's, so a plan is scaled to a month for SPC.
    additive: bool = False


METHODS: dict[str, StatMethod] = {
    "isr": StatMethod(
        _isr,
        "ISR, exact/Byar",
        "indirectly standardised rate: observed over expected from reference rates by age and sex, "
        "times the reference crude rate; exact (Poisson) limits on the observed count below 10, Byar's from 10",
        additive=True,  # the reference rate is over the window (period_years), so the ISR grows with it
    ),
    "isratio": StatMethod(
        _isratio,
        "ISRatio, exact/Byar",
        "indirectly standardised ratio: observed over expected (reference rates by age and sex applied "
        "to the local population) times the multiplier; exact (Poisson) limits on the observed count "
        "below 10, Byar's from 10, divided by the expected count",
    ),
    "dsr": StatMethod(
        _dsr,
        "DSR ESP2013, Dobson",
        "directly standardised rate with the 2013 European Standard Population; Dobson limits",
        additive=True,
    ),
    "crude_rate": StatMethod(
        _crude_rate,
        "crude rate, exact/Byar",
        "events per population times the multiplier; exact (Poisson) limits below 10 events, Byar's from 10",
        additive=True,
    ),
    "proportion": StatMethod(
        _proportion, "proportion, Wilson", "numerator over denominator times the multiplier; Wilson score limits"
    ),
    "count": StatMethod(
        _count,
        "count, exact/Byar",
        "a count of events; exact (Poisson) limits below 10 events, Byar's from 10",
        additive=True,
    ),
    "mean": StatMethod(
        _mean,
        "mean, Student's t",
        "mean of a value per record (SQL: sum as numerator, count as denominator, sum_squares); "
        "limits mean -/+ t(0.975, n-1) x sd / sqrt(n), as PHEindicatormethods phe_mean",
    ),
}


def method_of(metric: Metric) -> StatMethod:
    try:
        return METHODS[metric.method]
    except KeyError:
        raise ValueError(f"metric {metric.id}: unknown method {metric.method}; known: {sorted(METHODS)}") from None
