"""Plan status from values and polarity, never typed by hand.

The seed board papers called two metrics 'on track' while they were worse
than plan; here the status is a pure function of the value, the plan, the
metric's polarity and its plan basis, so that cannot happen.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics.core.periods import Period
from metrics.core.registry import Metric

ON_TRACK = "On track to meet target"
NOT_ON_TRACK = "Not on track to meet target"
NO_DATA = "Data not available to assess progress"
STATUSES = (ON_TRACK, NOT_ON_TRACK, NO_DATA)
# The year-end (Q4) return's wording (domain notes 8.1: Blackburn with Darwen 2023-24 year end
# [SECONDARY], which capitalises "Not Achieved"; the template's dropdown text is UNCONFIRMED).
ACHIEVED = "Achieved"
NOT_ACHIEVED = "Not achieved"
YEAR_END_STATUSES = (ACHIEVED, NOT_ACHIEVED, NO_DATA)

# Red/Amber/Green against a local target with a tolerance (safeguarding scorecard).
GREEN = "Green: target met"
AMBER = "Amber: within tolerance of target"
RED = "Red: outside tolerance of target"
CONTEXT = "Context measure: no target status"
RAG_STATUSES = (GREEN, AMBER, RED, CONTEXT, NO_DATA)

PlanKey = tuple[str, str, str, str]  # hwb_code, metric_id, financial_year, quarter (Q1-Q4 or YE)


@dataclass(frozen=True)
class Assessment:
    status: str
    plan: float | None
    # The figure compared with the plan: the value itself, or the year-end
    # projection for a cumulative metric assessed against an annual plan.
    assessed_value: float | None
    projection: float | None
    reason: str


def plan_for(metric: Metric, hwb: str, period: Period, plans: dict[PlanKey, float]) -> float | None:
    """The plan a period is judged against: the quarter's own plan, else the year-end plan."""
    fy = period.financial_year
    if metric.plan_basis == "quarter":
        quarterly = plans.get((hwb, metric.id, fy, f"Q{period.quarter}"))
        if quarterly is not None:
            return quarterly
    return plans.get((hwb, metric.id, fy, "YE"))


def year_end_projection(metric: Metric, value: float, period: Period) -> float | None:
    """Straight-line projection of a cumulative year-to-date figure to 31 March."""
    if not (metric.cumulative and metric.window == "year_to_date"):
        return None
    return value * 4 / period.quarter


def plan_statuses(period: Period) -> tuple[str, str, str]:
    """Met, not met, no data: the year-end wording for Q4 (the year-end return), else the in-year one."""
    return YEAR_END_STATUSES if period.quarter == 4 else STATUSES


def assess(metric: Metric, value: float | None, plan: float | None, period: Period) -> Assessment:
    """On track or not (achieved or not at Q4) by the metric's polarity and plan basis."""
    met, not_met, _ = plan_statuses(period)
    if value is None:
        return Assessment(NO_DATA, plan, None, None, "no publishable value for the period")
    projection = year_end_projection(metric, value, period)
    if plan is None:
        return Assessment(NO_DATA, None, None, projection, "no plan for the period")
    compared = projection if projection is not None and metric.plan_basis == "annual" else value
    better_or_equal = compared >= plan if metric.higher_is_better else compared <= plan
    basis = "year-end projection" if compared is projection else "value"
    direction = "higher" if metric.higher_is_better else "lower"
    reason = f"{basis} {compared:.{metric.decimals}f} vs plan {plan:g} ({direction} is better)"
    return Assessment(met if better_or_equal else not_met, plan, compared, projection, reason)


def assess_rag(metric: Metric, value: float | None, target: float | None, tolerance: float | None) -> Assessment:
    """Green when the target is met (by polarity), Amber when short of it by no more than the
    tolerance, else Red. Neutral (context) measures never get a colour."""
    if metric.polarity == "neutral":
        return Assessment(CONTEXT, target, value, None, "context measure (neither higher nor lower is better)")
    if value is None:
        return Assessment(NO_DATA, target, None, None, "no publishable value for the period")
    if target is None:
        return Assessment(NO_DATA, None, None, None, "no target for the year")
    shortfall = (target - value) if metric.higher_is_better else (value - target)
    tol = tolerance or 0.0
    status = GREEN if shortfall <= 0 else AMBER if shortfall <= tol else RED
    direction = "higher" if metric.higher_is_better else "lower"
    reason = f"value {value:.{metric.decimals}f} vs target {target:g}, tolerance {tol:g} ({direction} is better)"
    return Assessment(status, target, value, None, reason)


# Whether the difference from plan is statistically significant, said beside (never instead of) the
# official status wording: the plan lies inside or outside the 95% CI of the figure it is judged on.
PLAN_INSIDE_CI = "plan inside the 95% CI"
PLAN_OUTSIDE_CI = "plan outside the 95% CI"
TARGET_INSIDE_CI = "target inside the 95% CI"
TARGET_OUTSIDE_CI = "target outside the 95% CI"
SIGNIFICANCE_WORDINGS = (PLAN_INSIDE_CI, PLAN_OUTSIDE_CI, TARGET_INSIDE_CI, TARGET_OUTSIDE_CI)


def plan_significance(
    metric: Metric,
    period: Period,
    value: float | None,
    lower: float | None,
    upper: float | None,
    plan: float | None,
    *,
    target: bool = False,
) -> str:
    """ "plan inside the 95% CI" / "plan outside the 95% CI" ("target ..." on a Red/Amber/Green card), or
    "" when it cannot be said (no published value or interval, no plan, a context measure).

    The interval is that of the figure the status judges (as ``assess``): a cumulative metric judged on its
    straight-line year-end projection (year to date x 4 / quarter) is compared with its interval scaled
    by the same factor, the only uncertainty the projection carries here. The interval is closed: a plan
    equal to a bound is inside. Pass published (suppressed) figures: a withheld interval gives "".
    """
    if metric.polarity == "neutral" or value is None or lower is None or upper is None or plan is None:
        return ""
    projection = None if target else year_end_projection(metric, value, period)  # RAG: the value itself
    if projection is not None and metric.plan_basis == "annual":
        scale = 4 / period.quarter
        lower, upper = lower * scale, upper * scale
    inside = lower <= plan <= upper
    if target:
        return TARGET_INSIDE_CI if inside else TARGET_OUTSIDE_CI
    return PLAN_INSIDE_CI if inside else PLAN_OUTSIDE_CI
