"""Outputs for other tools, from real runs of the Prefect flow (``scorecard run`` against a real
``prefect server`` on loopback, on a copy of the shipped demo):

- results.csv / results.parquet: every column declared in the shipped JSON Schema, every row valid
  against it, Parquet types as the schema declares, and cell for cell equal to the NHSE return
  workbook (re-opened with openpyxl) and to the HTML scorecard's tables (parsed);
- the manifest valid against its own JSON Schema (and a broken one refused);
- the return's Excel tables and status drop-down, and its cover tied to the manifest by run id and
  inputs digest (a manifest cannot hash onto a workbook that it hashes);
- the Prefect artifacts keyed per scorecard and area, listing paths (never file:// links) and, with
  SCORECARD_REPORTS_URL, http(s) links to the files.

Two runs: every area, then one area (``--hwb``), on the same warehouse and reports folder.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metrics.core.registry import get
from metrics.publish.manifest import check_manifest, inputs_digest
from metrics.publish.nhse_return import COVER_TABLE, FIRST_DATA_ROW, HEADER_ROW, METRICS_TABLE
from metrics.publish.tidy import SCHEMA, columns
from tests.prefect_server import PrefectServer, running_server
from tests.schemas import MANIFEST_SCHEMA, schema_problems, validator
from tests.workspace import PERIOD, Workspace

HWB = "E06000061"
BASE_URL = "https://reports.example.org/scorecard/reports/"


@dataclass
class Runs:
    ws: Workspace
    server: PrefectServer
    outputs: dict[str, str] = field(default_factory=dict)  # stdout + stderr of each run, by name
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return self.ws.reports / PERIOD


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    base = tmp_path_factory.mktemp("tools")
    with running_server(base / "prefect-home", base) as server:
        ws = Workspace(base / "ws")
        ws.env = {**server.env, "SCORECARD_REPORTS_URL": BASE_URL, "COLUMNS": "200"}
        r = Runs(ws, server)
        for name, extra in (("all", ()), ("one", ("--hwb", HWB))):
            done = subprocess.run(ws.command(*extra), env=ws.env, capture_output=True, text=True, timeout=900)
            r.outputs[name] = done.stdout + done.stderr
            assert done.returncode == 0, r.outputs[name]
            r.manifests[name] = ws.manifest()
        yield r


# --- results.csv / results.parquet ---------------------------------------------------------------


def _schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _csv_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _typed(row: dict[str, str], props: dict[str, Any]) -> dict[str, Any]:
    """A CSV row read back by the schema's types (empty = null)."""
    out: dict[str, Any] = {}
    for k, text in row.items():
        kinds = props[k]["type"] if isinstance(props[k]["type"], list) else [props[k]["type"]]
        if text == "" and "null" in kinds:
            out[k] = None
        elif "boolean" in kinds:
            assert text in ("true", "false"), (k, text)
            out[k] = text == "true"
        elif "number" in kinds:
            out[k] = float(text)
        elif "integer" in kinds:
            out[k] = int(text)
        else:
            out[k] = text
    return out


def test_every_column_is_declared_and_every_row_valid(runs: Runs) -> None:
    assert schema_problems(runs.out) == []
    schema = _schema()
    rows = _csv_rows(runs.out)
    assert rows, "results.csv has no rows"
    # The header is exactly the schema's columns in its order: a column nobody declared cannot appear.
    with open(runs.out / "results.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(schema["properties"]) == columns()
    table = pq.read_table(runs.out / "results.parquet")
    assert table.column_names == list(schema["properties"])
    parquet = table.to_pylist()
    # The CSV, read by the schema's types, holds the same rows as the Parquet file.
    assert [_typed(r, schema["properties"]) for r in rows] == parquet
    # Every (area, metric, period, view) once.
    keys = [(r["area_code"], r["metric_id"], r["period"], r["view"]) for r in parquet]
    assert len(keys) == len(set(keys))


def test_parquet_types_are_the_schemas(runs: Runs) -> None:
    want = {"string": pa.string(), "number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}
    props = _schema()["properties"]
    got = pq.read_schema(runs.out / "results.parquet")
    for name, prop in props.items():
        kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        (kind,) = (k for k in kinds if k != "null")
        f = got.field(name)
        assert f.type == want[kind], name
        assert f.nullable == ("null" in kinds), name
        if "description" in prop:
            assert f.metadata[b"description"].decode() == prop["description"], name


def test_a_row_the_schema_does_not_declare_fails(runs: Runs) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    row = pq.read_table(runs.out / "results.parquet").to_pylist()[0]
    for bad in ({"not_declared": 1.0}, {"value": "95"}, {"window_start": None}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate({**row, **bad})


def _headline_rows(out: Path, area: str = HWB) -> list[dict[str, Any]]:
    return [
        r
        for r in pq.read_table(out / "results.parquet").to_pylist()
        if r["area_code"] == area and r["period"] == PERIOD and r["headline"]
    ]


def _count(row: dict[str, Any], name: str) -> Any:
    return "*" if row[f"{name}_suppressed"] else row[name]


def test_tidy_equals_the_workbook_cell_for_cell(runs: Runs) -> None:
    """Every cell of the return's metrics table equals the tidy row of its metric (the return holds the
    year's headline metrics; the tidy rows hold those and the supporting measures)."""
    wb = openpyxl.load_workbook(runs.out / f"bcf_return_{HWB}_{PERIOD}.xlsx")
    sheet = wb["Metrics"]
    ref = sheet.tables[METRICS_TABLE].ref
    assert ref.startswith(f"A{HEADER_ROW + 1}:")
    cells = [[c.value for c in row] for row in sheet[ref]]
    header, body = cells[0], cells[1:]
    tidy = {r["metric_title"]: r for r in _headline_rows(runs.out) if r["metric_role"] == "headline"}
    assert sorted(row[header.index("Metric")] for row in body) == sorted(tidy)
    # Workbook column -> what the tidy row holds for it.
    same = {
        "Unit": lambda r: r["unit"],
        "Year to date": lambda r: "Yes" if r["view"] == "year_to_date" else "No",
        "Planned performance": lambda r: r["plan_or_target"],
        "Actual performance": lambda r: r["value"],
        "95% CI lower": lambda r: r["lower_95"],
        "95% CI upper": lambda r: r["upper_95"],
        "Numerator": lambda r: _count(r, "numerator"),
        "Denominator": lambda r: _count(r, "denominator"),
        "Year-end projection": lambda r: r["year_end_projection"],
        "Assessment of progress against the metric plan for the reporting period": lambda r: r["status"],
        "Caveat": lambda r: r["caveats"],
        "Definition": lambda r: get(r["metric_id"]).definition,
    }
    narrative = {
        "Challenges and any Support Needs",
        "Achievements - including where BCF funding is supporting improvements",
    }
    assert set(header) == {"Metric", *same, *narrative}
    checked = 0
    for row in body:
        t = tidy[row[header.index("Metric")]]
        for col, want in same.items():
            got, expected = row[header.index(col)], want(t)
            if isinstance(expected, float) and isinstance(got, float):
                # xlsxwriter writes a number to 16 significant digits (Excel keeps 15): equal to that.
                assert got == pytest.approx(expected, rel=1e-15, abs=0), (t["metric_id"], col)
            else:
                # An empty text cell reads back as None; the tidy file has the empty string.
                assert (got if got is not None or not isinstance(expected, str) else "") == expected, (
                    t["metric_id"],
                    col,
                )
            checked += 1
        for col in narrative:
            assert row[header.index(col)] is None  # left for people to fill in
    assert checked == len(body) * len(same) and len(body) >= 3


class _Page(HTMLParser):
    """The scorecard page's headline and supporting tables (text of each cell by its class) and each
    metric section's definition list (dt -> dd text)."""

    def __init__(self) -> None:
        super().__init__()
        self.table = ""
        self.rows: dict[str, dict[str, dict[str, str]]] = {}  # table id -> metric -> cell class -> text
        self.metric = ""
        self.cell = ""
        self.skip = 0  # depth inside a span whose text is not the cell's own (caveats, badges)
        self.section = ""
        self.dl: dict[str, dict[str, str]] = {}
        self.dt = ""
        self.in_dt = self.in_dd = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "table":
            self.table = a.get("id") or ""
        elif tag == "tr" and a.get("data-metric"):
            self.metric = a["data-metric"] or ""
            self.rows.setdefault(self.table, {})[self.metric] = {}
        elif tag == "td" and self.metric:
            self.cell = cls.split()[-1] if cls else "title"
            self.rows[self.table][self.metric][self.cell] = ""
        elif tag == "span" and self.cell:
            if self.skip or "status-text" not in cls:
                self.skip += 1
            else:
                self.rows[self.table][self.metric]["status-text"] = ""
                self.cell = "status-text"
        elif tag == "section" and "metric" in cls:
            self.section = a.get("id") or ""
            self.dl[self.section] = {}
        elif tag == "dt" and self.section:
            self.in_dt, self.dt = True, ""
        elif tag == "dd" and self.section and not self.in_dd:
            self.in_dd = True
            self.dl[self.section][self.dt] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self.skip:
            self.skip -= 1
        elif tag == "span" and self.cell == "status-text":
            self.cell = "status"
        elif tag == "td":
            self.cell = ""
        elif tag == "tr":
            self.metric = ""
        elif tag == "dt":
            self.in_dt = False
        elif tag == "dd":
            self.in_dd = False
        elif tag == "section":
            self.section = ""

    def handle_data(self, data: str) -> None:
        if self.cell and not self.skip:
            self.rows[self.table][self.metric][self.cell] += data
        if self.in_dt:
            self.dt += data.strip()
        elif self.in_dd and self.section:
            self.dl[self.section][self.dt] += data


def _num(v: float | None, decimals: int) -> str:
    return "n/a" if v is None else f"{v:,.{decimals}f}"


def test_tidy_equals_the_html_page_cell_for_cell(runs: Runs) -> None:
    page = _Page()
    page.feed((runs.out / f"scorecard_{HWB}_{PERIOD}.html").read_text(encoding="utf-8"))
    shown = {**page.rows.get("supporting", {}), **page.rows["headline"]}
    tidy = {r["metric_id"]: r for r in _headline_rows(runs.out)}
    assert set(shown) == set(tidy)
    assert set(page.rows["headline"]) == {m for m, r in tidy.items() if r["metric_role"] == "headline"}
    for metric_id, cells in shown.items():
        t, d = tidy[metric_id], get(metric_id).decimals
        ci = "" if t["lower_95"] is None else f"{_num(t['lower_95'], d)} to {_num(t['upper_95'], d)}"
        plan = "none" if t["plan_or_target"] is None else f"{t['plan_or_target']:g}"
        assert cells["title"].strip() == t["metric_title"], metric_id
        assert cells["value"].strip() == _num(t["value"], d), metric_id
        assert cells["ci"].strip() == ci, metric_id
        assert cells["plan"].strip() == plan, metric_id
        assert cells["status-text"] == t["status"], metric_id
        # The metric's section: its unit, counts (suppressed as '*') and the views beside the headline.
        dl = page.dl[metric_id]
        assert dl["Unit"].startswith(t["unit"] + ";"), metric_id
        for name, label in (("numerator", "Numerator"), ("denominator", "Denominator")):
            c = _count(t, name)
            want = "n/a" if c is None else c if c == "*" else f"{c:,.0f}" if float(c).is_integer() else f"{c:,.1f}"
            assert dl[label].split(" ")[0] == want, (metric_id, name)
        views = sorted(
            (
                r
                for r in pq.read_table(runs.out / "results.parquet").to_pylist()
                if r["area_code"] == HWB and r["period"] == PERIOD and r["metric_id"] == metric_id and not r["headline"]
            ),
            key=lambda r: (r["window_start"], r["window_end"]),
        )
        beside = "; ".join(f"{_view_label(r)}: {_num(r['value'], d)}" for r in views)
        assert dl.get("Beside it", "") == beside, metric_id


def _view_label(row: dict[str, Any]) -> str:
    if row["view"].startswith("month_"):
        import datetime as dt

        return f"{dt.date.fromisoformat(row['window_start']):%B %Y}"
    return str(row["view"]).replace("_", " ")


# --- the manifest ---------------------------------------------------------------------------------


def _manifest_validator() -> jsonschema.Draft202012Validator:
    return validator(MANIFEST_SCHEMA)


def test_the_manifest_of_each_run_is_valid_against_its_schema(runs: Runs) -> None:
    validator = _manifest_validator()
    for name, manifest in runs.manifests.items():
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]
        assert errors == [], name
    # The second run saw the same files (now "unchanged"), so the same inputs digest under a new run id.
    first, second = runs.manifests["all"], runs.manifests["one"]
    assert {i["status"] for i in second["inputs"]} == {"unchanged"}
    assert first["inputs_sha256"] == second["inputs_sha256"]
    assert first["run_id"] != second["run_id"] and second["hwbs"] == [HWB]


@pytest.mark.parametrize(
    ("why", "change"),
    [
        ("a required field is missing", lambda m: m.pop("inputs_sha256")),
        ("a field nobody declared", lambda m: m.update(surprise=1)),
        ("an input's SHA-256 is not hex", lambda m: m["inputs"][0].update(sha256="not-a-hash")),
        ("an unknown load status", lambda m: m["inputs"][0].update(status="ok")),
        ("a count that is neither a number nor '*'", lambda m: m["results"][0].update(numerator="3")),
        ("an output without its SHA-256", lambda m: m["outputs"][0].pop("sha256")),
        ("a threshold of zero", lambda m: m.update(suppression_threshold=0)),
        ("a period that is not a quarter", lambda m: m.update(period="2023-24")),
        ("a result with an extra field", lambda m: m["results"][0].update(england=1.0)),
    ],
)
def test_a_broken_manifest_fails_its_schema(runs: Runs, why: str, change: Any) -> None:
    broken = copy.deepcopy(runs.manifests["one"])
    change(broken)
    with pytest.raises(jsonschema.ValidationError):
        _manifest_validator().validate(broken)


# --- the NHSE return workbook ---------------------------------------------------------------------


def _cover(path: Path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)["Cover"]
    cells = [[c.value for c in row] for row in ws[ws.tables[COVER_TABLE].ref]]
    assert cells[0] == ["Item", "Value"]
    return {k: v for k, v in cells[1:]}


def test_the_cover_can_be_checked_against_the_manifest(runs: Runs) -> None:
    """A person holding the return reads two values on its cover and finds the same two in the
    manifest (or in what ``python -m metrics.publish.manifest`` prints), then finds the workbook's own
    SHA-256 under the manifest's outputs."""
    book = runs.out / f"bcf_return_{HWB}_{PERIOD}.xlsx"
    cover = _cover(book)
    manifest = runs.ws.manifest()
    assert cover["Run id"] == manifest["run_id"] == runs.manifests["one"]["run_id"]
    assert cover["Inputs digest (sha256)"] == manifest["inputs_sha256"]
    # The digest is what the manifest's own inputs, reference files and comparison files give (the demo
    # delivers comparators.csv), not just a copied value; without the comparison files it differs.
    assert [f["name"] for f in manifest["comparison_files"]] == ["comparators.csv"]
    assert manifest["inputs_sha256"] == inputs_digest(
        manifest["inputs"], manifest["reference_data"], manifest["comparison_files"]
    )
    assert manifest["inputs_sha256"] != inputs_digest(manifest["inputs"], manifest["reference_data"])
    listed = {Path(o["path"]).name: o["sha256"] for o in manifest["outputs"]}
    assert listed[book.name] == hashlib.sha256(book.read_bytes()).hexdigest()
    shown = subprocess.run(
        [sys.executable, "-m", "metrics.publish.manifest", str(runs.out / "manifest.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"run id:        {cover['Run id']}" in shown.stdout
    assert f"inputs sha256: {cover['Inputs digest (sha256)']}" in shown.stdout
    assert check_manifest(runs.out / "manifest.json") == []


def test_a_changed_output_or_input_is_caught_by_the_manifest_check(runs: Runs, tmp_path: Path) -> None:
    manifest = copy.deepcopy(runs.ws.manifest())
    manifest["inputs"][0]["sha256"] = "0" * 64  # as if another file had been loaded
    copied = tmp_path / "results.csv"
    copied.write_bytes((runs.out / "results.csv").read_bytes() + b"\n")  # changed after the run
    manifest["outputs"] = [{"path": str(copied), "sha256": hashlib.sha256(b"before").hexdigest()}]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    problems = check_manifest(path)
    assert len(problems) == 2
    assert problems[0].startswith("inputs_sha256 is") and "differs from the manifest's" in problems[1]
    shown = subprocess.run(
        [sys.executable, "-m", "metrics.publish.manifest", str(path)], capture_output=True, text=True
    )
    assert shown.returncode == 1 and shown.stdout.count("MISMATCH") == 2


def test_the_real_return_has_its_tables_and_drop_down(runs: Runs) -> None:
    wb = openpyxl.load_workbook(runs.out / f"bcf_return_{HWB}_{PERIOD}.xlsx")
    ws = wb["Metrics"]
    table = ws.tables[METRICS_TABLE]
    header = [c.value for c in ws[HEADER_ROW + 1]]
    assert [c.name for c in table.tableColumns] == [h for h in header if h is not None]
    last = int(table.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    n = last - (FIRST_DATA_ROW + 1) + 1
    col = header.index("Assessment of progress against the metric plan for the reporting period") + 1
    letter = openpyxl.utils.get_column_letter(col)
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and str(dv.sqref) == f"{letter}{FIRST_DATA_ROW + 1}:{letter}{last}"
    # At Q2 the in-year wording; every status in the table is one of the drop-down's.
    assert dv.formula1 == '"On track to meet target,Not on track to meet target,Data not available to assess progress"'
    allowed = dv.formula1.strip('"').split(",")
    assert all(ws.cell(FIRST_DATA_ROW + 1 + i, col).value in allowed for i in range(n))
    assert set(wb["Cover"].tables) == {COVER_TABLE}


# --- Prefect artifacts ----------------------------------------------------------------------------


def _latest(server: PrefectServer, key: str) -> dict[str, Any]:
    arts = server.post("/artifacts/filter", {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1})
    assert arts, f"no artifact {key}"
    return dict(arts[0])


def test_artifacts_are_kept_per_scorecard_and_area(runs: Runs) -> None:
    everyone = _latest(runs.server, f"bcf-outputs-all-{PERIOD.lower()}")
    one = _latest(runs.server, f"bcf-outputs-{HWB.lower()}-{PERIOD.lower()}")
    # Each run's own artifact: the one-area run did not replace the all-areas one.
    assert everyone["flow_run_id"] != one["flow_run_id"]
    assert _latest(runs.server, f"bcf-scorecard-all-{PERIOD.lower()}")["flow_run_id"] == everyone["flow_run_id"]
    assert _latest(runs.server, f"bcf-scorecard-{HWB.lower()}-{PERIOD.lower()}")["flow_run_id"] == one["flow_run_id"]


def test_the_outputs_artifact_links_over_http_and_never_file(runs: Runs) -> None:
    md = str(_latest(runs.server, f"bcf-outputs-{HWB.lower()}-{PERIOD.lower()}")["data"])
    assert "file://" not in md
    links = re.findall(r"\]\((https?://[^)\s]+)\)", md)
    assert links and all(link.startswith(BASE_URL) for link in links)
    # Every link names a file that exists under the reports folder: the served URL reaches it.
    targets = {urllib.parse.unquote(link[len(BASE_URL) :]) for link in links}
    assert all((runs.ws.reports / t).is_file() for t in targets), targets
    for name in ("results.csv", "results.parquet", "manifest.json", f"bcf_return_{HWB}_{PERIOD}.xlsx"):
        assert f"{PERIOD}/{name}" in targets, name
    # The restricted Data Docs stay a path on the worker, never a link.
    assert "GX Data Docs (restricted): `" in md and not any("data_docs" in t for t in targets)
    assert f"`{(runs.out / 'results.csv').resolve()}`" in md  # the path is shown as text as well
