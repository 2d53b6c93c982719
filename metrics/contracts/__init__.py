"""Extract contracts: the one declaration of every CSV the pipeline accepts.

Ingest (DuckDB types), validation (the Great Expectations suites), the
synthetic generator and the contract tables in docs/reference/contracts.md are
all derived from these objects, so a column is described in exactly one place.
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


SEX_CODES = ("M", "F")
HWB = Column(
    "hwb_code", "VARCHAR", "Health and Wellbeing Board of residence (ONS code, e.g. E06000061)", codes="hwb_codes"
)
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
        Column(
            "discharge_date",
            "DATE",
            "End date of the spell; empty if still in hospital",
            required=False,
            window="period",
        ),
        Column(
            "admission_method",
            "VARCHAR",
            "NHS Data Dictionary admission method code (21-2D, 28 are emergency)",
            codes="admission_methods",
        ),
        Column("age_at_admission", "INTEGER", "Age in whole years at admission", minimum=0, maximum=120),
        Column("sex", "VARCHAR", "M or F", codes=SEX_CODES),
        Column("primary_diagnosis", "VARCHAR", "Primary ICD-10 diagnosis, no dot (e.g. J441, S720)", pattern=ICD10),
        Column(
            "secondary_diagnoses",
            "VARCHAR",
            "Further ICD-10 diagnosis and external-cause codes, ';'-separated (e.g. W19X;I10)",
            required=False,
            pattern=ICD10_LIST,
        ),
        Column(
            "discharge_destination",
            "VARCHAR",
            "NHS Data Dictionary discharge destination code; required when the spell has ended",
            required=False,
            codes="discharge_destinations",
        ),
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
        Column(
            "status_91_days",
            "VARCHAR",
            "Where the person was 91 days after hospital discharge",
            codes=("at_home", "care_home", "hospital", "died", "unknown"),
        ),
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

# Children's social care (safeguarding scorecard). Local authority = the HWB's upper-tier council,
# so areas use the same ONS codes and reference list as the BCF extracts.
CHILD = Column("child_id", "VARCHAR", "Pseudonymised child identifier", pattern=PSEUDO_ID)
LA = Column("la_code", "VARCHAR", "Local authority (ONS code, e.g. E06000061)", codes="hwb_codes")

CONTACTS = Extract(
    name="cs_contacts",
    filename="cs_contacts.csv",
    description=(
        "Contacts to children's social care received in the quarter, one row per contact, with the "
        "outcome; a contact that met the threshold for a statutory service became a referral. "
        "`previous_referral_date` is the child's most recent earlier referral from the case "
        "management system, so re-referrals within 12 months need no history outside the file."
    ),
    columns=(
        Column("contact_id", "VARCHAR", "Contact identifier", pattern=PSEUDO_ID),
        CHILD,
        Column("contact_date", "DATE", "Date the contact was received", window="period"),
        Column(
            "source",
            "VARCHAR",
            "Who made the contact (CIN census referral source groups)",
            codes=("police", "school", "health", "la_services", "individual", "other", "unknown"),
        ),
        Column(
            "outcome",
            "VARCHAR",
            "referral (met the threshold), early_help, nfa (no further action) or information_advice",
            codes=("referral", "early_help", "nfa", "information_advice"),
        ),
        Column(
            "referral_date",
            "DATE",
            "Date of the referral if the outcome is referral (empty = the contact date)",
            required=False,
            window="period",
        ),
        Column("previous_referral_date", "DATE", "The child's most recent earlier referral, if any", required=False),
        LA,
    ),
    key=("contact_id",),
    unique=(("contact_id",),),
    ordered=(("referral_date", "contact_date"), ("referral_date", "previous_referral_date")),
    identifiers=("child_id",),
)

ASSESSMENTS = Extract(
    name="cs_assessments",
    filename="cs_assessments.csv",
    description=(
        "Children and family (single) assessments open at any time in the quarter. An assessment not "
        "yet authorised has no authorisation date; the next quarter's delivery carries it again "
        "(latest delivery wins, keyed on assessment_id). Timeliness runs from the referral date."
    ),
    columns=(
        Column("assessment_id", "VARCHAR", "Assessment identifier", pattern=PSEUDO_ID),
        CHILD,
        Column("referral_date", "DATE", "Referral that started the clock (45 working days)", window="up_to_period_end"),
        Column("start_date", "DATE", "Date the assessment started", window="up_to_period_end"),
        Column(
            "authorisation_date",
            "DATE",
            "Date the assessment was completed and authorised; empty if open",
            required=False,
            window="period",
        ),
        LA,
    ),
    key=("assessment_id",),
    unique=(("assessment_id",),),
    ordered=(("start_date", "referral_date"), ("authorisation_date", "start_date")),
    identifiers=("child_id",),
)

CP_PLANS = Extract(
    name="cs_cp_plans",
    filename="cs_cp_plans.csv",
    description=(
        "Child protection plans open at any time in the quarter (started on or before its last day, "
        "not ended before its first), with the initial category of abuse and the child's plan "
        "sequence number (2 or more = second or subsequent plan, at any time in the past)."
    ),
    columns=(
        Column("plan_id", "VARCHAR", "Child protection plan identifier", pattern=PSEUDO_ID),
        CHILD,
        Column("start_date", "DATE", "Date the plan started", window="up_to_period_end"),
        Column("end_date", "DATE", "Date the plan ended; empty if still open", required=False, window="period"),
        Column(
            "initial_category",
            "VARCHAR",
            "Initial category of abuse when the plan started",
            codes=("neglect", "physical", "sexual", "emotional", "multiple"),
        ),
        Column(
            "plan_sequence", "INTEGER", "1 for the child's first plan, 2 for the second, ...", minimum=1, maximum=50
        ),
        LA,
    ),
    key=("plan_id",),
    unique=(("plan_id",),),
    ordered=(("end_date", "start_date"),),
    identifiers=("child_id",),
)

CLA_EPISODES = Extract(
    name="cs_cla_episodes",
    filename="cs_cla_episodes.csv",
    description=(
        "Looked-after (SSDA903) episodes open at any time in the quarter; a child may have several "
        "episodes, and is counted once."
    ),
    columns=(
        Column("episode_id", "VARCHAR", "Looked-after episode identifier", pattern=PSEUDO_ID),
        CHILD,
        Column("start_date", "DATE", "Episode start", window="by_period_end"),
        Column("end_date", "DATE", "Episode end; empty if still looked after", required=False, window="period"),
        Column(
            "legal_status",
            "VARCHAR",
            "SSDA903 legal status code (e.g. C2 full care order, V2 section 20)",
            pattern=r"^[A-Z][0-9]$",
        ),
        LA,
    ),
    key=("episode_id",),
    unique=(("episode_id",),),
    ordered=(("end_date", "start_date"),),
    identifiers=("child_id",),
)

MISSING_EPISODES = Extract(
    name="cs_missing_episodes",
    filename="cs_missing_episodes.csv",
    description=(
        "Missing-from-home or care episodes where the child returned in the quarter, with the return "
        "home interview offer and completion times (local data: the 72-hour standard is statutory "
        "guidance, not a DfE collection). Times are local (Europe/London) `YYYY-MM-DD HH:MM`."
    ),
    columns=(
        Column("missing_id", "VARCHAR", "Missing episode identifier", pattern=PSEUDO_ID),
        CHILD,
        Column("looked_after", "VARCHAR", "Y if the child was looked after when missing, else N", codes=("Y", "N")),
        Column("missing_from", "TIMESTAMP", "When the child was reported missing"),
        Column("returned_at", "TIMESTAMP", "When the child returned or was found", window="period"),
        Column("rhi_offered_at", "TIMESTAMP", "When a return home interview was offered; empty if not", required=False),
        Column(
            "rhi_completed_at", "TIMESTAMP", "When the return home interview took place; empty if not", required=False
        ),
        LA,
    ),
    key=("missing_id",),
    unique=(("missing_id",),),
    ordered=(("returned_at", "missing_from"), ("rhi_completed_at", "returned_at")),
    identifiers=("child_id",),
)

CHILD_POPULATION = Extract(
    name="child_population",
    filename="child_population.csv",
    description=(
        "ONS mid-year estimates of the population aged 0-17 by local authority and single year of age "
        "(persons), the denominator of rates per 10,000 children."
    ),
    columns=(
        Column("code", "VARCHAR", "Local authority ONS code", codes="hwb_codes"),
        Column("name", "VARCHAR", "Area name"),
        Column("mid_year", "INTEGER", "Reference year of the estimate (30 June)", minimum=2000, maximum=2100),
        Column("age", "INTEGER", "Single year of age", minimum=0, maximum=17),
        Column("population", "INTEGER", "Persons of that age", minimum=0),
    ),
    key=("code", "age"),
    unique=(("code", "age"),),
    identifiers=(),
)

TARGETS = Extract(
    name="cs_targets",
    filename="cs_targets.csv",
    description=(
        "Local targets and amber tolerances for the safeguarding scorecard: one row per local authority, "
        "measure and financial year. Within the tolerance of the target (in the measure's unit) is Amber; "
        "meeting the target is Green; anything else is Red."
    ),
    columns=(
        LA,
        Column("metric_id", "VARCHAR", "Measure identifier (see Metrics)", codes="metric_ids"),
        Column("financial_year", "VARCHAR", "e.g. 2023-24", pattern=r"^\d{4}-\d{2}$"),
        Column("target", "DOUBLE", "Target in the measure's unit", minimum=0),
        Column("amber_tolerance", "DOUBLE", "How far on the wrong side of the target is still Amber", minimum=0),
    ),
    key=("la_code", "metric_id", "financial_year"),
    unique=(("la_code", "metric_id", "financial_year"),),
    identifiers=(),
)

SAFEGUARDING_EXTRACTS: tuple[Extract, ...] = (
    CONTACTS,
    ASSESSMENTS,
    CP_PLANS,
    CLA_EPISODES,
    MISSING_EPISODES,
    CHILD_POPULATION,
    TARGETS,
)
EXTRACTS: dict[str, Extract] = {e.name: e for e in (*BCF_EXTRACTS, *SAFEGUARDING_EXTRACTS)}


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
    elif c.window == "by_period_end":
        parts.append("on or before the quarter's end")
    return "; ".join(parts) or "-"
