"""Every HWB in England at national volume, for benchmarks and scale tests.

Sizes are illustrative, not ONS figures: each authority gets a population drawn (with a fixed
seed) around the typical size of its type - London borough, metropolitan district, unitary
authority or county - so the total is close to England's 57 million and the spread of sizes is
realistic (Isles of Scilly and City of London stay tiny). Admissions default to 78 spells a
quarter per 1,000 residents, about HES APC's 4.4 million a quarter.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from metrics.core.paths import REFERENCE
from metrics.core.periods import Period
from metrics.synthetic.bcf import HwbProfile, generate

NATIONAL_SPELLS_PER_1000 = 78.0
# Typical all-ages population and share aged 65+ by ONS code prefix (authority type).
_TYPICAL = {"E09": (270_000, 0.12), "E08": (310_000, 0.17), "E06": (240_000, 0.20), "E10": (790_000, 0.23)}
_TINY = {"E06000053": (2_100, 0.25), "E09000001": (8_600, 0.14)}  # Isles of Scilly, City of London


def national_profiles(seed: int = 2024, spells_per_1000: float = NATIONAL_SPELLS_PER_1000) -> list[HwbProfile]:
    """One profile per current HWB in ``metrics/reference/hwb_codes.csv`` (retired codes left out)."""
    rng = np.random.default_rng(seed)
    with open(REFERENCE / "hwb_codes.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if not r.get("valid_to")]
    out = []
    for r in rows:
        total, share = _TINY.get(r["code"], _TYPICAL[r["code"][:3]])
        if r["code"] not in _TINY:
            total = int(total * rng.lognormal(0.0, 0.35))
            share = float(np.clip(share * rng.lognormal(0.0, 0.15), 0.08, 0.32))
        geography = {
            "E09": "London Borough",
            "E08": "Metropolitan District",
            "E06": "Unitary Authority",
            "E10": "County",
        }[r["code"][:3]]
        out.append(
            HwbProfile(
                code=r["code"],
                name=r["name"],
                total_population=total,
                population_65_plus=int(total * share),
                geography=geography,
                spells_per_1000=spells_per_1000,
            )
        )
    return out


def write_national(
    out_dir: Path, periods: Sequence[Period], seed: int = 2024, spells_per_1000: float = NATIONAL_SPELLS_PER_1000
) -> dict[str, list[Path]]:
    """All BCF extracts for every HWB for ``periods`` under ``out_dir``."""
    return generate(out_dir, periods, national_profiles(seed, spells_per_1000), seed=seed)


def varied_profiles(codes: Sequence[str], seed: int = 2024, population_scale: float = 1.0) -> list[HwbProfile]:
    """Profiles for the given current HWBs with their illustrative national sizes (times
    ``population_scale``, at least 2,000 people) and each rate knob drawn (fixed seed) around the
    generator's default, so areas differ as real ones do and a funnel plot across them shows some
    outside the limits. For multi-area demos and tests: ``scorecard generate --hwb ... --varied``."""
    by_code = {p.code: p for p in national_profiles(seed)}
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise ValueError(f"not current HWB codes of hwb_codes.csv: {', '.join(unknown)}")
    rng = np.random.default_rng([seed, 7])
    out = []
    for code in codes:
        p = by_code[code]
        total = max(int(p.total_population * population_scale), 2_000)

        def draw(centre: float, spread: float) -> float:
            return round(float(centre * rng.lognormal(0.0, spread)), 1)

        out.append(
            HwbProfile(
                code=p.code,
                name=p.name,
                total_population=total,
                population_65_plus=int(total * p.population_65_plus / p.total_population),
                geography=p.geography,
                acsc_isr=draw(230.0, 0.2),
                falls_dsr=draw(500.0, 0.2),
                discharge_pct=min(99.0, draw(92.5, 0.02)),
                on_drd_pct=min(99.0, draw(88.0, 0.03)),
                residential_per_100k=draw(140.0, 0.25),
                reablement_per_100k=draw(250.0, 0.2),
                reablement_at_home_pct=min(97.0, draw(82.0, 0.05)),
            )
        )
    return out


def region_codes(region: str) -> list[str]:
    """The current HWBs of a region (hwb_codes.csv), in file order."""
    with open(REFERENCE / "hwb_codes.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if not r.get("valid_to")]
    codes = [r["code"] for r in rows if r["region"] == region]
    if not codes:
        regions = sorted({r["region"] for r in rows})
        raise ValueError(f"no region {region!r} in hwb_codes.csv; regions: {', '.join(regions)}")
    return codes
