"""The safeguarding generator: repeatable, consistent across quarters, near its intended rates.

Rates are checked on the raw CSVs with numpy (independently of the SQL measures) on the shipped demo
(both Northamptonshire councils, four quarters); tolerances are a few percentage points, wide enough
for the sampling noise of a few thousand records and narrow enough to catch a wrong rate.
"""

from __future__ import annotations

import filecmp
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.contracts import ASSESSMENTS, CONTACTS, CP_PLANS, MISSING_EPISODES, SAFEGUARDING_EXTRACTS
from metrics.core.periods import Period
from metrics.core.reference import england_bank_holidays
from metrics.synthetic import safeguarding as sg

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
DEMO = [Period.parse(p) for p in sg.DEMO_PERIODS]


def _read(period: Period, filename: str) -> pd.DataFrame:
    return pd.read_csv(RAW / period.label / filename, dtype=str, keep_default_na=False)


def test_shipped_demo_is_what_the_generator_writes(tmp_path: Path) -> None:
    sg.write_demo(tmp_path)
    for p in DEMO:
        for e in SAFEGUARDING_EXTRACTS:
            assert filecmp.cmp(tmp_path / p.label / e.filename, RAW / p.label / e.filename, shallow=False), (
                f"{p.label}/{e.filename} differs: run `uv run scorecard demo-data`"
            )


def test_same_seed_same_bytes_and_authorities_independent(tmp_path: Path) -> None:
    periods = [Period.parse("2024-25-Q1")]
    one = sg.LaProfile("E06000061", 20_000)
    sg.generate(tmp_path / "a", periods, [one], seed=7)
    sg.generate(tmp_path / "b", periods, [one], seed=7)
    sg.generate(tmp_path / "c", periods, [one, sg.LaProfile("E06000062", 30_000)], seed=7)
    sg.generate(tmp_path / "d", periods, [one], seed=8)
    f = "2024-25-Q1/" + CONTACTS.filename
    assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert (tmp_path / "a" / f).read_bytes() != (tmp_path / "d" / f).read_bytes()
    # Adding an authority leaves the first one's records as they were (one random stream each).
    mine = pd.read_csv(tmp_path / "c" / f, dtype=str)
    assert mine[mine.la_code == "E06000061"].reset_index(drop=True).equals(pd.read_csv(tmp_path / "a" / f, dtype=str))


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hwb_codes"):
        sg.generate(tmp_path, [DEMO[0]], [sg.LaProfile("E99999999", 100)])
    with pytest.raises(ValueError, match="at least one"):
        sg.generate(tmp_path, [], [sg.LaProfile("E06000061", 100)])


def test_records_open_at_a_quarter_end_are_delivered_again_with_the_same_id() -> None:
    for earlier, later in itertools.pairwise(DEMO):
        before = _read(earlier, CP_PLANS.filename).set_index("plan_id")
        after = _read(later, CP_PLANS.filename).set_index("plan_id")
        still_open = before[before.end_date == ""]
        assert len(still_open) > 100
        assert set(still_open.index) <= set(after.index)  # every open plan comes again
        again = after.loc[still_open.index]
        assert (again.start_date == still_open.start_date).all()
        assert (again.initial_category == still_open.initial_category).all()
        closed = again[again.end_date != ""]
        assert (closed.end_date >= later.start.isoformat()).all()  # closed within the later quarter
        open_a = _read(earlier, ASSESSMENTS.filename)
        open_a = open_a[open_a.authorisation_date == ""].assessment_id
        assert set(open_a) <= set(_read(later, ASSESSMENTS.filename).assessment_id)


def test_rates_are_near_their_intended_values() -> None:
    holidays = np.array([d for d, _ in england_bank_holidays(2020, 2025)], dtype="datetime64[D]")
    refs = pd.concat([_read(p, CONTACTS.filename) for p in DEMO])
    refs = refs[refs.outcome == "referral"]
    ref_day = refs.referral_date.to_numpy(dtype="datetime64[D]")
    prev = refs.previous_referral_date.replace("", None).to_numpy(dtype="datetime64[D]")
    within_year = (prev >= ref_day - np.timedelta64(365, "D")) & (prev < ref_day)
    assert within_year.mean() == pytest.approx(sg.RE_REFERRAL_SHARE, abs=0.02)

    done = pd.concat([_read(p, ASSESSMENTS.filename) for p in DEMO])
    done = done[done.authorisation_date != ""]
    days = np.busday_count(
        done.referral_date.to_numpy(dtype="datetime64[D]") + 1,
        done.authorisation_date.to_numpy(dtype="datetime64[D]") + 1,
        holidays=holidays,
    )
    assert (days <= 45).mean() == pytest.approx(sg.WITHIN_45_DAYS_SHARE, abs=0.02)

    missing = pd.concat([_read(p, MISSING_EPISODES.filename) for p in DEMO])
    back = pd.to_datetime(missing.returned_at)
    rhi = pd.to_datetime(missing.rhi_completed_at.replace("", None))
    assert ((rhi - back) <= pd.Timedelta(hours=72)).mean() == pytest.approx(0.80, abs=0.03)  # seed figure 80%

    plans = _read(DEMO[-1], CP_PLANS.filename)
    end = DEMO[-1].end.isoformat()
    on_plan = plans[(plans.start_date <= end) & (plans.end_date == "")]
    children = {la.code: la.children for la in sg.demo_profiles()}
    for code, n in children.items():
        rate = on_plan[on_plan.la_code == code].child_id.nunique() / n * 10_000
        assert 35 <= rate <= 55, (code, rate)  # England about 40-45 per 10,000
