"""DfE SSDA903 (children looked after) return files read into the looked-after and missing extracts.

Column names, code lists and the way the files are told apart are DfE's, as its published
validator has them (data-to-insight/csc-validator-be-903: ``lac_validator/config.py`` column names;
rules 143 reason for new episode, 144 legal status, 1001 ``DD/MM/YYYY`` dates). An SSDA903 episode
is a period under one legal status and placement (a change of either starts a new episode, RNE P/L/B),
so each episode row is one ``cs_cla_episodes`` row with its own LS: a child on a short-term break
(V3, V4) at the quarter's end is left out of the headline count, as DfE does.

What the return does not carry comes from a declared option or is left out, never made up: the ONS
code of the authority (option ``la_code``); an episode's identifier (CHILD and DECOM, unique per
child in the return; CHILD, MIS_START and MIS_END for a missing episode); return home interviews
(not collected by the SSDA903: left empty, see docs/methods/deviations.md). The missing file
records looked-after children only (looked_after Y) and whole dates (times 00:00).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from metrics.contracts import CLA_EPISODES, MISSING_EPISODES, Extract
from metrics.contracts.safeguarding import SSDA903_LEGAL_STATUSES
from metrics.core.periods import Period
from metrics.core.results import Problem
from metrics.ingest.formats import dfe
from metrics.ingest.readers import Conversion, register_by_period

HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODE_COLUMNS = (
    "CHILD",
    "DECOM",
    "RNE",
    "LS",
    "CIN",
    "PLACE",
    "PLACE_PROVIDER",
    "DEC",
    "REC",
    "REASON_PLACE_CHANGE",
    "HOME_POST",
    "PL_POST",
    "URN",
)
MISSING_COLUMNS = ("CHILD", "DOB", "MISSING", "MIS_START", "MIS_END")
# The columns each file must have to be read (the rest of DfE's columns are allowed and not needed).
NEEDED = {
    "header": ("CHILD", "SEX", "DOB"),
    "episodes": ("CHILD", "DECOM", "RNE", "LS", "DEC"),
    "missing": ("CHILD", "MISSING", "MIS_START", "MIS_END"),
}
# Reason for new episode (validator rule 143): S started to be looked after, L change of legal status only,
# P change of placement only, T/U change of both (B before 2014 returns).
REASONS_NEW_EPISODE = ("S", "P", "L", "T", "U", "B")
# MISSING: M missing from placement, A away from placement without authorisation (DfE guidance).
MISSING_KINDS = ("M", "A")
LA_OPTION = "la_code (mapping option)"

EPISODE_OPTIONS = {"la_code": "ONS code of the authority making the return"}
MISSING_OPTIONS = {
    "la_code": "ONS code of the authority making the return",
    "include_away": "true to count A (away without authorisation) episodes as well as M (missing); default false",
}


def _writer(extract: Extract, out: TextIO) -> Any:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(extract.column_names)
    return w


def _wrong_extract(fmt: str, extract: Extract, wanted: Extract) -> Conversion | None:
    if extract.name == wanted.name:
        return None
    return Conversion(
        [Problem(None, None, "mapping_format", f"format {fmt} reads {wanted.name}, not {extract.name}")], halted=True
    )


def _tables(files: Sequence[Path], names: Sequence[str]) -> tuple[list[dfe.Table], list[Problem]]:
    tables, problems = [], []
    for path, name in zip(files, names, strict=True):
        got = dfe.read_csv(path, name)
        if isinstance(got, Problem):
            problems.append(got)
        else:
            tables.append(got)
    return tables, problems


def _date(
    row: Mapping[str, str], col: str, line: int, file: str, problems: list[Problem], required: bool
) -> tuple[bool, dt.date | None]:
    """``(ok, date)`` of a DD/MM/YYYY cell; a blank optional cell is ``(True, None)``."""
    raw = row.get(col, "")
    if not raw:
        if required:
            problems.append(Problem(line, col, "required", f"{file}: {col} is empty; it is required (DD/MM/YYYY)"))
            return False, None
        return True, None
    got = dfe.dmy(raw)
    if got is None:
        problems.append(
            Problem(line, col, "date_format", f"{file}: {col} is not a date written DD/MM/YYYY, as SSDA903 dates are")
        )
        return False, None
    return True, got


def _code(
    row: Mapping[str, str], col: str, codes: Sequence[str], line: int, file: str, problems: list[Problem]
) -> bool:
    if row.get(col, "") in codes:
        return True
    problems.append(
        Problem(
            line,
            col,
            "code",
            f"{file}: {col} is not one of the SSDA903 codes {', '.join(codes)}"
            + (" (it is empty)" if not row.get(col) else ""),
        )
    )
    return False


def read_episodes(
    extract: Extract,
    files: Sequence[Path],
    names: Sequence[str],
    options: Mapping[str, Any],
    out: TextIO,
    period: Period,
) -> Conversion:
    """The SSDA903 header and episodes files into ``cs_cla_episodes``: the episodes open in the quarter."""
    fmt = "ssda903_episodes"
    if (wrong := _wrong_extract(fmt, extract, CLA_EPISODES)) is not None:
        return wrong
    problems = dfe.options_problem(fmt, options, EPISODE_OPTIONS)
    tables, read = _tables(files, names)
    found, unknown = dfe.identify(tables, {k: NEEDED[k] for k in ("header", "episodes")}, fmt)
    problems += read + unknown
    if problems:
        return Conversion(problems, halted=True)
    header, episodes = found["header"], found["episodes"]
    children = {r["CHILD"] for _, r in header.rows}
    w = _writer(extract, out)
    lines: list[int] = []
    for line, row in episodes.rows:
        child = row["CHILD"]
        if child not in children:
            problems.append(
                Problem(
                    line, "CHILD", "ssda903_child", f"{episodes.name}: CHILD is not in the header file {header.name}"
                )
            )
        ok_start, start = _date(row, "DECOM", line, episodes.name, problems, required=True)
        ok_end, end = _date(row, "DEC", line, episodes.name, problems, required=False)
        ok_ls = _code(row, "LS", SSDA903_LEGAL_STATUSES, line, episodes.name, problems)
        ok_rne = _code(row, "RNE", REASONS_NEW_EPISODE, line, episodes.name, problems)
        if not (ok_start and ok_end and ok_ls and ok_rne) or start is None or not dfe.open_in(start, end, period):
            continue
        w.writerow(
            [
                f"{child}-{start:%Y%m%d}",
                child,
                dfe.text(start),
                dfe.text(dfe.as_at(end, period)),
                row["LS"],
                options["la_code"],
            ]
        )
        lines.append(line)
    columns = {
        "episode_id": "CHILD, DECOM",
        "child_id": "CHILD",
        "start_date": "DECOM",
        "end_date": "DEC",
        "legal_status": "LS",
        "la_code": LA_OPTION,
    }
    return Conversion(problems, lines, columns)


def read_missing(
    extract: Extract,
    files: Sequence[Path],
    names: Sequence[str],
    options: Mapping[str, Any],
    out: TextIO,
    period: Period,
) -> Conversion:
    """The SSDA903 missing file into ``cs_missing_episodes``: the episodes that ended in the quarter."""
    fmt = "ssda903_missing"
    if (wrong := _wrong_extract(fmt, extract, MISSING_EPISODES)) is not None:
        return wrong
    problems = dfe.options_problem(fmt, options, MISSING_OPTIONS)
    away = options.get("include_away", False)
    if not isinstance(away, bool):
        problems.append(Problem(None, None, "mapping_option", f"format {fmt}: include_away must be true or false"))
    tables, read = _tables(files, names)
    found, unknown = dfe.identify(tables, {"missing": NEEDED["missing"]}, fmt)
    problems += read + unknown
    if problems:
        return Conversion(problems, halted=True)
    missing = found["missing"]
    kinds = ("M", "A") if away else ("M",)
    w = _writer(extract, out)
    lines: list[int] = []
    for line, row in missing.rows:
        ok_kind = _code(row, "MISSING", MISSING_KINDS, line, missing.name, problems)
        ok_start, start = _date(row, "MIS_START", line, missing.name, problems, required=True)
        ok_end, end = _date(row, "MIS_END", line, missing.name, problems, required=False)
        if not (ok_kind and ok_start and ok_end) or row["MISSING"] not in kinds or start is None or end is None:
            continue  # still missing (no MIS_END): not returned, so not in any quarter yet
        if not period.start <= end <= period.end:
            continue
        w.writerow(
            [
                f"{row['CHILD']}-{start:%Y%m%d}-{end:%Y%m%d}",
                row["CHILD"],
                "Y",  # the SSDA903 is the return of looked-after children
                f"{start.isoformat()} 00:00",
                f"{end.isoformat()} 00:00",
                "",
                "",
                options["la_code"],
            ]
        )
        lines.append(line)
    columns = {
        "missing_id": "CHILD, MIS_START, MIS_END",
        "child_id": "CHILD",
        "missing_from": "MIS_START",
        "returned_at": "MIS_END",
        "la_code": LA_OPTION,
    }
    return Conversion(problems, lines, columns)


def check_episode_options(extract: Extract, options: Mapping[str, Any]) -> list[str]:
    """The options of ``ssda903_episodes`` as a mapping loader checks them before anything loads."""
    wrong = _wrong_extract("ssda903_episodes", extract, CLA_EPISODES)
    found = (wrong.problems if wrong else []) + dfe.options_problem("ssda903_episodes", options, EPISODE_OPTIONS)
    return [p.reason for p in found]


def check_missing_options(extract: Extract, options: Mapping[str, Any]) -> list[str]:
    """The options of ``ssda903_missing`` as a mapping loader checks them before anything loads."""
    wrong = _wrong_extract("ssda903_missing", extract, MISSING_EPISODES)
    found = (wrong.problems if wrong else []) + dfe.options_problem("ssda903_missing", options, MISSING_OPTIONS)
    away = options.get("include_away", False)
    return [p.reason for p in found] + ([] if isinstance(away, bool) else ["include_away must be true or false"])


register_by_period("ssda903_episodes", check_episode_options)(read_episodes)
register_by_period("ssda903_missing", check_missing_options)(read_missing)
