import datetime as dt

import pytest

from metrics.core.periods import Period, just_closed


def test_parse_and_dates() -> None:
    p = Period.parse("2023-24-Q2")
    assert (p.fy_start, p.quarter) == (2023, 2)
    assert p.start == dt.date(2023, 7, 1)
    assert p.end == dt.date(2023, 9, 30)
    assert p.fy_first_day == dt.date(2023, 4, 1)
    assert p.label == "2023-24-Q2"
    assert [q.label for q in p.year_to_date()] == ["2023-24-Q1", "2023-24-Q2"]


def test_q4_runs_into_next_calendar_year() -> None:
    q4 = Period.parse("2023-24-Q4")
    assert (q4.start, q4.end) == (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert q4.next().label == "2024-25-Q1"
    assert Period.parse("2024-25-Q1").previous() == q4
    assert Period.parse("1999-00-Q3").end == dt.date(1999, 12, 31)


@pytest.mark.parametrize("text", ["2023-25-Q1", "2023-24-Q5", "2023Q1", "2023-24"])
def test_bad_periods_are_rejected_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"2023-24-Q2|consecutive"):
        Period.parse(text)


def test_containing_and_just_closed() -> None:
    assert Period.containing(dt.date(2024, 3, 31)).label == "2023-24-Q4"
    assert Period.containing(dt.date(2024, 4, 1)).label == "2024-25-Q1"
    assert just_closed(dt.date(2023, 10, 1)).label == "2023-24-Q2"
    assert just_closed(dt.date(2024, 1, 1)).label == "2023-24-Q3"
