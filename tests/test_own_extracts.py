"""The worked examples of extracts in their own shapes (issue #17): a SUS APC-style CSV and a
case-management Excel export, generated from the shipped demo's records and read through their
mapping files (mappings/), give the same stored rows and the same figures as the native contracts;
with real DuckDB and GX throughout."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metrics import warehouse
from metrics.compute.run import available_hwbs, compute_period
from metrics.contracts import EXTRACTS, Extract
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.registry import Scorecard, scorecard
from metrics.core.results import ACCEPTED, UNCHANGED, MetricResult
from metrics.ingest.mapping import MappingFile, load_mapping, resolver
from metrics.ingest.run import extracts_of, ingest_periods, periods_to_load
from metrics.synthetic import case_management, sus
from tests.schemas import schema_problems
from tests.workspace import ROOT

TARGET = Period.parse("2023-24-Q2")


def _run(root: Path, raw: Path, card: Scorecard, mapping: MappingFile | None) -> tuple[list[MetricResult], Path]:
    """Ingest and compute ``card``'s quarter from ``raw`` (no Prefect: the stage functions the flow calls)."""
    paths = RunPaths(raw, root / "warehouse.duckdb", root / "reports")
    extracts = extracts_of(card)
    periods = periods_to_load(TARGET, raw, extracts, resolver(mapping))
    loads = ingest_periods(paths, periods, "t", root / "docs", extracts, resolve=resolver(mapping))
    assert all(o.status in (ACCEPTED, UNCHANGED, "missing") for o in loads), [o.summary() for o in loads]
    assert any(o.status == ACCEPTED for o in loads)
    hwbs = available_hwbs(paths, TARGET, card)
    results = []
    for p in periods:
        results += compute_period(paths, p, hwbs, loads, "t", card)
    return results, paths.warehouse


def _stored(db: Path, extracts: Sequence[Extract]) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for e in extracts:
            cols = ", ".join(['"_period"', *(f'"{c}"' for c in e.column_names)])
            out[e.name] = con.execute(f'SELECT {cols} FROM "{e.name}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


def _figures(results: Sequence[MetricResult]) -> list[tuple[Any, ...]]:
    return sorted(
        (r.metric_id, r.hwb_code, r.period, r.view, r.numerator, r.denominator, r.value, r.lower, r.upper, r.status)
        for r in results
    )


@pytest.mark.parametrize(
    ("card_id", "convert", "mapping_file", "converted"),
    [
        ("bcf", sus.convert, "sus_apc.toml", ["apc_spells"]),
        (
            "safeguarding",
            case_management.convert,
            "case_management.toml",
            ["cs_contacts", "cs_assessments", "cs_cp_plans", "cs_missing_episodes"],
        ),
    ],
)
def test_a_worked_example_gives_the_native_figures(
    tmp_path: Path, card_id: str, convert: Any, mapping_file: str, converted: list[str]
) -> None:
    card = scorecard(card_id)
    native_raw = tmp_path / "native"
    shutil.copytree(ROOT / "data" / "raw", native_raw)
    own_raw = tmp_path / "own"
    shutil.copytree(ROOT / "data" / "raw", own_raw)
    written = convert(own_raw)
    assert written
    # The converted folders no longer hold the contract files they replaced: the mapping must be used.
    for name in converted:
        assert not (own_raw / TARGET.label / EXTRACTS[name].filename).exists()
    mapping = load_mapping(ROOT / "mappings" / mapping_file)
    assert sorted(mapping.extracts) == sorted(converted)

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    native, native_db = _run(tmp_path / "a", native_raw, card, None)
    own, own_db = _run(tmp_path / "b", own_raw, card, mapping)
    extracts = extracts_of(card)
    stored_native, stored_own = _stored(native_db, extracts), _stored(own_db, extracts)
    for name in converted:
        assert stored_native[name], name
        assert stored_own[name] == stored_native[name], name
    assert _figures(own) == _figures(native)
    assert any(r.value is not None for r in own if r.period == TARGET.label)
    # The converted loads are recorded under the delivered file (and sheet).
    con = warehouse.connect(own_db, read_only=True)
    try:
        paths = {r[0] for r in con.execute("SELECT file_path FROM loads WHERE status = 'accepted'").fetchall()}
    finally:
        con.close()
    assert any(p.endswith(written[-1].name) or written[-1].name in p for p in paths)


def test_the_documented_sus_command_runs_a_quarter_and_says_where_the_extract_came_from(tmp_path: Path) -> None:
    """`scorecard demo-data --formats sus` then `scorecard run --mapping mappings/sus_apc.toml`, as the
    guide gives them: the run completes, the manifest records the mapping (name, path, SHA-256) and
    the page footnotes the extract that came through it."""
    import hashlib
    import json
    import os
    import subprocess

    from tests.workspace import SCORECARD

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    raw = tmp_path / "sus"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCORECARD), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False
        )

    made = cli("demo-data", "--formats", "sus", "--out", str(raw))
    assert made.returncode == 0, made.stderr
    assert (raw / TARGET.label / sus.FILE).is_file() and not (raw / TARGET.label / "apc_spells.csv").exists()
    reports = tmp_path / "reports"
    done = cli(
        "run",
        "--raw-dir",
        str(raw),
        "--mapping",
        "mappings/sus_apc.toml",
        "--period",
        TARGET.label,
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--reports-dir",
        str(reports),
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((reports / TARGET.label / "manifest.json").read_text())
    digest = hashlib.sha256((ROOT / "mappings" / "sus_apc.toml").read_bytes()).hexdigest()
    assert manifest["mapping"]["sha256"] == digest
    assert schema_problems(reports / TARGET.label) == []  # the mapping record is declared in the manifest schema
    assert manifest["mapping"]["name"] == "SUS APC extract (example ICB)"
    assert manifest["mapping"]["extracts"] == {"apc_spells": {"format": "mapped_csv", "files": ["sus_apc.csv"]}}
    spells = [i for i in manifest["inputs"] if i["extract"] == "apc_spells"]
    assert spells and all(i["path"].endswith(sus.FILE) and i["status"] == "accepted" for i in spells)
    page = next((reports / TARGET.label).glob("scorecard_*.html")).read_text()
    assert "Extracts delivered through a mapping file" in page and digest[:12] in page and "sus_apc.csv" in page
