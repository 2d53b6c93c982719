"""The safeguarding demo's synthetic records written as the DfE returns councils already make:
SSDA903 CSVs (header, episodes, missing) and the Children in Need census XML, with DfE's exact
column and element names, codes and date forms, one set per authority and quarter.

The records are the shipped demo's (``metrics.synthetic.safeguarding``, same seed, same timeline),
cut to each quarter as the native extracts are. Where the returns cannot hold a record as the native
contract does, the record is made representable and the same adjusted records are written beside
them as native CSVs (``write(..., twins=DIR)``), so a test can compare figures like for like:

- the CIN census holds referrals, not contacts: only contacts that became referrals are kept;
- a referral's earlier referral is, in the census, the child's earlier ``<CINdetails>``: each
  referral is filed under its own LAchildID (the demo draws earlier-referral dates per referral, not
  from a child's history), with its earlier referral as a closed ``<CINdetails>``; one dated inside
  the quarter would itself count as that quarter's referral, so it is dropped;
- an assessment of an earlier quarter's referral, and a child protection plan (the demo does not
  link plans to referrals), sit under a referral dated before the quarter, so they add no referral;
- the SSDA903 missing file holds looked-after children's episodes with whole dates and no return
  interviews: only looked-after children's episodes, at 00:00, without interview times.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from metrics.contracts import ASSESSMENTS, CLA_EPISODES, CONTACTS, CP_PLANS, MISSING_EPISODES
from metrics.core.periods import Period
from metrics.ingest.formats.cin_census import CATEGORIES, REFERRAL_SOURCES
from metrics.ingest.formats.ssda903 import EPISODE_COLUMNS, HEADER_COLUMNS, MISSING_COLUMNS
from metrics.synthetic import safeguarding as sg

# File names in each quarter folder (mappings/dfe.toml names them).
HEADER_FILE, EPISODES_FILE, MISSING_FILE, CIN_FILE = (
    "SSDA903_header.csv",
    "SSDA903_episodes.csv",
    "SSDA903_missing.csv",
    "CIN_census.xml",
)
# DfE's three-digit local authority numbers of the demo's authorities (the census header's LEA).
LEA = {"E06000061": "940", "E06000062": "941"}
# One census code per contract group, for writing (the reader maps every code of a group back to it).
SOURCE_CODE = {"individual": "1A", "school": "2A", "health": "3A", "la_services": "5A", "police": "6"}
SOURCE_CODE |= {"other": "8", "unknown": "10"}
CATEGORY_CODE = {v: k for k, v in CATEGORIES.items()}
DFE_EXTRACTS = (CONTACTS, ASSESSMENTS, CP_PLANS, CLA_EPISODES, MISSING_EPISODES)
assert all(REFERRAL_SOURCES[c] == g for g, c in SOURCE_CODE.items())


Row = dict[str, Any]


def _missing(d: Any) -> bool:
    return d is None or d is pd.NaT or (isinstance(d, float) and d != d)


def _dmy(d: Any) -> str:
    return "" if _missing(d) else pd.Timestamp(d).strftime("%d/%m/%Y")


def _iso(d: Any) -> str:
    return "" if _missing(d) else pd.Timestamp(d).strftime("%Y-%m-%d")


def _rows(frame: pd.DataFrame) -> list[Row]:
    """A frame's records, dates as Timestamps (NaT where empty)."""
    return [
        {str(k): (pd.Timestamp(v) if isinstance(v, np.datetime64) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def _dob(child: str, before: dt.date) -> dt.date:
    """A child's synthetic date of birth, 1 to 15 years before ``before`` (stable per child)."""
    days = 365 + int(hashlib.sha256(child.encode()).hexdigest()[:6], 16) % (14 * 365)
    return before - dt.timedelta(days=days)


def records(timeline: sg._Timeline, period: Period) -> dict[str, pd.DataFrame]:
    """The quarter's native records as the returns can hold them (see the module docstring)."""
    q_start = np.datetime64(period.start, "D")
    contacts = sg._in(timeline.contacts, "contact_date", period)
    contacts = contacts[contacts["outcome"] == "referral"].copy()
    prev = contacts["previous_referral_date"].to_numpy().astype("datetime64[D]")
    contacts["previous_referral_date"] = np.where(prev >= q_start, np.datetime64("NaT"), prev)
    missing = sg._in(timeline.missing, "returned_at", period)
    missing = missing[missing["looked_after"] == "Y"].copy()
    for col in ("missing_from", "returned_at"):
        missing[col] = missing[col].to_numpy().astype("datetime64[D]").astype("datetime64[m]")
    missing["rhi_offered_at"] = np.datetime64("NaT", "m")
    missing["rhi_completed_at"] = np.datetime64("NaT", "m")
    return {
        CONTACTS.name: contacts,
        ASSESSMENTS.name: sg._open_in(timeline.assessments, "start_date", "authorisation_date", period),
        CP_PLANS.name: sg._open_in(timeline.plans, "start_date", "end_date", period),
        CLA_EPISODES.name: sg._open_in(timeline.cla, "start_date", "end_date", period),
        MISSING_EPISODES.name: missing,
    }


def _csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")  # as exported from a case-management system
        w.writerow(header)
        w.writerows(rows)
    return path


def write_ssda903(folder: Path, recs: dict[str, pd.DataFrame]) -> list[Path]:
    """The SSDA903 header, episodes and missing files of one authority's quarter."""
    cla, missing = _rows(recs[CLA_EPISODES.name]), _rows(recs[MISSING_EPISODES.name])
    first: dict[str, pd.Timestamp] = {}
    for r in cla:
        child = str(r["child_id"])
        first[child] = min(first.get(child, r["start_date"]), r["start_date"])
    header: list[list[str]] = []
    for child in sorted(first):
        h = int(hashlib.sha256(child.encode()).hexdigest()[:2], 16)
        dob = _dob(child, first[child].date())
        header.append([child, "1" if h % 2 else "2", dob.strftime("%d/%m/%Y"), "WBRI", "UN4", "", ""])
    episodes: list[list[str]] = []
    for r in cla:
        row = {c: "" for c in EPISODE_COLUMNS}
        row |= {"CHILD": str(r["child_id"]), "DECOM": _dmy(r["start_date"]), "RNE": "S", "LS": str(r["legal_status"])}
        row |= {"CIN": "N1", "PLACE": "U1", "PLACE_PROVIDER": "PR1", "DEC": _dmy(r["end_date"])}
        row["REC"] = "" if _missing(r["end_date"]) else "E8"
        episodes.append([row[c] for c in EPISODE_COLUMNS])
    away: list[list[str]] = []
    for r in missing:
        dob = _dob(str(r["child_id"]), pd.Timestamp(r["missing_from"]).date())
        away.append(
            [str(r["child_id"]), dob.strftime("%d/%m/%Y"), "M", _dmy(r["missing_from"]), _dmy(r["returned_at"])]
        )
    return [
        _csv(folder / HEADER_FILE, HEADER_COLUMNS, header),
        _csv(folder / EPISODES_FILE, EPISODE_COLUMNS, episodes),
        _csv(folder / MISSING_FILE, MISSING_COLUMNS, away),
    ]


def _el(tag: str, value: object, indent: int) -> str:
    return f"{'  ' * indent}<{tag}>{escape(str(value))}</{tag}>"


def _cin_details(referral: object, source: str, closed: object, assessments: list[Row], plans: list[Row]) -> list[str]:
    out = ["      <CINdetails>", _el("CINreferralDate", _iso(referral), 4), _el("ReferralSource", source, 4)]
    out.append(_el("PrimaryNeedCode", "N1", 4))
    if not _missing(closed):
        out += [_el("CINclosureDate", _iso(closed), 4), _el("ReasonForClosure", "RC8", 4)]
    for a in assessments:
        out += ["        <Assessments>", _el("AssessmentActualStartDate", _iso(a["start_date"]), 5)]
        if not _missing(a["authorisation_date"]):
            out.append(_el("AssessmentAuthorisationDate", _iso(a["authorisation_date"]), 5))
        out.append("        </Assessments>")
    out.append(_el("ReferralNFA", "0", 4))
    for p in plans:
        out += ["        <ChildProtectionPlans>", _el("CPPstartDate", _iso(p["start_date"]), 5)]
        if not _missing(p["end_date"]):
            out.append(_el("CPPendDate", _iso(p["end_date"]), 5))
        category = CATEGORY_CODE[p["initial_category"]]
        out += [_el("InitialCategoryOfAbuse", category, 5), _el("LatestCategoryOfAbuse", category, 5)]
        out += [_el("NumberOfPreviousCPP", int(p["plan_sequence"]) - 1, 5), "        </ChildProtectionPlans>"]
    return [*out, "      </CINdetails>"]


def _child(la_child_id: str, details: list[str]) -> list[str]:
    ids = ["      <ChildIdentifiers>", _el("LAchildID", la_child_id, 4), _el("UPNunknown", "UN4", 4)]
    return ["    <Child>", *ids, "      </ChildIdentifiers>", *details, "    </Child>"]


def write_cin(path: Path, code: str, period: Period, recs: dict[str, pd.DataFrame]) -> Path:
    """One authority's CIN census XML as at the quarter's end (ReferenceDate)."""
    q_start = pd.Timestamp(period.start)
    contacts, assessments, plans = _rows(recs[CONTACTS.name]), _rows(recs[ASSESSMENTS.name]), _rows(recs[CP_PLANS.name])
    mine: dict[tuple[str, pd.Timestamp], list[Row]] = {}
    earlier: list[Row] = []
    for a in assessments:
        if pd.Timestamp(a["referral_date"]) >= q_start:
            mine.setdefault((str(a["child_id"]), pd.Timestamp(a["referral_date"])), []).append(a)
        else:
            earlier.append(a)
    body: list[str] = []
    for c in contacts:
        taken = mine.pop((str(c["child_id"]), pd.Timestamp(c["contact_date"])), [])
        details: list[str] = []
        prev = c["previous_referral_date"]
        if not _missing(prev):  # the earlier referral, closed before this one
            details += _cin_details(prev, "8", pd.Timestamp(prev) + pd.Timedelta(days=1), [], [])
        details += _cin_details(c["contact_date"], SOURCE_CODE[c["source"]], pd.NaT, taken, [])
        body += _child(str(c["contact_id"]), details)
    # Assessments of referrals before the quarter (or not delivered): each under its own referral.
    for a in sorted(earlier + [a for left in mine.values() for a in left], key=lambda a: str(a["assessment_id"])):
        body += _child(str(a["assessment_id"]), _cin_details(a["referral_date"], "10", pd.NaT, [a], []))
    by_child: dict[str, list[Row]] = {}
    for p in plans:
        by_child.setdefault(str(p["child_id"]), []).append(p)
    for child in sorted(by_child):
        details = []
        for p in by_child[child]:
            referral = min(pd.Timestamp(p["start_date"]), q_start - pd.Timedelta(days=1))
            details += _cin_details(referral, "10", pd.NaT, [], [p])
        body += _child(child, details)
    head = [
        "<?xml version='1.0' encoding='utf-8'?>",
        "<Message>",
        "  <Header>",
        "    <CollectionDetails>",
        _el("Collection", "CIN", 3),
        _el("Year", period.fy_start + 1, 3),
        _el("ReferenceDate", period.end.isoformat(), 3),
        "    </CollectionDetails>",
        "    <Source>",
        _el("SourceLevel", "L", 3),
        _el("LEA", LEA.get(code, "000"), 3),
        _el("SoftwareCode", "Local Authority", 3),
        _el("Release", "synthetic", 3),
        _el("SerialNo", "001", 3),
        _el("DateTime", f"{period.end.isoformat()}T23:00:00", 3),
        "    </Source>",
        "  </Header>",
        "  <Children>",
    ]
    path.write_text("\n".join([*head, *body, "  </Children>", "</Message>", ""]), encoding="utf-8")
    return path


def write(
    out_dir: Path,
    periods: Sequence[Period],
    la: sg.LaProfile,
    seed: int = 2022,
    twins: Path | None = None,
) -> dict[str, list[Path]]:
    """``out_dir/<period>/`` the SSDA903 CSVs and the CIN census XML of one authority; with ``twins``,
    the same adjusted records as native contract CSVs under ``twins/<period>/``."""
    periods = sorted(set(periods))
    timeline = sg._simulate(la, periods[0], periods[-1], seed)
    written: dict[str, list[Path]] = {}
    for period in periods:
        recs = records(timeline, period)
        folder = out_dir / period.label
        folder.mkdir(parents=True, exist_ok=True)
        written[period.label] = [*write_ssda903(folder, recs), write_cin(folder / CIN_FILE, la.code, period, recs)]
        if twins is not None:
            for extract in DFE_EXTRACTS:
                sg._write(recs[extract.name], extract, twins / period.label / extract.filename)
    return written


def write_demo(out_dir: Path) -> dict[str, list[Path]]:
    """The demo's quarters for North Northamptonshire as DfE returns, beside the native extracts the
    returns do not replace (``mappings/dfe.toml``: contacts and missing episodes stay native)."""
    la = sg.demo_profiles()[0]
    periods = [Period.parse(p) for p in sg.DEMO_PERIODS]
    native = sg.generate(out_dir, periods, [la], seed=2022)
    replaced = {ASSESSMENTS.filename, CP_PLANS.filename, CLA_EPISODES.filename}
    for files in native.values():
        for f in files:
            if f.name in replaced:
                f.unlink()
    return write(out_dir, periods, la, seed=2022)
