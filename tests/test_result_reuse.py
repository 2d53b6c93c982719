"""Reusing a quarter's stored results (metrics.compute.reuse): a run whose inputs, definitions and
settings for a quarter are those of a stored set reads it back instead of computing it, the read-back
results equal a fresh computation field for field, and anything that changes a figure recomputes
exactly the quarters that read it.

Two demo quarters (2023-24 Q1 and Q2, both HWBs) are ingested into a fresh warehouse; Q2's views read
Q1's deliveries of the record extracts (each record's latest delivery up to the quarter), so a
re-delivered Q1 file recomputes both quarters, and a re-delivered Q2 population only Q2.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pytest

from metrics import warehouse
from metrics.compute import comparisons, reuse
from metrics.compute.run import compute_period, results_for_period
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.registry import default_scorecard
from metrics.core.results import LoadOutcome, MetricResult
from metrics.ingest.run import ingest_periods

ROOT = Path(__file__).resolve().parents[1]
Q1, Q2 = Period.parse("2023-24-Q1"), Period.parse("2023-24-Q2")
CARD = default_scorecard()


def _same(a: Sequence[MetricResult], b: Sequence[MetricResult]) -> None:
    """Field for field, value and type (an int count read back as a float would print differently)."""
    assert len(a) == len(b) and a
    for x, y in zip(a, b, strict=True):
        for f in dataclasses.fields(MetricResult):
            u, v = getattr(x, f.name), getattr(y, f.name)
            where = f"{x.metric_id} {x.hwb_code} {x.period} {x.view!r} {f.name}"
            assert type(u) is type(v), f"{where}: {type(u).__name__} {u!r} vs {type(v).__name__} {v!r}"
            assert u == v or (isinstance(u, float) and math.isnan(u) and math.isnan(v)), f"{where}: {u!r} != {v!r}"


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.raw = tmp / "raw"
        for p in (Q1, Q2):
            shutil.copytree(ROOT / "data" / "raw" / p.label, self.raw / p.label)
        self.paths = RunPaths(self.raw, tmp / "warehouse.duckdb", tmp / "reports")
        self.loads: list[LoadOutcome] = []
        self.runs = 0
        self.hwbs = ["E06000017", "E06000061"]

    def ingest(self) -> None:
        self.loads = ingest_periods(self.paths, [Q1, Q2], "ingest", self.paths.data_docs(Q2))

    def run(self, threshold: int = 5, level: float = 95.0) -> dict[str, reuse.PeriodResults]:
        """Both quarters as the flow computes them; which were reused is in each PeriodResults."""
        self.runs += 1
        cmp = comparisons.Settings(level=level)
        return {
            p.label: results_for_period(self.paths, p, self.hwbs, self.loads, f"run{self.runs}", CARD, threshold, cmp)
            for p in (Q1, Q2)
        }


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    s = Setup(tmp_path_factory.mktemp("reuse"))
    s.ingest()
    return s


def _reused(got: dict[str, reuse.PeriodResults]) -> dict[str, bool]:
    return {p: r.reused_from is not None for p, r in got.items()}


def test_an_unchanged_rerun_reuses_every_quarter_and_equals_a_fresh_compute(setup: Setup) -> None:
    first = setup.run()
    assert _reused(first) == {Q1.label: False, Q2.label: False}
    second = setup.run()
    assert _reused(second) == {Q1.label: True, Q2.label: True}
    # A third run reuses again, still naming run1 as the run that computed them.
    third = setup.run()
    assert {r.computed_by for r in third.values()} == {"run1"}
    for p in (Q1, Q2):
        assert second[p.label].reused_from == first[p.label].computed_by == "run1"
        assert second[p.label].input_key == first[p.label].input_key
        fresh = compute_period(setup.paths, p, setup.hwbs, setup.loads, "fresh", CARD)
        _same(second[p.label].results, fresh)
        _same(first[p.label].results, fresh)
    # The reused sets are stored under the reusing run too, and name the run that computed them.
    con = duckdb.connect(str(setup.paths.warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT period, computed_by, results FROM result_sets WHERE run_id = 'run2' ORDER BY 1"
        ).fetchall()
        stored = con.execute("SELECT count(*) FROM metric_results WHERE run_id = 'run2'").fetchone()
    finally:
        con.close()
    assert [(r[0], r[1]) for r in rows] == [(Q1.label, "run1"), (Q2.label, "run1")]
    assert stored is not None and stored[0] == sum(r[2] for r in rows) == sum(len(v.results) for v in second.values())


def test_another_threshold_or_comparison_level_recomputes_every_quarter(setup: Setup) -> None:
    setup.run()
    assert _reused(setup.run(threshold=10)) == {Q1.label: False, Q2.label: False}
    assert _reused(setup.run(threshold=10)) == {Q1.label: True, Q2.label: True}
    assert _reused(setup.run(level=99.8)) == {Q1.label: False, Q2.label: False}


def test_a_definitions_change_recomputes_every_quarter(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.run()
    # Every definitions folder is hashed: one more file in one changes every key.
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "README.md").write_text("a local team's definitions folder\n", encoding="utf-8")
    monkeypatch.setenv("SCORECARD_DEFINITIONS_PATH", str(tmp_path / "defs"))
    reuse.code_digest.cache_clear()
    try:
        assert _reused(setup.run()) == {Q1.label: False, Q2.label: False}
    finally:
        monkeypatch.delenv("SCORECARD_DEFINITIONS_PATH")
        reuse.code_digest.cache_clear()
    assert _reused(setup.run()) == {Q1.label: True, Q2.label: True}


def _redeliver(setup: Setup, period: Period, extract: str) -> None:
    """The same records in a new file (a trailing blank line: another SHA-256): a new accepted load."""
    path = setup.raw / period.label / f"{extract}.csv"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    path.write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")  # same rows, other order
    setup.ingest()
    assert any(o.extract == extract and o.period == period.label and o.status == "accepted" for o in setup.loads)


def test_a_redelivered_file_recomputes_exactly_the_quarters_that_read_it(setup: Setup) -> None:
    setup.run()
    assert _reused(setup.run()) == {Q1.label: True, Q2.label: True}
    # Q2's population: only Q2 reads it.
    _redeliver(setup, Q2, "population")
    assert _reused(setup.run()) == {Q1.label: True, Q2.label: False}
    # Q1's spells: Q1, and Q2 (its views keep Q1's deliveries of records not re-delivered in Q2).
    _redeliver(setup, Q1, "apc_spells")
    got = setup.run()
    assert _reused(got) == {Q1.label: False, Q2.label: False}
    fresh = compute_period(setup.paths, Q2, setup.hwbs, setup.loads, "fresh2", CARD)
    _same(got[Q2.label].results, fresh)
    assert _reused(setup.run()) == {Q1.label: True, Q2.label: True}


def test_a_rejected_redelivery_recomputes_the_quarters_it_blocks(setup: Setup) -> None:
    setup.run()
    path = setup.raw / Q2.label / "reablement_episodes.csv"
    good = path.read_text(encoding="utf-8")
    lines = good.splitlines(keepends=True)
    path.write_text(lines[0] + "not,a,valid,row\n" + "".join(lines[1:]), encoding="utf-8")
    try:
        setup.ingest()
        assert any(o.extract == "reablement_episodes" and o.status == "rejected" for o in setup.loads)
        got = setup.run()
        assert _reused(got) == {Q1.label: True, Q2.label: False}
        blocked = [r for r in got[Q2.label].results if r.metric_id.startswith("reablement")]
        assert blocked and all(r.value is None for r in blocked)
    finally:
        path.write_text(good, encoding="utf-8")
        setup.ingest()
    assert _reused(setup.run()) == {Q1.label: True, Q2.label: True}


def test_an_existing_warehouse_gains_the_result_sets_table(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = warehouse.connect(path)
    con.execute("DROP TABLE result_sets")
    con.execute("ALTER TABLE metric_results DROP COLUMN seq")
    con.close()
    con = warehouse.connect(path)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        columns = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'metric_results'"
            ).fetchall()
        }
    finally:
        con.close()
    assert "result_sets" in tables and "seq" in columns
