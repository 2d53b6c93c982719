"""Whole runs through the CLI, read as a person would: the demo says "synthetic demonstration data" on
every page, sheet and chart, a run on unmarked inputs does not; a failed run says so at the top of the
page and in the Prefect artifact; printed in Chromium, each metric starts its own A4 page, is never split,
and every page carries the footer (area, period, generation time, version).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import openpyxl
import pytest

from metrics.core.periods import Period
from metrics.core.provenance import MARKER
from metrics.core.registry import metric_set, metrics_for, scorecard
from metrics.synthetic import bcf as synthetic_bcf
from metrics.synthetic import safeguarding as synthetic_safeguarding
from tests.browser import chromium_path
from tests.workspace import PERIOD, ROOT, Workspace, published_text

HWB = "E06000061"
PHRASE = "synthetic demonstration data"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    w = Workspace(tmp_path_factory.mktemp("demo"))
    done = w.run()
    assert done.returncode == 0, done.stdout + done.stderr
    return w


@pytest.fixture(scope="module")
def failed_real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str]]:
    """The demo's extracts without their markers (as a real delivery has none), one of them rejected."""
    root = tmp_path_factory.mktemp("real")
    raw = root / "delivered"
    shutil.copytree(ROOT / "data" / "raw", raw)
    for marker in raw.rglob(MARKER):
        marker.unlink()
    w = Workspace(root / "w", raw=raw)
    target = w.raw / PERIOD / "reablement_episodes.csv"
    lines = target.read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    cells[2] = "999"  # age on line 3: out of range, the file is rejected
    lines[2] = ",".join(cells)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = w.run()
    assert done.returncode == 1, done.stdout + done.stderr
    yield w, done.stdout + done.stderr


def _page(w: Workspace, folder: str = "", prefix: str = "scorecard", area: str = HWB) -> Path:
    out = w.reports / PERIOD / folder if folder else w.reports / PERIOD
    return out / f"{prefix}_{area}_{PERIOD}.html"


def test_the_shipped_demo_markers_are_the_generators_output(tmp_path: Path) -> None:
    synthetic_bcf.write_demo(tmp_path)
    synthetic_safeguarding.write_demo(tmp_path)
    made = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob(MARKER)}
    shipped = {p.relative_to(ROOT / "data" / "raw"): p.read_bytes() for p in (ROOT / "data" / "raw").rglob(MARKER)}
    assert made == shipped
    # Every shipped extract is named by its folder's marker.
    for csv_file in (ROOT / "data" / "raw").rglob("*.csv"):
        assert csv_file.name in json.loads((csv_file.parent / MARKER).read_text())["files"], csv_file


def test_demo_says_synthetic_on_the_page_every_sheet_every_chart_and_the_data(demo: Workspace) -> None:
    out = demo.reports / PERIOD
    page = _page(demo).read_text(encoding="utf-8")
    main = page[page.index("<main>") :]
    assert main.index('class="notice synthetic"') < main.index('id="headline"')  # before any figure
    assert "@top-center" in page  # and on every printed page (checked in the PDF below)
    book = openpyxl.load_workbook(out / f"bcf_return_{HWB}_{PERIOD}.xlsx")
    for ws in book.worksheets:
        assert "SYNTHETIC DEMONSTRATION DATA" in (ws.oddHeader.center.text or ""), ws.title
    with zipfile.ZipFile(out / f"bcf_return_{HWB}_{PERIOD}.xlsx") as z:
        drawings = [n for n in z.namelist() if n.startswith("xl/drawings/drawing")]
        assert len(drawings) == len(book.worksheets)
        assert all("Synthetic demonstration data" in z.read(n).decode() for n in drawings)
    svgs = sorted((out / "charts").glob("*.svg"))
    assert len(svgs) == 2 * len(metrics_for("bcf"))
    for svg in svgs:
        assert "SYNTHETIC DEMONSTRATION DATA" in svg.read_text(encoding="utf-8"), svg.name
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        assert {row["synthetic_data"] for row in csv.DictReader(fh)} == {"true"}
    manifest = demo.manifest()
    assert manifest["synthetic_data"].startswith("Synthetic demonstration data:")
    assert all(i["synthetic"] for i in manifest["inputs"] if i["status"] != "missing")


def test_unmarked_inputs_say_nothing_of_synthetic_data(failed_real: tuple[Workspace, str]) -> None:
    w, _ = failed_real
    text = published_text(w.reports).lower()
    assert PHRASE not in text and "synthetic-banner" not in text
    manifest = w.manifest()
    assert manifest["synthetic_data"] == "" and not any(i["synthetic"] for i in manifest["inputs"])
    with open(w.reports / PERIOD / "results.csv", newline="", encoding="utf-8") as fh:
        assert {row["synthetic_data"] for row in csv.DictReader(fh)} == {"false"}


def test_a_failed_run_says_so_at_the_top_of_the_page_and_in_the_artifact(
    failed_real: tuple[Workspace, str], demo: Workspace
) -> None:
    w, _ = failed_real
    page = _page(w).read_text(encoding="utf-8")
    main = page[page.index("<main>") :]
    notice = main[main.index('class="notice run-failed"') :]
    assert main.index('class="notice run-failed"') < main.index('id="headline"')
    notice = notice[: notice.index("</div>")]
    assert "This run failed: 1 of" in notice and f"reablement_episodes {PERIOD}" in notice
    assert "999" not in notice  # files and counts, never values
    assert w.manifest()["notice"].startswith("This run failed") and w.manifest()["status"].startswith("failed")
    # The Prefect artifact, as Prefect stored it for the run (the CLI's embedded Prefect: PREFECT_HOME).
    head = _artifact(w)[: _artifact(w).index("| Area |")]
    assert "> **This run failed: 1 of" in head and PHRASE not in head.lower()
    # A complete run's page and artifact say nothing of the kind; the demo's artifact says synthetic.
    assert 'class="notice run-failed"' not in _page(demo).read_text(encoding="utf-8")
    assert demo.manifest()["notice"] == ""
    demo_head = _artifact(demo)[: _artifact(demo).index("| Area |")]
    assert "This run failed" not in demo_head and "> **Synthetic demonstration data:" in demo_head


def _artifact(w: Workspace, key: str = f"bcf-scorecard-all-{PERIOD.lower()}") -> str:
    """The Prefect markdown artifact as Prefect stored it for the run (the CLI's embedded Prefect keeps
    its database in the workspace's PREFECT_HOME)."""
    con = sqlite3.connect(Path(w.env["PREFECT_HOME"]) / "prefect.db")
    try:
        row = con.execute("SELECT data FROM artifact WHERE key = ? ORDER BY created DESC LIMIT 1", [key]).fetchone()
    finally:
        con.close()
    assert row is not None, key
    data = str(row[0])
    return str(json.loads(data)) if data.startswith('"') else data


def _print(page: Path, pdf: Path) -> list[str]:
    """The page printed by headless Chromium as the browser's own print does (CSS page size), and the
    text of each PDF page (pdftotext)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        try:
            tab = browser.new_page()
            tab.goto(page.resolve().as_uri())
            tab.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)
    assert size is not None and (round(float(size.group(1))), round(float(size.group(2)))) == (842, 595)  # A4 landscape
    texts = []
    for i in range(1, count + 1):
        out = subprocess.run(
            ["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # One space between words; pdftotext may drop the one after a margin box's "·".
        texts.append(re.sub(r"\s*·\s*", " · ", " ".join(out.split())))
    return texts


def _sections_in_order(page: Path) -> list[str]:
    html = page.read_text(encoding="utf-8")
    return [
        unescape(re.sub(r"\s+", " ", t)).strip()
        for t in re.findall(r'<section class="metric" id="[^"]+">\s*<h2>([^<]+)', html)
    ]


def _check_one_page_per_metric(page: Path, pdf: Path, area: str, period: Period, synthetic: bool) -> list[str]:
    texts = _print(page, pdf)
    titles = _sections_in_order(page)
    banner = "SYNTHETIC DEMONSTRATION DATA"
    starts = []
    for i, text in enumerate(texts):
        body = text.removeprefix(banner).strip() if synthetic else text
        # The longest title the page starts with ("Average discharge delay" begins another title too).
        starts.append(max((t for t in titles if body.startswith(t + " ")), key=len, default=None))
        # Every page: the footer with area, period, generation time and version, and its number.
        assert f"({area}) · {period.short_label} · generated " in text and "hwb-scorecard " in text, i + 1
        assert f"Page {i + 1} of {len(texts)}" in text
        assert text.startswith(banner) is synthetic, i + 1
    first = starts.index(titles[0])
    assert starts[:first] == [None] * first and first >= 1  # the summary first
    # Each metric starts a page, in the page's order, one page each: none is split across two.
    assert starts[first : first + len(titles)] == titles
    for i in range(first, first + len(titles)):
        assert texts[i].count("Data quality") == 1, (i + 1, starts[i])  # the section's last item is on its page
    assert all(s is None for s in starts[first + len(titles) :])
    return texts


def test_bcf_page_prints_each_metric_on_its_own_a4_page(demo: Workspace, tmp_path: Path) -> None:
    texts = _check_one_page_per_metric(_page(demo), tmp_path / "bcf.pdf", HWB, Period.parse(PERIOD), True)
    chosen = metric_set(scorecard("bcf"), Period.parse(PERIOD).financial_year)
    assert "Headline metrics" in texts[0] or chosen.declared is None
    # A sensible length: one page per metric, plus the summary and, after the metrics, the
    # comparisons table and the notes (a few pages each at most).
    assert len(texts) <= len(metrics_for("bcf")) + 6


def test_unmarked_page_prints_without_the_banner(failed_real: tuple[Workspace, str], tmp_path: Path) -> None:
    w, _ = failed_real
    texts = _check_one_page_per_metric(_page(w), tmp_path / "real.pdf", HWB, Period.parse(PERIOD), False)
    assert texts[0].startswith("Better Care Fund scorecard: North Northamptonshire E06000061")
    assert "Incomplete run. This run failed" in texts[0]


def test_safeguarding_page_prints_summary_first_then_one_page_per_measure(tmp_path: Path) -> None:
    w = Workspace(tmp_path / "sg")
    done = w.run("--scorecard", "safeguarding", "--hwb", HWB)
    assert done.returncode == 0, done.stdout + done.stderr
    page = _page(w, "safeguarding", "safeguarding")
    texts = _check_one_page_per_metric(page, tmp_path / "sg.pdf", HWB, Period.parse(PERIOD), True)
    # A sensible length: the summary of every measure on the first page, then one page per measure,
    # then the comparisons table (England, region, peers: up to two pages) and the footnotes (one).
    assert len(texts) <= len(metrics_for("safeguarding")) + 4
    for m in metrics_for("safeguarding"):
        assert m.title[:30] in texts[0], m.title
