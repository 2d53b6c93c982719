"""results.csv / results.parquet: one tidy row per area, metric, period and view, every row valid
against the shipped JSON Schema, suppressed exactly as the page (``publishable``)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest

from metrics.compute.suppression import publishable
from metrics.core.registry import default_scorecard
from metrics.core.results import MetricResult
from metrics.publish.tidy import SCHEMA, columns, tidy_rows, write_results

BASE = MetricResult(
    metric_id="discharge_usual_residence", hwb_code="E06000061", period="2023-24-Q2",
    window_start=dt.date(2023, 4, 1), window_end=dt.date(2023, 9, 30), numerator=950.0, denominator=1000.0,
    value=95.0, lower=93.5, upper=96.3, method="proportion", note="", plan=94.0, assessed_value=95.0,
    projection=None, status="On track to meet target", status_reason="95.0 vs plan 94.0",
)  # fmt: skip


def _results() -> list[MetricResult]:
    # The second area's numerator is 3 (< 5): the count, the value and its CI are withheld.
    small = dataclasses.replace(BASE, hwb_code="E06000062", numerator=3.0, denominator=40.0, value=7.5)
    ytd = dataclasses.replace(BASE, view="rolling_12_months")
    # A month of the quarter (the discharge-delay measures' monthly views).
    month = dataclasses.replace(BASE, view="month_2", window_start=dt.date(2023, 8, 1), window_end=dt.date(2023, 8, 31))
    return [BASE, small, ytd, month]


def test_every_row_matches_the_schema_and_the_page_suppression(tmp_path: Path) -> None:
    rows = tidy_rows(_results(), default_scorecard(), {"E06000061": "North Northamptonshire"}, 5)
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for row in rows:
        validator.validate(row)
    by_area = {(r["area_code"], r["view"]): r for r in rows}
    small = by_area[("E06000062", "quarter")]
    page = publishable(_results()[1], 5)
    assert page["numerator"] == "*" and page["value"] is None
    assert small["numerator"] is None and small["numerator_suppressed"] is True
    assert small["value"] is None and small["lower_95"] is None and small["upper_95"] is None
    assert small["note"] == page["note"]
    full = by_area[("E06000061", "quarter")]
    assert (full["numerator"], full["denominator"], full["value"]) == (950.0, 1000.0, 95.0)
    assert full["headline"] is True and by_area[("E06000061", "rolling_12_months")]["headline"] is False
    assert by_area[("E06000061", "month_2")]["headline"] is False
    assert full["area_name"] == "North Northamptonshire"


def test_csv_and_parquet_hold_the_same_rows_in_the_schema_order(tmp_path: Path) -> None:
    rows = tidy_rows(_results(), default_scorecard(), {}, 5)
    csv_path, parquet_path = write_results(tmp_path, rows)
    assert not list(tmp_path.glob(".*.tmp"))  # written whole: no temporary left
    with open(csv_path, newline="", encoding="utf-8") as fh:
        read = list(csv.DictReader(fh))
    assert list(read[0]) == columns()
    table = pq.read_table(parquet_path).to_pylist()
    assert table == rows
    for got, want in zip(read, rows, strict=True):
        for k, v in want.items():
            shown = "" if v is None else ("true" if v is True else "false" if v is False else str(v))
            assert got[k] == shown, k


def test_a_text_cell_that_a_spreadsheet_would_run_is_neutralised(tmp_path: Path) -> None:
    rows = tidy_rows([dataclasses.replace(BASE, note='=HYPERLINK("x")')], default_scorecard(), {}, 5)
    csv_path, _ = write_results(tmp_path, rows)
    assert "'=HYPERLINK" in csv_path.read_text()


@pytest.mark.parametrize("bad", [{"view": "monthly"}, {"area_code": "X1"}, {"extra": 1}])
def test_the_schema_refuses_rows_that_break_it(bad: dict[str, object]) -> None:
    row = {**tidy_rows([BASE], default_scorecard(), {}, 5)[0], **bad}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(row)


def test_a_column_not_declared_in_the_schema_stops_the_export(tmp_path: Path) -> None:
    """A column filled in tidy_rows but not declared (or declared and not filled) is an error, not a
    column silently missing from the files."""
    row = tidy_rows([BASE], default_scorecard(), {}, 5)[0]
    with pytest.raises(ValueError, match=r"columns not in results.schema.json: \['not_declared'\]"):
        write_results(tmp_path, [{**row, "not_declared": 1.0}])
    short = {k: v for k, v in row.items() if k != "caveats"}
    with pytest.raises(ValueError, match=r"declared but missing: \['caveats'\]"):
        write_results(tmp_path, [short])
    assert not (tmp_path / "results.csv").exists()


def test_plan_significance_beside_the_status_and_never_from_a_withheld_interval() -> None:
    rows = {(r["area_code"], r["view"]): r for r in tidy_rows(_results(), default_scorecard(), {}, 5)}
    # 95.0 (CI 93.5 to 96.3) vs plan 94.0: 94.0 lies in the interval; the status keeps its wording.
    full = rows[("E06000061", "quarter")]
    assert full["plan_significance"] == "plan inside the 95% CI"
    assert full["status"] == "On track to meet target"
    # Plan 93.0 < 93.5: outside.
    lower_plan = dataclasses.replace(BASE, plan=93.0)
    assert tidy_rows([lower_plan], default_scorecard(), {}, 5)[0]["plan_significance"] == "plan outside the 95% CI"
    # The second area's interval is suppressed, so nothing is said about it (it could hint at the value).
    assert rows[("E06000062", "quarter")]["plan_significance"] == ""
