"""Extract contracts of the Better Care Fund scorecard (hospital spells, reablement, care-home
admissions, population, plans)."""

from __future__ import annotations

from metrics.contracts.model import ICD10, ICD10_LIST, PSEUDO_ID, Column, Extract

SEX_CODES = ("M", "F")
# Discharge measures (usual residence, discharge delays) count acute providers only.
PROVIDER_TYPES = ("acute", "non_acute")
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
        "delivery carries its final version (latest delivery wins, keyed on spell_id). One row per "
        "spell: the diagnosis fields (primary_diagnosis, secondary_diagnoses) are those of the "
        "spell's first episode (episode order 1), as the falls indicator counts them."
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
            "discharge_ready_date",
            "DATE",
            "SUS APC 'Hospital Provider Spell Discharge Ready Date' (DRD): the date the patient was "
            "clinically ready to leave; empty if none recorded. On or after admission, on or before discharge",
            required=False,
        ),
        Column(
            "admission_method",
            "VARCHAR",
            "NHS Data Dictionary admission method code (21-2D, 28 are emergency)",
            codes="admission_methods",
        ),
        Column(
            "patient_classification",
            "VARCHAR",
            "NHS Data Dictionary patient classification: 1 ordinary admission, 2 day case, 3 regular day "
            "attender, 4 regular night attender, 5 mothers and babies using delivery facilities only",
            codes="patient_classifications",
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
        Column(
            "provider_type",
            "VARCHAR",
            "Type of the provider of the spell: acute = an NHS acute trust (general and acute inpatient "
            "beds; the trusts in NHS England's acute discharge sitrep and 'Timeliness of acute hospital "
            "discharges'); non_acute = community, mental health, specialist rehabilitation or independent "
            "sector providers",
            codes=PROVIDER_TYPES,
        ),
        HWB,
    ),
    key=("spell_id",),
    unique=(("spell_id",),),
    ordered=(
        ("discharge_date", "admission_date"),
        ("discharge_ready_date", "admission_date"),
        ("discharge_date", "discharge_ready_date"),
    ),
    required_if=(("discharge_destination", "discharge_date"),),
    view="apc_current",
)

# A 91-day status is final only once the 91st day after hospital discharge has passed; until then
# it is delivered as ``pending`` and the discharge is re-delivered, final, in the quarter its 91st
# day falls in (latest delivery wins on episode_id, as for open hospital spells).
REABLEMENT_FOLLOW_UP_DAYS = 91
REABLEMENT_STATUSES = ("at_home", "care_home", "hospital", "died", "unknown", "pending")

REABLEMENT = Extract(
    name="reablement_episodes",
    filename="reablement_episodes.csv",
    description=(
        "People discharged from hospital into reablement/rehabilitation (ASCOF 2B(1) / SALT STS004), "
        "with their status 91 days after the hospital discharge. A delivery holds the discharges in "
        "the quarter and the earlier discharges whose 91st day falls in it: a discharge whose 91st day "
        "is after the quarter's end is delivered with status `pending` and no follow_up_date, then "
        "again, with its final status, in the quarter its 91st day falls in (latest delivery wins, "
        "keyed on episode_id). Metrics count a discharge only once its 91st day is on or before the "
        "data cut (the end of the quarter run), whatever its status says; a `pending` or `unknown` "
        "status after that counts as not at home (ASCOF: status not established)."
    ),
    columns=(
        Column("episode_id", "VARCHAR", "Reablement episode identifier", pattern=PSEUDO_ID),
        PERSON,
        Column("age", "INTEGER", "Age in whole years at hospital discharge", minimum=0, maximum=120),
        Column(
            "hospital_discharge_date",
            "DATE",
            "Date of discharge from hospital (this quarter, or an earlier one for a re-delivered final status)",
            window="up_to_period_end",
        ),
        Column("service_start_date", "DATE", "Start of the reablement/rehabilitation service"),
        Column(
            "follow_up_date",
            "DATE",
            "The 91st day after hospital discharge, which status_91_days describes; empty while it is "
            "after the quarter's end (status pending)",
            required=False,
            window="period",
        ),
        Column(
            "status_91_days",
            "VARCHAR",
            "Where the person was 91 days after hospital discharge; pending while that day is after the quarter's end",
            codes=REABLEMENT_STATUSES,
        ),
        HWB,
    ),
    key=("episode_id",),
    unique=(("episode_id",),),
    ordered=(("service_start_date", "hospital_discharge_date"), ("follow_up_date", "hospital_discharge_date")),
    view="reablement_current",
)

CARE_HOME_ADMISSIONS = Extract(
    name="care_home_admissions",
    filename="care_home_admissions.csv",
    description=(
        "Council-supported long-term (permanent) placements in residential and nursing care homes "
        "that started in the quarter (ASCOF 2C, formerly 2A(2)), including moves between homes and "
        "between residential and nursing care, each with the date of the person's first long-term "
        "care-home admission on record (any earlier placement, residential or nursing, as in Client "
        "Level Data's history). Only a placement that is the person's first on record "
        "(first_admission_date = admission_date) is a new admission; a readmission or a "
        "residential-nursing transfer carries the earlier date and is not counted."
    ),
    columns=(
        Column("admission_id", "VARCHAR", "Care home admission identifier", pattern=PSEUDO_ID),
        PERSON,
        Column("age", "INTEGER", "Age in whole years at admission", minimum=0, maximum=120),
        Column("admission_date", "DATE", "Date the permanent placement started", window="period"),
        Column("setting", "VARCHAR", "residential or nursing", codes=("residential", "nursing")),
        Column(
            "first_admission_date",
            "DATE",
            "Start of the person's first long-term care-home placement on record (residential or "
            "nursing); equal to admission_date when this placement is the first",
            window="by_period_end",
        ),
        HWB,
    ),
    key=("admission_id",),
    unique=(("admission_id",),),
    ordered=(("admission_date", "first_admission_date"),),
    view="care_home_current",
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

# The extracts this module declares (``scorecard.toml`` names the module).
EXTRACTS: tuple[Extract, ...] = BCF_EXTRACTS
