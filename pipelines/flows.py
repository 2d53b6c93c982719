"""The Prefect flow for a quarterly scorecard run: thin tasks over the stage modules.

One flow function, ``scorecard_quarterly``, runs any declared scorecard (its ``scorecard`` parameter).
Each scorecard's ``flow_name`` (``bcf-quarterly``, ``safeguarding-quarterly``, ...) is the same flow
under that name, reached as an attribute of this module (``pipelines/flows.py:bcf_quarterly``), so
deployments keep the names analysts already run and a new scorecard folder needs no code here.

Progress goes to the standard ``logging`` logger ``scorecard`` at INFO (the CLI attaches a handler;
Prefect records it in the run's logs when ``PREFECT_LOGGING_EXTRA_LOGGERS=scorecard``, which the CLI
and the deployments set).

Retries are set only where a retry can help (writing output files); ingest, validation and
computation never retry, because a second attempt at bad data only hides the error.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from prefect import Flow, Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from metrics.compute.comparisons import Settings, parse_level
from metrics.compute.readiness import run_notice
from metrics.compute.reuse import PeriodResults
from metrics.compute.run import available_hwbs, results_for_period
from metrics.core import provenance
from metrics.core.paths import RunPaths
from metrics.core.periods import Period, just_closed
from metrics.core.reference import comparison_files, current_hwb_code, hwb_names, peer_groups, run_comparators
from metrics.core.registry import Scorecard, default_scorecard, scorecard, scorecards
from metrics.core.results import MISSING, REJECTED, LoadOutcome, MetricResult, headline
from metrics.ingest.mapping import MappingFile, load_mapping, resolver
from metrics.ingest.run import extracts_of, ingest_periods, periods_to_load
from metrics.publish.manifest import build_manifest, input_records, inputs_digest, reference_data, write_manifest
from metrics.publish.run import export_returns, render_charts, render_funnels, render_scorecards
from metrics.publish.tidy import tidy_rows, write_results
from metrics.warehouse import WarehouseBusyError
from metrics.warehouse.runlock import exclusive_run, lock_wait_seconds
from metrics.warehouse.runs import record_run, run_history
from pipelines import artifacts
from pipelines.checks import (
    ExtractsRejected,
    UnknownArea,
    WarehouseUnusable,
    check_period_folder,
    check_warehouse,
    parse_period,
    reports_url,
)

PROGRESS_LOGGER = "scorecard"
log = logging.getLogger(PROGRESS_LOGGER)
# Progress is INFO. Prefect attaches its handlers to the extra loggers but leaves their level alone,
# so without this they inherit the root logger's WARNING and a deployment run's log never shows
# progress (nor "waiting for <run> to finish"). An application that set a level keeps it.
if log.level == logging.NOTSET:
    log.setLevel(logging.INFO)

PeriodParam = Annotated[
    str | None,
    Field(
        pattern=r"^\d{4}-\d{2}-Q[1-4]$",
        description="Financial-year quarter, e.g. 2023-24-Q2; empty = the quarter just closed (Europe/London)",
    ),
]
HwbParam = Annotated[
    str | list[str] | None,
    Field(description="One HWB ONS code, a list of codes, 'all' or empty for every HWB in the population extract"),
]


def _emit(message: str) -> None:
    log.info(message)


P = ParamSpec("P")
R = TypeVar("R")


def _call(fn: Task[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a task with its arguments as they are (each wrapped in Prefect's ``quote``).

    Before a task runs, Prefect walks every argument, recursively through lists, dicts, dataclasses
    and pydantic models, twice (to find upstream futures and states, and to resolve them). The
    arguments here are the scorecard declaration (every metric), the run's loads and up to 564
    results: profiled on the demo re-run, those walks were about 200,000 visits and a fifth of the
    flow's time. No argument is ever a future or a state (every task is called and finished in turn),
    so there is nothing to find; ``quote`` is Prefect's documented way to skip the walk. The one thing
    lost is the dependency arrows between these task runs in Prefect's UI."""
    call: Any = fn
    return call(*(quote(a) for a in args), **{k: quote(v) for k, v in kwargs.items()})


__all__ = ["ExtractsRejected", "flow_for", "resolve_hwbs", "resolve_period", "scorecard_quarterly"]


@task(name="ingest-and-validate", cache_policy=NO_CACHE)
def ingest_task(
    paths: RunPaths,
    periods: list[Period],
    run_id: str,
    docs_dir: Path,
    card: Scorecard,
    mapping: MappingFile | None = None,
) -> list[LoadOutcome]:
    outcomes = ingest_periods(
        paths, periods, run_id, docs_dir, extracts_of(card), progress=_emit, resolve=resolver(mapping)
    )
    logger = get_run_logger()
    for o in outcomes:
        if o.status == REJECTED:
            # Recorded in the run's logs; the CLI leaves it off the terminal (the run's error repeats it).
            logger.error(o.summary(), extra={"scorecard_user_error": True})
    return outcomes


@task(name="compute-metrics", cache_policy=NO_CACHE)
def compute_task(
    paths: RunPaths,
    period: Period,
    hwbs: list[str],
    loads: list[LoadOutcome],
    run_id: str,
    card: Scorecard,
    threshold: int = 5,
    comparing: Settings | None = None,
) -> PeriodResults:
    got = results_for_period(paths, period, hwbs, loads, run_id, card, threshold, comparing)
    if got.reused_from:
        _emit(f"reused {len(got.results)} results for {period.label} (inputs unchanged since run {got.computed_by})")
    else:
        _emit(f"computed {len(got.results)} results for {period.label}")
    return got


@task(name="render-charts", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def charts_task(
    paths: RunPaths, target: Period, results: list[MetricResult], threshold: int, card: Scorecard, synthetic: str = ""
) -> list[Path]:
    drawn = render_charts(paths, target, results, threshold, card, progress=_emit, synthetic=synthetic)
    funnels = render_funnels(paths, target, results, threshold, card)
    if funnels:
        _emit(f"{len(funnels) // 2} funnel plots across the run's areas")
    return drawn + funnels


@task(name="export-return", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def export_task(
    paths: RunPaths,
    target: Period,
    results: list[MetricResult],
    generated_at: str,
    threshold: int,
    card: Scorecard,
    run_id: str = "",
    inputs_sha256: str | None = None,
    synthetic: str = "",
) -> list[Path]:
    return export_returns(
        paths,
        target,
        results,
        generated_at,
        threshold,
        card,
        _emit,
        run_id=run_id,
        inputs_sha256=inputs_sha256,
        synthetic=synthetic,
    )


@task(name="render-scorecards", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def scorecard_task(
    paths: RunPaths,
    target: Period,
    results: list[MetricResult],
    loads: list[LoadOutcome],
    generated_at: str,
    threshold: int,
    card: Scorecard,
    mapping: MappingFile | None = None,
    synthetic: str = "",
    notice: str = "",
) -> list[Path]:
    return render_scorecards(
        paths,
        target,
        results,
        loads,
        generated_at,
        threshold,
        card,
        progress=_emit,
        mapping=mapping.record() if mapping else None,
        synthetic=synthetic,
        run_notice=notice,
    )


@task(name="export-tidy-results", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def tidy_task(
    paths: RunPaths,
    target: Period,
    results: list[MetricResult],
    threshold: int,
    card: Scorecard,
    synthetic: bool = False,
) -> list[Path]:
    mine = [r for r in results if Period.parse(r.period) <= target]
    return write_results(paths.period_reports(target, card), tidy_rows(mine, card, hwb_names(), threshold, synthetic))


def resolve_period(period: str | None, today: dt.date | None = None) -> Period:
    """The requested quarter, or the one that closed most recently in UK time."""
    if period:
        return parse_period(period)
    return just_closed(today or dt.datetime.now(ZoneInfo("Europe/London")).date())


def resolve_hwbs(hwb: str | list[str] | None, available: list[str]) -> list[str]:
    """Requested HWB codes checked against those in the period's population extract. A retired code
    (``hwb_codes.csv`` replaced_by) asks for its area, stored and reported under the current code."""
    if hwb is None or hwb == "all" or hwb == [] or hwb == "":
        return available
    wanted = list(dict.fromkeys(current_hwb_code(h) for h in ([hwb] if isinstance(hwb, str) else list(hwb))))
    unknown = [h for h in wanted if h not in available]
    if unknown:
        raise UnknownArea(
            f"HWB code(s) {', '.join(unknown)} are not in this period's population extract; "
            f"available: {', '.join(available) or 'none'}\nfix: give one of those codes, or none for every area"
        )
    return wanted


@flow(name="scorecard-quarterly", log_prints=True)
def scorecard_quarterly(
    scorecard: str = "",
    period: PeriodParam = None,
    hwb: HwbParam = None,
    raw_dir: str = "data/raw",
    warehouse: str = "data/processed/warehouse.duckdb",
    reports_dir: str = "reports",
    suppression_threshold: Annotated[int, Field(ge=1, le=100)] = 5,
    lock_wait_seconds: Annotated[
        float | None,
        Field(
            ge=0,
            description="How long to wait for another run using the same warehouse to finish; empty = "
            "SCORECARD_LOCK_WAIT_SECONDS or 7200 (two hours); 0 = stop at once",
        ),
    ] = None,
    mapping: Annotated[
        str | None,
        Field(
            description="A mapping file (TOML) saying how the quarter folders deliver extracts in other shapes "
            "(e.g. mappings/sus_apc.toml); empty = the contract CSVs (or .xlsx workbooks of the same names)",
        ),
    ] = None,
    comparison_level: Annotated[
        float, Field(description="Confidence level of the England, region and funnel comparisons: 95 or 99.8")
    ] = 95.0,
    comparators: Annotated[
        str,
        Field(
            description="Comparator file (england_benchmarks.csv format) for England and regions the run does "
            "not cover; empty = the shipped metrics/reference/england_benchmarks.csv, overlaid by "
            "<raw_dir>/comparators.csv when delivered"
        ),
    ] = "",
    peers: Annotated[
        str, Field(description="Peer-group file (area_code,peer_code); empty = the declared peer_groups file")
    ] = "",
) -> dict[str, Any]:
    """Ingest, validate, compute, chart and export one quarter (and its year to date) of a scorecard
    (empty = the default scorecard; under a scorecard's own flow name, that scorecard)."""
    card = _card_of_this_flow(scorecard)
    comparing = comparison_settings(comparison_level, comparators, peers, raw_dir)
    return _start(
        card, period, hwb, raw_dir, warehouse, reports_dir, suppression_threshold, lock_wait_seconds, mapping, comparing
    )


def comparison_settings(
    level: float | str, comparators: str = "", peers: str = "", raw_dir: str | Path | None = None
) -> Settings:
    """The run's comparison settings, every file read strictly before anything is loaded; comparator
    values as ``metrics.core.reference.run_comparators`` chooses them (given file, else the shipped one
    overlaid by a delivered ``comparators.csv``: a single-area run's England and regional values
    without a flag every quarter; the demo ships one with synthetic values)."""
    values, label = run_comparators(Path(comparators) if comparators else None, Path(raw_dir) if raw_dir else None)
    return Settings(
        level=parse_level(level),
        values=values,
        file_label=label,
        peers=peer_groups(Path(peers)) if peers else None,
        peer_label=Path(peers).name if peers else "",
        files=tuple(comparison_files(comparators, peers, raw_dir)),
    )


def _card_of_this_flow(requested: str) -> Scorecard:
    """The scorecard named by the parameter, else the one whose flow name this run carries."""
    if requested:
        return scorecard(requested)
    name = flow_run.get_flow_name()
    for card in scorecards().values():
        if card.flow_name == name:
            return card
    return default_scorecard()


@functools.cache
def flow_for(card_id: str) -> Flow[..., dict[str, Any]]:
    """The flow under a scorecard's declared flow name (the deployments' flow)."""
    return scorecard_quarterly.with_options(name=scorecard(card_id).flow_name)


def __getattr__(name: str) -> Any:
    """``bcf_quarterly``, ``safeguarding_quarterly``, ...: each declared scorecard's flow, so that
    ``pipelines/flows.py:<flow_name with underscores>`` is a deployment entrypoint."""
    for card in scorecards().values():
        if card.flow_name.replace("-", "_") == name:
            return flow_for(card.id)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _start(
    card: Scorecard,
    period: str | None,
    hwb: str | list[str] | None,
    raw_dir: str,
    warehouse: str,
    reports_dir: str,
    suppression_threshold: int,
    wait: float | None = None,
    mapping: str | None = None,
    comparing: Settings | None = None,
) -> dict[str, Any]:
    target = resolve_period(period)
    mapped = load_mapping(mapping) if mapping else None  # a bad mapping stops the run before anything loads
    paths = RunPaths(Path(raw_dir), Path(warehouse), Path(reports_dir))
    check_period_folder(paths.raw_dir, target)
    check_warehouse(paths.warehouse)
    reports_url()  # a mistyped SCORECARD_REPORTS_URL stops the run now, not after every output is written
    run_id = str(flow_run.get_id() or uuid.uuid4())
    holder = f"the {target.label} {card.id} run {run_id}"
    with exclusive_run(paths.warehouse, holder, wait=lock_wait_seconds(wait), progress=_emit):
        try:
            return _run(paths, target, hwb, run_id, suppression_threshold, card, mapped, comparing)
        except WarehouseBusyError as exc:  # DuckDB's own lock, held by a process outside the pipeline
            raise WarehouseUnusable(str(exc)) from exc


def _run(
    paths: RunPaths,
    target: Period,
    hwb: str | list[str] | None,
    run_id: str,
    suppression_threshold: int,
    card: Scorecard,
    mapping: MappingFile | None = None,
    comparing: Settings | None = None,
) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC)
    out_dir = paths.period_reports(target, card)
    out_dir.mkdir(parents=True, exist_ok=True)
    sc = card

    periods = periods_to_load(target, paths.raw_dir, extracts_of(sc), resolver(mapping))
    loads = _call(ingest_task, paths, periods, run_id, paths.data_docs(target, card), card, mapping)
    hwbs = resolve_hwbs(hwb, available_hwbs(paths, target, card))
    if not hwbs:
        raise ExtractsRejected(
            f"no areas to report: the {sc.population_extract} extract for {target.label} was not loaded:\n"
            + "\n".join(o.summary() for o in loads if o.status == REJECTED)
        )
    results: list[MetricResult] = []
    # A quarter whose inputs, definitions and settings are those of a stored set of results is read
    # back, not computed (metrics.compute.reuse); the manifest's ``quarters`` says which, and from which run.
    quarters: list[PeriodResults] = []
    for p in periods:
        quarters.append(_call(compute_task, paths, p, hwbs, loads, run_id, card, suppression_threshold, comparing))
        results += quarters[-1].results
    # Said on every output: synthetic inputs (their folder's SYNTHETIC_DATA.json), a failed or partial run.
    synthetic = provenance.banner(
        [f"{o.period} {o.extract}" for o in loads if o.synthetic], sum(o.status != MISSING for o in loads)
    )
    notice = run_notice(target, loads)
    charts = _call(charts_task, paths, target, results, suppression_threshold, card, synthetic)
    generated_at = started.strftime("%Y-%m-%d %H:%M UTC")
    # The inputs digest the manifest will record, known now: the return's cover carries it (and the
    # run id), since the manifest, which lists the return's SHA-256, cannot be hashed onto the return.
    compared = [{"role": r, "name": n, "sha256": h} for r, n, h in (comparing.files if comparing else ())]
    digest = inputs_digest(input_records(loads), reference_data(), compared)
    returns = _call(
        export_task, paths, target, results, generated_at, suppression_threshold, card, run_id, digest, synthetic
    )
    pages = _call(
        scorecard_task,
        paths,
        target,
        results,
        loads,
        generated_at,
        suppression_threshold,
        card,
        mapping,
        synthetic,
        notice,
    )
    tidy = _call(tidy_task, paths, target, results, suppression_threshold, card, bool(synthetic))

    rejected = [o for o in loads if o.status == REJECTED]
    status = "failed: rejected extracts" if rejected else "completed"
    docs = paths.data_docs(target, card) / "index.html"
    manifest = build_manifest(
        run_id,
        target.label,
        hwbs,
        started,
        loads,
        results,
        [*charts, *returns, *pages, *tidy, docs],
        suppression_threshold,
        status,
        run_history(paths, target, card),
        mapping.record() if mapping else None,
        synthetic=synthetic,
        notice=notice,
        quarters=[q.record() for q in quarters],
        comparison_files=compared,
    )
    manifest_path = write_manifest(out_dir / "manifest.json", manifest)
    record_run(paths, run_id, target, hwbs, started, status, manifest_path, card)
    current = headline(r for r in results if r.period == target.label)
    area = "all" if hwb is None or hwb in ("all", "", []) else hwbs
    artifacts.publish(
        target,
        current,
        loads,
        charts,
        [*returns, *pages],
        docs,
        manifest_path,
        suppression_threshold,
        card,
        area,
        tables=tidy,
        reports_dir=paths.reports_dir,
        notices=[n for n in (notice, synthetic) if n],
    )
    _emit(f"manifest written to {manifest_path}")
    if rejected:
        raise ExtractsRejected(
            "extracts failed validation (outputs for unaffected metrics were still written):\n"
            + "\n".join(o.summary() for o in rejected)
        )
    return {
        "run_id": run_id,
        "period": target.label,
        "hwbs": hwbs,
        "status": status,
        "synthetic_data": synthetic,
        "reports_dir": str(out_dir),
        "manifest": str(manifest_path),
        "returns": [str(p) for p in returns],
        "scorecards": [str(p) for p in pages],
        "charts": len(charts),
        "data_docs": str(docs),
        "results": [r.as_dict() for r in current],
    }
