"""The quarterly run as plain functions: ingest, compute, render, export.

Prefect tasks in ``pipelines/`` wrap these one to one; tests call them
directly. Functions take paths, not connections, so each step opens and
closes the single-writer DuckDB file itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from metrics import warehouse
from metrics.compute import MetricResult, compute_metric, headline, unavailable_results, window
from metrics.contracts import BCF_EXTRACTS, EXTRACTS, Extract
from metrics.ingest import MISSING, REJECTED, LoadOutcome, load_extract
from metrics.periods import Period
from metrics.registry import Metric, MetricWindow, Scorecard, metrics_for, scorecard
from metrics.status import PlanKey
from metrics.suppression import DEFAULT_THRESHOLD, mark_secondary
from metrics.validation import Problem

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class RunPaths:
    raw_dir: Path
    warehouse: Path
    reports_dir: Path

    def period_reports(self, period: Period, card: str = "bcf") -> Path:
        """``reports/<period>`` for BCF (the main job); other scorecards in a subfolder of it."""
        base = self.reports_dir / period.label
        return base if card == "bcf" else base / card

    def data_docs(self, period: Period, card: str = "bcf") -> Path:
        """GX Data Docs show failing values, which can be record-level: they stay beside the
        warehouse (restricted), not in the published reports folder."""
        base = self.warehouse.parent / "data_docs" / period.label
        return base if card == "bcf" else base / card


def extracts_of(card: Scorecard) -> tuple[Extract, ...]:
    return tuple(EXTRACTS[name] for name in card.extracts)


def periods_to_load(target: Period, raw_dir: Path, extracts: Sequence[Extract] = BCF_EXTRACTS) -> list[Period]:
    """The target's financial year to date and rolling year, plus any earlier quarters in which
    one of these extracts was delivered (up to two years back, for the trend), oldest first."""
    wanted = set(target.year_to_date())
    p = target
    for _ in range(8):
        p = p.previous()
        if any((raw_dir / p.label / e.filename).exists() for e in extracts):
            wanted.add(p)
    return sorted(wanted)


def ingest_periods(
    paths: RunPaths,
    periods: Sequence[Period],
    run_id: str,
    docs_dir: Path,
    extracts: Sequence[Extract] = BCF_EXTRACTS,
    progress: Progress = _quiet,
) -> list[LoadOutcome]:
    from metrics.validation import Validator

    # Importing GX and building its context takes seconds of Python; it happens on another thread
    # while DuckDB (which releases the GIL) hashes, parses and checks the first file.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx-context") as pool:
        validator = pool.submit(Validator, docs_dir)

        def validate(extract: Extract, period: Period, frame: pd.DataFrame) -> list[Problem]:
            return validator.result().validate(extract, period, frame)

        outcomes = []
        con = warehouse.connect(paths.warehouse)
        try:
            for period in periods:
                for extract in extracts:
                    path = paths.raw_dir / period.label / extract.filename
                    outcome = load_extract(con, extract, path, period, run_id, validate)
                    outcomes.append(outcome)
                    progress(f"{period.label} {extract.name}: {outcome.status}")
        finally:
            con.close()
        validator.result()  # a GX set-up failure is reported even when no file needed validating
    return outcomes


def window_periods(metric: Metric, period: Period, kind: MetricWindow | None = None) -> list[Period]:
    """The quarters a window covers (all windows of the metric when ``kind`` is None)."""
    kinds = [kind] if kind else list(metric.windows)
    start = min(window(metric, period, k)[0] for k in kinds)
    return sorted({p for p in period.rolling_year() + period.year_to_date() if p.end >= start})


def loads_read_by(metric: Metric, period: Period, loads: Sequence[LoadOutcome],
                  kind: MetricWindow | None = None) -> list[LoadOutcome]:
    """The loads a metric reads for a period: its record sources over the window's quarters;
    populations (no dated records) only the period's own delivery."""
    in_window = {p.label for p in window_periods(metric, period, kind)}
    return [o for o in loads if o.extract in metric.sources
            and o.period in (in_window if EXTRACTS[o.extract].dated else {period.label})]


def blocked_reason(metric: Metric, period: Period, loads: Sequence[LoadOutcome],
                   kind: MetricWindow | None = None) -> str | None:
    """Why a metric (in one window) cannot be computed for a period from this run's loads, or None.

    A quarter of the window with no delivery at all blocks it too: a year-to-date or rolling-year
    figure from part of its quarters would be silently low.
    """
    read = loads_read_by(metric, period, loads, kind)
    for o in read:
        if o.status in (REJECTED, MISSING):
            what = "was rejected" if o.status == REJECTED else "was not delivered"
            return f"{o.extract} for {o.period} {what}"
    seen = {(o.extract, o.period) for o in read}
    for source in metric.sources:
        wanted = window_periods(metric, period, kind) if EXTRACTS[source].dated else [period]
        for p in wanted:
            if (source, p.label) not in seen:
                return f"{source} for {p.label} was not delivered"
    return None


def available_hwbs(paths: RunPaths, period: Period, card: str = "bcf") -> list[str]:
    """Areas in the period's population extract for the scorecard."""
    table = scorecard(card).population_extract
    con = warehouse.connect(paths.warehouse, read_only=True)
    try:
        rows = con.execute(
            f'SELECT DISTINCT code FROM "{table}" WHERE _period = ? ORDER BY 1', [period.label]
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def hwb_names() -> dict[str, str]:
    names: dict[str, str] = {}
    with open(warehouse.REFERENCE / "hwb_codes.csv", newline="", encoding="utf-8") as fh:
        names.update({r["code"]: r["name"] for r in csv.DictReader(fh)})
    return names


def load_plans(con: duckdb.DuckDBPyConnection, period: Period) -> dict[PlanKey, float]:
    rows = con.execute(
        "SELECT hwb_code, metric_id, financial_year, quarter, plan_value FROM plans WHERE _period = ?",
        [period.label],
    ).fetchall()
    return {(r[0], r[1], r[2], r[3]): float(r[4]) for r in rows}


def targets_for(con: duckdb.DuckDBPyConnection, card: str, period: Period) -> tuple[
        dict[PlanKey, float], dict[PlanKey, float]]:
    """The plans (BCF) or targets and amber tolerances (Red/Amber/Green scorecards) a period is judged on."""
    if scorecard(card).targets_extract == "plans":
        return load_plans(con, period), {}
    return load_targets(con, period)


def load_targets(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[dict[PlanKey, float], dict[PlanKey, float]]:
    """Safeguarding targets and amber tolerances, keyed like annual (YE) plans."""
    rows = con.execute(
        "SELECT la_code, metric_id, financial_year, target, amber_tolerance FROM cs_targets WHERE _period = ?",
        [period.label],
    ).fetchall()
    targets = {(r[0], r[1], r[2], "YE"): float(r[3]) for r in rows}
    tolerances = {(r[0], r[1], r[2], "YE"): float(r[4]) for r in rows}
    return targets, tolerances


def compute_period(
    paths: RunPaths,
    period: Period,
    hwbs: Sequence[str],
    loads: Sequence[LoadOutcome],
    run_id: str,
    card: str = "bcf",
    suppression_threshold: int = DEFAULT_THRESHOLD,
) -> list[MetricResult]:
    """All metrics of a scorecard for one period, each in its headline window and further views,
    with secondary suppression marked; results are also stored against the run id."""
    sc = scorecard(card)
    con = warehouse.connect(paths.warehouse)
    try:
        warehouse.prepare_views(con, period)
        plans, tolerances = targets_for(con, card, period)
        results: list[MetricResult] = []
        for metric in metrics_for(card):
            for kind in metric.windows:
                reason = blocked_reason(metric, period, loads, kind)
                if reason:
                    results += unavailable_results(metric, period, hwbs, plans, f"not computed: {reason}",
                                                   sc.status_scheme, kind)
                else:
                    results += compute_metric(con, metric, period, hwbs, plans, sc.status_scheme, tolerances, kind)
        results = mark_secondary(results, suppression_threshold)
        store_results(con, run_id, period, results)
    finally:
        con.close()
    return results


def store_results(
    con: duckdb.DuckDBPyConnection, run_id: str, period: Period, results: Sequence[MetricResult]
) -> None:
    """Replace this run's results for the period, so a retried task never double-counts."""
    frame = pd.DataFrame([r.as_dict() for r in results])
    frame.insert(0, "run_id", run_id)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM metric_results WHERE run_id = ? AND period = ?", [run_id, period.label])
        con.register("result_frame", frame)
        con.execute("INSERT INTO metric_results BY NAME SELECT * FROM result_frame")
        con.unregister("result_frame")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# Below this many charts, starting worker processes costs more than it saves.
PARALLEL_CHARTS_FROM = 40


def render_charts(
    paths: RunPaths,
    target: Period,
    results: Sequence[MetricResult],
    suppression_threshold: int,
    card: str = "bcf",
    progress: Progress = _quiet,
    workers: int | None = None,
) -> list[Path]:
    """One trend chart (PNG + SVG) per HWB and metric, drawn from this run's headline results.

    Charts are independent pure functions of their rows, so many are drawn in worker processes on
    every core (``spawn``: no forked copy of the run's threads and open connections).
    """
    out_dir = paths.period_reports(target, card) / "charts"
    names = hwb_names()
    rag = scorecard(card).status_scheme == "rag"
    results = headline(results)
    hwbs = sorted({r.hwb_code for r in results})
    jobs = []
    for hwb in hwbs:
        for metric in metrics_for(card):
            history = sorted(
                (r for r in results if r.hwb_code == hwb and r.metric_id == metric.id
                 and Period.parse(r.period) <= target),
                key=lambda r: Period.parse(r.period),
            )
            jobs.append((metric, hwb, names.get(hwb, hwb), history, out_dir, suppression_threshold, rag))
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 2 or len(jobs) < PARALLEL_CHARTS_FROM:
        written: list[Path] = []
        for i, job in enumerate(jobs, start=1):
            written += _chart_job(job)
            if i % len(metrics_for(card)) == 0:
                progress(f"charts for {job[1]}")
        return written
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        drawn = list(pool.map(_chart_job, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    progress(f"{len(jobs)} charts for {len(hwbs)} areas on {workers} processes")
    return [p for pair in drawn for p in pair]


def _chart_job(job: tuple[Any, ...]) -> list[Path]:
    from metrics.charts import trend_chart

    metric, hwb, name, history, out_dir, threshold, rag = job
    return trend_chart(metric, hwb, name, history, out_dir, threshold, rag=rag)


def export_returns(
    paths: RunPaths,
    target: Period,
    results: Sequence[MetricResult],
    generated_at: str,
    suppression_threshold: int,
    card: str = "bcf",
    progress: Progress = _quiet,
) -> list[Path]:
    """The workbook for each area for the target period: the NHSE BCF return, or for other
    scorecards a scorecard workbook carrying every view of every measure."""
    from metrics.nhse_return import write_return
    from metrics.scorecard_workbook import write_scorecard_workbook

    names = hwb_names()
    out: list[Path] = []
    current = [r for r in results if r.period == target.label]
    tolerances: dict[PlanKey, float] = {}
    if card != "bcf":
        con = warehouse.connect(paths.warehouse, read_only=True)
        try:
            tolerances = targets_for(con, card, target)[1]
        finally:
            con.close()
    for hwb in sorted({r.hwb_code for r in current}):
        rows = [r for r in current if r.hwb_code == hwb]
        if card == "bcf":
            path = paths.period_reports(target) / f"bcf_return_{hwb}_{target.label}.xlsx"
            out.append(write_return(path, headline(rows), hwb, names.get(hwb, hwb), target, generated_at,
                                    suppression_threshold=suppression_threshold))
        else:
            path = paths.period_reports(target, card) / f"{card}_{hwb}_{target.label}.xlsx"
            history = [r for r in results if r.hwb_code == hwb and Period.parse(r.period) <= target]
            tol = {k[1]: v for k, v in tolerances.items() if k[0] == hwb and k[2] == target.financial_year}
            out.append(write_scorecard_workbook(path, scorecard(card), rows, history, hwb, names.get(hwb, hwb),
                                                target, generated_at, suppression_threshold, tol))
        progress(f"workbook for {hwb}")
    return out


def record_run(paths: RunPaths, run_id: str, period: Period, hwbs: Sequence[str], started: dt.datetime,
               status: str, manifest: Path, card: str = "bcf") -> None:
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
            "WHERE period = ? AND scorecard = ? ORDER BY started_at", [period.label, card]).fetchall()
    finally:
        con.close()
    keys = ("run_id", "started_at", "finished_at", "status", "manifest")
    return [dict(zip(keys, (str(v) if v is not None else None for v in r), strict=True)) for r in rows]


def data_quality_notes(metric: Metric, target: Period, loads: Sequence[LoadOutcome]) -> list[str]:
    """What happened to each extract the metric read, in words for the board paper."""
    notes = []
    for o in loads_read_by(metric, target, loads):
        if o.status == REJECTED:
            notes.append(f"{o.extract} {o.period}: rejected, {len(o.problems)} problem(s) on {o.rejected_rows} "
                         "line(s); see the rejects table")
        elif o.status == MISSING:
            notes.append(f"{o.extract} {o.period}: not delivered")
        else:
            notes.append(f"{o.extract} {o.period}: {o.rows:,} rows accepted, none rejected")
    return notes


def render_scorecards(
    paths: RunPaths,
    target: Period,
    results: Sequence[MetricResult],
    loads: Sequence[LoadOutcome],
    generated_at: str,
    suppression_threshold: int,
    card: str = "bcf",
    progress: Progress = _quiet,
) -> list[Path]:
    """The HTML scorecard per HWB, from the same result rows as the workbook and charts."""
    from metrics.charts import chart_paths
    from metrics.report_html import render_scorecard, write_scorecard
    from metrics.spc_notes import spc_summary

    names = hwb_names()
    metrics = metrics_for(card)
    results = headline(results)
    out_dir = paths.period_reports(target, card)
    prefix = "scorecard" if card == "bcf" else card
    quality = {m.id: data_quality_notes(m, target, loads) for m in metrics}
    out = []
    for hwb in sorted({r.hwb_code for r in results if r.period == target.label}):
        mine = [r for r in results if r.hwb_code == hwb and Period.parse(r.period) <= target]
        current = [r for r in mine if r.period == target.label]
        charts = {m.id: chart_paths(out_dir / "charts", hwb, m.id)[1] for m in metrics}
        spc = {m.id: spc_summary(m, sorted((r for r in mine if r.metric_id == m.id),
                                           key=lambda r: Period.parse(r.period))) for m in metrics}
        page = render_scorecard(metrics, current, mine, hwb, names.get(hwb, hwb), target, charts, quality, spc,
                                generated_at, suppression_threshold, None if card == "bcf" else scorecard(card))
        out.append(write_scorecard(out_dir / f"{prefix}_{hwb}_{target.label}.html", page))
        progress(f"scorecard for {hwb}")
    return out
