"""Deliveries in other shapes than the contract's CSV, turned into it before the one load path.

A delivered file that is not the contract's own CSV (an ``.xlsx``, a SUS-style extract with its own
column names, a DfE SSDA903 or CIN census return, the ONS population workbook) is *converted* by a
:class:`Reader` into the contract's CSV text, and that text then goes through exactly the checks a
native CSV does (header, strict text forms, row rules, GX, atomic commit). There is one mechanism,
not a fork: a reader only reshapes; it never decides what is valid beyond what it must to reshape
(a column it needs is missing, a date is not in the declared format, the XML is unsafe).

Every problem is reported where the user will look for it: a converted row keeps the source row it
came from (``Conversion.lines``: an Excel row number, an XML element's line, the source CSV line),
and a contract column is named as delivered (``Conversion.columns``). The load's SHA-256 covers the
delivered bytes, the reader and its options, so a changed mapping re-loads and an unchanged one is
skipped, as for a CSV.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from metrics.contracts import Extract
from metrics.core.periods import Period
from metrics.core.results import Problem

NATIVE = "csv"


@dataclass(frozen=True)
class Conversion:
    """What a reader made of the delivered files.

    ``problems`` are already in delivered terms (source row, delivered column). ``lines[i]`` is the
    source row of the converted CSV's data line ``i + 2`` (line 1 is the header); ``None`` means
    the same numbering. ``columns`` maps a contract column to the delivered column(s) it came from,
    as the user would search for them. ``unit`` is what a row is called where the user looks it up
    ("row" in Excel, "line" in a text file)."""

    problems: list[Problem] = field(default_factory=list)
    lines: Sequence[int] | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    unit: str = "line"
    header_line: int | None = 1  # the source row of the header, where a header problem is shown
    # The sheet of each converted data line (as ``lines``), for a workbook whose rows come from
    # several sheets: a problem's column is then shown as ``<sheet>!<column>``.
    sheets: Sequence[str] | None = None
    # The reader stopped at a structural problem (a missing file, sheet or column, merged header
    # cells, unsafe XML): nothing was converted, so its problems are all there is to report.
    halted: bool = False

    def source_line(self, line: int | None) -> int | None:
        """The delivered file's row of the converted CSV's ``line``."""
        if line is None or self.lines is None:
            return line
        if line == 1:
            return self.header_line
        return self.lines[line - 2] if 0 <= line - 2 < len(self.lines) else line

    def translate(self, problem: Problem) -> Problem:
        """A problem found in the converted CSV, placed in the delivered file."""
        column = self.columns.get(problem.column, problem.column) if problem.column else problem.column
        sheet = self._sheet(problem.line)
        if sheet:
            column = f"{sheet}!{column}" if column else sheet
        return Problem(self.source_line(problem.line), column, problem.rule, problem.reason, self.unit)

    def _sheet(self, line: int | None) -> str | None:
        if self.sheets is None or line is None or not 0 <= line - 2 < len(self.sheets):
            return None
        return self.sheets[line - 2]


class Reader(Protocol):
    """Turns the delivered ``files`` (private copies, in the order the delivery names them) into
    the contract CSV of ``extract`` written to ``out`` (header exactly ``extract.column_names``,
    comma-delimited, ``"``-quoted, dates ``YYYY-MM-DD``). ``names`` are the files as the user
    named them, for messages. ``options`` are the delivery's format options (from a mapping file),
    already known to be a table; a reader refuses keys it does not know."""

    def __call__(
        self,
        extract: Extract,
        files: Sequence[Path],
        names: Sequence[str],
        options: Mapping[str, Any],
        out: TextIO,
    ) -> Conversion: ...


READERS: dict[str, Reader] = {}
# Readers whose conversion depends on the delivery's period (which mid-year of a population time
# series a quarter uses; a year-to-date return cut to the quarter): a reader taking the period too.
PeriodReader = Callable[[Extract, Sequence[Path], Sequence[str], Mapping[str, Any], TextIO, Period], Conversion]
PERIOD_READERS: dict[str, PeriodReader] = {}

# A reader's check of its options, run when the mapping file is read (before anything loads): each
# message names the option by its dotted key under the extract's table (``columns.sex.codes: ...``)
# and says what would be right. A reader registered without one accepts no options at all.
OptionCheck = Callable[[Extract, Mapping[str, Any]], list[str]]
OPTION_CHECKS: dict[str, OptionCheck] = {}


def register(name: str, check: OptionCheck | None = None) -> Callable[[Reader], Reader]:
    """Declare a reader under the format name a mapping file uses (``format = "<name>"``), with the
    check of its options (``check(extract, options) -> messages``) the mapping loader runs."""

    def add(reader: Reader) -> Reader:
        _claim(name)
        READERS[name] = reader
        OPTION_CHECKS[name] = check or _no_options
        return reader

    return add


def register_by_period(name: str, check: OptionCheck | None = None) -> Callable[[PeriodReader], PeriodReader]:
    """Declare a reader that needs the delivery's period: a :class:`Reader` with ``period`` as a last
    argument, given it by :func:`reader_for`; ``check`` as for :func:`register`."""

    def add(reader: PeriodReader) -> PeriodReader:
        _claim(name)
        PERIOD_READERS[name] = reader
        OPTION_CHECKS[name] = check or _no_options
        return reader

    return add


def _claim(name: str) -> None:
    if name in READERS or name in PERIOD_READERS or name == NATIVE:
        raise ValueError(f"reader {name!r} registered twice")


def _no_options(extract: Extract, options: Mapping[str, Any]) -> list[str]:
    return [f"{key}: this format takes no options; remove it" for key in options]


def option_problems(format: str, extract: Extract, options: Mapping[str, Any]) -> list[str]:
    """What is wrong with a delivery's options for its format (``[]``: nothing); the format must be
    registered (see :func:`formats`)."""
    if format == NATIVE:
        return _no_options(extract, options)
    from metrics.ingest import formats as _  # noqa: F401  (registers the shipped readers)

    return OPTION_CHECKS[format](extract, options)


def unknown_keys(options: Mapping[str, Any], allowed: frozenset[str], where: str = "") -> list[str]:
    """``<where>.<key>: unknown key ...`` for each key of ``options`` not in ``allowed`` (for option checks)."""
    prefix = f"{where}." if where else ""
    return [
        f"{prefix}{key}: unknown key; allowed here: {', '.join(sorted(allowed))}"
        for key in sorted(set(options) - allowed)
    ]


def formats() -> list[str]:
    """Every format a mapping file may name: the contract CSV and each registered reader."""
    from metrics.ingest import formats as _  # noqa: F401  (registers the shipped readers)

    return sorted([NATIVE, *(n for n in [*READERS, *PERIOD_READERS] if not n.startswith("_"))])


@dataclass(frozen=True)
class Delivery:
    """One extract's files for one quarter and how to read them.

    ``format`` is ``"csv"`` for the contract's own CSV (one file, read as it is) or a registered
    reader's name. ``options`` come from the mapping file, whose name and SHA-256 are
    ``source``/``source_sha256`` (recorded, and part of the load's digest)."""

    extract: Extract
    files: tuple[Path, ...]
    format: str = NATIVE
    options: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    source_sha256: str = ""

    @classmethod
    def native(cls, extract: Extract, path: Path) -> Delivery:
        return cls(extract, (path,))

    @property
    def shown(self) -> str:
        """The delivery as the user named it: the file (and the workbook's sheet, when a mapping names
        one), or the files joined by ``+``."""
        sheet = self.options.get("sheet")
        return " + ".join(str(p) for p in self.files) + (f" sheet {sheet!r}" if isinstance(sheet, str) else "")

    def digest(self, file_digests: Sequence[str]) -> str:
        """The load's SHA-256: the file's own for a native CSV (as before), else one over the
        reader, its options, the mapping's digest and each file's digest."""
        if self.format == NATIVE:
            return file_digests[0]
        h = hashlib.sha256()
        h.update(json.dumps([self.format, self.source_sha256, _canonical(self.options)], sort_keys=True).encode())
        for d in file_digests:
            h.update(d.encode())
        return h.hexdigest()


# Which delivery a quarter folder holds for an extract: the contract CSV by default, or what a
# mapping file declares (``metrics.ingest.mapping``).
Resolve = Callable[[Path, Extract], Delivery]


def native(folder: Path, extract: Extract) -> Delivery:
    """The contract's own CSV, ``<folder>/<extract>.csv``."""
    return Delivery.native(extract, folder / extract.filename)


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def reader_for(delivery: Delivery, period: Period | None = None) -> Reader:
    """The registered reader of a delivery (the format modules register themselves on import); a
    reader registered by period is given ``period``, which it then needs."""
    from metrics.ingest import formats  # noqa: F401  (registers the shipped readers)

    if delivery.format in PERIOD_READERS:
        if period is None:
            raise ValueError(f"the {delivery.format!r} reader needs the delivery's period")
        read, when = PERIOD_READERS[delivery.format], period
        return lambda extract, files, names, options, out: read(extract, files, names, options, out, when)
    try:
        return READERS[delivery.format]
    except KeyError:
        known = ", ".join(sorted([NATIVE, *READERS, *PERIOD_READERS]))
        raise ValueError(f"unknown delivery format {delivery.format!r}: use one of {known}") from None
