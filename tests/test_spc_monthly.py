"""SPC on monthly series: declarations, the series built from month views, the plan on a month's
scale, and the rules against NHSRplotthedots 0.2.2's own worked series (tests/testthat of
github.com/nhs-r-community/NHSRplotthedots, test-ptd_calculate_point_type.R)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from metrics.compute.metric import month_window
from metrics.compute.spc import shift_rule, trend_rule, two_of_three_rule, xmr
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.results import MetricResult
from metrics.publish.spc_notes import monthly_plan, spc_series, spc_summary


def flagged(flags: list[bool]) -> list[int]:
    return [i for i, f in enumerate(flags) if f]


def no_flags(flags: tuple[list[bool], list[bool]]) -> bool:
    """Neither a high nor a low flag on any point."""
    return not any(flags[0]) and not any(flags[1])


# ---------------------------------------------------------------- declarations


def test_every_shipped_metric_says_whether_it_has_monthly_values_and_why() -> None:
    for m in registry.all_metrics():
        assert m.monthly_note, f"{m.id}: no [spc] note"
        months = [w for w in m.windows if w.startswith("month_")]
        assert months == (["month_1", "month_2", "month_3"] if m.monthly else []), m.id
    # Records with dates give months; the reablement cohorts (91-day follow-up, annual) do not.
    assert registry.get("falls_65_plus").monthly and registry.get("emergency_admissions_65_plus").monthly
    assert not registry.get("reablement_91_days").monthly and not registry.get("reablement_91_days_ascof").monthly


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"note": "x"}, "monthly = true or false"),
        ({"monthly": "yes", "note": "x"}, "monthly = true or false"),
        ({"monthly": False}, "needs a note"),
        ({"monthly": True, "note": "  "}, "needs a note"),
    ],
)
def test_an_spc_table_without_monthly_or_a_note_is_refused(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        registry._spc_table(Path("x.toml"), table)


def test_months_added_for_spc_are_not_judged_against_the_plan() -> None:
    from metrics.compute.metric import _is_spc_only

    emergency = registry.get("emergency_admissions_65_plus")  # quarterly plan of a quarterly rate
    assert _is_spc_only(emergency, "month_1") and not _is_spc_only(emergency, "quarter")
    delays = registry.get("discharge_delay_days")  # declares its months: they are reported and judged
    assert not _is_spc_only(delays, "month_2")


# ---------------------------------------------------------------- the monthly series


def _month(metric: str, period: str, k: int, value: float | None, view: str | None = None) -> MetricResult:
    start, end = month_window(Period.parse(period), k)
    num = None if value is None else 100.0
    return MetricResult(
        metric, "E06000061", period, start, end, num, 50_000.0, value, None, None, "crude_rate", "", None,
        None, None, "Data not available to assess progress", "", view or f"month_{k}",
    )  # fmt: skip


def _headline(metric: str, period: str, value: float, plan: float | None) -> MetricResult:
    p = Period.parse(period)
    return MetricResult(
        metric, "E06000061", period, p.fy_first_day, p.end, 100.0, 50_000.0, value, None, None, "crude_rate", "",
        plan, value, None, "On track to meet target", "", "",
    )  # fmt: skip


def test_the_monthly_series_is_each_months_own_value_never_the_running_total() -> None:
    m = registry.get("residential_admissions_65_plus")  # year to date, cumulative, annual (YE) plan
    # 2023-24 Q1 months 10, 12, 14 and Q2 months 11, 13, 15: year to date 36 at Q1 and 75 at Q2.
    rows = [_month(m.id, "2023-24-Q1", k, v) for k, v in ((1, 10.0), (2, 12.0), (3, 14.0))]
    rows += [_month(m.id, "2023-24-Q2", k, v) for k, v in ((1, 11.0), (2, 13.0), (3, 15.0))]
    rows += [_headline(m.id, "2023-24-Q1", 36.0, 120.0), _headline(m.id, "2023-24-Q2", 75.0, 120.0)]
    rows += [_month(m.id, "2023-24-Q2", 1, 36.0, view="quarter")]  # an in-period quarter: not a month
    s = spc_series(m, list(reversed(rows)))
    assert s is not None and s.basis == "month" and s.in_period
    assert s.values == [10.0, 12.0, 14.0, 11.0, 13.0, 15.0]
    assert s.labels == ["Apr 2023", "May 2023", "Jun 2023", "Jul 2023", "Aug 2023", "Sep 2023"]
    # The year-end plan of 120 for the whole year's admissions: 120 / 12 = 10 a month.
    assert s.plan == pytest.approx(10.0)
    reading = spc_summary(m, rows)
    # Mean of the six months 75 / 6 = 12.5 (the totals would give 55.5); trial limits (6 of 12).
    assert reading.result is not None and reading.result.mean[-1] == pytest.approx(12.5)
    assert reading.text.startswith("trial limits only: 6 of 12 in-period months")


def test_a_quarter_not_loaded_breaks_the_run_and_a_withheld_month_is_left_out() -> None:
    m = registry.get("emergency_admissions_65_plus")
    rows = [_month(m.id, "2022-23-Q4", k, 5.0) for k in (1, 2, 3)]  # then 2023-24 Q1 not loaded
    rows += [_month(m.id, "2023-24-Q2", k, v) for k, v in ((1, 7.0), (2, None), (3, 9.0))]
    rows += [_month(m.id, "2023-24-Q3", k, 8.0) for k in (1, 2, 3)]
    s = spc_series(m, rows)
    assert s is not None
    assert s.values == [7.0, 9.0, 8.0, 8.0, 8.0] and s.left_out == ["Aug 2023"]
    assert s.labels[0] == "Jul 2023" and s.labels[-1] == "Dec 2023"


def test_a_metric_without_months_keeps_its_quarters() -> None:
    m = replace(registry.get("emergency_admissions_65_plus"), monthly=False)
    q = [_headline(m.id, f"2023-24-Q{i}", v, 300.0) for i, v in ((1, 40.0), (2, 44.0))]
    s = spc_series(m, [*q, _month(m.id, "2023-24-Q2", 1, 15.0)])
    assert s is not None and s.basis == "quarter" and s.values == [40.0, 44.0] and s.plan == 300.0


@pytest.mark.parametrize(
    ("metric_id", "period", "plan", "expected"),
    [
        ("emergency_admissions_65_plus", "2025-26-Q2", 3450.0, 1150.0),  # quarterly rate: / 3
        ("avoidable_admissions", "2023-24-Q2", 250.0, 250.0 / 3),  # an ISR is a rate over its window
        ("falls_65_plus", "2023-24-Q2", 1236.0, 103.0),  # year-end plan of a year-to-date DSR: / 12
        ("care_home_admissions_65_plus", "2025-26-Q2", 250.0, 250.0 / 6),  # cumulative to Q2: April-Sept
        ("discharge_usual_residence", "2023-24-Q2", 94.0, 94.0),  # a percentage: any window
        ("discharge_delay_days", "2025-26-Q2", 0.5, 0.5),  # a mean: any window
        ("avoidable_admissions_ratio", "2023-24-Q2", 100.0, 100.0),  # a ratio: any window
    ],
)
def test_the_plan_on_a_months_scale(metric_id: str, period: str, plan: float, expected: float) -> None:
    assert monthly_plan(registry.get(metric_id), plan, Period.parse(period)) == pytest.approx(expected)
    assert monthly_plan(registry.get(metric_id), None, Period.parse(period)) is None


def test_twelve_months_give_icons_and_assurance_against_the_monthly_plan() -> None:
    m = registry.get("emergency_admissions_65_plus")  # lower is better
    # Months alternating 10, 12 over 2023-24: mean 11, mean MR 2, limits 5.68 .. 16.32.
    rows = [
        _month(m.id, f"2023-24-Q{q}", k, 10.0 if (3 * (q - 1) + k) % 2 else 12.0)
        for q in (1, 2, 3, 4)
        for k in (1, 2, 3)
    ]
    # Quarterly plan 60 -> 20 a month, above the upper limit: the plan is always met.
    reading = spc_summary(m, [*rows, _headline(m.id, "2023-24-Q4", 33.0, 60.0)])
    assert reading.series is not None and reading.series.plan == pytest.approx(20.0)
    assert reading.variation_icon == "common_cause" and reading.assurance == "consistent_pass"
    assert "plan scaled to a month: 20.0" in reading.text
    # Eleven months: trial limits, no icons.
    short = spc_summary(m, [*rows[1:], _headline(m.id, "2023-24-Q4", 33.0, 60.0)])
    assert short.variation_icon is None and short.assurance is None and short.text.startswith("trial limits")


# ---------------------------------------------------------------- NHSRplotthedots' worked series
# Their helpers take sign vectors; ours take values, so each series is written as values whose
# signs (about the mean, or from point to point) are the vectors of their tests.


def test_shift_as_nhsrplotthedots_seven_point_one_side_mean() -> None:
    # ptd_seven_point_one_side_mean(c(rep(1, 6), -1)) is all 0: six on one side is not a shift.
    assert no_flags(shift_rule([1.0] * 6 + [-1.0], 0.0, 7))
    # c(rep(1, 8), -1): points 7 and 8 end a run of seven; ptd_part_of_seven_trend marks 1..8.
    high, low = shift_rule([1.0] * 8 + [-1.0], 0.0, 7)
    assert flagged(high) == list(range(8)) and not any(low)
    high, low = shift_rule([-1.0] * 8 + [1.0], 0.0, 7)
    assert flagged(low) == list(range(8)) and not any(high)


def test_trend_as_nhsrplotthedots_seven_point_trend() -> None:
    # ptd_seven_point_trend(c(1:3, 3:6)): a repeated value breaks the trend.
    assert no_flags(trend_rule([1, 2, 3, 3, 4, 5, 6], 7))
    # c(2, 1:7, 3): the trend 1..7 (points 2-8) is found, the points around it are not in it.
    high, low = trend_rule([2, 1, 2, 3, 4, 5, 6, 7, 3], 7)
    assert flagged(high) == [1, 2, 3, 4, 5, 6, 7] and not any(low)
    # c(2, 7:1, 3): the falling trend 7..1.
    high, low = trend_rule([2, 7, 6, 5, 4, 3, 2, 1, 3], 7)
    assert flagged(low) == [1, 2, 3, 4, 5, 6, 7] and not any(high)


def test_two_in_three_as_nhsrplotthedots() -> None:
    # Mean 0, 2-sigma band -2 .. 2, process limits beyond 4 (no point outside them).
    # ptd_two_in_three(c(0, 0, 1, 0, 1, 0, 0), all above the mean) marks windows 3-5; only the points
    # near the limits (3 and 5) are flagged (ptd_part_of_two_in_three).
    high, low = two_of_three_rule([1, 1, 3, 1, 3, 1, 1], 0.0, 2.0, -2.0)
    assert flagged(high) == [2, 4] and not any(low)
    # c(0, 0, 1, 1, 0, 0, 0): points 3 and 4.
    assert flagged(two_of_three_rule([1, 1, 3, 3, 1, 1, 1], 0.0, 2.0, -2.0)[0]) == [2, 3]
    # Opposite sides of the mean (c(1, -1, 1)): no signal however near the limits.
    assert no_flags(two_of_three_rule([3, -1, 3], 0.0, 2.0, -2.0))
    assert no_flags(two_of_three_rule([1, -1, 3, -1, 3, -1, 1], 0.0, 2.0, -2.0))


def test_trial_limits_below_twelve_points_as_nhsrplotthedots() -> None:
    # NHSRplotthedots' vignette "Number of points required": below 12 points the limits are trial
    # limits; from 12 they are locked (fix_after_n_points >= 12). Our icons follow the same count.
    alternating = [10.0, 12.0] * 6
    assert xmr(alternating[:11]).trial and xmr(alternating[:11]).variation_icon is None
    assert not xmr(alternating).trial and xmr(alternating).variation_icon == "common_cause"


def test_month_labels_follow_the_calendar_across_a_year_end() -> None:
    m = registry.get("emergency_admissions_65_plus")
    rows = [_month(m.id, "2023-24-Q3", k, 5.0) for k in (1, 2, 3)]
    rows += [_month(m.id, "2023-24-Q4", k, 5.0) for k in (1, 2, 3)]
    s = spc_series(m, rows)
    assert s is not None and s.labels == ["Oct 2023", "Nov 2023", "Dec 2023", "Jan 2024", "Feb 2024", "Mar 2024"]
    assert [r.window_start for r in rows][3] == dt.date(2024, 1, 1)


def test_the_spc_chart_of_a_monthly_series(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from metrics.publish.charts import spc_chart

    m = registry.get("emergency_admissions_65_plus")
    # 24 months alternating 10, 12 (2022-23 and 2023-24): common cause; quarterly plan 60 -> 20 a month.
    rows = [
        _month(m.id, f"{fy}-Q{q}", k, 10.0 if k % 2 else 12.0)
        for fy in ("2022-23", "2023-24")
        for q in (1, 2, 3, 4)
        for k in (1, 2, 3)
    ]
    rows.append(_headline(m.id, "2023-24-Q4", 33.0, 60.0))
    _, svg = spc_chart(m, "E06000061", "North Northamptonshire", rows, tmp_path)
    content = svg.read_text(encoding="utf-8")
    text = " ".join("".join(t.itertext()) for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}text"))
    assert "spc-variation-icon" in content and "spc-assurance-icon" in content  # the common-cause ring too
    assert "Plan (scaled to a month)" in text and "plan scaled to a month (20.0)" in text
    assert "(in-period month)" in text and "Trial limits" not in text
    # Labelled every third month: Apr 2022, Jul 2022, ... Jan 2024.
    assert "Apr 2022" in text and "Jan 2024" in text and "May 2022" not in text
