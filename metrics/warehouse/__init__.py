"""The DuckDB warehouse: schema, reference data and the views metric SQL reads.

One file (default ``data/processed/warehouse.duckdb``) holds every accepted
extract partitioned by delivery period, every rejected row with its reason,
the load log and the computed results, so any published figure can be
traced back to the rows and files it came from.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb

from metrics.contracts import EXTRACTS, Extract
from metrics.core.paths import REFERENCE
from metrics.core.periods import Period
from metrics.core.reference import england_bank_holidays
from metrics.core.registry import all_metrics, scorecards

DEFAULT_DB = Path("data/processed/warehouse.duckdb")

_SYSTEM_TABLES = """
CREATE TABLE IF NOT EXISTS loads (
    load_id VARCHAR PRIMARY KEY, run_id VARCHAR, period VARCHAR, extract VARCHAR,
    file_path VARCHAR, sha256 VARCHAR, rows BIGINT, rejected_rows BIGINT,
    status VARCHAR, message VARCHAR, loaded_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS rejects (
    load_id VARCHAR, run_id VARCHAR, period VARCHAR, extract VARCHAR, file_path VARCHAR,
    line BIGINT, column_name VARCHAR, rule VARCHAR, reason VARCHAR, record VARCHAR
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, period VARCHAR, hwbs VARCHAR[], started_at TIMESTAMP,
    finished_at TIMESTAMP, status VARCHAR, manifest_path VARCHAR
);
CREATE TABLE IF NOT EXISTS metric_results (
    run_id VARCHAR, metric_id VARCHAR, hwb_code VARCHAR, period VARCHAR,
    window_start DATE, window_end DATE, numerator DOUBLE, denominator DOUBLE,
    value DOUBLE, lower DOUBLE, upper DOUBLE, method VARCHAR, note VARCHAR,
    plan DOUBLE, assessed_value DOUBLE, projection DOUBLE, status VARCHAR, status_reason VARCHAR
);
"""

_MIGRATIONS = """
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS view VARCHAR DEFAULT '';
ALTER TABLE runs ADD COLUMN IF NOT EXISTS scorecard VARCHAR DEFAULT 'bcf';
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS secondary_suppressed BOOLEAN DEFAULT false;
"""

_MACROS = """
CREATE OR REPLACE TEMP MACRO age_band5(a) AS
    CASE WHEN a >= 90 THEN '90+' ELSE CAST((a // 5) * 5 AS VARCHAR) || '-' || CAST((a // 5) * 5 + 4 AS VARCHAR) END;
"""

# Working-day arithmetic for the 45-working-day assessment clock: each calendar day carries the
# number of working days (not Saturday, Sunday or an England and Wales bank holiday) up to and
# including it, so the working days after ``a`` up to and including ``b`` are index(b) - index(a);
# a same-day completion is 0. The bank holidays come from the ``holidays`` package
# (``metrics.core.reference.england_bank_holidays``) for whole years: by default 2010 to five years
# after the current one, widened by ``prepare_views`` to cover every date the clock reads (and the
# quarter run), so no date is ever outside it. Metric SQL must still fail on a date missing from
# the calendar rather than drop the row or count the day as a working day.
CALENDAR_FIRST_YEAR = 2010
CALENDAR_YEARS_AHEAD = 5
# The dates working days are counted between, by extract: the calendar always covers them.
_CALENDAR = """
CREATE OR REPLACE TEMP TABLE ref_calendar AS
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(CAST($first AS DATE), CAST($last AS DATE), INTERVAL 1 DAY) AS t(d)
)
SELECT day,
       (isodow(day) <= 5 AND day NOT IN (SELECT day FROM ref_bank_holidays)) AS is_working_day,
       sum(CASE WHEN isodow(day) <= 5 AND day NOT IN (SELECT day FROM ref_bank_holidays) THEN 1 ELSE 0 END)
           OVER (ORDER BY day) AS working_day_index
FROM days
"""
_WORKING_DAYS_MACRO = """
CREATE OR REPLACE TEMP MACRO working_days_between(a, b) AS
    (SELECT working_day_index FROM ref_calendar WHERE day = b)
    - (SELECT working_day_index FROM ref_calendar WHERE day = a);
"""


def default_calendar_years(today: dt.date | None = None) -> tuple[int, int]:
    """The calendar's years before any widening: 2010 to five years after ``today``'s."""
    return CALENDAR_FIRST_YEAR, (today or dt.date.today()).year + CALENDAR_YEARS_AHEAD


def build_calendar(con: duckdb.DuckDBPyConnection, first_year: int, last_year: int) -> None:
    """(Re)build ``ref_bank_holidays`` and ``ref_calendar`` for 1 January ``first_year`` to
    31 December ``last_year``."""
    con.execute("CREATE OR REPLACE TEMP TABLE ref_bank_holidays (day DATE NOT NULL, title VARCHAR NOT NULL)")
    con.executemany("INSERT INTO ref_bank_holidays VALUES (?, ?)", england_bank_holidays(first_year, last_year))
    con.execute(_CALENDAR, {"first": dt.date(first_year, 1, 1), "last": dt.date(last_year, 12, 31)})
    con.execute(_WORKING_DAYS_MACRO)


def calendar_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date]:
    first, last = con.execute("SELECT min(day), max(day) FROM ref_calendar").fetchone() or (None, None)
    if first is None or last is None:
        raise RuntimeError("the working-day calendar ref_calendar is empty")
    return first, last


def ensure_calendar(con: duckdb.DuckDBPyConnection, *days: dt.date | None) -> None:
    """Widen the calendar, by whole years, to cover ``days`` (None ignored)."""
    wanted = [d for d in days if d is not None]
    if not wanted:
        return
    first, last = calendar_range(con)
    if min(wanted) < first or max(wanted) > last:
        build_calendar(con, min(first.year, min(wanted).year), max(last.year, max(wanted).year))


def connect(path: Path | str = DEFAULT_DB, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, creating the schema; reference data is reloaded as TEMP tables
    so an edited reference CSV takes effect on the next run without migrations."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusyError(
                f"the warehouse {path} is in use by another process (another run of the pipeline?). "
                "Wait for it to finish, or point --warehouse at another file."
            ) from exc
        raise
    initialise(con, read_only)
    return con


def initialise(con: duckdb.DuckDBPyConnection, read_only: bool = False) -> None:
    """Make ``con`` a warehouse connection: the schema (unless read-only: it must already exist),
    then the macros, reference tables and working-day calendar, which are TEMP objects of the
    connection. ``connect`` does this for the warehouse file; the metric cases
    (``metrics.compute.cases``) do it for ``duckdb.connect(":memory:")``."""
    if not read_only:
        con.execute(_SYSTEM_TABLES)
        for extract in EXTRACTS.values():
            con.execute(create_table_sql(extract))
        con.execute(_MIGRATIONS)
    con.execute(_MACROS)
    load_reference(con)
    build_calendar(con, *default_calendar_years())


class WarehouseBusyError(RuntimeError):
    """Another process holds the DuckDB write lock."""


def create_table_sql(extract: Extract) -> str:
    cols = ", ".join(f'"{c.name}" {c.dtype}' for c in extract.columns)
    return (
        f'CREATE TABLE IF NOT EXISTS "{extract.name}" '
        f"(_period VARCHAR NOT NULL, _line BIGINT, _load_id VARCHAR, {cols})"
    )


def reference_codes(name: str) -> list[str]:
    """Allowed values of a named code list (a reference CSV's ``code`` column, or metric ids)."""
    if name == "metric_ids":
        return [m.id for m in all_metrics()]
    with open(REFERENCE / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return [row["code"] for row in csv.DictReader(fh)]


def load_reference(con: duckdb.DuckDBPyConnection) -> None:
    def csv_table(name: str, file: str, select: str = "*") -> None:
        path = str(REFERENCE / file)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select} "
            "FROM read_csv(?, header = true, all_varchar = true)",
            [path],
        )

    csv_table(
        "ref_admission_methods",
        "admission_methods.csv",
        "code, description, CAST(is_emergency AS BOOLEAN) AS is_emergency",
    )
    csv_table(
        "ref_discharge_destinations",
        "discharge_destinations.csv",
        "code, description, CAST(usual_residence AS BOOLEAN) AS usual_residence, "
        "CAST(in_denominator AS BOOLEAN) AS in_denominator",
    )
    csv_table("ref_acsc_icd10", "acsc_icd10.csv", "condition, code_prefix, CAST(confirmed AS BOOLEAN) AS confirmed")
    csv_table(
        "ref_esp2013",
        "esp2013.csv",
        "age_band, CAST(weight AS DOUBLE) AS weight, "
        "CAST(regexp_extract(age_band, '^[0-9]+') AS INTEGER) AS band_start",
    )
    csv_table(
        "ref_england_acsc",
        "england_acsc_reference.csv",
        "age_band, sex, CAST(admissions AS DOUBLE) AS admissions, CAST(population AS DOUBLE) AS population",
    )
    csv_table("ref_hwb_codes", "hwb_codes.csv")
    benchmarks = REFERENCE / "england_benchmarks.csv"
    if benchmarks.exists():
        csv_table("ref_england_benchmarks", benchmarks.name)


def record_extracts() -> list[Extract]:
    """Extracts of dated records delivered each quarter (not populations, plans or targets)."""
    return [e for e in EXTRACTS.values() if e.key and e.dated]


def current_view(extract: Extract) -> str:
    """Name of the de-duplicated view of a record extract that metric SQL reads."""
    return extract.current_view


def _working_day_columns() -> list[tuple[Extract, list[str]]]:
    """Record extracts with dates the working-day clock reads (``Column.working_days``)."""
    found = [(e, [c.name for c in e.columns if c.working_days]) for e in record_extracts()]
    return [(e, cols) for e, cols in found if cols]


def prepare_views(con: duckdb.DuckDBPyConnection, as_of: Period) -> None:
    """Views the metric SQL reads, as the warehouse stood for ``as_of``.

    Record extracts are re-delivered (a spell open at one quarter's end comes
    again, finished, in the next), so each view keeps the latest delivery of
    each record up to ``as_of``; later deliveries never leak into a re-run of
    an earlier quarter.
    """
    cutoff = as_of.label
    for extract in record_extracts():
        key = ", ".join(f'"{k}"' for k in extract.key)
        con.execute(
            f'CREATE OR REPLACE TEMP VIEW {current_view(extract)} AS SELECT * FROM "{extract.name}" '
            f"WHERE _period <= '{cutoff}' "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _period DESC) = 1"
        )
    # Each scorecard's own derived views (e.g. the BCF population in long form), from its folder.
    for card in scorecards().values():
        views = card.folder / "views.sql"
        if views.is_file():
            con.execute(views.read_text(encoding="utf-8"))
    # The working-day calendar covers the quarter run and every date the clock reads, from the data.
    spans = [
        con.execute(
            f"SELECT {', '.join(f'min({c}), max({c})' for c in columns)} FROM {current_view(extract)}"
        ).fetchone()
        or ()
        for extract, columns in _working_day_columns()
    ]
    ensure_calendar(con, as_of.start, as_of.end, *(d for span in spans for d in span))
