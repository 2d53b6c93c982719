"""DfE returns (SSDA903 CSVs, the CIN census XML) read directly into the safeguarding extracts.

Malformed returns (``metrics.synthetic.dfe`` files, edited) are rejected with the file, the line and
the column or element; unsafe XML (entity expansion, external entities) is refused before anything
is read from it. The figures end to end: tests/test_dfe_returns_e2e.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metrics.contracts import EXTRACTS
from metrics.core.provenance import MARKER, is_marked
from metrics.core.results import LoadOutcome
from metrics.ingest.load import load_delivery
from metrics.ingest.readers import Delivery
from metrics.synthetic import dfe
from metrics.validate.gx import Validator
from tests.dfe_returns import LA, PERIOD, write_returns
from tests.workspace import ROOT


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_returns(tmp_path_factory.mktemp("dfe"))


def _load(
    con: duckdb.DuckDBPyConnection, validator: Validator, extract: str, files: list[Path], fmt: str, **options: Any
) -> LoadOutcome:
    delivery = Delivery(EXTRACTS[extract], tuple(files), fmt, {"la_code": LA.code, **options})
    return load_delivery(con, delivery, PERIOD, "t", validator.validate)


def _edit(src: Path, dst: Path, old: str, new: str, count: int = 1) -> Path:
    body = src.read_text()
    assert old in body, old
    dst.write_text(body.replace(old, new, count))
    return dst


def _where(outcome: LoadOutcome) -> set[tuple[int | None, str | None, str]]:
    return {(p.line, p.column, p.rule) for p in outcome.problems}


def test_ssda903_missing_column_wrong_code_and_date_are_placed(
    folders: tuple[Path, Path], tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    q = folders[0] / PERIOD.label
    header = q / dfe.HEADER_FILE
    lines = (q / dfe.EPISODES_FILE).read_text().splitlines()
    # No LS column: the file is named, with the column it lacks, at its header line.
    no_ls = tmp_path / "episodes.csv"
    no_ls.write_text("\n".join(",".join(c for i, c in enumerate(r.split(",")) if i != 3) for r in lines) + "\n")
    got = _load(con, validator, "cs_cla_episodes", [header, no_ls], "ssda903_episodes")
    assert got.status == "rejected" and _where(got) == {(1, "LS", "missing_column")}
    assert "episodes.csv" in got.problems[0].reason
    # LS not in the code list on line 3, a DECOM not written DD/MM/YYYY on line 5.
    cells = [r.split(",") for r in lines]
    cells[2][3] = "V9"
    cells[4][1] = "2009-08-29"
    bad = tmp_path / "bad_episodes.csv"
    bad.write_text("\n".join(",".join(r) for r in cells) + "\n")
    got = _load(con, validator, "cs_cla_episodes", [header, bad], "ssda903_episodes")
    assert got.status == "rejected"
    assert _where(got) == {(3, "LS", "code"), (5, "DECOM", "date_format")}
    assert "line 3, column LS" in got.summary() and "bad_episodes.csv" in got.summary()
    assert con.execute("SELECT count(*) FROM cs_cla_episodes").fetchall() == [(0,)]  # nothing half-loaded
    # The files in either order are told apart by their columns; the good pair loads.
    ok = _load(con, validator, "cs_cla_episodes", [q / dfe.EPISODES_FILE, header], "ssda903_episodes")
    assert ok.status == "accepted", ok.summary()


def test_ssda903_contract_problems_come_back_in_delivered_terms(
    folders: tuple[Path, Path], tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    q = folders[0] / PERIOD.label
    lines = (q / dfe.EPISODES_FILE).read_text().splitlines()
    cells = [r.split(",") for r in lines]
    ended = next(i for i, r in enumerate(cells[1:], start=1) if r[7])
    cells[ended][7] = "01/01/2000"  # ends before it began, and before the quarter
    bad = tmp_path / "episodes.csv"
    bad.write_text("\n".join(",".join(r) for r in cells) + "\n")
    got = _load(con, validator, "cs_cla_episodes", [q / dfe.HEADER_FILE, bad], "ssda903_episodes")
    # An episode that ended before the quarter is not the quarter's: left out, so this one loads...
    assert got.status == "accepted", got.summary()
    in_quarter = next(
        i
        for i, r in enumerate(cells[1:], start=1)
        if r[7] and PERIOD.start <= dt.datetime.strptime(r[7], "%d/%m/%Y").date() < PERIOD.end
    )
    cells[ended][7] = ""
    cells[in_quarter][1] = PERIOD.end.strftime("%d/%m/%Y")  # ...but one that ends before it starts does not
    bad.write_text("\n".join(",".join(r) for r in cells) + "\n")
    got = _load(con, validator, "cs_cla_episodes", [q / dfe.HEADER_FILE, bad], "ssda903_episodes")
    assert got.status == "rejected"
    assert {p.line for p in got.problems} == {in_quarter + 1}, got.problems
    assert {p.column for p in got.problems} <= {"DEC", "DECOM"}, got.problems


def test_ssda903_missing_reader_and_its_options(
    folders: tuple[Path, Path], tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    q = folders[0] / PERIOD.label
    got = _load(con, validator, "cs_missing_episodes", [q / dfe.MISSING_FILE], "ssda903_missing")
    assert got.status == "accepted", got.summary()
    kinds = _edit(q / dfe.MISSING_FILE, tmp_path / "missing.csv", ",M,", ",X,")
    got = _load(con, validator, "cs_missing_episodes", [kinds], "ssda903_missing")
    assert _where(got) == {(2, "MISSING", "code")}
    no_la = load_delivery(
        con,
        Delivery(EXTRACTS["cs_missing_episodes"], (q / dfe.MISSING_FILE,), "ssda903_missing", {"wrong": 1}),
        PERIOD,
        "t",
        validator.validate,
    )
    reasons = " ".join(p.reason for p in no_la.problems)
    assert no_la.status == "rejected" and "unknown option 'wrong'" in reasons and "la_code" in reasons


def test_cin_census_not_matching_the_schema_is_rejected_with_line_and_element(
    folders: tuple[Path, Path], tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    xml = folders[0] / PERIOD.label / dfe.CIN_FILE
    text = xml.read_text().splitlines()
    first_ref = next(i for i, t in enumerate(text, start=1) if "<CINreferralDate>" in t)
    details = first_ref - 1  # the <CINdetails> line
    # A required element missing: the CINdetails named, at its line.
    missing = _edit(xml, tmp_path / "a.xml", text[first_ref - 1] + "\n", "")
    got = _load(con, validator, "cs_contacts", [missing], "cin_census")
    assert got.status == "rejected" and _where(got) == {(details, "CINreferralDate", "xml_schema")}
    # An element where the census has none.
    wrong = _edit(xml, tmp_path / "b.xml", "<ReferralNFA>0</ReferralNFA>", "<ReferralNfa>0</ReferralNfa>")
    got = _load(con, validator, "cs_assessments", [wrong], "cin_census")
    line = next(i for i, t in enumerate(wrong.read_text().splitlines(), start=1) if "ReferralNfa" in t)
    assert _where(got) == {(line, "ReferralNfa", "xml_schema"), (details, "ReferralNFA", "xml_schema")}
    # A wrong code, a date in the wrong form: at the element's line.
    code = _edit(xml, tmp_path / "c.xml", "<InitialCategoryOfAbuse>", "<InitialCategoryOfAbuse>X")
    got = _load(con, validator, "cs_cp_plans", [code], "cin_census")
    line = next(i for i, t in enumerate(code.read_text().splitlines(), start=1) if "CategoryOfAbuse>X" in t)
    assert got.status == "rejected" and _where(got) == {(line, "InitialCategoryOfAbuse", "code")}
    date = _edit(xml, tmp_path / "d.xml", text[first_ref - 1], text[first_ref - 1].replace("-", "/"))
    got = _load(con, validator, "cs_contacts", [date], "cin_census")
    assert _where(got) == {(first_ref, "CINreferralDate", "date_format")}
    # Not even XML: expat's line.
    broken = _edit(xml, tmp_path / "e.xml", "</Children>", "</Child>")
    got = _load(con, validator, "cs_contacts", [broken], "cin_census")
    assert [p.rule for p in got.problems] == ["xml_syntax"] and got.problems[0].line == len(text) - 1
    # An extract of an earlier quarter end does not cover this one.
    early = _edit(xml, tmp_path / "f.xml", f"<ReferenceDate>{PERIOD.end}", "<ReferenceDate>2023-06-30")
    got = _load(con, validator, "cs_contacts", [early], "cin_census")
    assert [p.rule for p in got.problems] == ["census_period"] and "2023-06-30" in got.problems[0].reason
    # One of a later year holds only the cases open in that year: not this quarter's either.
    later = _edit(xml, tmp_path / "g.xml", f"<ReferenceDate>{PERIOD.end}", "<ReferenceDate>2025-03-31")
    got = _load(con, validator, "cs_assessments", [later], "cin_census")
    assert [p.rule for p in got.problems] == ["census_period"] and "another financial year" in got.problems[0].reason
    # The year-end census of the same year is cut to the quarter: it loads.
    year_end = _edit(xml, tmp_path / "h.xml", f"<ReferenceDate>{PERIOD.end}", "<ReferenceDate>2024-03-31")
    assert _load(con, validator, "cs_cp_plans", [year_end], "cin_census").status == "accepted"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Message [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Message><Header>&lol9;</Header></Message>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE Message [<!ENTITY secret SYSTEM "file://{target}">]>
<Message><Header>&secret;</Header></Message>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE Message SYSTEM "file://{target}">
<Message/>
"""


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, EXTERNAL, EXTERNAL_DTD])
def test_unsafe_xml_is_refused_with_a_plain_problem(
    attack: str, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = tmp_path / "census.xml"
    xml.write_text(attack.format(target=secret))
    got = _load(con, validator, "cs_contacts", [xml], "cin_census")
    assert got.status == "rejected" and [p.rule for p in got.problems] == ["xml_unsafe"]
    assert got.problems[0].line == 2 and "DTD" in got.problems[0].reason and "census.xml" in got.problems[0].reason
    stored = con.execute("SELECT string_agg(reason || coalesce(record, ''), ' ') FROM rejects").fetchall()[0][0]
    assert "TOP-SECRET" not in stored and "lol" not in stored


def test_an_undeclared_entity_is_a_syntax_problem(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    xml = tmp_path / "census.xml"
    xml.write_text('<?xml version="1.0"?>\n<Message>\n<Header>&secret;</Header></Message>\n')
    got = _load(con, validator, "cs_contacts", [xml], "cin_census")
    assert [(p.line, p.rule) for p in got.problems] == [(3, "xml_syntax")]
    assert "undefined entity" in got.problems[0].reason


def test_option_checks_a_mapping_loader_can_run_before_loading() -> None:
    from metrics.ingest.formats import cin_census, ssda903

    assert ssda903.check_episode_options(EXTRACTS["cs_cla_episodes"], {"la_code": LA.code}) == []
    assert cin_census.check_options(EXTRACTS["cs_cp_plans"], {"la_code": LA.code}) == []
    bad = ssda903.check_missing_options(EXTRACTS["cs_contacts"], {"include_away": "yes"})
    assert len(bad) == 3 and any("la_code" in m for m in bad) and any("cs_missing_episodes" in m for m in bad)
    assert any("E99999999" in m for m in cin_census.check_options(EXTRACTS["cs_contacts"], {"la_code": "E99999999"}))


def test_a_referrals_earlier_referral_is_the_childs_latest_before_it_anywhere_in_the_file(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    def child(ref: str, source: str = "6") -> str:
        return (
            "<Child><ChildIdentifiers><LAchildID>CH0001</LAchildID></ChildIdentifiers><CINdetails>"
            f"<CINreferralDate>{ref}</CINreferralDate><ReferralSource>{source}</ReferralSource>"
            "<ReferralNFA>false</ReferralNFA></CINdetails></Child>"
        )

    head = (
        "<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2024</Year>"
        f"<ReferenceDate>{PERIOD.end}</ReferenceDate></CollectionDetails><Source><LEA>940</LEA></Source>"
        "</Header><Children>"
    )
    # Three referrals of one child, the oldest filed last: 2023-08-01 follows 2022-09-01 (within 12
    # months, a re-referral), 2023-09-15 follows 2023-08-01; the 2022 one is not this quarter's.
    body = child("2023-08-01") + "\n" + child("2023-09-15", "2B") + "\n" + child("2022-09-01")
    xml = tmp_path / "cin.xml"
    xml.write_text(head + "\n" + body + "\n</Children></Message>\n")
    got = _load(con, validator, "cs_contacts", [xml], "cin_census")
    assert got.status == "accepted", got.summary()
    rows = con.execute(
        "SELECT contact_date::VARCHAR, source, previous_referral_date::VARCHAR FROM cs_contacts ORDER BY 1"
    ).fetchall()
    assert rows == [("2023-08-01", "police", "2022-09-01"), ("2023-09-15", "other", "2023-08-01")]


def test_demo_data_formats_dfe_writes_the_returns_and_never_over_the_shipped_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    shipped = ROOT / "data" / "raw"
    before = sorted(p.name for p in (shipped / PERIOD.label).iterdir())
    assert main(["demo-data", "--formats", "dfe", "--out", str(shipped)]) == 2
    assert "not data/raw" in capsys.readouterr().err
    assert sorted(p.name for p in (shipped / PERIOD.label).iterdir()) == before
    assert main(["demo-data", "--formats", "dfe", "--out", str(tmp_path)]) == 0
    got = sorted(p.name for p in (tmp_path / PERIOD.label).iterdir())
    native = ["child_population.csv", "cs_contacts.csv", "cs_missing_episodes.csv", "cs_targets.csv"]
    assert got == sorted([dfe.CIN_FILE, dfe.HEADER_FILE, dfe.EPISODES_FILE, dfe.MISSING_FILE, *native, MARKER])
    # Every file of the DfE demo is declared synthetic, so a run from it says so on every output.
    assert all(is_marked(tmp_path / PERIOD.label / name) for name in got if name != MARKER)
    assert "--mapping mappings/dfe.toml" in capsys.readouterr().out


def test_two_assessments_of_one_child_starting_on_one_day_are_two_assessments(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    """The census has no assessment identifier: the reader makes one from the child and the start
    date, and counts a second one starting that day (the shipped demo has such a child in 2022-23 Q3,
    which the reader used to reject as a duplicate assessment_id). Two <Assessments> in, two rows."""
    head = (
        "<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2024</Year>"
        f"<ReferenceDate>{PERIOD.end}</ReferenceDate></CollectionDetails><Source><LEA>940</LEA></Source>"
        "</Header><Children>"
    )
    start = PERIOD.start.isoformat()
    child = (
        "<Child><ChildIdentifiers><LAchildID>CH0002</LAchildID></ChildIdentifiers><CINdetails>"
        f"<CINreferralDate>{start}</CINreferralDate><ReferralSource>6</ReferralSource>"
        f"<Assessments><AssessmentActualStartDate>{start}</AssessmentActualStartDate></Assessments>"
        f"<Assessments><AssessmentActualStartDate>{start}</AssessmentActualStartDate></Assessments>"
        "<ReferralNFA>false</ReferralNFA></CINdetails></Child>"
    )
    xml = tmp_path / "cin.xml"
    xml.write_text(head + "\n" + child + "\n</Children></Message>\n")
    got = _load(con, validator, "cs_assessments", [xml], "cin_census")
    assert got.status == "accepted", got.summary()
    ids = [r[0] for r in con.execute("SELECT assessment_id FROM cs_assessments ORDER BY 1").fetchall()]
    stamp = PERIOD.start.strftime("%Y%m%d")
    assert ids == [f"CH0002-{stamp}", f"CH0002-{stamp}-2"]
