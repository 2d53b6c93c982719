"""One GX validation per extract per run (issue #16): a run's quarters of an extract are validated as
one batch, and every file is still accepted or rejected exactly as when validated on its own."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metrics import warehouse
from metrics.contracts import APC_SPELLS
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, REJECTED, UNCHANGED, LoadOutcome, Problem
from metrics.ingest import load
from metrics.ingest.load import load_extract, stage_delivery
from metrics.ingest.readers import Delivery
from metrics.ingest.run import ingest_periods
from metrics.validate.datadocs import index_html
from metrics.validate.gx import Validator, batch_name
from tests.extract_builders import spell, write_extract

QUARTERS = [Period.parse(q) for q in ("2023-24-Q1", "2023-24-Q2", "2023-24-Q3")]
Q1, Q2, Q3 = QUARTERS


def _spells(period: Period, n: int = 3, **bad: Any) -> list[dict[str, Any]]:
    """``n`` spells inside ``period`` (admitted on its 10th day, discharged two days later); ``bad``
    overrides the second spell (CSV line 3)."""
    admitted = period.start + dt.timedelta(days=9)
    rows = [
        spell(i, admission_date=admitted.isoformat(), discharge_date=(admitted + dt.timedelta(days=2)).isoformat())
        for i in range(1, n + 1)
    ]
    rows[1].update(bad)
    return rows


def _deliver(raw: Path, period: Period, rows: list[dict[str, Any]]) -> Path:
    return write_extract(raw / period.label / APC_SPELLS.filename, APC_SPELLS, rows)


def _ingest(root: Path, run_id: str) -> list[LoadOutcome]:
    paths = RunPaths(root / "raw", root / "w.duckdb", root / "reports")
    return ingest_periods(paths, QUARTERS, run_id, root / "docs", [APC_SPELLS])


def _results(docs: Path) -> dict[str, int]:
    """Validation result pages GX wrote (one per validation), by suite: what this test counts."""
    return {d.name: len(list(d.rglob("*.html"))) for d in sorted((docs / "validations").iterdir())}


def _alone(tmp: Path, path: Path, period: Period) -> list[Problem]:
    """The problems of ``path`` validated on its own (the pre-batch path) on a fresh warehouse."""
    con = warehouse.connect(tmp / "alone.duckdb")
    try:
        out = load_extract(con, APC_SPELLS, path, period, "alone", Validator(tmp / "alone_docs").validate)
    finally:
        con.close()
    assert out.status == REJECTED
    return out.problems


def test_staging_stops_at_its_row_limit_and_commits_each_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Staged quarters hold their rows in memory until committed, so staging stops at
    ``STAGED_ROWS_LIMIT`` rows: with a limit of 5 rows, Q1 and Q2 (3 rows each) are one batch (6 >= 5:
    validated together and committed) and Q3 is validated alone; every file is accepted as before."""
    from metrics.ingest import run

    monkeypatch.setattr(run, "STAGED_ROWS_LIMIT", 5)
    for q in QUARTERS:
        _deliver(tmp_path / "raw", q, _spells(q))
    out = _ingest(tmp_path, "r1")
    assert [(o.period, o.status, o.rows) for o in out] == [(q.label, ACCEPTED, 3) for q in QUARTERS]
    pages = _results(tmp_path / "docs")
    assert pages.pop(batch_name(APC_SPELLS, QUARTERS[:2])) == 1  # Q1 and Q2 together
    assert sum(pages.values()) == 1  # Q3 on its own
    assert batch_name(APC_SPELLS, QUARTERS) not in pages


def test_several_quarters_make_one_gx_validation_per_extract(tmp_path: Path) -> None:
    for q in QUARTERS:
        _deliver(tmp_path / "raw", q, _spells(q))
    out = _ingest(tmp_path, "r1")
    assert [(o.period, o.status, o.rows) for o in out] == [(q.label, ACCEPTED, 3) for q in QUARTERS]
    # Three quarters, one validation result: the batch's, which passed.
    assert _results(tmp_path / "docs") == {batch_name(APC_SPELLS, QUARTERS): 1}
    assert "2023-24-Q1_to_2023-24-Q3_3_quarters" in index_html(tmp_path / "docs")
    page = next((tmp_path / "docs" / "validations").rglob("*.html")).read_text()
    assert "2023-24-Q1, 2023-24-Q2, 2023-24-Q3" in page  # which files the batch validated
    # A re-run with the same files skips them (same SHA-256) without any GX validation.
    again = _ingest(tmp_path, "r2")
    assert {o.status for o in again} == {UNCHANGED}
    assert _results(tmp_path / "docs") == {batch_name(APC_SPELLS, QUARTERS): 1}


def test_a_bad_row_in_one_quarter_is_rejected_as_alone_and_the_others_accepted(tmp_path: Path) -> None:
    files = {q: _deliver(tmp_path / "raw", q, _spells(q, age_at_admission=130 if q == Q2 else 70)) for q in QUARTERS}
    out = {o.period: o for o in _ingest(tmp_path, "r1")}
    assert out[Q1.label].status == ACCEPTED and out[Q3.label].status == ACCEPTED
    bad = out[Q2.label]
    assert bad.status == REJECTED and bad.rejected_rows == 1
    # Its own file, line and column, and exactly the problems it has when validated alone.
    assert [(p.line, p.column, p.rule) for p in bad.problems] == [(3, "age_at_admission", "range")]
    assert bad.problems == _alone(tmp_path, files[Q2], Q2)
    assert bad.file_path.endswith(f"{Q2.label}/apc_spells.csv")
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        kept = con.execute("SELECT period, line, column_name, record FROM rejects").fetchall()
        loaded = con.execute("SELECT _period, count(*) FROM apc_spells GROUP BY 1 ORDER BY 1").fetchall()
    finally:
        con.close()
    assert [(p, line, c) for p, line, c, _ in kept] == [(Q2.label, 3, "age_at_admission")]
    assert '"age_at_admission": "130"' in kept[0][3]
    assert loaded == [(Q1.label, 3), (Q3.label, 3)]  # nothing of the bad file
    # The clean quarters in one batch; the bad file validated on its own, its page saying why.
    assert _results(tmp_path / "docs") == {batch_name(APC_SPELLS, [Q1, Q3]): 1, f"apc_spells_{Q2.label}": 1}


def test_a_file_delivered_for_another_quarter_is_still_refused(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    first = _deliver(raw, Q1, _spells(Q1))
    _deliver(raw, Q3, _spells(Q3))
    (raw / Q2.label).mkdir()
    shutil.copy(first, raw / Q2.label / APC_SPELLS.filename)  # Q1's file, copied into Q2's folder
    out = {o.period: o for o in _ingest(tmp_path, "r1")}
    assert out[Q1.label].status == ACCEPTED and out[Q3.label].status == ACCEPTED
    copied = out[Q2.label]
    assert copied.status == REJECTED and copied.rows == 0
    assert [(p.line, p.column, p.rule, p.reason) for p in copied.problems] == [
        (
            None,
            None,
            "duplicate_delivery",
            f"identical (same SHA-256) to the apc_spells.csv accepted for {Q1.label}; "
            f"was it copied into the {Q2.label} folder by mistake?",
        )
    ]
    # Refused before GX, as before: only the other two quarters were validated (one batch).
    assert _results(tmp_path / "docs") == {batch_name(APC_SPELLS, [Q1, Q3]): 1}


def test_the_batch_checks_each_row_against_its_own_quarter(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    """The batch's date windows and keys are per quarter: a Q1 date is right in Q1's rows and wrong in
    Q2's; the same spell id in two quarters is no duplicate, twice in one quarter it is."""

    def frames(q2_rows: list[dict[str, Any]]) -> list[tuple[Period, Any]]:
        got = []
        for q, rows in ((Q1, _spells(Q1)), (Q2, q2_rows)):
            path = write_extract(tmp_path / q.label / "apc_spells.csv", APC_SPELLS, rows)
            staged = stage_delivery(con, Delivery.native(APC_SPELLS, path), q, "t", force=True)
            got.append((q, staged.frame(con)))
            staged.drop(con)
        return got

    q1_day = (Q1.start + dt.timedelta(days=9)).isoformat()
    before = validator.validations[APC_SPELLS.name]
    assert validator.validate_batch(APC_SPELLS, frames(_spells(Q2)))  # Q1's rows share Q2's ids: no duplicate
    assert not validator.validate_batch(APC_SPELLS, frames(_spells(Q2, admission_date=q1_day, discharge_date=q1_day)))
    assert not validator.validate_batch(APC_SPELLS, frames(_spells(Q2, spell_id="S00001")))
    assert validator.validations[APC_SPELLS.name] == before + 3  # each batch of two files: one validation


def test_a_failed_batch_is_validated_again_file_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch can fail only where GX finds what the SQL row rules did not (they run the same rules).
    To make that happen, the SQL rules are switched off here: GX alone must still reject the bad file
    with its own line and column, and accept the others, each validated on its own after the batch."""
    monkeypatch.setattr(load.row_rules, "problems", lambda *a, **k: [])
    for q in QUARTERS:
        _deliver(tmp_path / "raw", q, _spells(q, age_at_admission=130 if q == Q2 else 70))
    out = {o.period: o for o in _ingest(tmp_path, "r1")}
    assert out[Q1.label].status == ACCEPTED and out[Q3.label].status == ACCEPTED
    assert [(p.line, p.column, p.rule) for p in out[Q2.label].problems] == [(3, "age_at_admission", "range")]
    assert _results(tmp_path / "docs") == {
        batch_name(APC_SPELLS, QUARTERS): 1,
        **{f"apc_spells_{q.label}": 1 for q in QUARTERS},
    }
