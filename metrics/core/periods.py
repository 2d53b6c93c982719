"""Financial-year quarters, the unit every extract and metric is reported in.

English health and care reporting runs April to March, so "2023-24-Q2" is
July to September 2023. Everything that needs a date window derives it from
here rather than re-deriving month arithmetic.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})-Q([1-4])$")
_YEAR_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """A financial-year quarter: ``fy_start`` is the calendar year the FY starts in."""

    fy_start: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``YYYY-YY-QN``; the two-digit end year must follow the start year."""
        m = _PERIOD_RE.match(text.strip())
        if not m:
            raise ValueError(
                f"period {text!r} is not of the form YYYY-YY-QN, e.g. 2023-24-Q2 "
                "(financial year, then quarter 1-4 counted from April)"
            )
        start, end, q = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if (start + 1) % 100 != end:
            raise ValueError(f"period {text!r}: financial year {start}-{end:02d} is not consecutive")
        return cls(start, q)

    @classmethod
    def containing(cls, day: dt.date) -> Period:
        fy = day.year if day.month >= 4 else day.year - 1
        q = ((day.month - 4) % 12) // 3 + 1
        return cls(fy, q)

    @property
    def label(self) -> str:
        return f"{self.fy_start}-{(self.fy_start + 1) % 100:02d}-Q{self.quarter}"

    @property
    def financial_year(self) -> str:
        return f"{self.fy_start}-{(self.fy_start + 1) % 100:02d}"

    @property
    def short_label(self) -> str:
        return f"{self.financial_year} Q{self.quarter}"

    @property
    def start(self) -> dt.date:
        month = 4 + 3 * (self.quarter - 1)
        year = self.fy_start + (month - 1) // 12
        return dt.date(year, (month - 1) % 12 + 1, 1)

    @property
    def end(self) -> dt.date:
        return self.next().start - dt.timedelta(days=1)

    @property
    def fy_first_day(self) -> dt.date:
        return dt.date(self.fy_start, 4, 1)

    def next(self) -> Period:
        return Period(self.fy_start + 1, 1) if self.quarter == 4 else Period(self.fy_start, self.quarter + 1)

    def previous(self) -> Period:
        return Period(self.fy_start - 1, 4) if self.quarter == 1 else Period(self.fy_start, self.quarter - 1)

    def year_to_date(self) -> list[Period]:
        """Quarters of this financial year up to and including this one."""
        return [Period(self.fy_start, q) for q in range(1, self.quarter + 1)]

    def rolling_year(self) -> list[Period]:
        """This quarter and the three before it, oldest first: the rolling 12 months to its end."""
        out = [self]
        for _ in range(3):
            out.append(out[-1].previous())
        return out[::-1]

    def __str__(self) -> str:
        return self.label


def financial_year(text: str) -> str:
    """Check a financial-year label ``YYYY-YY`` (e.g. ``2025-26``, April to March) and return it.

    Exact text only: ``2025/26`` or ``2025-2026`` are refused rather than guessed at.
    """
    m = _YEAR_RE.match(text)
    if not m:
        raise ValueError(f"financial year {text!r} is not of the form YYYY-YY, e.g. 2025-26 (April to March)")
    start, end = int(m.group(1)), int(m.group(2))
    if (start + 1) % 100 != end:
        raise ValueError(f"financial year {text!r}: {start} and {end:02d} are not consecutive years")
    return text


def just_closed(today: dt.date) -> Period:
    """The most recent quarter that has fully ended before ``today``."""
    return Period.containing(today).previous()
