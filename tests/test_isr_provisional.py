"""Every output that shows the avoidable admissions ISR (and its ratio) marks it provisional while
the declared England reference is not NHSOF's 2012/13 one, and stops once a reference declared
confirmed replaces it (``SCORECARD_REFERENCE_OVERRIDES``).

Each output is read back as a user gets it: the HTML parsed, the workbooks re-opened with openpyxl,
the chart's SVG text, the manifest as JSON, the tidy rows and the artifact Markdown.
"""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from metrics.compute.status import NOT_ON_TRACK
from metrics.core.periods import Period
from metrics.core.reference import OVERRIDES_ENV
from metrics.core.registry import metrics_for, scorecard
from metrics.core.results import MetricResult
from metrics.publish.charts import trend_chart
from metrics.publish.html import render_scorecard
from metrics.publish.manifest import build_manifest, write_manifest
from metrics.publish.nhse_return import FIRST_DATA_ROW, HEADER_ROW, write_return
from metrics.publish.scorecard_workbook import write_scorecard_workbook
from metrics.publish.tidy import tidy_rows
from pipelines.artifacts import scorecard_markdown

PROVISIONAL = "provisional: not comparable with published NHSOF figures"
ISR_IDS = ("avoidable_admissions", "avoidable_admissions_ratio")
HWB, Q2 = "E06000061", Period.parse("2023-24-Q2")
SHIPPED_ACSC = Path(__file__).resolve().parents[1] / "metrics/reference/england_acsc_reference.csv"


def _results() -> list[MetricResult]:
    """One result per BCF metric for the quarter (counts above the suppression threshold)."""

    def one(metric_id: str) -> MetricResult:
        return MetricResult(
            metric_id=metric_id,
            hwb_code=HWB,
            period=Q2.label,
            window_start=Q2.start,
            window_end=Q2.end,
            numerator=120.0,
            denominator=500.0,
            value=24.0,
            lower=20.0,
            upper=28.0,
            method="Byars",
            note="",
            plan=20.0,
            assessed_value=24.0,
            projection=None,
            status=NOT_ON_TRACK,
            status_reason="above plan",
        )

    return [one(m.id) for m in metrics_for("bcf")]


@pytest.fixture(params=["shipped", "confirmed"])
def declared(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    """True while the shipped (illustrative, unconfirmed) reference is in use; False with a replacement
    declared as the confirmed NHSOF 2012/13 reference (same numbers: only the declaration differs)."""
    if request.param == "shipped":
        monkeypatch.delenv(OVERRIDES_ENV, raising=False)
        return True
    (tmp_path / "acsc_2012_13.csv").write_bytes(SHIPPED_ACSC.read_bytes())
    decl = tmp_path / "overrides.toml"
    decl.write_text(
        '[england_acsc_reference]\nfile = "acsc_2012_13.csv"\nwhat = "England 2012/13 ACSC admissions"\n'
        'source = "NHS Digital NHSOF 2.3.i reference year"\nyear = "2012/13"\nstatus = "confirmed"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(OVERRIDES_ENV, str(decl))
    return False


class _Cells(HTMLParser):
    """Text of each headline row's value cell (by data-metric), of each metric section and of the footer."""

    def __init__(self) -> None:
        super().__init__()
        self.value: dict[str, str] = {}
        self.section: dict[str, str] = {}
        self.footer = ""
        self._row = self._section = ""
        self._in_value = self._in_footer = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-metric"):
            self._row = a["data-metric"] or ""
        if tag == "td" and "value" in (a.get("class") or "").split():
            self._in_value = True
        if tag == "section" and a.get("id"):
            self._section = a["id"] or ""
        if tag == "footer":
            self._in_footer = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_value = False
        if tag == "section":
            self._section = ""
        if tag == "footer":
            self._in_footer = False

    def handle_data(self, data: str) -> None:
        if self._in_value and self._row:
            self.value[self._row] = self.value.get(self._row, "") + data
        if self._section:
            self.section[self._section] = self.section.get(self._section, "") + data
        if self._in_footer:
            self.footer += data


def test_html_page(declared: bool) -> None:
    rows = _results()
    page = render_scorecard(metrics_for("bcf"), rows, rows, HWB, "North Northamptonshire", Q2, {}, {}, {}, "x", 5)
    cells = _Cells()
    cells.feed(page)
    for m in metrics_for("bcf"):
        flagged = m.id in ISR_IDS
        assert (PROVISIONAL in cells.value[m.id]) is (flagged and declared), m.id
        assert (PROVISIONAL in cells.section[m.id]) is (flagged and declared), m.id
    assert (PROVISIONAL in cells.footer) is declared
    assert ("england_acsc_reference.csv" in cells.footer) is declared


def _column(ws: openpyxl.worksheet.worksheet.Worksheet, header_row: int, header: str) -> int:
    headers = [c.value for c in ws[header_row]]
    return headers.index(header)


def test_nhse_return_workbook(declared: bool, tmp_path: Path) -> None:
    path = write_return(tmp_path / "r.xlsx", _results(), HWB, "North Northamptonshire", Q2, "2023-11-01T09:00:00")
    wb = openpyxl.load_workbook(path)
    ws = wb["Metrics"]
    col = _column(ws, HEADER_ROW + 1, "Caveat")
    title = _column(ws, HEADER_ROW + 1, "Metric")
    rows = list(ws.iter_rows(min_row=FIRST_DATA_ROW + 1, max_row=FIRST_DATA_ROW + len(_results()), values_only=True))
    by_title = {r[title]: r[col] or "" for r in rows}
    for m in metrics_for("bcf"):
        assert (PROVISIONAL in by_title[m.title]) is (m.id in ISR_IDS and declared), m.id
    below = [str(c.value) for row in ws.iter_rows(min_row=FIRST_DATA_ROW + len(rows) + 1) for c in row if c.value]
    assert any(PROVISIONAL in line for line in below) is declared  # footnoted under the table
    cover = " ".join(str(c.value) for row in wb["Cover"].iter_rows() for c in row if c.value)
    assert (PROVISIONAL in cover) is declared


def test_scorecard_workbook(declared: bool, tmp_path: Path) -> None:
    card = scorecard("bcf")
    path = write_scorecard_workbook(
        tmp_path / "s.xlsx", card, _results(), _results(), HWB, "North Northamptonshire", Q2, "x", 5
    )
    wb = openpyxl.load_workbook(path)
    ws = wb["Scorecard"]
    col = _column(ws, 4, "Caveat")
    by_title = {r[0]: r[col] or "" for r in ws.iter_rows(min_row=5, values_only=True) if r[0]}
    for m in metrics_for("bcf"):
        assert (PROVISIONAL in by_title[m.title]) is (m.id in ISR_IDS and declared), m.id
    notes = {r[0]: r[1] for r in wb["Notes"].iter_rows(values_only=True)}
    assert (PROVISIONAL in (notes.get("Reference data caveats") or "")) is declared


def test_trend_chart_svg(declared: bool, tmp_path: Path) -> None:
    for m in metrics_for("bcf"):
        if m.id not in (*ISR_IDS, "falls_65_plus"):
            continue
        history = [r for r in _results() if r.metric_id == m.id]
        _, svg = trend_chart(m, HWB, "North Northamptonshire", history, tmp_path)
        text = svg.read_text(encoding="utf-8")
        assert (PROVISIONAL in text) is (m.id in ISR_IDS and declared), m.id


def test_manifest_tidy_results_and_artifact(declared: bool, tmp_path: Path) -> None:
    results = _results()
    manifest = build_manifest("run", Q2.label, [HWB], dt.datetime.now(dt.UTC), [], results, [], 5, "completed")
    data = json.loads(write_manifest(tmp_path / "manifest.json", manifest).read_text(encoding="utf-8"))
    for r in data["results"]:
        assert (PROVISIONAL in r["caveats"]) is (r["metric_id"] in ISR_IDS and declared), r["metric_id"]
    refs = {r["name"]: r for r in data["reference_data"]}
    isr = refs["england_acsc_reference"]
    assert isr["status"] == ("unconfirmed" if declared else "confirmed")
    assert isr["replaced"] is not declared
    assert (isr["caveat"] == PROVISIONAL) is declared
    assert len(isr["sha256"]) == 64 and set(ISR_IDS) <= set(isr["metrics"])
    assert all(len(r["sha256"]) == 64 and r["source"] and r["year"] for r in refs.values())

    tidy = tidy_rows(results, scorecard("bcf"), {}, 5)
    for row in tidy:
        assert (PROVISIONAL in row["caveats"]) is (row["metric_id"] in ISR_IDS and declared), row["metric_id"]

    md = scorecard_markdown(Q2, results, 5, scorecard("bcf"))
    for line in md.splitlines()[4:]:
        isr_line = any(f" {m.title} |" in line for m in metrics_for("bcf") if m.id in ISR_IDS)
        assert (PROVISIONAL in line) is (isr_line and declared), line
