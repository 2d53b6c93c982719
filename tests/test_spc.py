"""Making Data Count rules on hand-made series, with the limits worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.spc import SpcConfig, xmr

# Base: alternating 10, 12 -> mean 11, every moving range 2, limits 11 +/- 5.32, near band 11 +/- 3.5467.
BASE = [10.0, 12.0] * 7


def test_limits_by_hand() -> None:
    r = xmr(BASE)
    assert r.mean[0] == 11
    assert r.upper[0] == pytest.approx(11 + 2.66 * 2) and r.lower[0] == pytest.approx(11 - 2.66 * 2)
    assert r.near_upper[0] == pytest.approx(11 + 2 / 3 * 2.66 * 2)
    assert not any(r.outside + r.trend + r.two_of_three + r.shift)
    assert r.variation_icon == "common_cause" and not r.trial


def test_point_beyond_limits() -> None:
    y = [*BASE, 30.0]
    # mean = (7*10 + 7*12 + 30) / 15 = 184/15 = 12.2667; moving ranges 13 x 2 and 18: mean MR = 44/14 = 3.1429;
    # upper = 12.2667 + 2.66 x 3.1429 = 20.627 < 30.
    r = xmr(y, "decrease")
    assert r.upper[-1] == pytest.approx(184 / 15 + 2.66 * 44 / 14)
    assert r.outside == [False] * 14 + [True]
    assert r.point_type[-1] == "special_cause_concern" and r.variation_icon == "concern_high"
    assert xmr(y, "increase").variation_icon == "improvement_high"
    assert xmr(y, "neutral").variation_icon == "neutral_high"


def test_trend_of_seven_and_of_six() -> None:
    seven = [10, 12, 10, 12, 10, 11, 12, 13, 14, 15, 16, 12, 10, 12]  # points 4..10 rise (6 moves)
    r = xmr(seven, "increase")
    assert [i for i, f in enumerate(r.trend) if f] == [4, 5, 6, 7, 8, 9, 10]
    six = [10, 12, 10, 12, 10, 11, 12, 13, 14, 15, 12, 10, 12, 10]  # points 4..9 rise (5 moves)
    assert not any(xmr(six).trend)
    assert [i for i, f in enumerate(xmr(six, config=SpcConfig(trend_length=6)).trend) if f] == [4, 5, 6, 7, 8, 9]


def test_shift_of_seven_but_not_six() -> None:
    # 7 points at 12.5 after 7 alternating points: all 7 above the mean.
    y = [10, 12, 10, 12, 10, 12, 10, 12.5, 12.4, 12.5, 12.4, 12.5, 12.4, 12.5]
    r = xmr(y, "increase")
    mean = sum(y) / len(y)  # 11.6: 10s below, 12s and 12.4/12.5 above
    assert r.mean[0] == pytest.approx(mean)
    # Points 5..13 are all above the mean (12, then 12.5 ...) except point 6 (10): run 7..13 = 7 points.
    assert [i for i, f in enumerate(r.shift) if f] == list(range(7, 14))
    assert r.point_type[13] == "special_cause_improvement"
    six = y[:-1]
    assert not any(xmr(six).shift)
    assert any(xmr(six, config=SpcConfig(shift_length=6)).shift)


def test_two_of_three_beyond_two_sigma_on_the_same_side() -> None:
    y = [*BASE, 15.2, 12.0, 15.2]
    # mean = (154 + 42.4) / 17 = 11.553; MRs: 13 x 2, 3.2, 3.2, 3.2 -> mean MR = 35.6/16 = 2.225;
    # near band top = 11.553 + 2/3 x 2.66 x 2.225 = 15.499 -> 15.2 is NOT beyond it.
    assert not any(xmr(y).two_of_three)
    y = [*BASE, 16.0, 12.0, 16.0]
    # mean = 198/17 = 11.647; MRs 13 x 2 + 4 + 4 + 4 -> 38/16 = 2.375; near top = 11.647 + 4.212 = 15.859;
    # upper = 11.647 + 6.318 = 17.965: two of the last three beyond 2 sigma, all three above the mean.
    r = xmr(y, "increase")
    assert r.near_upper[0] == pytest.approx(198 / 17 + 2 / 3 * 2.66 * 38 / 16)
    assert [i for i, f in enumerate(r.two_of_three) if f] == [14, 16]
    assert not any(r.outside)
    # The same two high points with a middle point below the mean do not count.
    assert not any(xmr([*BASE, 16.0, 10.0, 16.0]).two_of_three)


def test_rebasing_gives_each_segment_its_own_limits() -> None:
    y = BASE + [20.0, 22.0] * 7
    r = xmr(y, rebase_at=[14])
    assert r.mean[0] == 11 and r.mean[14] == 21
    assert not any(r.shift)  # without the rebase, 14 points above a mean of 16 would be a shift
    assert any(xmr(y).shift)


def test_outlier_screening_of_moving_ranges() -> None:
    y = [*BASE, 40.0]
    # MRs: 13 x 2 and 28 -> mean 54/14 = 3.857; 28 > 3.267 x 3.857 = 12.6 is screened -> mean MR 2.
    plain = xmr(y)
    screened = xmr(y, config=SpcConfig(screen_outliers=True))
    assert plain.upper[0] - plain.mean[0] == pytest.approx(2.66 * 54 / 14)
    assert screened.upper[0] - screened.mean[0] == pytest.approx(2.66 * 2)


def test_assurance_against_a_target() -> None:
    # limits 5.68 .. 16.32
    assert xmr(BASE, "increase", target=5).assurance == "consistent_pass"
    assert xmr(BASE, "increase", target=17).assurance == "consistent_fail"
    assert xmr(BASE, "increase", target=11).assurance == "inconsistent"
    assert xmr(BASE, "decrease", target=17).assurance == "consistent_pass"
    assert xmr(BASE, "neutral", target=17).assurance is None


def test_fewer_than_twelve_points_are_trial_limits_without_icons() -> None:
    r = xmr(BASE[:11], "increase", target=5)
    assert r.trial and r.variation_icon is None and r.assurance is None
    assert r.mean[0] == pytest.approx((6 * 10 + 5 * 12) / 11)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=12, max_size=40), st.floats(0.5, 100))
def test_scaling_scales_limits_and_keeps_flags(values: list[float], k: float) -> None:
    a, b = xmr(values, "increase"), xmr([v * k for v in values], "increase")
    assert b.upper[0] == pytest.approx(a.upper[0] * k, rel=1e-6, abs=1e-6)
    if max(values) - min(values) > 1e-3:
        assert (a.outside, a.trend, a.shift) == (b.outside, b.trend, b.shift)


def test_constant_series_has_no_special_cause() -> None:
    r = xmr([7.0] * 15, "increase")
    assert r.point_type == ["common_cause"] * 15
