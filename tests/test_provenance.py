"""Synthetic inputs are declared by the generator and said on every output; a failed run says so first."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from metrics.compute.readiness import run_notice
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.provenance import MARKER, MarkerError, banner, is_marked, marked_files, write_marker
from metrics.core.results import ACCEPTED, MISSING, REJECTED, LoadOutcome, Problem
from metrics.publish.nhse_return import write_return
from metrics.publish.scorecard_workbook import write_scorecard_workbook
from pipelines.artifacts import scorecard_markdown
from tests.test_nhse_return import GENERATED
from tests.test_nhse_return import _results as return_results
from tests.test_report_html import _r

Q2 = Period.parse("2023-24-Q2")
WORDS = "Synthetic demonstration data: not real patients, children or services; do not use for decisions."


def test_the_marker_names_each_generated_file_and_merges_generators(tmp_path: Path) -> None:
    a, b, real = tmp_path / "apc_spells.csv", tmp_path / "cs_contacts.csv", tmp_path / "plans.csv"
    for f in (a, b, real):
        f.write_text("x\n1\n", encoding="utf-8")
    assert marked_files(tmp_path) == {} and not is_marked(a)  # no marker: real
    write_marker(tmp_path, [a], "gen.one")
    write_marker(tmp_path, [b], "gen.two")  # a second generator into the same quarter folder
    body = json.loads((tmp_path / MARKER).read_text(encoding="utf-8"))
    assert body["synthetic"] is True and body["generators"] == ["gen.one", "gen.two"]
    assert set(body["files"]) == {"apc_spells.csv", "cs_contacts.csv"}
    assert is_marked(a) and is_marked(b) and not is_marked(real)  # a file the marker does not name is real
    # A demo file edited by hand (the bad-input guide's exercise) stays synthetic: names, not contents.
    a.write_text("x\n2\n", encoding="utf-8")
    assert is_marked(a)


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"files": {"a.csv": "x"}}', '{"synthetic": "yes", "files": {}}', '{"synthetic": true}'],
)
def test_a_marker_that_is_not_the_generators_is_an_error_naming_the_file(tmp_path: Path, text: str) -> None:
    (tmp_path / MARKER).write_text(text, encoding="utf-8")
    with pytest.raises(MarkerError, match=MARKER) as err:
        marked_files(tmp_path)
    assert "fix: regenerate the folder with `scorecard demo-data`" in str(err.value)


def test_banner_all_synthetic_mixed_and_real() -> None:
    assert banner([], 12) == ""  # real inputs: nothing is said
    assert banner(["2023-24-Q1 apc_spells", "2023-24-Q2 apc_spells"], 2) == WORDS
    # Real 2025-26 deliveries beside the demo's 2023-24 quarters (the trend reads both): said, with which.
    mixed = banner(["2023-24-Q2 apc_spells", "2023-24-Q1 plans", "2023-24-Q1 apc_spells"], 8)
    assert mixed.startswith("Synthetic demonstration data in part: the inputs for 2023-24-Q1, 2023-24-Q2 ")
    assert "(3 of 8 files)" in mixed


def test_run_notice_names_rejected_and_undelivered_files_never_values() -> None:
    ok = LoadOutcome("population", Q2.label, "population.csv", ACCEPTED, rows=10)
    bad = LoadOutcome(
        "apc_spells",
        Q2.label,
        "apc_spells.csv",
        REJECTED,
        rows=100,
        rejected_rows=2,
        problems=[Problem(3, "age", "range", "age outside 0-120"), Problem(9, "age", "range", "age outside 0-120")],
    )
    gone = LoadOutcome("care_home_admissions", Q2.label, "care_home_admissions.csv", MISSING)
    earlier = LoadOutcome("plans", "2023-24-Q1", "plans.csv", MISSING)  # not the reporting quarter: not named
    assert run_notice(Q2, [ok]) == ""
    text = run_notice(Q2, [ok, bad, gone, earlier])
    assert text.startswith("This run failed: 1 of 4 extract files were rejected: apc_spells 2023-24-Q2 ")
    assert "(2 problem(s) on 2 line(s))" in text
    assert "Not delivered for 2023-24 Q2: care_home_admissions;" in text and "plans" not in text
    assert "age outside" not in text


def test_the_prefect_scorecard_artifact_puts_the_notices_above_the_figures() -> None:
    results = [_r("avoidable_admissions", Q2, 250.0)]
    md = scorecard_markdown(Q2, results, 5, registry.scorecard("bcf"), ["This run failed: 1 | 2", WORDS])
    lines = md.splitlines()
    table = next(i for i, line in enumerate(lines) if line.startswith("| Area |"))
    notices = [line for line in lines[:table] if line.startswith("> **")]
    assert notices == ["> **This run failed: 1 \\| 2**", f"> **{WORDS}**"]  # escaped: a | stays text
    assert not any(line.startswith(">") for line in scorecard_markdown(Q2, results, 5).splitlines())


def _sheet_marks(path: Path) -> dict[str, tuple[str, bool]]:
    """Per sheet: its printed header, and whether a text box on it says synthetic demonstration data."""
    book = openpyxl.load_workbook(path)
    with zipfile.ZipFile(path) as z:
        drawings = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/drawings/drawing")]
        rels = {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/_rels/")}
    out = {}
    for i, ws in enumerate(book.worksheets, start=1):
        rel = rels.get(f"xl/worksheets/_rels/sheet{i}.xml.rels", "")
        boxed = any(f"drawing{j}.xml" in rel and WORDS in d for j, d in enumerate(drawings, start=1))
        out[ws.title] = (ws.oddHeader.center.text or "", boxed)
    return out


def test_every_workbook_sheet_says_synthetic_only_when_the_inputs_are(tmp_path: Path) -> None:
    card = registry.scorecard("safeguarding")
    rows = [_r(m.id, Q2, 50.0) for m in registry.metrics_for(card.id)]
    demo = write_scorecard_workbook(
        tmp_path / "d.xlsx", card, rows, rows, "E06000061", "N", Q2, "t", 5, synthetic=WORDS
    )
    real = write_scorecard_workbook(tmp_path / "r.xlsx", card, rows, rows, "E06000061", "N", Q2, "t", 5)
    ret_demo = write_return(tmp_path / "rd.xlsx", return_results(), "E06000061", "N", Q2, GENERATED, synthetic=WORDS)
    ret_real = write_return(tmp_path / "rr.xlsx", return_results(), "E06000061", "N", Q2, GENERATED)
    for path in (demo, ret_demo):
        marks = _sheet_marks(path)
        assert len(marks) >= 2
        for sheet, (header, boxed) in marks.items():
            assert "SYNTHETIC DEMONSTRATION DATA" in header and boxed, (path.name, sheet)
    for path in (real, ret_real):
        for sheet, (header, boxed) in _sheet_marks(path).items():
            assert "SYNTHETIC" not in header.upper() and not boxed, (path.name, sheet)
        with zipfile.ZipFile(path) as z:
            assert not any("ynthetic" in z.read(n).decode("utf-8", "replace") for n in z.namelist()), path.name


@pytest.mark.parametrize("fmt", ["sus", "ons"])
def test_a_demo_in_another_format_is_marked_synthetic_file_by_file(tmp_path: Path, fmt: str) -> None:
    """``demo-data --formats`` converters write files the native generator did not (sus_apc.csv, the
    ONS workbook): each must be named by its folder's marker, or a run from them would read as real."""
    from pipelines.cli import main

    assert main(["demo-data", "--out", str(tmp_path), "--formats", fmt]) == 0
    folders = [d for d in tmp_path.iterdir() if d.is_dir()]
    assert folders
    for d in folders:
        files = [f for f in d.iterdir() if f.is_file() and f.name != MARKER]
        assert files and all(is_marked(f) for f in files), d
    assert is_marked(tmp_path / "2023-24-Q2" / ("sus_apc.csv" if fmt == "sus" else "ukpopestimates.xlsx"))
