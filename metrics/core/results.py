"""The records every stage passes on: a load's outcome, a rejected value's place, a metric's result.

They live below every stage so that compute and publish can read an ingest outcome without
importing ingest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MetricResult:
    """One metric for one HWB and period: the row every output is drawn from."""

    metric_id: str
    hwb_code: str
    period: str
    window_start: dt.date
    window_end: dt.date
    numerator: float | None
    denominator: float | None
    value: float | None
    lower: float | None
    upper: float | None
    method: str
    note: str
    plan: float | None
    assessed_value: float | None
    projection: float | None
    status: str
    status_reason: str
    # "" for the metric's headline window; else the further view (e.g. rolling_12_months).
    view: str = ""
    # Not small itself, but withheld so a total cannot give back a suppressed category
    # (``metrics.compute.suppression.mark_secondary``).
    secondary_suppressed: bool = False
    # Comparisons (metrics.compute.comparisons): the interval level they use (95 or 99.8), England's
    # and the region's value, the verdict (better / similar / worse, higher / lower, not compared)
    # and where the value came from (this run's pooled records, or a comparator file).
    comparison_level: float | None = None
    england_value: float | None = None
    england_comparison: str = ""
    england_source: str = ""
    region: str = ""
    region_value: float | None = None
    region_comparison: str = ""
    region_source: str = ""
    # Rank among the area's peers (1 = best), how many were ranked (the area and its peers in the
    # run with a publishable figure) and the peers' range; peer_source names the peer-group file.
    peer_rank: int | None = None
    peer_count: int | None = None
    peer_min: float | None = None
    peer_max: float | None = None
    peer_source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def headline(results: Iterable[MetricResult]) -> list[MetricResult]:
    """The results charts, returns and status are drawn from (further views left out)."""
    return [r for r in results if not r.view]


ACCEPTED, REJECTED, MISSING, UNCHANGED = "accepted", "rejected", "missing", "unchanged"


@dataclass
class LoadOutcome:
    extract: str
    period: str
    file_path: str
    status: str
    sha256: str | None = None
    rows: int = 0
    rejected_rows: int = 0
    message: str = ""
    problems: list[Problem] = field(default_factory=list)
    # The folder's SYNTHETIC_DATA.json names this file (metrics.core.provenance): demo data, not real.
    synthetic: bool = False

    @property
    def usable(self) -> bool:
        return self.status in (ACCEPTED, UNCHANGED)

    def summary(self, limit: int = 10) -> str:
        """Human-readable; names file, line and column but never a value (values may identify people)."""
        if self.status != REJECTED:
            return f"{self.file_path}: {self.status} ({self.rows} rows)"
        head = [f"{self.file_path}: REJECTED - {self.message}"]
        for p in self.problems[:limit]:
            where = p.where
            col = f", column {p.column}" if p.column else ""
            head.append(f"  {where}{col}: {p.reason} [{p.rule}]")
        if len(self.problems) > limit:
            head.append(f"  ... and {len(self.problems) - limit} more (see the rejects table)")
        return "\n".join(head)


@dataclass(frozen=True)
class Problem:
    """One rejected value: CSV line (1 = header), column, rule id and a readable reason.

    ``unit`` names what ``line`` counts where the user looks it up: a text file's "line", a
    workbook's "row" (as Excel numbers it)."""

    line: int | None
    column: str | None
    rule: str
    reason: str
    unit: str = "line"

    @property
    def where(self) -> str:
        return f"{self.unit} {self.line}" if self.line is not None else "file"
