"""Each safeguarding measure on a small hand-made extract, against values worked by hand.

Area A (E06000061) carries the cases; area B (E06000062) only keeps every quarter's files non-empty.
Quarters: P1 = 2023-24 Q2 (Jul-Sep 2023), P2 = Q3 (Oct-Dec 2023), P3 = Q4 (Jan-Mar 2024) and
P4 = 2024-25 Q1 (Apr-Jun 2024); the rolling 12 months to P4 is P1..P4, crossing 31 December and the
31 March financial-year end. 2023-24 Q1 is not delivered, so year-to-date views in 2023-24 are blocked.
Children aged 0-17: A 10,000, B 5,000. Ratios are exact; CIs are checked against ``metrics.stats`` on
the hand counts (tolerance 1e-9 relative).
"""

from __future__ import annotations

from typing import Any

import pytest

from metrics.compute import stats
from metrics.compute.run import compute_period
from metrics.compute.status import AMBER, CONTEXT, GREEN, NO_DATA, RED
from metrics.contracts import ASSESSMENTS, CHILD_POPULATION, CLA_EPISODES, CONTACTS, CP_PLANS, MISSING_EPISODES, TARGETS
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.registry import scorecard
from metrics.core.results import MetricResult
from metrics.ingest.run import extracts_of, ingest_periods, periods_to_load
from tests.extract_builders import write_extract

A, B = "E06000061", "E06000062"
P1, P2, P3, P4 = (Period.parse(p) for p in ("2023-24-Q2", "2023-24-Q3", "2023-24-Q4", "2024-25-Q1"))
R = pytest.approx


def _id(short: str) -> str:
    """Ids must be 4-64 characters (contract pattern)."""
    return f"ID-{short}"


def _contact(cid: str, date: str, outcome: str, prev: str | None = None, la: str = A) -> dict[str, Any]:
    return {
        "contact_id": _id(cid),
        "child_id": _id(f"K{cid}"),
        "contact_date": date,
        "source": "police",
        "outcome": outcome,
        "referral_date": date if outcome == "referral" else None,
        "previous_referral_date": prev,
        "la_code": la,
    }


def _assess(aid: str, referral: str, auth: str | None, la: str = A) -> dict[str, Any]:
    return {
        "assessment_id": _id(aid),
        "child_id": _id(f"K{aid}"),
        "referral_date": referral,
        "start_date": referral,
        "authorisation_date": auth,
        "la_code": la,
    }


def _plan(pid: str, child: str, start: str, end: str | None, category: str, seq: int, la: str = A) -> dict[str, Any]:
    return {
        "plan_id": _id(pid),
        "child_id": _id(child),
        "start_date": start,
        "end_date": end,
        "initial_category": category,
        "plan_sequence": seq,
        "la_code": la,
    }


def _cla(eid: str, child: str, start: str, end: str | None, la: str = A) -> dict[str, Any]:
    return {
        "episode_id": _id(eid),
        "child_id": _id(child),
        "start_date": start,
        "end_date": end,
        "legal_status": "C2",
        "la_code": la,
    }


def _missing(mid: str, returned: str, completed: str | None, la: str = A) -> dict[str, Any]:
    return {
        "missing_id": _id(mid),
        "child_id": _id(f"K{mid}"),
        "looked_after": "Y",
        "missing_from": returned[:10] + " 00:00",
        "returned_at": returned,
        "rhi_offered_at": completed,
        "rhi_completed_at": completed,
        "la_code": la,
    }


def _population() -> list[dict[str, Any]]:
    rows = []
    for code, name, total in ((A, "North Northamptonshire", 10_000), (B, "West Northamptonshire", 5_000)):
        each = total // 18
        for age in range(18):
            rows.append(
                {
                    "code": code,
                    "name": name,
                    "mid_year": 2023,
                    "age": age,
                    "population": each + (total - 18 * each if age == 0 else 0),
                }
            )
    return rows


def _targets(fy: str) -> list[dict[str, Any]]:
    t = {
        "re_referrals": (60, 10),
        "rhi_72h": (50, 5),
        "assessments_45_days": (70, 10),
        "cp_ended_2y_plus": (30, 5),
        "cp_second_subsequent": (40, 10),
    }
    return [
        {"la_code": A, "metric_id": k, "financial_year": fy, "target": v[0], "amber_tolerance": v[1]}
        for k, v in t.items()
    ]


# Plans, care episodes and assessments re-delivered each quarter while open ("latest delivery wins").
P1_PLAN = _plan("CP1", "KC1", "2022-05-01", None, "neglect", 1)
P5_PLAN = _plan("CP5", "KC5", "2022-07-01", None, "sexual", 1)
P2_PLAN = _plan("CP2", "KC2", "2023-11-15", None, "emotional", 2)
E1 = _cla("LA1", "KL1", "2010-01-01", None)  # looked after for years: start long before the quarter


def _filler(period: Period) -> dict[str, list[dict[str, Any]]]:
    n = period.label.replace("-", "")
    day = period.start.isoformat()
    return {
        "contacts": [_contact(f"B{n}", day, "nfa", la=B)],
        "assessments": [_assess(f"BA{n}", day, None, la=B)],
        "plans": [_plan(f"BP{n}", f"KB{n}", day, None, "neglect", 1, la=B)],
        "cla": [_cla(f"BL{n}", f"KBL{n}", day, None, la=B)],
        "missing": [_missing(f"BM{n}", f"{day} 12:00", None, la=B)],
    }


QUARTERS: dict[Period, dict[str, list[dict[str, Any]]]] = {
    P1: {
        "contacts": [_contact("C1", "2023-08-10", "referral"), _contact("C2", "2023-09-05", "nfa")],
        # 28 Apr 2023 -> 5 Jul 2023 is 45 working days only because 1, 8 and 29 May are bank
        # holidays (48 weekdays); 6 Jul is 46.
        "assessments": [_assess("A4", "2023-04-28", "2023-07-05"), _assess("A5", "2023-04-28", "2023-07-06")],
        "plans": [P1_PLAN, P5_PLAN],
        "cla": [E1],
        "missing": [_missing("M5", "2023-09-30 23:59", "2023-10-01 09:00")],
    },
    P2: {
        # C3: previous referral exactly 12 months before (22 Dec 2022) -> re-referral;
        # C4: 12 months and 1 day before (27 Dec 2022 for 28 Dec 2023) -> not.
        "contacts": [
            _contact("C3", "2023-12-22", "referral", "2022-12-22"),
            _contact("C4", "2023-12-28", "referral", "2022-12-27"),
            _contact("C5", "2023-11-01", "early_help"),
        ],
        # 2 Oct -> 4 Dec 2023 = 21 (Oct) + 22 (Nov) + 1 Dec + 4 Dec = 45 working days; 5 Dec = 46.
        # A3 (referred 22 Dec) is still open at the quarter end: delivered without an authorisation date.
        "assessments": [
            _assess("A1", "2023-10-02", "2023-12-04"),
            _assess("A2", "2023-10-02", "2023-12-05"),
            _assess("A3", "2023-12-22", None),
        ],
        "plans": [P1_PLAN, P5_PLAN, P2_PLAN],
        "cla": [E1],
        "missing": [],
    },
    P3: {
        # C6: 12 months back from 29 Feb 2024 is 28 Feb 2023 -> re-referral; C7 (31 Mar 2024) had one on
        # 30 Mar 2023, a year and a day -> not.
        "contacts": [
            _contact("C6", "2024-02-29", "referral", "2023-02-28"),
            _contact("C7", "2024-03-31", "referral", "2023-03-30"),
        ],
        # A3 re-delivered, authorised 2 Jan 2024: 27, 28, 29 Dec and 2 Jan = 4 working days
        # (25, 26 Dec and 1 Jan are bank holidays).
        "assessments": [_assess("A3", "2023-12-22", "2024-01-02")],
        "plans": [P1_PLAN, P5_PLAN, P2_PLAN],
        "cla": [E1, _cla("LA2", "KL2", "2024-01-10", None)],
        "missing": [],
    },
    P4: {
        # C8: previous referral the day before, across the financial-year end -> re-referral.
        "contacts": [
            _contact("C8", "2024-04-01", "referral", "2024-03-31"),
            _contact("C9", "2024-05-10", "information_advice"),
        ],
        "assessments": [],
        "plans": [
            _plan("CP1", "KC1", "2022-05-01", "2024-05-01", "neglect", 1),  # exactly 2 years
            _plan("CP5", "KC5", "2022-07-01", "2024-06-29", "sexual", 1),  # 2 years less 2 days
            P2_PLAN,  # still open
            _plan("CP3", "KC3", "2024-04-10", "2024-06-30", "physical", 1),  # ends on the quarter's last day
            _plan("CP4", "KC4", "2024-04-20", None, "neglect", 3),
        ],
        "cla": [E1, _cla("LA2", "KL2", "2024-01-10", "2024-06-30"), _cla("LA3", "KL1", "2024-05-01", None)],
        "missing": [
            _missing("M1", "2024-05-01 10:00", "2024-05-04 10:00"),  # exactly 72 hours
            _missing("M2", "2024-05-02 10:00", "2024-05-05 10:01"),  # 72 hours and a minute
            _missing("M3", "2024-06-30 23:30", None),  # no interview
            _missing("M4", "2024-04-01 00:10", "2024-04-02 00:00"),
        ],
    },
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[MetricResult]:
    root = tmp_path_factory.mktemp("sg")
    raw = root / "raw"
    for period, parts in QUARTERS.items():
        d = raw / period.label
        filler = _filler(period)
        for key, extract in (
            ("contacts", CONTACTS),
            ("assessments", ASSESSMENTS),
            ("plans", CP_PLANS),
            ("cla", CLA_EPISODES),
            ("missing", MISSING_EPISODES),
        ):
            write_extract(d / extract.filename, extract, parts[key] + filler[key])
        write_extract(d / CHILD_POPULATION.filename, CHILD_POPULATION, _population())
        write_extract(d / TARGETS.filename, TARGETS, _targets(period.financial_year))
    paths = RunPaths(raw, root / "w.duckdb", root / "reports")
    extracts = extracts_of(scorecard("safeguarding"))
    periods = periods_to_load(P4, raw, extracts)
    assert periods == [P1, P2, P3, P4]
    loads = ingest_periods(paths, periods, "run", root / "docs", extracts)
    assert [o.summary() for o in loads if o.status != "accepted"] == []
    out: list[MetricResult] = []
    for p in periods:
        out += compute_period(paths, p, [A, B], loads, "run", scorecard("safeguarding"))
    return out


def get(results: list[MetricResult], metric: str, period: Period, view: str = "", area: str = A) -> MetricResult:
    [r] = [
        r
        for r in results
        if r.metric_id == metric and r.period == period.label and r.view == view and r.hwb_code == area
    ]
    return r


def _check_proportion(r: MetricResult, x: int, n: int) -> None:
    e = stats.proportion(x, n)
    assert (r.numerator, r.denominator) == (x, n)
    assert r.value == R(100 * x / n, rel=1e-9)
    assert (r.lower, r.upper) == (R(e.lower, rel=1e-9), R(e.upper, rel=1e-9))


def test_contacts_and_referrals_by_window(results: list[MetricResult]) -> None:
    c = get(results, "contacts", P4)
    assert c.value == 2 and c.denominator is None and c.status == CONTEXT  # C8, C9
    lo, hi, _ = stats.count_limits(2)
    assert (c.lower, c.upper) == (R(lo), R(hi))
    assert get(results, "contacts", P4, "year_to_date").value == 2  # 2024-25 starts in April
    assert get(results, "contacts", P4, "rolling_12_months").value == 9  # C1..C9
    assert get(results, "referrals", P4).value == 1
    assert get(results, "referrals", P4, "rolling_12_months").value == 6  # C1, C3, C4, C6, C7, C8
    _check_proportion(get(results, "referral_conversion", P4, "rolling_12_months"), 6, 9)
    assert get(results, "contacts", P4, area=B).value == 1


def test_re_referral_windows_across_year_ends(results: list[MetricResult]) -> None:
    _check_proportion(get(results, "re_referrals", P2), 1, 2)  # C3 (exactly 12 months) yes, C4 no
    _check_proportion(get(results, "re_referrals", P3), 1, 2)  # C6 (29 Feb -> 28 Feb) yes, C7 no
    _check_proportion(get(results, "re_referrals", P4), 1, 1)  # C8 across 31 March
    _check_proportion(get(results, "re_referrals", P4, "rolling_12_months"), 3, 6)
    # P4 quarter 100% vs target 60 (lower is better), 40 points over a tolerance of 10: Red.
    assert get(results, "re_referrals", P4).status == RED


def test_assessments_in_45_working_days_across_bank_holidays(results: list[MetricResult]) -> None:
    _check_proportion(get(results, "assessments_45_days", P1), 1, 2)  # A4 45 days (May holidays), A5 46
    _check_proportion(get(results, "assessments_45_days", P2), 1, 2)  # A1 45, A2 46; A3 still open
    p3 = get(results, "assessments_45_days", P3)
    _check_proportion(p3, 1, 1)  # A3 re-delivered authorised: 4 working days over Christmas
    assert p3.status == GREEN  # 100 >= 70
    _check_proportion(get(results, "assessments_45_days", P4, "rolling_12_months"), 3, 5)
    blocked = get(results, "assessments_45_days", P3, "year_to_date")
    assert blocked.value is None and blocked.status == NO_DATA
    assert "cs_assessments for 2023-24-Q1 was not delivered" in blocked.note


def test_child_protection_measures(results: list[MetricResult]) -> None:
    rate = get(results, "cp_rate", P4)
    # Open after 30 Jun 2024: CP2 and CP4 (CP3 ends that day, CP1 and CP5 ended earlier): 2 / 10,000.
    assert (rate.numerator, rate.denominator, rate.value) == (2, 10_000, R(2.0))
    e = stats.crude_rate(2, 10_000, multiplier=10_000)
    assert (rate.lower, rate.upper) == (R(e.lower), R(e.upper))
    assert get(results, "cp_rate", P3).numerator == 3  # CP1, CP5, CP2 open at 31 Mar 2024
    # Started in P4: CP3 physical, CP4 neglect (third plan).
    _check_proportion(get(results, "cp_category_neglect", P4), 1, 2)
    _check_proportion(get(results, "cp_category_physical", P4), 1, 2)
    _check_proportion(get(results, "cp_category_emotional", P4), 0, 2)
    _check_proportion(get(results, "cp_category_emotional", P4, "rolling_12_months"), 1, 3)  # CP2
    second = get(results, "cp_second_subsequent", P4)
    _check_proportion(second, 1, 2)
    assert second.status == AMBER  # 50 vs target 40: 10 over, exactly the tolerance
    _check_proportion(get(results, "cp_second_subsequent", P4, "rolling_12_months"), 2, 3)  # CP2, CP4
    ended = get(results, "cp_ended_2y_plus", P4)
    _check_proportion(ended, 1, 3)  # CP1 (exactly 2 years) of CP1, CP5, CP3
    assert ended.status == AMBER  # 33.3 vs 30, within 5


def test_looked_after_and_missing(results: list[MetricResult]) -> None:
    cla = get(results, "cla_rate", P4)
    # KL1 twice (LA1 since 2010, LA3 from May) counts once; LA2 ended on 30 June.
    assert (cla.numerator, cla.value) == (1, R(1.0))
    assert get(results, "cla_rate", P3).numerator == 2  # KL1, KL2
    assert get(results, "missing_episodes", P4).value == 4
    rhi = get(results, "rhi_72h", P4)
    _check_proportion(rhi, 2, 4)  # M1 at exactly 72h and M4; M2 a minute late, M3 none
    assert rhi.status == GREEN  # 50 meets a target of 50 (higher is better)
    _check_proportion(get(results, "rhi_72h", P4, "rolling_12_months"), 3, 5)  # + M5 across the quarter end


def test_neutral_measures_never_get_a_colour(results: list[MetricResult]) -> None:
    from metrics.core.registry import metrics_for

    neutral = {m.id for m in metrics_for("safeguarding") if m.polarity == "neutral"}
    assert {"contacts", "cp_rate", "cla_rate", "cp_category_neglect"} <= neutral
    assert {r.status for r in results if r.metric_id in neutral} <= {CONTEXT}


def test_target_comes_from_the_financial_year(results: list[MetricResult]) -> None:
    assert get(results, "re_referrals", P3).plan == 60  # 2023-24 row
    assert get(results, "re_referrals", P4).plan == 60  # 2024-25 row
    assert get(results, "re_referrals", P4, area=B).plan is None  # no targets for B
    assert get(results, "re_referrals", P4, area=B).status == NO_DATA


def test_categories_form_one_suppression_group() -> None:
    from metrics.core.registry import metrics_for

    groups = {m.suppression_group for m in metrics_for("safeguarding") if m.suppression_group}
    assert groups == {"cp_category"}
