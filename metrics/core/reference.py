"""Shipped reference data read by several stages: what each file is (``sources.toml``), England
benchmarks, area names, the ISR's England reference and bank holidays."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics.core.errors import UsageError
from metrics.core.paths import REFERENCE
from metrics.core.provenance import sha256_of

if TYPE_CHECKING:
    from metrics.core.registry import Metric


ENGLAND = "England"


@dataclass(frozen=True)
class Benchmark:
    """A comparator value: England's (or a region's) figure for a metric and year, with its source.
    The same file format serves the shipped England benchmarks and any comparator file a run is
    given (``--comparators``), so one reader and one comparison apply to both."""

    value: float
    year: str  # financial year ending 31 March, e.g. 2023-24
    source: str
    status: str  # CONFIRMED, COMPUTED, SECONDARY, UNCONFIRMED or SYNTHETIC (see reference/SOURCES.md)
    # The metric parameters the England figure's definition fixes (``start_point=assessment_start``):
    # a local figure computed with other values is not comparable with it.
    definition: tuple[tuple[str, str], ...] = ()
    # Whose figure: "England" or a region name exactly as in hwb_codes.csv's region column.
    comparator: str = ENGLAND
    file: str = "england_benchmarks.csv"


# A comparator file delivered beside the quarter folders (``<raw_dir>/comparators.csv``), read by
# default over the shipped England figures (``run_comparators``).
DELIVERED_COMPARATORS = "comparators.csv"
COMPARATOR_COLUMNS = ("metric_id", "comparator", "value", "year", "source", "status", "definition")
BENCHMARK_STATUSES = ("CONFIRMED", "COMPUTED", "SECONDARY", "UNCONFIRMED", "SYNTHETIC")
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


def _strict_csv(
    path: Path, columns: tuple[str, ...], what: str, fix: str, *, skip_blank: bool
) -> list[tuple[int, list[str]]]:
    """The data rows of a reference CSV as ``(row number, cells)``, each with exactly ``columns``'
    cells, after a header of exactly ``columns``; an unreadable file, another header or a row of
    another width is a :class:`ReferenceDataError` naming the file, row and ``fix``. ``skip_blank``
    passes over empty lines (the hand-kept files) instead of refusing them."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(f"{path}: cannot read {what} ({exc}); {fix}") from exc
    records = list(csv.reader(text.splitlines()))
    if not records or tuple(records[0]) != columns:
        got = ",".join(records[0]) if records else "nothing"
        raise ReferenceDataError(f"{path}: row 1 (header) must be exactly {','.join(columns)}, got {got!r}; {fix}")
    rows = []
    for line, cells in enumerate(records[1:], start=2):
        if not cells and skip_blank:
            continue
        if len(cells) != len(columns):
            raise ReferenceDataError(f"{path}: row {line} has {len(cells)} cells, expected {len(columns)}; {fix}")
        rows.append((line, cells))
    return rows


@cache
def england_benchmarks() -> dict[str, Benchmark]:
    """England values by metric id from ``metrics/reference/england_benchmarks.csv``."""
    return {k[0]: b for k, b in comparator_values(REFERENCE / "england_benchmarks.csv").items() if k[1] == ENGLAND}


def comparator_values(path: Path) -> dict[tuple[str, str, str], Benchmark]:
    """A comparator file read strictly, keyed by (metric id, comparator, year).

    Exactly the columns ``metric_id,comparator,value,year,source,status,definition``; a known metric
    id; comparator ``England`` or a region of hwb_codes.csv; the value written plainly (``22.4``, not
    ``22,4`` or ``1,200``); the year a financial year ``YYYY-YY``; a source; a status from
    BENCHMARK_STATUSES; one row per metric, comparator and year. Anything else stops the run naming
    the file, row and column."""
    from metrics.core.registry import all_metrics  # registry imports this module's types

    fix = "fix the file (format: docs/methods/comparisons.md)"
    rows = _strict_csv(path, COMPARATOR_COLUMNS, "the comparator file", fix, skip_blank=True)
    metric_ids = {m.id for m in all_metrics()}
    regions = {c.region for c in hwb_code_list()}
    out: dict[tuple[str, str, str], Benchmark] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for line, cells in rows:
        row = dict(zip(COMPARATOR_COLUMNS, cells, strict=True))

        def bad(column: str, why: str, row_line: int = line) -> ReferenceDataError:
            return ReferenceDataError(f"{path}: row {row_line}, column {column}: {why}; {fix}")

        if row["metric_id"] not in metric_ids:
            raise bad("metric_id", f"{row['metric_id']!r} is not a declared metric")
        if row["comparator"] != ENGLAND and row["comparator"] not in regions:
            raise bad("comparator", f"{row['comparator']!r} must be England or a region of hwb_codes.csv")
        if not _NUMBER.match(row["value"]):
            raise bad("value", f"{row['value']!r} is not a number written plainly (digits, one '.', no separators)")
        year = _YEAR.match(row["year"])
        if not year or (int(year[1]) + 1) % 100 != int(year[2]):
            raise bad("year", f"{row['year']!r} is not a financial year YYYY-YY such as 2023-24")
        if not row["source"].strip():
            raise bad("source", "empty: say where the figure comes from")
        if row["status"] not in BENCHMARK_STATUSES:
            raise bad("status", f"{row['status']!r} must be one of {', '.join(BENCHMARK_STATUSES)}")
        try:
            definition = _definition(row["definition"])
        except ValueError as exc:
            raise bad("definition", str(exc)) from None
        key = (row["metric_id"], row["comparator"], row["year"])
        if key in seen:
            raise ReferenceDataError(
                f"{path}: row {line}: {key[0]} for {key[1]} {key[2]} already given on row {seen[key]}; {fix}"
            )
        seen[key] = line
        out[key] = Benchmark(
            float(row["value"]), row["year"], row["source"], row["status"], definition, row["comparator"], path.name
        )
    return out


def _comparator_file(given: Path | None, raw_dir: Path | None) -> tuple[str, Path] | None:
    """The comparator file a run reads beyond the shipped one, and how it came: the file given, else a
    ``comparators.csv`` delivered in ``raw_dir``; ``None`` when there is neither."""
    if given is not None:
        return "given", given
    delivered = raw_dir / DELIVERED_COMPARATORS if raw_dir is not None else None
    return ("delivered", delivered) if delivered is not None and delivered.is_file() else None


def run_comparators(
    given: Path | None, raw_dir: Path | None
) -> tuple[dict[tuple[str, str, str], Benchmark] | None, str]:
    """A run's comparator values and how outputs name their file, each file read strictly: the file
    given, alone; else the shipped ``england_benchmarks.csv`` overlaid by a ``comparators.csv``
    delivered in ``raw_dir`` (its rows win for the same metric, comparator and year); else
    ``(None, ...)``, the shipped file as ``metrics.compute.comparisons.Settings`` reads it. The CLI
    calls it before Prefect starts, so a bad file stops the run before anything loads."""
    found = _comparator_file(given, raw_dir)
    if found is None:
        return None, "england_benchmarks.csv"
    how, path = found
    if how == "given":
        return comparator_values(path), path.name
    values = {**comparator_values(REFERENCE / "england_benchmarks.csv"), **comparator_values(path)}
    return values, f"england_benchmarks.csv or the delivered {DELIVERED_COMPARATORS}"  # no local path on outputs


def comparison_files(
    comparators: str | Path | None, peers: str | Path | None, raw_dir: str | Path | None
) -> list[tuple[str, str, str]]:
    """The comparison files a run reads that are not declared reference files, as (role, file name,
    SHA-256): the comparator file ``run_comparators`` reads beyond the shipped one (given, else
    delivered in ``raw_dir``), and the peer file given. The manifest records them (and its inputs
    digest covers them), since they change published comparisons; names only, so no local path
    reaches the outputs."""
    out = []
    found = _comparator_file(Path(comparators) if comparators else None, Path(raw_dir) if raw_dir else None)
    if found is not None:
        how, path = found
        out.append((f"comparators ({how})", path.name, sha256_of(path)))
    if peers:
        out.append(("peer groups (given)", Path(peers).name, sha256_of(Path(peers))))
    return out


def _definition(text: str) -> tuple[tuple[str, str], ...]:
    """``name=value;name=value`` from the benchmark file's ``definition`` column."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"definition {text!r} is not name=value;name=value")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def definition_mismatch(bench: Benchmark, parameters: Mapping[str, Any]) -> str:
    """Why a comparator is not comparable with a metric computed with ``parameters`` ("" if it is)."""
    for name, value in bench.definition:
        mine = parameters.get(name)
        if str(mine) != value:
            return (
                f"{bench.comparator} benchmark not comparable: different {name.replace('_', ' ')} "
                f"({bench.comparator} {value}, this measure {mine})"
            )
    return ""


def comparable_benchmark(metric_id: str, parameters: Mapping[str, Any]) -> tuple[Benchmark | None, str]:
    """The England benchmark of a metric, if its definition matches the metric's declared parameters,
    else None and why not (shown where the benchmark would be: a figure counted another way is not
    set beside it)."""
    bench = england_benchmarks().get(metric_id)
    if bench is None:
        return None, ""
    why = definition_mismatch(bench, parameters)
    return (None, why) if why else (bench, "")


@dataclass(frozen=True)
class HwbCode:
    """One row of ``hwb_codes.csv``: an area code and when it was in use. A code with ``valid_to``
    was retired that day; ``replaced_by`` names its successor when the change was a pure recode
    (same area, new code, e.g. Barnsley E08000016 -> E08000038 on 1 April 2025), so data still
    delivered under it is the successor's."""

    code: str
    name: str
    region: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    replaced_by: str

    @property
    def current(self) -> bool:
        return self.valid_to is None


def hwb_code_list() -> list[HwbCode]:
    """Every code in ``hwb_codes.csv``, current and retired. An edited list applies at once: the file
    is parsed again whenever its modification time, size or inode changes, and otherwise once per
    process (it was read about 170 times per quarter computed, from every area lookup and recode)."""
    path = REFERENCE / "hwb_codes.csv"
    try:
        st = os.stat(path)
    except OSError:
        return _read_hwb_codes(path)  # the error, as reading it would give it
    return list(_hwb_codes(path, st.st_mtime_ns, st.st_size, st.st_ino))


@functools.lru_cache(maxsize=8)
def _hwb_codes(path: Path, _mtime_ns: int, _size: int, _inode: int) -> tuple[HwbCode, ...]:
    return tuple(_read_hwb_codes(path))


def _read_hwb_codes(path: Path) -> list[HwbCode]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = [
        HwbCode(
            r["code"],
            r["name"],
            r["region"],
            _date(r.get("valid_from") or ""),
            _date(r.get("valid_to") or ""),
            r.get("replaced_by") or "",
        )
        for r in rows
    ]
    known = {c.code for c in out}
    for c in out:
        if c.replaced_by and (c.replaced_by not in known or c.valid_to is None):
            raise ValueError(
                f"hwb_codes.csv: {c.code} is replaced by {c.replaced_by!r}, not a code in the list "
                "or not given a valid_to date"
            )
    return out


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def hwb_names() -> dict[str, str]:
    """Area name by ONS code, from ``hwb_codes.csv`` (retired codes too, under their area's name)."""
    return {c.code: c.name for c in hwb_code_list()}


def hwb_recodes() -> dict[str, str]:
    """Retired code -> the current code of the same area, following a chain of recodes."""
    step = {c.code: c.replaced_by for c in hwb_code_list() if c.replaced_by}
    out = {}
    for old in step:
        new, seen = step[old], {old}
        while new in step:
            if new in seen:
                raise ValueError(f"hwb_codes.csv: the replaced_by chain from {old} loops")
            seen.add(new)
            new = step[new]
        out[old] = new
    return out


def current_hwb_code(code: str) -> str:
    """The code an area is reported under: its current code (a code not retired is itself)."""
    return hwb_recodes().get(code, code)


def england_bank_holidays(first_year: int, last_year: int) -> list[tuple[dt.date, str]]:
    """England and Wales bank holidays from ``first_year`` to ``last_year`` inclusive, oldest first:
    the weekdays off work, as GOV.UK lists them (``https://www.gov.uk/bank-holidays.json``,
    division ``england-and-wales``). From the maintained ``holidays`` package (statutory rules
    plus one-off days such as the 2022 Platinum Jubilee and State Funeral and the 2023 Coronation).
    The package also names a Christmas, Boxing or New Year's Day that falls on a weekend besides
    its weekday substitute ("observed"); those weekend dates are dropped, being off work anyway.
    Years ahead are the package's rules: a one-off day announced later needs a newer package."""
    if first_year > last_year:
        raise ValueError(f"bank holidays: first year {first_year} after last year {last_year}")
    return list(_bank_holidays(first_year, last_year))


@functools.lru_cache(maxsize=8)
def _bank_holidays(first_year: int, last_year: int) -> tuple[tuple[dt.date, str], ...]:
    """Computed once per process and range: they depend only on the years and the ``holidays``
    package, and every warehouse connection that computes builds its calendar from them (17 a run)."""
    import holidays  # here, not at import: reading area names or benchmarks needs no calendar

    # holidays ships no type hints for its country classes.
    days = holidays.UK(subdiv="ENG", years=range(first_year, last_year + 1))  # type: ignore[no-untyped-call]
    return tuple(sorted((day, str(name)) for day, name in days.items() if day.isoweekday() <= 5))


# ---------------------------------------------------------------------------------------------
# Reference data declared as data: metrics/reference/sources.toml

DECLARATIONS = REFERENCE / "sources.toml"
# A TOML file in the format of sources.toml whose tables replace shipped declarations of the same
# name (only files with a strict reader, ``READERS``), e.g. the published NHSOF 2012/13 reference.
OVERRIDES_ENV = "SCORECARD_REFERENCE_OVERRIDES"
STATUSES = ("confirmed", "secondary", "unconfirmed")
_REQUIRED = ("file", "what", "source", "year", "status")
_OPTIONAL = ("caveat", "table", "note")
# Files that are not reference data themselves: the declarations and the page generated from them.
NOT_DECLARED = frozenset({"sources.toml", "SOURCES.md"})


class ReferenceDataError(UsageError):
    """A reference declaration or a replacement reference file is not as declared; the message names
    the file (and row and column) and the fix."""


@dataclass(frozen=True)
class ReferenceFile:
    """One declared reference file: what it is, where it came from and how sure we are of it."""

    name: str
    path: Path
    what: str
    source: str
    year: str
    status: str  # one of STATUSES
    caveat: str = ""  # printed beside every figure that depends on the file while it is unconfirmed
    table: str = ""  # the warehouse table loaded from it, if any
    note: str = ""
    # True when SCORECARD_REFERENCE_OVERRIDES put it in place of the shipped file.
    replaced: bool = False

    @property
    def flagged(self) -> bool:
        """Outputs footnote the figures that depend on an unconfirmed file."""
        return self.status == "unconfirmed"

    def sha256(self) -> str:
        return sha256_of(self.path)

    def as_dict(self) -> dict[str, object]:
        """The manifest's record of the file (with its SHA-256)."""
        return {
            "name": self.name,
            "path": str(self.path),
            "what": self.what,
            "source": self.source,
            "year": self.year,
            "status": self.status,
            "caveat": self.caveat if self.flagged else "",
            "replaced": self.replaced,
            "sha256": self.sha256(),
        }


def _parse(path: Path, folder: Path, replaced: bool) -> dict[str, ReferenceFile]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(f"{path}: cannot read the reference declarations ({exc})") from exc
    out: dict[str, ReferenceFile] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise ReferenceDataError(f"{path}: {name!r} must be a table ([{name}]) with {', '.join(_REQUIRED)}")
        missing = [k for k in _REQUIRED if not isinstance(entry.get(k), str) or not entry[k].strip()]
        if missing:
            raise ReferenceDataError(f"{path}: [{name}] needs text for {', '.join(missing)}")
        unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise ReferenceDataError(
                f"{path}: [{name}] has unknown key(s) {unknown}; allowed: {list(_REQUIRED + _OPTIONAL)}"
            )
        if entry["status"] not in STATUSES:
            raise ReferenceDataError(f"{path}: [{name}] status {entry['status']!r} must be one of {list(STATUSES)}")
        if entry["status"] == "unconfirmed" and not str(entry.get("caveat", "")).strip():
            raise ReferenceDataError(f"{path}: [{name}] is unconfirmed, so it needs a caveat for the outputs")
        file = Path(entry["file"])
        out[name] = ReferenceFile(
            name=name,
            path=file if file.is_absolute() else folder / file,
            what=" ".join(entry["what"].split()),
            source=" ".join(entry["source"].split()),
            year=entry["year"],
            status=entry["status"],
            caveat=" ".join(str(entry.get("caveat", "")).split()),
            table=str(entry.get("table", "")),
            note=" ".join(str(entry.get("note", "")).split()),
            replaced=replaced,
        )
    return out


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def declarations() -> dict[str, ReferenceFile]:
    """Every declared reference file by name: ``sources.toml``, with any replacements declared in the
    TOML file named by ``$SCORECARD_REFERENCE_OVERRIDES`` (re-read whenever either file changes)."""
    override = os.environ.get(OVERRIDES_ENV, "").strip()
    over = Path(override).expanduser().resolve() if override else None
    return dict(_declarations(DECLARATIONS, over, _mtime(DECLARATIONS), _mtime(over) if over else 0))


@functools.lru_cache(maxsize=8)
def _declarations(
    shipped_path: Path, override: Path | None, _shipped_mtime: int, _override_mtime: int
) -> tuple[tuple[str, ReferenceFile], ...]:
    shipped = _parse(shipped_path, shipped_path.parent, replaced=False)
    if override is None:
        return tuple(shipped.items())
    if not override.is_file():
        raise ReferenceDataError(f"{override} (${OVERRIDES_ENV}) not found: point it at a TOML file of replacements")
    for name, entry in _parse(override, override.parent, replaced=True).items():
        if name not in READERS:
            raise ReferenceDataError(
                f"{override}: [{name}] cannot be replaced; replaceable reference files: {sorted(READERS)}"
            )
        if not entry.path.is_file():
            raise ReferenceDataError(f"{override}: [{name}] file {entry.path} not found")
        shipped[name] = ReferenceFile(**{**entry.__dict__, "table": shipped[name].table})
    return tuple(shipped.items())


def reference_file(name: str) -> ReferenceFile:
    try:
        return declarations()[name]
    except KeyError:
        raise KeyError(f"unknown reference file {name!r}; declared: {sorted(declarations())}") from None


def caveats_for(reference_data: Iterable[str]) -> tuple[str, ...]:
    """The caveats outputs print beside a figure that depends on these reference files: one per
    unconfirmed file, in the order given (none once every file is declared confirmed or secondary)."""
    out: list[str] = []
    for name in reference_data:
        ref = reference_file(name)
        if ref.flagged and ref.caveat not in out:
            out.append(ref.caveat)
    return tuple(out)


def reference_footnotes(metrics: Iterable[Metric]) -> list[str]:
    """One line per unconfirmed reference file behind these metrics (workbook notes): which metrics,
    the caveat, the file, its source and year."""
    users: dict[str, list[str]] = {}
    for m in metrics:
        for name in m.reference_data:
            if reference_file(name).flagged:
                users.setdefault(name, []).append(m.title)
    lines = []
    for name, titles in users.items():
        ref = reference_file(name)
        lines.append(f"{', '.join(titles)}: {ref.caveat} ({ref.path.name}: {ref.source}, {ref.year}).")
    return lines


def sources_markdown() -> str:
    """The table of ``SOURCES.md`` (and the reference-data docs page), from the shipped declarations."""
    lines = ["| file | what | source | year | status | caveat on outputs |", "|---|---|---|---|---|---|"]
    for ref in _parse(DECLARATIONS, REFERENCE, replaced=False).values():
        what = ref.what + (f". {ref.note}" if ref.note else "")
        cells = (f"`{ref.path.name}`", what, ref.source, ref.year, ref.status, ref.caveat if ref.flagged else "")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The ISR's England reference, read strictly (it may be a replacement file).

AGE_BANDS = (*(f"{a}-{a + 4}" for a in range(0, 90, 5)), "90+")
ACSC_REFERENCE_COLUMNS = ("age_band", "sex", "admissions", "population")
_WHOLE = re.compile(r"^(0|[1-9][0-9]*)$")


@dataclass(frozen=True)
class AcscReferenceRow:
    age_band: str
    sex: str
    admissions: int  # annual admissions in the reference year
    population: int


def england_acsc_reference(ref: ReferenceFile | None = None) -> list[AcscReferenceRow]:
    """The declared England reference (admissions and population by age band and sex), checked
    strictly: exactly the columns ``age_band,sex,admissions,population``; every band 0-4 ... 90+ for
    each of F and M exactly once; counts as whole numbers written plainly (``1200``, not ``1,200``,
    ``1200.0`` or `` 1200``); populations above zero. Anything else stops the run with the file,
    row and column."""
    ref = ref or reference_file("england_acsc_reference")
    path = ref.path
    fix = f"fix the file or point ${OVERRIDES_ENV} at a corrected one"
    records = _strict_csv(path, ACSC_REFERENCE_COLUMNS, "the ISR England reference", fix, skip_blank=False)
    rows: list[AcscReferenceRow] = []
    seen: dict[tuple[str, str], int] = {}
    for line, cells in records:
        band, sex, admissions, population = cells
        if band not in AGE_BANDS:
            raise ReferenceDataError(
                f"{path}: row {line}, column age_band: {band!r} is not one of {', '.join(AGE_BANDS)}; {fix}"
            )
        if sex not in ("F", "M"):
            raise ReferenceDataError(f"{path}: row {line}, column sex: {sex!r} must be F or M; {fix}")
        for column, value in (("admissions", admissions), ("population", population)):
            if not _WHOLE.match(value):
                raise ReferenceDataError(
                    f"{path}: row {line}, column {column}: {value!r} is not a whole number written plainly "
                    f"(digits only, no separators, decimals, signs or spaces); {fix}"
                )
        if int(population) == 0:
            raise ReferenceDataError(f"{path}: row {line}, column population: must be above zero; {fix}")
        if (band, sex) in seen:
            raise ReferenceDataError(
                f"{path}: row {line}: age band {band} sex {sex} already given on row {seen[band, sex]}; {fix}"
            )
        seen[band, sex] = line
        rows.append(AcscReferenceRow(band, sex, int(admissions), int(population)))
    missing = [f"{b} {s}" for b in AGE_BANDS for s in ("F", "M") if (b, s) not in seen]
    if missing:
        raise ReferenceDataError(f"{path}: no row for {', '.join(missing)} (every band for F and M is needed); {fix}")
    return rows


# Replaceable reference files: each has a strict reader that a replacement must pass.
READERS: dict[str, Any] = {
    "england_acsc_reference": england_acsc_reference,
    "peer_groups": lambda ref: peer_groups(ref.path),
}


# ---------------------------------------------------------------------------------------------
# Peer groups (statistical neighbours), read strictly: the shipped example or a user's own file.

PEER_COLUMNS = ("area_code", "peer_code")


def peer_groups(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Each area's peers, in file order, from a CSV of exactly ``area_code,peer_code`` (one row per
    peer). Both codes must be HWBs of hwb_codes.csv (a retired code stands for its successor); an
    area is not its own peer and no pair is given twice. Anything else stops the run naming the
    file, row and column. Default: the declared ``peer_groups`` file (the shipped example)."""
    path = path or reference_file("peer_groups").path
    fix = "fix the file (format: docs/methods/comparisons.md)"
    rows = _strict_csv(path, PEER_COLUMNS, "the peer groups", fix, skip_blank=True)
    known = hwb_names()
    out: dict[str, list[str]] = {}
    seen: dict[tuple[str, str], int] = {}
    for line, cells in rows:
        for column, code in zip(PEER_COLUMNS, cells, strict=True):
            if code not in known:
                raise ReferenceDataError(
                    f"{path}: row {line}, column {column}: {code!r} is not an HWB code of hwb_codes.csv; {fix}"
                )
        area, peer = (current_hwb_code(c) for c in cells)
        if area == peer:
            raise ReferenceDataError(f"{path}: row {line}: {area} is given as its own peer; {fix}")
        if (area, peer) in seen:
            raise ReferenceDataError(
                f"{path}: row {line}: {area} has peer {peer} already on row {seen[area, peer]}; {fix}"
            )
        seen[area, peer] = line
        out.setdefault(area, []).append(peer)
    return {a: tuple(p) for a, p in out.items()}
