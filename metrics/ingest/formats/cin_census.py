"""The DfE Children in Need census XML read into the referrals, assessments and child protection extracts.

Element names, nesting and code lists are the census's, as DfE's published validator reads them
(data-to-insight/csc-validator-be-cin: ``cin_validator/ingress.py`` for the elements; rules 8866
referral source, 8905 category of abuse, 8568 ReferralNFA). One ``<CINdetails>`` is one referral;
its ``<Assessments>`` and ``<ChildProtectionPlans>`` are the child's assessments and plans.

Parsed safely: the file is read by expat with no DTD at all (a ``<!DOCTYPE`` is refused before any
entity is declared, so no entity expansion and no external entity or DTD is ever fetched), and is
checked against the census's structure (required elements, elements where the census has none)
before anything is converted; every problem names the element and its line.

What the census does not carry is declared or left out, never made up: the ONS code of the
authority (option ``la_code``); identifiers (LAchildID and the record's date); a referral's earlier
referral (the child's latest earlier ``<CINdetails>`` in the same file, so the file must reach back
12 months for re-referrals to be complete); contacts that did not become referrals (none: see
docs/methods/deviations.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from xml.parsers import expat

from metrics.contracts import ASSESSMENTS, CONTACTS, CP_PLANS, Extract
from metrics.core.periods import Period
from metrics.core.results import Problem
from metrics.ingest.formats import dfe
from metrics.ingest.readers import Conversion, register_by_period

FORMAT = "cin_census"
OPTIONS = {"la_code": "ONS code of the authority making the return"}

# ReferralSource (rule 8866) -> the contract's referral source groups (DfE's published groups: 1 individual,
# 2A schools, 2B education services, 3 health services, 4 housing, 5 LA services, 6 police, 7 other legal
# agency, 8 other, 9 anonymous, 10 unknown). Education services, housing, other legal agencies and anonymous
# referrals have no group of their own in the contract: "other".
REFERRAL_SOURCES = {
    **{c: "individual" for c in ("1A", "1B", "1C", "1D")},
    "2A": "school",
    "2B": "other",
    **{c: "health" for c in ("3A", "3B", "3C", "3D", "3E", "3F")},
    "4": "other",
    **{c: "la_services" for c in ("5A", "5B", "5C", "5D")},
    "6": "police",
    "7": "other",
    "8": "other",
    "9": "other",
    "10": "unknown",
}
# InitialCategoryOfAbuse (rule 8905).
CATEGORIES = {"NEG": "neglect", "PHY": "physical", "SAB": "sexual", "EMO": "emotional", "MUL": "multiple"}

# The census's structure: each container's child elements with (minimum, maximum) occurrences
# (None = unbounded); an element not listed here is a leaf holding text. PreProceedings (from 2025)
# is accepted and not read.
ANY = "*"
SCHEMA: dict[str, dict[str, tuple[int, int | None]]] = {
    "Message": {"Header": (1, 1), "Children": (1, 1)},
    "Header": {"CollectionDetails": (1, 1), "Source": (1, 1)},
    "CollectionDetails": {"Collection": (1, 1), "Year": (1, 1), "ReferenceDate": (1, 1)},
    "Source": {
        "SourceLevel": (0, 1),
        "LEA": (1, 1),
        "SoftwareCode": (0, 1),
        "Release": (0, 1),
        "SerialNo": (0, 1),
        "DateTime": (0, 1),
    },
    "Children": {"Child": (0, None)},
    "Child": {"ChildIdentifiers": (1, 1), "ChildCharacteristics": (0, 1), "CINdetails": (0, None)},
    "ChildIdentifiers": {
        "LAchildID": (1, 1),
        "UPN": (0, 1),
        "FormerUPN": (0, 1),
        "UPNunknown": (0, 1),
        "PersonBirthDate": (0, 1),
        "ExpectedPersonBirthDate": (0, 1),
        "GenderCurrent": (0, 1),
        "Sex": (0, 1),
        "PersonDeathDate": (0, 1),
    },
    "ChildCharacteristics": {"Ethnicity": (0, 1), "Disabilities": (0, 1)},
    "Disabilities": {"Disability": (0, None)},
    "CINdetails": {
        "CINreferralDate": (1, 1),
        "ReferralSource": (1, 1),
        "PrimaryNeedCode": (0, 1),
        "CINclosureDate": (0, 1),
        "ReasonForClosure": (0, 1),
        "DateOfInitialCPC": (0, 1),
        "Assessments": (0, None),
        "CINPlanDates": (0, None),
        "Section47": (0, None),
        "ReferralNFA": (1, 1),
        "ChildProtectionPlans": (0, None),
        "PreProceedings": (0, None),
    },
    "Assessments": {
        "AssessmentActualStartDate": (1, 1),
        "AssessmentInternalReviewDate": (0, 1),
        "AssessmentAuthorisationDate": (0, 1),
        "FactorsIdentifiedAtAssessment": (0, 1),
    },
    "FactorsIdentifiedAtAssessment": {"AssessmentFactors": (0, None)},
    "CINPlanDates": {"CINPlanStartDate": (1, 1), "CINPlanEndDate": (0, 1)},
    "Section47": {
        "S47ActualStartDate": (1, 1),
        "InitialCPCtarget": (0, 1),
        "DateOfInitialCPC": (0, 1),
        "ICPCnotRequired": (0, 1),
    },
    "ChildProtectionPlans": {
        "CPPstartDate": (1, 1),
        "CPPendDate": (0, 1),
        "InitialCategoryOfAbuse": (1, 1),
        "LatestCategoryOfAbuse": (0, 1),
        "NumberOfPreviousCPP": (1, 1),
        "Reviews": (0, 1),
    },
    "Reviews": {"CPPreviewDate": (0, None)},
    "PreProceedings": {ANY: (0, None)},
}
_INT = re.compile(r"^\d{1,3}$")


@dataclass
class Node:
    """An element, the line it starts on, its text and child elements."""

    tag: str
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def all(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def first(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def value(self, tag: str) -> str:
        node = self.first(tag)
        return "" if node is None else node.text.strip()


class _Refused(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


def parse(path: Path, name: str) -> Node | Problem:
    """The document as a tree of :class:`Node`, or the first problem that stopped it.

    No DTD is allowed: entity declarations (the billion-laughs expansion) and external entities and
    DTDs (which would read local files or the network) can only be declared in one, and the census
    has none. An undeclared entity reference is then expat's own "undefined entity" error."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Node] = []
    root: list[Node] = []

    def refuse(what: str) -> Any:
        def handler(*_: Any) -> None:
            raise _Refused(
                parser.CurrentLineNumber,
                f"{name}: {what} is not allowed in a CIN census file (it could expand entities or read other "
                "files); remove the <!DOCTYPE ...> and any entity from the file",
            )

        return handler

    def start(tag: str, _attrs: dict[str, str]) -> None:
        node = Node(tag, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse("a DTD (<!DOCTYPE ...>)")
    parser.EntityDeclHandler = refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = refuse("an entity declaration")
    parser.ExternalEntityRefHandler = refuse("an external entity")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        with open(path, "rb") as fh:
            parser.ParseFile(fh)
    except _Refused as exc:
        return Problem(exc.line, None, "xml_unsafe", exc.reason)
    except expat.ExpatError as exc:
        why = expat.ErrorString(exc.code) if exc.code is not None else str(exc)
        return Problem(exc.lineno, None, "xml_syntax", f"{name}: not well-formed XML ({why}, column {exc.offset})")
    return root[0]


def check_schema(node: Node, name: str, parent: str | None = None) -> list[Problem]:
    """Elements where the census has none, required elements missing, repeated single elements."""
    out: list[Problem] = []
    if parent is None and node.tag != "Message":
        return [Problem(node.line, node.tag, "xml_schema", f"{name}: the root element is <{node.tag}>, not <Message>")]
    allowed = SCHEMA.get(node.tag)
    if allowed is None:
        if node.children:
            c = node.children[0]
            out.append(Problem(c.line, c.tag, "xml_schema", f"{name}: <{node.tag}> holds a value, not <{c.tag}>"))
        return out
    if ANY in allowed:
        return out
    counts: dict[str, int] = {}
    for c in node.children:
        if c.tag not in allowed:
            expected = ", ".join(allowed)
            out.append(
                Problem(
                    c.line,
                    c.tag,
                    "xml_schema",
                    f"{name}: <{c.tag}> is not an element of <{node.tag}> in the CIN census (it has {expected})",
                )
            )
            continue
        counts[c.tag] = counts.get(c.tag, 0) + 1
        if counts[c.tag] == 2 and allowed[c.tag][1] == 1:
            out.append(Problem(c.line, c.tag, "xml_schema", f"{name}: <{node.tag}> has more than one <{c.tag}>"))
        out += check_schema(c, name, node.tag)
    for tag, (least, _) in allowed.items():
        if counts.get(tag, 0) < least:
            out.append(
                Problem(
                    node.line,
                    tag,
                    "xml_schema",
                    f"{name}: <{node.tag}> has no <{tag}>, which the CIN census requires",
                )
            )
    return out


def _date(node: Node, tag: str, name: str, problems: list[Problem], required: bool) -> tuple[bool, dt.date | None]:
    element = node.first(tag)
    raw = "" if element is None else element.text.strip()
    if not raw:
        if required:
            problems.append(Problem(node.line, tag, "required", f"{name}: <{tag}> is empty; it is required"))
            return False, None
        return True, None
    got = dfe.iso(raw)
    if got is None:
        line = node.line if element is None else element.line
        problems.append(Problem(line, tag, "date_format", f"{name}: <{tag}> is not a date YYYY-MM-DD (xs:date)"))
        return False, None
    return True, got


def _code(node: Node, tag: str, codes: Mapping[str, str], name: str, problems: list[Problem]) -> str | None:
    raw = node.value(tag)
    if raw in codes:
        return codes[raw]
    element = node.first(tag)
    problems.append(
        Problem(
            node.line if element is None else element.line,
            tag,
            "code",
            f"{name}: <{tag}> is not one of the CIN census codes {', '.join(codes)}",
        )
    )
    return None


def read(
    extract: Extract,
    files: Sequence[Path],
    names: Sequence[str],
    options: Mapping[str, Any],
    out: TextIO,
    period: Period,
) -> Conversion:
    """One authority's CIN census XML into ``cs_contacts`` (its referrals), ``cs_assessments`` or
    ``cs_cp_plans``: the referrals dated in the quarter, the assessments and plans open in it."""
    if extract.name not in (CONTACTS.name, ASSESSMENTS.name, CP_PLANS.name):
        reason = f"format {FORMAT} reads cs_contacts, cs_assessments or cs_cp_plans, not {extract.name}"
        return Conversion([Problem(None, None, "mapping_format", reason)], halted=True)
    problems = dfe.options_problem(FORMAT, options, OPTIONS)
    if len(files) != 1:
        problems.append(Problem(None, None, "mapping_files", f"format {FORMAT} reads one XML file, not {len(files)}"))
    if problems:
        return Conversion(problems, halted=True)
    name = names[0]
    doc = parse(files[0], name)
    if isinstance(doc, Problem):
        return Conversion([doc], halted=True, columns={})
    problems = check_schema(doc, name)
    if problems:
        return Conversion(problems, halted=True)
    header = doc.first("Header")
    details = header.first("CollectionDetails") if header else None
    if details is not None:
        reference = dfe.iso(details.value("ReferenceDate"))
        where = details.first("ReferenceDate")
        line = where.line if where else details.line
        if reference is None:
            problems.append(Problem(line, "ReferenceDate", "date_format", f"{name}: <ReferenceDate> is not YYYY-MM-DD"))
        elif reference < period.end:
            problems.append(
                Problem(
                    line,
                    "ReferenceDate",
                    "census_period",
                    f"{name}: the census's ReferenceDate {reference} is before the end of {period.label} "
                    f"({period.end}), so it does not cover the quarter: put the extract made at or after the "
                    "quarter's end in this folder",
                )
            )
        elif Period.containing(reference).fy_start != period.fy_start:
            problems.append(
                Problem(
                    line,
                    "ReferenceDate",
                    "census_period",
                    f"{name}: the census's ReferenceDate {reference} is in another financial year than "
                    f"{period.label}: a census holds the cases open in its own collection year, so referrals of "
                    f"{period.label} closed before that year would be missing; put the {period.financial_year} "
                    "extract in this folder",
                )
            )
    if problems:
        return Conversion(problems, halted=True)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(extract.column_names)
    la = options["la_code"]
    lines: list[int] = []
    children = doc.first("Children")
    # Every referral of each child, wherever in the file the child's elements are: the earlier referral
    # of a referral is the child's latest before it.
    parsed: list[tuple[str, list[tuple[Node, dt.date | None]]]] = []
    history: dict[str, set[dt.date]] = {}
    for child in children.all("Child") if children else []:
        ids = child.first("ChildIdentifiers")
        child_id = ids.value("LAchildID") if ids else ""
        referrals: list[tuple[Node, dt.date | None]] = []
        for cin in child.all("CINdetails"):
            ok, ref = _date(cin, "CINreferralDate", name, problems, required=True)
            referrals.append((cin, ref if ok else None))
            if ok and ref is not None:
                history.setdefault(child_id, set()).add(ref)
        parsed.append((child_id, referrals))
    seen: dict[tuple[str, str, dt.date], int] = {}
    for child_id, referrals in parsed:
        dated = sorted(history.get(child_id, ()))
        for cin, ref in referrals:
            if ref is None:
                continue
            if extract.name == CONTACTS.name:
                source = _code(cin, "ReferralSource", REFERRAL_SOURCES, name, problems)
                nfa = cin.value("ReferralNFA").lower()
                if nfa not in ("0", "1", "true", "false"):
                    problems.append(
                        Problem(cin.line, "ReferralNFA", "code", f"{name}: <ReferralNFA> must be 0, 1, true or false")
                    )
                if source is None or not period.start <= ref <= period.end:
                    continue
                earlier = [d for d in dated if d < ref]
                w.writerow(
                    [
                        f"{child_id}-{ref:%Y%m%d}",
                        child_id,
                        ref.isoformat(),
                        source,
                        "referral",
                        ref.isoformat(),
                        dfe.text(earlier[-1] if earlier else None),
                        la,
                    ]
                )
                lines.append(cin.line)
            elif extract.name == ASSESSMENTS.name:
                for a in cin.all("Assessments"):
                    ok_s, start = _date(a, "AssessmentActualStartDate", name, problems, required=True)
                    ok_e, auth = _date(a, "AssessmentAuthorisationDate", name, problems, required=False)
                    if not (ok_s and ok_e) or start is None or not dfe.open_in(start, auth, period):
                        continue
                    w.writerow(
                        [
                            _record_id(seen, "A", child_id, start),
                            child_id,
                            ref.isoformat(),
                            start.isoformat(),
                            dfe.text(dfe.as_at(auth, period)),
                            la,
                        ]
                    )
                    lines.append(a.line)
            else:
                for p in cin.all("ChildProtectionPlans"):
                    ok_s, start = _date(p, "CPPstartDate", name, problems, required=True)
                    ok_e, end = _date(p, "CPPendDate", name, problems, required=False)
                    category = _code(p, "InitialCategoryOfAbuse", CATEGORIES, name, problems)
                    previous = p.value("NumberOfPreviousCPP")
                    if not _INT.match(previous):
                        problems.append(
                            Problem(
                                p.line,
                                "NumberOfPreviousCPP",
                                "integer",
                                f"{name}: <NumberOfPreviousCPP> must be a whole number (0 for a first plan)",
                            )
                        )
                        continue
                    if not (ok_s and ok_e) or start is None or category is None or not dfe.open_in(start, end, period):
                        continue
                    w.writerow(
                        [
                            _record_id(seen, "P", child_id, start),
                            child_id,
                            start.isoformat(),
                            dfe.text(dfe.as_at(end, period)),
                            category,
                            int(previous) + 1,
                            la,
                        ]
                    )
                    lines.append(p.line)
    return Conversion(problems, lines, _COLUMNS[extract.name])


_LA = "la_code (mapping option)"
_COLUMNS = {
    CONTACTS.name: {
        "contact_id": "LAchildID, CINreferralDate",
        "child_id": "LAchildID",
        "contact_date": "CINreferralDate",
        "source": "ReferralSource",
        "outcome": "CINdetails",
        "referral_date": "CINreferralDate",
        "previous_referral_date": "CINreferralDate (the child's earlier CINdetails)",
        "la_code": _LA,
    },
    ASSESSMENTS.name: {
        "assessment_id": "LAchildID, AssessmentActualStartDate",
        "child_id": "LAchildID",
        "referral_date": "CINreferralDate",
        "start_date": "AssessmentActualStartDate",
        "authorisation_date": "AssessmentAuthorisationDate",
        "la_code": _LA,
    },
    CP_PLANS.name: {
        "plan_id": "LAchildID, CPPstartDate",
        "child_id": "LAchildID",
        "start_date": "CPPstartDate",
        "end_date": "CPPendDate",
        "initial_category": "InitialCategoryOfAbuse",
        "plan_sequence": "NumberOfPreviousCPP",
        "la_code": _LA,
    },
}


def _record_id(seen: dict[tuple[str, str, dt.date], int], kind: str, child_id: str, start: dt.date) -> str:
    """An assessment's or plan's identifier: the census has none, so the child and the start date,
    and a count when one child has two starting on one day (two <Assessments> elements are two
    assessments by the census's own terms; in file order, so the identifier is the same each load)."""
    n = seen[(kind, child_id, start)] = seen.get((kind, child_id, start), 0) + 1
    return f"{child_id}-{start:%Y%m%d}" + (f"-{n}" if n > 1 else "")


def check_options(extract: Extract, options: Mapping[str, Any]) -> list[str]:
    """The options of ``cin_census`` as a mapping loader checks them before anything loads."""
    found = [] if extract.name in _COLUMNS else [f"format {FORMAT} reads cs_contacts, cs_assessments or cs_cp_plans"]
    return found + [p.reason for p in dfe.options_problem(FORMAT, options, OPTIONS)]


register_by_period(FORMAT, check_options)(read)
