"""The 2025-26 BCF core metrics, end to end on the shipped demo: ``scorecard run --period 2025-26-Q2``
as the README gives it (real Prefect embedded server, DuckDB file, GX, workbook and page)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from metrics.core.registry import get, metric_set, metrics_for, scorecard
from tests.workspace import Workspace

HWB = "E06000061"
PERIOD = "2025-26-Q2"
CORE = list(metric_set(scorecard("bcf"), "2025-26").metric_ids)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    w = Workspace(tmp_path_factory.mktemp("core"))
    done = w.run("--period", PERIOD)  # the later --period wins over the workspace's default one
    assert done.returncode == 0, done.stdout + done.stderr
    return w


def _manifest(ws: Workspace) -> dict[str, Any]:
    return dict(json.loads((ws.reports / PERIOD / "manifest.json").read_text()))


def test_the_core_metrics_are_the_headline_set_and_each_has_a_figure_and_a_status(ws: Workspace) -> None:
    assert {"emergency_admissions_65_plus", "discharge_on_ready_date", "care_home_admissions_65_plus"} <= set(CORE)
    rows = {
        r["metric_id"]: r
        for r in _manifest(ws)["results"]
        if r["period"] == PERIOD and r["hwb_code"] == HWB and not r["view"]
    }
    assert set(rows) == {m.id for m in metrics_for("bcf")}  # earlier sets still computed, as supporting
    for metric_id in CORE:
        r = rows[metric_id]
        assert r["lower"] < r["value"] < r["upper"], metric_id
        assert r["plan"] is not None, metric_id
        assert r["status"] in ("On track to meet target", "Not on track to meet target"), metric_id
    # Plausible demo values: most acute discharges leave on their Discharge Ready Date, and the
    # average delay of the delayed ones is longer than the average over all of them.
    assert 80 < rows["discharge_on_ready_date"]["value"] < 95
    assert rows["discharge_delay_days_excl_zero"]["value"] > rows["discharge_delay_days"]["value"] > 0


def test_discharge_delays_carry_the_quarter_s_months(ws: Workspace) -> None:
    with open(ws.reports / PERIOD / "results.csv", newline="", encoding="utf-8") as fh:
        months = {
            (r["metric_id"], r["view"], r["window_start"])
            for r in csv.DictReader(fh)
            if r["period"] == PERIOD and r["view"].startswith("month_")
        }
    for metric_id in ("discharge_on_ready_date", "discharge_delay_days"):
        assert {(v, start) for m, v, start in months if m == metric_id} == {
            ("month_1", "2025-07-01"),
            ("month_2", "2025-08-01"),
            ("month_3", "2025-09-01"),
        }


def test_the_return_lists_the_2025_26_set_in_order(ws: Workspace) -> None:
    from metrics.publish.nhse_return import FIRST_DATA_ROW, HEADER_ROW

    book = ws.reports / PERIOD / f"bcf_return_{HWB}_{PERIOD}.xlsx"
    sheet = openpyxl.load_workbook(book)["Metrics"]
    metric_col = [c.value for c in sheet[HEADER_ROW + 1]].index("Metric")
    titles = [
        row[metric_col]
        for row in sheet.iter_rows(min_row=FIRST_DATA_ROW + 1, max_row=FIRST_DATA_ROW + len(CORE), values_only=True)
    ]
    assert titles == [get(m).title for m in CORE]
    assert sheet.cell(FIRST_DATA_ROW + len(CORE) + 1, 1).value is None  # nothing more in the table


def test_the_page_heads_with_the_core_metrics_then_the_supporting_measures(ws: Workspace) -> None:
    page = (ws.reports / PERIOD / f"scorecard_{HWB}_{PERIOD}.html").read_text(encoding="utf-8")
    headline = page[page.index('id="headline"') :]
    headline = headline[: headline.index("</table>")]
    shown = [m for m in CORE if f'data-metric="{m}"' in headline]
    assert shown == CORE
    assert "Supporting measures" in page
    assert 'data-metric="reablement_91_days"' not in headline  # a 2023-25 metric, supporting in 2025-26


def test_ran_from_the_shipped_demo(ws: Workspace) -> None:
    assert (Path(ws.raw) / PERIOD / "apc_spells.csv").is_file()
    header = (Path(ws.raw) / PERIOD / "apc_spells.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "discharge_ready_date" in header.split(",")


def test_tidy_results_and_manifest_match_their_schemas(ws: Workspace) -> None:
    from tests.schemas import schema_problems

    assert schema_problems(ws.reports / PERIOD) == []
