"""The README's main command, end to end on the shipped demo data, as a user runs it.

`scorecard run` runs the Prefect flow in-process on Prefect's embedded server (a fresh
PREFECT_HOME per test module), on copies of data/raw, writing into a temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from metrics.runlock import exclusive_run
from tests.workspace import PERIOD, Workspace

HWB = "E06000061"
# Seed board paper (North Northamptonshire HWB, 5 Dec 2023): plan and reported actual per metric.
SEED = {
    "avoidable_admissions": (250, 260.1, "Not on track to meet target"),
    "falls_65_plus": (1236.0, 439.9, "On track to meet target"),
    "discharge_usual_residence": (94, 95.35, "On track to meet target"),
    "residential_admissions_65_plus": (564, 246, "On track to meet target"),
    "reablement_91_days": (87.4, 84, "Not on track to meet target"),
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    w = Workspace(tmp_path_factory.mktemp("e2e"))
    first = w.run()
    assert first.returncode == 0, first.stdout + first.stderr
    w.first_output = first.stdout + first.stderr  # type: ignore[attr-defined]
    yield w


def test_run_reports_all_five_metrics_near_the_seed_figures(ws: Workspace) -> None:
    m = ws.manifest()
    assert m["status"] == "completed" and m["hwbs"] == [HWB]
    q2 = {r["metric_id"]: r for r in m["results"] if r["period"] == PERIOD and r["hwb_code"] == HWB}
    assert set(q2) == set(SEED)
    for metric_id, (plan, reported, status) in SEED.items():
        r = q2[metric_id]
        assert r["plan"] == plan, metric_id
        assert r["value"] == pytest.approx(reported, rel=0.02), metric_id
        assert r["lower"] < r["value"] < r["upper"], metric_id
        assert r["status"] == status, metric_id  # computed, so the seed paper's two errors do not recur
    # 65+ population of the seed scorecard is the residential admissions denominator.
    assert q2["residential_admissions_65_plus"]["denominator"] == 77_713


def test_outputs_exist_and_are_listed_with_hashes(ws: Workspace) -> None:
    out = ws.reports / PERIOD
    charts = sorted(p.name for p in (out / "charts").iterdir())
    assert charts == sorted(f"{HWB}_{m}.{ext}" for m in SEED for ext in ("png", "svg"))
    assert (ws.warehouse.parent / "data_docs" / PERIOD / "index.html").exists()  # restricted, not published
    listed = {Path(o["path"]).name: o["sha256"] for o in ws.manifest()["outputs"]}
    assert f"bcf_return_{HWB}_{PERIOD}.xlsx" in listed and len(listed[f"bcf_return_{HWB}_{PERIOD}.xlsx"]) == 64
    inputs = ws.manifest()["inputs"]
    assert {i["period"] for i in inputs} == {"2023-24-Q1", PERIOD}
    assert all(len(i["sha256"]) == 64 and i["status"] == "accepted" for i in inputs)
    text = ws.first_output  # type: ignore[attr-defined]
    assert f"bcf_return_{HWB}_{PERIOD}.xlsx" in text and "manifest.json" in text


def test_workbook_cells_match_the_computed_results(ws: Workspace) -> None:
    from metrics.nhse_return import FIRST_DATA_ROW, HEADER_ROW

    wb = openpyxl.load_workbook(ws.reports / PERIOD / f"bcf_return_{HWB}_{PERIOD}.xlsx")
    sheet = wb["Metrics"]
    headers = [c.value for c in sheet[HEADER_ROW + 1]]
    col = {h: i for i, h in enumerate(headers)}
    results = {r["metric_id"]: r for r in ws.manifest()["results"] if r["period"] == PERIOD}
    rows = list(sheet.iter_rows(min_row=FIRST_DATA_ROW + 1, values_only=True))
    assert len(rows) == 5
    from metrics.registry import get

    for row, metric_id in zip(rows, SEED, strict=True):
        r = results[metric_id]
        assert row[col["Metric"]] == get(metric_id).title
        assert row[col["Planned performance"]] == r["plan"]
        assert row[col["Actual performance"]] == pytest.approx(r["value"], rel=1e-12)
        status_col = next(i for h, i in col.items() if h and h.startswith("Assessment of progress"))
        assert row[status_col] == r["status"]


def test_rerun_is_idempotent(ws: Workspace) -> None:
    def counts() -> list[tuple[Any, ...]]:
        return ws.query(
            "SELECT (SELECT count(*) FROM apc_spells), (SELECT count(*) FROM reablement_episodes), "
            "(SELECT count(*) FROM care_home_admissions), (SELECT count(*) FROM population)"
        )

    before_counts, before = counts(), ws.manifest()["results"]
    again = ws.run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert counts() == before_counts  # nothing appended twice
    m = ws.manifest()
    assert all(i["status"] == "unchanged" for i in m["inputs"])  # same SHA-256: skipped
    assert m["results"] == before


def test_second_concurrent_run_is_refused_clearly(ws: Workspace) -> None:
    with exclusive_run(ws.warehouse, "test holding the warehouse"):
        blocked = ws.run()
    assert blocked.returncode == 1
    assert "another run is using the warehouse" in blocked.stdout + blocked.stderr
    assert "test holding the warehouse" in blocked.stdout + blocked.stderr


def test_rejected_extract_fails_the_run_and_names_file_line_column(tmp_path: Path) -> None:
    w = Workspace(tmp_path)
    spells = w.raw / PERIOD / "reablement_episodes.csv"
    lines = spells.read_text().splitlines()
    fields = lines[3].split(",")
    fields[5] = "at home"  # status_91_days on CSV line 4: not one of the allowed codes
    lines[3] = ",".join(fields)
    spells.write_text("\n".join(lines) + "\n")
    done = w.run()
    assert done.returncode == 1
    text = done.stdout + done.stderr
    assert "reablement_episodes.csv: REJECTED" in text and "line 4, column status_91_days" in text
    m = w.manifest()
    reab = next(r for r in m["results"] if r["metric_id"] == "reablement_91_days" and r["period"] == PERIOD)
    assert reab["value"] is None and reab["status"] == "Data not available to assess progress"
    assert "reablement_episodes for 2023-24-Q2 was rejected" in reab["status_reason"]
    other = next(r for r in m["results"] if r["metric_id"] == "avoidable_admissions" and r["period"] == PERIOD)
    assert other["value"] is not None  # unaffected metrics still computed
