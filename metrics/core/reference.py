"""Shipped reference data read by several stages: England benchmarks and area names."""

from __future__ import annotations

import csv
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
