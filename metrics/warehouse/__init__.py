"""The DuckDB warehouse: schema, reference data and the views metric SQL reads.

One file (default ``data/processed/warehouse.duckdb``) holds every accepted
extract partitioned by delivery period, every rejected row with its reason,
the load log and the computed results, so any published figure can be
traced back to the rows and files it came from.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import os
import stat
import tempfile
from pathlib import Path

import duckdb

from metrics.contracts import EXTRACTS, Extract
from metrics.core.errors import EnvironmentProblem
from metrics.core.paths import REFERENCE
from metrics.core.periods import Period
from metrics.core.reference import england_acsc_reference, england_bank_holidays
from metrics.core.registry import all_metrics, scorecards

DEFAULT_DB = Path("data/processed/warehouse.duckdb")

# The warehouse says what it is: ``_scorecard_meta`` holds the schema version it was written with.
# 1 is a warehouse from before the table existed (adopted when every table in it is one of ours, with
# our columns); 2 added the table. A file with other tables and no ``_scorecard_meta`` belongs to
# another program and is refused, as is a version outside OLDEST_SCHEMA_VERSION..SCHEMA_VERSION.
SCHEMA_VERSION = 2
OLDEST_SCHEMA_VERSION = 1
META_TABLE = "_scorecard_meta"
_META_TABLE = f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);"
_FIX = "point --warehouse at another file (a new warehouse is created if none is there), or move this one away"

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

# Added after the first warehouses (each idempotent, so an existing warehouse gains them on connect).
# ``seq`` keeps the order a quarter's results were computed in, and ``result_sets`` one row per stored
# set of a run's quarter with its input key (``metrics.compute.reuse``): a later run whose inputs,
# definitions and settings are the same reads the set back instead of computing it again.
_MIGRATIONS = """
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS view VARCHAR DEFAULT '';
ALTER TABLE runs ADD COLUMN IF NOT EXISTS scorecard VARCHAR DEFAULT 'bcf';
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS secondary_suppressed BOOLEAN DEFAULT false;
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS comparison_level DOUBLE;
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS england_value DOUBLE;
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS england_comparison VARCHAR DEFAULT '';
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS england_source VARCHAR DEFAULT '';
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS region VARCHAR DEFAULT '';
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS region_value DOUBLE;
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS region_comparison VARCHAR DEFAULT '';
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS region_source VARCHAR DEFAULT '';
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS peer_rank BIGINT;
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS peer_count BIGINT;
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS peer_min DOUBLE;
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS peer_max DOUBLE;
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS peer_source VARCHAR DEFAULT '';
ALTER TABLE metric_results ADD COLUMN IF NOT EXISTS seq BIGINT;
CREATE TABLE IF NOT EXISTS result_sets (
    run_id VARCHAR, scorecard VARCHAR, period VARCHAR, input_key VARCHAR, computed_by VARCHAR,
    results BIGINT, stored_at TIMESTAMP
);
"""

# Area codes: every column coded by the HWB list is stored under the area's current code (a pure recode
# such as Barnsley E08000016 -> E08000038 is mapped at load, ``metrics.ingest.load``), and the code as
# delivered is kept beside it in ``_<column>_delivered`` so the audit trail shows what the file said.
AREA_CODES = "hwb_codes"


def area_columns(extract: Extract) -> list[str]:
    """The extract's columns holding an HWB / local authority code."""
    return [c.name for c in extract.columns if c.codes == AREA_CODES]


def delivered_column(column: str) -> str:
    """The stored column keeping an area column's code exactly as delivered."""
    return f"_{column}_delivered"


def _extract_migrations() -> str:
    """Columns added to extract tables after they were first created (old warehouses gain them)."""
    return "".join(
        f'ALTER TABLE "{e.name}" ADD COLUMN IF NOT EXISTS "{delivered_column(c)}" VARCHAR;\n'
        for e in EXTRACTS.values()
        for c in area_columns(e)
    )


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
    # One INSERT of two lists, not executemany (one statement per row): 2 ms instead of 35 ms, and the
    # calendar is built on every connection that computes.
    days = england_bank_holidays(first_year, last_year)
    con.execute(
        "INSERT INTO ref_bank_holidays SELECT unnest($days), unnest($titles)",
        {"days": [d for d, _ in days], "titles": [t for _, t in days]},
    )
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


def connect(
    path: Path | str = DEFAULT_DB, read_only: bool = False, reference: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, creating the schema; reference data is reloaded as TEMP tables
    so an edited reference CSV takes effect on the next run without migrations.

    ``reference=False`` opens it for bookkeeping only (the loads, runs and stored results): the schema
    is checked and created as always, but the TEMP macros, reference tables and working-day calendar
    metric SQL reads are left out until ``prepare_reference`` adds them. A run opens the warehouse 17
    times, and building those objects was most of each opening (profiled on the demo re-run: about
    0.1-0.2 s each), for connections that never read them.

    A file that cannot be the warehouse (not a DuckDB file, another program's database, a schema
    version this code does not read, a folder it cannot write) is an :class:`EnvironmentProblem`
    naming the file, raised before anything in it is changed."""
    path = Path(path)
    check_place(path, read_only)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _unusable(path, exc) from exc
    try:
        version, tables = _checked_schema(con, path, read_only)
        # A warehouse already at this version with exactly our tables and columns needs none of the
        # CREATE ... IF NOT EXISTS / ADD COLUMN IF NOT EXISTS statements: each would be a no-op.
        current = version == SCHEMA_VERSION and all(tables.get(t) == c for t, c in _expected_columns().items())
        initialise(con, read_only or current, reference=reference)
    except (duckdb.IOException, duckdb.FatalException) as exc:
        con.close()
        raise write_failed(str(path), exc, "nothing in it was changed") from exc
    except BaseException:
        con.close()
        raise
    return con


def check_place(path: Path, read_only: bool = False) -> None:
    """The warehouse path is a regular file (or absent, when writing) in a folder that can be written."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise EnvironmentProblem(f"the warehouse {path} cannot be reached ({exc.strerror}): {_FIX}") from exc
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise EnvironmentProblem(f"the warehouse {path} is {kind}, not a DuckDB file: {_FIX}")
    # Checked before DuckDB sees it: DuckDB opens some other formats itself (an SQLite file through
    # an extension it would fetch from the network) instead of refusing them.
    if st is not None and _head(path)[8:12] != _DUCKDB_MAGIC:
        raise EnvironmentProblem(f"the warehouse {path} is not a DuckDB database ({_looks_like(path)}): {_FIX}")
    if read_only:
        if st is None:
            raise EnvironmentProblem(
                f"the warehouse {path} does not exist: load the extracts first (scorecard ingest or run), "
                "or point --warehouse at the warehouse file"
            )
        return
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # DuckDB writes its journal (<name>.wal) beside the file: the folder must take new files.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.probe-"):
            pass
    except OSError as exc:
        raise EnvironmentProblem(
            f"the warehouse folder {folder} cannot be written ({exc.strerror or exc}); DuckDB keeps its journal "
            f"{path.name}.wal beside {path.name}: make the folder writable, or point --warehouse at a file in a "
            "writable folder"
        ) from exc


def _unusable(path: Path, exc: duckdb.Error) -> EnvironmentProblem:
    text = str(exc)
    first = text.split("\n")[0][:300]
    if "lock" in text.lower():
        return WarehouseBusyError(
            f"the warehouse {path} is in use by another process (another run of the pipeline?). "
            "Wait for it to finish, or point --warehouse at another file."
        )
    if "not a valid DuckDB database" in text:
        return EnvironmentProblem(f"the warehouse {path} is not a DuckDB database ({_looks_like(path)}): {_FIX}")
    if "version" in text.lower():
        return EnvironmentProblem(
            f"the warehouse {path} was written by a DuckDB this pipeline cannot read ({first}): "
            f"open it with the DuckDB that wrote it and EXPORT DATABASE, or {_FIX}"
        )
    if "permission denied" in text.lower() or "read-only" in text.lower():
        return EnvironmentProblem(
            f"the warehouse {path} cannot be opened for writing ({first}): make it writable by the pipeline's "
            f"user, or {_FIX}"
        )
    return EnvironmentProblem(f"the warehouse {path} cannot be opened ({first}): {_FIX}")


_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(512)
    except OSError as exc:
        raise EnvironmentProblem(f"the warehouse {path} cannot be read ({exc.strerror or exc}): {_FIX}") from exc


def _looks_like(path: Path) -> str:
    head = _head(path)
    if not head:
        return "it is empty, 0 bytes: an interrupted first run? delete it"
    if head.startswith(b"SQLite format 3"):
        return "it is an SQLite database"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "its first bytes are not DuckDB's"
    return "it is a text file, perhaps a CSV"


def file_of(con: duckdb.DuckDBPyConnection) -> str:
    """The file behind ``con``, for messages."""
    try:
        row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    except duckdb.Error:
        return "(its file)"
    return str(row[0]) if row and row[0] else ":memory:"


def write_failed(db: str, exc: BaseException, kept: str) -> EnvironmentProblem:
    """A write DuckDB or the file system refused part-way: the transaction is rolled back."""
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).split("\n")[0][:300]
    return EnvironmentProblem(
        f"could not write to the warehouse {db} ({why}); {kept}, the transaction was rolled back. "
        "Free disk space or memory, or make the folder writable, then run again"
    )


def check_schema(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool = False) -> int | None:
    """The warehouse's schema version (None for a new, empty file), or :class:`EnvironmentProblem`
    if the file is not a scorecard warehouse this code can use."""
    return _checked_schema(con, path, read_only)[0]


def _checked_schema(
    con: duckdb.DuckDBPyConnection, path: Path, read_only: bool = False
) -> tuple[int | None, dict[str, dict[str, str]]]:
    """``check_schema``'s version, and the tables it read (so ``connect`` need not read them again)."""
    tables = _tables(con)
    if META_TABLE in tables:
        version = _stored_version(con, path)
        if version > SCHEMA_VERSION:
            raise EnvironmentProblem(
                f"the warehouse {path} has schema version {version}, from a newer version of the pipeline "
                f"(this one reads {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}): upgrade the pipeline, or {_FIX}"
            )
        if version < OLDEST_SCHEMA_VERSION:
            raise EnvironmentProblem(
                f"the warehouse {path} has schema version {version}, older than this pipeline can upgrade "
                f"(it reads {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}): rebuild it by loading the extracts "
                f"into a new warehouse, or {_FIX}"
            )
    elif not tables:
        if read_only:
            raise EnvironmentProblem(
                f"the warehouse {path} is empty: load the extracts first (scorecard ingest or run)"
            )
        return None, tables
    else:
        foreign = sorted(t for t in tables if t not in _expected_columns())
        if foreign:
            raise EnvironmentProblem(
                f"the file {path} is a DuckDB database of another program, not a scorecard warehouse: it has "
                f"table(s) {', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''} and no {META_TABLE}. "
                f"Nothing in it was changed: {_FIX}"
            )
        version = OLDEST_SCHEMA_VERSION
    clashes = _clashes(tables)
    if clashes:
        raise EnvironmentProblem(
            f"the warehouse {path} has tables whose columns differ from the scorecard's ({'; '.join(clashes[:3])}): "
            f"it was written by another program or a changed pipeline. Nothing in it was changed: {_FIX}"
        )
    return version, tables


def _stored_version(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    try:
        row = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else -1
    except (duckdb.Error, ValueError, TypeError) as exc:
        raise EnvironmentProblem(f"the warehouse {path} has an unreadable {META_TABLE} table: {_FIX}") from exc


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Every permanent table of the open file, by name (schema-qualified outside ``main``): column -> type."""
    rows = con.execute(
        "SELECT CASE WHEN schema_name = 'main' THEN table_name ELSE schema_name || '.' || table_name END, "
        "column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND NOT internal ORDER BY column_index"
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        out.setdefault(str(table), {})[str(column)] = str(dtype)
    return out


@functools.cache
def _expected_columns(base: bool = False) -> dict[str, dict[str, str]]:
    """The scorecard's tables as this code creates them (``base``: before the migrations)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(_SYSTEM_TABLES)
        for extract in EXTRACTS.values():
            con.execute(create_table_sql(extract))
        con.execute(_META_TABLE)
        if not base:
            con.execute(_MIGRATIONS)
            con.execute(_extract_migrations())
        return _tables(con)
    finally:
        con.close()


def _clashes(tables: dict[str, dict[str, str]]) -> list[str]:
    full, base = _expected_columns(), _expected_columns(base=True)
    out = []
    for name, have in tables.items():
        want = full.get(name)
        if want is None:
            continue
        wrong = [c for c, t in have.items() if want.get(c) != t]
        absent = [c for c in want if c not in have and c in base[name]]  # not one a migration adds
        if wrong or absent:
            parts = ([f"unexpected {', '.join(wrong)}"] if wrong else []) + (
                [f"missing {', '.join(absent)}"] if absent else []
            )
            out.append(f"{name}: {'; '.join(parts)}")
    return out


def initialise(con: duckdb.DuckDBPyConnection, read_only: bool = False, reference: bool = True) -> None:
    """Make ``con`` a warehouse connection: the schema (unless read-only: it must already exist),
    then (unless ``reference`` is False) the macros, reference tables and working-day calendar,
    which are TEMP objects of the connection (``prepare_reference``). ``connect`` does this for the
    warehouse file; the metric cases (``metrics.compute.cases``) do it for ``duckdb.connect(":memory:")``."""
    if not read_only:
        con.execute(_SYSTEM_TABLES)
        for extract in EXTRACTS.values():
            con.execute(create_table_sql(extract))
        con.execute(_MIGRATIONS)
        con.execute(_extract_migrations())
        con.execute(_META_TABLE)
        con.execute(
            f"INSERT OR REPLACE INTO {META_TABLE} SELECT 'schema_version', $v WHERE NOT EXISTS "
            f"(SELECT 1 FROM {META_TABLE} WHERE key = 'schema_version' AND value = $v)",
            {"v": str(SCHEMA_VERSION)},
        )
    if reference:
        prepare_reference(con)


def prepare_reference(con: duckdb.DuckDBPyConnection) -> None:
    """The TEMP objects metric SQL reads (macros, reference tables, working-day calendar), built afresh
    on ``con``: a connection opened with ``connect(..., reference=False)`` calls this before computing."""
    con.execute(_MACROS)
    load_reference(con)
    build_calendar(con, *default_calendar_years())


class WarehouseBusyError(EnvironmentProblem, RuntimeError):
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
    csv_table(
        "ref_patient_classifications",
        "patient_classifications.csv",
        "code, description, CAST(regular_attender AS BOOLEAN) AS regular_attender",
    )
    csv_table("ref_acsc_icd10", "acsc_icd10.csv", "condition, code_prefix, CAST(confirmed AS BOOLEAN) AS confirmed")
    csv_table(
        "ref_esp2013",
        "esp2013.csv",
        "age_band, CAST(weight AS DOUBLE) AS weight, "
        "CAST(regexp_extract(age_band, '^[0-9]+') AS INTEGER) AS band_start",
    )
    # The ISR's England reference is the declared one (shipped, or a replacement named by
    # $SCORECARD_REFERENCE_OVERRIDES), loaded from the rows its strict reader accepted.
    acsc = england_acsc_reference()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ref_england_acsc "
        "(age_band VARCHAR, sex VARCHAR, admissions DOUBLE, population DOUBLE)"
    )
    con.execute(  # one INSERT of four lists, not a statement per row (see build_calendar)
        "INSERT INTO ref_england_acsc SELECT unnest($band), unnest($sex), unnest($adm), unnest($pop)",
        {
            "band": [r.age_band for r in acsc],
            "sex": [r.sex for r in acsc],
            "adm": [float(r.admissions) for r in acsc],
            "pop": [float(r.population) for r in acsc],
        },
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

    The de-duplicated records are a TEMP table, built once here, not a view: every metric and
    window (47 queries for a BCF quarter) reads them, and as a view each query repeated the window
    over every delivery, most of a quarter's compute time (profiled on the demo: 8.6 s of metric SQL
    for a quarter as views, 0.7 s to build the tables and 1.6 s of metric SQL reading them).
    """
    cutoff = as_of.label
    for extract in record_extracts():
        key = ", ".join(f'"{k}"' for k in extract.key)
        name = current_view(extract)
        existing = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND temporary", [name])
        if existing.fetchone() != (0,):  # a connection prepared by an older pipeline (or a test) made it a view
            con.execute(f"DROP VIEW {name}")
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM "{extract.name}" '
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
