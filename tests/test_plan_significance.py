"""Whether the plan lies inside the 95% CI of the figure judged, beside the official status (hand-made)."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from metrics.compute.status import (
    PLAN_INSIDE_CI,
    PLAN_OUTSIDE_CI,
    TARGET_INSIDE_CI,
    TARGET_OUTSIDE_CI,
    assess,
    plan_significance,
)
from metrics.core import registry
from metrics.core.periods import Period
from metrics.publish.scorecard_workbook import write_scorecard_workbook
from tests.test_report_html import _r

Q1, Q2, Q4 = Period.parse("2023-24-Q1"), Period.parse("2023-24-Q2"), Period.parse("2023-24-Q4")


def test_quarterly_plan_inside_and_outside_the_interval() -> None:
    m = registry.get("avoidable_admissions")  # quarterly plan, lower is better
    # Seed B1: 260.1 (CI 240.0 to 281.5) vs plan 250: worse than plan, yet 250 lies in the interval,
    # so the difference is not significant; the status wording is unchanged.
    assert assess(m, 260.1, 250, Q2).status == "Not on track to meet target"
    assert plan_significance(m, Q2, 260.1, 240.0, 281.5, 250) == PLAN_INSIDE_CI
    # Plan 230 is below the lower bound 240.0: outside.
    assert plan_significance(m, Q2, 260.1, 240.0, 281.5, 230) == PLAN_OUTSIDE_CI
    # Plan 290 above the upper bound 281.5: outside too (the test is two-sided, whatever the polarity).
    assert plan_significance(m, Q2, 260.1, 240.0, 281.5, 290) == PLAN_OUTSIDE_CI


def test_plan_on_a_bound_is_inside() -> None:
    m = registry.get("discharge_usual_residence")
    assert plan_significance(m, Q2, 95.35, 94.0, 96.5, 94.0) == PLAN_INSIDE_CI
    assert plan_significance(m, Q2, 95.35, 94.0, 96.5, 96.5) == PLAN_INSIDE_CI
    assert plan_significance(m, Q2, 95.35, 94.0, 96.5, 93.99) == PLAN_OUTSIDE_CI


def test_cumulative_metric_uses_the_interval_of_its_projection() -> None:
    m = registry.get("residential_admissions_65_plus")  # cumulative year to date, annual plan
    # Q2: year to date 246.0 (CI 226.0 to 267.0); the status judges the projection 246 x 4 / 2 = 492.0,
    # whose interval is the same scaled by 2: 452.0 to 534.0.
    assert assess(m, 246.0, 564, Q2).assessed_value == 492.0
    # Plan 564 > 534.0: outside. Unscaled, 564 would be compared with 226-267 and be outside too, so
    # a plan between the two intervals tells the scaling apart:
    assert plan_significance(m, Q2, 246.0, 226.0, 267.0, 564) == PLAN_OUTSIDE_CI
    # Plan 500 lies in 452.0-534.0 (inside) but not in 226.0-267.0 (unscaled it would read outside).
    assert plan_significance(m, Q2, 246.0, 226.0, 267.0, 500) == PLAN_INSIDE_CI
    # Q1: scale 4 / 1 = 4, interval 904.0 to 1,068.0; plan 500 is outside; 1,000 inside.
    assert plan_significance(m, Q1, 246.0, 226.0, 267.0, 500) == PLAN_OUTSIDE_CI
    assert plan_significance(m, Q1, 246.0, 226.0, 267.0, 1000) == PLAN_INSIDE_CI
    # Q4: scale 4 / 4 = 1, the year itself: 260 inside 226.0-267.0.
    assert plan_significance(m, Q4, 246.0, 226.0, 267.0, 260) == PLAN_INSIDE_CI


def test_cumulative_metric_with_quarterly_cumulative_plans_is_not_scaled() -> None:
    # 2025-26 care-home admissions: quarterly plans of the cumulative rate, compared with the year to
    # date directly (no projection), so the interval is the year to date's: 120 lies in 110-130.
    m = registry.get("care_home_admissions_65_plus")
    assert m.plan_basis == "quarter" and m.cumulative
    assert plan_significance(m, Q2, 120.0, 110.0, 130.0, 125) == PLAN_INSIDE_CI
    assert plan_significance(m, Q2, 120.0, 110.0, 130.0, 240) == PLAN_OUTSIDE_CI


def test_nothing_said_without_a_value_interval_or_plan() -> None:
    m = registry.get("avoidable_admissions")
    assert plan_significance(m, Q2, None, None, None, 250) == ""  # withheld (suppressed) or not available
    assert plan_significance(m, Q2, 260.1, None, None, 250) == ""  # no interval
    assert plan_significance(m, Q2, 260.1, 240.0, 281.5, None) == ""  # no plan


def test_target_wording_on_a_rag_card_and_none_for_context_measures() -> None:
    rag = next(m for m in registry.metrics_for("safeguarding") if m.polarity != "neutral")
    assert plan_significance(rag, Q2, 50.0, 45.0, 55.0, 52, target=True) == TARGET_INSIDE_CI
    assert plan_significance(rag, Q2, 50.0, 45.0, 55.0, 60, target=True) == TARGET_OUTSIDE_CI
    context = next(m for m in registry.metrics_for("safeguarding") if m.polarity == "neutral")
    assert plan_significance(context, Q2, 50.0, 45.0, 55.0, 52, target=True) == ""


def test_the_scorecard_workbook_has_the_target_vs_ci_column_beside_the_status(tmp_path: Path) -> None:
    card = registry.scorecard("safeguarding")
    judged = next(m for m in registry.metrics_for(card.id) if m.polarity != "neutral")
    # _r: value 50.0, CI 49.0 to 51.0, plan 50.0 -> inside; a second file with value 60.0 (59.0 to 61.0) -> outside.
    for value, expected in ((50.0, TARGET_INSIDE_CI), (60.0, TARGET_OUTSIDE_CI)):
        rows = [_r(judged.id, Q2, value)]
        path = write_scorecard_workbook(tmp_path / f"{value}.xlsx", card, rows, rows, "E06000061", "N", Q2, "t", 5)
        ws = openpyxl.load_workbook(path)["Scorecard"]
        header = [c.value for c in ws[4]]
        assert header.index("Target vs 95% CI") == header.index("Status") + 1
        row = next(r for r in ws.iter_rows(min_row=5, values_only=True) if r[0] == judged.title)
        assert row[header.index("Target vs 95% CI")] == expected
        assert row[header.index("Status")] == rows[0].status  # unchanged wording
