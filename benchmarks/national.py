"""Benchmark: the real BCF flow against bare DuckDB SQL and plain pandas on the same CSVs.

    uv run python benchmarks/national.py                        # all 153 HWBs, ~4.2M spells a quarter
    uv run python benchmarks/national.py --hwbs east-midlands   # the 10 East Midlands HWBs
    uv run python benchmarks/national.py --hwbs E06000061 E06000062 --population-scale 0.1   # smoke run

Fixed seed. The data are generated once into ``--workdir`` (reused if present), then each
contender runs in its own process, and the benchmark samples the resident memory of that process and
all its children (every 0.1 s, from ``/proc``), so each peak is its own whole process tree's:

(a) the real Prefect flow (``pipelines.flows``, the one ``scorecard run`` calls, started as it starts
    it: Prefect's embedded server in a child process, then the flow in-process) on a fresh warehouse:
    ingest with rejects and GX validation, every metric for both quarters, charts, NHSE workbooks,
    HTML scorecards, tidy tables and the manifest. Its stage times are its task runs' start and end
    times as Prefect's API recorded them; its numerators and denominators are read back from the
    warehouse it wrote;
(b) bare DuckDB SQL: the same CSVs read straight into an in-memory database and the same metric SQL
    run over them (no validation, no outputs) - the unavoidable work;
(c) a straightforward pandas implementation of the same five metrics' numerators and denominators.

It prints each contender's stage times and peak memory, then issue #16's targets with PASS/FAIL: (a)'s
data path (from the flow call to the end of its last compute task: ingest, validation and metrics)
<= 2.0x (b), (a)'s whole flow call <= 4x (b), (a)'s peak memory (Prefect's server included) < 4 GiB;
then (c) against (a) and (b) (reported, no target), the load average before and after (the machine may
be shared), and checks that (b) and (c) give the same numerators and denominators as (a) for the
target quarter, failing (exit status 1) when any differ. Imports and the server's start-up are not
timed in (a), as imports are not in (b) and (c).

Growth (issue #16: "running the next quarter costs <= 1.5x running the first quarter on an empty
warehouse, with 8 quarters of history already loaded"):

    uv run python benchmarks/national.py --growth --scale 0.05     # 153 HWBs at 5% of national volume
    uv run python benchmarks/national.py --growth --hwbs E06000017 E06000061 --scale 0.05   # smoke run

generates nine consecutive quarters (fixed seed) and runs the real Prefect flow
(``pipelines.flows``, the one ``scorecard run`` calls, in one process so Prefect's server starts once,
in a warm-up run) quarter after quarter on one warehouse: the first on an empty warehouse is the
baseline, each later one runs with the earlier quarters already loaded, as a team's warehouse grows.
It prints each quarter's cost against the baseline (for 1, 2, 4 and 8 quarters of history), the target
<= 1.5x with PASS/FAIL, and two agreement checks: each run reused every history quarter and computed
only its new one (the manifest's ``quarters``), and every reused quarter's results equal those of the
run that computed it (the manifests' ``results``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PERIODS = ("2023-24-Q1", "2023-24-Q2")
TARGET = "2023-24-Q2"
# Issue #16's national targets: (a)'s data path and whole run against (b), and (a)'s peak memory.
DATA_PATH_TARGET = 2.0
WHOLE_RUN_TARGET = 4.0
MEMORY_TARGET_GIB = 4.0
# Approximate mid-2022 populations (all ages, share 65+) of the East Midlands HWBs; UNCONFIRMED, from
# memory, used only to give the generator realistic relative sizes.
SIZES = {
    "E06000015": (263_000, 0.16),
    "E06000016": (373_000, 0.13),
    "E06000017": (41_000, 0.26),
    "E06000018": (324_000, 0.12),
    "E06000061": (365_000, 0.213),
    "E06000062": (425_000, 0.19),
    "E10000007": (804_000, 0.23),
    "E10000018": (729_000, 0.22),
    "E10000019": (773_000, 0.25),
    "E10000024": (835_000, 0.22),
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(
    workdir: Path,
    hwbs: list[str],
    population_scale: float,
    spells_scale: float,
    seed: int,
    periods: tuple[str, ...] = PERIODS,
) -> Path:
    import dataclasses

    from metrics.core.periods import Period
    from metrics.core.reference import hwb_names
    from metrics.synthetic import bcf as synthetic
    from metrics.synthetic import national as synthetic_national

    raw = workdir / "raw"
    stamp = raw / "PARAMS.json"
    params: dict[str, Any] = {
        "hwbs": hwbs,
        "population_scale": population_scale,
        "spells_scale": spells_scale,
        "seed": seed,
    }
    if periods != PERIODS:
        params["periods"] = list(periods)
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return raw
    names = hwb_names()
    profiles = []
    if hwbs == ["all"]:  # every HWB at national volume (illustrative sizes)
        for p in synthetic_national.national_profiles(seed, synthetic_national.NATIONAL_SPELLS_PER_1000 * spells_scale):
            total = max(int(p.total_population * population_scale), 2_000)
            profiles.append(
                dataclasses.replace(
                    p, total_population=total, population_65_plus=int(total * p.population_65_plus / p.total_population)
                )
            )
    for code in [] if hwbs == ["all"] else SIZES if hwbs == ["east-midlands"] else hwbs:
        total, share = SIZES.get(code, (300_000, 0.19))
        total = max(int(total * population_scale), 2_000)
        profiles.append(
            synthetic.HwbProfile(
                code=code,
                name=names[code],
                total_population=total,
                population_65_plus=int(total * share),
                spells_per_1000=synthetic_national.NATIONAL_SPELLS_PER_1000 * spells_scale,
            )
        )
    synthetic.generate(raw, [Period.parse(p) for p in periods], profiles, seed=seed)
    stamp.write_text(json.dumps(params))
    return raw


# Stage (a)'s Prefect task names (pipelines/flows.py): the data path is ingest, validation and the
# metrics; the rest of the run is every chart, workbook, page and tidy table (and the manifest).
DATA_TASKS = ("ingest-and-validate", "compute-metrics")


def _task_runs(run_id: str, expected: int, timeout: float = 60.0) -> list[Any]:
    """The flow run's task runs as Prefect's API recorded them, once all ``expected`` have ended.

    The server records task-run states from the events the run sends, asynchronously, so the run's
    queued events are flushed first and the API is asked again until every task run has its end time."""
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=10)
    deadline = time.monotonic() + timeout
    flow_filter = FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(run_id)]))
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=flow_filter)
            if len(runs) >= expected and all(r.start_time and r.end_time for r in runs):
                return sorted(runs, key=lambda r: r.start_time)
            if time.monotonic() > deadline:
                got = [(r.name, r.start_time, r.end_time) for r in runs]
                raise SystemExit(f"Prefect's API did not record the run's {expected} task runs in {timeout:g} s: {got}")
            time.sleep(0.2)


def _flow(period: str, raw: Path, folder: Path) -> dict[str, Any]:
    """The BCF flow ``scorecard run`` calls, for ``period`` of ``raw``, with its warehouse and reports in
    ``folder``; stops at once if another run holds the warehouse."""
    from pipelines import flows

    done: dict[str, Any] = flows.flow_for("bcf")(
        scorecard="bcf",
        period=period,
        raw_dir=str(raw),
        warehouse=str(folder / "warehouse.duckdb"),
        reports_dir=str(folder / "reports"),
        lock_wait_seconds=0,
    )
    return done


def stage_flow(raw: Path, workdir: Path) -> dict[str, Any]:
    """(a): the real flow, started as ``scorecard run`` starts it (cmd_run), on a fresh warehouse.

    Prefect's embedded server is started first, in its own process (a child of this one, so the
    parent's memory sampling includes it), and the heavy imports overlap its start-up; neither is in
    the timings, as (b)'s imports are not in its. The flow call is timed from the caller's side; the
    split into data path and the rest comes from the task runs' start and end times that Prefect's
    API recorded, so it is the orchestrated run's own account, not a re-implementation of it."""
    import datetime as dt
    import os
    import shutil

    out = workdir / "a"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    # A private Prefect home: the benchmark's runs stay out of the user's Prefect database.
    (out / "prefect-home").mkdir(parents=True)
    os.environ["PREFECT_HOME"] = str(out / "prefect-home")
    from pipelines.cli import ENV_DEFAULTS, _stop_embedded

    for key, value in ENV_DEFAULTS.items():  # the CLI's quiet, offline Prefect settings, before Prefect loads
        os.environ.setdefault(key, value)
    from pipelines.server import start_embedded

    server = start_embedded()
    if server is not None:
        os.environ["PREFECT_API_URL"] = server.api_url
    try:
        import duckdb

        import pipelines.flows  # noqa: F401  imported here, before the clock starts: imports are not in (a)'s time
        from metrics.core.periods import Period
        from metrics.ingest.run import periods_to_load

        if server is not None:
            server.wait_ready(float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
        ready = time.perf_counter() - t0
        start = dt.datetime.now(dt.UTC)
        done = _flow(TARGET, raw, out)
        end = dt.datetime.now(dt.UTC)
        periods = periods_to_load(Period.parse(TARGET), raw)
        # One ingest task, one compute task per quarter loaded, then charts, return, pages, tidy tables.
        tasks = _task_runs(done["run_id"], 1 + len(periods) + 4)
    finally:
        if server is not None:
            _stop_embedded(server)

    def name(r: Any) -> str:
        return str(r.name).rsplit("-", 1)[0]  # Prefect names a task run <task name>-<3 characters>

    def seconds(a: dt.datetime, b: dt.datetime) -> float:
        return (b - a).total_seconds()

    data = [r for r in tasks if name(r) in DATA_TASKS]
    data_end = max(r.end_time for r in data)
    if any(r.start_time < data_end for r in tasks if name(r) not in DATA_TASKS):
        raise SystemExit("a chart, workbook or page task started before the metrics ended: the split is not clean")
    times: dict[str, float] = {}
    for r in tasks:
        times[name(r)] = times.get(name(r), 0.0) + seconds(r.start_time, r.end_time)
    times["the flow outside its tasks"] = seconds(start, end) - sum(times.values())
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT metric_id, hwb_code, numerator, denominator FROM metric_results "
            "WHERE run_id = ? AND period = ? AND coalesce(view, '') = ''",
            [done["run_id"], TARGET],
        ).fetchall()
    outputs = sum(1 for f in (out / "reports").rglob("*") if f.is_file())
    return {
        "times": times,
        # From the flow call to the end of its last compute task: the run's own set-up (settings, checks,
        # the lock, Prefect's flow-run records) is the data path's, as it is the user's wait.
        "data_path": seconds(start, data_end),
        "whole": seconds(start, end),
        "start_up": ready,
        "server": "embedded (a child process)" if server is not None else "the configured PREFECT_API_URL",
        "figures": {f"{m}|{h}": [n, d] for m, h, n, d in rows},
        "outputs": outputs,
        "charts": done["charts"],
    }


def stage_duckdb(raw: Path) -> dict[str, Any]:
    import duckdb

    from metrics import warehouse
    from metrics.compute.metric import compute_metric
    from metrics.contracts import BCF_EXTRACTS, EXTRACTS
    from metrics.core.periods import Period
    from metrics.core.registry import metrics_for

    times: dict[str, float] = {}
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute(warehouse._MACROS)  # the same helper macro the metric SQL uses
    warehouse.load_reference(con)
    warehouse.build_calendar(con, *warehouse.default_calendar_years())  # prepare_views reads it
    for e in EXTRACTS.values():  # the views expect every scorecard's tables; non-BCF ones stay empty
        if e not in BCF_EXTRACTS:
            con.execute(warehouse.create_table_sql(e))
    for e in BCF_EXTRACTS:
        types = ", ".join(f"'{c.name}': '{c.dtype}'" for c in e.columns)
        parts = " UNION ALL ".join(
            f"SELECT '{p}' AS _period, * FROM read_csv('{raw / p / e.filename}', header = true, columns = {{{types}}})"
            for p in PERIODS
        )
        con.execute(f'CREATE TABLE "{e.name}" AS {parts}')
    times["read CSVs"] = time.perf_counter() - t
    t = time.perf_counter()
    target = Period.parse(TARGET)
    warehouse.prepare_views(con, target)
    hwbs = [r[0] for r in con.execute("SELECT DISTINCT code FROM population ORDER BY 1").fetchall()]
    figures = {}
    for m in metrics_for("bcf"):
        for r in compute_metric(con, m, target, hwbs, {}):
            figures[f"{r.metric_id}|{r.hwb_code}"] = [r.numerator, r.denominator]
    times["metric SQL"] = time.perf_counter() - t
    return {"times": times, "figures": figures}


def stage_pandas(raw: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from metrics.core.periods import Period

    ref = ROOT / "metrics" / "reference"
    times: dict[str, float] = {}
    t = time.perf_counter()

    def read(name: str, period: str) -> pd.DataFrame:
        return pd.read_csv(raw / period / name, dtype=str, keep_default_na=False)

    spells = pd.concat([read("apc_spells.csv", p).assign(_period=p) for p in PERIODS])
    reab = pd.concat([read("reablement_episodes.csv", p).assign(_period=p) for p in PERIODS])
    care = pd.concat([read("care_home_admissions.csv", p).assign(_period=p) for p in PERIODS])
    pop = read("population.csv", TARGET)
    times["read CSVs"] = time.perf_counter() - t
    t = time.perf_counter()
    target = Period.parse(TARGET)
    q_start, q_end, fy_start = (str(target.start), str(target.end), str(target.fy_first_day))
    # Latest delivery of each record wins.
    spells = spells.sort_values("_period").drop_duplicates("spell_id", keep="last")
    reab = reab.sort_values("_period").drop_duplicates("episode_id", keep="last")
    care = care.sort_values("_period").drop_duplicates("admission_id", keep="last")
    spells["age"] = spells.age_at_admission.astype(int)
    ages = [c for c in pop.columns if c.isdigit() or c == "90+"]
    long = pop.melt(id_vars=["code", "sex"], value_vars=ages, var_name="age", value_name="n")
    long["age"] = long.age.str.replace("+", "", regex=False).astype(int)
    long["n"] = long.n.astype(int)

    def band(a: pd.Series) -> pd.Series:
        lo = (a // 5) * 5
        return np.where(a >= 90, "90+", lo.astype(str) + "-" + (lo + 4).astype(str))

    methods = pd.read_csv(ref / "admission_methods.csv", dtype=str)
    emergency = set(methods[methods.is_emergency.str.lower() == "true"].code)
    figures: dict[str, list[float | None]] = {}
    hwbs = sorted(pop.code.unique())

    # Avoidable admissions: observed O and expected E from England age-sex rates.
    prefixes = tuple(pd.read_csv(ref / "acsc_icd10.csv", dtype=str).code_prefix)
    acsc = spells[
        spells.admission_method.isin(emergency)
        & (spells.admission_method != "2B")
        & spells.admission_date.between(q_start, q_end)
        & spells.primary_diagnosis.str.startswith(prefixes)
    ]
    england = pd.read_csv(ref / "england_acsc_reference.csv")
    england["rate"] = england.admissions * 0.25 / england.population
    long["age_band"] = band(long.age)
    exp = long.merge(england, on=["age_band", "sex"]).assign(e=lambda d: d.n * d.rate).groupby("code").e.sum()
    obs = acsc.groupby("hwb_code").size()

    # Falls 65+ (year to date): events and population aged 65+.
    sec = spells.secondary_diagnoses.fillna("")
    falls = spells[
        spells.admission_method.isin(emergency)
        & (spells.age >= 65)
        & spells.admission_date.between(fy_start, q_end)
        & spells.primary_diagnosis.str[0].isin(["S", "T"])
        & (spells.primary_diagnosis.str[:3] <= "T98")
        & sec.str.contains(r"(?:^|;)W(?:0[0-9]|1[0-9])", regex=True)
        & ~spells.patient_classification.isin(["3", "4"])  # regular day/night attenders
    ]
    pop65 = long[long.age >= 65].groupby("code").n.sum()

    # Discharge to usual residence (quarter).
    dest = pd.read_csv(ref / "discharge_destinations.csv", dtype=str)
    counted = set(dest[dest.in_denominator.str.lower() == "true"].code)
    usual = set(dest[dest.usual_residence.str.lower() == "true"].code)
    acute = spells.provider_type == "acute"
    dis = spells[spells.discharge_date.between(q_start, q_end) & spells.discharge_destination.isin(counted) & acute]

    # Emergency admissions 65+ (quarter, transfers 2B out) and discharge delays from the DRD (quarter,
    # acute, 18+, a DRD recorded).
    adm65 = spells[
        spells.admission_method.isin(emergency)
        & (spells.admission_method != "2B")
        & (spells.age >= 65)
        & spells.admission_date.between(q_start, q_end)
    ]
    ready = spells[
        acute & (spells.age >= 18) & (spells.discharge_ready_date != "") & spells.discharge_date.between(q_start, q_end)
    ]
    ready = ready.assign(
        days=(pd.to_datetime(ready.discharge_date) - pd.to_datetime(ready.discharge_ready_date)).dt.days
    )

    # Residential admissions 65+ (people whose first long-term placement on record is in the year to
    # date, 65+ at it) and reablement 65+ (in-year cohort: discharged since 1 April, 91 days passed).
    first_ever = care.groupby("person_id")[["first_admission_date", "admission_date"]].min().min(axis=1)
    care65 = care[
        (care.first_admission_date == care.admission_date)
        & (care.admission_date == care.person_id.map(first_ever))
        & (care.age.astype(int) >= 65)
        & care.admission_date.between(fy_start, q_end)
    ]
    followed = pd.to_datetime(reab.hospital_discharge_date) + pd.Timedelta(days=91) <= pd.Timestamp(q_end)
    reab65 = reab[(reab.age.astype(int) >= 65) & reab.hospital_discharge_date.between(fy_start, q_end) & followed]
    cohort_end = pd.Timestamp(target.fy_start, 12, 31)
    ascof_complete = cohort_end + pd.Timedelta(days=91) <= pd.Timestamp(q_end)
    discharged = pd.to_datetime(reab.hospital_discharge_date)
    ascof = reab[
        (reab.age.astype(int) >= 65) & (discharged >= pd.Timestamp(target.fy_start, 10, 1)) & (discharged <= cohort_end)
    ]
    for h in hwbs:
        figures[f"avoidable_admissions|{h}"] = [float(obs.get(h, 0)), float(exp.get(h, 0.0))]
        # The standardised ratio is O / E of the same observed and expected counts.
        figures[f"avoidable_admissions_ratio|{h}"] = figures[f"avoidable_admissions|{h}"]
        figures[f"falls_65_plus|{h}"] = [float((falls.hwb_code == h).sum()), float(pop65.get(h, 0))]
        d = dis[dis.hwb_code == h]
        figures[f"discharge_usual_residence|{h}"] = [float(d.discharge_destination.isin(usual).sum()), float(len(d))]
        figures[f"residential_admissions_65_plus|{h}"] = [
            float(care65[care65.hwb_code == h].person_id.nunique()),
            float(pop65.get(h, 0)),
        ]
        figures[f"emergency_admissions_65_plus|{h}"] = [float((adm65.hwb_code == h).sum()), float(pop65.get(h, 0))]
        days = ready.loc[ready.hwb_code == h, "days"]
        figures[f"discharge_on_ready_date|{h}"] = [float((days == 0).sum()), float(len(days))]
        figures[f"discharge_delay_days|{h}"] = [float(days.sum()), float(len(days))]
        figures[f"discharge_delay_days_excl_zero|{h}"] = [float(days[days > 0].sum()), float((days > 0).sum())]
        r = reab65[reab65.hwb_code == h]
        figures[f"reablement_91_days|{h}"] = [
            float((r.status_91_days == "at_home").sum()),
            float(len(r)),
        ]
        # The 2025-26 core metric: the same rule as residential admissions.
        figures[f"care_home_admissions_65_plus|{h}"] = figures[f"residential_admissions_65_plus|{h}"]
        # ASCOF annual reablement cohort (1 Oct-31 Dec): withheld (no counts) until all followed up.
        a = ascof[ascof.hwb_code == h]
        figures[f"reablement_91_days_ascof|{h}"] = (
            [float((a.status_91_days == "at_home").sum()), float(len(a))] if ascof_complete else [None, None]
        )
    times["metrics"] = time.perf_counter() - t
    return {"times": times, "figures": figures}


def _lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Bytes resident in process ``root`` and all its descendants (Linux ``/proc``): the stage, the
    Prefect server it started, the chart workers. Pages two processes share are counted in each, so
    this is an upper bound of what the tree holds."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])  # after the command name
            except (OSError, IndexError, ValueError):
                continue  # ended meanwhile
            parents.setdefault(ppid, []).append(int(entry))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo += parents.get(pid, [])
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
                total += int(fh.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def _child(stage: str, raw: Path, workdir: Path, every: float = 0.1) -> dict[str, Any]:
    """Run one stage in its own process; its result, with ``tree_peak_mib``: the largest sum of the
    resident memory of its process tree, sampled every ``every`` seconds while it runs."""
    import tempfile
    import threading

    cmd = [sys.executable, __file__, "--stage", stage, "--raw", str(raw), "--workdir", str(workdir)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.wait(every):
                peak = max(peak, _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        raise SystemExit(f"stage {stage} failed:\n{stdout}\n{stderr}")
    res = dict(json.loads(stdout.strip().splitlines()[-1]))
    res["tree_peak_mib"] = max(peak / 2**20, res["peak_mib"])
    return res


def _close(x: float | None, y: float | None) -> bool:
    """Equal counts to 1e-6 relative; None (a withheld figure) only matches None."""
    if x is None or y is None:
        return x is None and y is None
    return abs(x - y) <= 1e-6 * max(1.0, abs(x))


def _agree(a: dict[str, list[float | None]], other: dict[str, list[float | None]]) -> list[str]:
    bad = []
    for key, (num, den) in a.items():
        o = other.get(key)
        if o is None or not (_close(num, o[0]) and _close(den, o[1])):
            bad.append(f"{key}: pipeline {num}/{den}, other {o}")
    return bad


# Nine consecutive quarters from a financial year's Q1 (so the first quarter's year to date is itself):
# the baseline quarter, then eight more, the last run with eight quarters of history loaded.
GROWTH_PERIODS = (*(f"{y}-{(y + 1) % 100:02d}-Q{q}" for y in (2021, 2022) for q in (1, 2, 3, 4)), "2023-24-Q1")
GROWTH_TARGET = 1.5
GROWTH_SHOWN = (1, 2, 4, 8)


def growth(workdir: Path, hwbs: list[str], scale: float, seed: int, history: int = 8) -> int:
    """The growth benchmark (module docstring): one process, the real flow, quarter after quarter, up to
    the quarter run with ``history`` quarters already loaded (8 for the target; fewer for a smoke run)."""
    import os
    import shutil

    from pipelines.cli import ENV_DEFAULTS

    for key, value in ENV_DEFAULTS.items():  # the CLI's quiet, offline Prefect settings, before Prefect loads
        os.environ.setdefault(key, value)

    t = time.perf_counter()
    quarters = GROWTH_PERIODS[: history + 1]
    raw = generate(workdir / "growth", hwbs, scale, 1.0, seed, quarters)
    spells = sum(_lines(raw / p / "apc_spells.csv") - 1 for p in quarters)
    print(f"data: {len(quarters)} quarters, {spells:,} spell rows in {raw} (ready in {time.perf_counter() - t:.1f} s)")

    def run(period: str, folder: Path) -> tuple[float, dict[str, Any]]:
        start = time.perf_counter()
        done = _flow(period, raw, folder)
        took = time.perf_counter() - start
        return took, json.loads(Path(done["manifest"]).read_text(encoding="utf-8"))

    for name in ("warm-up", "runs"):
        shutil.rmtree(workdir / "growth" / name, ignore_errors=True)
    # Prefect's embedded server starts with the first flow run of the process: not part of any quarter.
    run(quarters[0], workdir / "growth" / "warm-up")
    folder = workdir / "growth" / "runs"
    costs: list[float] = []
    manifests: list[dict[str, Any]] = []
    for period in quarters:
        took, manifest = run(period, folder)
        costs.append(took)
        manifests.append(manifest)
    baseline = costs[0]
    print(f"baseline: first quarter {quarters[0]} on an empty warehouse {baseline:.1f} s")
    for loaded, (period, cost) in enumerate(zip(quarters, costs, strict=True)):
        if loaded in (*GROWTH_SHOWN, history) and loaded:
            print(
                f"next quarter {period} with {loaded} quarter{'s' if loaded > 1 else ''} of history: "
                f"{cost:.1f} s = {cost / baseline:.2f}x baseline"
            )
    ratio = costs[-1] / baseline
    verdict = "PASS" if ratio <= GROWTH_TARGET else "FAIL"
    print(
        f"growth: next quarter with {history} quarters of history {ratio:.2f}x baseline, "
        f"target <= {GROWTH_TARGET}x {verdict}"
    )

    # Agreement: each run computed only its own quarter and reused every earlier one ...
    wrong = []
    for k, manifest in enumerate(manifests):
        entries = {q["period"]: q for q in manifest["quarters"]}
        for j, period in enumerate(quarters[: k + 1]):
            q = entries.get(period)
            if q is None:
                wrong.append(f"run of {quarters[k]}: no entry for {period}")
            elif (q["reused_from"] is None) != (j == k):
                what = "computed" if q["reused_from"] is None else "reused"
                wrong.append(f"run of {quarters[k]}: {period} was {what}")
            elif j < k and q["computed_by"] != manifests[j]["run_id"]:
                wrong.append(f"run of {quarters[k]}: {period} reused from {q['computed_by']}, not its run")
    print("every history quarter reused, each new quarter computed: " + ("yes" if not wrong else "NO"))
    # ... and the reused results are those of the run that computed them, field for field.
    differ = []
    for k, manifest in enumerate(manifests):
        for j, period in enumerate(quarters[:k]):
            mine = [r for r in manifest["results"] if r["period"] == period]
            theirs = [r for r in manifests[j]["results"] if r["period"] == period]
            if not mine or mine != theirs:
                differ.append(f"run of {quarters[k]}: {period}'s results differ from its own run's")
    print("reused quarters' results equal their computing run's: " + ("yes" if not differ else "NO"))
    for line in (wrong + differ)[:20]:
        print("  " + line)
    return 1 if wrong or differ else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--hwbs",
        nargs="+",
        default=["all"],
        metavar="CODE",
        help="'all' (default: every HWB), 'east-midlands', or HWB codes",
    )
    ap.add_argument("--population-scale", type=float, default=1.0)
    ap.add_argument("--spells-scale", type=float, default=1.0, help="multiplies 78 spells per 1,000 per quarter")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--workdir", default="/tmp/hwb-benchmark")
    ap.add_argument(
        "--growth",
        action="store_true",
        help="the growth benchmark: nine quarters through the real flow, each against the first (see above)",
    )
    ap.add_argument("--scale", type=float, default=0.05, help="--growth: fraction of national population volume")
    ap.add_argument(
        "--history", type=int, default=8, choices=range(1, 9), help="--growth: quarters of history (8 = the target)"
    )
    ap.add_argument("--stage", choices=("a", "b", "c"), help=argparse.SUPPRESS)
    ap.add_argument("--raw", help=argparse.SUPPRESS)
    args = ap.parse_args()
    workdir = Path(args.workdir)
    if args.growth:
        return growth(workdir, args.hwbs, args.scale, args.seed, args.history)
    if args.stage:
        raw = Path(args.raw)
        res = {
            "a": lambda: stage_flow(raw, workdir),
            "b": lambda: stage_duckdb(raw),
            "c": lambda: stage_pandas(raw),
        }[args.stage]()
        res["peak_mib"] = _peak_mib()
        print(json.dumps(res))
        return 0

    t = time.perf_counter()
    raw = generate(workdir, args.hwbs, args.population_scale, args.spells_scale, args.seed)
    spells = sum(_lines(raw / p / "apc_spells.csv") - 1 for p in PERIODS)
    hwb_count = len({line.split(",")[0] for line in (raw / PERIODS[0] / "population.csv").read_text().splitlines()[1:]})
    print(
        f"data: {hwb_count} HWBs, {spells:,} spell rows over {len(PERIODS)} quarters in {raw} "
        f"(ready in {time.perf_counter() - t:.1f} s)"
    )
    load = os.getloadavg()
    runs = {s: _child(s, raw, workdir) for s in ("b", "a", "c")}
    names = {"a": "(a) real Prefect flow", "b": "(b) bare DuckDB SQL", "c": "(c) pandas"}
    total = {s: sum(r["times"].values()) for s, r in runs.items()}
    a = runs["a"]
    for s in ("a", "b", "c"):
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in runs[s]["times"].items())
        print(f"{names[s]:22s} {total[s]:7.1f} s  peak {runs[s]['tree_peak_mib']:7.0f} MiB  [{stages}]")
    print(
        f"(a) {a['charts']} chart files (PNG and SVG), {a['outputs']} output files; before the flow call "
        f"(not timed, as (b)'s imports are not): imports and Prefect's server ({a['server']}) "
        f"ready in {a['start_up']:.1f} s"
    )
    b = total["b"]
    rows = [
        ("(a) data path (ingest + validation + metrics)", a["data_path"] / b, "<=", DATA_PATH_TARGET, "x (b)"),
        ("(a) whole run (every chart, workbook and page)", a["whole"] / b, "<=", WHOLE_RUN_TARGET, "x (b)"),
    ]
    for label, ratio, op, target, unit in rows:
        verdict = "PASS" if ratio <= target else "FAIL"
        print(f"{label:56s} {ratio:6.2f}{unit}  target {op} {target:g}{unit}  {verdict}")
    mib = a["tree_peak_mib"]
    print(
        f"{'(a) peak memory (process tree, Prefect server included)':56s} {mib / 1024:6.2f} GiB  "
        f"target < {MEMORY_TARGET_GIB:g} GiB  {'PASS' if mib < MEMORY_TARGET_GIB * 1024 else 'FAIL'}"
    )
    print(f"(c) pandas: c/a = {total['c'] / a['whole']:.2f}, c/b = {total['c'] / b:.1f} (reported, no target)")
    after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    problems = _agree(a["figures"], runs["b"]["figures"]) + _agree(a["figures"], runs["c"]["figures"])
    if not a["figures"]:
        problems.append("(a) stored no results for the target quarter")
    print(
        f"numerators and denominators agree across (a), (b), (c) ({len(a['figures'])} results)"
        if not problems
        else "DISAGREE:\n" + "\n".join(problems[:20])
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
