"""Statistics against published reference values and hand-worked arithmetic.

Reference values: the PHEindicatormethods 2.1.0 formulae and the Fingertips technical guidance
(z = 1.959963984540054), cross-checked independently by root-finding on the Poisson CDF (exact)
and on the Wilson score equation. Tolerances: abs 1e-6 for values quoted to 7 decimals,
rel 1e-6 for the DSR values quoted to 4 decimals (their rounding, <= 5e-5, is well inside it),
rel 1e-12 where the expected value is exact arithmetic.
"""

from __future__ import annotations

import csv
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.compute import stats
from metrics.core.paths import REFERENCE

Z = 1.959963984540054
BYARS_100 = (81.3621055, 121.6279376)
EXACT_5 = (1.6234864, 11.6683321)
REF = 1e-6  # tolerance for the published reference values (see module docstring)


def test_z_value() -> None:
    assert stats.z_value(0.95) == pytest.approx(Z, abs=1e-12)
    with pytest.raises(ValueError, match="fraction"):
        stats.z_value(95)  # a percentage, not a fraction


def test_byars_limits_for_100() -> None:
    lo, hi = stats.byars_limits(100)
    assert lo == pytest.approx(BYARS_100[0], abs=REF)
    assert hi == pytest.approx(BYARS_100[1], abs=REF)


def test_byars_lower_at_zero_and_where_negative() -> None:
    assert stats.byars_limits(0)[0] == 0.0
    assert stats.byars_limits(0.5)[0] is None  # 0.5 x (1 - 2/9 - z/(3 sqrt 0.5))^3 < 0


def test_exact_limits_for_5() -> None:
    lo, hi = stats.exact_limits(5)
    assert lo == pytest.approx(EXACT_5[0], abs=REF)
    assert hi == pytest.approx(EXACT_5[1], abs=REF)


def test_exact_limits_for_0() -> None:
    # For O = 0 the upper limit solves exp(-mu) = 0.025, so mu = -ln(0.025) = 3.6888795.
    assert stats.exact_limits(0) == (0.0, pytest.approx(-math.log(0.025), rel=1e-12))


def test_wilson_45_of_100() -> None:
    e = stats.proportion(45, 100, multiplier=1)
    assert e.value == pytest.approx(0.45, rel=1e-12)
    assert e.lower == pytest.approx(0.3561454, abs=REF)
    assert e.upper == pytest.approx(0.5475540, abs=REF)
    assert e.method == "Wilson"


def test_dsr_reference_example() -> None:
    weights = stats.esp2013_weights(["65-69", "70-74", "75-79", "80-84", "85-89", "90+"])
    assert weights == [5500, 5000, 4000, 2500, 1500, 1000]
    e = stats.dsr([120, 150, 200, 260, 240, 180], [30000, 26000, 20000, 13000, 7000, 3500], weights)
    assert e.numerator == 1150
    assert e.value == pytest.approx(1249.7605, rel=REF)
    assert e.lower == pytest.approx(1177.6962, rel=REF)
    assert e.upper == pytest.approx(1325.0401, rel=REF)
    assert (e.method, e.multiplier, e.note) == ("Dobson", 100_000, "")


def test_dsr_not_published_below_10_events() -> None:
    weights = [5500.0, 5000.0]
    nine = stats.dsr([4, 5], [1000, 1000], weights)
    assert (nine.value, nine.lower, nine.upper) == (None, None, None)
    assert nine.note == "dsr NA for total count < 10" and nine.numerator == 9
    ten = stats.dsr([5, 5], [1000, 1000], weights)
    assert ten.value is not None and ten.lower is not None and ten.upper is not None and ten.note == ""


def test_crude_rate_seed_worked_numbers() -> None:
    # Seed paper: Q1 "(79/77,713 x 100,000) = 102", Q2 "(177/77,713 x 100,000) = 228" (to 6 dp by hand).
    assert stats.crude_rate(79, 77_713).value == pytest.approx(101.656094, abs=1e-6)
    assert stats.crude_rate(177, 77_713).value == pytest.approx(227.761121, abs=1e-6)
    # ... and "Q1 = 85.3% (81/95 x 100)".
    assert stats.proportion(81, 95).value == pytest.approx(85.263158, abs=1e-6)


def test_crude_rate_limits_are_count_limits_over_population() -> None:
    e = stats.crude_rate(5, 1000)  # exact limits of 5, per 1,000 -> x 100
    assert e.lower == pytest.approx(EXACT_5[0] * 100, abs=100 * REF)
    assert e.upper == pytest.approx(EXACT_5[1] * 100, abs=100 * REF)
    e = stats.crude_rate(100, 50_000)  # Byar's limits of 100, per 50,000 -> x 2
    assert e.lower == pytest.approx(BYARS_100[0] * 2, abs=2 * REF)
    assert e.upper == pytest.approx(BYARS_100[1] * 2, abs=2 * REF)


def test_exact_below_10_byars_from_10() -> None:
    assert stats.count_limits(9)[2] == "Exact"
    assert stats.count_limits(10)[2] == "Byars"
    assert stats.crude_rate(9, 1000).method == "Exact"
    ten = stats.crude_rate(10, 1000)
    assert ten.method == "Byars"
    lo, hi = stats.byars_limits(10)
    assert lo is not None
    assert ten.lower == pytest.approx(lo * 100, rel=1e-12) and ten.upper == pytest.approx(hi * 100, rel=1e-12)


def test_isr_hand_worked() -> None:
    # Two strata. Reference: 100/10,000 and 400/20,000 -> stratum rates 0.01 and 0.02; reference rate
    # (100 + 400) / 30,000 x 100,000 = 1,666.67. Local populations 1,000 and 3,000:
    # E = 0.01 x 1,000 + 0.02 x 3,000 = 10 + 60 = 70.
    pops, ref_counts, ref_pops = [1000, 3000], [100, 400], [10000, 20000]
    ref_rate = 500 / 30000 * 100_000
    # O = 84 -> ISR = 84 / 70 x 1,666.67 = 1.2 x 1,666.67 = 2,000.
    e = stats.isr(84, pops, ref_counts, ref_pops)
    assert e.denominator == pytest.approx(70, rel=1e-12) and e.numerator == 84
    assert e.value == pytest.approx(2000.0, rel=1e-12)
    assert e.method == "Byars"
    # O = 100 -> ISR = 100 / 70 x 1,666.67 = 2,380.95; limits = Byar's(100) / 70 x 1,666.67.
    e = stats.isr(100, pops, ref_counts, ref_pops)
    assert e.value == pytest.approx(2380.952381, abs=1e-6)
    assert e.lower == pytest.approx(BYARS_100[0] / 70 * ref_rate, rel=REF)  # 1,937.193
    assert e.upper == pytest.approx(BYARS_100[1] / 70 * ref_rate, rel=REF)  # 2,895.903
    # O = 5 -> exact limits: 1.6234864 / 70 x 1,666.67 = 38.654 and 11.6683321 / 70 x 1,666.67 = 277.817.
    e = stats.isr(5, pops, ref_counts, ref_pops)
    assert e.method == "Exact"
    assert e.lower == pytest.approx(EXACT_5[0] / 70 * ref_rate, rel=REF)
    assert e.upper == pytest.approx(EXACT_5[1] / 70 * ref_rate, rel=REF)


def test_isr_with_zero_expected_is_not_published() -> None:
    e = stats.isr(3, [1000, 2000], [0, 0], [10000, 20000])
    assert e.value is None and e.note == "expected count is zero"


@given(
    strata=st.lists(
        st.tuples(st.integers(1, 10**6), st.integers(1, 10**4), st.integers(10**4, 10**7)), min_size=1, max_size=19
    )
)
def test_isr_equals_reference_rate_when_local_rates_are_the_reference_rates(strata: list[tuple[int, int, int]]) -> None:
    pops = [float(p) for p, _, _ in strata]
    ref_counts = [float(c) for _, c, _ in strata]
    ref_pops = [float(rp) for _, _, rp in strata]
    # Local counts at exactly the reference stratum rates, so O = E and ISR = the reference crude rate.
    observed = sum(c / rp * p for c, rp, p in zip(ref_counts, ref_pops, pops, strict=True))
    e = stats.isr(observed, pops, ref_counts, ref_pops)
    assert e.denominator == pytest.approx(observed, rel=1e-12)
    assert e.value == pytest.approx(sum(ref_counts) / sum(ref_pops) * 100_000, rel=1e-9)


@given(
    rate=st.floats(1e-5, 0.5),
    strata=st.lists(st.tuples(st.integers(1, 10**6), st.integers(10**4, 10**7)), min_size=1, max_size=19),
)
def test_isr_equals_crude_rate_when_local_and_reference_rates_are_one_rate(
    rate: float, strata: list[tuple[int, int]]
) -> None:
    pops = [float(p) for p, _ in strata]
    ref_pops = [float(rp) for _, rp in strata]
    ref_counts = [rate * rp for rp in ref_pops]
    observed = rate * sum(pops)
    e = stats.isr(observed, pops, ref_counts, ref_pops)
    crude = stats.crude_rate(observed, sum(pops))
    assert e.value == pytest.approx(crude.value, rel=1e-9)
    assert e.method == crude.method


@given(
    weights=st.lists(st.sampled_from([1000.0, 1500.0, 2500.0, 4000.0, 5000.0, 5500.0]), min_size=1, max_size=19),
    factor=st.floats(0.01, 100),
    counts=st.lists(st.integers(0, 5000), min_size=19, max_size=19),
)
def test_dsr_equals_crude_rate_when_population_is_proportional_to_the_standard(
    weights: list[float], factor: float, counts: list[int]
) -> None:
    pops = [w * factor for w in weights]
    x = [float(c) for c in counts[: len(weights)]]
    if sum(x) < 10:
        return
    e = stats.dsr(x, pops, weights)
    assert e.value == pytest.approx(sum(x) / sum(pops) * 100_000, rel=1e-9)


def test_input_errors() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        stats.proportion(6, 5)
    with pytest.raises(ValueError, match=">= 0"):
        stats.proportion(-1, 5)
    with pytest.raises(ValueError, match="population"):
        stats.crude_rate(3, 0)
    with pytest.raises(ValueError, match="count"):
        stats.crude_rate(-1, 100)
    with pytest.raises(ValueError, match="finite"):
        stats.crude_rate(math.nan, 100)
    with pytest.raises(ValueError, match="population"):
        stats.dsr([5, 6], [1000, 0], [1, 1])
    with pytest.raises(ValueError, match="length"):
        stats.dsr([5, 6], [1000], [1, 1])
    with pytest.raises(ValueError, match="weights"):
        stats.dsr([5, 6], [1000, 1000], [0, 0])
    with pytest.raises(KeyError, match="ESP2013"):
        stats.esp2013_weights(["65-70"])
    zero = stats.proportion(0, 0)
    assert zero.value is None and zero.note == "denominator is zero"


def test_esp2013_sums_to_100000_and_matches_the_reference_csv() -> None:
    bands = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
    assert sum(stats.esp2013_weights(bands)) == 100_000
    # The warehouse loads the same table from CSV for the SQL side; the two copies must agree.
    csv_path = REFERENCE / "esp2013.csv"
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = {r["age_band"]: float(r["weight"]) for r in csv.DictReader(fh)}
    assert list(rows) == bands
    assert list(rows.values()) == stats.esp2013_weights(bands)


@given(n=st.integers(1, 10**6), frac=st.floats(0, 1))
def test_proportion_interval_contains_estimate(n: int, frac: float) -> None:
    x = math.floor(n * frac)
    e = stats.proportion(x, n)
    assert e.lower is not None and e.upper is not None and e.value is not None
    # At x = n the upper limit is exactly 1 on paper but can round to 1 - 1 ulp; allow 1e-12 relative.
    assert 0 <= e.lower <= e.value <= e.upper * (1 + 1e-12) and e.upper <= 100


@given(count=st.integers(0, 10**6), pop=st.integers(1, 10**8))
def test_rate_interval_contains_estimate(count: int, pop: int) -> None:
    e = stats.crude_rate(count, pop)
    assert e.lower is not None and e.upper is not None and e.value is not None
    assert 0 <= e.lower <= e.value <= e.upper


@given(count=st.integers(0, 100_000))
def test_limits_monotone_in_count(count: int) -> None:
    # Includes the 9 -> 10 switch from exact to Byar's, where a jump backwards would show.
    lo0, hi0, _ = stats.count_limits(count)
    lo1, hi1, _ = stats.count_limits(count + 1)
    assert hi1 >= hi0 and lo1 >= lo0


def test_mean_t_limits_against_scipy_worked_values() -> None:
    # Delays (days) 0, 0, 0, 1, 2, 3, 5, 8, 14, 21, 30: sum 84, n 11, sum of squares 1,640.
    # Worked with scipy 1.x: mean 84 / 11 = 7.636363636363637, sd (ddof=1) 9.992724626174057,
    # t.ppf(0.975, 10) = 2.228138851986274, limits mean -/+ t x sd / sqrt(11)
    # = (0.9231598873219609, 14.349567385405312), equal to
    # scipy.stats.t.interval(0.95, 10, loc=mean, scale=sem); tolerance 1e-9.
    e = stats.mean(84, 11, 1640)
    assert e.value == pytest.approx(84 / 11, abs=1e-12)
    assert e.lower == pytest.approx(0.9231598873219609, abs=1e-9)
    assert e.upper == pytest.approx(14.349567385405312, abs=1e-9)
    assert (e.numerator, e.denominator, e.method) == (84, 11, "Student's t")


def test_mean_phe_mean_example() -> None:
    # PHEindicatormethods R/Means.R example: values 30, 40, 50, 60 (sum 180, sum of squares 8,600).
    # mean 45, sd 12.909944, qt(0.975, 3) = 3.182446; limits 45 -/+ 3.182446 x 12.909944 / 2
    # = (24.457397432394792, 65.5426025676052) (scipy t.interval); tolerance 1e-9.
    e = stats.mean(180, 4, 8600)
    assert (e.value, e.lower, e.upper) == pytest.approx((45.0, 24.457397432394792, 65.5426025676052), abs=1e-9)


def test_mean_of_one_or_none_and_input_errors() -> None:
    one = stats.mean(3, 1, 9)
    assert (one.value, one.lower, one.upper) == (3.0, None, None)
    none = stats.mean(0, 0, 0)
    assert none.value is None and none.note
    same = stats.mean(6, 3, 12)  # three values of 2: sd 0, limits equal to the mean
    assert (same.lower, same.upper) == (2.0, 2.0)
    with pytest.raises(ValueError):
        stats.mean(3, 1.5, 9)
    with pytest.raises(ValueError):
        stats.mean(3, 2, -1)
