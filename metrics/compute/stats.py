"""Public-health statistics with the OHID/PHE Fingertips confidence-interval methods.

Re-implemented from the published formulae (as used by PHEindicatormethods 2.1.0 and
the Fingertips technical guidance), not vendored, so figures match Fingertips:
exact Poisson limits below 10 events and Byar's approximation from 10, Wilson score
intervals for proportions, Dobson limits for directly standardised rates, Student's t limits
for means (PHEindicatormethods ``phe_mean``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# scipy.stats is imported in the functions that need its distributions, not here: importing it takes
# 1.5-3 s on the 2-core machine (profiled: about a fifth of a re-run whose quarters are all reused),
# and a run that reads every quarter's results back, or a usage error, computes no interval.

# Below this many events Byar's approximation is poor, so Fingertips switches to exact limits.
_EXACT_BELOW = 10

# European Standard Population 2013, 19 bands summing to 100,000.
# Source: Eurostat (2013) "Revision of the European Standard Population", KS-RA-13-028-EN,
# as tabulated by PHEindicatormethods `esp2013`, which merges age 0 with 1-4 and 90-94 with 95+.
_ESP2013: dict[str, float] = {
    "0-4": 5000, "5-9": 5500, "10-14": 5500, "15-19": 5500, "20-24": 6000,
    "25-29": 6000, "30-34": 6500, "35-39": 7000, "40-44": 7000, "45-49": 7000,
    "50-54": 7000, "55-59": 6500, "60-64": 6000, "65-69": 5500, "70-74": 5000,
    "75-79": 4000, "80-84": 2500, "85-89": 1500, "90+": 1000,
}  # fmt: skip


@dataclass(frozen=True)
class Estimate:
    """One published statistic: the value, its limits and what it was computed from."""

    value: float | None  # None when not publishable (e.g. DSR below 10 events, zero denominator)
    lower: float | None
    upper: float | None
    numerator: float  # observed count O or x
    denominator: float | None  # population, n, or expected E for an ISR; None for a plain count
    method: str  # "Byars", "Exact", "Wilson", "Dobson"
    multiplier: float
    note: str = ""


def _check_finite(name: str, values: Iterable[float]) -> None:
    """Reject NaN/inf up front: they would otherwise flow silently into published figures."""
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be finite")


def _check_confidence(confidence: float) -> None:
    """Catch percentages (95) passed where a fraction (0.95) is expected."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be a fraction strictly between 0 and 1, got {confidence}")


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal quantile for ``confidence`` (1.959963984540054 at 0.95)."""
    _check_confidence(confidence)
    from scipy.stats import norm

    return float(norm.ppf(confidence + (1 - confidence) / 2))


def byars_limits(count: float, confidence: float = 0.95) -> tuple[float | None, float]:
    """Byar's approximation to the Poisson limits of a count; Fingertips uses it from 10 events.

    The lower limit is None where the approximation goes negative (tiny counts), and 0.0 for a
    zero count, where no lower uncertainty exists.
    """
    _check_finite("count", [count])
    if count < 0:
        raise ValueError("count must be >= 0")
    z = z_value(confidence)
    lower: float | None
    if count == 0:
        lower = 0.0
    else:
        lo = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
        lower = lo if lo >= 0 else None
    o1 = count + 1
    upper = o1 * (1 - 1 / (9 * o1) + z / (3 * math.sqrt(o1))) ** 3
    return lower, upper


def exact_limits(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact Poisson limits via the chi-squared relation; Fingertips uses them below 10 events."""
    _check_finite("count", [count])
    if count < 0:
        raise ValueError("count must be >= 0")
    _check_confidence(confidence)
    alpha = 1 - confidence
    from scipy.stats import chi2

    lower = 0.0 if count == 0 else float(chi2.ppf(alpha / 2, 2 * count)) / 2
    upper = float(chi2.ppf(confidence + alpha / 2, 2 * count + 2)) / 2
    return lower, upper


def count_limits(count: float, confidence: float = 0.95) -> tuple[float, float, str]:
    """Limits of a count by the Fingertips rule: exact below 10 events, Byar's from 10.

    Returns ``(lower, upper, method)`` with method "Exact" or "Byars".
    """
    if count < _EXACT_BELOW:
        lo, hi = exact_limits(count, confidence)
        return lo, hi, "Exact"
    blo, bhi = byars_limits(count, confidence)
    # Byar's lower limit cannot go negative at >= 10 events for any representable confidence.
    return (blo if blo is not None else 0.0), bhi, "Byars"


def crude_rate(count: float, population: float, multiplier: float = 100_000, confidence: float = 0.95) -> Estimate:
    """Crude rate per ``multiplier`` people; limits are the count's limits scaled by the population."""
    _check_finite("count and population", [count, population])
    if population <= 0:
        raise ValueError(f"population must be > 0, got {population}")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    lo, hi, method = count_limits(count, confidence)
    scale = multiplier / population
    return Estimate(count * scale, lo * scale, hi * scale, count, population, method, multiplier)


def proportion(x: float, n: float, multiplier: float = 100, confidence: float = 0.95) -> Estimate:
    """Proportion with Wilson score limits, which stay inside [0, 1] even at 0/n and n/n.

    A zero denominator is not an error (an area can have no eligible people) but is not publishable.
    """
    _check_finite("x and n", [x, n])
    if x < 0 or n < 0:
        raise ValueError(f"x and n must be >= 0, got x={x}, n={n}")
    if x > n:
        raise ValueError(f"numerator {x} exceeds denominator {n}")
    if n == 0:
        return Estimate(None, None, None, x, n, "Wilson", multiplier, "denominator is zero")
    z = z_value(confidence)
    root = z * math.sqrt(z**2 + 4 * x * (1 - x / n))
    # Clamp only against floating-point rounding at x = 0 or x = n; the exact limits lie in [0, 1].
    lower = max(0.0, (2 * x + z**2 - root) / (2 * (n + z**2)))
    upper = min(1.0, (2 * x + z**2 + root) / (2 * (n + z**2)))
    return Estimate(x / n * multiplier, lower * multiplier, upper * multiplier, x, n, "Wilson", multiplier)


def mean(total: float, count: float, sum_squares: float, multiplier: float = 1, confidence: float = 0.95) -> Estimate:
    """Mean with Student's t limits, from the sum, count and sum of squares of the values (what SQL
    aggregates per area): mean -/+ |qt((1 - c) / 2, n - 1)| x sd / sqrt(n), sd the sample standard
    deviation, as PHEindicatormethods ``phe_mean`` (R/Means.R). One value has no sd, so no limits;
    no values, no mean."""
    _check_finite("total, count and sum of squares", [total, count, sum_squares])
    _check_confidence(confidence)
    if count < 0 or count != int(count):
        raise ValueError(f"count must be a whole number >= 0, got {count}")
    if sum_squares < 0:
        raise ValueError(f"sum of squares must be >= 0, got {sum_squares}")
    method = "Student's t"
    if count == 0:
        return Estimate(None, None, None, total, count, method, multiplier, "no values to average")
    avg = total / count
    if count == 1:
        return Estimate(avg * multiplier, None, None, total, count, method, multiplier, "one value: no limits")
    # Rounding can leave a tiny negative sum of squared deviations when all values are equal.
    var = max(0.0, (sum_squares - total * total / count) / (count - 1))
    from scipy.stats import t

    half = abs(float(t.ppf((1 - confidence) / 2, count - 1))) * math.sqrt(var / count)
    return Estimate(
        avg * multiplier, (avg - half) * multiplier, (avg + half) * multiplier, total, count, method, multiplier
    )


def dsr(
    counts: Sequence[float],
    populations: Sequence[float],
    standard: Sequence[float],
    multiplier: float = 100_000,
    confidence: float = 0.95,
    min_count: int = 10,
) -> Estimate:
    """Directly standardised rate with Dobson limits (Byar's limits of the total count).

    Not calculated below ``min_count`` total events, where Fingertips deems DSRs unreliable.
    """
    if not (len(counts) == len(populations) == len(standard)) or not counts:
        raise ValueError("counts, populations and standard weights must have the same, non-zero length")
    _check_finite("counts, populations and standard weights", [*counts, *populations, *standard])
    if any(n <= 0 for n in populations):
        raise ValueError("every population must be > 0")
    if any(x < 0 for x in counts):
        raise ValueError("counts must be >= 0")
    if any(w < 0 for w in standard) or sum(standard) <= 0:
        raise ValueError("standard weights must be >= 0 with a positive total")
    total = float(sum(counts))
    pop = float(sum(populations))
    if total < min_count:
        return Estimate(None, None, None, total, pop, "Dobson", multiplier, f"dsr NA for total count < {min_count}")
    total_w = float(sum(standard))
    strata = list(zip(counts, populations, standard, strict=True))
    raw = sum(x * w / n for x, n, w in strata) / total_w
    if total == 0:  # only reachable with min_count <= 0: Dobson's sqrt(var / O) is 0/0
        return Estimate(0.0, None, None, total, pop, "Dobson", multiplier, "dsr limits NA for zero count")
    var = sum(x * (w / n) ** 2 for x, n, w in strata) / total_w**2
    blo, bhi = byars_limits(total, confidence)
    k = math.sqrt(var / total)
    lower = None if blo is None else (raw + k * (blo - total)) * multiplier
    return Estimate(raw * multiplier, lower, (raw + k * (bhi - total)) * multiplier, total, pop, "Dobson", multiplier)


def isr(
    observed: float,
    populations: Sequence[float],
    ref_counts: Sequence[float],
    ref_populations: Sequence[float],
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> Estimate:
    """Indirectly standardised rate: O / E x the reference crude rate, with the limits of O.

    E applies the reference stratum rates to the local populations; ``denominator`` holds E.
    """
    _check_finite("observed", [observed])
    expected = expected_count(populations, ref_counts, ref_populations)
    ref_rate = sum(ref_counts) / sum(ref_populations) * multiplier
    lo, hi, method = count_limits(observed, confidence)  # validates observed >= 0
    if expected <= 0:
        return Estimate(None, None, None, observed, expected, method, multiplier, "expected count is zero")
    scale = ref_rate / expected
    return Estimate(observed * scale, lo * scale, hi * scale, observed, expected, method, multiplier)


def expected_count(
    populations: Sequence[float], ref_counts: Sequence[float], ref_populations: Sequence[float]
) -> float:
    """E = sum over strata of the reference stratum rate times the local population (checked inputs)."""
    if not (len(populations) == len(ref_counts) == len(ref_populations)) or not populations:
        raise ValueError("populations and reference arrays must have the same, non-zero length")
    _check_finite("populations and reference arrays", [*populations, *ref_counts, *ref_populations])
    if any(n <= 0 for n in ref_populations):
        raise ValueError("every reference population must be > 0")
    if any(n < 0 for n in populations) or any(c < 0 for c in ref_counts):
        raise ValueError("populations and reference counts must be >= 0")
    return float(sum(c / rn * n for c, rn, n in zip(ref_counts, ref_populations, populations, strict=True)))


def isratio(
    observed: float,
    populations: Sequence[float],
    ref_counts: Sequence[float],
    ref_populations: Sequence[float],
    multiplier: float = 1,
    confidence: float = 0.95,
) -> Estimate:
    """Indirectly standardised ratio O / E x ``multiplier`` (1, or 100 for an SMR-style figure), as
    PHEindicatormethods ``calculate_ISRatio`` (``refvalue``) and as NHSOF publishes beside its ISRs.

    The limits are those of O (exact below 10, Byar's from 10) divided by E, times the multiplier;
    ``denominator`` holds E. Not published when E is zero (no reference events in the area's strata).
    """
    _check_finite("observed", [observed])
    expected = expected_count(populations, ref_counts, ref_populations)
    lo, hi, method = count_limits(observed, confidence)  # validates observed >= 0
    if expected <= 0:
        return Estimate(None, None, None, observed, expected, method, multiplier, "expected count is zero")
    scale = multiplier / expected
    return Estimate(observed * scale, lo * scale, hi * scale, observed, expected, method, multiplier)


def esp2013_weights(bands: Sequence[str]) -> list[float]:
    """ESP2013 weights for 5-year band labels ("0-4" ... "85-89", "90+"), in the order given."""
    missing = [b for b in bands if b not in _ESP2013]
    if missing:
        raise KeyError(f"unknown ESP2013 age band(s) {missing}; expected one of {list(_ESP2013)}")
    return [_ESP2013[b] for b in bands]
