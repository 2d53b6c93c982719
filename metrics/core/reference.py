"""Shipped reference data read by several stages: England benchmarks, area names and bank holidays."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache

from metrics.core.paths import REFERENCE


@dataclass(frozen=True)
class Benchmark:
    value: float
    year: str  # financial year ending 31 March, e.g. 2023-24
    source: str
    status: str  # CONFIRMED, COMPUTED, SECONDARY or UNCONFIRMED (see reference/SOURCES.md)


@cache
def england_benchmarks() -> dict[str, Benchmark]:
    """England values by metric id from ``metrics/reference/england_benchmarks.csv``."""
    with open(REFERENCE / "england_benchmarks.csv", newline="", encoding="utf-8") as fh:
        return {
            r["metric_id"]: Benchmark(float(r["value"]), r["year"], r["source"], r["status"])
            for r in csv.DictReader(fh)
        }


def hwb_names() -> dict[str, str]:
    """Area name by ONS code, from ``hwb_codes.csv``."""
    names: dict[str, str] = {}
    with open(REFERENCE / "hwb_codes.csv", newline="", encoding="utf-8") as fh:
        names.update({r["code"]: r["name"] for r in csv.DictReader(fh)})
    return names


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
