"""Public-health statistics with the OHID/PHE Fingertips confidence-interval methods.

Re-implemented from the published formulae (PHEindicatormethods 2.1.0,
Fingertips technical guidance) so figures match Fingertips: exact Poisson
limits below 10 events and Byar's approximation from 10, Wilson score
intervals for proportions, Dobson limits for directly standardised rates.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scipy.stats import chi2, norm

_ESP2013 = Path(__file__).parent / "reference" / "esp2013.csv"


@dataclass(frozen=True)
class Estimate:
    value: float | None  # None when not publishable (e.g. DSR below 10 events, zero denominator)
    lower: float | None
    upper: float | None
    numerator: float  # observed count O or x
    denominator: float  # population, n, or expected E for an ISR
    method: str  # "Byars", "Exact", "Wilson", "Dobson"
    multiplier: float
    note: str = ""


def z_value(confidence: float = 0.95) -> float:
    return float(norm.ppf(confidence + (1 - confidence) / 2))


def byars_limits(count: float, confidence: float = 0.95) -> tuple[float | None, float]:
    """Byar's approximation to the Poisson limits of a count (used for 10 or more events)."""
    z = z_value(confidence)
    if count < 0:
        raise ValueError("count must be >= 0")
    if count == 0:
        lower: float | None = 0.0
    else:
        lo = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
        lower = lo if lo >= 0 else None
    o1 = count + 1
    upper = o1 * (1 - 1 / (9 * o1) + z / (3 * math.sqrt(o1))) ** 3
    return lower, upper


def exact_limits(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (chi-squared) Poisson limits of a count (used below 10 events)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    alpha = 1 - confidence
    lower = 0.0 if count == 0 else float(chi2.ppf(alpha / 2, 2 * count)) / 2
    upper = float(chi2.ppf(confidence + alpha / 2, 2 * count + 2)) / 2
    return lower, upper


def count_limits(count: float, confidence: float = 0.95) -> tuple[float, float, str]:
    if count < 10:
        lo, hi = exact_limits(count, confidence)
        return lo, hi, "Exact"
    blo, bhi = byars_limits(count, confidence)
    return (blo if blo is not None else 0.0), bhi, "Byars"


def crude_rate(count: float, population: float, multiplier: float = 100_000,
               confidence: float = 0.95) -> Estimate:
    if population <= 0:
        raise ValueError("population must be > 0")
    if count < 0:
        raise ValueError("count must be >= 0")
    lo, hi, method = count_limits(count, confidence)
    scale = multiplier / population
    return Estimate(count * scale, lo * scale, hi * scale, count, population, method, multiplier)


def proportion(x: float, n: float, multiplier: float = 100, confidence: float = 0.95) -> Estimate:
    """Wilson score interval."""
    if x < 0 or n < 0:
        raise ValueError("x and n must be >= 0")
    if x > n:
        raise ValueError(f"numerator {x} exceeds denominator {n}")
    if n == 0:
        return Estimate(None, None, None, x, n, "Wilson", multiplier, "denominator is zero")
    z = z_value(confidence)
    root = z * math.sqrt(z**2 + 4 * x * (1 - x / n))
    lower = (2 * x + z**2 - root) / (2 * (n + z**2))
    upper = (2 * x + z**2 + root) / (2 * (n + z**2))
    return Estimate(x / n * multiplier, lower * multiplier, upper * multiplier, x, n, "Wilson", multiplier)


def dsr(counts: Sequence[float], populations: Sequence[float], standard: Sequence[float],
        multiplier: float = 100_000, confidence: float = 0.95, min_count: int = 10) -> Estimate:
    """Directly standardised rate with Dobson limits; not calculated below ``min_count`` events."""
    if not (len(counts) == len(populations) == len(standard)) or not counts:
        raise ValueError("counts, populations and standard weights must have the same, non-zero length")
    if any(n <= 0 for n in populations):
        raise ValueError("every population must be > 0")
    if any(w < 0 for w in standard) or any(x < 0 for x in counts):
        raise ValueError("counts and standard weights must be >= 0")
    total_w = float(sum(standard))
    total = float(sum(counts))
    if total < min_count:
        return Estimate(None, None, None, total, float(sum(populations)), "Dobson", multiplier,
                        f"dsr NA for total count < {min_count}")
    raw = sum(x * w / n for x, n, w in zip(counts, populations, standard, strict=True)) / total_w
    var = sum(x * (w / n) ** 2 for x, n, w in zip(counts, populations, standard, strict=True)) / total_w**2
    blo, bhi = byars_limits(total, confidence)
    lo_count = blo if blo is not None else 0.0
    k = math.sqrt(var / total)
    return Estimate(raw * multiplier, (raw + k * (lo_count - total)) * multiplier,
                    (raw + k * (bhi - total)) * multiplier, total, float(sum(populations)), "Dobson", multiplier)


def isr(observed: float, populations: Sequence[float], ref_counts: Sequence[float],
        ref_populations: Sequence[float], multiplier: float = 100_000, confidence: float = 0.95) -> Estimate:
    """Indirectly standardised rate: O / E x the reference population's crude rate."""
    if not (len(populations) == len(ref_counts) == len(ref_populations)) or not populations:
        raise ValueError("populations and reference arrays must have the same, non-zero length")
    if any(n <= 0 for n in ref_populations):
        raise ValueError("every reference population must be > 0")
    expected = sum(c / rn * n for c, rn, n in zip(ref_counts, ref_populations, populations, strict=True))
    ref_rate = sum(ref_counts) / sum(ref_populations) * multiplier
    lo, hi, method = count_limits(observed, confidence)
    if expected <= 0:
        return Estimate(None, None, None, observed, expected, method, multiplier, "expected count is zero")
    scale = ref_rate / expected
    return Estimate(observed * scale, lo * scale, hi * scale, observed, expected, method, multiplier)


@functools.cache
def _esp2013() -> dict[str, float]:
    with open(_ESP2013, newline="", encoding="utf-8") as fh:
        return {r["age_band"]: float(r["weight"]) for r in csv.DictReader(fh)}


def esp2013_weights(bands: Sequence[str]) -> list[float]:
    """ESP2013 weights (Eurostat KS-RA-13-028-EN, 0-4 and 90+ combined as in PHEindicatormethods)."""
    table = _esp2013()
    missing = [b for b in bands if b not in table]
    if missing:
        raise KeyError(f"unknown ESP2013 band(s) {missing}; bands are {list(table)}")
    return [table[b] for b in bands]
