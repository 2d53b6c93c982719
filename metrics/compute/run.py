"""Compute every metric of a scorecard for one period and store the results against the run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import duckdb

from metrics import warehouse
from metrics.compute import comparisons
from metrics.compute import reuse as reuse_
from metrics.compute.metric import compute_metric, unavailable_results
from metrics.compute.readiness import blocked_reason
from metrics.compute.suppression import DEFAULT_THRESHOLD, mark_secondary
from metrics.compute.targets import targets_for
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.registry import Scorecard, default_scorecard, metrics_for
from metrics.core.results import LoadOutcome, MetricResult


def available_hwbs(paths: RunPaths, period: Period, card: Scorecard | None = None) -> list[str]:
    """Areas in the period's population extract for the scorecard (default: the declared default one)."""
    table = (card or default_scorecard()).population_extract
    con = warehouse.connect(paths.warehouse, read_only=True, reference=False)  # the population table only
    try:
        rows = con.execute(
            f'SELECT DISTINCT code FROM "{table}" WHERE _period = ? ORDER BY 1', [period.label]
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def compute_period(
    paths: RunPaths,
    period: Period,
    hwbs: Sequence[str],
    loads: Sequence[LoadOutcome],
    run_id: str,
    card: Scorecard | None = None,
    suppression_threshold: int = DEFAULT_THRESHOLD,
    comparing: comparisons.Settings | None = None,
) -> list[MetricResult]:
    """All metrics of a scorecard for one period, each in its headline window and further views,
    with secondary suppression marked, compared with England, region and peers; results are also
    stored against the run id (with their input key, so a later run can reuse them). Always
    computes: ``results_for_period`` is the call that reuses."""
    return results_for_period(
        paths, period, hwbs, loads, run_id, card, suppression_threshold, comparing, reuse=False
    ).results


def results_for_period(
    paths: RunPaths,
    period: Period,
    hwbs: Sequence[str],
    loads: Sequence[LoadOutcome],
    run_id: str,
    card: Scorecard | None = None,
    suppression_threshold: int = DEFAULT_THRESHOLD,
    comparing: comparisons.Settings | None = None,
    reuse: bool = True,
) -> reuse_.PeriodResults:
    """The period's results: read back from the warehouse when a complete stored set has the same
    input key (``metrics.compute.reuse``: same loads, definitions, code, reference data and settings),
    else computed and stored. Either way they are stored under ``run_id``."""
    sc = card or default_scorecard()
    comparing = comparing or comparisons.Settings()
    # Opened without the reference tables and calendar: finding and reading back a stored set needs
    # only the loads and results tables, and they are built (prepare_reference) only to compute.
    con = warehouse.connect(paths.warehouse, reference=False)
    try:
        key = reuse_.input_key(con, sc, period, hwbs, loads, suppression_threshold, comparing)
        found = reuse_.find_stored(con, sc, period, key) if reuse else None
        if found is not None:
            source, computed_by = found
            results = reuse_.read_stored(con, source, period)
            if source != run_id:
                reuse_.copy_stored(con, sc, source, computed_by, run_id, period, key)
            return reuse_.PeriodResults(period.label, results, key, source, computed_by)
        warehouse.prepare_reference(con)
        results = compute_loaded(con, sc, period, hwbs, loads, comparing)
        results = mark_secondary(results, suppression_threshold)
        peers, label = comparing.peer_groups()
        results = comparisons.peer_rankings(
            results, {m.id: m for m in metrics_for(sc)}, peers, suppression_threshold, label
        )
        store_results(con, run_id, period, results, sc, key)
    finally:
        con.close()
    return reuse_.PeriodResults(period.label, results, key, None, run_id)


def store_results(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    period: Period,
    results: Sequence[MetricResult],
    card: Scorecard | None = None,
    key: str | None = None,
) -> None:
    """Replace this run's results for the period, so a retried task never double-counts; with ``key``,
    record them as a complete set a later run with the same inputs can reuse."""
    import pandas as pd  # here, not at import: a run whose quarters are all reused stores no new results

    frame = pd.DataFrame([r.as_dict() for r in results])
    frame.insert(0, "run_id", run_id)
    frame["seq"] = range(len(frame))
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM metric_results WHERE run_id = ? AND period = ?", [run_id, period.label])
        con.execute("DELETE FROM result_sets WHERE run_id = ? AND period = ?", [run_id, period.label])
        con.register("result_frame", frame)
        con.execute("INSERT INTO metric_results BY NAME SELECT * FROM result_frame")
        con.unregister("result_frame")
        if key is not None:
            reuse_.record_set(con, card or default_scorecard(), run_id, period, key, run_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def compute_loaded(
    con: duckdb.DuckDBPyConnection,
    card: Scorecard,
    period: Period,
    hwbs: Sequence[str],
    loads: Sequence[LoadOutcome],
    comparing: comparisons.Settings | None = None,
) -> list[MetricResult]:
    """Every metric of the scorecard in each of its windows, from the tables ``con`` holds.

    The one compute loop: the warehouse run and the per-area distributed run both call it, so a
    metric whose extract was rejected or not delivered is *Data not available* in both.
    """
    warehouse.prepare_views(con, period)
    plans, tolerances = targets_for(con, card, period)
    results: list[MetricResult] = []
    checked: dict[tuple[str, str, tuple[str, ...], int], dict[str, str]] = {}  # population checks, asked once
    for metric in metrics_for(card):
        for kind in metric.windows:
            reason = blocked_reason(metric, period, loads, kind)
            if reason:
                regions = comparisons.region_of()
                results += [
                    replace(
                        r,
                        comparison_level=(comparing or comparisons.Settings()).level,
                        england_comparison=comparisons.NOT_COMPARED,
                        england_source="no figure to compare: the metric was not computed",
                        region=regions.get(r.hwb_code, ""),
                        region_comparison=comparisons.NOT_COMPARED,
                        region_source="no figure to compare: the metric was not computed",
                    )
                    for r in unavailable_results(
                        metric, period, hwbs, plans, f"not computed: {reason}", card.status_scheme, kind
                    )
                ]
            else:
                results += compute_metric(
                    con, metric, period, hwbs, plans, card.status_scheme, tolerances, kind, comparing, checked
                )
    return results
