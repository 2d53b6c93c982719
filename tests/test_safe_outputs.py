"""Safe to open: GX Data Docs with a hostile cell value, opened in Chromium offline; Prefect artifact
Markdown with hostile text. (Excel formula injection: tests/test_nhse_return.py.)"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import markdown
import pytest

from metrics import warehouse
from metrics.contracts import EXTRACTS
from metrics.core.periods import Period
from metrics.core.registry import scorecard
from metrics.core.results import MetricResult
from metrics.ingest.load import load_extract
from metrics.validate.datadocs import sanitise_html
from metrics.validate.gx import Validator
from pipelines.artifacts import area_key, md_code, md_text, outputs_markdown, scorecard_markdown
from tests.browser import watched_page
from tests.workspace import ROOT

PERIOD = Period.parse("2023-24-Q2")
HOSTILE = "<img src=x onerror=alert(1)>"
SUITE = "apc_spells_2023-24-Q2"


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data Docs of one accepted and one rejected extract, the rejected one holding ``HOSTILE`` in a
    text column (primary_diagnosis, which must match the ICD-10 pattern)."""
    base = tmp_path_factory.mktemp("datadocs")
    src = ROOT / "data" / "raw" / PERIOD.label
    lines = (src / "apc_spells.csv").read_text().splitlines()
    fields = lines[2].split(",")
    fields[lines[0].split(",").index("primary_diagnosis")] = f'"{HOSTILE}"'
    lines[2] = ",".join(fields)
    bad = base / "apc_spells.csv"
    bad.write_text("\n".join(lines) + "\n")
    con = duckdb.connect(":memory:")
    warehouse.initialise(con)
    validator = Validator(base / "docs")
    spells = load_extract(con, EXTRACTS["apc_spells"], bad, PERIOD, "t", validator.validate, force=True)
    assert spells.status == "rejected"
    assert any(p.line == 3 and p.column == "primary_diagnosis" for p in spells.problems)
    plans = load_extract(con, EXTRACTS["plans"], src / "plans.csv", PERIOD, "t", validator.validate, force=True)
    assert plans.status == "accepted"
    con.close()
    # Data Docs are built once, at the end of the run, never half-way through it.
    assert not (base / "docs").exists()
    # Why the rewrite exists: GX 1.24 puts the cell value into its page as markup, and loads CDNs.
    validator.render(base / "gx-own")
    raw = next((base / "gx-own" / "validations" / SUITE).rglob("*.html")).read_text()
    assert "onerror=alert(1)" in raw and "cdn.jsdelivr.net" in raw
    validator.finish()
    assert not [p for p in base.iterdir() if p.name.startswith(".")]  # no staging folder left
    return base / "docs"


def test_no_page_keeps_a_script_a_handler_or_a_remote_url(docs: Path) -> None:
    pages = list(docs.rglob("*.html"))
    assert len(pages) >= 5  # index, 2 validation results, 2 expectation suites
    for page in pages:
        text = page.read_text()
        assert "<script" not in text.lower(), page
        assert not re.search(r"\son\w+\s*=", text, re.I), page
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|javascript:)""", text, re.I), page
        assert "Content-Security-Policy" in text and "script-src 'none'" in text.replace("&#x27;", "'"), page
    assert sanitise_html(pages[0].read_text()) == pages[0].read_text()  # idempotent


def test_data_docs_open_offline_in_chromium_without_running_the_value(docs: Path) -> None:
    with watched_page() as (page, seen):
        page.goto((docs / "index.html").resolve().as_uri())
        rows = page.locator("#validation-results tbody tr")
        assert rows.count() == 2
        listed = rows.all_inner_texts()
        assert any(SUITE in r and "Failed" in r for r in listed), listed
        assert any("plans_2023-24-Q2" in r and "Succeeded" in r for r in listed), listed
        page.locator(f"#validation-results a:text('{SUITE}')").click()
        page.wait_for_load_state("load")
        assert "validations" in page.url
        body = page.inner_text("body")
        assert "primary_diagnosis" in body and "Failed" in body
        page.wait_for_timeout(500)  # an onerror handler would have fired by now
        for other in docs.rglob("*.html"):
            page.goto(other.resolve().as_uri())
        page.wait_for_timeout(300)
    assert seen.dialogs == []
    assert seen.remote_requests == []
    assert seen.errors == []


def _rendered(md: str) -> str:
    return markdown.markdown(md, extensions=["tables"])


def test_scorecard_artifact_escapes_text_from_extracts() -> None:
    card = scorecard("bcf")
    hostile_area = "E06|<script>alert(1)</script>[x](javascript:alert(1))`y`"
    r = MetricResult(
        metric_id="avoidable_admissions",
        hwb_code=hostile_area,
        period=PERIOD.label,
        window_start=dt.date(2023, 4, 1),
        window_end=dt.date(2023, 9, 30),
        numerator=100,
        denominator=100000,
        value=100.0,
        lower=90.0,
        upper=110.0,
        method="dsr",
        note="",
        plan=250,
        assessed_value=100.0,
        projection=None,
        status="On track to meet target",
        status_reason="",
    )
    html_out = _rendered(scorecard_markdown(PERIOD, [r], 5, card))
    assert "<script" not in html_out and "<a " not in html_out and "<code>" not in html_out
    row = re.findall(r"<tr>\s*(.*?)</tr>", html_out, re.S)[1]
    assert len(re.findall(r"<td", row)) == 8  # the | did not split the cell (7 columns and the caveat)
    assert "&lt;script&gt;" in row and "[x](javascript:alert(1))" in row


def test_text_and_code_helpers() -> None:
    assert _rendered(md_text("a | *b* <i>c</i> _d_ ![e](f)")) == "<p>a | *b* &lt;i&gt;c&lt;/i&gt; _d_ ![e](f)</p>"
    assert md_text("~~gone~~") == r"\~\~gone\~\~"  # GFM strikethrough (Python-Markdown has none)
    assert _rendered(md_code("/data/a`b<i>/x.html")) == "<p><code>/data/a`b&lt;i&gt;/x.html</code></p>"
    assert md_text("line\nbreak") == "line break"


def test_outputs_are_listed_as_paths_not_file_links(tmp_path: Path) -> None:
    odd = tmp_path / "reports [v2]" / "scorecard_<b>x</b>_2023-24-Q2.html"
    md = outputs_markdown(
        [tmp_path / "c.png"], [odd, tmp_path / "r.xlsx"], tmp_path / "index.html", tmp_path / "manifest.json"
    )
    assert "file://" not in md and "](" not in md
    out = _rendered(md)
    assert "<b>" not in out and "<a " not in out
    assert f"<code>{str(odd.resolve()).replace('<', '&lt;').replace('>', '&gt;')}</code>" in out


def test_artifact_keys_name_the_area() -> None:
    assert area_key("all") == "all"
    assert area_key(["E06000061"]) == "e06000061"
    assert area_key(["E06000062", "E06000061"]) == "e06000061-e06000062"
    many = area_key([f"E0600006{i}" for i in range(5)])
    assert many.startswith("5-areas-") and re.fullmatch(r"[a-z0-9-]+", many)


def test_the_html_scorecard_runs_nothing_from_an_extract_in_chromium(tmp_path: Path) -> None:
    """A hostile area name and note (as an extract could carry) render as text: no dialog fires and
    the page makes no request (it is self-contained)."""
    from tests.test_html_templates import _page

    hostile = '<img src=x onerror=alert(1)><script>alert(2)</script>" onload="alert(3)'
    page_path = tmp_path / "scorecard.html"
    page_path.write_text(_page(tmp_path, hwb_name=hostile), encoding="utf-8")
    with watched_page() as (page, seen):
        page.goto(page_path.resolve().as_uri())
        page.wait_for_timeout(500)
        shown = page.inner_text("body")
    assert seen.dialogs == []
    assert seen.remote_requests == []
    assert "<img src=x onerror=alert(1)>" in shown  # shown as text, not run
