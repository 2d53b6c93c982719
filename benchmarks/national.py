"""Benchmark: the full BCF pipeline against bare DuckDB SQL and plain pandas on the same CSVs.

    uv run python benchmarks/national.py                        # all 153 HWBs, ~4.2M spells a quarter
    uv run python benchmarks/national.py --hwbs east-midlands   # the 10 East Midlands HWBs
    uv run python benchmarks/national.py --hwbs E06000061 E06000062 --population-scale 0.1   # smoke run

Fixed seed. The data are generated once into ``--workdir`` (reused if present), then each
contender runs in its own process so its peak memory is its own:

(a) the pipeline's own stage functions (``metrics.ingest.run``, ``metrics.compute.run``,
    ``metrics.publish.run``: ingest with rejects and GX validation into a fresh DuckDB warehouse,
    every metric for both quarters, charts, NHSE workbooks, HTML scorecards), without Prefect's
    orchestration overhead;
(b) bare DuckDB SQL: the same CSVs read straight into an in-memory database and the same metric SQL
    run over them (no validation, no outputs) - the unavoidable work;
(c) a straightforward pandas implementation of the same five metrics' numerators and denominators.

It prints stage timings, peak RSS, the ratios a/b and c/a, and checks that (b) and (c) give the same
numerators and denominators as (a) for the target quarter.
"""

from __future__ import annotations

import argparse
import json
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


def generate(workdir: Path, hwbs: list[str], population_scale: float, spells_scale: float, seed: int) -> Path:
    import dataclasses

    from metrics.core.periods import Period
    from metrics.core.reference import hwb_names
    from metrics.synthetic import bcf as synthetic
    from metrics.synthetic import national as synthetic_national

    raw = workdir / "raw"
    stamp = raw / "PARAMS.json"
    params = {"hwbs": hwbs, "population_scale": population_scale, "spells_scale": spells_scale, "seed": seed}
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
    synthetic.generate(raw, [Period.parse(p) for p in PERIODS], profiles, seed=seed)
    stamp.write_text(json.dumps(params))
    return raw


def stage_pipeline(raw: Path, workdir: Path) -> dict[str, Any]:
    import shutil

    from metrics.compute.run import available_hwbs, compute_period
    from metrics.core.paths import RunPaths
    from metrics.core.periods import Period
    from metrics.ingest.run import ingest_periods, periods_to_load
    from metrics.publish.run import export_returns, render_charts, render_scorecards

    out = workdir / "a"
    shutil.rmtree(out, ignore_errors=True)
    paths = RunPaths(raw, out / "warehouse.duckdb", out / "reports")
    target = Period.parse(TARGET)
    times: dict[str, float] = {}
    t = time.perf_counter()
    periods = periods_to_load(target, raw)
    loads = ingest_periods(paths, periods, "bench", paths.data_docs(target))
    times["ingest + validation"] = time.perf_counter() - t
    assert all(o.status == "accepted" for o in loads), [o.summary() for o in loads if o.status != "accepted"]
    t = time.perf_counter()
    hwbs = available_hwbs(paths, target)
    results = []
    for p in periods:
        results += compute_period(paths, p, hwbs, loads, "bench")
    times["metrics"] = time.perf_counter() - t
    t = time.perf_counter()
    charts = render_charts(paths, target, results, 5)
    times["charts"] = time.perf_counter() - t
    t = time.perf_counter()
    books = export_returns(paths, target, results, "benchmark", 5)
    pages = render_scorecards(paths, target, results, loads, "benchmark", 5)
    times["workbooks + HTML"] = time.perf_counter() - t
    figures = {
        f"{r.metric_id}|{r.hwb_code}": [r.numerator, r.denominator]
        for r in results
        if r.period == TARGET and not r.view
    }
    return {"times": times, "figures": figures, "outputs": len(charts) + len(books) + len(pages)}


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


def _child(stage: str, raw: Path, workdir: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--stage", stage, "--raw", str(raw), "--workdir", str(workdir)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{done.stdout}\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


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
    ap.add_argument("--stage", choices=("a", "b", "c"), help=argparse.SUPPRESS)
    ap.add_argument("--raw", help=argparse.SUPPRESS)
    args = ap.parse_args()
    workdir = Path(args.workdir)
    if args.stage:
        raw = Path(args.raw)
        res = {
            "a": lambda: stage_pipeline(raw, workdir),
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
    runs = {s: _child(s, raw, workdir) for s in ("b", "a", "c")}
    names = {"a": "(a) pipeline", "b": "(b) bare DuckDB SQL", "c": "(c) pandas"}
    total = {s: sum(r["times"].values()) for s, r in runs.items()}
    for s in ("a", "b", "c"):
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in runs[s]["times"].items())
        print(f"{names[s]:22s} {total[s]:7.1f} s  peak {runs[s]['peak_mib']:7.0f} MiB  [{stages}]")
    work = runs["a"]["times"]["ingest + validation"] + runs["a"]["times"]["metrics"]
    print(
        f"a/b = {total['a'] / total['b']:.1f} (ingest, validation and metrics only: {work / total['b']:.1f}); "
        f"c/a = {total['c'] / total['a']:.2f}; c/b = {total['c'] / total['b']:.1f}"
    )
    problems = _agree(runs["a"]["figures"], runs["b"]["figures"]) + _agree(runs["a"]["figures"], runs["c"]["figures"])
    print(
        "numerators and denominators agree across (a), (b), (c)"
        if not problems
        else "DISAGREE:\n" + "\n".join(problems[:20])
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
