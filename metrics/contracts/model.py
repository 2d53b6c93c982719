"""The contract model: a delivered file (``Extract``) and its columns (``Column``).

Ingest (DuckDB types), validation (the GX suites and SQL row rules), the synthetic generators and
the reference docs are all derived from these objects, so a column is described in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DType = Literal["VARCHAR", "INTEGER", "DOUBLE", "DATE", "TIMESTAMP"]
# Date windows relative to the delivery period; see ``Column.window``.
Window = Literal["period", "up_to_period_end", "by_period_end"]

ICD10 = r"^[A-Z][0-9]{2}[0-9A-Z]{0,2}$"
ICD10_LIST = r"^[A-Z][0-9]{2}[0-9A-Z]{0,2}(?:;[A-Z][0-9]{2}[0-9A-Z]{0,2})*$"
PSEUDO_ID = r"^[A-Za-z0-9_-]{4,64}$"


@dataclass(frozen=True)
class Column:
    """One CSV column. ``codes`` names a reference list in ``metrics/reference``
    (e.g. ``admission_methods``) or gives the allowed values inline."""

    name: str
    dtype: DType
    description: str
    required: bool = True
    pattern: str | None = None
    codes: str | tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    # period: inside the delivery quarter; up_to_period_end: no later than its
    # last day and at most 5 years earlier (long stays admitted long ago);
    # by_period_end: no later than its last day (a child looked after since birth).
    window: Window | None = None
    # A date the working-day clock counts from or to: the warehouse's calendar is widened to cover it.
    working_days: bool = False


@dataclass(frozen=True)
class Extract:
    """One delivered file per period: ``data/raw/<period>/<filename>``."""

    name: str
    filename: str
    description: str
    columns: tuple[Column, ...]
    # Identity of a record across deliveries: a later delivery's version wins.
    key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    # (later, earlier): when both are present, later >= earlier.
    ordered: tuple[tuple[str, str], ...] = ()
    # (column, condition): column must be present whenever condition is.
    required_if: tuple[tuple[str, str], ...] = ()
    # Columns that may carry person-level identifiers: never logged or published.
    identifiers: tuple[str, ...] = field(default=("person_id",))
    # The de-duplicated view metric SQL reads (latest delivery of each record); "" = ``<name>_current``.
    view: str = ""

    @property
    def current_view(self) -> str:
        return self.view or f"{self.name}_current"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def windowed(self) -> list[Column]:
        """Columns dated inside the delivery quarter."""
        return [c for c in self.columns if c.window == "period"]

    @property
    def dated(self) -> bool:
        """Records dated in their quarter (not populations, plans or targets, which are per period)."""
        return bool(self.windowed)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"extract {self.name!r} has no column {name!r}")


def markdown_table(extract: Extract) -> str:
    """The contract table for one extract in docs/reference/contracts.md (kept in sync by a test)."""
    lines = [
        f"### `{extract.filename}` ({extract.name})",
        "",
        extract.description,
        "",
        "| column | type | required | rule | description |",
        "|---|---|---|---|---|",
    ]
    # A run of single-year age columns (the ONS MYE layout) is one row of the table.
    ages = [c for c in extract.columns if c.name.isdigit()]
    shown = [c for c in extract.columns if not (len(ages) > 3 and c.name.isdigit())]
    for c in shown:
        lines.append(f"| `{c.name}` | {c.dtype} | {'yes' if c.required else 'no'} | {_rule(c)} | {c.description} |")
    if len(ages) > 3:
        lines.append(
            f"| `{ages[0].name}` ... `{ages[-1].name}` | INTEGER | yes | >= 0 | Population at each single year of age |"
        )
    extra = []
    if extract.unique:
        extra.append("unique: " + "; ".join("(" + ", ".join(u) + ")" for u in extract.unique))
    for later, earlier in extract.ordered:
        extra.append(f"`{later}` >= `{earlier}`")
    for col, cond in extract.required_if:
        extra.append(f"`{col}` required when `{cond}` is present")
    if extra:
        lines += ["", "Row rules: " + "; ".join(extra) + "."]
    return "\n".join(lines)


def _rule(c: Column) -> str:
    parts = []
    if c.pattern:
        parts.append(f"matches `{c.pattern}`")
    if isinstance(c.codes, tuple):
        parts.append("one of " + ", ".join(f"`{v}`" for v in c.codes))
    elif c.codes:
        parts.append(f"code in `{c.codes}`")
    if c.minimum is not None and c.maximum is not None:
        parts.append(f"{c.minimum:g}-{c.maximum:g}")
    elif c.minimum is not None:
        parts.append(f">= {c.minimum:g}")
    if c.window == "period":
        parts.append("inside the quarter")
    elif c.window == "up_to_period_end":
        parts.append("on or before the quarter's end, within 5 years")
    elif c.window == "by_period_end":
        parts.append("on or before the quarter's end")
    return "; ".join(parts) or "-"
