"""The demo's children's social care records as a case-management system's Excel export
(``case_management.xlsx``, one sheet per extract), read with ``mappings/case_management.toml``.

The workbook is what such systems typically export: a title on row 1, the header on row 3, the
system's own column names and codes (contact sources POL, EDU, HLT, ...; outcomes "Referral to CSC",
"Early Help", ...; categories of abuse N, PA, SA, EA, MUL; Yes/No), dates and times as Excel date
cells and plan numbers as numbers. Looked-after episodes, the child population and the targets stay
in their contract CSVs (the DfE SSDA903 and ONS readers deliver those).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import xlsxwriter

from metrics.synthetic.sus import _is_period

FILE = "case_management.xlsx"
HEADER_ROW = 3  # as Excel numbers it; row 1 is the export's title
SOURCES = {
    "police": "POL",
    "school": "EDU",
    "health": "HLT",
    "la_services": "LAS",
    "individual": "IND",
    "other": "OTH",
    "unknown": "UNK",
}
OUTCOMES = {
    "referral": "Referral to CSC",
    "early_help": "Early Help",
    "nfa": "NFA",
    "information_advice": "Advice Given",
}
CATEGORIES = {"neglect": "N", "physical": "PA", "sexual": "SA", "emotional": "EA", "multiple": "MUL"}
YES_NO = {"Y": "Yes", "N": "No"}

# sheet -> (native extract file, [(delivered column, native column, kind)]); kind: text, date,
# datetime, number, or a code table (native -> delivered). "" native column: a column the contract
# does not need (ignored by the mapping).
SHEETS: dict[str, tuple[str, list[tuple[str, str, str | dict[str, str]]]]] = {
    "Contacts": (
        "cs_contacts.csv",
        [
            ("Contact Ref", "contact_id", "text"),
            ("Person Ref", "child_id", "text"),
            ("Contact Received", "contact_date", "date"),
            ("Contact Source", "source", SOURCES),
            ("Contact Outcome", "outcome", OUTCOMES),
            ("Referral Date", "referral_date", "date"),
            ("Previous Referral", "previous_referral_date", "date"),
            ("Local Authority", "la_code", "text"),
            ("Team", "", "text"),
        ],
    ),
    "Assessments": (
        "cs_assessments.csv",
        [
            ("Assessment Ref", "assessment_id", "text"),
            ("Person Ref", "child_id", "text"),
            ("Referral Date", "referral_date", "date"),
            ("Assessment Start", "start_date", "date"),
            ("Authorised Date", "authorisation_date", "date"),
            ("Local Authority", "la_code", "text"),
            ("Team", "", "text"),
        ],
    ),
    "CP Plans": (
        "cs_cp_plans.csv",
        [
            ("CP Plan Ref", "plan_id", "text"),
            ("Person Ref", "child_id", "text"),
            ("Plan Start", "start_date", "date"),
            ("Plan End", "end_date", "date"),
            ("Initial Category", "initial_category", CATEGORIES),
            ("Plan Number", "plan_sequence", "number"),
            ("Local Authority", "la_code", "text"),
        ],
    ),
    "Missing": (
        "cs_missing_episodes.csv",
        [
            ("Missing Ref", "missing_id", "text"),
            ("Person Ref", "child_id", "text"),
            ("Looked After", "looked_after", YES_NO),
            ("Reported Missing", "missing_from", "datetime"),
            ("Returned", "returned_at", "datetime"),
            ("RHI Offered", "rhi_offered_at", "datetime"),
            ("RHI Completed", "rhi_completed_at", "datetime"),
            ("Local Authority", "la_code", "text"),
        ],
    ),
}


def convert(raw_dir: Path) -> list[Path]:
    """Each quarter's contacts, assessments, CP plans and missing episodes under ``raw_dir`` rewritten
    as one ``case_management.xlsx``."""
    written = []
    for folder in sorted(p for p in raw_dir.iterdir() if p.is_dir() and _is_period(p.name)):
        present = {sheet: spec for sheet, spec in SHEETS.items() if (folder / spec[0]).is_file()}
        if not present:
            continue
        out = folder / FILE
        write_workbook(out, {sheet: _rows(folder / spec[0]) for sheet, spec in present.items()})
        for spec in present.values():
            (folder / spec[0]).unlink()
        written.append(out)
    return written


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_workbook(out: Path, sheets: dict[str, list[dict[str, str]]]) -> None:
    """The export: per sheet, a title, a blank row, the header and one row per native record."""
    book = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False, "strings_to_formulas": False})
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    stamp = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    try:
        for sheet, rows in sheets.items():
            columns = SHEETS[sheet][1]
            ws = book.add_worksheet(sheet)
            ws.write_string(0, 0, f"Children's social care export: {sheet}")
            top = HEADER_ROW - 1
            for c, (name, _, _) in enumerate(columns):
                ws.write_string(top, c, name)
            for r, rec in enumerate(rows, start=top + 1):
                for c, (_, native, kind) in enumerate(columns):
                    value = rec.get(native, "") if native else "Team A"
                    if not value:
                        continue
                    if isinstance(kind, dict):
                        ws.write_string(r, c, kind[value])
                    elif kind == "date":
                        ws.write_datetime(r, c, dt.datetime.fromisoformat(value), date)
                    elif kind == "datetime":
                        ws.write_datetime(r, c, dt.datetime.fromisoformat(value), stamp)
                    elif kind == "number":
                        ws.write_number(r, c, int(value))
                    else:
                        ws.write_string(r, c, value)
    finally:
        book.close()
