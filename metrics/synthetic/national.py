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
