"""Comparisons end to end on generated data, as docs/methods/comparisons.md gives the commands.

1. Three varied East Midlands areas through ``scorecard run --comparators demo_comparators.csv``:
   England and region comparisons (from the synthetic file, which every output names), peer ranks,
   funnel plots labelled by significance, on the page, the workbooks and results.csv alike.
2. All ten East Midlands areas through ingest and compute only: the region's comparator is computed
   from the run's records, and equals the pooled numerators over the pooled denominators.
"""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest

from metrics.compute import comparisons as cmp
from metrics.core.registry import get
from tests.workspace import SCORECARD, Workspace

PERIOD = "2023-24-Q2"
AREAS = ("E06000061", "E06000062", "E10000024")
VERDICTS = {"better", "similar", "worse", "higher", "lower", "not compared"}


def _generate(out: Path, *where: str, scale: str = "0.2") -> None:
    cmd = [str(SCORECARD), "generate", "--out", str(out), *where, "--varied", "--population-scale", scale]
    done = subprocess.run(
        [*cmd, "--periods", "2023-24-Q1", PERIOD], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("multi")
    _generate(root / "generated", *(a for code in AREAS for a in ("--hwb", code)))
    w = Workspace(root / "run", raw=root / "generated")
    done = w.run("--comparators", "metrics/reference/demo_comparators.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    return w


def _rows(ws: Workspace) -> list[dict[str, str]]:
    with open(ws.reports / PERIOD / "results.csv", newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["period"] == PERIOD and r["headline"] == "true"]


def test_results_carry_england_region_and_peer_comparisons(ws: Workspace) -> None:
    rows = _rows(ws)
    assert {r["area_code"] for r in rows} == set(AREAS)
    assert {r["england_comparison"] for r in rows} <= VERDICTS
    # The synthetic comparators give verdicts both ways somewhere, and each names its source.
    assert {"better", "worse", "similar"} <= {r["england_comparison"] for r in rows}
    for r in rows:
        assert r["comparison_level"] == "95.0" and r["region"] == "East Midlands"
        if r["england_value"]:
            assert r["england_source"].startswith("demo_comparators.csv: Synthetic example value")
            assert "SYNTHETIC" in r["england_source"]
        # Three of the ten East Midlands areas: the region is not computed from the run.
        assert "pooled" not in r["region_source"]
    # Every peer group lists four peers; the run holds two of them for each area (the third area
    # of the run is E10000024, a peer of both Northamptonshires and they of it).
    ranked = [r for r in rows if r["peer_rank"]]
    assert ranked and all(r["peer_count"] == "3" and "2 of 4 peers" in r["peer_source"] for r in ranked)


def test_verdicts_follow_the_interval_and_polarity(ws: Workspace) -> None:
    for r in _rows(ws):
        if not r["england_value"] or not r["lower_95"]:
            assert r["england_comparison"] == "not compared"
            continue
        lo, hi, eng = float(r["lower_95"]), float(r["upper_95"]), float(r["england_value"])
        assert r["england_comparison"] == cmp.classify(lo, hi, eng, get(r["metric_id"]).polarity)


def test_funnel_plots_label_each_area_by_significance(ws: Workspace) -> None:
    charts = ws.reports / PERIOD / "charts"
    drawn = {p.stem.removeprefix("funnel_") for p in charts.glob("funnel_*.svg")}
    # Proportions, rates, DSR, ISR and the ratio get a funnel; means and counts do not.
    assert {"discharge_usual_residence", "emergency_admissions_65_plus", "falls_65_plus"} <= drawn
    assert {"avoidable_admissions", "avoidable_admissions_ratio"} <= drawn
    assert "discharge_delay_days" not in drawn
    svg = (charts / "funnel_discharge_usual_residence.svg").read_text(encoding="utf-8")
    labels = re.findall(r"North Northamptonshire: (High \(0\.0[02][15]\)|Low \(0\.0[02][15]\)|Not significant)", svg)
    assert labels, "the area's point is labelled with its significance"
    assert "99.8% limits" in svg and "95% limits" in svg


def test_the_page_shows_the_comparisons_and_the_funnel(ws: Workspace) -> None:
    page = (ws.reports / PERIOD / f"scorecard_E06000061_{PERIOD}.html").read_text(encoding="utf-8")
    section = page[page.index('id="comparisons"') :]
    assert "Comparisons with England, region and peers" in section
    assert 'id="funnel-discharge_usual_residence"' in section and "<svg" in section
    rows = {r["metric_id"]: r for r in _rows(ws) if r["area_code"] == "E06000061"}
    verdict = rows["discharge_usual_residence"]["england_comparison"]
    row = section[section.index('id="comparison-discharge_usual_residence"') :]
    assert f">{verdict}</td>" in row[: row.index("</tr>")]
    assert "demo_comparators.csv" in section


def test_the_workbook_comparisons_sheet_matches_results(ws: Workspace) -> None:
    book = openpyxl.load_workbook(ws.reports / PERIOD / f"bcf_return_E06000061_{PERIOD}.xlsx")
    sheet = book["Comparisons"]
    header = [c.value for c in sheet[1]]
    got = {
        row[0]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]
    }
    rows = {get(r["metric_id"]).title: r for r in _rows(ws) if r["area_code"] == "E06000061"}
    shown = [t for t in got if t in rows]
    assert shown
    for title in shown:
        assert got[title]["Compared with England"] == rows[title]["england_comparison"]
        assert got[title]["Compared with region"] == rows[title]["region_comparison"]


def test_a_whole_region_is_computed_from_the_run(tmp_path: Path) -> None:
    """Every East Midlands HWB, ingest and compute only (no outputs): the region's comparator is the
    pooled figure - here checked for the rate and proportion metrics as total numerator over total
    denominator, from the areas' own results; at 99.8% no more areas differ from it than at 95%."""
    from metrics.compute.run import available_hwbs, compute_period
    from metrics.core.paths import RunPaths
    from metrics.core.periods import Period
    from metrics.ingest.run import ingest_periods, periods_to_load

    raw = tmp_path / "raw"
    _generate(raw, "--region", "East Midlands", scale="0.05")
    paths = RunPaths(raw, tmp_path / "warehouse.duckdb", tmp_path / "reports")
    target = Period.parse(PERIOD)
    periods = [p for p in periods_to_load(target, raw) if p == target]
    loads = ingest_periods(paths, periods, "region", paths.data_docs(target))
    hwbs = available_hwbs(paths, target)
    assert len(hwbs) == 10
    results = compute_period(paths, target, hwbs, loads, "region")
    checked = 0
    for metric_id in ("emergency_admissions_65_plus", "discharge_usual_residence", "discharge_on_ready_date"):
        m = get(metric_id)
        mine = [r for r in results if r.metric_id == metric_id and not r.view]
        pooled = sum(r.numerator or 0 for r in mine) / sum(r.denominator or 0 for r in mine) * m.multiplier
        for r in mine:
            assert r.region == "East Midlands"
            assert r.region_source == "this run: pooled from the records of its 10 areas"
            assert r.region_value == pytest.approx(pooled, rel=1e-12)
            assert r.england_source.startswith("no England value")  # not all of England, no file row
            checked += 1
    assert checked == 30
    wide = compute_period(paths, target, hwbs, loads, "region-998", comparing=cmp.Settings(level=99.8))
    flagged = {
        lvl: sum(r.region_comparison in ("better", "worse") for r in rs) for lvl, rs in ((95, results), (99.8, wide))
    }
    assert flagged[99.8] <= flagged[95]
    assert {r.comparison_level for r in wide} == {99.8}
