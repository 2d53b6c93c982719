"""The synthetic generator: reproducible, contract-valid, and the shipped demo is its output."""

from __future__ import annotations

import csv
from pathlib import Path

from metrics.contracts import BCF_EXTRACTS
from metrics.periods import Period
from metrics.quarterly import RunPaths, ingest_periods
from metrics.synthetic import HwbProfile, generate, population_by_age, write_demo

ROOT = Path(__file__).resolve().parents[1]
TWO = [Period.parse("2024-25-Q4"), Period.parse("2025-26-Q1")]
PROFILES = [HwbProfile("E06000061", "North Northamptonshire", 120_000, 24_000),
            HwbProfile("E06000062", "West Northamptonshire", 150_000, 27_000)]


def _bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    generate(tmp_path / "a", TWO, PROFILES, seed=7)
    generate(tmp_path / "b", TWO, PROFILES, seed=7)
    generate(tmp_path / "c", TWO, PROFILES, seed=8)
    a, b, c = _bytes(tmp_path / "a"), _bytes(tmp_path / "b"), _bytes(tmp_path / "c")
    assert a == b
    assert len(a) == 2 * len(BCF_EXTRACTS)
    assert a["2025-26-Q1/apc_spells.csv"] != c["2025-26-Q1/apc_spells.csv"]


def test_shipped_demo_is_the_generators_output(tmp_path: Path) -> None:
    write_demo(tmp_path)
    assert _bytes(tmp_path) == _bytes(ROOT / "data" / "raw")


def test_headers_follow_the_contracts(tmp_path: Path) -> None:
    generate(tmp_path, TWO[:1], PROFILES[:1])
    for extract in BCF_EXTRACTS:
        with open(tmp_path / TWO[0].label / extract.filename, newline="") as fh:
            assert next(csv.reader(fh)) == extract.column_names


def test_population_totals_are_exact() -> None:
    p = HwbProfile("E06000061", "North Northamptonshire", 359_500, 77_713)
    pop = population_by_age(p)
    assert int(pop["M"].sum() + pop["F"].sum()) == 359_500
    assert int(pop["M"][65:].sum() + pop["F"][65:].sum()) == 77_713


def test_generated_multi_hwb_extracts_pass_validation_including_a_year_boundary(tmp_path: Path) -> None:
    generate(tmp_path / "raw", TWO, PROFILES, seed=11)
    paths = RunPaths(tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "reports")
    loads = ingest_periods(paths, TWO, "synthetic", tmp_path / "docs")
    assert [o.status for o in loads] == ["accepted"] * len(loads), [o.summary() for o in loads]
