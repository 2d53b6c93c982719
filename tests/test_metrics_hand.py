"""Each BCF metric on a small hand-made two-quarter extract, against values worked by hand.

Population: women only, 10,000 at each of ages 67, 72, 77, 82, 87 and 92 (one per ESP2013 band
65-69 ... 90+); one man aged 40 (so the area has an all-ages population). Every figure below is
written out as the arithmetic a person would do; tolerances are 1e-9 relative unless stated.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from metrics.compute import stats
from metrics.compute.run import compute_period
from metrics.compute.status import NO_DATA, NOT_ON_TRACK, ON_TRACK
from metrics.contracts import APC_SPELLS, CARE_HOME_ADMISSIONS, PLANS, POPULATION, REABLEMENT
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.results import MetricResult
from metrics.ingest.run import ingest_periods
from tests.extract_builders import population_rows, spell, write_extract

HWB, OTHER = "E06000061", "E06000062"
Q1, Q2 = Period.parse("2023-24-Q1"), Period.parse("2023-24-Q2")
FALL = {"admission_method": "21", "primary_diagnosis": "S720", "secondary_diagnoses": "W19X;I10"}


def _population() -> list[dict[str, object]]:
    women = {a: 10_000 for a in (67, 72, 77, 82, 87, 90)}
    return [
        *population_rows(HWB, "North Northamptonshire", {"F": women, "M": {40: 1}}),
        *population_rows(OTHER, "West Northamptonshire", {"F": women, "M": {40: 1}}),
    ]


def _write_quarter(
    raw: Path,
    period: Period,
    spells: list[dict[str, object]],
    reab: list[dict[str, object]],
    care: list[dict[str, object]],
) -> None:
    d = raw / period.label
    write_extract(d / APC_SPELLS.filename, APC_SPELLS, spells)
    write_extract(d / REABLEMENT.filename, REABLEMENT, reab)
    write_extract(d / CARE_HOME_ADMISSIONS.filename, CARE_HOME_ADMISSIONS, care)
    write_extract(d / POPULATION.filename, POPULATION, _population())
    plans = [
        {
            "hwb_code": HWB,
            "metric_id": "avoidable_admissions",
            "financial_year": "2023-24",
            "quarter": q,
            "plan_value": 1.0,
        }
        for q in ("Q1", "Q2", "Q3", "Q4")
    ] + [
        {
            "hwb_code": HWB,
            "metric_id": "falls_65_plus",
            "financial_year": "2023-24",
            "quarter": "YE",
            "plan_value": 100.0,
        },
        {
            "hwb_code": HWB,
            "metric_id": "discharge_usual_residence",
            "financial_year": "2023-24",
            "quarter": "Q2",
            "plan_value": 80.0,
        },
        {
            "hwb_code": HWB,
            "metric_id": "residential_admissions_65_plus",
            "financial_year": "2023-24",
            "quarter": "YE",
            "plan_value": 40.0,
        },
        {
            "hwb_code": HWB,
            "metric_id": "reablement_91_days",
            "financial_year": "2023-24",
            "quarter": "YE",
            "plan_value": 70.0,
        },
    ]
    write_extract(d / PLANS.filename, PLANS, plans)


def _episode(n: int, date: str, status: str, age: int = 80, follow_up: str | None = None) -> dict[str, object]:
    return {
        "episode_id": f"R{n:04d}",
        "person_id": f"P{n:05d}",
        "age": age,
        "hospital_discharge_date": date,
        "service_start_date": date,
        "follow_up_date": follow_up,
        "status_91_days": status,
        "hwb_code": HWB,
    }


def _care(
    n: int, person: str, date: str, age: int, first: str | None = None, setting: str = "residential"
) -> dict[str, object]:
    return {
        "admission_id": f"C{n:04d}",
        "person_id": person,
        "age": age,
        "admission_date": date,
        "setting": setting,
        "first_admission_date": first or date,
        "hwb_code": HWB,
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MetricResult]:
    root = tmp_path_factory.mktemp("hand")
    raw = root / "raw"
    q1_spells = [
        # Avoidable admission in Q1, still in hospital at the Q1 extract (re-delivered in Q2).
        spell(
            1,
            admission_date="2023-06-28",
            discharge_date=None,
            discharge_destination=None,
            primary_diagnosis="J441",
            age_at_admission=72,
        ),
        # Four falls in Q1: two aged 67, one 72, one 77.
        spell(2, admission_date="2023-05-01", discharge_date="2023-05-02", age_at_admission=67, **FALL),
        spell(3, admission_date="2023-05-02", discharge_date="2023-05-04", age_at_admission=68, **FALL),
        spell(4, admission_date="2023-05-03", discharge_date="2023-05-04", age_at_admission=72, **FALL),
        spell(5, admission_date="2023-05-03", discharge_date="2023-05-04", age_at_admission=77, **FALL),
        # Discharged in Q1 to usual residence: not in the Q2 discharge window.
        spell(6, admission_date="2023-05-03", discharge_date="2023-05-04"),
    ]
    q2_spells = [
        # Spell 1 again, now finished in Q2 to usual residence: counted once, as a Q1 admission.
        spell(
            1,
            admission_date="2023-06-28",
            discharge_date="2023-07-03",
            discharge_destination="19",
            primary_diagnosis="J441",
            age_at_admission=72,
        ),
        # Three avoidable admissions in Q2 (emergency, chronic ACSC primary, any age).
        spell(10, primary_diagnosis="J441", age_at_admission=72),
        spell(11, primary_diagnosis="I10", age_at_admission=72, admission_method="22"),
        spell(12, primary_diagnosis="E105", age_at_admission=72, admission_method="2D"),
        # Not avoidable admissions: elective, transfer, non-ACSC diagnosis.
        spell(13, primary_diagnosis="J441", admission_method="11"),
        spell(14, primary_diagnosis="J441", admission_method="2B"),
        spell(15, primary_diagnosis="R69"),
        # Six more falls in Q2: 72, 82, 82, 87, 92, 67 -> falls YTD per band 65-69:3 70-74:2 75-79:1
        # 80-84:2 85-89:1 90+:1 (10 in all).
        spell(20, age_at_admission=72, **FALL),
        spell(21, age_at_admission=82, **FALL),
        spell(22, age_at_admission=84, **FALL),
        spell(23, age_at_admission=87, **FALL),
        spell(24, age_at_admission=92, **FALL),
        spell(25, age_at_admission=65, **FALL),
        # Not falls: aged 64; elective; cause W20 (struck by object); no injury primary diagnosis.
        spell(26, age_at_admission=64, **FALL),
        spell(27, age_at_admission=70, **{**FALL, "admission_method": "12"}),
        spell(28, age_at_admission=70, **{**FALL, "secondary_diagnoses": "W20X"}),
        spell(29, age_at_admission=70, **{**FALL, "primary_diagnosis": "R55"}),
        # Discharges in Q2 so far: spells 1, 10-15, 20-29 all to 19 (usual residence) = 17.
        # Add: care home (54) and hospice (88) count against; died (79), not known (99) are excluded.
        spell(30, discharge_destination="54"),
        spell(31, discharge_destination="88"),
        spell(32, discharge_destination="79"),
        spell(33, discharge_destination="99"),
        # Still in hospital at the end of Q2: not a discharge.
        spell(34, discharge_date=None, discharge_destination=None),
        # Another area's admission: never counted for HWB.
        spell(35, primary_diagnosis="J441", age_at_admission=72, hwb_code=OTHER),
    ]
    # Q1's discharges are pending at the Q1 extract (their 91st day is in Q2) and come final in Q2's.
    q1_reab = [
        _episode(1, "2023-04-10", "pending"),
        _episode(2, "2023-05-10", "pending"),
        _episode(3, "2023-06-10", "pending"),
        _episode(4, "2023-06-11", "pending"),
    ]
    q2_reab = [
        _episode(1, "2023-04-10", "at_home", follow_up="2023-07-10"),
        _episode(2, "2023-05-10", "at_home", follow_up="2023-08-09"),
        _episode(3, "2023-06-10", "at_home", follow_up="2023-09-09"),
        _episode(4, "2023-06-11", "died", follow_up="2023-09-10"),
        _episode(5, "2023-07-01", "unknown", follow_up="2023-09-30"),
        _episode(6, "2023-08-10", "pending"),
        _episode(7, "2023-08-11", "pending"),
        _episode(9, "2023-06-13", "at_home", age=60, follow_up="2023-09-12"),
    ]
    q1_care = [
        _care(1, "PA0001", "2023-04-20", 70),
        _care(2, "PB0001", "2023-05-20", 66),
        _care(3, "PC0001", "2023-05-21", 50),
        _care(6, "PE0001", "2023-06-02", 85, first="2020-01-15"),  # second-ever admission: not new
    ]
    q2_care = [
        _care(4, "PD0001", "2023-07-20", 80),
        _care(5, "PA0001", "2023-08-20", 71, first="2023-04-20"),
        _care(7, "PD0001", "2023-09-01", 80, first="2023-07-20", setting="nursing"),  # transfer: not new
    ]
    _write_quarter(raw, Q1, q1_spells, q1_reab, q1_care)
    _write_quarter(raw, Q2, q2_spells, q2_reab, q2_care)

    paths = RunPaths(raw, root / "w.duckdb", root / "reports")
    loads = ingest_periods(paths, [Q1, Q2], "hand", root / "docs")
    assert all(o.status == "accepted" for o in loads), [o.summary() for o in loads]
    out = compute_period(paths, Q2, [HWB, OTHER], loads, "hand")
    return {f"{r.metric_id}/{r.hwb_code}" + (f"/{r.view}" if r.view else ""): r for r in out}


def test_avoidable_admissions_isr(results: dict[str, MetricResult]) -> None:
    r = results[f"avoidable_admissions/{HWB}"]
    # England reference (metrics/reference/england_acsc_reference.csv): annual admissions / population,
    # scaled to one quarter (x 0.25), times the local population: 10,000 women in each band 65-69 ... 90+
    # and the one man aged 40 (band 40-44, 11,586 admissions / 1,880,000).
    expected = 0.25 * (
        10_000
        * (28077 / 1560000 + 27456 / 1200000 + 30250 / 1040000 + 31430 / 850000 + 27733 / 590000 + 22110 / 370000)
        + 1 * 11586 / 1880000
    )
    ref_rate = 543460 * 0.25 / 54310000 * 100_000  # all-England rate per 100,000 per quarter
    assert r.numerator == 3
    assert r.denominator == pytest.approx(expected, rel=1e-9)
    assert r.value == pytest.approx(3 / expected * ref_rate, rel=1e-9)  # = 1.4047...
    assert r.value == pytest.approx(1.40474, abs=1e-4)
    # Fewer than 10 events: exact Poisson limits of O = 3 (0.6187, 8.7673), scaled by ref_rate / E.
    assert r.method == "Exact"
    assert r.lower == pytest.approx(0.618672 * ref_rate / expected, rel=1e-5)
    assert r.upper == pytest.approx(8.767273 * ref_rate / expected, rel=1e-5)
    assert r.plan == 1.0 and r.status == NOT_ON_TRACK  # 1.40 > 1.0, lower is better
    other = results[f"avoidable_admissions/{OTHER}"]
    assert other.numerator == 1 and other.status == NO_DATA  # no plan for the other HWB


def test_falls_dsr_year_to_date(results: dict[str, MetricResult]) -> None:
    r = results[f"falls_65_plus/{HWB}"]
    # Events per band 3, 2, 1, 2, 1, 1 over 10,000 each; ESP2013 weights 5500 5000 4000 2500 1500 1000.
    weighted = 3 * 5500 + 2 * 5000 + 1 * 4000 + 2 * 2500 + 1 * 1500 + 1 * 1000  # = 38,000
    assert r.numerator == 10
    assert r.value == pytest.approx(weighted / 10_000 / 19_500 * 100_000, rel=1e-9)  # 19.487...
    assert r.method == "Dobson"
    assert r.lower is not None and r.upper is not None and r.lower < r.value < r.upper
    # Year-end projection of a cumulative metric at Q2: x 4 / 2.
    assert r.projection == pytest.approx(2 * r.value) and r.status == ON_TRACK  # 38.97 <= plan 100


def test_discharge_to_usual_residence(results: dict[str, MetricResult]) -> None:
    r = results[f"discharge_usual_residence/{HWB}"]
    # 17 to usual residence; denominator adds 54 and 88 but not 79 (died) or 99 (not known).
    assert (r.numerator, r.denominator) == (17, 19)
    assert r.value == pytest.approx(17 / 19 * 100, rel=1e-12)
    wilson = stats.proportion(17, 19, multiplier=100)
    z = 1.959963984540054
    lower = (2 * 17 + z**2 - z * math.sqrt(z**2 + 4 * 17 * (1 - 17 / 19))) / (2 * (19 + z**2)) * 100
    assert r.lower == pytest.approx(lower, rel=1e-9) == wilson.lower
    assert r.status == ON_TRACK  # 89.5% >= 80%


def test_residential_admissions_cumulative(results: dict[str, MetricResult]) -> None:
    r = results[f"residential_admissions_65_plus/{HWB}"]
    # People 65+ first admitted 1 Apr - 30 Sep: PA (readmitted in August), PB, PD (moved to nursing in
    # September); PC is 50; PE's admission is their second ever (first in 2020). Pop 65+ = 60,000.
    assert (r.numerator, r.denominator) == (3, 60_000)
    assert r.value == pytest.approx(5.0, rel=1e-12)  # 3 / 60,000 x 100,000
    assert r.projection == pytest.approx(10.0) and r.status == ON_TRACK  # 10 <= 40


def test_year_to_date_metrics_get_their_in_period_quarter_for_spc(results: dict[str, MetricResult]) -> None:
    # Residential admissions 1 Jul - 30 Sep only, first-ever placements: PD (80, 20 July) = 1 person
    # over 60,000 aged 65+ -> 1.667 per 100,000. PA's August stay is a readmission (first 20 April)
    # and PD's September move to nursing a transfer, so neither counts.
    q = results[f"residential_admissions_65_plus/{HWB}/quarter"]
    assert (q.numerator, q.denominator) == (1, 60_000) and q.value == pytest.approx(1 / 60_000 * 100_000)
    assert (q.window_start, q.window_end) == (dt.date(2023, 7, 1), dt.date(2023, 9, 30))
    # Not judged against the year-to-date plan nor projected to year end (that would read 3.33 x 4 / 2).
    assert q.plan is None and q.projection is None and q.status == NO_DATA
    assert q.status_reason.startswith("not assessed: in-period quarter kept for SPC")
    # Falls: of the 10 year to date, the six of July-September; a DSR needs 10 events, so no value.
    f = results[f"falls_65_plus/{HWB}/quarter"]
    assert f.numerator == 6 and f.value is None and "total count < 10" in f.note
    assert f.status == NO_DATA and f.plan is None


def test_reablement_year_to_date(results: dict[str, MetricResult]) -> None:
    r = results[f"reablement_91_days/{HWB}"]
    # In-year cohort at 30 Sep: 65+ discharged 1 Apr - 1 Jul (91 days passed), latest delivery of each:
    # R1-R3 at home, R4 died, R5 (1 July) unknown = not at home; R6, R7 (August) still in follow-up
    # and the 60-year-old R9 are out. 3 / 5.
    assert (r.numerator, r.denominator) == (3, 5)
    assert r.value == pytest.approx(60.0, rel=1e-12)
    assert r.status == NOT_ON_TRACK  # 60% < 70%
