"""Where things are: the shipped reference data and declarations, and a run's folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from metrics.core.periods import Period

if TYPE_CHECKING:
    from metrics.core.registry import Scorecard

PACKAGE = Path(__file__).resolve().parents[1]
REFERENCE = PACKAGE / "reference"
DEFINITIONS = PACKAGE / "definitions"


@dataclass(frozen=True)
class RunPaths:
    raw_dir: Path
    warehouse: Path
    reports_dir: Path

    def period_reports(self, period: Period, card: Scorecard | None = None) -> Path:
        """``reports/<period>/<report folder>``: the default scorecard's folder is "" (the period folder)."""
        folder = card.report_folder if card else ""
        return self.reports_dir / period.label / folder if folder else self.reports_dir / period.label

    def data_docs(self, period: Period, card: Scorecard | None = None) -> Path:
        """GX Data Docs show failing values, which can be record-level: they stay beside the
        warehouse (restricted), not in the published reports folder."""
        base = self.warehouse.parent / "data_docs" / period.label
        folder = card.report_folder if card else ""
        return base / folder if folder else base
