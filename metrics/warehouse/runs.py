"""The run history kept in the warehouse, for the manifest's audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from metrics import warehouse
from metrics.core.paths import RunPaths
from metrics.core.periods import Period


def record_run(
    paths: RunPaths,
    run_id: str,
    period: Period,
    hwbs: Sequence[str],
    started: dt.datetime,
    status: str,
    manifest: Path,
    card: str = "bcf",
) -> None:
    """The run history kept in the warehouse beside the manifests."""
    con = warehouse.connect(paths.warehouse)
    try:
        con.execute(
            "INSERT OR REPLACE INTO runs (run_id, period, hwbs, started_at, finished_at, status, manifest_path, "
            "scorecard) VALUES (?, ?, ?, ?, current_timestamp, ?, ?, ?)",
            [run_id, period.label, list(hwbs), started.replace(tzinfo=None), status, str(manifest), card],
        )
    finally:
        con.close()


def run_history(paths: RunPaths, period: Period, card: str = "bcf") -> list[dict[str, object]]:
    """Earlier runs of this period and scorecard, oldest first, for the manifest's audit trail."""
    con = warehouse.connect(paths.warehouse)
    try:
        rows = con.execute(
            "SELECT run_id, started_at, finished_at, status, manifest_path FROM runs "
            "WHERE period = ? AND scorecard = ? ORDER BY started_at",
            [period.label, card],
        ).fetchall()
    finally:
        con.close()
    keys = ("run_id", "started_at", "finished_at", "status", "manifest")
    return [dict(zip(keys, (str(v) if v is not None else None for v in r), strict=True)) for r in rows]
