"""Whether a metric can be computed from a run's loads, and what each load it read says about the data."""

from __future__ import annotations

from collections.abc import Sequence

from metrics.compute.metric import window
from metrics.contracts import EXTRACTS
from metrics.core.periods import Period
from metrics.core.registry import Metric, MetricWindow
from metrics.core.results import MISSING, REJECTED, LoadOutcome


def window_periods(metric: Metric, period: Period, kind: MetricWindow | None = None) -> list[Period]:
    """The quarters a window covers (all windows of the metric when ``kind`` is None)."""
    kinds = [kind] if kind else list(metric.windows)
    start = min(window(metric, period, k)[0] for k in kinds)
    return sorted({p for p in period.rolling_year() + period.year_to_date() if p.end >= start})


def loads_read_by(
    metric: Metric, period: Period, loads: Sequence[LoadOutcome], kind: MetricWindow | None = None
) -> list[LoadOutcome]:
    """The loads a metric reads for a period: its record sources over the window's quarters;
    populations (no dated records) only the period's own delivery."""
    in_window = {p.label for p in window_periods(metric, period, kind)}
    return [
        o
        for o in loads
        if o.extract in metric.sources and o.period in (in_window if EXTRACTS[o.extract].dated else {period.label})
    ]


def blocked_reason(
    metric: Metric, period: Period, loads: Sequence[LoadOutcome], kind: MetricWindow | None = None
) -> str | None:
    """Why a metric (in one window) cannot be computed for a period from this run's loads, or None.

    A quarter of the window with no delivery at all blocks it too: a year-to-date or rolling-year
    figure from part of its quarters would be silently low.
    """
    read = loads_read_by(metric, period, loads, kind)
    for o in read:
        if o.status in (REJECTED, MISSING):
            what = "was rejected" if o.status == REJECTED else "was not delivered"
            return f"{o.extract} for {o.period} {what}"
    seen = {(o.extract, o.period) for o in read}
    for source in metric.sources:
        wanted = window_periods(metric, period, kind) if EXTRACTS[source].dated else [period]
        for p in wanted:
            if (source, p.label) not in seen:
                return f"{source} for {p.label} was not delivered"
    return None


def data_quality_notes(metric: Metric, target: Period, loads: Sequence[LoadOutcome]) -> list[str]:
    """What happened to each extract the metric read, in words for the board paper."""
    notes = []
    for o in loads_read_by(metric, target, loads):
        if o.status == REJECTED:
            notes.append(
                f"{o.extract} {o.period}: rejected, {len(o.problems)} problem(s) on {o.rejected_rows} "
                "line(s); see the rejects table"
            )
        elif o.status == MISSING:
            notes.append(f"{o.extract} {o.period}: not delivered")
        else:
            notes.append(f"{o.extract} {o.period}: {o.rows:,} rows accepted, none rejected")
    return notes


def run_notice(target: Period, loads: Sequence[LoadOutcome]) -> str:
    """What a reader must be told before any figure when the run did not get all it needed: extracts
    rejected (the run fails, exit 1, but still writes the unaffected metrics), or extracts of the
    reporting quarter not delivered. "" for a complete run. Names files and counts, never values."""
    rejected = [o for o in loads if o.status == REJECTED]
    missing = [o for o in loads if o.status == MISSING and o.period == target.label]
    parts = []
    if rejected:
        which = "; ".join(
            f"{o.extract} {o.period} ({len(o.problems)} problem(s) on {o.rejected_rows} line(s))" for o in rejected
        )
        parts.append(
            f"This run failed: {len(rejected)} of {len(loads)} extract files were rejected: {which}. "
            "Metrics that read them show 'Data not available to assess progress'; the other figures are "
            "complete. See the rejects table and the run manifest."
        )
    if missing:
        parts.append(
            f"Not delivered for {target.short_label}: {', '.join(o.extract for o in missing)}; metrics that "
            "need them show 'Data not available to assess progress'."
        )
    return " ".join(parts)
