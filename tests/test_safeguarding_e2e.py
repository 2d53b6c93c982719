"""The safeguarding scorecard end to end on the shipped Northamptonshire demo, through the CLI.

One run of ``scorecard run --scorecard safeguarding`` (Prefect embedded) feeds every check: outputs
listed in the manifest, workbook cells equal to the computed (published) results, the HTML page
equal to the workbook, the page in Chromium, and disclosure control over everything published.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from metrics.compute.status import RAG_STATUSES
from metrics.compute.suppression import SUPPRESSED
from metrics.core.registry import metrics_for
from tests.browser import chromium_path
from tests.workspace import PERIOD, Workspace, published_text

LAS = ("E06000061", "E06000062")
METRICS = metrics_for("safeguarding")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str]]:
    w = Workspace(tmp_path_factory.mktemp("sg"))
    done = w.run("--scorecard", "safeguarding")
    assert done.returncode == 0, done.stdout + done.stderr
    yield w, done.stdout + done.stderr


def _out(w: Workspace) -> Path:
    return w.reports / PERIOD / "safeguarding"


def _manifest(w: Workspace) -> dict[str, Any]:
    return dict(json.loads((_out(w) / "manifest.json").read_text()))


def test_run_covers_every_measure_view_and_area(run: tuple[Workspace, str]) -> None:
    w, _ = run
    m = _manifest(w)
    assert m["status"] == "completed" and m["hwbs"] == list(LAS)
    assert all(i["status"] == "accepted" for i in m["inputs"]), [i for i in m["inputs"] if i["status"] != "accepted"]
    assert {i["period"] for i in m["inputs"]} == {"2022-23-Q3", "2022-23-Q4", "2023-24-Q1", PERIOD}
    now = [r for r in m["results"] if r["period"] == PERIOD]
    # The headline (view ""), the declared views and the months computed for SPC (Metric.windows).
    expected = {(mt.id, "" if view == mt.window else view, la) for mt in METRICS for view in mt.windows for la in LAS}
    assert {"month_1", "month_2", "month_3"} <= {v for _, v, _ in expected}
    assert {(r["metric_id"], r["view"], r["hwb_code"]) for r in now} == expected
    assert all(r["status"] in RAG_STATUSES for r in now)
    statuses = {r["status"].split(":")[0] for r in now if not r["view"]}
    assert {"Green", "Amber", "Red", "Context measure"} <= statuses  # the demo shows every kind
    # The BCF outputs of the same quarter are untouched by a safeguarding run.
    assert not (w.reports / PERIOD / "manifest.json").exists()
    drawn = sorted(p.name for p in (_out(w) / "charts").iterdir() if p.name != ".hashes.json")  # the chart keys
    charts = [c for c in drawn if not c.startswith("funnel_")]
    kinds = ("", "_spc")  # the trend chart and the SPC chart beside it
    assert charts == sorted(
        f"{la}_{mt.id}{k}.{ext}" for la in LAS for mt in METRICS for k in kinds for ext in ("png", "svg")
    )
    # Two areas: a funnel plot per metric with a PHE funnel method (not counts or means).
    funnels = {c for c in drawn if c.startswith("funnel_")}
    assert "funnel_cla_rate.svg" in funnels
    assert funnels <= {
        f"funnel_{mt.id}.{ext}" for mt in METRICS if mt.method not in ("count", "mean") for ext in ("png", "svg")
    }
    listed = {Path(o["path"]).name for o in m["outputs"]}
    assert {f"safeguarding_{la}_{PERIOD}.xlsx" for la in LAS} <= listed


def test_demo_headline_figures_are_plausible(run: tuple[Workspace, str]) -> None:
    w, _ = run
    now = {
        (r["metric_id"], r["hwb_code"]): r
        for r in _manifest(w)["results"]
        if r["period"] == PERIOD and r["view"] == "rolling_12_months"
    }
    for la in LAS:
        assert 18 <= now[("re_referrals", la)]["value"] <= 26  # England 22.4% (2023-24)
        assert 80 <= now[("assessments_45_days", la)]["value"] <= 90  # England 85.7%
        assert 74 <= now[("rhi_72h", la)]["value"] <= 86  # partnership report: 80%


def test_workbook_cells_equal_the_published_results(run: tuple[Workspace, str]) -> None:
    w, _ = run
    results = {(r["metric_id"], r["view"], r["hwb_code"]): r for r in _manifest(w)["results"] if r["period"] == PERIOD}
    for la in LAS:
        ws = openpyxl.load_workbook(_out(w) / f"safeguarding_{la}_{PERIOD}.xlsx")["Scorecard"]
        header = [c.value for c in ws[4]]
        rows = {r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=5, values_only=True) if r[0]}
        assert len(rows) == len(METRICS)
        for mt in METRICS:
            row, q = rows[mt.title], results[(mt.id, "", la)]
            # Excel keeps 15 significant digits.
            assert row["Quarter value"] == (None if q["value"] is None else pytest.approx(q["value"], rel=1e-12))
            assert row["Numerator"] == q["numerator"]
            assert row["Status"] == q["status"]
            assert row["Target"] == q["plan"]
            for col, view in (("Year to date", "year_to_date"), ("Rolling 12 months", "rolling_12_months")):
                if view in mt.views:
                    v = results[(mt.id, view, la)]["value"]
                    assert row[col] == (None if v is None else pytest.approx(v, rel=1e-12)), (mt.id, view)
                else:
                    assert row[col] is None


def test_html_headline_matches_the_workbook(run: tuple[Workspace, str]) -> None:
    w, _ = run
    for la in LAS:
        page = (_out(w) / f"safeguarding_{la}_{PERIOD}.html").read_text()
        ws = openpyxl.load_workbook(_out(w) / f"safeguarding_{la}_{PERIOD}.xlsx")["Scorecard"]
        by_title = {r[0]: r for r in ws.iter_rows(min_row=5, values_only=True) if r[0]}
        for mt in METRICS:
            row = page[page.index(f'data-metric="{mt.id}"') :].split("</tr>")[0]
            shown = re.search(r'<td class="num value">([^<]*)</td>', row)
            assert shown is not None
            value = by_title[mt.title][3]
            expected = "n/a" if value is None or value == SUPPRESSED else f"{value:,.{mt.decimals}f}"
            assert shown.group(1) == expected, (la, mt.id)
        assert "Children&#x27;s safeguarding scorecard" in page and "<th>England</th>" in page


def test_page_renders_in_chromium(run: tuple[Workspace, str], tmp_path: Path) -> None:
    import matplotlib.image as mpimg
    from playwright.sync_api import sync_playwright

    w, _ = run
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto((_out(w) / f"safeguarding_{LAS[0]}_{PERIOD}.html").resolve().as_uri())
            assert page.locator("#headline tbody tr").count() == len(METRICS)
            assert page.locator("section.metric .charts > svg").count() == len(METRICS)  # trend charts
            assert page.locator("section.metric figure.spc-chart svg").count() == len(METRICS)
            page.screenshot(path=str(tmp_path / "sg.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert mpimg.imread(tmp_path / "sg.png").std() > 0.05


def test_no_child_or_record_ids_and_no_small_counts_published(run: tuple[Workspace, str]) -> None:
    w, console = run
    ids: set[str] = set()
    for f in w.raw.rglob("cs_*.csv"):
        header, *rows = f.read_text().splitlines()
        cols = header.split(",")
        for name in ("child_id", "contact_id", "assessment_id", "plan_id", "episode_id", "missing_id"):
            if name in cols:
                i = cols.index(name)
                ids.update(r.split(",")[i] for r in rows)
    assert len(ids) > 1000
    tokens = set(re.findall(r"[A-Za-z0-9_-]{6,}", published_text(_out(w)) + console))
    assert not ids & tokens
    results = _manifest(w)["results"]
    assert any(r["numerator"] == SUPPRESSED for r in results), "the demo has small categories to suppress"
    for r in results:
        n = r["numerator"]
        assert n in (SUPPRESSED, None) or n == 0 or n >= 5, (r["metric_id"], r["view"], n)
    # Secondary suppression: no category group leaves exactly one cell suppressed.
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for r in results:
        if r["metric_id"].startswith("cp_category_"):
            groups.setdefault((r["hwb_code"], r["period"], r["view"]), []).append(r["numerator"])
    assert groups and all(g.count(SUPPRESSED) != 1 for g in groups.values())
    for la in LAS:
        ws = openpyxl.load_workbook(_out(w) / f"safeguarding_{la}_{PERIOD}.xlsx")["Scorecard"]
        for row in ws.iter_rows(min_row=5, values_only=True):
            assert not (isinstance(row[6], int | float) and 0 < row[6] < 5), row


def test_tidy_results_and_manifest_match_their_schemas(run: tuple[Workspace, str]) -> None:
    from tests.schemas import schema_problems

    assert schema_problems(_out(run[0])) == []
