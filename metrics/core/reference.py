"""Shipped reference data read by several stages: England benchmarks, area names and bank holidays."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from metrics.core.paths import REFERENCE


@dataclass(frozen=True)
class Benchmark:
    value: float
    year: str  # financial year ending 31 March, e.g. 2023-24
    source: str
    status: str  # CONFIRMED, COMPUTED, SECONDARY or UNCONFIRMED (see reference/SOURCES.md)
    # The metric parameters the England figure's definition fixes (``start_point=assessment_start``):
    # a local figure computed with other values is not comparable with it.
    definition: tuple[tuple[str, str], ...] = ()


@cache
def england_benchmarks() -> dict[str, Benchmark]:
    """England values by metric id from ``metrics/reference/england_benchmarks.csv``."""
    with open(REFERENCE / "england_benchmarks.csv", newline="", encoding="utf-8") as fh:
        return {
            r["metric_id"]: Benchmark(
                float(r["value"]), r["year"], r["source"], r["status"], _definition(r.get("definition") or "")
            )
            for r in csv.DictReader(fh)
        }


def _definition(text: str) -> tuple[tuple[str, str], ...]:
    """``name=value;name=value`` from the benchmark file's ``definition`` column."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"england_benchmarks.csv: definition {text!r} is not name=value;name=value")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def comparable_benchmark(metric_id: str, parameters: Mapping[str, Any]) -> tuple[Benchmark | None, str]:
    """The England benchmark of a metric, if its definition matches the metric's declared parameters,
    else None and why not (shown where the benchmark would be: a figure counted another way is not
    set beside it)."""
    bench = england_benchmarks().get(metric_id)
    if bench is None:
        return None, ""
    for name, value in bench.definition:
        mine = parameters.get(name)
        if str(mine) != value:
            return None, (
                f"England benchmark not comparable: different {name.replace('_', ' ')} "
                f"(England {value}, this measure {mine})"
            )
    return bench, ""


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
    """Every code in ``hwb_codes.csv``, current and retired (read afresh: an edited list applies at once)."""
    with open(REFERENCE / "hwb_codes.csv", newline="", encoding="utf-8") as fh:
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
    import holidays  # here, not at import: reading area names or benchmarks needs no calendar

    # holidays ships no type hints for its country classes.
    days = holidays.UK(subdiv="ENG", years=range(first_year, last_year + 1))  # type: ignore[no-untyped-call]
    return sorted((day, str(name)) for day, name in days.items() if day.isoweekday() <= 5)
