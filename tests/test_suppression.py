"""Small counts are suppressed, and so is everything that would give them back."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from metrics.compute.status import NOT_ON_TRACK
from metrics.compute.suppression import SUPPRESSED, publishable, suppress_count
from metrics.core.results import MetricResult


def _result(numerator: float | None, denominator: float | None, **kw: object) -> MetricResult:
    base = MetricResult(
        metric_id="residential_admissions_65_plus",
        hwb_code="E06000061",
        period="2023-24-Q2",
        window_start=dt.date(2023, 4, 1),
        window_end=dt.date(2023, 9, 30),
        numerator=numerator,
        denominator=denominator,
        value=None if numerator is None or not denominator else numerator / denominator * 100_000,
        lower=1.0,
        upper=9.0,
        method="crude_rate",
        note="",
        plan=5.0,
        assessed_value=12.0,
        projection=12.0,
        status=NOT_ON_TRACK,
        status_reason="year-end projection 12.0 vs plan 5 (lower is better)",
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (None, None),
        (0, 0),
        (0.0, 0.0),
        (1, SUPPRESSED),
        (4, SUPPRESSED),
        (4.9, SUPPRESSED),
        (0.4, SUPPRESSED),
        (5, 5),
        (5.0, 5.0),
        (1234, 1234),
    ],
)
def test_suppress_count_default_threshold(x: float | None, expected: object) -> None:
    assert suppress_count(x) == expected


def test_suppress_count_threshold_is_configurable() -> None:
    assert suppress_count(9, threshold=10) == SUPPRESSED
    assert suppress_count(10, threshold=10) == 10
    assert suppress_count(2, threshold=2) == 2
    assert suppress_count(1, threshold=2) == SUPPRESSED
    with pytest.raises(ValueError):
        suppress_count(1, threshold=0)


def test_small_numerator_withholds_value_ci_and_projection() -> None:
    p = publishable(_result(3, 50_000))
    assert p["numerator"] == SUPPRESSED
    assert p["denominator"] == 50_000
    for field in ("value", "lower", "upper", "assessed_value", "projection"):
        assert p[field] is None, field
    assert p["note"] == "suppressed: fewer than 5 events"
    # The reason quotes the projection (which gives the count back), so it goes too.
    assert p["status_reason"] == "suppressed: fewer than 5 events"
    assert "12.0" not in str(p.values())
    assert p["suppressed"] is True
    # Plan and status are not disclosive and stay.
    assert p["plan"] == 5.0
    assert p["status"] == NOT_ON_TRACK


def test_threshold_flows_into_note() -> None:
    p = publishable(_result(7, 50_000), threshold=10)
    assert p["numerator"] == SUPPRESSED
    assert p["value"] is None
    assert p["note"] == "suppressed: fewer than 10 events"
    assert publishable(_result(7, 50_000))["numerator"] == 7


def test_zero_and_large_counts_are_published_in_full() -> None:
    zero = publishable(_result(0, 50_000))
    assert zero["numerator"] == 0
    assert zero["value"] == 0.0
    assert zero["suppressed"] is False
    big = publishable(_result(123, 50_000, note="some note"))
    assert big["numerator"] == 123
    assert big["value"] == pytest.approx(246.0)
    assert (big["lower"], big["upper"], big["projection"]) == (1.0, 9.0, 12.0)
    assert big["note"] == "some note"
    assert big["status_reason"].startswith("year-end projection")


def test_small_denominator_also_withholds_the_value() -> None:
    # 0 of 3: the count is not disclosive, but the CI of a proportion would give n = 3 back.
    p = publishable(_result(0, 3, value=0.0))
    assert p["numerator"] == 0
    assert p["denominator"] == SUPPRESSED
    assert p["value"] is None and p["lower"] is None
    assert p["note"] == "suppressed: fewer than 5 in the denominator"


def test_missing_counts_stay_missing() -> None:
    p = publishable(_result(None, None, value=None, lower=None, upper=None))
    assert p["numerator"] is None and p["denominator"] is None
    assert p["suppressed"] is False
