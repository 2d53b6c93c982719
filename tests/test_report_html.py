"""The HTML scorecard's own logic: trend arrows by polarity, suppression, escaping."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from metrics.compute.status import NOT_ON_TRACK, ON_TRACK
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.results import MetricResult
from metrics.publish.html import render_scorecard, trend

Q1, Q2 = Period.parse("2023-24-Q1"), Period.parse("2023-24-Q2")


def _r(
    metric_id: str,
    period: Period,
    value: float | None,
    numerator: float = 100,
    projection: float | None = None,
    status: str = ON_TRACK,
) -> MetricResult:
    return MetricResult(
        metric_id,
        "E06000061",
        period.label,
        period.start,
        period.end,
        numerator,
        1000.0,
        value,
        None if value is None else value - 1,
        None if value is None else value + 1,
        "Wilson",
        "",
        50.0,
        value,
        projection,
        status,
        "reason <b>",
    )


def test_trend_direction_follows_polarity() -> None:
    discharge = registry.get("discharge_usual_residence")  # higher is better
    t = trend(discharge, _r(discharge.id, Q2, 95.0), _r(discharge.id, Q1, 94.0))
    assert (t.css, t.words) == ("better", "up 1.00 (better)")
    avoidable = registry.get("avoidable_admissions")  # lower is better
    assert trend(avoidable, _r(avoidable.id, Q2, 260.0), _r(avoidable.id, Q1, 250.0)).css == "worse"
    assert trend(avoidable, _r(avoidable.id, Q2, 240.0), None).words == "no earlier comparable value"


def test_cumulative_metrics_compare_projections_and_not_across_years() -> None:
    falls = registry.get("falls_65_plus")
    t = trend(falls, _r(falls.id, Q2, 440.0, projection=880.0), _r(falls.id, Q1, 220.0, projection=880.0))
    assert t.words == "projection no change"
    last_year = Period.parse("2022-23-Q4")
    reab = registry.get("reablement_91_days")
    assert trend(reab, _r(reab.id, Q1, 80.0), _r(reab.id, last_year, 90.0)).words == "year to date restarted in April"


def test_page_suppresses_small_counts_and_escapes_text(tmp_path: Path) -> None:
    metrics = registry.metrics_for("bcf")
    rows = [_r(m.id, Q2, 50.0) for m in metrics]
    rows[4] = replace(rows[4], numerator=3, status=NOT_ON_TRACK)
    page = render_scorecard(
        metrics, rows, rows, "E06000061", "North <Northants>", Q2, {}, {}, {}, dt.date(2023, 11, 1).isoformat(), 5
    )
    assert "North &lt;Northants&gt;" in page and "<Northants>" not in page
    assert "reason &lt;b&gt;" in page
    reab = page[page.index('data-metric="reablement_91_days"') :]
    assert '<td class="num value">n/a</td>' in reab.split("</tr>")[0]  # value withheld with its count
    assert "<dd>* at home after 91 days (in-year cohort)</dd>" in page


def test_spc_icons_appear_once_there_are_twelve_quarters() -> None:
    from metrics.publish.spc_notes import icon_svg, spc_summary

    m = registry.get("discharge_usual_residence")  # higher is better
    periods = [Period.parse("2020-21-Q1")]
    for _ in range(13):
        periods.append(periods[-1].next())
    values = [90.0, 91.0] * 6 + [99.0, 99.5]  # last point far above the upper limit: improvement, high
    history = [replace(_r(m.id, p, v), plan=80.0) for p, v in zip(periods, values, strict=True)]
    reading = spc_summary(m, history)
    assert reading.variation_icon == "improvement_high"
    assert reading.assurance == "consistent_pass"  # plan 80 below the lower limit
    svg = icon_svg(reading)
    assert svg.count("<svg") == 2 and "#00B0F0" in svg and ">H</text>" in svg and ">P</text>" in svg
    assert spc_summary(m, history[:5]).variation_icon is None  # trial limits: no icons


def test_context_measures_show_the_change_without_judging_it() -> None:
    contacts = registry.get("contacts")  # neutral polarity
    t = trend(contacts, _r(contacts.id, Q2, 1200.0), _r(contacts.id, Q1, 1000.0))
    assert (t.css, t.words) == ("same", "up 200")


def test_month_views_are_listed_beside_the_quarter_with_suppression() -> None:
    q = Period.parse("2025-26-Q2")
    m = registry.get("discharge_delay_days")
    assert m.windows == ("quarter", "month_1", "month_2", "month_3")
    rows = [_r(m.id, q, 6.1)]
    # July 9.0 from 40 discharges; August 1.33 from 4 (suppressed below 5); September 7.0.
    months = [
        replace(_r(m.id, q, 7.0), window_start=dt.date(2025, 9, 1), view="month_3"),
        replace(_r(m.id, q, 9.0), window_start=dt.date(2025, 7, 1), view="month_1"),
        replace(_r(m.id, q, 1.3333, numerator=4), window_start=dt.date(2025, 8, 1), view="month_2"),
    ]
    page = render_scorecard([m], rows, rows, "E06000061", "North", q, {}, {}, {}, "today", 5, views=months)
    assert "<dd>July 2025: 9.00; August 2025: n/a; September 2025: 7.00</dd>" in page
    other = render_scorecard([m], rows, rows, "E06000061", "North", q, {}, {}, {}, "today", 5)
    assert "Beside it" not in other


def test_plan_significance_is_said_beside_the_unchanged_status() -> None:
    m = registry.get("avoidable_admissions")  # plan 50.0 (from _r), lower is better
    # 50.5 (CI 49.5 to 51.5): worse than plan 50, but 50 lies inside the interval.
    inside = [_r(m.id, Q2, 50.5, status=NOT_ON_TRACK)]
    page = render_scorecard([m], inside, inside, "E06000061", "North", Q2, {}, {}, {}, "today", 5)
    status_cell = page.split('<td class="status">', 1)[1].split("</td>", 1)[0]
    assert "Not on track" in status_cell and "plan inside the 95% CI" in status_cell
    assert f"<dd>{NOT_ON_TRACK}: reason &lt;b&gt;" in page  # the official wording, unchanged
    # 60.0 (CI 59.0 to 61.0): 50 lies below the interval.
    outside = [_r(m.id, Q2, 60.0, status=NOT_ON_TRACK)]
    page = render_scorecard([m], outside, outside, "E06000061", "North", Q2, {}, {}, {}, "today", 5)
    assert "plan outside the 95% CI" in page and "plan inside" not in page
    # A suppressed count withholds the interval: nothing is said.
    small = [_r(m.id, Q2, 60.0, numerator=3, status=NOT_ON_TRACK)]
    page = render_scorecard([m], small, small, "E06000061", "North", Q2, {}, {}, {}, "today", 5)
    assert "95% CI</span>" not in page and "plan outside" not in page and "plan inside" not in page
