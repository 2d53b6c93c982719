"""Where things are: the shipped reference data and declarations, and a run's folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from metrics.core.periods import Period

PACKAGE = Path(__file__).resolve().parents[1]
REFERENCE = PACKAGE / "reference"
DEFINITIONS = PACKAGE / "definitions"


@dataclass(frozen=True)
class RunPaths:
    raw_dir: Path
    warehouse: Path
    reports_dir: Path

    def period_reports(self, period: Period, card: str = "bcf") -> Path:
        """``reports/<period>`` for BCF (the main job); other scorecards in a subfolder of it."""
        base = self.reports_dir / period.label
        return base if card == "bcf" else base / card

    def data_docs(self, period: Period, card: str = "bcf") -> Path:
        """GX Data Docs show failing values, which can be record-level: they stay beside the
        warehouse (restricted), not in the published reports folder."""
        base = self.warehouse.parent / "data_docs" / period.label
        return base if card == "bcf" else base / card
