"""Statistics against published reference values and hand-worked arithmetic.

Reference values: shared/reference/domain.md section 3.7 (computed from the PHEindicatormethods
formulae, z = 1.959963984540054). Tolerances: 1e-7 absolute on values quoted to 7 decimals,
1e-4 on values quoted to 4 decimals, otherwise 1e-12 relative.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics import stats

Z = 1.959963984540054


def test_z_value() -> None:
    assert stats.z_value(0.95) == pytest.approx(Z, abs=1e-12)


def test_byars_limits_for_100() -> None:
    lo, hi = stats.byars_limits(100)
    assert lo == pytest.approx(81.3621055, abs=1e-7)
    assert hi == pytest.approx(121.6279376, abs=1e-7)


def test_exact_limits_for_5() -> None:
    lo, hi = stats.exact_limits(5)
    assert lo == pytest.approx(1.6234864, abs=1e-7)
    assert hi == pytest.approx(11.6683321, abs=1e-7)


def test_wilson_45_of_100() -> None:
    e = stats.proportion(45, 100, multiplier=1)
    assert e.value == 0.45
    assert e.lower == pytest.approx(0.3561454, abs=1e-7)
    assert e.upper == pytest.approx(0.5475540, abs=1e-7)
    assert e.method == "Wilson"


def test_dsr_reference_example() -> None:
    e = stats.dsr([120, 150, 200, 260, 240, 180], [30000, 26000, 20000, 13000, 7000, 3500],
                  stats.esp2013_weights(["65-69", "70-74", "75-79", "80-84", "85-89", "90+"]))
    assert e.numerator == 1150
    assert e.value == pytest.approx(1249.7605, abs=1e-4)
    assert e.lower == pytest.approx(1177.6962, abs=1e-4)
    assert e.upper == pytest.approx(1325.0401, abs=1e-4)
    assert e.method == "Dobson"


def test_dsr_not_published_below_10_events() -> None:
    weights = [5500.0, 5000.0]
    nine = stats.dsr([4, 5], [1000, 1000], weights)
    assert nine.value is None and nine.lower is None and nine.note == "dsr NA for total count < 10"
    assert stats.dsr([5, 5], [1000, 1000], weights).value is not None


def test_crude_rate_seed_worked_numbers() -> None:
    # Seed paper: Q1 "(79/77,713 x 100,000) = 102", Q2 "(177/77,713 x 100,000) = 228".
    assert stats.crude_rate(79, 77_713).value == pytest.approx(101.65609, abs=1e-5)
    assert stats.crude_rate(177, 77_713).value == pytest.approx(227.76112, abs=1e-5)
    # ... and "Q1 = 85.3% (81/95 x 100)".
    assert stats.proportion(81, 95).value == pytest.approx(85.263158, abs=1e-6)


def test_exact_below_10_byars_from_10() -> None:
    assert stats.crude_rate(9, 1000).method == "Exact"
    ten = stats.crude_rate(10, 1000)
    assert ten.method == "Byars"
    lo, hi = stats.byars_limits(10)
    assert ten.lower == pytest.approx(lo * 100_000 / 1000) and ten.upper == pytest.approx(hi * 100_000 / 1000)


def test_isr_hand_worked() -> None:
    # Two strata. Reference: 100/10,000 and 400/20,000 -> rates 0.01 and 0.02; reference rate
    # (100 + 400) / 30,000 x 100,000 = 1,666.67. Local populations 1,000 and 3,000:
    # E = 0.01 x 1,000 + 0.02 x 3,000 = 70. Observed 84 -> ISR = 84 / 70 x 1,666.67 = 2,000.
    e = stats.isr(84, [1000, 3000], [100, 400], [10000, 20000])
    assert e.denominator == pytest.approx(70)
    assert e.value == pytest.approx(2000.0, rel=1e-12)
    lo, hi = stats.byars_limits(84)
    assert e.lower == pytest.approx(lo / 70 * 500 / 30000 * 100_000, rel=1e-12)
    assert e.upper == pytest.approx(hi / 70 * 500 / 30000 * 100_000, rel=1e-12)
    assert e.method == "Byars"
    assert stats.isr(5, [1000, 3000], [100, 400], [10000, 20000]).method == "Exact"


def test_isr_equals_crude_rate_when_local_rates_are_the_reference_rates() -> None:
    pops = [2000.0, 5000.0, 1000.0]
    ref_counts, ref_pops = [30.0, 150.0, 90.0], [10000.0, 25000.0, 6000.0]
    observed = sum(c / rp * p for c, rp, p in zip(ref_counts, ref_pops, pops, strict=True))
    e = stats.isr(observed, pops, ref_counts, ref_pops)
    assert e.value == pytest.approx(sum(ref_counts) / sum(ref_pops) * 100_000, rel=1e-12)


def test_dsr_equals_crude_rate_when_population_is_proportional_to_the_standard() -> None:
    weights = [5500.0, 5000.0, 4000.0]
    pops = [w * 3 for w in weights]
    counts = [30.0, 45.0, 80.0]
    e = stats.dsr(counts, pops, weights)
    assert e.value == pytest.approx(sum(counts) / sum(pops) * 100_000, rel=1e-12)


def test_input_errors() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        stats.proportion(6, 5)
    with pytest.raises(ValueError, match="population"):
        stats.crude_rate(3, 0)
    with pytest.raises(KeyError, match="ESP2013"):
        stats.esp2013_weights(["65-70"])
    assert stats.proportion(0, 0).value is None


def test_esp2013_sums_to_100000() -> None:
    bands = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
    assert sum(stats.esp2013_weights(bands)) == 100_000


@given(n=st.integers(1, 10**6), frac=st.floats(0, 1))
def test_proportion_interval_contains_estimate(n: int, frac: float) -> None:
    x = math.floor(n * frac)
    e = stats.proportion(x, n)
    assert e.lower is not None and e.upper is not None and e.value is not None
    assert 0 <= e.lower <= e.value + 1e-9 and e.value - 1e-9 <= e.upper <= 100


@given(count=st.integers(0, 10**6), pop=st.integers(1, 10**8))
def test_rate_interval_contains_estimate(count: int, pop: int) -> None:
    e = stats.crude_rate(count, pop)
    assert e.lower is not None and e.upper is not None and e.value is not None
    assert e.lower <= e.value * (1 + 1e-12) and e.value <= e.upper


@given(count=st.integers(0, 100_000))
def test_upper_limit_monotone_in_count(count: int) -> None:
    assert stats.count_limits(count + 1)[1] >= stats.count_limits(count)[1]
    assert stats.count_limits(count + 1)[0] >= stats.count_limits(count)[0]
