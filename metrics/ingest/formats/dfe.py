"""What the DfE statutory returns' readers share (SSDA903 CSVs, the CIN census XML): the declared
options, DfE's date forms and the cut of a year-to-date return to the quarter being loaded.

A return covers a collection year to its reference date; the scorecard loads quarters. A record is
kept in the quarter it belongs to exactly as the native contract defines it (an event dated in the
quarter, an episode or plan open at any time in it), and an end after the quarter's last day is not
yet known at that quarter's end, so it is left blank, as the case-management extract would have it.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metrics.core.periods import Period
from metrics.core.reference import hwb_names
from metrics.core.results import Problem

_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class OptionError(ValueError):
    """An option of the mapping file the reader cannot use; its message says which and the fix."""


def options_problem(fmt: str, options: Mapping[str, Any], known: Mapping[str, str]) -> list[Problem]:
    """Unknown keys and a missing or unknown ``la_code`` (the returns do not carry the ONS code)."""
    out = []
    for key in sorted(set(options) - set(known)):
        listed = ", ".join(f"{k} ({v})" for k, v in known.items())
        out.append(Problem(None, None, "mapping_option", f"format {fmt}: unknown option {key!r}; it takes {listed}"))
    code = options.get("la_code")
    if not isinstance(code, str) or not code:
        out.append(
            Problem(
                None,
                None,
                "mapping_option",
                f"format {fmt}: the option la_code (the ONS code of the authority whose return this is, e.g. "
                'la_code = "E06000061") is required: DfE returns carry no ONS code',
            )
        )
    elif code not in hwb_names():
        out.append(
            Problem(
                None,
                None,
                "mapping_option",
                f"format {fmt}: la_code {code!r} is not a local authority in metrics/reference/hwb_codes.csv",
            )
        )
    return out


def dmy(text: str) -> dt.date | None:
    """A date as SSDA903 writes it, ``DD/MM/YYYY`` exactly; ``None`` if it is not one."""
    m = _DMY.match(text)
    if not m:
        return None
    try:
        return dt.date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None


def iso(text: str) -> dt.date | None:
    """A date as the CIN census XML writes it (``xs:date``, ``YYYY-MM-DD``); ``None`` if not one."""
    m = _ISO.match(text)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def open_in(start: dt.date, end: dt.date | None, period: Period) -> bool:
    """Open at any time in the quarter (started by its last day, not ended before its first)."""
    return start <= period.end and (end is None or end >= period.start)


def as_at(end: dt.date | None, period: Period) -> dt.date | None:
    """An end date as known at the quarter's end: a later one is not yet known."""
    return None if end is None or end > period.end else end


def text(d: dt.date | None) -> str:
    return "" if d is None else d.isoformat()


@dataclass(frozen=True)
class Table:
    """One delivered CSV of a return: its name, header, and rows with their physical line."""

    name: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


def read_csv(path: Path, name: str) -> Table | Problem:
    """A return's CSV (UTF-8, a byte-order mark allowed), every row with the line it ends on."""
    try:
        body = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = 1 + path.read_bytes()[: exc.start].count(b"\n")
        return Problem(line, None, "encoding", f"{name}: not valid UTF-8 at line {line}; re-save it as CSV UTF-8")
    if not body.strip():
        return Problem(None, None, "empty_file", f"{name} is empty (no header, no rows)")
    reader = csv.reader(body.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
        rows: list[tuple[int, dict[str, str]]] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                return Problem(
                    reader.line_num,
                    None,
                    "csv_fields",
                    f"{name}: {len(cells)} fields on the line, the header has {len(header)}",
                )
            rows.append((reader.line_num, dict(zip(header, (c.strip() for c in cells), strict=True))))
    except csv.Error as exc:
        return Problem(reader.line_num, None, "csv_unreadable", f"{name}: cannot be read as CSV ({exc})")
    return Table(name, header, rows)


def identify(
    tables: Sequence[Table], wanted: Mapping[str, Sequence[str]], fmt: str
) -> tuple[dict[str, Table], list[Problem]]:
    """Which delivered file is which, by its columns (as DfE's own validator tells them apart): a
    file is the ``kind`` whose every required column it has; ambiguity and a kind not found are
    problems naming the columns expected."""
    found: dict[str, Table] = {}
    problems = []
    for t in tables:
        kinds = [k for k, cols in wanted.items() if set(cols) <= set(t.header)]
        # A header file has CHILD/SEX/DOB; an episodes or missing file may carry DOB too: the most specific wins.
        kinds.sort(key=lambda k: -len(wanted[k]))
        if not kinds:
            if not any(set(cols) & set(t.header) - {"CHILD", "DOB"} for cols in wanted.values()):
                problems.append(
                    Problem(
                        1,
                        None,
                        "file_identity",
                        f"{fmt}: {t.name} is none of the files this format reads ("
                        + "; ".join(f"{k}: {', '.join(c)}" for k, c in wanted.items())
                        + "): take it out of the mapping's files, or name the right file",
                    )
                )
            continue
        if kinds[0] in found:
            problems.append(
                Problem(None, None, "file_identity", f"{fmt}: {found[kinds[0]].name} and {t.name} are both {kinds[0]}")
            )
        found[kinds[0]] = t
    for kind, cols in wanted.items():
        if kind in found:
            continue
        near = max(tables, key=lambda t: len(set(cols) & set(t.header)), default=None)
        missing = [c for c in cols if near is None or c not in near.header]
        where = f"; {near.name} looks closest but has no column {', '.join(missing)}" if near else ""
        problems.append(
            Problem(
                1 if near else None,
                missing[0] if near else None,
                "missing_column",
                f"{fmt}: no delivered file is the SSDA903 {kind} file (columns {', '.join(cols)}){where}",
            )
        )
    return found, problems


def rows_of(tables: Mapping[str, Table]) -> Iterator[tuple[str, int, dict[str, str]]]:
    for kind, t in tables.items():
        for line, row in t.rows:
            yield kind, line, row
