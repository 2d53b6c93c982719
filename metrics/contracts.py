"""Extract contracts: the one declaration of every CSV the pipeline accepts.

Ingest (DuckDB types), validation (the Great Expectations suites), the
synthetic generator and the README's contract tables are all derived from
these objects, so a column is described in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DType = Literal["VARCHAR", "INTEGER", "DOUBLE", "DATE"]
# Date windows relative to the delivery period; see ``Column.window``.
Window = Literal["period", "up_to_period_end"]

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
    # last day and at most 5 years earlier (long stays admitted long ago).
    window: Window | None = None


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

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"extract {self.name!r} has no column {name!r}")


SEX_CODES = ("M", "F")
HWB = Column("hwb_code", "VARCHAR", "Health and Wellbeing Board of residence (ONS code, e.g. E06000061)",
             codes="hwb_codes")
PERSON = Column("person_id", "VARCHAR", "Pseudonymised person identifier", pattern=PSEUDO_ID)

APC_SPELLS = Extract(
    name="apc_spells",
    filename="apc_spells.csv",
    description=(
        "Hospital admitted patient care spells (SUS/HES APC) of HWB residents that were open at any "
        "time in the quarter: admitted on or before its last day and not discharged before its "
        "first. A spell still open at extraction has no discharge date; the next quarter's "
        "delivery carries its final version (latest delivery wins, keyed on spell_id)."
    ),
    columns=(
        PERSON,
        Column("spell_id", "VARCHAR", "Hospital provider spell identifier", pattern=PSEUDO_ID),
        Column("admission_date", "DATE", "Start date of the spell (YYYY-MM-DD)", window="up_to_period_end"),
        Column("discharge_date", "DATE", "End date of the spell; empty if still in hospital",
               required=False, window="period"),
        Column("admission_method", "VARCHAR", "NHS Data Dictionary admission method code (21-2D, 28 are emergency)",
               codes="admission_methods"),
        Column("age_at_admission", "INTEGER", "Age in whole years at admission", minimum=0, maximum=120),
        Column("sex", "VARCHAR", "M or F", codes=SEX_CODES),
        Column("primary_diagnosis", "VARCHAR", "Primary ICD-10 diagnosis, no dot (e.g. J441, S720)",
               pattern=ICD10),
        Column("secondary_diagnoses", "VARCHAR",
               "Further ICD-10 diagnosis and external-cause codes, ';'-separated (e.g. W19X;I10)",
               required=False, pattern=ICD10_LIST),
        Column("discharge_destination", "VARCHAR", "NHS Data Dictionary discharge destination code; "
               "required when the spell has ended", required=False, codes="discharge_destinations"),
        HWB,
    ),
    key=("spell_id",),
    unique=(("spell_id",),),
    ordered=(("discharge_date", "admission_date"),),
    required_if=(("discharge_destination", "discharge_date"),),
)

REABLEMENT = Extract(
    name="reablement_episodes",
    filename="reablement_episodes.csv",
    description=(
        "People discharged from hospital into reablement/rehabilitation in the quarter, with their "
        "status 91 days after the hospital discharge (ASCOF 2B(1) / SALT STS004)."
    ),
    columns=(
        Column("episode_id", "VARCHAR", "Reablement episode identifier", pattern=PSEUDO_ID),
        PERSON,
        Column("age", "INTEGER", "Age in whole years at hospital discharge", minimum=0, maximum=120),
        Column("hospital_discharge_date", "DATE", "Date of discharge from hospital", window="period"),
        Column("service_start_date", "DATE", "Start of the reablement/rehabilitation service"),
        Column("status_91_days", "VARCHAR", "Where the person was 91 days after hospital discharge",
               codes=("at_home", "care_home", "hospital", "died", "unknown")),
        HWB,
    ),
    key=("episode_id",),
    unique=(("episode_id",),),
    ordered=(("service_start_date", "hospital_discharge_date"),),
)

CARE_HOME_ADMISSIONS = Extract(
    name="care_home_admissions",
    filename="care_home_admissions.csv",
    description=(
        "Council-supported permanent admissions to residential and nursing care homes in the quarter "
        "(ASCOF 2C, formerly 2A(2)); transfers between homes are not admissions and are excluded upstream."
    ),
    columns=(
        Column("admission_id", "VARCHAR", "Care home admission identifier", pattern=PSEUDO_ID),
        PERSON,
        Column("age", "INTEGER", "Age in whole years at admission", minimum=0, maximum=120),
        Column("admission_date", "DATE", "Date the permanent placement started", window="period"),
        Column("setting", "VARCHAR", "residential or nursing", codes=("residential", "nursing")),
        HWB,
    ),
    key=("admission_id",),
    unique=(("admission_id",),),
)

_AGE_COLUMNS = (
    *(Column(str(a), "INTEGER", f"Population aged {a}", minimum=0) for a in range(90)),
    Column("90+", "INTEGER", "Population aged 90 and over", minimum=0),
)

POPULATION = Extract(
    name="population",
    filename="population.csv",
    description=(
        "ONS mid-year population estimates by area and sex in the MYE2 layout: one row per area and "
        "sex, single years of age 0-89 then 90+."
    ),
    columns=(
        Column("code", "VARCHAR", "Area ONS code (HWB)", codes="hwb_codes"),
        Column("name", "VARCHAR", "Area name"),
        Column("geography", "VARCHAR", "ONS geography type (e.g. Unitary Authority)"),
        Column("sex", "VARCHAR", "M or F", codes=SEX_CODES),
        Column("mid_year", "INTEGER", "Reference year of the estimate (30 June)", minimum=2000, maximum=2100),
        Column("all_ages", "INTEGER", "Total population", minimum=0),
        *_AGE_COLUMNS,
    ),
    key=("code", "sex"),
    unique=(("code", "sex"),),
    identifiers=(),
)

PLANS = Extract(
    name="plans",
    filename="plans.csv",
    description=(
        "Plan targets agreed in the BCF plan: one row per HWB, metric, financial year and quarter "
        "(Q1-Q4) or YE for an annual (year-end) plan."
    ),
    columns=(
        HWB,
        Column("metric_id", "VARCHAR", "Metric identifier (see Metrics)", codes="metric_ids"),
        Column("financial_year", "VARCHAR", "e.g. 2023-24", pattern=r"^\d{4}-\d{2}$"),
        Column("quarter", "VARCHAR", "Q1-Q4, or YE for the year-end plan", codes=("Q1", "Q2", "Q3", "Q4", "YE")),
        Column("plan_value", "DOUBLE", "Planned value in the metric's unit", minimum=0),
    ),
    key=("hwb_code", "metric_id", "financial_year", "quarter"),
    unique=(("hwb_code", "metric_id", "financial_year", "quarter"),),
    identifiers=(),
)

BCF_EXTRACTS: tuple[Extract, ...] = (APC_SPELLS, REABLEMENT, CARE_HOME_ADMISSIONS, POPULATION, PLANS)
EXTRACTS: dict[str, Extract] = {e.name: e for e in BCF_EXTRACTS}


def markdown_table(extract: Extract) -> str:
    """The README's contract table for one extract (kept in sync by a test)."""
    lines = [
        f"#### `{extract.filename}` ({extract.name})",
        "",
        extract.description,
        "",
        "| column | type | required | rule | description |",
        "|---|---|---|---|---|",
    ]
    shown = [c for c in extract.columns if not (extract is POPULATION and c.name.isdigit())]
    for c in shown:
        lines.append(f"| `{c.name}` | {c.dtype} | {'yes' if c.required else 'no'} | {_rule(c)} | {c.description} |")
    if extract is POPULATION:
        lines.append("| `0` ... `89` | INTEGER | yes | >= 0 | Population at each single year of age |")
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
    return "; ".join(parts) or "-"
