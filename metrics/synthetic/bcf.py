"""Seeded synthetic BCF extracts for any set of HWBs and quarters, and the shipped demo.

Everything a metric counts is set deterministically from target rates: the number
of chronic-ACSC emergency admissions from the ISR, falls per ESP2013 band from the
year-to-date DSR, destinations from the percentage (of acute discharges), the share
discharged on their Discharge Ready Date from its percentage, people admitted to care
homes and reablement outcomes from counts. Every other field (dates, ages within a band,
methods, diagnoses, length of stay, identifiers) is drawn from one
``np.random.default_rng(seed)`` per :func:`generate` call, the spell fields added
later (provider type, patient classification, Discharge Ready Date, the regular
attenders' falls) from a second stream seeded ``[seed, 1]`` and social care from a third,
``[seed, 2]``, so a seed always gives the same bytes. Plenty of non-qualifying records
(electives, transfers, other diagnoses, injuries that are not falls, falls under 65, falls
of regular day and night attenders, non-acute providers, spells without a DRD, other
destinations including 79, 98 and 99, under-65s, unknown statuses, care-home readmissions
and residential-nursing transfers, reablement discharges still inside their 91 days) are
mixed in so every metric filter matters.

Spells follow the extract semantics: a delivery holds the spells open at any time in
its quarter. A spell still in hospital at the quarter's end is delivered without a
discharge date or destination, then again in the next quarter with its discharge
(same ``spell_id``). The first quarter generated also carries spells admitted before
it (a few long stays admitted years earlier). Reablement discharges likewise: status
``pending`` until their 91st day, then re-delivered with the final status in the quarter
that day falls in; the first quarter carries the previous quarter's late discharges.

Everything is vectorised over records (the only Python loops are over HWBs, quarters
and small strata), so a national run of millions of spells per quarter is practical.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from numpy.typing import NDArray

from metrics.contracts import APC_SPELLS, BCF_EXTRACTS, CARE_HOME_ADMISSIONS, PLANS, POPULATION, REABLEMENT, Extract
from metrics.contracts.bcf import REABLEMENT_FOLLOW_UP_DAYS
from metrics.core.paths import REFERENCE
from metrics.core.periods import Period
from metrics.core.provenance import write_marker
from metrics.core.reference import DELIVERED_COMPARATORS

GENERATOR = "metrics.synthetic.bcf"  # named in each folder's SYNTHETIC_DATA.json

SEXES = ("M", "F")
BANDS = (*(f"{a}-{a + 4}" for a in range(0, 90, 5)), "90+")
AGES = np.arange(91)  # single years; 90 stands for 90+
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
_EPOCH_DATE = dt.date(1970, 1, 1)  # day numbers count from here, as numpy datetime64[D] does

# England-like age structure (per cent of persons by five-year band, 0-4 ... 90+) and male share by age.
_BAND_SHARES = np.array([5.4, 5.9, 6.1, 5.8, 6.1, 6.6, 6.8, 6.7, 6.3, 6.2, 6.8, 6.7, 5.9, 5.0, 4.9, 4.1, 2.7, 1.6, 0.9])
_MALE_SHARE = np.interp(
    AGES, [0, 20, 45, 60, 70, 80, 85, 89, 90], [0.512, 0.510, 0.497, 0.492, 0.480, 0.455, 0.420, 0.380, 0.310]
)

# Falls 65+: ESP2013 weights of 65-69 ... 90+ and relative age-specific rates (shape of PHOF C29).
ESP_65 = np.array([5500.0, 5000.0, 4000.0, 2500.0, 1500.0, 1000.0])
FALLS_SHAPE = np.array([1.0, 1.7, 3.0, 5.2, 8.6, 13.0])

# Relative admission rates by single year of age (times the population gives the age mix).
_EMERGENCY_RATE = np.interp(
    AGES, [0, 1, 5, 15, 25, 45, 65, 75, 85, 90], [4.0, 1.2, 0.5, 0.6, 0.7, 0.9, 1.8, 3.0, 5.0, 6.0]
)
_ELECTIVE_RATE = np.interp(AGES, [0, 18, 40, 55, 65, 75, 85, 90], [0.2, 0.5, 0.9, 1.6, 2.4, 2.6, 1.6, 0.8])
_CARE_RATE = np.interp(AGES, [0, 18, 64, 65, 75, 85, 90], [0.0, 0.0, 0.0, 1.0, 4.0, 14.0, 22.0])
_REABLE_RATE = np.interp(AGES, [0, 40, 64, 65, 75, 85, 90], [0.0, 0.0, 0.0, 1.0, 3.0, 6.0, 6.0])

# Codes. None of the non-ACSC lists starts with an ACSC prefix (metrics/reference/acsc_icd10.csv).
ACSC_CODES = (
    "J440",
    "J441",
    "J449",
    "J459",
    "J46",
    "I500",
    "I509",
    "I110",
    "I10",
    "E105",
    "E115",
    "E118",
    "G409",
    "G41",
    "I200",
    "I209",
    "D509",
    "F03",
    "I48",
    "J42",
    "J47",
    "R568",
)
ACSC_P = np.array([8, 10, 9, 5, 1, 7, 6, 3, 4, 2, 3, 2, 3, 1, 3, 2, 2, 6, 9, 1, 2, 2], dtype=float)
OTHER_EMERGENCY = (
    "R69",
    "R07",
    "R074",
    "K359",
    "N390",
    "J189",
    "A419",
    "I214",
    "K922",
    "R55",
    "L039",
    "R104",
    "J22",
    "K566",
    "N179",
    "F10",
    "R52",
    "K85",
)
ELECTIVE = ("Z511", "H251", "K409", "M170", "M171", "C509", "C189", "N40", "K802", "J441", "I48", "R194", "Z452")
INJURY = ("S720", "S7200", "S7210", "S0600", "S0190", "S2240", "S3200", "S5250", "S4220", "T140", "T07", "S8260")
FALL_CAUSES = ("W19X", "W10", "W01", "W18", "W06", "W010", "W180", "W050")
OTHER_CAUSES = ("W20", "W22", "W54", "V43", "V892", "X59", "X50", "Y04")
FALL_NOT_INJURY = ("R55", "R296", "R410", "I951")
MATERNITY = ("O800", "O801", "O820", "O342", "O470", "O720", "O699")
BIRTH = ("Z380", "Z381", "Z383")
SECONDARY = ("I10", "E119", "F03", "N183", "J449", "Z862", "I48", "E785", "Z921", "F329", "M199", "Z880")
EMERGENCY_METHODS = ("21", "22", "23", "24", "25", "2A", "2D", "28")
EMERGENCY_P = np.array([0.62, 0.12, 0.02, 0.04, 0.01, 0.03, 0.08, 0.08])
ELECTIVE_METHODS = ("11", "12", "13", "81")
ELECTIVE_P = np.array([0.44, 0.34, 0.18, 0.04])
NON_USUAL = ("51", "85", "65", "54", "29", "87", "88", "53", "38")
NON_USUAL_P = np.array([0.31, 0.22, 0.12, 0.08, 0.10, 0.06, 0.06, 0.03, 0.02])

# Spell kinds: the first two are the qualifying ones, the rest are built not to qualify.
(
    K_ACSC,
    K_FALL,
    K_EMERGENCY,
    K_ELECTIVE,
    K_TRANSFER,
    K_INJURY,
    K_YOUNG_FALL,
    K_FALL_NOT_INJURY,
    K_FALL_ELECTIVE,
    K_MATERNITY,
    K_BIRTH,
    K_FALL_REGULAR,
) = range(12)
_OTHER_KINDS = np.array(
    [
        K_EMERGENCY,
        K_ELECTIVE,
        K_TRANSFER,
        K_INJURY,
        K_YOUNG_FALL,
        K_FALL_NOT_INJURY,
        K_FALL_ELECTIVE,
        K_MATERNITY,
        K_BIRTH,
    ]
)
_OTHER_P = np.array([0.355, 0.41, 0.01, 0.05, 0.025, 0.01, 0.005, 0.055, 0.08])
_EMERGENCY_KINDS = (K_ACSC, K_FALL, K_EMERGENCY, K_TRANSFER, K_INJURY, K_YOUNG_FALL, K_FALL_NOT_INJURY, K_FALL_REGULAR)
CARRY_IN_SHARE = 0.045  # spells open at the first generated quarter's start, per spell admitted in it

# Spell fields drawn from a second generator (``extra``), so adding them left every other field as it was.
# Regular day/night attenders with a fall coded (classification 3, 4), per qualifying fall: not falls admissions.
FALL_REGULAR_SHARE = 0.01
NON_ACUTE_P = {K_TRANSFER: 0.5, K_ELECTIVE: 0.08, K_FALL_ELECTIVE: 0.08, K_ACSC: 0.02, K_FALL: 0.02}
NON_ACUTE_DEFAULT_P = 0.03
NON_ACUTE_ELSEWHERE = 0.3  # share of a non-acute provider's counted discharges not to the usual residence
DRD_RECORDED = 0.97  # spells with a Discharge Ready Date recorded
# Delays beyond the DRD, for the delayed share: bands 1, 2-3, 4-6, 7-13, 14-20, 21-45 days, shaped like
# NHS England's "Timeliness of acute hospital discharges" (most delays one day, a long tail).
DELAY_BAND_LO = np.array([1, 2, 4, 7, 14, 21])
DELAY_BAND_HI = np.array([1, 3, 6, 13, 20, 45])
DELAY_BAND_P = np.array([0.38, 0.25, 0.15, 0.12, 0.05, 0.05])

IntArray = NDArray[np.int64]
StrArray = NDArray[Any]


@dataclass(frozen=True)
class QuarterTargets:
    """Overrides for one quarter (or every quarter, as ``HwbProfile.targets``); None keeps the profile's rate."""

    acsc_isr: float | None = None  # chronic ACSC emergency admissions, ISR per 100,000 for the quarter
    falls_dsr: float | None = None  # falls 65+, DSR per 100,000 for the quarter alone (year to date adds up)
    discharge_pct: float | None = None  # % of counted discharges in the quarter to usual residence
    on_drd_pct: float | None = None  # % of acute adult discharges with a DRD that left on it
    residential_people: int | None = None  # people 65+ whose first long-term care-home admission is in the quarter
    reablement_people: int | None = None  # people 65+ discharged into reablement in the quarter (any status)
    reablement_at_home: int | None = None  # ... of whom at home after 91 days (delivered once 91 days pass)


@dataclass(frozen=True)
class HwbProfile:
    """One Health and Wellbeing Board: population and the per-quarter rates its extracts are built to hit.

    The rate knobs apply to every quarter; ``targets`` overrides them for every quarter and
    ``by_period[label]`` for one quarter (both as :class:`QuarterTargets`, field by field).
    """

    code: str
    name: str
    population_65_plus: int
    total_population: int
    geography: str = "Unitary Authority"
    mid_year: int | None = None  # population estimate year; default: the year before the financial year
    acsc_isr: float = 230.0  # chronic ACSC emergency admissions, ISR per 100,000 per quarter
    falls_dsr: float = 500.0  # falls 65+, DSR per 100,000 per quarter (year to date: the sum)
    discharge_pct: float = 92.5  # % of counted discharges to usual place of residence
    on_drd_pct: float = 88.0  # % of acute adult discharges with a Discharge Ready Date discharged on it
    residential_per_100k: float = 140.0  # new people 65+ per quarter per 100,000 aged 65+
    reablement_per_100k: float = 250.0  # people 65+ discharged into reablement per quarter per 100,000 65+
    reablement_at_home_pct: float = 82.0
    spells_per_1000: float = 30.0  # spells admitted per quarter per 1,000 residents (all kinds)
    targets: QuarterTargets = QuarterTargets()
    by_period: Mapping[str, QuarterTargets] = field(default_factory=dict)  # period label -> overrides
    plans: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (metric_id, Q1-Q4 or YE) -> plan


@dataclass(frozen=True)
class _Targets:
    acsc_isr: float
    falls_dsr: float
    discharge_pct: float
    on_drd_pct: float
    residential_people: int
    reablement_people: int
    reablement_at_home: int


def _targets(p: HwbProfile, period: Period) -> _Targets:
    """The profile's rates with ``targets`` then ``by_period[label]`` laid over them."""
    layers = [p.targets, p.by_period.get(period.label, QuarterTargets())]

    def pick(name: str, default: float) -> Any:
        value: Any = default
        for layer in layers:
            if getattr(layer, name) is not None:
                value = getattr(layer, name)
        return value

    people = int(pick("reablement_people", round(p.reablement_per_100k * p.population_65_plus / 100_000)))
    at_home = int(pick("reablement_at_home", round(people * p.reablement_at_home_pct / 100)))
    t = _Targets(
        acsc_isr=float(pick("acsc_isr", p.acsc_isr)),
        falls_dsr=float(pick("falls_dsr", p.falls_dsr)),
        discharge_pct=float(pick("discharge_pct", p.discharge_pct)),
        on_drd_pct=float(pick("on_drd_pct", p.on_drd_pct)),
        residential_people=int(
            pick("residential_people", round(p.residential_per_100k * p.population_65_plus / 100_000))
        ),
        reablement_people=people,
        reablement_at_home=at_home,
    )
    if not 0 <= t.discharge_pct <= 100 or not 0 <= t.on_drd_pct <= 100:
        raise ValueError(f"{p.code} {period.label}: percentage outside 0-100 in {t}")
    if not 0 <= t.reablement_at_home <= t.reablement_people:
        raise ValueError(f"{p.code} {period.label}: inconsistent targets {t}")
    if min(t.acsc_isr, t.falls_dsr, t.residential_people) < 0:
        raise ValueError(f"{p.code} {period.label}: negative target in {t}")
    return t


# ---------------------------------------------------------------- demo


def demo_profiles() -> list[HwbProfile]:
    """North Northamptonshire (E06000061) with the seed BCF plan; actuals tuned to the seed paper's 2023-24 figures."""
    plans: dict[tuple[str, str], float] = {("avoidable_admissions", q): 250.0 for q in QUARTERS}
    plans |= {("discharge_usual_residence", q): 94.0 for q in QUARTERS}
    plans |= {
        ("falls_65_plus", "YE"): 1236.0,
        ("residential_admissions_65_plus", "YE"): 564.0,
        ("reablement_91_days", "YE"): 87.4,
    }
    plans |= DEMO_SOCIAL_CARE_PLANS
    profiles = [
        HwbProfile(
            code="E06000061",
            name="North Northamptonshire",
            population_65_plus=77_713,
            total_population=359_500,
            mid_year=2022,
            spells_per_1000=30.0,
            by_period={
                "2023-24-Q1": QuarterTargets(
                    acsc_isr=254.6,
                    falls_dsr=219.95,
                    discharge_pct=95.1,
                    residential_people=79,
                    reablement_people=95,
                    reablement_at_home=81,
                ),
                "2023-24-Q2": QuarterTargets(
                    acsc_isr=260.1,
                    falls_dsr=219.95,
                    discharge_pct=95.35,
                    residential_people=112,
                    reablement_people=199,
                    reablement_at_home=147,  # the seed's Q2: 147/199; followed up in Q3
                ),
            },
            plans=plans,
        )
    ]
    return [replace(p, by_period=_overlay(p.by_period, DEMO_SOCIAL_CARE)) for p in profiles]


# Social care in the demo's 2025-26 quarters (laid over the hospital figures of the same quarters):
# people 65+ admitted long-term to care homes for the first time (2025-26 Q1 92, Q2 104; year to date
# 118 and 252 per 100,000 aged 65+ against plans of 125 and 250) and discharges into reablement.
DEMO_SOCIAL_CARE: dict[str, QuarterTargets] = {
    "2025-26-Q1": QuarterTargets(residential_people=92, reablement_people=190, reablement_at_home=160),
    "2025-26-Q2": QuarterTargets(residential_people=104, reablement_people=201, reablement_at_home=168),
}
# The 2025-26 core metric's plans: the cumulative year-to-date rate per 100,000 65+ at each quarter's
# end; the ASCOF annual reablement cohort is planned as the in-year one (the seed's 87.4%).
DEMO_SOCIAL_CARE_PLANS: dict[tuple[str, str], float] = {
    **{("care_home_admissions_65_plus", f"Q{q}"): 125.0 * q for q in range(1, 5)},
    ("reablement_91_days_ascof", "YE"): 87.4,
}


def _overlay(base: Mapping[str, QuarterTargets], extra: Mapping[str, QuarterTargets]) -> dict[str, QuarterTargets]:
    """``base`` with ``extra``'s non-None fields laid over it, quarter by quarter."""
    out = dict(base)
    for label, t in extra.items():
        given = {f.name: getattr(t, f.name) for f in fields(t) if getattr(t, f.name) is not None}
        out[label] = replace(out.get(label, QuarterTargets()), **given)
    return out


# 2025-26 plans for the BCF 2025-26 core metrics (illustrative, not North Northamptonshire's plan).
PLANS_2025_26: dict[tuple[str, str], float] = {
    **{("emergency_admissions_65_plus", q): 3_450.0 for q in QUARTERS},
    **{("discharge_on_ready_date", q): 88.0 for q in QUARTERS},
    **{("discharge_delay_days", q): 0.5 for q in QUARTERS},
    **{("discharge_delay_days_excl_zero", q): 4.2 for q in QUARTERS},
}


def demo_profiles_2025() -> list[HwbProfile]:
    """North Northamptonshire in 2025-26 (mid-2024 population, illustrative): the demo's quarters for
    the BCF 2025-26 core metrics, generated separately so the 2023-24 quarters stay as they were."""
    base = demo_profiles()[0]
    return [
        replace(
            base,
            population_65_plus=81_400,
            total_population=372_100,
            mid_year=2024,
            by_period={
                "2025-26-Q1": QuarterTargets(
                    acsc_isr=248.0, falls_dsr=221.0, discharge_pct=94.8, on_drd_pct=87.2, residential_people=82
                ),
                "2025-26-Q2": QuarterTargets(
                    acsc_isr=244.5, falls_dsr=214.0, discharge_pct=95.0, on_drd_pct=88.6, residential_people=85
                ),
            },
            plans={**base.plans, **PLANS_2025_26},
        )
    ]


# Three years of monthly-capable history before the demo's 2023-24 quarters (2020-21 Q3 to 2022-23 Q4),
# so a 2023-24-Q2 run has 36 months for SPC: enough for Making Data Count's icons (12 points).
HISTORY_PERIODS = tuple(
    f"{fy}-{(fy + 1) % 100:02d}-Q{q}" for fy in (2020, 2021, 2022) for q in range(1, 5) if (fy, q) >= (2020, 3)
)


def demo_profiles_history() -> list[HwbProfile]:
    """North Northamptonshire before 2023-24 (illustrative, not its real figures): falls and avoidable
    admissions drifting down towards the 2023-24 levels, the rest as in 2023-24, with the population of
    mid-2021 throughout (each year's file labels its own mid-year)."""
    base = demo_profiles()[0]
    n = len(HISTORY_PERIODS)
    by_period = {
        label: QuarterTargets(
            acsc_isr=round(276.0 - 16.0 * i / (n - 1), 1),
            falls_dsr=round(246.0 - 22.0 * i / (n - 1), 2),
            discharge_pct=round(93.6 + 1.2 * i / (n - 1), 2),
            residential_people=96 + (i % 3) * 4,
            reablement_people=150 + (i % 4) * 10,
            reablement_at_home=int((150 + (i % 4) * 10) * 0.8),
        )
        for i, label in enumerate(HISTORY_PERIODS)
    }
    return [replace(base, population_65_plus=76_300, total_population=354_800, mid_year=None, by_period=by_period)]


DEMO_PERIODS = (*HISTORY_PERIODS, "2023-24-Q1", "2023-24-Q2", "2025-26-Q1", "2025-26-Q2")


def write_demo(root: Path) -> None:
    """Write the shipped demo (North Northamptonshire, 2020-21 Q3 to 2023-24 Q2 and 2025-26 Q1-Q2) under
    ``root`` (normally data/raw). Each span is its own run with its own seed, so the 2023-24 and 2025-26
    files do not depend on the history before them (added later, with seed 2020)."""
    generate(root, [Period.parse(x) for x in HISTORY_PERIODS], demo_profiles_history(), seed=2020)
    generate(root, [Period.parse("2023-24-Q1"), Period.parse("2023-24-Q2")], demo_profiles(), seed=2023)
    generate(root, [Period.parse("2025-26-Q1"), Period.parse("2025-26-Q2")], demo_profiles_2025(), seed=2025)
    # The demo's delivered comparator file (synthetic England and East Midlands values, status
    # SYNTHETIC), so the plain demo run shows its comparisons; marked synthetic like every demo file.
    comparators = root / DELIVERED_COMPARATORS
    comparators.write_bytes((REFERENCE / "demo_comparators.csv").read_bytes())
    write_marker(root, [comparators], GENERATOR)


# ---------------------------------------------------------------- reference data


@cache
def _reference_rows(name: str) -> tuple[dict[str, str], ...]:
    with open(REFERENCE / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


@cache
def metric_plan_bases() -> dict[str, str]:
    """Metric id -> plan basis ('quarter' or 'annual'), from the BCF declarations."""
    from metrics.core.registry import metrics_for

    return {m.id: m.plan_basis for m in metrics_for("bcf")}


@cache
def _england_acsc() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """England reference ACSC admissions (annual) and population as [sex, band] arrays."""
    adm, pop = np.zeros((2, 19)), np.zeros((2, 19))
    for r in _reference_rows("england_acsc_reference"):
        i, b = SEXES.index(r["sex"]), BANDS.index(r["age_band"])
        adm[i, b] += float(r["admissions"])
        pop[i, b] += float(r["population"])
    return adm, pop


# ---------------------------------------------------------------- population


def _spread(total: int, weights: NDArray[Any]) -> IntArray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(np.int64)
    short = total - int(out.sum())
    if short:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def population_by_age(p: HwbProfile) -> dict[str, IntArray]:
    """Single years 0..90 (90 = 90+) by sex; the all-ages and 65+ totals are exact."""
    if not 0 <= p.population_65_plus <= p.total_population:
        raise ValueError(f"{p.code}: population_65_plus must be between 0 and total_population")
    density = np.interp(np.arange(90), np.arange(18) * 5 + 2.0, _BAND_SHARES[:18] / 5)
    w = np.append(density, _BAND_SHARES[18])
    persons = np.concatenate(
        [_spread(p.total_population - p.population_65_plus, w[:65]), _spread(p.population_65_plus, w[65:])]
    )
    males = np.rint(persons * _MALE_SHARE).astype(np.int64)
    return {"M": males, "F": persons - males}


def band_population(pop: Mapping[str, IntArray]) -> IntArray:
    """[sex, band] populations for the 19 five-year bands (0-4 ... 90+), sexes in ``SEXES`` order."""
    idx = np.minimum(AGES // 5, 18)
    return np.array([np.bincount(idx, weights=pop[s], minlength=19) for s in SEXES]).astype(np.int64)


def expected_acsc(p: HwbProfile, years: float = 0.25) -> float:
    """Expected chronic-ACSC admissions at England rates over ``years`` (the ISR's E)."""
    adm, ref_pop = _england_acsc()
    return float((adm * years / ref_pop * band_population(population_by_age(p))).sum())


def acsc_reference_rate(years: float = 0.25) -> float:
    """England crude chronic-ACSC rate per 100,000 over ``years`` (the ISR's reference rate)."""
    adm, ref_pop = _england_acsc()
    return float(adm.sum() * years / ref_pop.sum() * 100_000)


def _population_frame(p: HwbProfile, period: Period) -> pd.DataFrame:
    pop = population_by_age(p)
    matrix = np.array([pop[s] for s in SEXES])
    frame = pd.DataFrame(matrix, columns=POPULATION.column_names[6:])
    frame.insert(0, "code", p.code)
    frame.insert(1, "name", p.name)
    frame.insert(2, "geography", p.geography)
    frame.insert(3, "sex", list(SEXES))
    frame.insert(4, "mid_year", p.mid_year if p.mid_year is not None else period.fy_start - 1)
    frame.insert(5, "all_ages", matrix.sum(axis=1))
    return frame


# ---------------------------------------------------------------- helpers


def _day(d: dt.date) -> int:
    return (d - _EPOCH_DATE).days


def _date_strings(days: IntArray) -> StrArray:
    """YYYY-MM-DD for day numbers (formatting each distinct day once)."""
    if len(days) == 0:
        return np.array([], dtype="<U10")
    lo = int(days.min())
    table = np.datetime_as_string(np.arange(lo, int(days.max()) + 1).astype("datetime64[D]"), unit="D")
    return table[days - lo]


def _days_in(rng: np.random.Generator, period: Period, n: int) -> IntArray:
    return _day(period.start) + rng.integers(0, (period.end - period.start).days + 1, n)


def _seq_ids(prefix: str, n: int, width: int) -> StrArray:
    return (prefix + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy(dtype=object)


_MASK = np.uint64((1 << 40) - 1)
_MULT = np.uint64(0x9E3779B97F4A7C15 & ((1 << 40) - 1) | 1)
_ADD = np.uint64(0x5DEECE66D)


def _pseudonyms(code: str, values: NDArray[Any]) -> StrArray:
    """Person ids: a bijection of 40-bit values, so distinct values give distinct ids."""
    x = (values.astype(np.uint64) * _MULT + _ADD) & _MASK
    return ("P" + code[1:] + pd.Series(x).map("{:010x}".format)).to_numpy(dtype=object)


def _ages(rng: np.random.Generator, weights: NDArray[Any], n: int) -> IntArray:
    """Ages 0..105 drawn from single-year weights over 0..90 (90+ spread over 90-105)."""
    a = rng.choice(91, size=n, p=weights / weights.sum()).astype(np.int64)
    return _open_top(rng, a)


def _open_top(rng: np.random.Generator, ages: IntArray) -> IntArray:
    extra = np.minimum(rng.geometric(0.3, len(ages)) - 1, 15)
    return np.where(ages >= 90, 90 + extra, ages)


def _band_ages(rng: np.random.Generator, bands: IntArray) -> IntArray:
    return _open_top(rng, bands * 5 + rng.integers(0, 5, len(bands)))


def _sex_for(rng: np.random.Generator, pop: Mapping[str, IntArray], ages: IntArray) -> StrArray:
    persons = np.maximum(pop["M"] + pop["F"], 1)
    p_male = np.where(pop["M"] + pop["F"] > 0, pop["M"] / persons, 0.5)
    return np.where(rng.random(len(ages)) < p_male[np.minimum(ages, 90)], "M", "F")


def _choice(rng: np.random.Generator, codes: Sequence[str], n: int, p: NDArray[Any] | None = None) -> StrArray:
    return np.asarray(codes)[rng.choice(len(codes), size=n, p=None if p is None else p / p.sum())]


def _comorbidities(rng: np.random.Generator, ages: IntArray) -> StrArray:
    """0-3 distinct further diagnoses, more with age, ';'-separated ('' for none)."""
    n, m = len(ages), len(SECONDARY)
    k = rng.binomial(3, np.where(ages >= 65, 0.55, np.where(ages >= 40, 0.3, 0.1)))
    i1 = rng.integers(0, m, n)
    d1 = rng.integers(1, m, n)
    d2 = rng.integers(1, m - 1, n)
    d2 = d2 + (d2 >= d1)
    codes = np.asarray(SECONDARY)
    a, b, c = codes[i1], codes[(i1 + d1) % m], codes[(i1 + d2) % m]
    out = np.where(k >= 1, a, "")
    out = np.where(k >= 2, np.strings.add(np.strings.add(out, ";"), b), out)
    return np.where(k >= 3, np.strings.add(np.strings.add(out, ";"), c), out)


def _with_cause(rng: np.random.Generator, cause: StrArray, comorb: StrArray) -> StrArray:
    """External cause code before or after the comorbidities."""
    first = rng.random(len(cause)) < 0.6
    has = np.strings.str_len(comorb) > 0
    before = np.where(has, np.strings.add(np.strings.add(cause, ";"), comorb), cause)
    after = np.where(has, np.strings.add(np.strings.add(comorb, ";"), cause), cause)
    return np.where(first, before, after)


# ---------------------------------------------------------------- spells


@dataclass
class _Area:
    """Per-HWB constants and the state carried from one generated quarter to the next."""

    profile: HwbProfile
    pop: dict[str, IntArray]
    bands: IntArray  # [sex, band]
    open_spells: pd.DataFrame | None = None
    last_period: Period | None = None
    care_fy: int | None = None
    care_counter: int = 0
    care_people: pd.DataFrame | None = None  # 65+ people admitted to care so far in the financial year
    reable_fy: int | None = None
    reable_counter: int = 0
    reable_pending: pd.DataFrame | None = None  # discharges delivered before their 91st day
    reable_last: Period | None = None

    @property
    def persons(self) -> IntArray:
        return self.pop["M"] + self.pop["F"]


def _falls_year_to_date(area: _Area, period: Period) -> IntArray:
    """Qualifying falls per band (65-69 ... 90+) admitted from 1 April to the end of ``period``."""
    p = area.profile
    dsr = sum(_targets(p, q).falls_dsr for q in period.year_to_date())
    k = dsr / 100_000 * ESP_65.sum() / float((FALLS_SHAPE * ESP_65).sum())
    pop65 = area.bands[:, 13:].sum(axis=0)
    return np.rint(k * FALLS_SHAPE * pop65).astype(np.int64)


def _spell_frame(
    rng: np.random.Generator, area: _Area, kinds: IntArray, ages: IntArray, sexes: StrArray, fy_start: int
) -> pd.DataFrame:
    """Methods, diagnoses and person ids for spells of the given kinds, ages and sexes."""
    n = len(kinds)
    code = area.profile.code
    emerg = np.isin(kinds, _EMERGENCY_KINDS) & (kinds != K_TRANSFER)
    elective = (kinds == K_ELECTIVE) | (kinds == K_FALL_ELECTIVE)
    method = np.select(
        [emerg, elective, kinds == K_TRANSFER, kinds == K_MATERNITY, kinds == K_BIRTH],
        [
            _choice(rng, EMERGENCY_METHODS, n, EMERGENCY_P),
            _choice(rng, ELECTIVE_METHODS, n, ELECTIVE_P),
            "2B",
            _choice(rng, ("31", "32"), n, np.array([0.8, 0.2])),
            _choice(rng, ("82", "83"), n, np.array([0.9, 0.1])),
        ],
        "21",
    )
    injury = np.isin(kinds, (K_FALL, K_INJURY, K_YOUNG_FALL, K_FALL_ELECTIVE, K_FALL_REGULAR))
    primary = np.select(
        [
            (kinds == K_ACSC) | (kinds == K_TRANSFER),
            injury,
            kinds == K_ELECTIVE,
            kinds == K_FALL_NOT_INJURY,
            kinds == K_MATERNITY,
            kinds == K_BIRTH,
        ],
        [
            _choice(rng, ACSC_CODES, n, ACSC_P),
            _choice(rng, INJURY, n),
            _choice(rng, ELECTIVE, n),
            _choice(rng, FALL_NOT_INJURY, n),
            _choice(rng, MATERNITY, n),
            _choice(rng, BIRTH, n),
        ],
        _choice(rng, OTHER_EMERGENCY, n),
    )
    comorb = _comorbidities(rng, ages)
    fall_cause = np.isin(kinds, (K_FALL, K_YOUNG_FALL, K_FALL_NOT_INJURY, K_FALL_ELECTIVE, K_FALL_REGULAR))
    secondary = np.select(
        [fall_cause, kinds == K_INJURY, kinds == K_BIRTH],
        [
            _with_cause(rng, _choice(rng, FALL_CAUSES, n), comorb),
            _with_cause(rng, _choice(rng, OTHER_CAUSES, n), comorb),
            "",
        ],
        comorb,
    )
    # Persons: (sex, birth year, index within that cohort's size): repeat admissions happen naturally.
    cohort = np.maximum(area.pop["M"] + area.pop["F"], 1)[np.minimum(ages, 90)]
    cohort = np.where(ages >= 90, np.maximum(cohort // 10, 1), cohort)
    idx = (rng.random(n) * cohort).astype(np.int64)
    birth = (fy_start - ages - 1880) & 0xFF
    values = (2 << 38) | ((sexes == "M").astype(np.int64) << 37) | (birth << 29) | idx
    return pd.DataFrame(
        {
            "person_id": _pseudonyms(code, values),
            "admission_method": method,
            "age_at_admission": ages,
            "sex": sexes,
            "primary_diagnosis": primary,
            "secondary_diagnoses": secondary,
            "kind": kinds.astype(np.int8),
        }
    )


def _length_of_stay(rng: np.random.Generator, kinds: IntArray, ages: IntArray) -> IntArray:
    n = len(kinds)
    elective = (kinds == K_ELECTIVE) | (kinds == K_FALL_ELECTIVE)
    short = (kinds == K_MATERNITY) | (kinds == K_BIRTH)
    mean = 2.5 + ages / 9 * np.where(np.isin(kinds, (K_FALL, K_FALL_NOT_INJURY)), 1.4, 1.0)
    emergency = np.where(rng.random(n) < 0.22, 0, rng.geometric(1 / mean))
    los = np.select(
        [elective, short],
        [np.where(rng.random(n) < 0.6, 0, rng.geometric(1 / 3, n)), rng.geometric(0.6, n) - 1],
        emergency,
    )
    return np.minimum(los, 300).astype(np.int64)


def _new_spells(rng: np.random.Generator, extra: np.random.Generator, area: _Area, period: Period) -> pd.DataFrame:
    """Spells admitted in ``period`` (their discharge may fall after it)."""
    p, t = area.profile, _targets(area.profile, period)
    pop, bands = area.pop, area.bands
    # Avoidable admissions: O = ISR / reference rate x E exactly; strata drawn in proportion to E.
    adm, ref_pop = _england_acsc()
    expected = (adm * 0.25 / ref_pop * bands).ravel()
    n_acsc = round(t.acsc_isr / acsc_reference_rate() * expected.sum()) if expected.sum() > 0 else 0
    strata = rng.multinomial(n_acsc, expected / expected.sum()) if n_acsc else np.zeros(38, dtype=np.int64)
    cell = np.repeat(np.arange(38), strata)
    acsc_ages = _band_ages(rng, cell % 19)
    acsc_sex = np.asarray(SEXES)[cell // 19]
    # Falls 65+: this quarter's share of the year-to-date counts per ESP band.
    falls = _falls_year_to_date(area, period)
    if period.quarter > 1:
        falls = falls - _falls_year_to_date(area, period.previous())
    fall_ages = _band_ages(rng, np.repeat(np.arange(13, 19), falls))
    fall_sex = _sex_for(rng, pop, fall_ages)
    # Everything else, built not to qualify.
    n_total = round(p.spells_per_1000 * p.total_population / 1000)
    n_other = max(n_total - n_acsc - len(fall_ages), 0)
    kinds = rng.choice(_OTHER_KINDS, size=n_other, p=_OTHER_P)
    persons = area.persons.astype(float)
    young, old = np.where(AGES < 65, 1.0, 0.0), np.where(AGES >= 65, 1.0, 0.0)
    women_16_45 = np.where((AGES >= 16) & (AGES <= 45), pop["F"], 0).astype(float)
    weights = {
        K_EMERGENCY: persons * _EMERGENCY_RATE,
        K_TRANSFER: persons * _EMERGENCY_RATE * old,
        K_INJURY: persons * _EMERGENCY_RATE,
        K_YOUNG_FALL: persons * _EMERGENCY_RATE * young,
        K_ELECTIVE: persons * _ELECTIVE_RATE,
        K_FALL_NOT_INJURY: persons * _EMERGENCY_RATE * old,
        K_FALL_ELECTIVE: persons * _ELECTIVE_RATE * old,
        K_MATERNITY: women_16_45,
    }
    other_ages = np.zeros(n_other, dtype=np.int64)
    for kind, w in weights.items():
        sel = np.flatnonzero(kinds == kind)
        if len(sel) and w.sum() > 0:
            other_ages[sel] = _ages(rng, w, len(sel))
    other_sex = np.where(kinds == K_MATERNITY, "F", _sex_for(rng, pop, other_ages))
    all_kinds = np.concatenate([np.full(n_acsc, K_ACSC), np.full(len(fall_ages), K_FALL), kinds]).astype(np.int64)
    ages = np.concatenate([acsc_ages, fall_ages, other_ages])
    sexes = np.concatenate([acsc_sex, fall_sex, other_sex])
    spells = _spell_frame(rng, area, all_kinds, ages, sexes, period.fy_start)
    spells["adm"] = _days_in(rng, period, len(spells))
    spells["dis"] = spells["adm"].to_numpy() + _length_of_stay(rng, all_kinds, ages)
    regulars = _fall_regulars(extra, area, period, len(fall_ages))
    spells = pd.concat([_with_extras(extra, spells), *([] if regulars is None else [regulars])])
    return _with_spell_ids(spells, f"S-{p.code}-{period.fy_start}Q{period.quarter}-", 7)


def _with_extras(extra: np.random.Generator, spells: pd.DataFrame) -> pd.DataFrame:
    """Provider type (mostly acute) and patient classification, by kind and length of stay."""
    kinds = spells["kind"].to_numpy()
    los = spells["dis"].to_numpy() - spells["adm"].to_numpy()
    n = len(spells)
    p_non_acute = np.full(n, NON_ACUTE_DEFAULT_P)
    for kind, p in NON_ACUTE_P.items():
        p_non_acute[kinds == kind] = p
    u = extra.random((2, n))
    elective = (kinds == K_ELECTIVE) | (kinds == K_FALL_ELECTIVE)
    classification = np.select(
        [
            kinds == K_FALL_REGULAR,
            elective & (los == 0) & (u[1] < 0.1),  # regular day attenders (e.g. chemotherapy, dialysis)
            elective & (los == 0),
            elective & (los == 1) & (u[1] < 0.01),  # regular night attenders (e.g. sleep studies)
            (kinds == K_MATERNITY) & (los == 0) & (u[1] < 0.3),  # delivery facilities only
        ],
        [np.where(los == 0, "3", "4"), "3", "2", "4", "5"],
        "1",
    )
    return spells.assign(
        provider_type=np.where(u[0] < p_non_acute, "non_acute", "acute").astype(object),
        patient_classification=classification.astype(object),
    )


def _fall_regulars(extra: np.random.Generator, area: _Area, period: Period, n_falls: int) -> pd.DataFrame | None:
    """Regular day and night attenders aged 65+ whose spell carries an emergency method, an injury and
    a fall cause: falls by every rule but patient classification, so they must not be counted."""
    n = round(FALL_REGULAR_SHARE * n_falls + extra.random())
    if n == 0:
        return None
    ages = _band_ages(extra, extra.integers(13, 19, n))
    spells = _spell_frame(
        extra, area, np.full(n, K_FALL_REGULAR, dtype=np.int64), ages, _sex_for(extra, area.pop, ages), period.fy_start
    )
    spells["adm"] = _days_in(extra, period, n)
    spells["dis"] = spells["adm"].to_numpy() + (extra.random(n) < 0.3)  # night attenders stay one night
    return _with_extras(extra, spells)


def _carried_in(
    rng: np.random.Generator, extra: np.random.Generator, area: _Area, period: Period, n_new: int
) -> pd.DataFrame:
    """Spells admitted before ``period`` and still open at its start (first generated quarter only)."""
    n = round(CARRY_IN_SHARE * n_new)
    long_stay = rng.random(n) < 0.03  # emergency admissions up to a few years back
    kinds = np.where(
        long_stay, K_EMERGENCY, rng.choice(np.array([K_EMERGENCY, K_ELECTIVE, K_INJURY]), size=n, p=[0.75, 0.15, 0.10])
    )
    ages = _ages(rng, area.persons * _EMERGENCY_RATE * np.where(AGES >= 65, 2.0, 1.0), n)
    spells = _spell_frame(rng, area, kinds.astype(np.int64), ages, _sex_for(rng, area.pop, ages), period.fy_start)
    start = _day(period.start)
    spells["adm"] = start - np.where(long_stay, rng.integers(92, 1200, n), rng.geometric(1 / 9, n))
    spells["dis"] = start + np.where(long_stay, rng.integers(0, 240, n), rng.geometric(1 / 10, n) - 1)
    spells = _with_extras(extra, spells)
    return _with_spell_ids(spells, f"S-{area.profile.code}-{period.fy_start}Q{period.quarter}-X", 6)


def _with_spell_ids(spells: pd.DataFrame, prefix: str, width: int) -> pd.DataFrame:
    spells = spells.sort_values("adm", kind="stable").reset_index(drop=True)
    spells.insert(1, "spell_id", _seq_ids(prefix, len(spells), width))
    return spells


def _destinations(
    rng: np.random.Generator, kinds: IntArray, ages: IntArray, pct: float, acute: NDArray[Any]
) -> StrArray:
    """Destinations for spells that ended: exactly ``pct`` % (rounded) of counted acute discharges to 19
    (the metric counts acute providers only); ``NON_ACUTE_ELSEWHERE`` of the non-acute ones elsewhere."""
    n = len(kinds)
    emergency = np.isin(kinds, _EMERGENCY_KINDS)
    p_died = np.where(emergency, 0.002 + 0.02 * (ages >= 65) + 0.04 * (ages >= 85), 0.0005)
    u = rng.random(n)
    dest = np.full(n, "19", dtype=object)
    dest[u < p_died + 0.0055] = "99"  # not known
    dest[u < p_died + 0.0015] = "98"  # spell not finished (a data-quality oddity, excluded)
    dest[u < p_died] = "79"  # died
    counted = np.flatnonzero(dest == "19")
    chosen_parts = []
    for group, share in ((counted[acute[counted]], None), (counted[~acute[counted]], NON_ACUTE_ELSEWHERE)):
        n_other = len(group) - round(pct / 100 * len(group)) if share is None else round(share * len(group))
        if n_other > 0:  # weighted sampling without replacement: the oldest emergencies go elsewhere most
            w = np.where(emergency, 0.3 + 2.0 * (ages >= 65) + 4.0 * (ages >= 80), 0.3 + 0.7 * (ages >= 75))
            w = np.where(np.isin(kinds, (K_FALL, K_FALL_NOT_INJURY)), 2 * w, w)
            w = np.where(np.isin(kinds, (K_MATERNITY, K_BIRTH)), 0.1, w)[group]
            keys = rng.exponential(size=len(group)) / w
            chosen_parts.append(group[np.argsort(keys, kind="stable")[:n_other]])
    chosen = np.concatenate(chosen_parts) if chosen_parts else np.array([], dtype=np.int64)
    if len(chosen):
        dest[chosen] = _choice(rng, NON_USUAL, len(chosen), NON_USUAL_P)
    return dest


def _ready_dates(
    extra: np.random.Generator, adm: IntArray, dis: IntArray, ages: IntArray, acute: NDArray[Any], pct: float
) -> IntArray:
    """Discharge Ready Dates (day numbers, -1 = none recorded) for spells discharged in the quarter:
    exactly ``pct`` % (rounded) of the acute adult ones with a DRD leave on it; the others wait a delay
    drawn from ``DELAY_BAND_*``, no longer than their stay (the DRD is never before admission)."""
    n = len(adm)
    los = dis - adm
    has = extra.random(n) < DRD_RECORDED
    delay = np.zeros(n, dtype=np.int64)
    counted = np.flatnonzero(has & acute & (ages >= 18))
    can = counted[los[counted] >= 1]  # a same-day stay cannot be delayed
    n_delayed = min(len(counted) - round(pct / 100 * len(counted)), len(can))
    keys = extra.exponential(size=len(can)) / (1 + los[can]) ** 2  # longer stays are delayed more often
    chosen = can[np.argsort(keys, kind="stable")[: max(n_delayed, 0)]]
    band = extra.choice(len(DELAY_BAND_P), size=len(chosen), p=DELAY_BAND_P)
    width = DELAY_BAND_HI[band] - DELAY_BAND_LO[band] + 1
    delay[chosen] = np.minimum(DELAY_BAND_LO[band] + (extra.random(len(chosen)) * width).astype(np.int64), los[chosen])
    others = np.flatnonzero(has & ~(acute & (ages >= 18)))
    delay[others] = np.minimum(extra.geometric(0.7, len(others)) - 1, los[others])
    return np.where(has, dis - delay, -1)


def _spells_delivery(rng: np.random.Generator, extra: np.random.Generator, area: _Area, period: Period) -> pd.DataFrame:
    """Every spell open at some time in ``period``, as delivered at its end."""
    new = _new_spells(rng, extra, area, period)
    parts = [new]
    consecutive = area.last_period is not None and area.last_period.next() == period
    if consecutive and area.open_spells is not None:
        parts.insert(0, area.open_spells)
    else:
        parts.insert(0, _carried_in(rng, extra, area, period, len(new)))
    spells = pd.concat(parts, ignore_index=True)
    end = _day(period.end)
    dis = spells["dis"].to_numpy()
    ended = dis <= end
    dest = np.full(len(spells), "", dtype=object)
    acute = spells["provider_type"].to_numpy() == "acute"
    ages = spells["age_at_admission"].to_numpy()
    targets = _targets(area.profile, period)
    dest[ended] = _destinations(rng, spells["kind"].to_numpy()[ended], ages[ended], targets.discharge_pct, acute[ended])
    ready = np.full(len(spells), -1, dtype=np.int64)
    adm = spells["adm"].to_numpy()
    ready[ended] = _ready_dates(extra, adm[ended], dis[ended], ages[ended], acute[ended], targets.on_drd_pct)
    area.open_spells = spells.loc[~ended].reset_index(drop=True)
    area.last_period = period
    return pd.DataFrame(
        {
            "person_id": spells["person_id"],
            "spell_id": spells["spell_id"],
            "admission_date": _date_strings(spells["adm"].to_numpy()),
            "discharge_date": np.where(ended, _date_strings(dis), ""),
            "discharge_ready_date": np.where(ready >= 0, _date_strings(np.maximum(ready, 0)), ""),
            "patient_classification": spells["patient_classification"],
            "admission_method": spells["admission_method"],
            "age_at_admission": spells["age_at_admission"],
            "sex": spells["sex"],
            "primary_diagnosis": spells["primary_diagnosis"],
            "secondary_diagnoses": spells["secondary_diagnoses"],
            "discharge_destination": dest,
            "provider_type": spells["provider_type"],
            "hwb_code": area.profile.code,
        }
    )


# ---------------------------------------------------------------- social care

FOLLOW_UP_DAYS = REABLEMENT_FOLLOW_UP_DAYS
_NOT_HOME = ("care_home", "hospital", "died")
_NOT_HOME_P = np.array([0.3, 0.35, 0.35])


def _care_homes(rng: np.random.Generator, area: _Area, period: Period) -> pd.DataFrame:
    """Long-term placements starting in the quarter: exactly the target of people 65+ admitted for the
    first time on record, and, not counted, under-65s (one aged 64), readmissions and
    residential-to-nursing transfers of people admitted earlier in the year or in the quarter, and
    second-ever admissions of people with a placement years before."""
    p, t = area.profile, _targets(area.profile, period)
    if area.care_fy != period.fy_start:
        area.care_fy, area.care_counter, area.care_people = period.fy_start, 0, None
    people = t.residential_people
    young = round(people * 0.08 + rng.random())
    returning = round(people * 0.12 + rng.random())  # first admitted long-term 1-6 years ago
    n = people + young + 1 + returning
    ages = np.concatenate(
        [
            _ages(rng, area.persons * _CARE_RATE, people),
            rng.integers(18, 64, young),
            [64],
            _ages(rng, area.persons * _CARE_RATE, returning),
        ]
    ).astype(np.int64)
    values = (3 << 38) | (((period.fy_start - 1900) & 0xFF) << 30) | (area.care_counter + np.arange(n))
    area.care_counter += n
    days = _days_in(rng, period, n)
    first = days.copy()
    first[people + young + 1 :] -= rng.integers(365, 6 * 365, returning)
    setting = _choice(rng, ("residential", "nursing"), n, np.array([0.55, 0.45]))
    frame = pd.DataFrame(
        {"person_id": _pseudonyms(p.code, values), "age": ages, "day": days, "first": first, "setting": setting}
    )
    new_65 = frame.iloc[:people]
    # Not new: residential -> nursing moves of people first admitted in this quarter (when it has
    # several) and readmissions or moves of people first admitted earlier in the financial year.
    repeats = []
    if people >= 5:
        moved = new_65[new_65["setting"] == "residential"].iloc[:2].copy()
        end = _day(period.end)
        moved["day"] = moved["day"].to_numpy() + rng.integers(0, np.maximum(end - moved["day"].to_numpy(), 0) + 1)
        moved["setting"] = "nursing"
        repeats.append(moved)
    earlier = area.care_people
    if earlier is not None and len(earlier):
        again = earlier.iloc[rng.permutation(len(earlier))[:3]].copy()
        again["day"] = _days_in(rng, period, len(again))
        again["setting"] = np.where(again["setting"] == "residential", "nursing", "residential")
        repeats.append(again)
    area.care_people = new_65 if earlier is None else pd.concat([earlier, new_65], ignore_index=True)
    frame = pd.concat([frame, *repeats], ignore_index=True)
    m = len(frame)
    out = pd.DataFrame(
        {
            "person_id": frame["person_id"],
            "age": frame["age"],
            "admission_date": _date_strings(frame["day"].to_numpy()),
            "setting": frame["setting"],
            "first_admission_date": _date_strings(frame["first"].to_numpy()),
            "hwb_code": p.code,
        }
    )
    out = out.sort_values("admission_date", kind="stable").reset_index(drop=True)
    out.insert(0, "admission_id", _seq_ids(f"C-{p.code}-{period.fy_start}Q{period.quarter}-", m, 5))
    return out


def _reablement_discharges(
    rng: np.random.Generator, area: _Area, period: Period, first_day: int, last_day: int, share: float, prefix: str
) -> pd.DataFrame:
    """Discharges into reablement on days ``first_day..last_day`` of ``period``'s targets (``share`` of
    the quarter's): the target people 65+ (every one in the cohort; at home exactly the target, the
    rest in a care home, in hospital, dead or of unknown status) and under-65s. Final statuses are
    drawn now and delivered once the 91st day has passed."""
    t = _targets(area.profile, period)
    people = round(t.reablement_people * share)
    at_home = round(t.reablement_at_home * share)
    unknown = min(people - at_home, round(people * 0.04 + rng.random()))
    young = round(people * 0.06 + rng.random())
    status = np.concatenate(
        [
            np.full(at_home, "at_home"),
            _choice(rng, _NOT_HOME, people - at_home - unknown, _NOT_HOME_P),
            np.full(unknown, "unknown"),
            _choice(rng, ("at_home", "hospital", "died", "unknown"), young, np.array([0.8, 0.1, 0.05, 0.05])),
        ]
    ).astype(object)
    n = len(status)
    ages = np.concatenate([_ages(rng, area.persons * _REABLE_RATE, people), rng.integers(40, 65, young)])
    values = (1 << 38) | (((period.fy_start - 1900) & 0xFF) << 30) | (area.reable_counter + np.arange(n))
    area.reable_counter += n
    order = rng.permutation(n)
    frame = pd.DataFrame(
        {
            "person_id": _pseudonyms(area.profile.code, values),
            "age": ages.astype(np.int64),
            "dis": first_day + rng.integers(0, last_day - first_day + 1, n),
            "final": status,
        }
    ).iloc[order]
    frame = frame.sort_values("dis", kind="stable").reset_index(drop=True)
    frame["start"] = frame["dis"].to_numpy() + np.minimum(rng.geometric(0.6, n) - 1, 7)
    frame.insert(0, "episode_id", _seq_ids(prefix, n, 5))
    return frame


def _reablement(rng: np.random.Generator, area: _Area, period: Period) -> pd.DataFrame:
    """The reablement delivery at the end of ``period``: its discharges (status ``pending`` until their
    91st day has passed) and the earlier discharges whose 91st day falls in it, now with their final
    status. A quarter following a generated one re-delivers the latter; the first generated quarter
    makes them from the previous quarter's targets."""
    p = area.profile
    if area.reable_fy != period.fy_start:
        area.reable_fy, area.reable_counter = period.fy_start, 0
    start, end = _day(period.start), _day(period.end)
    tag = f"R-{p.code}-{period.fy_start}Q{period.quarter}-"
    new = _reablement_discharges(rng, area, period, start, end, 1.0, tag)
    consecutive = area.reable_last is not None and area.reable_last.next() == period
    if consecutive and area.reable_pending is not None:
        earlier = area.reable_pending
    else:  # discharged before the quarter, 91st day inside it
        before = period.previous()
        lo, hi = start - FOLLOW_UP_DAYS, min(end - FOLLOW_UP_DAYS, start - 1)
        share = (hi - lo + 1) / ((before.end - before.start).days + 1)
        earlier = _reablement_discharges(rng, area, before, lo, hi, share, tag + "X")
    frame = pd.concat([earlier, new], ignore_index=True)
    follow = frame["dis"].to_numpy() + FOLLOW_UP_DAYS
    done = follow <= end
    area.reable_pending = frame.loc[~done].reset_index(drop=True)
    area.reable_last = period
    return pd.DataFrame(
        {
            "episode_id": frame["episode_id"],
            "person_id": frame["person_id"],
            "age": frame["age"],
            "hospital_discharge_date": _date_strings(frame["dis"].to_numpy()),
            "service_start_date": _date_strings(frame["start"].to_numpy()),
            "follow_up_date": np.where(done, _date_strings(follow), ""),
            "status_91_days": np.where(done, frame["final"], "pending"),
            "hwb_code": p.code,
        }
    )


# ---------------------------------------------------------------- plans

PlanValues = Mapping[str, float] | Mapping[tuple[str, str], float] | Mapping[str | tuple[str, str], float]
DEFAULT_PLANS: dict[str | tuple[str, str], float] = {
    "avoidable_admissions": 240.0,
    "discharge_usual_residence": 92.0,
    "falls_65_plus": 2000.0,
    "residential_admissions_65_plus": 560.0,
    "reablement_91_days": 82.0,
    "emergency_admissions_65_plus": 3_500.0,
    "discharge_on_ready_date": 88.0,
    "discharge_delay_days": 0.5,
    "discharge_delay_days_excl_zero": 4.2,
    "reablement_91_days_ascof": 82.0,
    # Quarterly plans of a cumulative rate: the year-to-date rate planned for each quarter's end.
    **{("care_home_admissions_65_plus", f"Q{q}"): 140.0 * q for q in range(1, 5)},
}


def _plan_rows(values: PlanValues, bases: Mapping[str, str]) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for key, value in values.items():
        metric, quarters = (key, None) if isinstance(key, str) else key
        if metric not in bases:
            raise ValueError(f"plan for unknown metric {metric!r}; metrics are {sorted(bases)}")
        allowed = QUARTERS if bases[metric] == "quarter" else ("YE",)
        for q in [quarters] if quarters else allowed:
            if q not in allowed:
                raise ValueError(f"plan for {metric!r} must be for {', '.join(allowed)}, not {q!r}")
            if float(value) < 0:
                raise ValueError(f"plan for {metric!r} must be >= 0")
            out[(metric, q)] = float(value)
    return out


def _plans(p: HwbProfile, period: Period, plans: Mapping[str, PlanValues] | None) -> pd.DataFrame:
    bases = metric_plan_bases()
    rows = _plan_rows({k: v for k, v in DEFAULT_PLANS.items() if (k if isinstance(k, str) else k[0]) in bases}, bases)
    for layer in (p.plans, (plans or {}).get("*", {}), (plans or {}).get(p.code, {})):
        rows |= _plan_rows(layer, bases)
    order = {m: i for i, m in enumerate(sorted(bases))}
    keys = sorted(rows, key=lambda k: (order[k[0]], k[1]))
    return pd.DataFrame(
        {
            "hwb_code": p.code,
            "metric_id": [k[0] for k in keys],
            "financial_year": period.financial_year,
            "quarter": [k[1] for k in keys],
            "plan_value": [rows[k] for k in keys],
        }
    )


# ---------------------------------------------------------------- writing


def _write(frame: pd.DataFrame, extract: Extract, path: Path) -> Path:
    """UTF-8, comma-delimited, header row, ``\n`` line ends; empty string for a missing value.

    Arrow writes the big record-level files (unquoted: generated values never need quoting);
    pandas the rest, and anything Arrow would have to quote.
    """
    out = frame[extract.column_names]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not any(pd.api.types.is_float_dtype(t) for t in out.dtypes):
        try:
            table = pa.Table.from_pandas(out, preserve_index=False)
            with open(path, "wb") as fh:
                fh.write((",".join(extract.column_names) + "\n").encode("utf-8"))
                pa_csv.write_csv(
                    table, fh, write_options=pa_csv.WriteOptions(include_header=False, quoting_style="none")
                )
            return path
        except pa.ArrowInvalid:
            pass
    out.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def generate(
    out_dir: Path,
    periods: Sequence[Period],
    hwbs: Sequence[HwbProfile],
    seed: int = 2023,
    plans: Mapping[str, PlanValues] | None = None,
) -> dict[str, list[Path]]:
    """Write ``out_dir/<period label>/<filename>`` for every BCF extract, for all ``hwbs`` and ``periods``.

    Periods are generated oldest first; a quarter that follows a generated quarter re-delivers its
    spells still in hospital. Every file holds all ``hwbs``; the output depends only on the arguments.

    ``plans`` overrides plan values: keyed by HWB code (or ``"*"`` for every HWB), each a mapping of
    ``metric_id`` (every quarter of a quarterly plan, or YE) or ``(metric_id, "Q1".."Q4"/"YE")`` to the
    value; layered over the profile's ``plans`` and ``DEFAULT_PLANS``. Returns the files written per period.
    """
    periods = sorted(set(periods))
    if not periods or not hwbs:
        raise ValueError("generate needs at least one period and one HWB")
    codes = [h.code for h in hwbs]
    known = {r["code"] for r in _reference_rows("hwb_codes")}
    if len(set(codes)) != len(codes) or not set(codes) <= known:
        raise ValueError(f"HWB codes must be distinct and in metrics/reference/hwb_codes.csv: {codes}")
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 1])  # the spell fields added later: the others' draws stay as they were
    # Social care draws from its own stream, so its records never shift the hospital spells.
    care_rng = np.random.default_rng([seed, 2])
    areas = [_Area(h, pop, band_population(pop)) for h in hwbs for pop in [population_by_age(h)]]
    written: dict[str, list[Path]] = {}
    for period in periods:  # one quarter in memory at a time; areas carry open spells forward
        frames: dict[str, list[pd.DataFrame]] = {e.name: [] for e in BCF_EXTRACTS}
        for area in areas:
            frames[APC_SPELLS.name].append(_spells_delivery(rng, extra, area, period))
            frames[REABLEMENT.name].append(_reablement(care_rng, area, period))
            frames[CARE_HOME_ADMISSIONS.name].append(_care_homes(care_rng, area, period))
            frames[POPULATION.name].append(_population_frame(area.profile, period))
            frames[PLANS.name].append(_plans(area.profile, period, plans))
        for extract in BCF_EXTRACTS:
            frame = pd.concat(frames.pop(extract.name), ignore_index=True)
            written.setdefault(period.label, []).append(
                _write(frame, extract, out_dir / period.label / extract.filename)
            )
        # Declared synthetic (metrics.core.provenance): every output of a run on these files says so.
        write_marker(out_dir / period.label, written[period.label], GENERATOR)
    return written
