"""Check a delivery against its contracts without loading it (``scorecard validate``).

The same checks as ingest, by the same code (``metrics.ingest.load.load_extract``: file checks,
DuckDB parse, strict casts, SQL row rules and GX), run against a throwaway warehouse (in memory, or
a copy of the real one when it is given, so "the same file was accepted for another quarter" is
caught too) with GX Data Docs in a temporary folder. Nothing is written outside that folder, which
is removed afterwards; the real warehouse is never opened.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb

from metrics import warehouse
from metrics.contracts import Extract
from metrics.core.periods import Period
from metrics.core.progress import Progress, _quiet
from metrics.core.results import LoadOutcome
from metrics.ingest.load import load_delivery
from metrics.ingest.mapping import default_resolve
from metrics.ingest.readers import Resolve

RUN_ID = "validate-only"


def check_delivery(
    raw_dir: Path,
    period: Period,
    extracts: Sequence[Extract],
    compare_with: Path | None = None,
    progress: Progress | None = None,
    resolve: Resolve = default_resolve,
) -> list[LoadOutcome]:
    """The outcome each of ``extracts`` would have if ``raw_dir/<period>`` were loaded now."""
    from metrics.validate.gx import Validator

    say = progress or _quiet
    with tempfile.TemporaryDirectory(prefix="scorecard-validate-") as tmp:
        scratch = Path(tmp)
        if compare_with is not None and compare_with.is_file():
            copy = scratch / "warehouse.duckdb"
            shutil.copyfile(compare_with, copy)
            wal = Path(f"{compare_with}.wal")
            if wal.is_file():
                shutil.copyfile(wal, Path(f"{copy}.wal"))
            con = warehouse.connect(copy)
        else:
            con = duckdb.connect(":memory:")
            warehouse.initialise(con)
        try:
            validator = Validator(scratch / "data_docs")
            outcomes = []
            for extract in extracts:
                delivery = resolve(raw_dir / period.label, extract)
                outcome = load_delivery(con, delivery, period, RUN_ID, validator.validate, force=True)
                outcomes.append(outcome)
                say(f"{period.label} {extract.name}: {outcome.status}")
        finally:
            con.close()
    return outcomes
