"""Extract contracts of the children's safeguarding scorecard (children's social care records, child
population, targets)."""

from __future__ import annotations

from metrics.contracts.model import PSEUDO_ID, Column, Extract

CHILD = Column("child_id", "VARCHAR", "Pseudonymised child identifier", pattern=PSEUDO_ID)
LA = Column("la_code", "VARCHAR", "Local authority (ONS code, e.g. E06000061)", codes="hwb_codes")

# SSDA903 legal status codes (field LS), the list DfE's SSDA903 validation rule 144 accepts ("The legal status
# code is not a valid code"): data-to-insight/csc-validator-be-903, validator903/validators/rule_144.py. C codes
# are care orders (C2 full care order), E1 a placement order, V2 a single period of accommodation under
# section 20, V3 and V4 an agreed series of short-term breaks, J codes remand or detention, L codes police or
# emergency protection.
SSDA903_LEGAL_STATUSES = ("C1", "C2", "D1", "E1", "J1", "J2", "J3", "L1", "L2", "L3", "V2", "V3", "V4")
# Looked after under an agreed series of short-term breaks: DfE leaves them out of its headline counts of
# children looked after and publishes them separately (see cla_rate.toml).
SHORT_BREAKS = ("V3", "V4")

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
        "(latest delivery wins, keyed on assessment_id). Timeliness runs from the assessment start date "
        "(as DfE's published durations) or, by the metric's start_point parameter, from the referral date."
    ),
    columns=(
        Column("assessment_id", "VARCHAR", "Assessment identifier", pattern=PSEUDO_ID),
        CHILD,
        Column(
            "referral_date",
            "DATE",
            "Date of the referral (the 45-working-day clock's start when start_point is referral)",
            window="up_to_period_end",
            working_days=True,
        ),
        Column(
            "start_date",
            "DATE",
            "Date the assessment started (the clock's start by default, as DfE's C2 durations)",
            window="up_to_period_end",
            working_days=True,
        ),
        Column(
            "authorisation_date",
            "DATE",
            "Date the assessment was completed and authorised; empty if open",
            required=False,
            window="period",
            working_days=True,
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
        "episodes, and is counted once. Episodes under an agreed series of short-term breaks (legal "
        "status V3, V4) are delivered but left out of the headline count, as DfE does."
    ),
    columns=(
        Column("episode_id", "VARCHAR", "Looked-after episode identifier", pattern=PSEUDO_ID),
        CHILD,
        Column("start_date", "DATE", "Episode start", window="by_period_end"),
        Column("end_date", "DATE", "Episode end; empty if still looked after", required=False, window="period"),
        Column(
            "legal_status",
            "VARCHAR",
            "SSDA903 legal status code (C2 full care order, V2 section 20, V3/V4 agreed series of short-term "
            "breaks, ...); the episode's status at its start",
            codes=SSDA903_LEGAL_STATUSES,
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

# The extracts this module declares (``scorecard.toml`` names the module).
EXTRACTS: tuple[Extract, ...] = SAFEGUARDING_EXTRACTS
