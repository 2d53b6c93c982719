"""Ingest a run's quarters: every extract of the scorecard, one file at a time, all or nothing per file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from metrics import warehouse
from metrics.contracts import EXTRACTS, Extract
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.progress import Progress, _quiet
from metrics.core.provenance import is_marked
from metrics.core.registry import Scorecard, default_scorecard
from metrics.core.results import MISSING, LoadOutcome, Problem
from metrics.ingest.load import load_delivery
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


def ingest_periods(
    paths: RunPaths,
    periods: Sequence[Period],
    run_id: str,
    docs_dir: Path,
    extracts: Sequence[Extract] | None = None,
    progress: Progress = _quiet,
    resolve: Resolve = default_resolve,
) -> list[LoadOutcome]:
    """Load every extract (default: the default scorecard's) for each period, oldest first."""
    from metrics.validate.datadocs import make_safe

    extracts = extracts if extracts is not None else extracts_of(default_scorecard())

    # GX (importing it, building its context: seconds of Python) is set up only when a file actually
    # needs validating. A re-run whose files are all unchanged (their hashes match accepted loads)
    # validates nothing, so it pays nothing for GX; the first changed file pays once for the run.
    validators: list[Validator] = []

    def validate(extract: Extract, period: Period, frame: pd.DataFrame) -> list[Problem]:
        if not validators:
            from metrics.validate.gx import Validator

            validators.append(Validator(docs_dir))
        return validators[0].validate(extract, period, frame)

    outcomes = []
    con = warehouse.connect(paths.warehouse, reference=False)  # loading reads no reference table or calendar
    try:
        for period in periods:
            for extract in extracts:
                delivery = resolve(paths.raw_dir / period.label, extract)
                outcome = load_delivery(con, delivery, period, run_id, validate)
                # Recorded at load, from the delivery's own folder: the run's outputs say "synthetic".
                # A delivery of several files is synthetic when any of them is (a demo file among real ones).
                outcome.synthetic = outcome.status != MISSING and any(is_marked(f) for f in delivery.files)
                outcomes.append(outcome)
                progress(f"{period.label} {extract.name}: {outcome.status}")
    finally:
        con.close()
    # Data Docs are built once every file is in, only when something was validated; either way the
    # folder's pages (earlier runs' included) are made safe to open (no scripts, no CDN) and indexed.
    if validators:
        validators[0].finish()
    else:
        make_safe(docs_dir)
    return outcomes
