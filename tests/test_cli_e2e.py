"""The README's main command, end to end on the shipped demo data, as a user runs it.

`scorecard run` runs the Prefect flow in-process on Prefect's embedded server (a fresh
PREFECT_HOME per test module), on copies of data/raw, writing into a temporary folder.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from metrics.core.registry import metric_set, metrics_for, scorecard
from metrics.synthetic.bcf import HISTORY_PERIODS
from metrics.warehouse.runlock import exclusive_run
from tests.browser import chromium_path, pdftoppm_path
from tests.workspace import PERIOD, Workspace

HWB = "E06000061"
# Seed board paper (North Northamptonshire HWB, 5 Dec 2023): plan and reported actual per metric.
SEED = {
    "avoidable_admissions": (250, 260.1, "Not on track to meet target"),
    "falls_65_plus": (1236.0, 439.9, "On track to meet target"),
    "discharge_usual_residence": (94, 95.35, "On track to meet target"),
    "residential_admissions_65_plus": (564, 246, "On track to meet target"),
    # The seed's 84% mixed in discharges still inside their 91 days; the corrected in-year cohort at
    # Q2 is Q1's discharges (seed 81/95 = 85.3%) and those of 1 July: not on track against 87.4.
    "reablement_91_days": (87.4, 85.3, "Not on track to meet target"),
}
# Every BCF metric in order: the five of the seed paper and the supporting measures (no seed figure).
ALL = [m.id for m in metrics_for("bcf")]
# The headline metrics of the period's year (scorecard.toml [years]): the return and the headline table.
SET = list(metric_set(scorecard("bcf"), "2023-24").metric_ids)


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
    q2 = {r["metric_id"]: r for r in m["results"] if r["period"] == PERIOD and r["hwb_code"] == HWB and not r["view"]}
    assert set(q2) == set(ALL) >= set(SEED)
    for metric_id, (plan, reported, status) in SEED.items():
        r = q2[metric_id]
        assert r["plan"] == plan, metric_id
        assert r["value"] == pytest.approx(reported, rel=0.02), metric_id
        assert r["lower"] < r["value"] < r["upper"], metric_id
        assert r["status"] == status, metric_id  # computed, so the seed paper's two errors do not recur
    # 65+ population of the seed scorecard is the residential admissions denominator.
    assert q2["residential_admissions_65_plus"]["denominator"] == 77_713


def test_a_successful_run_ends_without_shutdown_noise(ws: Workspace) -> None:
    # DuckDB's nanobind bindings print "nanobind: leaked ..." at exit when a DuckDB type stays
    # referenced from a module-level typing alias; an analyst reads that as a failure.
    out: str = ws.first_output  # type: ignore[attr-defined]
    assert "Manifest:" in out
    assert "nanobind" not in out and "leaked" not in out


def test_outputs_exist_and_are_listed_with_hashes(ws: Workspace) -> None:
    out = ws.reports / PERIOD
    charts = sorted(p.name for p in (out / "charts").iterdir() if p.name != ".hashes.json")
    assert (out / "charts" / ".hashes.json").is_file()  # each chart's content key (redrawn only when it changes)
    # The trend chart and, beside it, the SPC chart of each metric.
    assert charts == sorted(f"{HWB}_{m}{kind}.{ext}" for m in ALL for kind in ("", "_spc") for ext in ("png", "svg"))
    assert (ws.warehouse.parent / "data_docs" / PERIOD / "index.html").exists()  # restricted, not published
    listed = {Path(o["path"]).name: o["sha256"] for o in ws.manifest()["outputs"]}
    assert f"bcf_return_{HWB}_{PERIOD}.xlsx" in listed and len(listed[f"bcf_return_{HWB}_{PERIOD}.xlsx"]) == 64
    inputs = ws.manifest()["inputs"]
    # The year to date and the three years of history before it (metrics/ingest/run.py HISTORY_QUARTERS).
    assert {i["period"] for i in inputs} == {*HISTORY_PERIODS, "2023-24-Q1", PERIOD}
    assert all(len(i["sha256"]) == 64 and i["status"] == "accepted" for i in inputs)
    text = ws.first_output  # type: ignore[attr-defined]
    assert f"bcf_return_{HWB}_{PERIOD}.xlsx" in text and "manifest.json" in text


def test_workbook_cells_match_the_computed_results(ws: Workspace) -> None:
    from metrics.publish.nhse_return import FIRST_DATA_ROW, HEADER_ROW

    wb = openpyxl.load_workbook(ws.reports / PERIOD / f"bcf_return_{HWB}_{PERIOD}.xlsx")
    sheet = wb["Metrics"]
    headers = [c.value for c in sheet[HEADER_ROW + 1]]
    col = {h: i for i, h in enumerate(headers)}
    results = {r["metric_id"]: r for r in ws.manifest()["results"] if r["period"] == PERIOD and not r["view"]}
    # One row per metric, a blank row, then the reference data caveats (the ISR is provisional).
    rows = list(sheet.iter_rows(min_row=FIRST_DATA_ROW + 1, max_row=FIRST_DATA_ROW + len(SET), values_only=True))
    assert len(rows) == len(SET) and sheet.cell(FIRST_DATA_ROW + len(SET) + 1, 1).value is None
    assert sheet.cell(FIRST_DATA_ROW + len(SET) + 2, 1).value == "Reference data caveats"
    from metrics.core.registry import get

    for row, metric_id in zip(rows, SET, strict=True):
        r = results[metric_id]
        assert row[col["Metric"]] == get(metric_id).title
        assert row[col["Planned performance"]] == r["plan"]
        if r["value"] is None:  # withheld (e.g. the ASCOF reablement cohort before it is complete)
            assert row[col["Actual performance"]] is None
        else:
            assert row[col["Actual performance"]] == pytest.approx(r["value"], rel=1e-12)
        status_col = next(i for h, i in col.items() if h and h.startswith("Assessment of progress"))
        assert row[status_col] == r["status"]


def test_tidy_results_equal_the_workbook_and_are_listed(ws: Workspace) -> None:
    """results.csv / results.parquet carry the workbook's figures for the quarter's headline rows."""
    import pyarrow.parquet as pq

    from metrics.publish.nhse_return import FIRST_DATA_ROW, HEADER_ROW

    out = ws.reports / PERIOD
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        tidy = [
            r
            for r in csv.DictReader(fh)
            if r["period"] == PERIOD and r["headline"] == "true" and r["metric_role"] == "headline"
        ]
    assert pq.read_table(out / "results.parquet").num_rows >= len(tidy) == len(SET)
    sheet = openpyxl.load_workbook(out / f"bcf_return_{HWB}_{PERIOD}.xlsx")["Metrics"]
    col = {h: i for i, h in enumerate(c.value for c in sheet[HEADER_ROW + 1])}
    book = {row[col["Metric"]]: row for row in sheet.iter_rows(min_row=FIRST_DATA_ROW + 1, values_only=True)}
    status_col = next(i for h, i in col.items() if h and h.startswith("Assessment of progress"))
    for r in tidy:
        row = book[r["metric_title"]]
        if r["value"] == "":
            assert row[col["Actual performance"]] is None
        else:
            assert float(r["value"]) == pytest.approx(row[col["Actual performance"]], rel=1e-12)
        assert (float(r["plan_or_target"]) if r["plan_or_target"] else None) == row[col["Planned performance"]]
        assert r["status"] == row[status_col]
    listed = {Path(o["path"]).name for o in ws.manifest()["outputs"]}
    assert {"results.csv", "results.parquet"} <= listed


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
    assert blocked.returncode == 3  # environment: the warehouse is taken
    assert "another run is using the warehouse" in blocked.stdout + blocked.stderr
    assert "test holding the warehouse" in blocked.stdout + blocked.stderr
    assert "--wait" in blocked.stderr and "Traceback" not in blocked.stdout + blocked.stderr


def test_run_with_wait_queues_behind_the_holder(ws: Workspace) -> None:
    """``--wait``: the run says once that it is waiting for the holder, then runs when it lets go."""
    import subprocess

    proc = subprocess.Popen(ws.command("--wait"), env=ws.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None and proc.stdout is not None
    seen = []
    with exclusive_run(ws.warehouse, "test holding the warehouse briefly"):
        for line in proc.stderr:  # held until the run reports that it is waiting (or ends)
            seen.append(line)
            if "waiting for" in line:
                break
    err = "".join(seen) + proc.stderr.read()
    out = proc.stdout.read()
    assert proc.wait(timeout=600) == 0, out + err
    assert err.count("waiting for test holding the warehouse briefly") == 1, err


def test_rejected_extract_fails_the_run_and_names_file_line_column(tmp_path: Path) -> None:
    w = Workspace(tmp_path)
    spells = w.raw / PERIOD / "reablement_episodes.csv"
    lines = spells.read_text().splitlines()
    fields = lines[3].split(",")
    fields[6] = "at home"  # status_91_days on CSV line 4: not one of the allowed codes
    lines[3] = ",".join(fields)
    spells.write_text("\n".join(lines) + "\n")
    done = w.run()
    assert done.returncode == 1
    text = done.stdout + done.stderr
    assert "reablement_episodes.csv: REJECTED" in text and "line 4, column status_91_days" in text
    # Printed once (not also by Prefect's log and its exception traceback), with no traceback.
    assert text.count("line 4, column status_91_days") == 1 and "Traceback" not in text
    m = w.manifest()
    reab = next(r for r in m["results"] if r["metric_id"] == "reablement_91_days" and r["period"] == PERIOD)
    assert reab["value"] is None and reab["status"] == "Data not available to assess progress"
    assert "reablement_episodes for 2023-24-Q2 was rejected" in reab["status_reason"]
    other = next(r for r in m["results"] if r["metric_id"] == "avoidable_admissions" and r["period"] == PERIOD)
    assert other["value"] is not None  # unaffected metrics still computed


def _headline(html_text: str) -> dict[str, dict[str, str]]:
    """The scorecard's headline table as {metric_id: {cell class: text}}, read with the stdlib parser."""
    from html.parser import HTMLParser

    rows: dict[str, dict[str, str]] = {}

    class P(HTMLParser):
        metric: str | None = None
        cell: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "tr" and a.get("data-metric"):
                self.metric = a["data-metric"]
                rows[self.metric] = {}
            elif self.metric and tag in ("td", "span") and a.get("class"):
                self.cell = (a["class"] or "").split()[-1]

        def handle_endtag(self, tag: str) -> None:
            if tag == "tr":
                self.metric = None

        def handle_data(self, data: str) -> None:
            if self.metric and self.cell:
                rows[self.metric][self.cell] = rows[self.metric].get(self.cell, "") + data.strip()

    P().feed(html_text)
    return rows


def test_html_scorecard_and_workbook_show_the_same_figures(ws: Workspace) -> None:
    from metrics.core.registry import get
    from metrics.publish.nhse_return import FIRST_DATA_ROW, HEADER_ROW

    page = (ws.reports / PERIOD / f"scorecard_{HWB}_{PERIOD}.html").read_text()
    table = _headline(page)
    assert list(table) == SET + [m for m in ALL if m not in SET]  # headline metrics, then supporting ones
    sheet = openpyxl.load_workbook(ws.reports / PERIOD / f"bcf_return_{HWB}_{PERIOD}.xlsx")["Metrics"]
    headers = [c.value for c in sheet[HEADER_ROW + 1]]
    actual, status = (
        headers.index("Actual performance"),
        next(i for i, h in enumerate(headers) if h and h.startswith("Assessment of progress")),
    )
    for row, metric_id in zip(
        sheet.iter_rows(min_row=FIRST_DATA_ROW + 1, max_row=FIRST_DATA_ROW + len(SET), values_only=True),
        SET,
        strict=True,
    ):
        m = get(metric_id)
        assert table[metric_id]["value"] == ("n/a" if row[actual] is None else f"{row[actual]:,.{m.decimals}f}")
        assert table[metric_id]["status-text"] == row[status]
    # Self-contained: no scripts, and nothing loaded from elsewhere (SVG namespace URIs are only names).
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|url\(\s*["']?https?:|@import""", page)


def test_demo_shows_spc_icons_on_three_years_of_months(ws: Workspace) -> None:
    """The demo's 36 months (2020-21 Q3 to 2023-24 Q2) give every monthly metric locked limits and
    Making Data Count icons, on the page and on the SPC chart; the reablement cohort has none."""
    from metrics.core.registry import get

    page = (ws.reports / PERIOD / f"scorecard_{HWB}_{PERIOD}.html").read_text()
    monthly = [m for m in ALL if get(m).monthly]
    assert len(monthly) >= 5
    # One variation icon per monthly metric, and assurance where the metric has a plan and a direction.
    labels = re.findall(r'class="spc-icon" role="img" aria-label="([^"]+)"', page)
    variation = [x for x in labels if "variation" in x]
    assert len(variation) == len(monthly), labels
    assert any(x.startswith("the process will") for x in labels)
    charts = ws.reports / PERIOD / "charts"
    for m in monthly:
        svg = (charts / f"{HWB}_{m}_spc.svg").read_text()
        assert "spc-variation-icon" in svg and "Trial limits" not in svg, m
    falls = (charts / f"{HWB}_falls_65_plus_spc.svg").read_text()
    assert "(in-period month)" in falls and "Monthly values (each month's own numerator and denominator" in falls
    assert "spc-variation-icon" not in (charts / f"{HWB}_reablement_91_days_spc.svg").read_text()


def test_demo_compares_with_england_and_region_from_its_delivered_file(ws: Workspace) -> None:
    """The plain demo command (no --comparators) reads data/raw/comparators.csv: each headline metric
    of the year is compared with England and East Midlands, each comparison naming that file and the
    values' SYNTHETIC status, and the page shows the verdicts."""
    with open(ws.reports / PERIOD / "results.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["period"] == PERIOD and r["area_code"] == HWB]
    headline = {r["metric_id"]: r for r in rows if r["metric_id"] in SET and r["headline"] == "true"}
    assert set(headline) == set(SET), sorted(headline)
    verdicts = {"better", "similar", "worse", "higher", "lower"}
    for m, r in headline.items():
        assert r["england_comparison"] in verdicts and r["region_comparison"] in verdicts, (m, r)
        assert r["england_source"].startswith("comparators.csv: ") and "SYNTHETIC" in r["england_source"], r
    page = (ws.reports / PERIOD / f"scorecard_{HWB}_{PERIOD}.html").read_text()
    assert "East Midlands" in page and "comparators.csv" in page
    # The manifest names the delivered file with its SHA-256 (no path), and its inputs digest covers it.
    delivered = hashlib.sha256((ws.raw / "comparators.csv").read_bytes()).hexdigest()
    assert ws.manifest()["comparison_files"] == [
        {"role": "comparators (delivered)", "name": "comparators.csv", "sha256": delivered}
    ]


def test_html_scorecard_renders_in_chromium_and_prints_to_pdf(ws: Workspace, tmp_path: Path) -> None:
    """As a person sees it: headless Debian Chromium, no console errors, no network, non-blank, PDF opens."""
    import subprocess

    import matplotlib.image as mpimg
    from playwright.sync_api import sync_playwright

    page_path = ws.reports / PERIOD / f"scorecard_{HWB}_{PERIOD}.html"
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_path.resolve().as_uri())
            page.screenshot(path=str(tmp_path / "scorecard.png"), full_page=True)
            assert page.locator("#headline tbody tr").count() == len(SET)
            assert page.locator("section.metric .charts > svg").count() == len(ALL)  # trend charts
            spc = page.locator("section.metric figure.spc-chart svg")
            assert spc.count() == len(ALL)
            boxes = [spc.nth(i).bounding_box() for i in range(len(ALL))]
            assert all(b is not None and b["width"] > 300 for b in boxes), boxes  # drawn, not collapsed
            page.pdf(path=str(tmp_path / "scorecard.pdf"), format="A4", landscape=True, print_background=True)
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    shot = mpimg.imread(tmp_path / "scorecard.png")
    assert shot.shape[0] > 900 and shot.std() > 0.05  # not blank: a full page of content
    assert (shot[..., :3].mean(axis=2) < 0.9).mean() > 0.02
    pdf = tmp_path / "scorecard.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run([pdftoppm_path(), "-png", "-r", "40", str(pdf), str(tmp_path / "pdfpage")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("pdfpage*.png"))
    assert len(pages) >= 6  # headline page + one page per metric
    assert mpimg.imread(pages[0]).std() > 0.05
