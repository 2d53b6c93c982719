"""Ingest a run's quarters: every extract of the scorecard, all or nothing per file, one GX validation per extract."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from metrics import warehouse
from metrics.contracts import EXTRACTS, Extract
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.progress import Progress, _quiet
from metrics.core.provenance import is_marked
from metrics.core.registry import Scorecard, default_scorecard
from metrics.core.results import MISSING, LoadOutcome, Problem
from metrics.ingest.load import Staged, finish_delivery, stage_delivery
from metrics.ingest.mapping import default_resolve
from metrics.ingest.readers import Resolve

if TYPE_CHECKING:
    from metrics.validate.gx import Validator


def extracts_of(card: Scorecard) -> tuple[Extract, ...]:
    """The contracts of a scorecard's extracts, in its declared order."""
    return tuple(EXTRACTS[name] for name in card.extracts)


# Quarters of history a run loads when delivered, the target's included: three years, so a monthly
# series has 36 points, enough for Making Data Count's limits (12) and the rules to have run lengths.
HISTORY_QUARTERS = 12


def periods_to_load(
    target: Period, raw_dir: Path, extracts: Sequence[Extract] | None = None, resolve: Resolve = default_resolve
) -> list[Period]:
    """The target's financial year to date and rolling year, plus any earlier quarters in which
    one of these extracts was delivered (up to three years in all, for the trend and SPC), oldest first."""
    extracts = extracts if extracts is not None else extracts_of(default_scorecard())
    wanted = set(target.year_to_date())
    p = target
    for _ in range(HISTORY_QUARTERS - 1):
        p = p.previous()
        if any(any(f.exists() for f in resolve(raw_dir / p.label, e).files) for e in extracts):
            wanted.add(p)
    return sorted(wanted)


# A staged quarter keeps its rows in memory twice (the text and the typed TEMP table) until it is
# committed. GX's cost is per validation, not per row, so batching saves seconds on the demo's small
# files and next to nothing on a national file of millions of rows: staging stops once this many rows
# are held (that batch is validated and committed, then the next begins). Measured nationally (two
# quarters of 4.4 million spells staged together), the process tree's peak rose from 3.2 to 4.1 GiB.
STAGED_ROWS_LIMIT = 1_000_000


def ingest_periods(
    paths: RunPaths,
    periods: Sequence[Period],
    run_id: str,
    docs_dir: Path,
    extracts: Sequence[Extract] | None = None,
    progress: Progress = _quiet,
    resolve: Resolve = default_resolve,
) -> list[LoadOutcome]:
    """Load every extract (default: the default scorecard's) for each period, oldest first.

    One GX validation per extract per run, not per file (issue #16: GX costs about 21-30 ms of its
    own Python per expectation per validation, whatever the rows, so validating 12 quarters file by
    file paid about 2.2 s of CPU per quarter). Each extract's quarters are staged first (every check
    but GX, nothing written); those every other check found clean are validated by GX as one batch;
    then each file is committed or rejected in period order. A file with any problem, one that may be
    a copy of an earlier quarter of this run (only known once that is committed), and every file of a
    batch that failed are validated by GX on their own, exactly as before, so every problem is still
    reported with its own file, line and column. Extracts are taken one at a time, and an extract's
    quarters are staged only up to ``STAGED_ROWS_LIMIT`` rows before that batch is committed; outcomes
    are in period order as before, progress lines are said as each file is committed.
    """
    from metrics.validate.datadocs import make_safe

    extracts = extracts if extracts is not None else extracts_of(default_scorecard())

    # GX (importing it, building its context: seconds of Python) is set up only when a file actually
    # needs validating. A re-run whose files are all unchanged (their hashes match accepted loads)
    # validates nothing, so it pays nothing for GX; the first changed file pays once for the run.
    validators: list[Validator] = []

    def validator() -> Validator:
        if not validators:
            from metrics.validate.gx import Validator

            validators.append(Validator(docs_dir))
        return validators[0]

    def validate(extract: Extract, period: Period, frame: pd.DataFrame) -> list[Problem]:
        return validator().validate(extract, period, frame)

    outcomes: dict[tuple[Period, str], LoadOutcome] = {}

    def finish(extract: Extract, staged: list[Staged]) -> None:
        """Validate the staged quarters as one batch, then commit or reject each, in period order."""
        try:
            _validate_batch(con, extract, staged, validator)
            for s in staged:
                outcome = finish_delivery(con, s, validate)
                # Recorded at load, from the delivery's own folder: the run's outputs say "synthetic".
                # A delivery of several files is synthetic when any of them is (a demo file among real ones).
                outcome.synthetic = outcome.status != MISSING and any(is_marked(f) for f in s.delivery.files)
                outcomes[(s.period, extract.name)] = outcome
                # Said as each file is committed (grouped by extract, the order work is done in),
                # so a long national ingest shows its progress instead of every line at the end.
                progress(f"{s.period.label} {extract.name}: {outcome.status}")
        finally:
            for s in staged:
                s.drop(con)
            staged.clear()

    con = warehouse.connect(paths.warehouse, reference=False)  # loading reads no reference table or calendar
    try:
        for extract in extracts:
            staged: list[Staged] = []
            try:
                for period in periods:
                    staged.append(stage_delivery(con, resolve(paths.raw_dir / period.label, extract), period, run_id))
                    if sum(s.rows for s in staged) >= STAGED_ROWS_LIMIT:
                        finish(extract, staged)
                finish(extract, staged)
            finally:
                for s in staged:
                    s.drop(con)
    finally:
        con.close()
    ordered = [outcomes[(period, extract.name)] for period in periods for extract in extracts]
    # Data Docs are built once every file is in, only when something was validated; either way the
    # folder's pages (earlier runs' included) are made safe to open (no scripts, no CDN) and indexed.
    if validators:
        validators[0].finish()
    else:
        make_safe(docs_dir)
    return ordered


def _validate_batch(
    con: duckdb.DuckDBPyConnection, extract: Extract, staged: Sequence[Staged], validator: Callable[[], Validator]
) -> None:
    """Validate the extract's clean staged quarters as one GX batch; when it passes, each of them has
    passed GX (``Staged.gx = []``), otherwise they are left to be validated one by one at commit.

    Left out: a file whose bytes are those of an earlier quarter of this run (at commit it is refused
    as delivered for another period if that quarter was accepted, and never validated, as before).
    A single candidate is validated on its own (its Data Docs page as before; no saving to make)."""
    from metrics.validate.gx import batchable

    earlier: set[str | None] = set()
    candidates = []
    for s in staged:
        if s.clean and not (extract.dated and s.digest in earlier):
            candidates.append(s)
        if s.outcome is None and not s.problems:
            earlier.add(s.digest)
    if len(candidates) < 2 or not batchable(extract, candidates[0].period):
        return
    if validator().validate_batch(extract, [(s.period, s.frame(con)) for s in candidates]):
        for s in candidates:
            s.gx = []
