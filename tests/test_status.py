"""Status is computed from value, plan and polarity: the seed papers' two errors cannot recur."""

from metrics.compute.status import ACHIEVED, NO_DATA, NOT_ACHIEVED, NOT_ON_TRACK, ON_TRACK, assess, plan_for
from metrics.core import registry
from metrics.core.periods import Period

Q2 = Period.parse("2023-24-Q2")


def test_seed_avoidable_admissions_worse_than_plan_is_not_on_track() -> None:
    # Seed paper B1: actual 260.1 vs plan 250, lower is better, printed "On Track". It is not.
    a = assess(registry.get("avoidable_admissions"), 260.1, 250, Q2)
    assert a.status == NOT_ON_TRACK
    assert a.assessed_value == 260.1


def test_seed_reablement_worse_than_plan_is_not_on_track() -> None:
    # Seed paper B5: 84% vs plan 87.4%, higher is better, printed "On track". It is not.
    assert assess(registry.get("reablement_91_days"), 84.0, 87.4, Q2).status == NOT_ON_TRACK


def test_discharge_better_than_plan_is_on_track() -> None:
    assert assess(registry.get("discharge_usual_residence"), 95.35, 94, Q2).status == ON_TRACK


def test_cumulative_metric_is_judged_on_its_year_end_projection() -> None:
    m = registry.get("residential_admissions_65_plus")
    a = assess(m, 246.0, 564, Q2)
    assert a.projection == 492.0  # 246 x 4 / 2
    assert a.assessed_value == 492.0
    assert a.status == ON_TRACK
    # Same year-to-date value at Q1 projects to 984 > 564.
    assert assess(m, 246.0, 564, Period.parse("2023-24-Q1")).status == NOT_ON_TRACK


def test_meeting_plan_exactly_counts_as_on_track() -> None:
    assert assess(registry.get("avoidable_admissions"), 250.0, 250, Q2).status == ON_TRACK


def test_missing_value_or_plan_is_data_not_available() -> None:
    m = registry.get("avoidable_admissions")
    assert assess(m, None, 250, Q2).status == NO_DATA
    assert assess(m, 200.0, None, Q2).status == NO_DATA


def test_quarterly_plan_preferred_then_year_end() -> None:
    m = registry.get("avoidable_admissions")
    plans = {("E1", m.id, "2023-24", "Q2"): 240.0, ("E1", m.id, "2023-24", "YE"): 999.0}
    assert plan_for(m, "E1", Q2, plans) == 240.0
    assert plan_for(m, "E1", Period.parse("2023-24-Q3"), plans) == 999.0
    annual = registry.get("falls_65_plus")
    assert plan_for(annual, "E1", Q2, {("E1", annual.id, "2023-24", "Q2"): 1.0}) is None


def test_year_end_wording_at_q4_and_in_year_wording_before() -> None:
    # Residential admissions, cumulative: a year-to-date 600 at Q4 projects to 600 x 4 / 4 = 600 > plan 564
    # (lower is better): worse than plan, so at year end "Not achieved"; at Q3 600 x 4 / 3 = 800, not on track.
    m = registry.get("residential_admissions_65_plus")
    q3, q4 = Period.parse("2023-24-Q3"), Period.parse("2023-24-Q4")
    assert assess(m, 600.0, 564, q4).status == NOT_ACHIEVED
    assert assess(m, 600.0, 564, q3).status == NOT_ON_TRACK
    # 500 at Q4 = 500 <= 564: achieved; at Q3 500 x 4 / 3 = 666.7 > 564: not on track.
    assert assess(m, 500.0, 564, q4).status == ACHIEVED
    assert assess(m, 500.0, 564, q3).status == NOT_ON_TRACK
    assert assess(m, 400.0, 564, q3).status == ON_TRACK  # 400 x 4 / 3 = 533.3
    assert assess(m, None, 564, q4).status == NO_DATA
