"""Funnel limits against PHEindicatormethods' own test data (tests/testthat/testdata_funnel_*.csv in
github.com/ukhsa-collaboration/PHEindicatormethods, commit 093fd288, 13 Dec 2024): a few rows of each
table, quoted here. Tolerances: proportions 1e-6 absolute (the file keeps 6 decimals); Poisson
limits 1e-5 relative, or 1e-7 absolute in E (the package bisects to 1e-7 on a transformed scale, this uses the exact
chi-squared quantiles it approaches)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from metrics.compute import funnel
from metrics.core.results import MetricResult

# testdata_funnel_prop_outputs.csv: Population, Lower2s, Upper2s, Lower3s, Upper3s; baseline 80.642448
# (the pooled average of testdata_funnel_prop_inputs.csv, multiplier 100).
PROP_AVERAGE = 0.806424478571495  # sum of the 303 numerators / sum of the denominators (computed from the inputs)
PROP_ROWS = [
    (1, 3.204264, 100, 0, 100),
    (10, 56.154344, 100, 42.03259, 100),
    (75, 71.700657, 89.584239, 66.544121, 94.740774),
    (1699, 78.763743, 82.521152, 77.680336, 83.60456),
    (38775, 80.249188, 81.035707, 80.022404, 81.262492),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]


@pytest.mark.parametrize(("population", "lo2", "hi2", "lo3", "hi3"), PROP_ROWS)
def test_proportion_limits_match_the_package(population: float, lo2: float, hi2: float, lo3: float, hi3: float) -> None:
    got = funnel.proportion_limits(PROP_AVERAGE, population, 100)
    assert (got.lower_95, got.upper_95, got.lower_998, got.upper_998) == pytest.approx((lo2, hi2, lo3, hi3), abs=1e-6)


def test_proportion_grid_matches_the_package() -> None:
    # The inputs' denominators run from 16,386 to 102,950: over twice, so the axis starts at 0 (grid
    # from 1) and ends at 110,000; the package's grid has the rows quoted above among its 100.
    grid = funnel.axis_grid(16386, 102950)
    assert len(grid) == 100
    assert grid[:5] == [1, 2, 3, 4, 5]
    assert grid[-1] == 110000
    assert {1699, 38775, 75, 10} <= set(grid)


# testdata_funnel_ratio_outputs.csv: Observed_events, lower_2s_exp_events, lower_2s_count,
# upper_2s_exp_events, upper_2s_count, lower_3s_exp_events, lower_3s_count, upper_3s_exp_events, upper_3s_count.
RATIO_ROWS = [
    (1, 5.571644585, -0.820519779, 0.025317898, 38.49774946, 9.233410143, -0.891697652, 0.001000547, 998.4532721),
    (10, 18.39035799, -0.456236795, 4.795387629, 1.085337156, 24.13397235, -0.585646331, 2.960519925, 2.37778507),
    (684, 737.2376756, -0.072212364, 633.6939776, 0.079385357, 768.7368323, -0.110228662, 606.0208883, 0.128673967),
]


@pytest.mark.parametrize("row", RATIO_ROWS)
def test_ratio_limits_match_the_package(row: tuple[float, ...]) -> None:
    obs, le2, lc2, ue2, uc2, le3, lc3, ue3, uc3 = row
    got = funnel.ratio_limits(obs)
    # ratio_type "count" subtracts 1 from the ratio O/E.
    for key, (e, c) in {
        "lower_95": (le2, lc2),
        "upper_95": (ue2, uc2),
        "lower_99.8": (le3, lc3),
        "upper_99.8": (ue3, uc3),
    }.items():
        # Bisection to 1e-7 leaves an absolute error of about 1e-7 in E, which matters only for the
        # tiniest E (0.001 at O = 1, 99.8% upper): hence abs=1e-7 beside rel=1e-5.
        assert got[key][0] == pytest.approx(e, rel=1e-5, abs=1e-7), key
        assert got[key][1] == pytest.approx(obs / got[key][0], rel=1e-12), key
        assert obs / e - 1 == pytest.approx(c, rel=1e-6), key  # the quoted count column is O/E - 1


# testdata_funnel_rate_outputs.csv (rate_type dsr, multiplier 100,000, years_of_data 3): Events,
# lower_2s_population_1_year, lower_2s_limit, upper_2s_population_1_year, upper_2s_limit, lower_3s_limit,
# upper_3s_limit; baseline 116.1720835 per 100,000.
RATE_ROWS = [
    (1, 1598.675694, 20.85059119, 7.264481402, 4588.535848, 12.58170943, 116108.569),
    (11, 5647.380657, 64.92685529, 1575.582188, 232.7182102, 49.93856755, 366.0028477),
    (1360, 411529.9259, 110.158048, 369759.5622, 122.6021934, 106.9073359, 126.5084525),
]


@pytest.mark.parametrize("row", RATE_ROWS)
def test_rate_limits_match_the_package(row: tuple[float, ...]) -> None:
    events, lpop2, lo2, upop2, hi2, lo3, hi3 = row
    got, baseline = funnel.rate_limits(116.1720835 / 100_000, events, 100_000)
    assert baseline == pytest.approx(116.1720835, rel=1e-9)
    assert got["lower_95"][0] / 3 == pytest.approx(lpop2, rel=1e-5)  # the package's per-year population
    assert got["upper_95"][0] / 3 == pytest.approx(upop2, rel=1e-5)
    assert got["lower_95"][1] == pytest.approx(lo2, rel=1e-5)
    assert got["upper_95"][1] == pytest.approx(hi2, rel=1e-5)
    assert got["lower_99.8"][1] == pytest.approx(lo3, rel=1e-5)
    # At one event the 99.8% upper limit's E is 0.001, where the bisection's 1e-7 is 5e-5 relative.
    assert got["upper_99.8"][1] == pytest.approx(hi3, rel=1e-4 if events == 1 else 1e-5)


# testdata_funnel_ratio_inputs.csv (obs, expected, significance) and testdata_funnel_prop_inputs.csv
# (numerator, denominator, significance against the pooled average).
@pytest.mark.parametrize(
    ("obs", "expected", "label"),
    [
        (8, 6.239860227, "Not significant"),
        (151, 106.4429719, "High (0.001)"),
        (159, 232.9329036, "Low (0.001)"),
        (191, 184.0963855, "Not significant"),
        (150, 119.5695496, "High (0.025)"),
    ],
)
def test_ratio_significance_matches_the_package(obs: float, expected: float, label: str) -> None:
    assert funnel.significance("ratio", obs, expected, 1.0) == label


@pytest.mark.parametrize(
    ("num", "den", "label"),
    [
        (35078.4880000, 41980, "High (0.001)"),
        (24803.6256000, 31824, "Low (0.001)"),
        (50050.7443000, 61921, "Not significant"),
        (48686.4364000, 59804, "High (0.001)"),
        (35795.6324000, 45449, "Low (0.001)"),
    ],
)
def test_proportion_significance_matches_the_package(num: float, den: float, label: str) -> None:
    assert funnel.significance("proportion", num, den, PROP_AVERAGE) == label


def test_dsr_below_ten_events_is_not_assessed() -> None:
    assert funnel.significance("rate", 9, 1000, 0.001, dsr=True) == funnel.DSR_TOO_FEW
    # Worked: 30 events in 10,000 against 0.001 (10 expected): Byar's 99.8% lower limit of 30 is
    # 30 (1 - 1/270 - 3.0902/(3 sqrt 30))^3 = 17.3 > 10, so High (0.001).
    assert funnel.significance("rate", 30, 10_000, 0.001) == funnel.HIGH_3S


def test_pooled_average_sums_counts() -> None:
    # 10/100 and 90/300 pool to 100/400 = 0.25, not the mean of 0.1 and 0.3 (0.2).
    assert funnel.pooled_average([10, 90], [100, 300]) == 0.25


def _result(metric_id: str, hwb: str, num: float, den: float, value: float) -> MetricResult:
    day = dt.date(2023, 7, 1)
    return MetricResult(
        metric_id, hwb, "2023-24-Q2", day, day, num, den, value, None, None, "Wilson", "", None, None, None, "", ""
    )


def test_the_funnel_chart_labels_areas_and_leaves_suppressed_ones_off(tmp_path: Path) -> None:
    from metrics.core.registry import get
    from metrics.publish.charts import funnel_chart

    m = get("discharge_usual_residence")
    # Pooled 1,803 of 2,003 = 90.0%. A: 990/1000 (99%) is far above the 99.8% limit at n = 1000;
    # B: 810/1000 (81%) far below; C: 3/3, suppressed (3 < 5), drawn nowhere but in the average.
    rows = [
        _result(m.id, "E06000061", 990, 1000, 99.0),
        _result(m.id, "E06000062", 810, 1000, 81.0),
        _result(m.id, "E10000024", 3, 3, 100.0),
    ]
    names = {"E06000061": "North Northamptonshire", "E06000062": "West Northamptonshire", "E10000024": "Notts"}
    png, svg = funnel_chart(m, rows, names, tmp_path)
    text = svg.read_text(encoding="utf-8")
    assert png.stat().st_size > 1000
    assert "North Northamptonshire: High (0.001)" in text and "West Northamptonshire: Low (0.001)" in text
    assert "Notts" not in text
    assert "average of the areas (90.0" in text
    assert funnel_chart(get("discharge_delay_days"), rows, names, tmp_path) == []  # a mean: no PHE funnel
    assert funnel_chart(m, rows[:1], names, tmp_path / "one") == []  # one area: no funnel
