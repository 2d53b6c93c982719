"""Making Data Count rules on hand-made series, with the limits worked by hand in comments."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.compute.spc import SpcConfig, outside_rule, xmr
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.results import MetricResult
from metrics.publish.spc_notes import limit_bounds, spc_series, spc_summary


def flagged(flags: list[bool]) -> list[int]:
    return [i for i, f in enumerate(flags) if f]


# Base: alternating 10, 12 -> mean 11, 13 moving ranges of 2 -> mean MR 2;
# limits 11 +/- 2.66 x 2 = 5.68 .. 16.32; near band 11 +/- 2/3 x 5.32 = 7.4533 .. 14.5467.
BASE = [10.0, 12.0] * 7


def test_limits_by_hand() -> None:
    r = xmr(BASE)
    assert r.mean == [11.0] * 14
    assert r.upper[0] == pytest.approx(16.32) and r.lower[0] == pytest.approx(5.68)
    assert r.near_upper[0] == pytest.approx(11 + 2 / 3 * 5.32) and r.near_lower[0] == pytest.approx(11 - 2 / 3 * 5.32)
    assert not any(r.outside + r.trend + r.two_of_three + r.shift)
    assert r.point_type == ["common_cause"] * 14
    assert r.variation_icon == "common_cause" and not r.trial


def test_point_beyond_the_upper_limit() -> None:
    y = [*BASE, 30.0]
    # mean = (70 + 84 + 30) / 15 = 184/15 = 12.2667; MRs 13 x 2 and 18 -> mean MR = 44/14 = 3.1429;
    # upper = 12.2667 + 2.66 x 3.1429 = 20.627 < 30; lower = 3.907.
    r = xmr(y, "decrease")
    assert r.mean[-1] == pytest.approx(184 / 15)
    assert r.upper[-1] == pytest.approx(184 / 15 + 2.66 * 44 / 14)
    assert flagged(r.outside) == [14]
    assert r.point_type[-1] == "special_cause_concern" and r.variation_icon == "concern_high"
    assert xmr(y, "increase").point_type[-1] == "special_cause_improvement"
    assert xmr(y, "increase").variation_icon == "improvement_high"
    assert xmr(y, "neutral").variation_icon == "neutral_high"


def test_point_beyond_the_lower_limit() -> None:
    y = [*BASE, -8.0]
    # mean = (154 - 8) / 15 = 9.7333; MRs 13 x 2 and 20 -> 46/14 = 3.2857; lower = 9.7333 - 8.74 = 0.9933 > -8.
    r = xmr(y, "increase")
    assert r.lower[-1] == pytest.approx(146 / 15 - 2.66 * 46 / 14)
    assert flagged(r.outside) == [14]
    assert r.variation_icon == "concern_low"
    assert xmr(y, "decrease").variation_icon == "improvement_low"
    assert xmr(y, "neutral").point_type[-1] == "special_cause_neutral_low"


def test_a_point_on_a_limit_is_not_outside() -> None:
    assert outside_rule([1.0, 2.0, 3.0, 0.5], upper=2.0, lower=1.0) == (
        [False, False, True, False],
        [False, False, False, True],
    )


def test_trend_of_seven_and_of_six() -> None:
    seven = [10, 12, 10, 12, 10, 11, 12, 13, 14, 15, 16, 12, 10, 12]  # points 4..10 rise: 6 moves
    assert flagged(xmr(seven, "increase").trend) == [4, 5, 6, 7, 8, 9, 10]
    six = [10, 12, 10, 12, 10, 11, 12, 13, 14, 15, 12, 10, 12, 10]  # points 4..9 rise: 5 moves
    assert not any(xmr(six).trend)
    assert flagged(xmr(six, config=SpcConfig(trend_length=6)).trend) == [4, 5, 6, 7, 8, 9]


def test_falling_trend_and_ties_break_a_trend() -> None:
    falling = [12, 10, 12, 10, 12, 11, 10, 9, 8, 7, 6, 10, 12, 10]  # points 4..10 fall: 6 moves
    assert flagged(xmr(falling).trend) == [4, 5, 6, 7, 8, 9, 10]
    tied = [12, 10, 12, 10, 12, 11, 10, 10, 8, 7, 6, 10, 12, 10]  # a repeat is not strictly falling
    assert not any(xmr(tied).trend)


def test_shift_of_seven_but_not_six() -> None:
    y = [10, 12, 10, 12, 10, 12, 10, *[12] * 7]
    # mean = (40 + 36 + 84) / 14 = 11.4286: 12s above, 10s below; the run above is points 7..13.
    # MRs 7 x 2 then 6 x 0 -> 1.0; near top 11.4286 + 1.7733 = 13.2 and upper 14.09: no other rule fires.
    r = xmr(y, "increase")
    assert r.mean[0] == pytest.approx(160 / 14)
    assert flagged(r.shift) == list(range(7, 14))
    assert not any(r.outside + r.trend + r.two_of_three)
    assert r.point_type[7:] == ["special_cause_improvement"] * 7 and r.variation_icon == "improvement_high"
    six = y[:-1]  # mean 148/13 = 11.38; run 7..12 is 6 points
    assert not any(xmr(six).shift)
    assert flagged(xmr(six, config=SpcConfig(shift_length=6)).shift) == list(range(7, 13))


def test_a_point_on_the_mean_breaks_a_shift() -> None:
    y = [13, 13, 13, 11, 13, 13, 13, 9, 9, 9, 9, 9, 9, 11]
    # mean = (6 x 13 + 2 x 11 + 6 x 9) / 14 = 154/14 = 11 exactly: points 3 and 13 sit on it,
    # so the 7 points 0..6 above the mean are two runs of 3; the 9s are a run of 6.
    assert not any(xmr(y).shift)
    assert flagged(xmr(y, config=SpcConfig(shift_length=6)).shift) == list(range(7, 13))
    unbroken = [13, *y[1:3], 13, *y[4:]]  # mean 11.14: points 0..6 are a run of 7
    assert flagged(xmr(unbroken).shift)[:7] == list(range(7))


def test_two_of_three_beyond_two_sigma_on_the_same_side() -> None:
    y = [*BASE, 17.0, 12.0, 17.0]
    # mean = (154 + 46) / 17 = 11.7647; MRs 13 x 2 + 5 + 5 + 5 = 41/16 = 2.5625;
    # near top = 11.7647 + 2/3 x 2.66 x 2.5625 = 16.3089 < 17 < upper = 11.7647 + 6.8163 = 18.581;
    # 12 is above the mean, so window 14..16 qualifies and its two points beyond the band are flagged.
    r = xmr(y, "increase")
    assert r.near_upper[0] == pytest.approx(200 / 17 + 2 / 3 * 2.66 * 41 / 16)
    assert flagged(r.two_of_three) == [14, 16]
    assert not any(r.outside + r.trend + r.shift)
    assert r.point_type[14:] == ["special_cause_improvement", "common_cause", "special_cause_improvement"]
    # The same two high points around a point below the mean do not count:
    # mean = 198/17 = 11.647 > 10; MRs 26 + 5 + 7 + 7 = 45/16 = 2.8125; near top = 16.635 < 17.
    straddle = xmr([*BASE, 17.0, 10.0, 17.0])
    assert straddle.near_upper[0] < 17 < straddle.upper[0]
    assert not any(straddle.two_of_three)


def test_two_of_three_counts_a_point_beyond_the_process_limits() -> None:
    y = [*BASE, *BASE, 17.0, 12.0, 30.0]
    # mean = (308 + 59) / 31 = 11.8387; MRs 27 x 2 + 5 + 5 + 18 = 82/30 = 2.7333;
    # near top = 11.8387 + 4.8471 = 16.686 < 17; upper = 11.8387 + 7.2707 = 19.109 < 30.
    # Post-Nov-2023 MDC logic counts 30 as beyond two sigma, so 17 is flagged as well.
    r = xmr(y, "increase")
    assert flagged(r.outside) == [30]
    assert flagged(r.two_of_three) == [28, 30]


def test_two_of_three_below_the_mean() -> None:
    y = [*BASE, 5.0, 10.0, 5.0]
    # mean = 174/17 = 10.2353; MRs 26 + 7 + 5 + 5 = 43/16 = 2.6875; near bottom = 10.2353 - 4.7658 = 5.4695;
    # lower = 10.2353 - 7.1488 = 3.0865: both 5s beyond two sigma, 10 below the mean.
    r = xmr(y, "decrease")
    assert flagged(r.two_of_three) == [14, 16] and not any(r.outside)
    assert r.variation_icon == "improvement_low"


def test_rebasing_gives_each_segment_its_own_limits() -> None:
    y = BASE + [20.0, 22.0] * 7
    r = xmr(y, rebase_at=[14])
    # Segment 1: mean 11, MR 2 -> 5.68 .. 16.32. Segment 2: mean 21, MR 2 -> 15.68 .. 26.32.
    assert r.mean == [11.0] * 14 + [21.0] * 14
    assert r.upper[0] == pytest.approx(16.32) and r.upper[14] == pytest.approx(26.32)
    assert not any(r.shift + r.outside)
    one = xmr(y)  # one baseline: mean 16, 14 points below then 14 above: shifts everywhere
    assert one.mean[0] == 16 and all(one.shift)


def test_runs_do_not_cross_a_rebase() -> None:
    first = [10.0, 12.0] * 5 + [10.0, 12.0, 12.0, 12.0]  # mean 156/14 = 11.14: last 3 points above
    second = [21.0] * 4 + [19.0, 21.0] * 5  # mean 284/14 = 20.29: first 4 points above
    r = xmr(first + second, rebase_at=[14])
    assert r.mean[0] == pytest.approx(156 / 14) and r.mean[14] == pytest.approx(284 / 14)
    assert not any(r.shift[11:18])  # 3 + 4 above their own means, but in different segments


def test_fix_after_n_points_extends_the_first_limits() -> None:
    y = BASE[:12] + [20.0] * 8
    r = xmr(y, "increase", config=SpcConfig(fix_after_n_points=12))
    # Limits from the first 12 points only: mean 11, MR 2 -> 5.68 .. 16.32, so every 20 is outside.
    assert r.mean == [11.0] * 20 and r.upper[-1] == pytest.approx(16.32)
    assert flagged(r.outside) == list(range(12, 20))
    assert not r.trial and r.variation_icon == "improvement_high"
    # Fixing on 6 points gives trial limits even though the series is longer.
    assert xmr(y, config=SpcConfig(fix_after_n_points=6)).trial


def test_outlier_screening_of_moving_ranges() -> None:
    y = [*BASE, 40.0]
    # MRs: 13 x 2 and 28 -> mean 54/14 = 3.857; 28 > 3.267 x 3.857 = 12.6 is dropped -> mean MR 26/13 = 2.
    plain = xmr(y)
    screened = xmr(y, config=SpcConfig(screen_outliers=True))
    assert plain.mean == screened.mean
    assert plain.upper[0] - plain.mean[0] == pytest.approx(2.66 * 54 / 14)
    assert screened.upper[0] - screened.mean[0] == pytest.approx(2.66 * 2)


def test_assurance_against_a_target() -> None:
    # limits 5.68 .. 16.32
    assert xmr(BASE, "increase", target=5).assurance == "consistent_pass"
    assert xmr(BASE, "increase", target=17).assurance == "consistent_fail"
    assert xmr(BASE, "increase", target=11).assurance == "inconsistent"
    assert xmr(BASE, "decrease", target=17).assurance == "consistent_pass"
    assert xmr(BASE, "decrease", target=5).assurance == "consistent_fail"
    assert xmr(BASE, "decrease", target=16.32).assurance == "inconsistent"
    assert xmr(BASE, "neutral", target=17).assurance is None
    assert xmr(BASE, "increase").assurance is None
    # The last segment decides: after a rebase to 20/22 (15.68 .. 26.32) a target of 17 is inconsistent.
    assert xmr(BASE + [20.0, 22.0] * 7, "increase", target=17, rebase_at=[14]).assurance == "inconsistent"


def test_improvement_wins_over_concern() -> None:
    y = [20.0, 22.0] * 5 + [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    # mean = 301/17 = 17.71: the last 7 points rise (a trend up) and sit below the mean (a shift low).
    r = xmr(y, "increase")
    assert flagged(r.trend) == list(range(10, 17)) and all(r.shift[10:])
    assert r.point_type[10:] == ["special_cause_improvement"] * 7 and r.variation_icon == "improvement_high"
    d = xmr(y, "decrease")  # below the mean is good, the rising trend is bad
    assert d.point_type[10:] == ["special_cause_improvement"] * 7 and d.variation_icon == "improvement_low"


def test_fewer_than_twelve_points_are_trial_limits_without_icons() -> None:
    r = xmr(BASE[:11], "increase", target=5)
    assert r.trial and r.variation_icon is None and r.assurance is None
    assert r.mean[0] == pytest.approx((6 * 10 + 5 * 12) / 11)  # limits are still computed
    assert not xmr(BASE[:12]).trial
    assert xmr(BASE[:12], config=SpcConfig(min_points=13)).trial
    # A short last segment after a rebase is trial even though the first one is not.
    assert xmr(BASE + [20.0, 22.0] * 3, rebase_at=[14]).trial


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        xmr([])
    with pytest.raises(ValueError):
        xmr([1.0, float("nan")])
    with pytest.raises(ValueError):
        xmr(BASE, rebase_at=[14])
    with pytest.raises(ValueError):
        SpcConfig(trend_length=1)
    with pytest.raises(ValueError):
        SpcConfig(fix_after_n_points=0)


@given(st.floats(-1e9, 1e9, allow_nan=False), st.integers(1, 40))
def test_constant_series_has_no_special_cause(c: float, n: int) -> None:
    r = xmr([c] * n, "increase")
    assert r.mean == r.upper == r.lower == [c] * n
    assert not any(r.outside + r.trend + r.two_of_three + r.shift)
    assert r.point_type == ["common_cause"] * n


series = st.lists(st.integers(-1000, 1000).map(float), min_size=12, max_size=40)


@given(series, st.integers(-8, 8))
def test_scaling_by_a_power_of_two_scales_limits_and_keeps_every_flag(values: list[float], e: int) -> None:
    # Multiplying by 2**e is exact in floating point, so every comparison comes out the same.
    k = 2.0**e
    a, b = xmr(values, "increase", rebase_at=[6]), xmr([v * k for v in values], "increase", rebase_at=[6])
    assert b.upper == [u * k for u in a.upper] and b.near_lower == [u * k for u in a.near_lower]
    assert (a.outside, a.trend, a.two_of_three, a.shift) == (b.outside, b.trend, b.two_of_three, b.shift)
    assert a.point_type == b.point_type and a.variation_icon == b.variation_icon


@given(series, st.floats(0.01, 1000))
def test_scaling_by_any_positive_constant_scales_limits(values: list[float], k: float) -> None:
    a, b = xmr(values), xmr([v * k for v in values])
    for x, y in ((a.mean, b.mean), (a.upper, b.upper), (a.lower, b.lower), (a.near_upper, b.near_upper)):
        assert y == pytest.approx([v * k for v in x], rel=1e-9, abs=1e-9 * k)


def test_rate_limits_floored_at_zero_with_the_raw_limits_kept() -> None:
    # Counts 1, 5 alternating (14 points): mean 3, 13 moving ranges of 4 -> mean MR 4;
    # raw limits 3 +/- 2.66 x 4 = -7.64 .. 13.64; raw 2-sigma band 3 +/- 2/3 x 10.64 = -4.0933 .. 7.0933.
    y = [1.0, 5.0] * 7
    r = xmr(y, "decrease", bounds=(0.0, None))
    assert r.raw_lower[-1] == pytest.approx(-7.64) and r.lower[-1] == 0.0
    assert r.near_lower_raw[-1] == pytest.approx(3 - 2 / 3 * 10.64) and r.near_lower[-1] == 0.0
    assert r.upper[-1] == r.raw_upper[-1] == pytest.approx(13.64)  # nothing to clip above
    unbounded = xmr(y, "decrease")
    assert unbounded.lower[-1] == pytest.approx(-7.64)  # without bounds the limit stays negative
    # Clipping changes what is published, not which points are flagged.
    assert (r.outside, r.two_of_three, r.point_type) == (
        unbounded.outside,
        unbounded.two_of_three,
        unbounded.point_type,
    )


def test_percentage_limits_bounded_to_0_100() -> None:
    # 95, 99 alternating: mean 97, mean MR 4; raw upper 97 + 10.64 = 107.64 -> 100; lower 86.36 kept;
    # raw near upper 97 + 7.0933 = 104.0933 -> 100.
    r = xmr([95.0, 99.0] * 7, "increase", target=100.0, bounds=(0.0, 100.0))
    assert r.raw_upper[-1] == pytest.approx(107.64) and r.upper[-1] == 100.0
    assert r.near_upper_raw[-1] == pytest.approx(97 + 2 / 3 * 10.64) and r.near_upper[-1] == 100.0
    assert r.lower[-1] == r.raw_lower[-1] == pytest.approx(86.36)
    assert r.assurance == "inconsistent"  # plan 100 within the (raw and bounded) limits


def test_bounds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="lower < upper"):
        xmr([1.0, 2.0], bounds=(100.0, 0.0))


def _q(metric_id: str, period: str, value: float | None, view: str = "", plan: float | None = None) -> MetricResult:
    p = Period.parse(period)
    return MetricResult(
        metric_id, "E06000061", period, p.start, p.end, 100.0, 50_000.0, value, None, None, "dsr", "", plan,
        value, None, "On track to meet target", "", view,
    )  # fmt: skip


def test_cumulative_metric_spc_uses_in_period_quarters_never_the_running_total() -> None:
    falls = registry.get("falls_65_plus")  # window year_to_date, cumulative
    # The in-period quarter and months are computed beside the year to date (tests/test_spc_monthly.py
    # covers the months; here the run holds quarters only).
    assert falls.windows == ("year_to_date", "quarter", "month_1", "month_2", "month_3")
    assert falls.spc_view == "quarter"
    assert registry.get("contacts").spc_view == ""  # a quarterly headline is already discrete
    # In-period quarters 10, 12, 14 (one financial year): year to date 10, 22, 36.
    quarters = [_q(falls.id, f"2024-25-Q{i}", v, "quarter") for i, v in ((1, 10.0), (2, 12.0), (3, 14.0))]
    ytd = [_q(falls.id, f"2024-25-Q{i}", v, plan=40.0) for i, v in ((1, 10.0), (2, 22.0), (3, 36.0))]
    series = spc_series(falls, ytd + quarters)
    assert series is not None and series.values == [10.0, 12.0, 14.0] and series.in_period
    reading = spc_summary(falls, list(reversed(ytd + quarters)))
    # Mean 12, mean MR 2: limits 12 +/- 5.32 = 6.68 .. 17.32 (the totals would give mean 22.7).
    assert "mean 12.0" in reading.text and "6.7 to 17.3" in reading.text
    assert "not the year-to-date total" in reading.text
    assert reading.result is not None and reading.result.assurance is None  # no plan for quarters
    refused = spc_summary(falls, ytd)
    assert refused.result is None and refused.series is None
    assert refused.text.startswith("not assessed: SPC needs in-period values")


def test_spc_reading_bounds_limits_by_unit_and_skips_suppressed_values() -> None:
    pct = registry.get("discharge_usual_residence")  # a proportion: limits within 0-100
    assert limit_bounds(pct) == (0.0, 100.0) and limit_bounds(registry.get("contacts")) == (0.0, None)
    # 95, 99, 95, 99: mean 97, mean MR 4, raw upper 107.64 -> 100, lower 86.36.
    rows = [_q(pct.id, f"2024-25-Q{i}", v) for i, v in zip(range(1, 5), [95.0, 99.0, 95.0, 99.0], strict=True)]
    reading = spc_summary(pct, rows)
    assert reading.result is not None
    assert reading.result.upper[-1] == 100.0 and reading.result.raw_upper[-1] == pytest.approx(107.64)
    assert "86.36 to 100.00" in reading.text  # decimals = 2 for this metric
    # A quarter with a numerator of 3 is suppressed (threshold 5): left out of the limits.
    small = [*rows[:3], replace(rows[3], numerator=3.0)]
    s = spc_series(pct, small, threshold=5)
    assert s is not None and s.values == [95.0, 99.0, 95.0] and s.left_out == ["2024-25 Q4"]
