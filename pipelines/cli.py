"""``scorecard``: the analyst's command line.

``scorecard run`` runs the quarterly flow in-process on Prefect's embedded
default (a temporary local server over SQLite, no accounts) with a progress
display, then prints where every output is. ``scorecard validate`` checks a
delivery against the contracts without loading it.

Errors a user can cause (``metrics.core.errors.UserError``) are printed as a few plain lines naming
the problem and the fix, with exit status 1 (data rejected), 2 (usage) or 3 (environment); only
``--debug`` adds the traceback. The arguments of ``run`` and ``validate`` are checked before Prefect
or GX is imported, so a mistyped period, area or folder is reported at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics.core.errors import EnvironmentProblem, UsageError, UserError
from metrics.core.periods import Period
from pipelines import checks

if TYPE_CHECKING:
    from rich.console import Console

# Quiet, offline-friendly Prefect defaults, set by ``main`` before Prefect is imported; any of these
# can be overridden from the environment.
ENV_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "scorecard",
    "GX_ANALYTICS_ENABLED": "False",
}


def _preflight(args: argparse.Namespace, card: Any) -> tuple[Period, Path]:
    """The checks that need neither Prefect nor GX: period, its folder, the areas, the warehouse."""
    from metrics.contracts import EXTRACTS

    raw_dir = Path(args.raw_dir)
    population = EXTRACTS[card.population_extract]
    # The file that marks a quarter folder as this scorecard's: the population extract as delivered.
    markers = [population.filename, str(Path(population.filename).with_suffix(".xlsx"))]
    if getattr(args, "mapping", None):
        from metrics.ingest.mapping import load_mapping

        mapped = load_mapping(args.mapping).extracts.get(population.name)  # a bad mapping: exit 2 now
        if mapped is not None:
            markers = [mapped.files[0]]
    period = checks.parse_period(args.period or checks.latest_period(raw_dir, *markers))
    folder = checks.check_period_folder(raw_dir, period)
    if getattr(args, "hwb", None) and args.hwb != ["all"]:
        checks.check_areas(args.hwb, folder / EXTRACTS[card.population_extract].filename)
    if getattr(args, "warehouse", None) and args.command == "run":
        checks.check_warehouse(Path(args.warehouse))
    checks.check_reference_data()
    if args.command == "run":  # comparator and peer files read strictly before Prefect starts
        from metrics.core.reference import peer_groups, run_comparators

        run_comparators(Path(args.comparators) if args.comparators else None, raw_dir)
        peer_groups(Path(args.peers) if args.peers else None)
    return period, raw_dir


def _quiet_prefect_console() -> None:
    """Leave a run's user errors off the terminal as Prefect logs them (the rejected-extract summary
    per file, and the failed run's exception with its traceback): the CLI prints the error once.
    They stay in the run's logs on the Prefect server. Progress records, which the CLI's display
    already shows, are not printed a second time."""
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    class DropUserErrors(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            # Progress (the ``scorecard`` logger) is shown by the CLI's own display; other libraries'
            # chatter below WARNING (GX's temporary folders) is noise on a terminal.
            if getattr(record, "scorecard_user_error", False) or record.levelno < logging.WARNING:
                return False
            exc = record.exc_info[1] if record.exc_info else None
            if isinstance(exc, UserError):
                return False
            # "Finished in state Failed('Flow run encountered an exception: ExtractsRejected: ...')"
            failed = "Finished in state Failed" in record.getMessage()
            return not (record.name.startswith("prefect.flow_runs") and failed)

    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler) and not any(
                type(f).__name__ == "DropUserErrors" for f in handler.filters
            ):
                handler.addFilter(DropUserErrors())


def cmd_run(args: argparse.Namespace) -> int:
    card = _card(args)
    # Every usage error (period, folder, areas, warehouse, reference files) is found here, before a
    # server is started or a heavy library imported, so a mistyped argument costs well under a second.
    target, raw_dir = _preflight(args, card)
    from pipelines.server import start_embedded

    # Prefect's embedded server takes seconds to start (its own imports, the SQLite migrations): start
    # it now, in its own process, so that it starts while this one imports Prefect, GX, DuckDB and
    # matplotlib, instead of after them at the flow's first API call. PREFECT_API_URL is set before
    # Prefect is imported (Prefect reads its settings then). None: the user's own server is used.
    server = start_embedded()
    if server is not None:
        os.environ["PREFECT_API_URL"] = server.api_url
    try:
        return _run(args, card, target, raw_dir, server)
    finally:
        if server is not None:
            _stop_embedded(server)


def _stop_embedded(server: Any) -> None:
    """Send Prefect's queued logs and events, then end the server (also after an error or Ctrl-C)."""
    if "prefect" in sys.modules:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (APILogWorker, EventsWorker):
            with contextlib.suppress(Exception):  # a server that died is reported by the run itself
                worker.drain_all(timeout=5)
    server.stop()
    os.environ.pop("PREFECT_API_URL", None)


def _run(args: argparse.Namespace, card: Any, target: Period, raw_dir: Path, server: Any) -> int:
    period = target.label

    import logging

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    from metrics.core.paths import RunPaths
    from pipelines import flows

    if not args.debug:
        _quiet_prefect_console()
    console = Console(stderr=True)
    label = card.label
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as progress:
        job = progress.add_task(f"{label} {period}: starting Prefect (embedded) ...", total=None)

        class ProgressHandler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                message = record.getMessage()
                progress.update(job, description=f"{label} {period}: {message}")
                progress.console.print(Text(f"  {message}", style="dim"))  # text, never markup

        logger = logging.getLogger(flows.PROGRESS_LOGGER)
        handler = ProgressHandler(logging.INFO)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            if server is not None:
                _while_server_starts(raw_dir, Path(args.warehouse))
                timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 120)
                try:
                    server.wait_ready(timeout)
                except RuntimeError as exc:
                    raise EnvironmentProblem(f"{exc}; nothing was run") from exc
            state: Any = flows.flow_for(card.id)(
                scorecard=card.id,
                period=period,
                hwb=None if args.hwb in (None, [], ["all"]) else args.hwb,
                raw_dir=str(raw_dir),
                warehouse=args.warehouse,
                reports_dir=args.reports_dir,
                suppression_threshold=args.suppression_threshold,
                # Interactive runs stop at once when the warehouse is taken, unless --wait.
                lock_wait_seconds=None if args.wait else 0,
                mapping=args.mapping,
                comparison_level=float(args.comparison_level),
                comparators=args.comparators,
                peers=args.peers,
                return_state=True,
            )
        finally:
            logger.removeHandler(handler)
    out_dir = RunPaths(raw_dir, Path(args.warehouse), Path(args.reports_dir)).period_reports(target, card)
    manifest = out_dir / "manifest.json"
    if state.is_completed():
        summary = state.result()
        _print_summary(console, summary, manifest, label)
        return 0
    try:
        state.result()
    except UserError as exc:
        if args.debug:
            import traceback

            traceback.print_exception(exc)
        print(f"error: {label} {period} run failed:\n{exc}", file=sys.stderr)
        if manifest.exists():
            print(f"Outputs that could be produced, and the rejects, are listed in {manifest}", file=sys.stderr)
        _release(exc)
        return exc.exit_code
    # Not a user error: a bug, which keeps its traceback.
    raise RuntimeError(f"the {label} {period} run failed without an exception; state {state.type}")


def _while_server_starts(raw_dir: Path, warehouse: Path) -> None:
    """Import now what the run will import anyway, while the embedded server is still starting.

    The server's own start (importing Prefect's server, about 6 s of CPU, then its database) takes
    longer than this process's imports, so this process would otherwise wait idle for it and only
    then import these, serially, inside the flow: the modules every flow call imports (Prefect's
    parameter serialiser from FastAPI, its task-graph tracker) and, when files are to be validated,
    Great Expectations (3 s or more). Done before the wait, each costs nothing when the server is
    slower, and nothing extra otherwise, being needed later. GX is imported only when the warehouse
    is new or older than a delivered file (a re-run of unchanged files never loads it); a wrong guess
    costs time, never a different result."""
    import fastapi.encoders  # noqa: F401  (prefect.flows.Flow.serialize_parameters)
    import prefect.utilities.visualization  # noqa: F401  (prefect.flows.Flow.__call__)

    try:
        built = warehouse.stat().st_mtime
    except OSError:
        built = None  # a new warehouse: every delivered file is validated
    if built is None or _newer_than(raw_dir, built):
        import great_expectations  # noqa: F401
        from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: F401


def _newer_than(folder: Path, mtime: float) -> bool:
    """Whether any file in the quarter folders under ``folder`` was changed after ``mtime``."""
    with contextlib.suppress(OSError):
        for quarter in os.scandir(folder):
            if quarter.is_dir():
                for entry in os.scandir(quarter.path):
                    if entry.is_file() and entry.stat().st_mtime > mtime:
                        return True
    return False


def _release(exc: BaseException) -> None:
    """Clear the locals of the failed run's traceback frames, once reported. Prefect keeps the failed
    state (and so the traceback) until exit; a DuckDB connection still referenced by a frame then
    outlives the interpreter, and DuckDB's bindings print 'nanobind: leaked ...' lines after the error."""
    import traceback

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        traceback.clear_frames(e.__traceback__)
        e = e.__cause__ or e.__context__


def cmd_validate(args: argparse.Namespace) -> int:
    """Check one delivery against the contracts (file checks, parse, casts, SQL row rules and GX)
    without loading it: a throwaway DuckDB and Data Docs in a temporary folder."""
    card = _card(args)
    target, raw_dir = _preflight(args, card)

    from metrics.core.results import MISSING, REJECTED
    from metrics.ingest.check import check_delivery
    from metrics.ingest.mapping import load_mapping, resolver
    from metrics.ingest.run import extracts_of

    mapping = load_mapping(args.mapping) if args.mapping else None
    if mapping is not None:
        print(f"mapping  {mapping.path} ({mapping.name}): {', '.join(mapping.extracts)}")
    outcomes = check_delivery(
        raw_dir,
        target,
        extracts_of(card),
        Path(args.warehouse) if args.warehouse else None,
        progress=None,
        resolve=resolver(mapping),
    )
    rejected = [o for o in outcomes if o.status == REJECTED]
    for o in outcomes:
        if o.status == REJECTED:
            print(f"REJECTED {o.file_path}: {o.message}")
            for p in o.problems:
                line = p.where
                column = f"column {p.column}" if p.column else "-"
                print(f"  {o.file_path}: {line}, {column}, rule {p.rule}: {p.reason}")
        elif o.status == MISSING:
            print(f"missing  {o.file_path}: not delivered (its metrics would report Data not available)")
        else:
            print(f"ok       {o.file_path} ({o.rows} rows)")
    delivered = [o for o in outcomes if o.status != MISSING]
    print(
        f"{card.label} {target.label}: {len(delivered) - len(rejected)} of {len(delivered)} delivered file(s) pass"
        + (f"; {len(rejected)} rejected" if rejected else "")
    )
    return 1 if rejected else 0


def _print_summary(console: Console, summary: dict[str, Any], manifest: Path, label: str = "BCF") -> None:
    from rich.markup import escape
    from rich.table import Table

    from metrics.compute.suppression import publishable
    from metrics.core.periods import Period
    from metrics.core.registry import MetricSet, get, metric_set
    from metrics.core.results import MetricResult

    table = Table(title=f"{label} {summary['period']}")
    for col in ("Area", "Metric", "Value (95% CI)", "Plan/target", "Status"):
        table.add_column(col)
    # The year's headline set first, then the supporting measures under their own heading, as the
    # page and the return show them.
    year = Period.parse(summary["period"]).financial_year
    sets: dict[str, MetricSet] = {}

    def headline(raw: dict[str, Any]) -> bool:
        card = get(raw["metric_id"]).scorecard
        return sets.setdefault(card, metric_set(card, year)).is_headline(raw["metric_id"])

    rows = summary["results"]
    groups = [[r for r in rows if headline(r)], [r for r in rows if not headline(r)]]
    for i, group in enumerate(groups):
        if i == 1 and group:
            table.add_section()
            table.add_row("", "[bold]Supporting measures[/bold]", "", "", "")
        for raw in group:
            r = publishable(MetricResult(**raw))
            m = get(raw["metric_id"])
            value = r.get("value")
            shown = (
                "n/a"
                if value is None
                else (
                    f"{value:.{m.decimals}f} ({r['lower']:.{m.decimals}f}-{r['upper']:.{m.decimals}f})"
                    if r.get("lower") is not None and r.get("upper") is not None
                    else f"{value:.{m.decimals}f}"
                )
            )
            plan = "" if raw["plan"] is None else f"{raw['plan']:g}"
            table.add_row(raw["hwb_code"], m.title, shown, plan, raw["status"])
    console.print(table)
    if summary.get("synthetic_data"):
        console.print(f"[bold]{escape(summary['synthetic_data'])}[/bold]")
    console.print(f"Reports:   {summary['reports_dir']}")
    for p in summary["returns"]:
        console.print(f"Workbook:  {p}")
    for p in summary["scorecards"]:
        console.print(f"Scorecard: {p}")
    console.print(f"Charts:    {summary['charts']} files in {Path(summary['reports_dir']) / 'charts'}")
    console.print(f"Data Docs: {summary['data_docs']}")
    console.print(f"Manifest:  {manifest}")


def cmd_demo_data(args: argparse.Namespace) -> int:
    from metrics.synthetic import bcf as synthetic
    from metrics.synthetic import safeguarding as synthetic_safeguarding

    names = list(dict.fromkeys(f.strip() for spec in args.formats or [] for f in spec.split(",") if f.strip()))
    unknown = [n for n in names if n not in DEMO_FORMATS]
    if unknown:
        raise UsageError(f"--formats {unknown[0]}: use one of {', '.join(DEMO_FORMATS)}")
    own = [n for n in names if n in OWN_DEMO]
    if own:
        if len(names) > 1:
            raise UsageError(f"--formats {own[0]} writes a demo of its own: give it alone")
        print(DEMO_FORMATS[own[0]](Path(args.out)))
        _mark_synthetic(Path(args.out), f"scorecard demo-data --formats {own[0]}")
        return 0
    synthetic.write_demo(Path(args.out))
    synthetic_safeguarding.write_demo(Path(args.out))
    print(
        f"demo extracts written under {args.out}: BCF for North Northamptonshire 2020-21 Q3 to 2023-24 Q2 "
        "(three years of monthly history for SPC) and 2025-26 Q1-Q2; "
        "safeguarding for North and West Northamptonshire 2022-23 Q3 to 2023-24 Q2"
    )
    for name in names:
        print(DEMO_FORMATS[name](Path(args.out)))
    if names:
        _mark_synthetic(Path(args.out), "scorecard demo-data --formats " + ",".join(names))
    return 0


def _demo_ons(root: Path) -> str:
    from metrics.synthetic import ons

    written = ons.write_formats(root)
    return (
        f"ONS population: {len(written)} files (MYE2 workbooks, long series) in place of population.csv and "
        f"child_population.csv; run a quarter with --mapping mappings/ons_mye.toml"
    )


def _demo_dfe(out: Path) -> str:
    """The safeguarding demo's North Northamptonshire quarters as DfE returns (SSDA903, CIN census):
    a demo of its own (records adjusted to what the returns hold), so never over the shipped one."""
    from metrics.core.paths import PACKAGE
    from metrics.synthetic import dfe

    shipped = {Path("data/raw").resolve(), (PACKAGE.parent / "data" / "raw").resolve()}
    if out.resolve() in shipped:
        raise UsageError("--formats dfe writes a demo of its own: give --out a new folder, not data/raw")
    dfe.write_demo(out)
    return (
        f"DfE returns written under {out}: SSDA903 header, episodes and missing files and the CIN census XML "
        "of North Northamptonshire (E06000061), 2022-23 Q3 to 2023-24 Q2, beside the extracts they do not replace; "
        f"run: uv run scorecard run --scorecard safeguarding --mapping mappings/dfe.toml --raw-dir {out} "
        "--hwb E06000061"
    )


def _mark_synthetic(out: Path, generator: str) -> None:
    """Every file a demo in another format leaves in a quarter folder is synthetic: the folder's
    SYNTHETIC_DATA.json names them all (a converter writes files the native generator did not)."""
    from metrics.core.provenance import MARKER, write_marker

    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        files = sorted(f for f in folder.iterdir() if f.is_file() and f.name != MARKER)
        if files:
            write_marker(folder, files, generator)


def _demo_converted(name: str) -> Callable[[Path], str]:
    """A converter of ``metrics.synthetic.formats`` (the native files rewritten in their source's shape)."""

    def write(root: Path) -> str:
        from metrics.synthetic.formats import FORMATS

        written = FORMATS[name](root)
        return f"{name}: {len(written)} file(s) in that format in place of the contract files they deliver"

    return write


# Delivery formats the demo can be written in besides the contract CSVs (``--formats``). Those in
# OWN_DEMO write a demo of their own instead of adding files to the contract demo.
DEMO_FORMATS: dict[str, Callable[[Path], str]] = {
    "sus": _demo_converted("sus"),
    "case-management": _demo_converted("case-management"),
    "ons": _demo_ons,
    "dfe": _demo_dfe,
}
OWN_DEMO = frozenset({"dfe"})


def cmd_generate_safeguarding(args: argparse.Namespace) -> int:
    from metrics.core.reference import hwb_names
    from metrics.synthetic import safeguarding as sg

    unknown = [c for c in args.la if c not in hwb_names()]
    if unknown:
        print(f"error: code(s) {unknown} are not in metrics/reference/hwb_codes.csv", file=sys.stderr)
        return 2
    las = [sg.LaProfile(code=c, children=args.children) for c in args.la]
    written = sg.generate(Path(args.out), [Period.parse(p) for p in args.periods], las, seed=args.seed)
    print(f"wrote {sum(len(v) for v in written.values())} files for {len(las)} local authorities under {args.out}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from metrics.core.reference import hwb_names
    from metrics.synthetic import bcf as synthetic
    from metrics.synthetic import national as synthetic_national

    if args.national:
        periods = [Period.parse(p) for p in args.periods]
        written = synthetic_national.write_national(Path(args.out), periods, seed=args.seed)
        print(f"wrote {sum(len(v) for v in written.values())} files for every HWB under {args.out}")
        return 0
    if args.region or args.varied:
        try:
            codes = synthetic_national.region_codes(args.region) if args.region else list(args.hwb or [])
            if not codes:
                raise ValueError("give --hwb CODE (repeatable) or --region NAME with --varied")
            profiles = synthetic_national.varied_profiles(codes, args.seed, args.population_scale)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        written = synthetic.generate(Path(args.out), [Period.parse(p) for p in args.periods], profiles, seed=args.seed)
        print(f"wrote {sum(len(v) for v in written.values())} files for {len(profiles)} HWB(s) under {args.out}")
        return 0
    if not args.hwb:
        print("error: give --hwb CODE (repeatable) or --national", file=sys.stderr)
        return 2
    names = hwb_names()
    unknown = [h for h in args.hwb if h not in names]
    if unknown:
        print(f"error: HWB code(s) {unknown} are not in metrics/reference/hwb_codes.csv", file=sys.stderr)
        return 2
    profiles = [
        synthetic.HwbProfile(
            code=h, name=names[h], total_population=args.population, population_65_plus=round(args.population * 0.19)
        )
        for h in args.hwb
    ]
    periods = [Period.parse(p) for p in args.periods]
    written = synthetic.generate(Path(args.out), periods, profiles, seed=args.seed)
    print(f"wrote {sum(len(v) for v in written.values())} files for {len(profiles)} HWB(s) under {args.out}")
    return 0


def cmd_contracts(args: argparse.Namespace) -> int:
    from metrics.publish.docs import contracts_markdown

    print(contracts_markdown(args.scorecard))
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    """Register the deployments with the server in PREFECT_API_URL (see docs/guide/scheduling.md)."""
    if args.mapping:
        from metrics.ingest.mapping import load_mapping

        load_mapping(args.mapping)  # checked now, not at 06:00 on the first day of the quarter
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            print("error: set PREFECT_API_URL to your Prefect server, e.g. http://127.0.0.1:4200/api", file=sys.stderr)
            return 2
    from pipelines.deployments import deploy_all

    defaults = {
        k: v
        for k, v in (
            ("raw_dir", args.raw_dir),
            ("warehouse", args.warehouse),
            ("reports_dir", args.reports_dir),
            ("mapping", args.mapping),
        )
        if v
    }
    ids = deploy_all(work_pool=args.pool, cron=args.cron, defaults=defaults)
    from pipelines.deployments import flows

    names = ", ".join(f"{flow}/{dep}" for _, flow in flows().values() for dep in ("quarterly", "on-demand"))
    print(f"deployed {names} to work pool {args.pool!r}: {ids}")
    return 0


def cmd_docs(_: argparse.Namespace) -> int:
    from metrics.publish.docs import GENERATED_PAGES, refresh_docs

    changed = refresh_docs()
    for page in changed:
        print(f"{page} updated")
    if not changed:
        print(f"{', '.join(GENERATED_PAGES)} already up to date")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    """The metric definitions as Markdown; with ``--year``, that financial year's headline metrics."""
    from metrics.publish.docs import metrics_markdown, year_markdown

    if getattr(args, "year", None) is not None:
        print(year_markdown(args.scorecard, checks.parse_year(args.year)))
        return 0
    print(metrics_markdown(args.scorecard))
    return 0


def _card(args: argparse.Namespace) -> Any:
    from metrics.core.registry import scorecard

    return scorecard(args.scorecard) if args.scorecard else default_card()


MAPPING_HELP = (
    "a mapping file saying how the quarter folders deliver extracts in other shapes (a SUS APC extract, "
    "a case-management export, a workbook); examples in mappings/, see docs/guide/own-extracts.md"
)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error"
    )
    parser = argparse.ArgumentParser(prog="scorecard", description=__doc__, parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)

    run = add("run", help="run a quarterly scorecard flow (ingest, validate, compute, chart, export)")
    run.add_argument(
        "--scorecard",
        default="",
        choices=_card_ids(),
        help=f"which scorecard (default {default_card().id}; declared in metrics/definitions/<id>/scorecard.toml)",
    )
    run.add_argument("--period", help="financial-year quarter, e.g. 2023-24-Q2 (default: latest under --raw-dir)")
    run.add_argument(
        "--hwb",
        action="append",
        metavar="CODE",
        help="HWB ONS code; repeat for several (default, or 'all': every HWB in the population extract)",
    )
    run.add_argument(
        "--raw-dir", default="data/raw", help="folder holding <period>/<extract>.csv (default %(default)s)"
    )
    run.add_argument("--warehouse", default="data/processed/warehouse.duckdb", help="DuckDB file (default %(default)s)")
    run.add_argument("--reports-dir", default="reports", help="output folder (default %(default)s)")
    run.add_argument(
        "--suppression-threshold",
        type=int,
        default=5,
        help="published counts below this (and above 0) are suppressed (default %(default)s)",
    )
    run.add_argument(
        "--wait",
        action="store_true",
        help="if another run is using the warehouse, wait for it (up to SCORECARD_LOCK_WAIT_SECONDS, "
        "default 7200) instead of stopping at once",
    )
    run.add_argument("--mapping", metavar="TOML", help=MAPPING_HELP)
    run.add_argument(
        "--comparison-level",
        default="95",
        choices=["95", "99.8"],
        help="confidence level (%%) of the England, region and funnel comparisons (default %(default)s)",
    )
    run.add_argument(
        "--comparators",
        metavar="FILE",
        default="",
        help="comparator file (england_benchmarks.csv format; docs/methods/comparisons.md) for England and "
        "regions the run does not cover (default: metrics/reference/england_benchmarks.csv, overlaid by "
        "RAW_DIR/comparators.csv when that is delivered)",
    )
    run.add_argument(
        "--peers",
        metavar="FILE",
        default="",
        help="peer groups, one row per area and peer (area_code,peer_code) (default: the declared peer_groups "
        "file, an example for the demo areas)",
    )
    run.set_defaults(func=cmd_run)

    val = add("validate", help="check a delivery against the contracts without loading it or writing outputs")
    val.add_argument("--period", help="quarter folder to check, e.g. 2023-24-Q2 (default: latest under --raw-dir)")
    val.add_argument(
        "--raw-dir", default="data/raw", help="folder holding <period>/<extract>.csv (default %(default)s)"
    )
    val.add_argument(
        "--scorecard",
        default="",
        choices=_card_ids(),
        help=f"whose extracts to check (default {default_card().id})",
    )
    val.add_argument(
        "--warehouse",
        help="compare against this warehouse's accepted loads (a file copied for the check when it exists; "
        "never opened for writing or created)",
    )
    val.add_argument("--mapping", metavar="TOML", help=MAPPING_HELP)
    val.set_defaults(func=cmd_validate)

    demo = add("demo-data", help="(re)write the shipped synthetic demo extracts")
    demo.add_argument("--out", default="data/raw")
    demo.add_argument(
        "--formats",
        action="extend",
        nargs="+",
        metavar="FORMAT",
        help="also write the demo as delivered in these shapes, from the same records, in place of the contract "
        f"files they replace (one or more of: {', '.join(DEMO_FORMATS)}; dfe is a safeguarding demo of its own, "
        "given alone); run them with the mapping in mappings/, see docs/guide/own-extracts.md",
    )
    demo.set_defaults(func=cmd_demo_data)

    gen = add("generate", help="write seeded synthetic extracts for any HWBs and quarters")
    gen.add_argument("--out", required=True)
    gen.add_argument("--hwb", action="append", metavar="CODE", help="HWB code; repeat for several")
    gen.add_argument(
        "--national",
        action="store_true",
        help="every HWB in England at national volume (illustrative sizes; ~4.2M spells a quarter)",
    )
    gen.add_argument("--periods", nargs="+", required=True, metavar="PERIOD")
    gen.add_argument("--population", type=int, default=300_000, help="all-ages population per HWB")
    gen.add_argument(
        "--varied",
        action="store_true",
        help="areas that differ: illustrative national sizes and rates drawn around the defaults (a multi-area "
        "demo whose funnel plots show something; docs/methods/comparisons.md)",
    )
    gen.add_argument(
        "--region",
        metavar="NAME",
        help="every current HWB of this region of hwb_codes.csv, varied (the run then computes the region itself)",
    )
    gen.add_argument(
        "--population-scale",
        type=float,
        default=1.0,
        help="with --varied or --region: multiply the illustrative sizes (default %(default)s)",
    )
    gen.add_argument("--seed", type=int, default=2023)
    gen.set_defaults(func=cmd_generate)

    gsg = add("generate-safeguarding", help="write seeded synthetic children's social care extracts")
    gsg.add_argument("--out", required=True)
    gsg.add_argument("--la", action="append", required=True, metavar="CODE", help="local authority ONS code")
    gsg.add_argument("--periods", nargs="+", required=True, metavar="PERIOD")
    gsg.add_argument("--children", type=int, default=60_000, help="children aged 0-17 per authority")
    gsg.add_argument("--seed", type=int, default=2022)
    gsg.set_defaults(func=cmd_generate_safeguarding)

    dep = add("deploy", help="register the quarterly and on-demand deployments with a Prefect server")
    dep.add_argument("--pool", default="scorecard-process", help="process work pool (default %(default)s)")
    dep.add_argument(
        "--cron", default="0 6 1 1,4,7,10 *", help="quarterly schedule, Europe/London time (default %(default)r)"
    )
    dep.add_argument("--raw-dir", help="default raw_dir parameter for both deployments")
    dep.add_argument("--warehouse", help="default warehouse parameter")
    dep.add_argument("--reports-dir", help="default reports_dir parameter")
    dep.add_argument("--mapping", metavar="TOML", help="default mapping parameter (a mapping file, see run --mapping)")
    dep.set_defaults(func=cmd_deploy)

    for name, what, func in (
        ("contracts", "extract contracts", cmd_contracts),
        ("metrics", "metric definitions", cmd_metrics),
    ):
        cmd = add(name, help=f"print the {what} as Markdown")
        cmd.add_argument("--scorecard", default=default_card().id, choices=_card_ids())
        if name == "metrics":
            cmd.add_argument(
                "--year",
                metavar="YYYY-YY",
                help="only that financial year's headline metrics (e.g. 2025-26): id, title, unit, source, "
                "confirmation and whether the set is carried forward from an earlier year",
            )
        cmd.set_defaults(func=func)
    sub.add_parser(
        "docs",
        parents=[common],
        aliases=["readme"],
        help="regenerate the generated contract and metric tables in docs/reference/ ('readme' is an old alias)",
    ).set_defaults(func=cmd_docs)
    return parser


def default_card() -> Any:
    from metrics.core.registry import default_scorecard

    return default_scorecard()


def _card_ids() -> list[str]:
    from metrics.core.registry import scorecards

    return sorted(scorecards())


def main(argv: list[str] | None = None) -> int:
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    try:
        # The parser's choices come from the declarations: a malformed one is reported, not a traceback.
        parser = build_parser()
    except UserError as exc:
        if "--debug" in (sys.argv[1:] if argv is None else argv) or os.environ.get("SCORECARD_DEBUG", "") not in (
            "",
            "0",
        ):
            import traceback

            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    args = parser.parse_args(argv)
    args.debug = bool(getattr(args, "debug", False)) or os.environ.get("SCORECARD_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args))
    except UserError as exc:
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        _release(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `scorecard metrics | head` closed the pipe: not an error of ours. Point stdout at devnull so
        # the interpreter's final flush does not raise again (Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
