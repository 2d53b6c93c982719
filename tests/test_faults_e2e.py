"""Killed processes, corrected extracts and disclosure control, end to end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metrics.contracts import APC_SPELLS, BCF_EXTRACTS
from metrics.core.periods import Period
from metrics.synthetic.bcf import HwbProfile, QuarterTargets, generate
from tests.extract_builders import spell, write_extract
from tests.workspace import PERIOD, Workspace, published_text

FIGURES = ("metric_id", "hwb_code", "period", "view", "numerator", "denominator", "value", "lower", "upper", "status")


def _figures(manifest: dict[str, Any]) -> list[tuple[Any, ...]]:
    # Sorted by text: a suppressed count is "*" beside numbers, and a withheld figure None.
    return sorted((tuple(r[k] for k in FIGURES) for r in manifest["results"]), key=repr)


def _partitions_match_their_loads(w: Workspace) -> None:
    """Every partition holds exactly the rows of its latest accepted load: nothing half-loaded."""
    for e in BCF_EXTRACTS:
        rows = w.query(
            f'SELECT p._period, count(*), any_value(p._load_id), l.rows FROM "{e.name}" AS p '
            "JOIN loads AS l ON l.load_id = p._load_id GROUP BY p._period, l.rows"
        )
        for period, count, _, expected in rows:
            assert count == expected, (e.name, period)


def test_kill_during_a_run_then_corrected_rerun_matches_a_clean_run(tmp_path: Path) -> None:
    clean = Workspace(tmp_path / "clean")
    assert clean.run().returncode == 0
    w = Workspace(tmp_path / "w")
    target = w.raw / PERIOD / "reablement_episodes.csv"
    good = target.read_bytes()
    lines = good.decode().splitlines()
    cells = lines[2].split(",")
    cells[2] = "999"  # age on line 3
    lines[2] = ",".join(cells)
    target.write_text("\n".join(lines) + "\n")

    failed = w.run()  # 1. a bad delivery: the run fails and says where
    assert failed.returncode == 1 and "line 3, column age" in failed.stdout + failed.stderr

    target.write_bytes(good)  # 2. the corrected file arrives; that run is killed part-way through ingest
    proc = subprocess.Popen(
        w.command(), env=w.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "2023-24-Q2 apc_spells" in line:  # next: the corrected reablement file is being loaded
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    _partitions_match_their_loads(w)

    again = w.run()  # 3. re-run: same figures as a clean run, nothing double counted
    assert again.returncode == 0, again.stdout + again.stderr
    assert _figures(w.manifest()) == _figures(clean.manifest())
    _partitions_match_their_loads(w)
    count = "SELECT count(*) FROM reablement_episodes"
    assert w.query(count) == clean.query(count)
    # The manifest keeps the history: the failed run is recorded; the killed one never finished.
    assert [h["status"] for h in w.manifest()["history"]] == ["failed: rejected extracts"]
    assert w.manifest()["status"] == "completed"


def test_process_killed_inside_the_commit_transaction_leaves_the_previous_partition(tmp_path: Path) -> None:
    v1 = write_extract(tmp_path / "v1" / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2)])
    v2 = write_extract(tmp_path / "v2" / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2), spell(3)])
    db = tmp_path / "w.duckdb"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from metrics.ingest import load as ingest
        from metrics import warehouse
        from metrics.contracts import APC_SPELLS
        from metrics.core.periods import Period
        from metrics.validate.gx import Validator
        con = warehouse.connect({str(db)!r})
        v = Validator(Path({str(tmp_path / "docs")!r}))
        q2 = Period.parse("2023-24-Q2")
        assert ingest.load_extract(con, APC_SPELLS, Path({str(v1)!r}), q2, "r1", v.validate).status == "accepted"
        con.execute("CHECKPOINT")
        def die(step):
            if step == sys.argv[1]:
                os.kill(os.getpid(), signal.SIGKILL)
        ingest.fault_injection = die
        ingest.load_extract(con, APC_SPELLS, Path({str(v2)!r}), q2, "r2", v.validate)
    """)
    for step in ("deleted_old_partition", "inserted_new_partition", "logged_load"):
        for f in tmp_path.glob("w.duckdb*"):
            f.unlink()
        done = subprocess.run([sys.executable, "-c", script, step], capture_output=True, timeout=300, check=False)
        assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
        con = duckdb.connect(str(db))  # recovery replays only committed work
        try:
            assert con.execute("SELECT spell_id FROM apc_spells ORDER BY 1").fetchall() == [("S00001",), ("S00002",)]
            assert con.execute("SELECT run_id, status FROM loads").fetchall() == [("r1", "accepted")]
        finally:
            con.close()


@pytest.fixture(scope="module")
def small_area_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str]:
    """A small area where several counts fall below the suppression threshold."""
    base = tmp_path_factory.mktemp("small")
    tiny = HwbProfile(
        "E06000017",
        "Rutland",
        total_population=6_000,
        population_65_plus=900,
        targets=QuarterTargets(residential_people=2, reablement_people=3, reablement_at_home=2),
    )
    generate(base / "src", [Period.parse("2023-24-Q1"), Period.parse(PERIOD)], [tiny], seed=5)
    w = Workspace(base / "ws", raw=base / "src")
    done = w.run()
    assert done.returncode == 0, done.stdout + done.stderr
    return w, done.stdout + done.stderr


def test_no_person_or_record_ids_in_published_outputs_or_logs(small_area_run: tuple[Workspace, str]) -> None:
    w, console = small_area_run
    ids: set[str] = set()
    for f in w.raw.rglob("*.csv"):
        header, *rows = f.read_text().splitlines()
        cols = header.split(",")
        for name in ("person_id", "spell_id", "episode_id", "admission_id"):
            if name in cols:
                i = cols.index(name)
                ids.update(r.split(",")[i] for r in rows)
    assert len(ids) > 100
    text = published_text(w.reports) + console
    tokens = set(re.findall(r"[A-Za-z0-9_-]{6,}", text))
    assert not ids & tokens


def test_counts_below_threshold_are_never_published(small_area_run: tuple[Workspace, str]) -> None:
    import openpyxl

    w, _ = small_area_run
    results = w.manifest()["results"]
    suppressed = [r for r in results if r["numerator"] == "*"]
    assert suppressed, "the small area should have suppressed counts"
    for r in results:
        for k in ("numerator", "denominator"):
            assert r[k] in ("*", None) or r[k] == 0 or r[k] >= 5, (r["metric_id"], k, r[k])
        if r["numerator"] == "*":
            assert r["value"] is None and r["lower"] is None and r["upper"] is None
    wb = openpyxl.load_workbook(w.reports / PERIOD / f"bcf_return_E06000017_{PERIOD}.xlsx")
    for row in wb["Metrics"].iter_rows(values_only=True):
        for v in row:
            assert not (isinstance(v, int | float) and 0 < v < 5 and float(v).is_integer()), row
