"""Checks of a run's arguments that need neither Prefect nor GX, and the errors they raise.

The CLI runs them before importing Prefect, so a mistyped period, area code or folder is reported in
a second or two; the flow runs the same checks (a deployment run has no CLI in front of it), and the
error's type carries the exit code (``metrics.core.errors``).
"""

from __future__ import annotations

import csv
import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from metrics.core.errors import DataRejected, EnvironmentProblem, UsageError
from metrics.core.periods import Period, financial_year


class BadPeriod(UsageError):
    """The period is not a financial-year quarter label."""


class BadYear(UsageError):
    """The financial year is not a ``YYYY-YY`` label."""


class UnknownArea(UsageError):
    """An area code is not an HWB code, or not in the period's population extract."""


class NoExtractsFolder(UsageError):
    """The raw folder, or its ``<period>`` folder, does not exist."""


class ExtractsRejected(DataRejected):
    """Raised after all outputs are written when any extract failed validation."""


class WarehouseUnusable(EnvironmentProblem):
    """The warehouse path is not a DuckDB file the run can open and write."""


class BadReportsUrl(EnvironmentProblem):
    """``SCORECARD_REPORTS_URL`` is set but is not an http(s) URL of a folder."""


REPORTS_URL_ENV = "SCORECARD_REPORTS_URL"


def reports_url(value: str | None = None) -> str | None:
    """Where the reports folder is served over HTTP(S) (``SCORECARD_REPORTS_URL``), ending in ``/``, or
    None when unset. The Prefect artifacts link to outputs under it; ``file://``, ``javascript:`` or a
    bare path is refused with the fix, since a browser would not open it from the Prefect UI."""
    url = (os.environ.get(REPORTS_URL_ENV, "") if value is None else value).strip()
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise BadReportsUrl(
            f"{REPORTS_URL_ENV}={url!r} is not an http(s) URL of a folder\n"
            "fix: set it to the URL the reports folder is served at, e.g. https://intranet.example/scorecard/reports/, "
            "or unset it to list the outputs as paths only"
        )
    return url.rstrip("/") + "/"


def parse_period(label: str) -> Period:
    try:
        return Period.parse(label)
    except ValueError as exc:
        raise BadPeriod(f"{exc}\nfix: give --period as a quarter label such as 2023-24-Q2") from None


def parse_year(label: str) -> str:
    try:
        return financial_year(label)
    except ValueError as exc:
        raise BadYear(f"{exc}\nfix: give --year as a financial year such as 2025-26") from None


def latest_period(raw_dir: Path, *markers: str) -> str:
    """The latest ``<period>`` folder under ``raw_dir``; with ``markers`` (file names, e.g. the
    scorecard's population extract as a CSV or a workbook), the latest holding one of them, so one
    scorecard's later quarters (the BCF demo's 2025-26) are not another's default."""
    found = []
    for d in raw_dir.iterdir() if raw_dir.is_dir() else []:
        try:
            period = Period.parse(d.name)
        except ValueError:
            continue
        if not markers or any((d / m).is_file() for m in markers) or not any(d.iterdir()):
            found.append(period)
    if not found:
        raise NoExtractsFolder(
            f"no period folders (e.g. 2023-24-Q2) under {raw_dir}\n"
            "fix: give --raw-dir the folder holding <period>/<extract>.csv, or --period"
        )
    return max(found).label


def check_period_folder(raw_dir: Path, period: Period) -> Path:
    folder = raw_dir / period.label
    if not folder.is_dir():
        hint = (
            f"{raw_dir} does not exist: give --raw-dir the folder holding <period>/<extract>.csv"
            if not raw_dir.is_dir()
            else f"put the {period.label} extracts in {folder}, or give another --period or --raw-dir"
        )
        raise NoExtractsFolder(f"no extracts for {period.label}: {folder} does not exist\nfix: {hint}")
    return folder


def hwb_codes() -> set[str]:
    from metrics.core.reference import hwb_names

    return set(hwb_names())


def delivered_areas(population_file: Path) -> list[str] | None:
    """Area codes in a delivered population file (its ``code`` column), each as the current code the
    area is reported under (a retired code such as Barnsley's E08000016 is E08000038), or None when
    the file is absent or unreadable (ingest then reports it properly)."""
    from metrics.core.reference import current_hwb_code

    try:
        with open(population_file, newline="", encoding="utf-8-sig") as fh:
            return sorted({current_hwb_code(r["code"]) for r in csv.DictReader(fh) if r.get("code")})
    except (OSError, UnicodeDecodeError, KeyError, csv.Error):
        return None


def check_areas(requested: Sequence[str], population_file: Path | None = None) -> None:
    """Every requested code is an HWB code (current or retired: a retired code means its area) and,
    when the population file can be read, in it under either code."""
    known = hwb_codes()
    unknown = [c for c in requested if c not in known]
    if unknown:
        raise UnknownArea(
            f"{', '.join(unknown)}: not an HWB / local authority code in metrics/reference/hwb_codes.csv\n"
            "fix: give --hwb an ONS code such as E06000061, or leave it out for every area"
        )
    available = delivered_areas(population_file) if population_file else None
    if available is not None:
        from metrics.core.reference import current_hwb_code

        missing = [c for c in requested if current_hwb_code(c) not in available]
        if missing:
            raise UnknownArea(
                f"{', '.join(missing)}: not in {population_file} (it has {', '.join(available) or 'no areas'})\n"
                "fix: give --hwb one of those codes, or leave it out for every area"
            )


def check_warehouse(path: Path) -> None:
    """The warehouse is absent (it will be created), or a DuckDB file in a folder that can be written:
    the warehouse's own check (``metrics.warehouse.check_place``), run before Prefect starts."""
    from metrics import warehouse

    warehouse.check_place(path)


def check_reference_data() -> None:
    """The reference declarations, and any replacement named by $SCORECARD_REFERENCE_OVERRIDES, read
    strictly before Prefect starts: a bad file is a plain error naming file, row and column."""
    from metrics.core.reference import READERS, declarations

    refs = declarations()
    for name, read in READERS.items():
        read(refs[name])
