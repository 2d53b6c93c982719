"""The indirectly standardised ratio (``stats.isratio``, method ``isratio``) against PHEindicatormethods.

Reference values: PHEindicatormethods (ukhsa-collaboration/PHEindicatormethods, commit 093fd28),
``tests/testthat/testdata_DSR_ISR.xlsx``: sheet ``refdata`` (reference counts and populations),
sheet ``testdata_multiarea_isr`` (three areas' counts and populations by 19 age bands) and sheet
``testresults_ISR`` rows 7-12 (``calculate_ISRatio`` with refvalue 1 and 100, 95% and 99.8%
limits), the expectations of ``tests/testthat/testISRatios.R``. Tolerance: relative 1e-9 (the
sheet holds doubles to about 16 significant figures; scipy's chi-squared quantiles and Byar's
formula agree with R's to far better than that).
"""

from __future__ import annotations

import pytest

from metrics.compute import stats
from metrics.compute.methods import method_of
from metrics.core.registry import get

REL = 1e-9

# refdata: refcount, refpop for 0-4 ... 90+ (the sheet labels its 12th band "55-69"; it is 55-59).
REF_COUNTS = [
    10303,
    2824,
    0,
    3615,
    3641,
    3490,
    3789,
    3213,
    3031,
    2771,
    3089,
    3490,
    3595,
    4745,
    5514,
    7125,
    5694,
    6210,
    5757,
]
REF_POPS = [50520, 57173, 60213, 54659, 44345, 50128, 62163, 67423, 62899, 55463, 60479, 49974, 44140, 40888,
            37239, 30819, 18136, 15325, 13918]  # fmt: skip
# testdata_multiarea_isr: every area has the same populations (tiny's 10-14 band is empty, NA,
# which calculate_ISRatio treats as zero; the reference count there is 0 anyway).
POPS = [636, 558, 609, 543, 384, 594, 669, 843, 660, 576, 606, 522, 426, 273, 300, 288, 153, 123, 207]
OBSERVED = {"testdata_big": 895, "testdata_small": 91, "testdata_tiny": 9}
EXPECTED = 835.8835612311743
# testresults_ISR, "indirectly standardised ratio x 1": value, lower95, upper95, lower99.8, upper99.8, method.
RATIO_X1 = {
    "testdata_big": (1.0707232939020275, 1.0017147712553987, 1.143233287249895, 0.9635155619614437,
                     1.1860070415876287, "Byars"),
    "testdata_small": (0.10886683770400503, 0.08765040101829405, 0.1336657632841891, 0.07695425528392111,
                       0.14897920510466744, "Byars"),
    "testdata_tiny": (0.010767049882813684, 0.004923380825095776, 0.02043921455549973, 0.0029339306550682617,
                      0.02710589651469021, "Exact"),
}  # fmt: skip
# "indirectly standardised ratio x 100" (refvalue = 100).
RATIO_X100 = {
    "testdata_big": (107.07232939020275, 100.17147712553987, 114.3233287249895, 96.35155619614437, 118.60070415876287),
    "testdata_small": (10.886683770400502, 8.765040101829404, 13.366576328418912, 7.695425528392111,
                       14.897920510466744),
    "testdata_tiny": (1.0767049882813684, 0.4923380825095776, 2.043921455549973, 0.2933930655068262,
                      2.710589651469021),
}  # fmt: skip


@pytest.mark.parametrize("area", sorted(OBSERVED))
def test_isratio_matches_phe_indicator_methods(area: str) -> None:
    value, lo95, hi95, lo998, hi998, how = RATIO_X1[area]
    e = stats.isratio(OBSERVED[area], POPS, REF_COUNTS, REF_POPS)
    assert e.denominator == pytest.approx(EXPECTED, rel=REL)
    assert e.numerator == OBSERVED[area]
    assert (e.value, e.lower, e.upper) == pytest.approx((value, lo95, hi95), rel=REL)
    assert e.method == how
    wide = stats.isratio(OBSERVED[area], POPS, REF_COUNTS, REF_POPS, confidence=0.998)
    assert (wide.lower, wide.upper) == pytest.approx((lo998, hi998), rel=REL)
    x100 = stats.isratio(OBSERVED[area], POPS, REF_COUNTS, REF_POPS, multiplier=100)
    assert (x100.value, x100.lower, x100.upper) == pytest.approx(RATIO_X100[area][:3], rel=REL)
    wide100 = stats.isratio(OBSERVED[area], POPS, REF_COUNTS, REF_POPS, multiplier=100, confidence=0.998)
    assert (wide100.lower, wide100.upper) == pytest.approx(RATIO_X100[area][3:], rel=REL)


def test_isratio_is_the_isr_over_the_reference_rate() -> None:
    # ISR = O / E x reference rate, ISRatio = O / E: the same standardisation, so their quotient is the
    # reference crude rate for any O (here the PHE big area: 9,349.88 per 100,000 in testresults_ISR).
    ratio = stats.isratio(895, POPS, REF_COUNTS, REF_POPS)
    rate = stats.isr(895, POPS, REF_COUNTS, REF_POPS)
    assert rate.value is not None and ratio.value is not None
    assert rate.value / ratio.value == pytest.approx(9349.88309221102, rel=REL)


def test_isratio_hand_worked() -> None:
    # Two strata. Reference 100 / 10,000 and 400 / 20,000 = rates 0.01 and 0.02. Local populations
    # 1,000 and 3,000: E = 0.01 x 1,000 + 0.02 x 3,000 = 10 + 60 = 70.
    # O = 84: ratio = 84 / 70 = 1.2 (x 100 = 120); Byar's limits since O >= 10:
    #   lower = 84 (1 - 1/756 - 1.959964 / (3 sqrt 84))^3 = 66.99960; / 70 x 100 = 95.71371
    #   upper = 85 (1 - 1/765 + 1.959964 / (3 sqrt 85))^3 = 103.99893; / 70 x 100 = 148.56989
    pops, ref_counts, ref_pops = [1000, 3000], [100, 400], [10000, 20000]
    e = stats.isratio(84, pops, ref_counts, ref_pops, multiplier=100)
    assert e.denominator == pytest.approx(70, rel=1e-12)
    assert e.value == pytest.approx(120.0, rel=1e-12)
    z = 1.959963984540054
    lower = 84 * (1 - 1 / (9 * 84) - z / (3 * 84**0.5)) ** 3
    upper = 85 * (1 - 1 / (9 * 85) + z / (3 * 85**0.5)) ** 3
    assert e.lower == pytest.approx(lower / 70 * 100, rel=1e-12)
    assert e.upper == pytest.approx(upper / 70 * 100, rel=1e-12)
    assert e.lower == pytest.approx(95.71371, abs=1e-5) and e.upper == pytest.approx(148.56989, abs=1e-5)
    assert e.method == "Byars"
    # O = 5 (exact): limits 1.6234864 and 11.6683321 (domain.md 3.7) / 70 x 100 = 2.31927 and 16.66905.
    small = stats.isratio(5, pops, ref_counts, ref_pops, multiplier=100)
    assert small.method == "Exact"
    assert (small.lower, small.upper) == pytest.approx((2.319266, 16.669046), abs=1e-5)


def test_isratio_with_zero_expected_is_not_published() -> None:
    e = stats.isratio(3, [1000, 2000], [0, 0], [10000, 20000])
    assert e.value is None and e.note == "expected count is zero"
    with pytest.raises(ValueError, match="reference population"):
        stats.isratio(3, [1000], [5], [0])
    with pytest.raises(ValueError, match=">= 0"):
        stats.isratio(-1, [1000], [5], [100])


def test_declared_ratio_metric_uses_the_ratio_method() -> None:
    metric = get("avoidable_admissions_ratio")
    assert metric.method == "isratio"
    rows = [
        {"numerator": 84.0, "denominator": 1000.0, "ref_numerator": 100.0, "ref_denominator": 10000.0},
        {"numerator": 0.0, "denominator": 3000.0, "ref_numerator": 400.0, "ref_denominator": 20000.0},
    ]
    e = method_of(metric).estimate(metric, rows)
    assert e.denominator == pytest.approx(70, rel=1e-12)
    assert e.value == pytest.approx(84 / 70 * metric.multiplier, rel=1e-12)
