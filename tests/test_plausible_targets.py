"""Plans (plans.csv) and targets (cs_targets.csv) are checked against the unit of the metric each
row names: a percentage in 0-100, a rate or count >= 0, a tolerance >= 0 (``metrics.validate.plans``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from metrics.contracts import PLANS, TARGETS
from metrics.core.periods import Period
from metrics.core.registry import get
from metrics.core.results import ACCEPTED, REJECTED
from metrics.ingest.load import load_extract
from metrics.validate.gx import Validator
from metrics.validate.plans import value_range
from tests.extract_builders import write_extract

Q2 = Period.parse("2023-24-Q2")


def _plan(metric: str, value: str, quarter: str = "YE") -> dict[str, Any]:
    return {
        "hwb_code": "E06000061",
        "metric_id": metric,
        "financial_year": "2023-24",
        "quarter": quarter,
        "plan_value": value,
    }


def _target(metric: str, target: str, tolerance: str = "1", year: str = "2023-24") -> dict[str, Any]:
    return {
        "la_code": "E06000061",
        "metric_id": metric,
        "financial_year": year,
        "target": target,
        "amber_tolerance": tolerance,
    }


def test_ranges_follow_the_metric_unit() -> None:
    assert value_range(get("discharge_usual_residence")) == (0.0, 100.0)  # proportion x 100: a percentage
    assert value_range(get("falls_65_plus")) == (0.0, None)  # a rate
    assert value_range(get("contacts")) == (0.0, None)  # a count


def test_plausible_plans_are_accepted(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    rows = [
        _plan("discharge_usual_residence", "100", "Q1"),
        _plan("discharge_usual_residence", "0", "Q2"),
        _plan("discharge_usual_residence", "93.5", "Q3"),
        _plan("falls_65_plus", "2250.5"),  # a rate per 100,000: well above 100 is fine
        _plan("avoidable_admissions", "0", "Q2"),
    ]
    f = write_extract(tmp_path / PLANS.filename, PLANS, rows)
    assert load_extract(con, PLANS, f, Q2, "run1", validator.validate).status == ACCEPTED


def test_implausible_plans_are_rejected_naming_the_metric(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    rows = [
        _plan("discharge_usual_residence", "93.5", "Q1"),  # line 2: fine
        _plan("discharge_usual_residence", "100.5", "Q2"),  # line 3: a percentage above 100
        _plan("falls_65_plus", "-1"),  # line 4: a negative rate
        _plan("reablement_91_days", "8250"),  # line 5: a percentage, perhaps typed as a count
    ]
    f = write_extract(tmp_path / PLANS.filename, PLANS, rows)
    out = load_extract(con, PLANS, f, Q2, "run1", validator.validate)
    assert out.status == REJECTED
    # Each cell once, by the metric-aware rule (the contract's generic >= 0 is not repeated).
    assert [(p.line, p.column, p.rule) for p in out.problems] == [
        (3, "plan_value", "plan:range"),
        (4, "plan_value", "plan:range"),
        (5, "plan_value", "plan:range"),
    ]
    reasons = [p.reason for p in out.problems]
    assert "discharge_usual_residence" in reasons[0] and "0-100" in reasons[0] and "percentage" in reasons[0]
    assert "falls_65_plus" in reasons[1] and ">= 0" in reasons[1]
    assert "reablement_91_days" in reasons[2]
    summary = out.summary()
    assert "100.5" not in summary and "8250" not in summary  # values are never printed
    assert con.execute("SELECT count(*) FROM plans").fetchall()[0][0] == 0
    stored = con.execute("SELECT line, rule FROM rejects WHERE run_id = 'run1' ORDER BY line").fetchall()
    assert stored == [(3, "plan:range"), (4, "plan:range"), (5, "plan:range")]


def test_implausible_targets_and_tolerances_are_rejected(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    rows = [
        _target("assessments_45_days", "85", "5"),  # line 2: fine
        _target("assessments_45_days", "120", "5", "2024-25"),  # line 3: a percentage above 100
        _target("re_referrals", "20", "-2"),  # line 4: a negative tolerance
        _target("cla_rate", "75.5", "150"),  # line 5: a rate: both fine at any size >= 0
        _target("rhi_72h", "90", "101"),  # line 6: a tolerance wider than the percentage scale
    ]
    f = write_extract(tmp_path / TARGETS.filename, TARGETS, rows)
    out = load_extract(con, TARGETS, f, Q2, "run1", validator.validate)
    assert out.status == REJECTED
    assert [(p.line, p.column, p.rule) for p in out.problems] == [
        (3, "target", "target:range"),
        (4, "amber_tolerance", "tolerance:range"),
        (6, "amber_tolerance", "tolerance:range"),
    ]
    assert "assessments_45_days" in out.problems[0].reason
    assert "re_referrals" in out.problems[1].reason
    assert "rhi_72h" in out.problems[2].reason
