"""Per-area tasks on a real local Dask cluster (two worker processes) reading partitioned Parquet
give exactly the single-machine results."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

from metrics.compute.partitions import export_partitions
from metrics.compute.run import compute_period
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.registry import metrics_for
from metrics.ingest.run import ingest_periods
from metrics.synthetic.bcf import HwbProfile, generate

HWBS = ("E06000015", "E06000016", "E06000017")
PERIODS = [Period.parse("2023-24-Q1"), Period.parse("2023-24-Q2")]


def test_dask_cluster_over_parquet_partitions_matches_the_warehouse_run(tmp_path: Path) -> None:
    from pipelines.distributed import on_dask

    profiles = [
        HwbProfile(code=c, name=c, total_population=30_000 + 10_000 * i, population_65_plus=6_000 + 1_000 * i)
        for i, c in enumerate(HWBS)
    ]
    generate(tmp_path / "raw", PERIODS, profiles, seed=3)
    paths = RunPaths(tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "reports")
    loads = ingest_periods(paths, PERIODS, "load", tmp_path / "docs")
    local = {
        (r.metric_id, r.hwb_code, r.period, r.view): r
        for p in PERIODS
        for r in compute_period(paths, p, list(HWBS), loads, "local")
    }

    root = export_partitions(paths.warehouse, tmp_path / "parquet")
    assert sorted(d.name for d in (root / "apc_spells").iterdir()) == [f"area={h}" for h in HWBS]
    os.environ.setdefault("PREFECT_HOME", str(tmp_path / "prefect-home"))
    remote = on_dask(n_workers=2)(str(root), list(HWBS), [p.label for p in PERIODS])
    # Every window of every metric (headline, months, the in-period quarter of year-to-date metrics).
    assert len(remote) == len(local) == len(HWBS) * sum(len(m.windows) for m in metrics_for("bcf")) * len(PERIODS)
    for r in remote:
        a, b = dataclasses.asdict(r), dataclasses.asdict(local[(r.metric_id, r.hwb_code, r.period, r.view)])
        for field, value in a.items():
            other = b[field]
            if isinstance(value, float) and isinstance(other, float):
                assert math.isclose(value, other, rel_tol=1e-12), (r.metric_id, field)
            else:
                assert value == other, (r.metric_id, r.hwb_code, field)


def test_an_area_with_no_partition_gets_no_data_not_an_error(tmp_path: Path) -> None:
    from metrics.compute.partitions import compute_area

    results = compute_area(tmp_path / "missing", "E06000015", [PERIODS[0]])
    assert {r.status for r in results} == {"Data not available to assess progress"}


def test_the_per_area_run_blocks_a_metric_whose_extract_was_rejected_as_the_warehouse_run_does(
    tmp_path: Path,
) -> None:
    """One compute loop: a rejected reablement delivery makes reablement *Data not available* in the
    per-area run exactly as in the warehouse run, and every other metric is still computed."""
    from metrics.compute.partitions import compute_area

    profiles = [HwbProfile(code=c, name=c, total_population=30_000, population_65_plus=6_000) for c in HWBS[:2]]
    generate(tmp_path / "raw", PERIODS, profiles, seed=5)
    bad = tmp_path / "raw" / PERIODS[1].label / "reablement_episodes.csv"
    lines = bad.read_text().splitlines()
    lines[1] = ",".join(["not-a-date" if i == 2 else v for i, v in enumerate(lines[1].split(","))])
    bad.write_text("\n".join(lines) + "\n")
    paths = RunPaths(tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "reports")
    loads = ingest_periods(paths, PERIODS, "load", tmp_path / "docs")
    assert [o.status for o in loads if o.extract == "reablement_episodes"] == ["accepted", "rejected"]
    local = {
        (r.metric_id, r.hwb_code, r.view): r for r in compute_period(paths, PERIODS[1], list(HWBS[:2]), loads, "l")
    }
    root = export_partitions(paths.warehouse, tmp_path / "parquet")
    remote = compute_area(root, HWBS[0], [PERIODS[1]])
    assert {r.metric_id for r in remote} == {m for m, h, _ in local if h == HWBS[0]}
    for r in remote:
        assert dataclasses.asdict(r) == dataclasses.asdict(local[(r.metric_id, r.hwb_code, r.view)]), r.metric_id
    blocked = [r for r in remote if r.value is None and "reablement_episodes for 2023-24-Q2 was rejected" in r.note]
    reablement = {m.id for m in metrics_for("bcf") if "reablement_episodes" in m.sources}
    assert reablement == {"reablement_91_days", "reablement_91_days_ascof"}
    assert {r.metric_id for r in blocked} == reablement
    # Every other metric is computed; a month of a DSR with fewer than 10 events (6,000 people 65+ here)
    # is NA by the PHE rule, not blocked, in both runs alike (compared field for field above).
    others = [r for r in remote if r.metric_id not in reablement]
    assert all(r.value is not None or "NA for total count < 10" in r.note for r in others)
    assert all(r.value is not None for r in others if not r.view.startswith("month_"))
