"""Hand-worked metric cases, kept next to the metric they check.

A case is a handful of extract rows, a metric, a period and the numerator, denominator and value
a person worked out by hand from those rows. ``run_case`` loads the rows into an in-memory
warehouse built exactly as the real one (``metrics.warehouse.initialise``: contract tables,
reference data, macros, working-day calendar), makes the views as of the period
(``prepare_views``) and computes the metric with ``compute_metric``; ``check_case`` compares.
``tests/test_metric_cases.py`` runs every case of every scorecard, and fails for a declared
metric that has none.

Files
-----
``metrics/definitions/<card>/cases/<name>.toml``: one file per hand-made data set, holding the
given rows once and one or more ``[[case]]`` tables that each compute one metric from them (a
file is usually named after the metric it is about; several metrics reading the same extract,
e.g. the child protection measures, may share one). Case ids are unique within a scorecard and
the test id is ``<card>/<case id>``. Comments in the file work the arithmetic by hand.

Top-level keys (defaults for the whole file):

- ``area``: area code (``E06000061``); the default area of every case, and the default of every
  area column (a contract column coded by ``hwb_codes``: ``hwb_code``, ``la_code``, ``code``).
- ``period``: delivery period (``2023-24-Q2``); the default ``period`` of every case and the
  default ``_period`` (the delivery partition) of every row.

``[given.<extract>]``, one table per extract (an ``EXTRACTS`` name), with:

- ``rows``: the rows, each an inline table ``{ column = value, ... }`` or an array of values in
  the order of ``columns``;
- ``columns`` (only for array rows): the column names the arrays give, in order;
- ``defaults`` (optional): an inline table of values for columns a row does not give.

A row may give ``_period``, the delivery it came in (a record re-delivered in a later quarter
appears once per delivery, and the views keep its latest delivery up to the case's period).
Values are TOML strings, integers, floats, dates (``2023-08-10``) or date-times
(``2024-05-01 10:00:00``); the empty string is a missing value (NULL), as an empty CSV field.
Rows are inserted through the contract's column list and cast to its types, with ``_period``,
``_line`` (2, 3, ... per extract and delivery, as CSV lines after the header) and ``_load_id``
(``case:<file>``) filled as ingest fills them. A column that is not in the contract is an error;
so is a required column left without a value. Defaults for columns not given, in this order:
the row, then ``defaults``, then

- area columns: the file's ``area``;
- person identifiers (the extract's ``identifiers``: ``person_id``, ``child_id``): ``<key>-who``
  from the record's key (``S1`` -> ``S1-who``), so each record is its own person unless the case
  says otherwise;
- ``population``: every single-year age column (``0`` ... ``89``, ``90+``) 0, and ``all_ages``
  the sum of the ages given;
- any other column that is not required: NULL.

No other extract's table has rows, so a metric reading an extract the case does not give sees
none. Plans (``plans``) or targets (``cs_targets``) rows, if given, are read as the pipeline reads
them (``metrics.compute.targets.targets_for``), so a case may also check the status.

``[[case]]`` keys:

- ``id``: the case id; ``metric``: the metric id (a breakdown metric by its full id, e.g.
  ``cp_category_neglect``), which must belong to the folder's scorecard;
- ``why``: what the case shows, in a sentence or two;
- ``period``, ``area``: if not the file's; ``view``: ``quarter``, ``year_to_date``,
  ``rolling_12_months`` or ``month_1`` ... ``month_3`` (a month of the quarter) if not the
  metric's headline window;
- ``numerator``, ``denominator``: expected, compared to within 1e-9 (``count_tolerance`` to
  state another, e.g. for an expected count of an indirectly standardised rate); write
  ``denominator = "none"`` for a count, which has no denominator, and ``numerator = "none"`` (with
  ``denominator`` and ``value`` ``"none"``) when the metric's SQL withholds the figure (its
  ``unavailable`` column, e.g. a cohort whose follow-up has not ended);
- ``value`` and ``tolerance``: the expected value and the absolute tolerance it is compared to
  (``value = "none"`` when no value can be given, e.g. a zero denominator);
- optional ``parameters``: an inline table overriding some of the metric's declared parameters
  for this case (e.g. ``{ start_point = "referral" }``), so a case can check a declared
  alternative; a name the metric does not declare is an error;
- optional ``lower``, ``upper`` (95% limits, to within ``tolerance``) and ``status``, by its
  short name (``STATUSES``: ``on_track``, ``not_on_track``, ``achieved`` and ``not_achieved`` (Q4),
  ``no_data``, ``green``, ``amber``, ``red``, ``context``).
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from metrics import warehouse
from metrics.compute import status as st
from metrics.compute.metric import compute_metric
from metrics.compute.targets import targets_for
from metrics.contracts import EXTRACTS, POPULATION, Extract
from metrics.core.periods import Period
from metrics.core.registry import MetricWindow, get, scorecard, scorecards
from metrics.core.results import MetricResult

CASES_FOLDER = "cases"
COUNT_TOLERANCE = 1e-9
_NONE = "none"
_FILE_KEYS = {"area", "period", "given", "case"}
_GIVEN_KEYS = {"rows", "columns", "defaults"}
_CASE_KEYS = {
    "id",
    "metric",
    "why",
    "period",
    "area",
    "view",
    "numerator",
    "denominator",
    "value",
    "tolerance",
    "count_tolerance",
    "lower",
    "upper",
    "status",
    "parameters",
}
_REQUIRED_CASE_KEYS = ("id", "metric", "why", "numerator", "denominator", "value", "tolerance")
STATUSES = {
    "on_track": st.ON_TRACK,
    "not_on_track": st.NOT_ON_TRACK,
    "achieved": st.ACHIEVED,
    "not_achieved": st.NOT_ACHIEVED,
    "no_data": st.NO_DATA,
    "green": st.GREEN,
    "amber": st.AMBER,
    "red": st.RED,
    "context": st.CONTEXT,
}
_POPULATION_AGES = tuple(c.name for c in POPULATION.columns if c.name.isdigit() or c.name == "90+")

Row = dict[str, str | None]


@dataclass(frozen=True)
class Case:
    card: str
    id: str
    file: Path
    metric_id: str
    why: str
    period: Period
    area: str
    view: MetricWindow | None
    numerator: float | None
    denominator: float | None
    value: float | None
    tolerance: float
    count_tolerance: float = COUNT_TOLERANCE
    lower: float | None = None
    upper: float | None = None
    status: str | None = None
    # Declared parameters of the metric this case overrides.
    parameters: dict[str, Any] = field(default_factory=dict)
    # extract name -> rows as text (None = missing), each with its ``_period``.
    given: dict[str, tuple[Row, ...]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return f"{self.card}/{self.id}"


class CaseError(ValueError):
    """A case file that does not follow the format."""


def case_files(card: str | None = None) -> list[Path]:
    """The case files in each scorecard's own folder (so a scorecard outside the package brings its cases)."""
    cards = [card] if card else sorted(scorecards())
    return [p for c in cards for p in sorted((scorecard(c).folder / CASES_FOLDER).glob("*.toml"))]


def all_cases(card: str | None = None) -> list[Case]:
    """Every case of the scorecard (or of every scorecard), in file order; ids unique per scorecard."""
    cases = [c for p in case_files(card) for c in load_cases(p)]
    seen: dict[str, Path] = {}
    for c in cases:
        if c.name in seen:
            raise CaseError(f"case {c.name} is in both {seen[c.name]} and {c.file}")
        seen[c.name] = c.file
    return cases


def load_cases(path: Path) -> list[Case]:
    card = path.parent.parent.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{path}: {exc}") from exc
    _unknown(path, "file", raw, _FILE_KEYS)
    area = _text(path, "area", raw.get("area"))
    period = raw.get("period")
    given = {
        name: _given_rows(path, name, spec, area, period)
        for name, spec in dict(raw.get("given", {})).items()
        if _is_table(path, f"given.{name}", spec)
    }
    entries = raw.get("case", [])
    if not entries:
        raise CaseError(f"{path}: no [[case]] tables")
    cases = [_case(path, card, entry, area, period, given) for entry in entries]
    sources = {s for c in cases for s in get(c.metric_id).sources} | {scorecard(card).targets_extract}
    unused = sorted(set(given) - sources)
    if unused:
        raise CaseError(f"{path}: given {unused} but no case's metric reads them (sources: {sorted(sources)})")
    return cases


def _case(
    path: Path,
    card: str,
    entry: dict[str, Any],
    area: str | None,
    period: str | None,
    given: dict[str, tuple[Row, ...]],
) -> Case:
    where = f"{path}: case {entry.get('id', '?')!r}"
    _unknown(path, f"case {entry.get('id', '?')!r}", entry, _CASE_KEYS)
    missing = [k for k in _REQUIRED_CASE_KEYS if k not in entry]
    if missing:
        raise CaseError(f"{where}: missing {missing}")
    try:
        metric = get(entry["metric"])
    except KeyError as exc:
        raise CaseError(f"{where}: {exc.args[0]}") from None
    if metric.scorecard != card:
        raise CaseError(f"{where}: metric {metric.id} belongs to {metric.scorecard}, not {card}")
    view = entry.get("view")
    if view is not None and view not in metric.windows:
        raise CaseError(f"{where}: view {view!r} is not among {metric.id}'s windows {metric.windows}")
    parameters = entry.get("parameters", {})
    if not isinstance(parameters, dict) or set(parameters) - set(metric.parameters):
        raise CaseError(
            f"{where}: parameters must be an inline table of {metric.id}'s declared parameters "
            f"{sorted(metric.parameters)}"
        )
    case_area = entry.get("area", area)
    case_period = entry.get("period", period)
    if not case_area or not case_period:
        raise CaseError(f"{where}: needs an area and a period (its own or the file's)")
    return Case(
        card=card,
        id=str(entry["id"]),
        file=path,
        metric_id=metric.id,
        why=" ".join(str(entry["why"]).split()),
        period=Period.parse(str(case_period)),
        area=str(case_area),
        view=view,
        numerator=_number(where, "numerator", entry["numerator"]),
        denominator=_number(where, "denominator", entry["denominator"]),
        value=_number(where, "value", entry["value"]),
        tolerance=_positive(where, "tolerance", entry["tolerance"]),
        count_tolerance=_positive(where, "count_tolerance", entry.get("count_tolerance", COUNT_TOLERANCE)),
        lower=_number(where, "lower", entry["lower"]) if "lower" in entry else None,
        upper=_number(where, "upper", entry["upper"]) if "upper" in entry else None,
        status=_status(where, entry["status"]) if "status" in entry else None,
        parameters=dict(parameters),
        given=given,
    )


def _given_rows(path: Path, name: str, spec: dict[str, Any], area: str | None, period: str | None) -> tuple[Row, ...]:
    where = f"{path}: [given.{name}]"
    if name not in EXTRACTS:
        raise CaseError(f"{where}: no such extract; known: {sorted(EXTRACTS)}")
    extract = EXTRACTS[name]
    _unknown(path, f"[given.{name}]", spec, _GIVEN_KEYS)
    allowed = {"_period", *extract.column_names}
    columns = list(spec.get("columns", []))
    defaults = dict(spec.get("defaults", {}))
    for col in [*columns, *defaults]:
        if col not in allowed:
            raise CaseError(f"{where}: {col!r} is not a column of {name}")
    rows: list[Row] = []
    for i, given in enumerate(spec.get("rows", []), start=1):
        if isinstance(given, list):
            if len(given) != len(columns):
                raise CaseError(f"{where}: row {i} has {len(given)} values for {len(columns)} columns")
            given = dict(zip(columns, given, strict=True))
        elif not isinstance(given, dict):
            raise CaseError(f"{where}: row {i} is neither an inline table nor an array")
        for col in given:
            if col not in allowed:
                raise CaseError(f"{where}: row {i}: {col!r} is not a column of {name}")
        merged = {**defaults, **given}
        row = {col: _cell(f"{where}: row {i}: {col}", v) for col, v in merged.items()}
        rows.append(_fill(f"{where}: row {i}", extract, row, area, period))
    return tuple(rows)


def _fill(where: str, extract: Extract, row: Row, area: str | None, period: str | None) -> Row:
    """The built-in defaults (see the module docstring), then the required-column check."""
    row.setdefault("_period", period)
    if row["_period"] is None:
        raise CaseError(f"{where}: no _period and no file-level period")
    Period.parse(row["_period"])
    for c in extract.columns:
        if c.codes == "hwb_codes" and c.name not in row:
            row[c.name] = area
    key = "-".join(str(row.get(k)) for k in extract.key)
    for ident in extract.identifiers:
        if ident not in row and extract.key:
            row[ident] = f"{key}-who"
    if extract is POPULATION:
        for age in _POPULATION_AGES:
            row.setdefault(age, "0")
        row.setdefault("all_ages", str(sum(int(row[a] or 0) for a in _POPULATION_AGES)))
    for c in extract.columns:
        row.setdefault(c.name, None)
        if c.required and row[c.name] is None:
            raise CaseError(f"{where}: required column {c.name} has no value")
    return row


def _cell(where: str, value: Any) -> str | None:
    if isinstance(value, bool | list | dict | dt.time):
        raise CaseError(f"{where}: {value!r} is not a column value")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    text = str(value)
    return None if text.strip() == "" else text


def _number(where: str, key: str, value: Any) -> float | None:
    """A number, or ``"none"`` for no value."""
    return None if value == _NONE else _float(where, key, value, f' or "{_NONE}"')


def _float(where: str, key: str, value: Any, alternative: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CaseError(f"{where}: {key} must be a number{alternative}")
    return float(value)


def _status(where: str, value: Any) -> str:
    if value not in STATUSES:
        raise CaseError(f"{where}: status must be one of {sorted(STATUSES)}")
    return STATUSES[value]


def _positive(where: str, key: str, value: Any) -> float:
    number = _float(where, key, value)
    if number < 0:
        raise CaseError(f"{where}: {key} must be a number >= 0")
    return number


def _text(path: Path, key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise CaseError(f"{path}: {key} must be a string")
    return value


def _is_table(path: Path, key: str, value: Any) -> bool:
    if not isinstance(value, dict):
        raise CaseError(f"{path}: {key} must be a table")
    return True


def _unknown(path: Path, where: str, raw: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(raw) - known)
    if extra:
        raise CaseError(f"{path}: {where}: unknown keys {extra}; known: {sorted(known)}")


def case_database() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with no extract rows, initialised as ``warehouse.connect`` does."""
    con = duckdb.connect(":memory:")
    warehouse.initialise(con)
    return con


def load_given(con: duckdb.DuckDBPyConnection, case: Case) -> None:
    """Insert the case's rows through the contracts' columns and types, with the partition columns."""
    load_id = f"case:{case.file.stem}"
    for name, rows in case.given.items():
        if not rows:
            continue
        extract = EXTRACTS[name]
        names = ["_period", "_line", "_load_id", *extract.column_names]
        cols = ", ".join(f'"{c}"' for c in names)
        casts = ", ".join(
            ["CAST(_period AS VARCHAR)", "CAST(_line AS BIGINT)", "CAST(_load_id AS VARCHAR)"]
            + [f'CAST("{c.name}" AS {c.dtype})' for c in extract.columns]
        )
        # One statement for all the rows (executemany costs a statement per row).
        values = ", ".join(["(" + ", ".join("?" * len(names)) + ")"] * len(rows))
        lines: dict[str | None, int] = {}
        params: list[Any] = []
        for row in rows:
            lines[row["_period"]] = lines.get(row["_period"], 1) + 1
            params += [row["_period"], lines[row["_period"]], load_id, *(row[c] for c in extract.column_names)]
        try:
            con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {casts} FROM (VALUES {values}) AS v({cols})', params)
        except duckdb.Error as exc:  # e.g. a value that is not of the column's type
            raise CaseError(f"{case.file}: [given.{name}]: {exc}") from exc


def run_case(case: Case, con: duckdb.DuckDBPyConnection | None = None) -> MetricResult:
    """The metric's result for the case's area.

    With ``con`` (from ``case_database``), the rows are loaded inside a transaction that is rolled
    back afterwards, so one connection serves many cases and each starts from empty tables;
    without, a fresh in-memory warehouse is made and closed.
    """
    own = con is None
    db = case_database() if con is None else con
    metric = get(case.metric_id)
    if case.parameters:
        metric = replace(metric, parameters={**metric.parameters, **case.parameters})
    db.execute("BEGIN TRANSACTION")
    try:
        load_given(db, case)
        warehouse.prepare_views(db, case.period)
        plans, tolerances = targets_for(db, scorecard(case.card), case.period)
        scheme = scorecard(case.card).status_scheme
        [result] = compute_metric(db, metric, case.period, [case.area], plans, scheme, tolerances, case.view)
    finally:
        db.execute("ROLLBACK")
        if own:
            db.close()
    return result


def check_case(case: Case, result: MetricResult) -> list[str]:
    """What differs between the case's expectations and the result (empty: the case holds)."""
    checks: list[tuple[str, float | None, float | None, float]] = [
        ("numerator", case.numerator, result.numerator, case.count_tolerance),
        ("denominator", case.denominator, result.denominator, case.count_tolerance),
        ("value", case.value, result.value, case.tolerance),
    ]
    if case.lower is not None:
        checks.append(("lower", case.lower, result.lower, case.tolerance))
    if case.upper is not None:
        checks.append(("upper", case.upper, result.upper, case.tolerance))
    out = []
    for what, want, got, tol in checks:
        if want is None or got is None:
            if want is not got:
                out.append(f"{what}: expected {want}, got {got}")
        elif not math.isclose(got, want, rel_tol=0.0, abs_tol=tol):
            out.append(f"{what}: expected {want} (within {tol:g}), got {got!r}")
    if case.status is not None and result.status != case.status:
        out.append(f"status: expected {case.status!r}, got {result.status!r} ({result.status_reason})")
    return out
