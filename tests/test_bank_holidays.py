"""England and Wales bank holidays from the ``holidays`` package, and the warehouse's working-day calendar."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from metrics import warehouse
from metrics.core.periods import Period
from metrics.core.reference import england_bank_holidays
from metrics.publish.manifest import versions

D = dt.date.fromisoformat

# Weekday bank holidays per year as GOV.UK lists them (bank-holidays.json, england-and-wales), which the
# shipped bank_holidays_england.csv held for 2015-2027 before the package replaced it: 2022 adds the
# Platinum Jubilee and the State Funeral, 2023 the Coronation.
PER_YEAR = {year: 8 for year in range(2015, 2028)} | {2022: 10, 2023: 9}

KNOWN = {
    D("2020-05-08"): "May Day",  # early May bank holiday moved to Friday for VE Day 75
    D("2022-06-02"): "Spring Bank Holiday",  # moved from the last Monday in May
    D("2022-06-03"): "Platinum Jubilee of Elizabeth II",
    D("2022-09-19"): "State Funeral of Queen Elizabeth II",
    D("2023-05-08"): "Coronation of Charles III",
    D("2020-12-28"): "Boxing Day (observed)",  # 26 Dec 2020 a Saturday
    D("2022-12-27"): "Christmas Day (observed)",  # 25 Dec 2022 a Sunday
    D("2027-12-27"): "Christmas Day (observed)",
    D("2027-12-28"): "Boxing Day (observed)",
}
NOT_HOLIDAYS = [
    D("2020-05-04"),  # the usual first Monday in May, moved in 2020
    D("2022-05-30"),  # the usual last Monday in May, moved in 2022
    D("2022-12-25"),  # a Sunday: its weekday substitute is listed instead
    D("2021-12-26"),  # a Sunday: Boxing Day 2021 is listed as Tuesday 28 Dec
]


def test_package_dates_match_the_gov_uk_list_2015_to_2027() -> None:
    days = dict(england_bank_holidays(2015, 2027))
    assert Counter(d.year for d in days) == PER_YEAR
    assert sum(PER_YEAR.values()) == len(days) == 107  # as many rows as the retired CSV
    for day, name in KNOWN.items():
        assert days.get(day) == name, day
    assert not set(NOT_HOLIDAYS) & set(days)
    assert all(d.isoweekday() <= 5 for d in days)
    assert list(days) == sorted(days)


def test_bad_year_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="after"):
        england_bank_holidays(2030, 2029)


def _calendar(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date]:
    return warehouse.calendar_range(con)


def test_calendar_spans_2010_to_five_years_ahead(tmp_path: Path) -> None:
    assert warehouse.default_calendar_years(D("2026-03-01")) == (2010, 2031)
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        first, last = _calendar(con)
        assert first == D("2010-01-01") and last == dt.date(dt.date.today().year + 5, 12, 31)
        # 2 Jun 2022 (Thu) to 6 Jun (Mon): 3 Jun is the Jubilee, 4-5 a weekend, so 1 working day.
        assert con.execute("SELECT working_days_between(DATE '2022-06-02', DATE '2022-06-06')").fetchone() == (1,)
        holidays = {d for (d,) in con.execute("SELECT day FROM ref_bank_holidays").fetchall()}
        assert {D("2022-09-19"), D("2023-05-08"), D("2010-12-28")} <= holidays
    finally:
        con.close()


def test_calendar_widens_to_the_quarter_and_the_data(tmp_path: Path) -> None:
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        warehouse.prepare_views(con, Period.parse("2045-46-Q4"))  # a quarter beyond the default years
        assert _calendar(con)[1] == D("2046-12-31")
        con.execute(
            "INSERT INTO cs_assessments (_period, referral_date, authorisation_date) "
            "VALUES ('2009-10-Q1', DATE '2005-06-01', DATE '2009-06-30')"
        )
        warehouse.prepare_views(con, Period.parse("2009-10-Q1"))
        first, last = _calendar(con)
        assert first == D("2005-01-01") and last == D("2046-12-31")
        # Spring bank holiday 2005 (30 May) and early May 2009 (4 May) are not working days.
        off = con.execute(
            "SELECT day FROM ref_calendar WHERE NOT is_working_day AND isodow(day) <= 5 AND year(day) IN (2005, 2009)"
        ).fetchall()
        assert {(D("2005-05-30"),), (D("2009-05-04"),)} <= set(off)
    finally:
        con.close()


def test_a_date_missing_from_the_calendar_is_an_error_not_a_working_day(tmp_path: Path) -> None:
    sql = (Path(warehouse.__file__).parents[1] / "definitions/safeguarding/assessments_45_days.sql").read_text()
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        con.execute(
            "INSERT INTO cs_assessments (_period, la_code, referral_date, start_date, authorisation_date) "
            "VALUES ('2023-24-Q2', 'E06000061', DATE '2023-04-28', DATE '2023-04-28', DATE '2023-07-05')"
        )
        warehouse.prepare_views(con, Period.parse("2023-24-Q2"))
        params = {"hwbs": ["E06000061"], "max_working_days": 45, "start_point": "assessment_start"}
        params["window_start"] = D("2023-07-01")
        params["window_end"] = D("2023-09-30")
        assert con.execute(sql, params).fetchall() == [("E06000061", 1, 1)]  # 45 working days
        con.execute("DELETE FROM ref_calendar WHERE day = DATE '2023-04-28'")  # as if out of range
        with pytest.raises(duckdb.Error, match="outside the working-day calendar"):
            con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_manifest_records_the_holidays_package_version() -> None:
    import importlib.metadata

    assert versions()["holidays"] == importlib.metadata.version("holidays")
