"""Seeded synthetic extracts for any set of HWBs and quarters, and the shipped demo.

Counts that feed a metric are set deterministically from target rates (so the
demo lands on the seed board paper's figures), then every other field is drawn
from one ``numpy`` generator per call, so a seed always gives the same bytes.
Plenty of non-qualifying records (electives, transfers, other diagnoses, the
young, other destinations) are mixed in so every metric filter is exercised.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.contracts import APC_SPELLS, CARE_HOME_ADMISSIONS, PLANS, POPULATION, REABLEMENT, Extract
from metrics.periods import Period

REFERENCE = Path(__file__).parent / "reference"
BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
FALLS_BANDS = BANDS[13:]  # 65-69 ... 90+
ESP_65 = np.array([5500, 5000, 4000, 2500, 1500, 1000], dtype=float)
FALLS_SHAPE = np.array([1.0, 1.7, 3.0, 5.2, 8.6, 13.0])  # relative age-specific falls rates

ACSC_CODES = ["J441", "J449", "J440", "J45", "J459", "I50", "I500", "I110", "I10", "E105", "E115", "E118",
              "G40", "G409", "I200", "I209", "D509", "F03", "I48", "J42"]
OTHER_EMERGENCY = ["R69", "R07", "R074", "K359", "N390", "J189", "A419", "I214", "K922", "R55", "L039", "R104"]
ELECTIVE = ["Z511", "H251", "K409", "M170", "C509", "J441", "I10", "N40", "K802"]
INJURY = ["S720", "S7200", "S0600", "S2240", "S3200", "S5250", "T140", "S420"]
FALL_CAUSES = ["W19X", "W10", "W01", "W18", "W06"]
OTHER_CAUSES = ["W20", "V43", "X59", "W22"]
SECONDARY = ["I10", "E119", "F03", "N183", "J449", "Z862", "I48"]
EMERGENCY_METHODS = ["21", "21", "21", "22", "23", "24", "28", "2D", "2A"]
NON_USUAL = ["54", "65", "85", "51", "29", "87", "88"]
PLAN_QUARTERLY = ("avoidable_admissions", "discharge_usual_residence")


@dataclass(frozen=True)
class QuarterTargets:
    """What one quarter's records are built to produce (per HWB)."""

    acsc_isr: float = 230.0  # ISR per 100,000 for the quarter
    falls_dsr: float = 480.0  # DSR per 100,000 65+ for the quarter alone (year to date adds up)
    discharge_pct: float = 92.5
    residential_people: int | None = None  # new people 65+ admitted in the quarter (default from rate)
    reablement_people: int | None = None  # people 65+ discharged into reablement (known status)
    reablement_at_home: int | None = None


@dataclass(frozen=True)
class HwbProfile:
    code: str
    name: str
    total_population: int
    population_65_plus: int
    geography: str = "Unitary Authority"
    mid_year: int = 2022
    other_spells_per_1000: float = 24.0  # non-qualifying spells per quarter per 1,000 residents
    targets: QuarterTargets = QuarterTargets()
    by_period: Mapping[str, QuarterTargets] = field(default_factory=dict)
    plans: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (metric_id, quarter) -> plan

    def targets_for(self, period: Period) -> QuarterTargets:
        return self.by_period.get(period.label, self.targets)


def demo_profiles() -> list[HwbProfile]:
    """North Northamptonshire with the seed BCF plan; actuals tuned to the seed paper's 2023-24 figures."""
    plans: dict[tuple[str, str], float] = {("avoidable_admissions", q): 250.0 for q in ("Q1", "Q2", "Q3", "Q4")}
    plans |= {("discharge_usual_residence", q): 94.0 for q in ("Q1", "Q2", "Q3", "Q4")}
    plans |= {("falls_65_plus", "YE"): 1236.0, ("residential_admissions_65_plus", "YE"): 564.0,
              ("reablement_91_days", "YE"): 87.4}
    return [HwbProfile(
        code="E06000061", name="North Northamptonshire", total_population=359_500, population_65_plus=77_713,
        by_period={
            "2023-24-Q1": QuarterTargets(acsc_isr=254.6, falls_dsr=219.95, discharge_pct=95.1,
                                         residential_people=79, reablement_people=95, reablement_at_home=81),
            "2023-24-Q2": QuarterTargets(acsc_isr=260.1, falls_dsr=219.95, discharge_pct=95.35,
                                         residential_people=112, reablement_people=199, reablement_at_home=166),
        },
        plans=plans,
    )]


def write_demo(root: Path) -> dict[str, list[Path]]:
    return generate(root, [Period.parse("2023-24-Q1"), Period.parse("2023-24-Q2")], demo_profiles(), seed=2023)


# ---------------------------------------------------------------- population


def _spread(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(np.int64)
    short = total - int(out.sum())
    if short:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def population_by_age(p: HwbProfile) -> dict[str, np.ndarray]:
    """Single years 0..90 (90 = 90+) by sex; the all-ages and 65+ totals are exact."""
    young_w = np.array([0.95 if a < 18 else 1.0 if a < 30 else 1.05 if a < 50 else 1.1 for a in range(65)])
    old_w = np.exp(-0.075 * np.arange(25))
    old_w = np.append(old_w, np.exp(-0.075 * np.arange(25, 36)).sum())  # 90+
    young = _spread(p.total_population - p.population_65_plus, young_w)
    old = _spread(p.population_65_plus, old_w)
    persons = np.concatenate([young, old])
    ages = np.arange(91)
    male_share = np.where(ages < 65, 0.495, np.where(ages < 80, 0.47, 0.40))
    males = np.round(persons * male_share).astype(np.int64)
    return {"M": males, "F": persons - males}


def band_population(pop: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """19 five-year bands (0-4 ... 90+) by sex."""
    idx = np.minimum(np.arange(91) // 5, 18)
    return {s: np.bincount(idx, weights=v, minlength=19) for s, v in pop.items()}


def _population_frame(p: HwbProfile) -> pd.DataFrame:
    pop = population_by_age(p)
    rows = []
    for sex in ("M", "F"):
        row: dict[str, object] = {"code": p.code, "name": p.name, "geography": p.geography, "sex": sex,
                                  "mid_year": p.mid_year, "all_ages": int(pop[sex].sum())}
        row.update({str(a): int(pop[sex][a]) for a in range(90)})
        row["90+"] = int(pop[sex][90])
        rows.append(row)
    return pd.DataFrame(rows, columns=POPULATION.column_names)


def _england_reference() -> tuple[dict[str, np.ndarray], float]:
    """Annual England ACSC rates by band and sex, and the all-England crude rate per person-year."""
    with open(REFERENCE / "england_acsc_reference.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rates = {s: np.array([float(r["admissions"]) / float(r["population"]) for r in rows if r["sex"] == s])
             for s in ("M", "F")}
    crude = sum(float(r["admissions"]) for r in rows) / sum(float(r["population"]) for r in rows)
    return rates, crude


# ---------------------------------------------------------------- records


def _ages_in_bands(rng: np.random.Generator, band_idx: np.ndarray) -> np.ndarray:
    low = band_idx * 5
    width = np.where(band_idx == 18, 11, 5)  # 90+ spans 90-100
    return low + (rng.random(len(band_idx)) * width).astype(np.int64)


def _dates(rng: np.random.Generator, period: Period, n: int) -> np.ndarray:
    days = (period.end - period.start).days + 1
    return np.datetime64(period.start) + rng.integers(0, days, n).astype("timedelta64[D]")


def _ids(prefix: str, n: int, start: int = 0) -> pd.Series:
    return prefix + pd.Series(np.arange(start, start + n)).astype(str).str.zfill(7)


def _persons(rng: np.random.Generator, code: str, n: int) -> pd.Series:
    return "P" + code[-4:] + pd.Series(rng.integers(0, 10**9, n)).astype(str).str.zfill(9)


def _spells_for_quarter(rng: np.random.Generator, p: HwbProfile, period: Period, t: QuarterTargets,
                        bands: dict[str, np.ndarray]) -> pd.DataFrame:
    """Spells admitted in the quarter (their discharge may fall after it)."""
    rates, crude = _england_reference()
    # Avoidable admissions: O = ISR / reference rate x E, allocated to strata by expected count.
    expected = {s: rates[s] * bands[s] * 0.25 for s in ("M", "F")}
    e_total = sum(float(v.sum()) for v in expected.values())
    observed = round(t.acsc_isr / (crude * 0.25 * 100_000) * e_total)
    strata = _spread(observed, np.concatenate([expected["M"], expected["F"]]))
    acsc_band = np.repeat(np.tile(np.arange(19), 2), strata)
    acsc_sex = np.repeat(np.array(["M"] * 19 + ["F"] * 19), strata)
    n_a = len(acsc_band)
    acsc = pd.DataFrame({
        "age_at_admission": _ages_in_bands(rng, acsc_band), "sex": acsc_sex,
        "admission_method": rng.choice(EMERGENCY_METHODS, n_a),
        "primary_diagnosis": rng.choice(ACSC_CODES, n_a),
        "secondary_diagnoses": rng.choice(["", *SECONDARY], n_a),
    })
    # Falls 65+: events per band from the target quarterly DSR and a fixed age shape.
    pop65 = bands["M"][13:] + bands["F"][13:]
    k = t.falls_dsr / 100_000 * ESP_65.sum() / float((FALLS_SHAPE * ESP_65).sum())
    falls_n = np.round(k * FALLS_SHAPE * pop65).astype(np.int64)
    f_band = np.repeat(np.arange(13, 19), falls_n)
    n_f = len(f_band)
    falls = pd.DataFrame({
        "age_at_admission": _ages_in_bands(rng, f_band), "sex": rng.choice(["M", "F"], n_f, p=[0.38, 0.62]),
        "admission_method": rng.choice(EMERGENCY_METHODS, n_f),
        "primary_diagnosis": rng.choice(INJURY, n_f),
        "secondary_diagnoses": pd.Series(rng.choice(FALL_CAUSES, n_f)) + pd.Series(
            rng.choice(["", ";I10", ";F03", ";E119"], n_f)),
    })
    # Everything else: other emergencies, electives, transfers, injuries that are not falls, young falls.
    n_o = round(p.total_population / 1000 * p.other_spells_per_1000)
    kind = rng.choice(["emergency", "elective", "transfer", "injury", "young_fall", "maternity"], n_o,
                      p=[0.50, 0.36, 0.02, 0.05, 0.04, 0.03])
    is_ = {k: kind == k for k in ("elective", "transfer", "injury", "young_fall", "maternity")}
    injury_like = is_["injury"] | is_["young_fall"]
    method = np.select([is_["elective"], is_["transfer"], is_["maternity"]],
                       [rng.choice(["11", "12", "13"], n_o), "2B", rng.choice(["31", "32"], n_o)],
                       rng.choice(EMERGENCY_METHODS, n_o))
    primary = np.select([is_["elective"], is_["transfer"], injury_like, is_["maternity"]],
                        [rng.choice(ELECTIVE, n_o), rng.choice(ACSC_CODES, n_o), rng.choice(INJURY, n_o), "O800"],
                        rng.choice(OTHER_EMERGENCY, n_o))
    secondary = np.select([is_["injury"], is_["young_fall"]],
                          [rng.choice(OTHER_CAUSES, n_o), rng.choice(FALL_CAUSES, n_o)],
                          rng.choice(["", *SECONDARY], n_o))
    ages = np.select([is_["young_fall"], is_["maternity"]], [rng.integers(18, 65, n_o), rng.integers(18, 45, n_o)],
                     rng.integers(0, 96, n_o))
    other = pd.DataFrame({
        "age_at_admission": ages, "sex": np.where(is_["maternity"], "F", rng.choice(["M", "F"], n_o)),
        "admission_method": method, "primary_diagnosis": primary, "secondary_diagnoses": secondary,
    })
    spells = pd.concat([acsc, falls, other], ignore_index=True)
    n = len(spells)
    spells["admission_date"] = _dates(rng, period, n)
    los = np.minimum(rng.geometric(0.18, n) - 1, 80)
    spells["discharge_date"] = spells["admission_date"] + pd.to_timedelta(los, unit="D")
    spells["person_id"] = _persons(rng, p.code, n)
    spells["spell_id"] = _ids(f"S{period.fy_start % 100:02d}{period.quarter}{p.code[-4:]}", n)
    spells["hwb_code"] = p.code
    return spells.sample(frac=1.0, random_state=int(rng.integers(0, 2**31))).reset_index(drop=True)


def _assign_destinations(rng: np.random.Generator, frame: pd.DataFrame, pct: float) -> pd.Series:
    """Destinations for spells discharged in the quarter: exactly ``pct`` % of counted discharges to 19."""
    n = len(frame)
    excluded = rng.random(n) < 0.02  # died (79) or not known (99): outside the denominator
    dest = np.where(rng.random(n) < 0.75, "79", "99").astype(object)
    counted = np.flatnonzero(~excluded)
    n_usual = round(pct / 100 * len(counted))
    chosen = rng.permutation(counted)
    dest[chosen[:n_usual]] = "19"
    dest[chosen[n_usual:]] = rng.choice(NON_USUAL, len(counted) - n_usual)
    return pd.Series(dest, index=frame.index)


def _reablement(rng: np.random.Generator, p: HwbProfile, period: Period, t: QuarterTargets) -> pd.DataFrame:
    people = t.reablement_people if t.reablement_people is not None else round(p.population_65_plus * 0.0022)
    at_home = t.reablement_at_home if t.reablement_at_home is not None else round(people * 0.82)
    others = people - at_home
    extra_unknown = max(1, round(people * 0.03))
    extra_young = max(1, round(people * 0.05))
    status = np.concatenate([np.full(at_home, "at_home"),
                             rng.choice(["care_home", "hospital", "died"], others, p=[0.35, 0.35, 0.30]),
                             np.full(extra_unknown, "unknown"),
                             rng.choice(["at_home", "died"], extra_young)])
    n = len(status)
    age = np.concatenate([rng.integers(65, 99, people + extra_unknown), rng.integers(40, 65, extra_young)])
    discharge = _dates(rng, period, n)
    frame = pd.DataFrame({
        "episode_id": _ids(f"R{period.fy_start % 100:02d}{period.quarter}{p.code[-4:]}", n),
        "person_id": _persons(rng, p.code, n), "age": age,
        "hospital_discharge_date": discharge,
        "service_start_date": discharge + pd.to_timedelta(rng.integers(0, 4, n), unit="D"),
        "status_91_days": status, "hwb_code": p.code,
    })
    return frame.sample(frac=1.0, random_state=int(rng.integers(0, 2**31))).reset_index(drop=True)


def _care_homes(rng: np.random.Generator, p: HwbProfile, period: Period, t: QuarterTargets,
                earlier: pd.DataFrame | None) -> pd.DataFrame:
    people = t.residential_people if t.residential_people is not None else round(p.population_65_plus * 0.0014)
    young = max(1, round(people * 0.08))
    persons = _persons(rng, p.code, people + young)
    ages = np.concatenate([rng.integers(65, 101, people), rng.integers(18, 65, young)])
    if earlier is not None and len(earlier):  # a few people re-admitted: counted once in the year
        again = earlier[earlier["age"] >= 65].head(2)
        persons = pd.concat([persons, again["person_id"]], ignore_index=True)
        ages = np.concatenate([ages, again["age"].to_numpy()])
    n = len(persons)
    return pd.DataFrame({
        "admission_id": _ids(f"C{period.fy_start % 100:02d}{period.quarter}{p.code[-4:]}", n),
        "person_id": persons, "age": ages, "admission_date": _dates(rng, period, n),
        "setting": rng.choice(["residential", "nursing"], n, p=[0.6, 0.4]), "hwb_code": p.code,
    })


def _plans(p: HwbProfile, period: Period) -> pd.DataFrame:
    defaults: dict[tuple[str, str], float] = {("avoidable_admissions", q): 240.0 for q in ("Q1", "Q2", "Q3", "Q4")}
    defaults |= {("discharge_usual_residence", q): 92.0 for q in ("Q1", "Q2", "Q3", "Q4")}
    defaults |= {("falls_65_plus", "YE"): 2000.0, ("residential_admissions_65_plus", "YE"): 560.0,
                 ("reablement_91_days", "YE"): 82.0}
    plans = {**defaults, **p.plans}
    return pd.DataFrame([
        {"hwb_code": p.code, "metric_id": m, "financial_year": period.financial_year, "quarter": q,
         "plan_value": v} for (m, q), v in sorted(plans.items())
    ], columns=PLANS.column_names)


# ---------------------------------------------------------------- writing


def _write(frame: pd.DataFrame, extract: Extract, path: Path) -> Path:
    out = frame[extract.column_names].copy()
    for c in extract.columns:
        if c.dtype == "DATE":
            out[c.name] = pd.to_datetime(out[c.name]).dt.strftime("%Y-%m-%d")
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, lineterminator="\n", na_rep="")
    return path


def generate(out_dir: Path, periods: Sequence[Period], hwbs: Sequence[HwbProfile],
             seed: int = 2023) -> dict[str, list[Path]]:
    """Write ``out_dir/<period>/<extract>.csv`` for every BCF extract, HWB and period."""
    rng = np.random.default_rng(seed)
    periods = sorted(periods)
    frames: dict[str, dict[str, list[pd.DataFrame]]] = {p.label: {} for p in periods}
    for hwb in hwbs:
        bands = band_population(population_by_age(hwb))
        carried: pd.DataFrame | None = None
        care_before: pd.DataFrame | None = None
        for period in periods:
            t = hwb.targets_for(period)
            spells = _spells_for_quarter(rng, hwb, period, t, bands)
            ends_later = spells["discharge_date"] > pd.Timestamp(period.end)
            if carried is not None:  # spells open at the last quarter's end, now with their discharge
                spells = pd.concat([carried, spells], ignore_index=True)
                ends_later = spells["discharge_date"] > pd.Timestamp(period.end)
            ended = ~ends_later
            spells["discharge_destination"] = None
            spells.loc[ended, "discharge_destination"] = _assign_destinations(
                rng, spells.loc[ended], t.discharge_pct)
            delivered = spells.copy()
            delivered.loc[ends_later, "discharge_date"] = pd.NaT
            delivered.loc[ends_later, "discharge_destination"] = None
            carried = spells.loc[ends_later].drop(columns="discharge_destination")
            care = _care_homes(rng, hwb, period, t, care_before if period.quarter > 1 else None)
            care_before = care if care_before is None else pd.concat([care_before, care], ignore_index=True)
            if period.quarter == 4:
                care_before = None
            bucket = frames[period.label]
            bucket.setdefault("apc_spells", []).append(delivered)
            bucket.setdefault("reablement_episodes", []).append(_reablement(rng, hwb, period, t))
            bucket.setdefault("care_home_admissions", []).append(care)
            bucket.setdefault("population", []).append(_population_frame(hwb))
            bucket.setdefault("plans", []).append(_plans(hwb, period))
    written: dict[str, list[Path]] = {}
    for period in periods:
        for extract in (APC_SPELLS, REABLEMENT, CARE_HOME_ADMISSIONS, POPULATION, PLANS):
            frame = pd.concat(frames[period.label][extract.name], ignore_index=True)
            path = _write(frame, extract, out_dir / period.label / extract.filename)
            written.setdefault(period.label, []).append(path)
    return written
