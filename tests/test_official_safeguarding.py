"""Safeguarding definitions checked against DfE's (issue 14): short-term breaks left out of children
looked after, the assessment clock's declared start point and the England benchmark drawn only beside
a figure of the same definition."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import duckdb
import openpyxl
import pytest

from metrics.compute import cases
from metrics.contracts.safeguarding import CLA_EPISODES, SHORT_BREAKS, SSDA903_LEGAL_STATUSES
from metrics.core import registry
from metrics.core.reference import comparable_benchmark, england_benchmarks
from metrics.publish import scorecard_workbook
from metrics.publish.html import render_scorecard
from tests.test_report_html import Q2, _r

CASES = registry.scorecard("safeguarding").folder / "cases"


def test_legal_status_is_checked_against_the_ssda903_code_list() -> None:
    # The list of DfE's SSDA903 validation rule 144 (data-to-insight/csc-validator-be-903).
    rule_144 = {"C1", "C2", "D1", "E1", "V2", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3"}
    assert set(SSDA903_LEGAL_STATUSES) == rule_144
    assert CLA_EPISODES.column("legal_status").codes == SSDA903_LEGAL_STATUSES
    excluded = registry.get("cla_rate").parameters["exclude_legal_status"]
    assert excluded == list(SHORT_BREAKS) == ["V3", "V4"]


def test_an_unknown_start_point_stops_the_metric_with_a_plain_message() -> None:
    [case, _] = cases.load_cases(CASES / "assessments_45_days_start_point.toml")
    bad = replace(case, parameters={"start_point": "contact"})
    with pytest.raises(duckdb.Error, match='start_point must be "assessment_start" or "referral", not "contact"'):
        cases.run_case(bad)


def test_a_case_may_not_set_a_parameter_the_metric_does_not_declare(tmp_path: Path) -> None:
    text = (CASES / "assessments_45_days_start_point.toml").read_text(encoding="utf-8")
    folder = tmp_path / "safeguarding" / "cases"
    folder.mkdir(parents=True)
    path = folder / "x.toml"
    path.write_text(text.replace('{ start_point = "referral" }', '{ start_pont = "referral" }'), encoding="utf-8")
    with pytest.raises(cases.CaseError, match="declared parameters"):
        cases.load_cases(path)


def test_the_england_benchmark_is_only_beside_a_figure_of_its_definition() -> None:
    metric = registry.get("assessments_45_days")
    bench = england_benchmarks()["assessments_45_days"]
    assert bench.definition == (("start_point", "assessment_start"),)
    # The default start point is the England figure's: the benchmark is drawn.
    assert metric.parameters["start_point"] == "assessment_start"
    assert comparable_benchmark(metric.id, metric.parameters) == (bench, "")
    # Counted from the referral it is not comparable, and says so.
    got, why = comparable_benchmark(metric.id, {**metric.parameters, "start_point": "referral"})
    assert got is None
    assert why == (
        "England benchmark not comparable: different start point (England assessment_start, this measure referral)"
    )
    # A benchmark with no definition constraints is always comparable.
    assert comparable_benchmark("re_referrals", {})[0] is england_benchmarks()["re_referrals"]


def _referral_metrics() -> list[registry.Metric]:
    return [
        replace(m, parameters={**m.parameters, "start_point": "referral"}) if m.id == "assessments_45_days" else m
        for m in registry.metrics_for("safeguarding")
    ]


def _page(metrics: list[registry.Metric]) -> str:
    rows = [_r(m.id, Q2, 50.0) for m in metrics]
    card = registry.scorecard("safeguarding")
    return render_scorecard(metrics, rows, rows, "E06000061", "North", Q2, {}, {}, {}, "today", 5, card)


def _headline_england(page: str, metric_id: str) -> str:
    row = page.split(f'<tr data-metric="{metric_id}">', 1)[1].split("</tr>", 1)[0]
    return row.split('<td class="num england">', 1)[1].split("</td>", 1)[0]


def test_the_page_shows_a_benchmark_of_another_definition_as_not_comparable() -> None:
    same = _page(registry.metrics_for("safeguarding"))
    assert _headline_england(same, "assessments_45_days").startswith("85.7 ")
    other = _page(_referral_metrics())
    assert "not comparable" in _headline_england(other, "assessments_45_days")
    assert "85.7" not in _headline_england(other, "assessments_45_days")
    assert "England benchmark not comparable: different start point" in other
    # Other measures keep theirs.
    assert _headline_england(other, "re_referrals").startswith("22.4 ")


def test_the_workbook_leaves_a_benchmark_of_another_definition_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = registry.scorecard("safeguarding")

    def cells(metrics: list[registry.Metric], name: str) -> tuple[object, object]:
        monkeypatch.setattr(scorecard_workbook, "metrics_for", lambda _card: metrics)
        rows = [_r(m.id, Q2, 50.0) for m in metrics]
        path = scorecard_workbook.write_scorecard_workbook(
            tmp_path / name, card, rows, rows, "E06000061", "North", Q2, dt.date(2024, 1, 1).isoformat(), 5
        )
        ws = openpyxl.load_workbook(path)["Scorecard"]
        row = next(r for r in ws.iter_rows(min_row=5) if r[0].value == registry.get("assessments_45_days").title)
        header = [c.value for c in ws[4]]
        return row[header.index("England")].value, row[header.index("England year")].value

    assert cells(registry.metrics_for("safeguarding"), "same.xlsx") == (85.7, "2024-25")
    value, year = cells(_referral_metrics(), "other.xlsx")
    assert value is None and str(year).startswith("England benchmark not comparable: different start point")
