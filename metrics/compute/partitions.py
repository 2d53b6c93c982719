"""Hand-off for scaling past one machine: the warehouse as Parquet partitioned by area.

A DuckDB file has one writer and cannot be shared by worker processes or machines. So the
warehouse exports each accepted extract as Parquet, hive-partitioned by area code
(``<table>/area=<code>/*.parquet``), and any worker computes one area's metrics from its
partition alone in a private in-memory DuckDB, with the same views, reference data and metric
SQL as the single-machine run - which is why the results are identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from metrics import warehouse
from metrics.compute.run import compute_loaded
from metrics.compute.suppression import DEFAULT_THRESHOLD, mark_secondary
from metrics.contracts import EXTRACTS, Extract
from metrics.core.periods import Period
from metrics.core.registry import Scorecard, default_scorecard
from metrics.core.results import LoadOutcome, MetricResult
from metrics.warehouse.runs import latest_loads, latest_loads_sql

LOADS_FILE = "_loads.parquet"


def area_column(extract: Extract) -> str:
    """The column holding the area code in an extract."""
    names = extract.column_names
    return "code" if "code" in names else "la_code" if "la_code" in names else "hwb_code"


def export_partitions(warehouse_path: Path, out_dir: Path, card: Scorecard | None = None) -> Path:
    """Write every extract of the scorecard as area-partitioned Parquet under ``out_dir``, with the
    warehouse's latest load of each extract and period (``_loads.parquet``) so per-area runs know which
    deliveries were rejected or missing, as the single-machine run does."""
    card = card or default_scorecard()
    out_dir.mkdir(parents=True, exist_ok=True)
    con = warehouse.connect(warehouse_path, read_only=True)
    try:
        for name in card.extracts:
            target = out_dir / name
            con.execute(
                f'COPY (SELECT *, "{area_column(EXTRACTS[name])}" AS area FROM "{name}") TO \'{target}\' '
                "(FORMAT parquet, PARTITION_BY (area), OVERWRITE_OR_IGNORE true)"
            )
        con.execute(f"COPY ({latest_loads_sql()}) TO '{out_dir / LOADS_FILE}' (FORMAT parquet)")
    finally:
        con.close()
    return out_dir


def exported_loads(root: Path) -> list[LoadOutcome]:
    """The load outcomes exported beside the partitions; none (every metric blocked) if absent."""
    path = root / LOADS_FILE
    if not path.is_file():
        return []
    con = duckdb.connect()
    try:
        # The exported file holds the latest loads already; reading it through the same query keeps one
        # definition of a load outcome's columns.
        return latest_loads(con, f"read_parquet('{str(path).replace(chr(39), chr(39) * 2)}')")
    finally:
        con.close()


def _table_from_partition(con: duckdb.DuckDBPyConnection, extract: Extract, root: Path, area: str) -> None:
    folder = root / extract.name / f"area={area}"
    if folder.is_dir():
        con.execute(
            f'CREATE TABLE "{extract.name}" AS SELECT * FROM read_parquet('
            f"'{folder}/*.parquet', hive_partitioning = false)"
        )
    else:  # nothing delivered for this area: an empty table of the contract's shape
        con.execute(warehouse.create_table_sql(extract))


def compute_area(
    root: Path,
    area: str,
    periods: Sequence[Period],
    card: Scorecard | None = None,
    suppression_threshold: int = DEFAULT_THRESHOLD,
    loads: Sequence[LoadOutcome] | None = None,
) -> list[MetricResult]:
    """One area's metrics for ``periods`` from its Parquet partitions (no warehouse file needed), through
    the same compute loop as the warehouse run (``compute_loaded``: a rejected or missing delivery
    blocks the metrics that read it; ``loads`` default to those exported beside the partitions), marked
    for secondary suppression like the single-machine run (groups never span areas)."""
    card = card or default_scorecard()
    loads = exported_loads(root) if loads is None else loads
    con = duckdb.connect()
    try:
        con.execute(warehouse._MACROS)
        warehouse.load_reference(con)
        warehouse.build_calendar(con, *warehouse.default_calendar_years())
        for extract in EXTRACTS.values():
            _table_from_partition(con, extract, root, area)
        out: list[MetricResult] = []
        for period in periods:
            out += compute_loaded(con, card, period, [area], loads)
        return mark_secondary(out, suppression_threshold)
    finally:
        con.close()
