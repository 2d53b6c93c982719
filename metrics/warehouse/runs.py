"""The run history kept in the warehouse, for the manifest's audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb

from metrics import warehouse
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.registry import Scorecard
from metrics.core.results import LoadOutcome


def record_run(
    paths: RunPaths,
    run_id: str,
    period: Period,
    hwbs: Sequence[str],
    started: dt.datetime,
    status: str,
    manifest: Path,
    card: Scorecard,
) -> None:
    """The run history kept in the warehouse beside the manifests."""
    con = warehouse.connect(paths.warehouse, reference=False)  # the runs table only
    try:
        con.execute(
            "INSERT OR REPLACE INTO runs (run_id, period, hwbs, started_at, finished_at, status, manifest_path, "
            "scorecard) VALUES (?, ?, ?, ?, current_timestamp, ?, ?, ?)",
            [run_id, period.label, list(hwbs), started.replace(tzinfo=None), status, str(manifest), card.id],
        )
    finally:
        con.close()


def run_history(paths: RunPaths, period: Period, card: Scorecard) -> list[dict[str, object]]:
    """Earlier runs of this period and scorecard, oldest first, for the manifest's audit trail."""
    con = warehouse.connect(paths.warehouse, reference=False)  # the runs table only
    try:
        rows = con.execute(
            "SELECT run_id, started_at, finished_at, status, manifest_path FROM runs "
            "WHERE period = ? AND scorecard = ? ORDER BY started_at",
            [period.label, card.id],
        ).fetchall()
    finally:
        con.close()
    keys = ("run_id", "started_at", "finished_at", "status", "manifest")
    return [dict(zip(keys, (str(v) if v is not None else None for v in r), strict=True)) for r in rows]


def latest_loads_sql(source: str = "loads") -> str:
    """The last load of each extract and period in ``source`` (the ``loads`` table, or a relation of
    its columns such as the copy exported beside Parquet partitions)."""
    return LATEST_LOADS_SQL.format(source=source)


LATEST_LOADS_SQL = """
SELECT extract, period, file_path, status, sha256, rows, rejected_rows, message, loaded_at, load_id FROM {source}
QUALIFY row_number() OVER (PARTITION BY extract, period ORDER BY loaded_at DESC, load_id DESC) = 1
ORDER BY period, extract
"""


def latest_loads(con: duckdb.DuckDBPyConnection, source: str = "loads") -> list[LoadOutcome]:
    """The last recorded load of each extract and period: what the warehouse's tables now stand for.

    ``source`` is the ``loads`` table, or any relation of the same columns (e.g. the copy exported
    beside Parquet partitions, ``read_parquet('.../_loads.parquet')``).
    """
    sql = latest_loads_sql(source)
    return [
        LoadOutcome(
            extract=r[0],
            period=r[1],
            file_path=r[2],
            status=r[3],
            sha256=r[4],
            rows=r[5] or 0,
            rejected_rows=r[6] or 0,
            message=r[7] or "",
        )
        for r in con.execute(sql).fetchall()
    ]
