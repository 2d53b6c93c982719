"""The reasons a reablement cohort's figure is withheld, as a reader sees them (the hand-worked
cases in ``metrics/definitions/bcf/cases/reablement_91_days*.toml`` check the counts)."""

from __future__ import annotations

import pytest

from metrics.compute.cases import all_cases, run_case
from metrics.compute.status import NO_DATA

pytestmark = pytest.mark.fast

CASES = {c.id: c for c in all_cases("bcf")}


@pytest.mark.parametrize(
    ("case_id", "words"),
    [
        (
            "reablement_91_days_in_year_cohort_empty_at_q1",
            "no discharge since 1 April 2023 can have reached its 91st day by the data cut, 30 June 2023",
        ),
        (
            "reablement_91_days_ascof_incomplete_at_q3",
            "1 October-31 December 2023 are all followed up only on 31 March 2024, after the data cut, "
            "31 December 2023",
        ),
        (
            "reablement_91_days_ascof_incomplete_2024_25_q4",
            "1 October-31 December 2024 are all followed up only on 1 April 2025, after the data cut, 31 March 2025",
        ),
    ],
)
def test_a_withheld_cohort_says_why_and_shows_no_counts(case_id: str, words: str) -> None:
    result = run_case(CASES[case_id])
    assert result.status == NO_DATA
    assert words in result.note and words in result.status_reason
    assert (result.numerator, result.denominator, result.value, result.lower) == (None, None, None, None)


def test_a_complete_cohort_has_no_note() -> None:
    result = run_case(CASES["reablement_91_days_ascof_complete_2023_24"])
    assert result.value == pytest.approx(50.0) and result.note == ""
