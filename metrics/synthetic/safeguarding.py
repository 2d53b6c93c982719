"""Seeded synthetic children's social care extracts for the safeguarding scorecard.

Each local authority's records are simulated once on a continuous timeline
(referrals, assessments, child protection plans, care episodes, missing
episodes) and each quarter's files are cut from it the way a case
management system would extract them: events dated in the quarter, and
plans, episodes and assessments open at any time in it (re-delivered, with
their end dates once known). So re-deliveries agree across quarters and the
rolling-year and year-to-date figures are consistent. Rates are set from
England figures (domain.md 5.2) and the Northamptonshire partnership report.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metrics.contracts import (
    ASSESSMENTS,
    CHILD_POPULATION,
    CLA_EPISODES,
    CONTACTS,
    CP_PLANS,
    MISSING_EPISODES,
    TARGETS,
    Extract,
)
from metrics.core.paths import REFERENCE
from metrics.core.periods import Period
from metrics.core.provenance import write_marker
from metrics.core.reference import england_bank_holidays
from metrics.core.registry import metrics_for

GENERATOR = "metrics.synthetic.safeguarding"  # named in each folder's SYNTHETIC_DATA.json

IntArray = NDArray[np.int64]

# Per 10,000 children aged 0-17 per year unless said (England: DfE CIN 2024/2025, CLA 2024).
REFERRALS_PER_10K = 520.0
CONTACTS_PER_REFERRAL = 3.5
CP_STARTS_PER_10K = 52.0
CLA_STARTS_PER_10K = 28.0
MISSING_EPISODES_PER_10K = 120.0  # per year; Northamptonshire's volumes are not published
ASSESSED_SHARE = 0.9
RE_REFERRAL_SHARE = 0.22
OLDER_REFERRAL_SHARE = 0.15
WITHIN_45_DAYS_SHARE = 0.855
RHI_OFFERED, RHI_COMPLETED_IF_OFFERED, RHI_IN_72H_IF_COMPLETED = 0.93, 0.9, 0.955  # ~80% within 72h
SECOND_PLAN_SHARE, THIRD_PLAN_SHARE = 0.16, 0.05
# DfE A6 (2020) initial categories and D7 (2025) durations of plans ending.
CATEGORIES = {"neglect": 0.505, "emotional": 0.357, "physical": 0.074, "sexual": 0.038, "multiple": 0.026}
DURATION_BANDS_DAYS = ((14, 91, 0.159), (92, 182, 0.11), (183, 364, 0.435), (365, 729, 0.252), (731, 1100, 0.044))
SOURCES = {
    "police": 0.29,
    "school": 0.2,
    "health": 0.15,
    "la_services": 0.1,
    "individual": 0.08,
    "other": 0.13,
    "unknown": 0.05,
}
OTHER_OUTCOMES = {"early_help": 0.35, "nfa": 0.4, "information_advice": 0.25}
# SSDA903 legal status at the episode's start (metrics.contracts.safeguarding.SSDA903_LEGAL_STATUSES). A few
# episodes are short-term breaks (V3, V4), which the headline children-looked-after count leaves out.
LEGAL_STATUSES = {"C2": 0.55, "V2": 0.2, "C1": 0.12, "E1": 0.08, "J2": 0.05, "V3": 0.03, "V4": 0.01}

# Demo targets (target, amber tolerance) in each measure's unit; chosen to show Green, Amber and Red.
DEMO_TARGETS: dict[str, tuple[float, float]] = {
    "re_referrals": (20.0, 3.0),
    "assessments_45_days": (88.0, 4.0),
    "cp_second_subsequent": (18.0, 3.0),
    "cp_ended_2y_plus": (5.0, 2.0),
    "rhi_72h": (85.0, 3.0),
}


@dataclass(frozen=True)
class LaProfile:
    """One local authority: its ONS code and children aged 0-17."""

    code: str
    children: int
    cla_per_10k: float = 75.0


def demo_profiles() -> list[LaProfile]:
    """Northamptonshire: about 748,000 residents, 44% North and 56% West, about 25% children."""
    return [LaProfile("E06000061", 82_300, 78.0), LaProfile("E06000062", 104_700, 72.0)]


DEMO_PERIODS = ("2022-23-Q3", "2022-23-Q4", "2023-24-Q1", "2023-24-Q2")


def write_demo(root: Path) -> dict[str, list[Path]]:
    """The shipped safeguarding demo: both Northamptonshire councils, the rolling year to 2023-24 Q2."""
    return generate(root, [Period.parse(p) for p in DEMO_PERIODS], demo_profiles(), seed=2022)


@cache
def _la_names() -> dict[str, str]:
    with open(REFERENCE / "hwb_codes.csv", newline="", encoding="utf-8") as fh:
        return {r["code"]: r["name"] for r in csv.DictReader(fh)}


def _bank_holidays(first_year: int, last_year: int) -> NDArray[Any]:
    """England and Wales bank holidays (the warehouse calendar's, from the ``holidays`` package)."""
    return np.array([d for d, _ in england_bank_holidays(first_year, last_year)], dtype="datetime64[D]")


def _rng(seed: int, code: str) -> np.random.Generator:
    """One stream per authority, so adding an authority does not change another's records."""
    digest = hashlib.sha256(f"{seed}:{code}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _ids(prefix: str, code: str, n: int) -> NDArray[Any]:
    return np.array([f"{prefix}{code[-4:]}{i:07d}" for i in range(1, n + 1)], dtype=object)


def _days(rng: np.random.Generator, start: dt.date, end: dt.date, n: int) -> NDArray[Any]:
    span = (end - start).days + 1
    return np.datetime64(start, "D") + rng.integers(0, span, n).astype("timedelta64[D]")


def _pick(rng: np.random.Generator, table: Mapping[str, float], n: int) -> NDArray[Any]:
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _child_ids(rng: np.random.Generator, code: str, pool: int, n: int) -> NDArray[Any]:
    """Pseudonymised children drawn from the authority's pool (so children recur across records)."""
    k = rng.integers(0, pool, n)
    return np.array([f"K{code[-4:]}{hashlib.sha256(f'{code}:{i}'.encode()).hexdigest()[:12]}" for i in k], dtype=object)


def _minutes(rng: np.random.Generator, days: NDArray[Any]) -> NDArray[Any]:
    return days.astype("datetime64[m]") + rng.integers(0, 24 * 60, len(days)).astype("timedelta64[m]")


def _fmt_ts(ts: NDArray[Any]) -> NDArray[Any]:
    out = np.datetime_as_string(ts.astype("datetime64[m]"), unit="m").astype(object)
    return np.array([None if s == "NaT" else s.replace("T", " ") for s in out], dtype=object)


def _fmt_d(d: NDArray[Any]) -> NDArray[Any]:
    out = np.datetime_as_string(d.astype("datetime64[D]"), unit="D").astype(object)
    return np.array([None if s == "NaT" else s for s in out], dtype=object)


@dataclass
class _Timeline:
    """Every record of one authority over the simulated years."""

    contacts: pd.DataFrame
    assessments: pd.DataFrame
    plans: pd.DataFrame
    cla: pd.DataFrame
    missing: pd.DataFrame


def _simulate(p: LaProfile, first: Period, last: Period, seed: int) -> _Timeline:
    rng = _rng(seed, p.code)
    per_year = p.children / 10_000
    pool = max(p.children // 4, 100)
    start, end = first.start - dt.timedelta(days=365), last.end
    years = ((end - start).days + 1) / 365.25

    # Contacts and referrals.
    n_ref = rng.poisson(REFERRALS_PER_10K * per_year * years)
    n_con = n_ref + rng.poisson((CONTACTS_PER_REFERRAL - 1) * REFERRALS_PER_10K * per_year * years)
    contact_day = np.sort(_days(rng, start, end, n_con))
    is_ref = np.zeros(n_con, dtype=bool)
    is_ref[rng.choice(n_con, n_ref, replace=False)] = True
    outcome = np.where(is_ref, "referral", _pick(rng, OTHER_OUTCOMES, n_con)).astype(object)
    prev_gap = np.where(
        rng.random(n_con) < RE_REFERRAL_SHARE,
        rng.integers(7, 365, n_con),
        np.where(
            rng.random(n_con) < OLDER_REFERRAL_SHARE / (1 - RE_REFERRAL_SHARE), rng.integers(367, 2500, n_con), -1
        ),
    )
    prev = np.where(prev_gap > 0, contact_day - prev_gap.astype("timedelta64[D]"), np.datetime64("NaT"))
    contacts = pd.DataFrame(
        {
            "contact_id": _ids("C", p.code, n_con),
            "child_id": _child_ids(rng, p.code, pool, n_con),
            "contact_date": contact_day,
            "source": _pick(rng, SOURCES, n_con),
            "outcome": outcome,
            "referral_date": np.where(is_ref, contact_day, np.datetime64("NaT")),
            "previous_referral_date": prev,
            "la_code": p.code,
        }
    )

    # Assessments: most referrals, timed in working days from the referral.
    refs = contacts[is_ref]
    assessed = refs[rng.random(len(refs)) < ASSESSED_SHARE]
    holidays = _bank_holidays(start.year, end.year + 1)  # authorisations run up to 90 working days past the end
    ref_day = assessed["contact_date"].to_numpy().astype("datetime64[D]")
    start_wd = rng.integers(0, 4, len(assessed))
    quick = rng.random(len(assessed)) < WITHIN_45_DAYS_SHARE
    length = np.where(quick, rng.integers(max(1, 0), 46, len(assessed)), rng.integers(46, 90, len(assessed)))
    length = np.maximum(length, start_wd)
    start_day = np.busday_offset(ref_day, start_wd, roll="forward", holidays=holidays)
    auth_day = np.busday_offset(ref_day, length, roll="forward", holidays=holidays)
    assessments = pd.DataFrame(
        {
            "assessment_id": _ids("A", p.code, len(assessed)),
            "child_id": assessed["child_id"].to_numpy(),
            "referral_date": ref_day,
            "start_date": start_day,
            "authorisation_date": auth_day,
            "la_code": p.code,
        }
    )

    # Child protection plans, from four years back so long plans are in progress and ending.
    plan_start0 = first.start - dt.timedelta(days=4 * 365)
    n_plans = rng.poisson(CP_STARTS_PER_10K * per_year * ((end - plan_start0).days + 1) / 365.25)
    band = rng.choice(len(DURATION_BANDS_DAYS), n_plans, p=[b[2] for b in DURATION_BANDS_DAYS])
    lo = np.array([b[0] for b in DURATION_BANDS_DAYS])[band]
    hi = np.array([b[1] for b in DURATION_BANDS_DAYS])[band]
    plan_start = np.sort(_days(rng, plan_start0, end, n_plans))
    plan_end = plan_start + rng.integers(lo, hi + 1).astype("timedelta64[D]")
    seq = np.where(rng.random(n_plans) < SECOND_PLAN_SHARE, 2, 1)
    seq = np.where(rng.random(n_plans) < THIRD_PLAN_SHARE, 3, seq)
    plans = pd.DataFrame(
        {
            "plan_id": _ids("CP", p.code, n_plans),
            "child_id": _child_ids(rng, p.code, pool, n_plans),
            "start_date": plan_start,
            "end_date": plan_end,
            "initial_category": _pick(rng, CATEGORIES, n_plans),
            "plan_sequence": seq,
            "la_code": p.code,
        }
    )

    # Looked-after episodes: a steady state of about cla_per_10k, with long stays started years ago.
    mean_years = p.cla_per_10k / CLA_STARTS_PER_10K
    cla_start0 = first.start - dt.timedelta(days=18 * 365)
    n_cla = rng.poisson(CLA_STARTS_PER_10K * per_year * ((end - cla_start0).days + 1) / 365.25)
    cla_start = np.sort(_days(rng, cla_start0, end, n_cla))
    stay = np.minimum(rng.exponential(mean_years * 365.25, n_cla), 18 * 365).astype(np.int64) + 1
    cla = pd.DataFrame(
        {
            "episode_id": _ids("LA", p.code, n_cla),
            "child_id": _child_ids(rng, p.code, pool, n_cla),
            "start_date": cla_start,
            "end_date": cla_start + stay.astype("timedelta64[D]"),
            "legal_status": _pick(rng, LEGAL_STATUSES, n_cla),
            "la_code": p.code,
        }
    )

    # Missing episodes with return home interviews.
    n_mis = rng.poisson(MISSING_EPISODES_PER_10K * per_year * years)
    returned = np.sort(_minutes(rng, _days(rng, start, end, n_mis)))
    away = np.maximum(rng.lognormal(np.log(12 * 60), 1.0, n_mis), 30).astype(np.int64)
    offered = rng.random(n_mis) < RHI_OFFERED
    completed = offered & (rng.random(n_mis) < RHI_COMPLETED_IF_OFFERED)
    in_72 = rng.random(n_mis) < RHI_IN_72H_IF_COMPLETED
    delay = np.where(in_72, rng.integers(60, 72 * 60, n_mis), rng.integers(72 * 60 + 1, 14 * 24 * 60, n_mis))
    offer_delay = np.minimum(rng.integers(30, 48 * 60, n_mis), delay)
    nat = np.datetime64("NaT", "m")
    missing = pd.DataFrame(
        {
            "missing_id": _ids("M", p.code, n_mis),
            "child_id": _child_ids(rng, p.code, pool, n_mis),
            "looked_after": np.where(rng.random(n_mis) < 0.6, "Y", "N"),
            "missing_from": returned - away.astype("timedelta64[m]"),
            "returned_at": returned,
            "rhi_offered_at": np.where(offered, returned + offer_delay.astype("timedelta64[m]"), nat),
            "rhi_completed_at": np.where(completed, returned + delay.astype("timedelta64[m]"), nat),
            "la_code": p.code,
        }
    )
    return _Timeline(contacts, assessments, plans, cla, missing)


def _open_in(frame: pd.DataFrame, start_col: str, end_col: str, period: Period) -> pd.DataFrame:
    """Records open at any time in the quarter; an end after the quarter is not yet known (blank)."""
    s, e = np.datetime64(period.start), np.datetime64(period.end)
    begins = frame[start_col].to_numpy().astype("datetime64[D]")
    ends = frame[end_col].to_numpy().astype("datetime64[D]")
    out = frame[(begins <= e) & (ends >= s)].copy()
    out[end_col] = np.where(
        out[end_col].to_numpy().astype("datetime64[D]") > e,
        np.datetime64("NaT"),
        out[end_col].to_numpy().astype("datetime64[D]"),
    )
    return out


def _in(frame: pd.DataFrame, col: str, period: Period) -> pd.DataFrame:
    d = frame[col].to_numpy().astype("datetime64[D]")
    return frame[(d >= np.datetime64(period.start)) & (d <= np.datetime64(period.end))].copy()


def _population(p: LaProfile, period: Period, rng: np.random.Generator) -> pd.DataFrame:
    weights = 1.0 + 0.04 * np.sin(np.arange(18) / 3.0) + rng.uniform(-0.01, 0.01, 18)
    counts = np.floor(p.children * weights / weights.sum()).astype(np.int64)
    counts[0] += p.children - int(counts.sum())
    return pd.DataFrame(
        {
            "code": p.code,
            "name": _la_names().get(p.code, p.code),
            "mid_year": period.fy_start - 1,
            "age": np.arange(18),
            "population": counts,
        }
    )


def _targets(codes: Sequence[str], period: Period, targets: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    ids = [m.id for m in metrics_for("safeguarding") if m.polarity != "neutral" and m.id in targets]
    rows = [
        {
            "la_code": c,
            "metric_id": i,
            "financial_year": period.financial_year,
            "target": targets[i][0],
            "amber_tolerance": targets[i][1],
        }
        for c in codes
        for i in ids
    ]
    return pd.DataFrame(rows, columns=TARGETS.column_names)


def _write(frame: pd.DataFrame, extract: Extract, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame[extract.column_names].copy()
    for c in extract.columns:
        col = out[c.name].to_numpy()
        if c.dtype == "DATE" and np.issubdtype(col.dtype, np.datetime64):
            out[c.name] = _fmt_d(col)
        elif c.dtype == "TIMESTAMP" and np.issubdtype(col.dtype, np.datetime64):
            out[c.name] = _fmt_ts(col)
    out.to_csv(path, index=False, lineterminator="\n")
    return path


def generate(
    out_dir: Path,
    periods: Sequence[Period],
    las: Sequence[LaProfile],
    seed: int = 2022,
    targets: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, list[Path]]:
    """Write ``out_dir/<period>/<file>`` for every safeguarding extract, all ``las`` in each file.

    The output depends only on the arguments; each authority has its own random stream.
    """
    periods = sorted(set(periods))
    if not periods or not las:
        raise ValueError("generate needs at least one period and one local authority")
    codes = [la.code for la in las]
    unknown = set(codes) - set(_la_names())
    if len(set(codes)) != len(codes) or unknown:
        raise ValueError(f"local authority codes must be distinct and in metrics/reference/hwb_codes.csv: {codes}")
    timelines = {la.code: _simulate(la, periods[0], periods[-1], seed) for la in las}
    written: dict[str, list[Path]] = {}
    for period in periods:
        parts: dict[str, list[pd.DataFrame]] = {}
        for la in las:
            t = timelines[la.code]
            add = {
                CONTACTS.name: _in(t.contacts, "contact_date", period),
                ASSESSMENTS.name: _open_in(t.assessments, "start_date", "authorisation_date", period),
                CP_PLANS.name: _open_in(t.plans, "start_date", "end_date", period),
                CLA_EPISODES.name: _open_in(t.cla, "start_date", "end_date", period),
                MISSING_EPISODES.name: _in(t.missing, "returned_at", period),
                CHILD_POPULATION.name: _population(la, period, _rng(seed, f"pop:{la.code}:{period.financial_year}")),
            }
            for name, frame in add.items():
                parts.setdefault(name, []).append(frame)
        parts[TARGETS.name] = [_targets(codes, period, DEMO_TARGETS if targets is None else targets)]
        d = out_dir / period.label
        files = []
        for extract in (CONTACTS, ASSESSMENTS, CP_PLANS, CLA_EPISODES, MISSING_EPISODES, CHILD_POPULATION, TARGETS):
            frame = pd.concat(parts[extract.name], ignore_index=True)
            files.append(_write(frame, extract, d / extract.filename))
        written[period.label] = files
        write_marker(d, files, GENERATOR)  # declared synthetic: every output of a run on them says so
    return written
