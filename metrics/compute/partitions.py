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
from metrics.compute.metric import compute_metric
from metrics.compute.suppression import DEFAULT_THRESHOLD, mark_secondary
from metrics.compute.targets import targets_for
from metrics.contracts import EXTRACTS, Extract
from metrics.core.periods import Period
from metrics.core.registry import metrics_for, scorecard
from metrics.core.results import MetricResult

# The column holding the area code in each extract.
AREA_COLUMN = {
    name: ("code" if "code" in e.column_names else "la_code" if "la_code" in e.column_names else "hwb_code")
    for name, e in EXTRACTS.items()
}


def export_partitions(warehouse_path: Path, out_dir: Path, card: str = "bcf") -> Path:
    """Write every extract of the scorecard as area-partitioned Parquet under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = warehouse.connect(warehouse_path, read_only=True)
    try:
        for name in scorecard(card).extracts:
            target = out_dir / name
            con.execute(
                f'COPY (SELECT *, "{AREA_COLUMN[name]}" AS area FROM "{name}") TO \'{target}\' '
                "(FORMAT parquet, PARTITION_BY (area), OVERWRITE_OR_IGNORE true)"
            )
    finally:
        con.close()
    return out_dir


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
    root: Path, area: str, periods: Sequence[Period], card: str = "bcf", suppression_threshold: int = DEFAULT_THRESHOLD
) -> list[MetricResult]:
    """One area's metrics for ``periods`` from its Parquet partitions (no warehouse file needed),
    marked for secondary suppression like the single-machine run (groups never span areas)."""
    con = duckdb.connect()
    try:
        con.execute(warehouse._MACROS)
        warehouse.load_reference(con)
        con.execute(warehouse._CALENDAR)
        for extract in EXTRACTS.values():
            _table_from_partition(con, extract, root, area)
        sc = scorecard(card)
        out: list[MetricResult] = []
        for period in periods:
            warehouse.prepare_views(con, period)
            plans, tolerances = targets_for(con, card, period)
            for metric in metrics_for(card):
                for kind in metric.windows:
                    out += compute_metric(con, metric, period, [area], plans, sc.status_scheme, tolerances, kind)
        return mark_secondary(out, suppression_threshold)
    finally:
        con.close()
