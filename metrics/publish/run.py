"""Publish a run: charts, workbooks and HTML scorecards, all drawn from the same result rows."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metrics import warehouse
from metrics.compute.readiness import data_quality_notes
from metrics.compute.targets import targets_for
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.progress import Progress, _quiet
from metrics.core.reference import hwb_names
from metrics.core.registry import Scorecard, default_scorecard, metric_set, metrics_for
from metrics.core.results import LoadOutcome, MetricResult, headline

# Below this many charts, starting worker processes costs more than it saves.
PARALLEL_CHARTS_FROM = 40


def render_charts(
    paths: RunPaths,
    target: Period,
    results: Sequence[MetricResult],
    suppression_threshold: int,
    card: Scorecard | None = None,
    progress: Progress = _quiet,
    workers: int | None = None,
    synthetic: str = "",
) -> list[Path]:
    """One trend chart and one SPC chart (PNG + SVG each) per HWB and metric: the trend from this
    run's headline results, SPC from its discrete (in-period) view; ``synthetic`` is the run's
    synthetic-data banner ("" for real inputs), drawn on every chart.

    Charts are independent pure functions of their rows, so many are drawn in worker processes on
    every core (``spawn``: no forked copy of the run's threads and open connections).
    """
    from metrics.publish.charts import ChartCache, chart_key, chart_paths, spc_chart_paths

    card = card or default_scorecard()
    out_dir = paths.period_reports(target, card) / "charts"
    names = hwb_names()
    rag = card.status_scheme == "rag"
    every = [r for r in results if Period.parse(r.period) <= target]  # all views: SPC uses in-period ones
    results = headline(results)
    hwbs = sorted({r.hwb_code for r in results})
    metrics = metrics_for(card)
    # A chart whose key (charts.chart_key: everything its picture depends on) matches the one it was
    # drawn from, and whose files are unchanged, is not drawn again: a re-run redraws only what changed.
    # Figures are not reused between charts: building one is about 0.012 s of a chart's 0.14 s
    # (benchmarks/chart_cost.py, docs/guide/national-scale.md), about 0.3 s for the demo's 24 charts,
    # within the noise of a fresh run; the drawing and the PNG/SVG encoding are the cost.
    cache = ChartCache(out_dir)
    jobs, keys, fresh, reused = [], [], [], 0  # fresh: the charts drawn now, whose keys are recorded
    for hwb in hwbs:
        for metric in metrics:
            history = sorted(
                (
                    r
                    for r in results
                    if r.hwb_code == hwb and r.metric_id == metric.id and Period.parse(r.period) <= target
                ),
                key=lambda r: Period.parse(r.period),
            )
            views = [r for r in every if r.hwb_code == hwb and r.metric_id == metric.id]
            name = names.get(hwb, hwb)
            trend = (chart_key("trend", metric, hwb, name, history, suppression_threshold, rag, synthetic),
                     list(chart_paths(out_dir, hwb, metric.id)))  # fmt: skip
            spc = (chart_key("spc", metric, hwb, name, views, suppression_threshold, synthetic),
                   list(spc_chart_paths(out_dir, hwb, metric.id)))  # fmt: skip
            draw = (not cache.reusable(*trend), not cache.reusable(*spc))
            reused += draw.count(False)
            keys += [trend, spc]
            fresh += [chart for chart, drawn in zip((trend, spc), draw, strict=True) if drawn]
            jobs.append((metric, hwb, name, history, out_dir, suppression_threshold, rag, views, synthetic, draw))
    todo = [job for job in jobs if any(job[-1])]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 2 or len(todo) < PARALLEL_CHARTS_FROM:
        for i, job in enumerate(jobs, start=1):
            if any(job[-1]):
                _chart_job(job)
            if i % len(metrics) == 0:
                progress(f"charts for {job[1]}")
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_chart_job, todo, chunksize=max(1, len(todo) // (4 * workers))))
        drawn = sum(sum(job[-1]) for job in todo)
        progress(f"{drawn} charts (trend and SPC) for {len(hwbs)} areas on {workers} processes")
    for key, files in fresh:  # a reused chart's entry is already exactly what reusable() checked
        cache.record(key, files)
    cache.save()
    if reused:
        progress(f"{reused} of {len(keys)} charts unchanged since they were drawn: reused")
    return [f for _, files in keys for f in files]


def render_funnels(
    paths: RunPaths,
    target: Period,
    results: Sequence[MetricResult],
    suppression_threshold: int,
    card: Scorecard | None = None,
) -> list[Path]:
    """One funnel plot per metric (PNG + SVG) across the run's areas for the target period, when
    the run has several areas (``charts.funnel_chart``)."""
    from metrics.publish.charts import ChartCache, chart_key, funnel_chart, funnel_chart_paths

    card = card or default_scorecard()
    current = [r for r in headline(results) if r.period == target.label]
    if len({r.hwb_code for r in current}) < 2:
        return []
    out_dir = paths.period_reports(target, card) / "charts"
    names = hwb_names()
    cache = ChartCache(out_dir)  # as render_charts: an unchanged funnel plot is not drawn again
    out: list[Path] = []
    for m in metrics_for(card):
        mine = [r for r in current if r.metric_id == m.id]
        labels = {r.hwb_code: names.get(r.hwb_code, r.hwb_code) for r in mine}
        key = chart_key("funnel", m, mine, labels, suppression_threshold)
        files = list(funnel_chart_paths(out_dir, m.id))
        if cache.reusable(key, files):
            out += files
            continue
        drawn = funnel_chart(m, current, names, out_dir, suppression_threshold)
        if drawn:
            cache.record(key, drawn)
        out += drawn
    cache.save()
    return out


def _chart_job(job: tuple[Any, ...]) -> list[Path]:
    """Draw the job's trend and SPC charts, each only when ``draw`` says it is not reusable."""
    from metrics.publish.charts import spc_chart, trend_chart

    metric, hwb, name, history, out_dir, threshold, rag, views, synthetic, draw = job
    out = []
    if draw[0]:
        out += trend_chart(metric, hwb, name, history, out_dir, threshold, rag=rag, synthetic=synthetic)
    if draw[1]:
        out += spc_chart(metric, hwb, name, views, out_dir, threshold, synthetic=synthetic)
    return out


@dataclass(frozen=True)
class WorkbookJob:
    """Everything a workbook kind may draw on for one area and quarter."""

    path: Path
    card: Scorecard
    rows: list[MetricResult]  # the quarter's results, every view
    history: list[MetricResult]  # the area's results up to the quarter
    hwb: str
    hwb_name: str
    target: Period
    generated_at: str
    suppression_threshold: int
    tolerances: dict[str, float]  # amber tolerance by metric id, this financial year
    run_id: str = ""  # the flow run: the manifest's run_id, on the return's cover
    inputs_sha256: str | None = None  # the manifest's inputs digest (metrics.publish.manifest.inputs_digest)
    synthetic: str = ""  # the run's synthetic-data banner, said on every sheet ("" for real inputs)


def _nhse_bcf_return(job: WorkbookJob) -> Path:
    from metrics.publish.nhse_return import write_return

    return write_return(
        job.path,
        headline(job.rows),
        job.hwb,
        job.hwb_name,
        job.target,
        job.generated_at,
        suppression_threshold=job.suppression_threshold,
        metric_set=metric_set(job.card, job.target.financial_year),
        run_id=job.run_id or None,
        inputs_sha256=job.inputs_sha256,
        synthetic=job.synthetic,
    )


def _scorecard_workbook(job: WorkbookJob) -> Path:
    from metrics.publish.scorecard_workbook import write_scorecard_workbook

    return write_scorecard_workbook(
        job.path,
        job.card,
        job.rows,
        job.history,
        job.hwb,
        job.hwb_name,
        job.target,
        job.generated_at,
        job.suppression_threshold,
        job.tolerances,
        synthetic=job.synthetic,
    )


# Workbook kinds a scorecard may declare (``workbook`` in scorecard.toml).
WORKBOOKS: dict[str, Callable[[WorkbookJob], Path]] = {
    "nhse_bcf_return": _nhse_bcf_return,
    "scorecard_workbook": _scorecard_workbook,
}


def export_returns(
    paths: RunPaths,
    target: Period,
    results: Sequence[MetricResult],
    generated_at: str,
    suppression_threshold: int,
    card: Scorecard | None = None,
    progress: Progress = _quiet,
    run_id: str = "",
    inputs_sha256: str | None = None,
    synthetic: str = "",
) -> list[Path]:
    """The workbook of the scorecard's declared kind for each area for the target period (the NHSE BCF
    return, or a scorecard workbook carrying every view of every measure). ``run_id`` and
    ``inputs_sha256`` tie the return's cover to the run's manifest."""
    card = card or default_scorecard()
    try:
        write = WORKBOOKS[card.workbook]
    except KeyError:
        raise ValueError(
            f"scorecard {card.id}: unknown workbook kind {card.workbook!r}; known: {sorted(WORKBOOKS)}"
        ) from None
    names = hwb_names()
    out: list[Path] = []
    current = [r for r in results if r.period == target.label]
    con = warehouse.connect(paths.warehouse, read_only=True, reference=False)  # the plans table only
    try:
        tolerances = targets_for(con, card, target)[1]
    finally:
        con.close()
    for hwb in sorted({r.hwb_code for r in current}):
        job = WorkbookJob(
            path=paths.period_reports(target, card) / card.workbook_file(hwb, target.label),
            card=card,
            rows=[r for r in current if r.hwb_code == hwb],
            history=[r for r in results if r.hwb_code == hwb and Period.parse(r.period) <= target],
            hwb=hwb,
            hwb_name=names.get(hwb, hwb),
            target=target,
            generated_at=generated_at,
            suppression_threshold=suppression_threshold,
            tolerances={k[1]: v for k, v in tolerances.items() if k[0] == hwb and k[2] == target.financial_year},
            run_id=run_id,
            inputs_sha256=inputs_sha256,
            synthetic=synthetic,
        )
        out.append(write(job))
        progress(f"workbook for {hwb}")
    return out


def render_scorecards(
    paths: RunPaths,
    target: Period,
    results: Sequence[MetricResult],
    loads: Sequence[LoadOutcome],
    generated_at: str,
    suppression_threshold: int,
    card: Scorecard | None = None,
    progress: Progress = _quiet,
    mapping: Mapping[str, Any] | None = None,
    synthetic: str = "",
    run_notice: str = "",
) -> list[Path]:
    """The HTML scorecard per HWB, from the same result rows as the workbook and charts; ``mapping``
    (``MappingFile.record()``) footnotes the extracts that came through a mapping file; ``synthetic``
    and ``run_notice`` (``metrics.compute.readiness.run_notice``) go at the top of every page."""
    from metrics.publish.charts import chart_paths, funnel_chart_paths, spc_chart_paths
    from metrics.publish.html import render_scorecard, write_scorecard
    from metrics.publish.spc_notes import spc_summary

    card = card or default_scorecard()
    names = hwb_names()
    metrics = metrics_for(card)
    further = [r for r in results if r.view and r.period == target.label]
    every = results  # all views: SPC reads the in-period quarter of a year-to-date metric
    results = headline(results)
    out_dir = paths.period_reports(target, card)
    quality = {m.id: data_quality_notes(m, target, loads) for m in metrics}
    out = []
    for hwb in sorted({r.hwb_code for r in results if r.period == target.label}):
        mine = [r for r in results if r.hwb_code == hwb and Period.parse(r.period) <= target]
        current = [r for r in mine if r.period == target.label]
        charts = {m.id: chart_paths(out_dir / "charts", hwb, m.id)[1] for m in metrics}
        spc_charts = {m.id: spc_chart_paths(out_dir / "charts", hwb, m.id)[1] for m in metrics}
        views = [r for r in every if r.hwb_code == hwb and Period.parse(r.period) <= target]
        spc = {
            m.id: spc_summary(m, [r for r in views if r.metric_id == m.id], threshold=suppression_threshold)
            for m in metrics
        }
        page = render_scorecard(
            metrics,
            current,
            mine,
            hwb,
            names.get(hwb, hwb),
            target,
            charts,
            quality,
            spc,
            generated_at,
            suppression_threshold,
            card,
            views=[r for r in further if r.hwb_code == hwb],
            spc_charts=spc_charts,
            sources=mapping_footnotes(mapping),
            funnel_charts={m.id: funnel_chart_paths(out_dir / "charts", m.id)[1] for m in metrics},
            synthetic=synthetic,
            run_notice=run_notice,
        )
        out.append(write_scorecard(out_dir / f"{card.page_prefix}_{hwb}_{target.label}.html", page))
        progress(f"scorecard for {hwb}")
    return out


def mapping_footnotes(mapping: Mapping[str, Any] | None) -> list[str]:
    """One line per extract delivered through the run's mapping file: which file(s), read how."""
    if not mapping:
        return []
    return [
        f"{name}: {', '.join(m['files'])} read as {m['format']} by the mapping {mapping['name']!r} "
        f"({Path(mapping['path']).name}, SHA-256 {mapping['sha256'][:12]})"
        for name, m in mapping["extracts"].items()
    ]
