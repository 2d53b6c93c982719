"""Reference data declared as data (metrics/reference/sources.toml), its generated page, the metrics'
``reference_data`` and the strict reader of the ISR England reference with its replacement."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from metrics.core import reference
from metrics.core.reference import (
    OVERRIDES_ENV,
    ReferenceDataError,
    caveats_for,
    declarations,
    england_acsc_reference,
)
from metrics.core.registry import all_metrics

ROOT = Path(__file__).resolve().parents[1]
PROVISIONAL = "provisional: not comparable with published NHSOF figures"
SHIPPED_ACSC = ROOT / "metrics/reference/england_acsc_reference.csv"


def test_every_reference_file_is_declared_and_every_declaration_has_its_file() -> None:
    folder = ROOT / "metrics/reference"
    files = {p.name for p in folder.iterdir() if p.is_file()} - reference.NOT_DECLARED
    declared = {ref.path.name: ref for ref in declarations().values()}
    assert files == set(declared), "declare each file in metrics/reference/sources.toml (and remove stale entries)"
    for ref in declared.values():
        assert ref.path.is_file() and ref.path.parent == folder
        assert ref.status in reference.STATUSES
        assert ref.source and ref.what and ref.year


def test_unconfirmed_files_carry_a_caveat_and_the_isr_reference_says_provisional() -> None:
    refs = declarations()
    assert all(r.caveat for r in refs.values() if r.status == "unconfirmed")
    isr = refs["england_acsc_reference"]
    assert isr.status == "unconfirmed" and isr.caveat == PROVISIONAL
    assert caveats_for(["esp2013", "admission_methods"]) == ()
    assert caveats_for(["england_acsc_reference", "england_acsc_reference"]) == (PROVISIONAL,)
    with pytest.raises(KeyError, match="unknown reference file"):
        caveats_for(["no_such_file"])


def test_metrics_declare_the_reference_files_their_sql_reads() -> None:
    tables = {r.table: name for name, r in declarations().items() if r.table}
    for m in all_metrics():
        assert set(m.reference_data) <= set(declarations()), m.id
        read = {tables[t] for t in re.findall(r"\b(ref_[a-z0-9_]+)\b", m.sql) if t in tables}
        assert read <= set(m.reference_data), f"{m.id} reads {sorted(read)}: list them in its reference_data"
    isr = next(m for m in all_metrics() if m.id == "avoidable_admissions")
    assert PROVISIONAL in caveats_for(isr.reference_data)


def test_sources_page_is_generated_from_the_declarations() -> None:
    page = (ROOT / "metrics/reference/SOURCES.md").read_text(encoding="utf-8")
    assert reference.sources_markdown() in page, "SOURCES.md is stale: run `scorecard docs`"
    for ref in declarations().values():
        assert f"`{ref.path.name}`" in page


def test_declarations_reject_a_bad_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "sources.toml"
    bad.write_text('[x]\nfile = "x.csv"\nwhat = "w"\nsource = "s"\nyear = "y"\nstatus = "unconfirmed"\n')
    monkeypatch.setattr(reference, "DECLARATIONS", bad)
    with pytest.raises(ReferenceDataError, match=r"\[x\] is unconfirmed, so it needs a caveat"):
        declarations()
    bad.write_text('[x]\nfile = "x.csv"\nwhat = "w"\nsource = "s"\nyear = "y"\nstatus = "sure"\n')
    with pytest.raises(ReferenceDataError, match="status 'sure' must be one of"):
        declarations()
    bad.write_text('[x]\nfile = "x.csv"\nwhat = "w"\nsource = "s"\nstatus = "confirmed"\nwho = "me"\n')
    with pytest.raises(ReferenceDataError, match="needs text for year"):
        declarations()


def _override(tmp_path: Path, csv_text: str, status: str = "confirmed", name: str = "england_acsc_reference") -> Path:
    (tmp_path / "nhsof_2012_13.csv").write_text(csv_text, encoding="utf-8")
    caveat = 'caveat = "still provisional"\n' if status == "unconfirmed" else ""
    decl = tmp_path / "overrides.toml"
    decl.write_text(
        f'[{name}]\nfile = "nhsof_2012_13.csv"\nwhat = "England 2012/13 ACSC admissions and population"\n'
        f'source = "NHS Digital NHSOF 2.3.i reference year 2012/13"\nyear = "2012/13"\nstatus = "{status}"\n{caveat}',
        encoding="utf-8",
    )
    return decl


def test_a_declared_confirmed_replacement_drops_the_provisional_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decl = _override(tmp_path, SHIPPED_ACSC.read_text(encoding="utf-8").replace("3344", "3345"))
    monkeypatch.setenv(OVERRIDES_ENV, str(decl))
    ref = declarations()["england_acsc_reference"]
    assert ref.replaced and ref.status == "confirmed" and ref.path == tmp_path / "nhsof_2012_13.csv"
    assert ref.table == "ref_england_acsc"  # the warehouse table stays the shipped one's
    assert caveats_for(["england_acsc_reference"]) == ()
    rows = england_acsc_reference()
    assert len(rows) == 38 and rows[0].admissions == 3345
    assert ref.as_dict()["sha256"] != reference.ReferenceFile(**{**ref.__dict__, "path": SHIPPED_ACSC}).sha256()


def test_an_unconfirmed_replacement_keeps_its_own_caveat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OVERRIDES_ENV, str(_override(tmp_path, SHIPPED_ACSC.read_text(), status="unconfirmed")))
    assert caveats_for(["england_acsc_reference"]) == ("still provisional",)


def test_only_files_with_a_strict_reader_can_be_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OVERRIDES_ENV, str(_override(tmp_path, "code\n", name="hwb_codes")))
    with pytest.raises(ReferenceDataError, match=r"\[hwb_codes\] cannot be replaced"):
        declarations()
    monkeypatch.setenv(OVERRIDES_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(ReferenceDataError, match="not found"):
        declarations()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("age_band,sex,admissions,population", "age_band,sex,admissions,pop"),
            "row 1 \\(header\\)",
        ),
        (lambda t: t.replace("0-4,M,3344", "0-4,M,3344.0"), "row 2, column admissions: '3344.0' is not a whole number"),
        (lambda t: t.replace("0-4,M,3344,1720000", '0-4,M,3344,"1,720,000"'), "row 2, column population"),
        (lambda t: t.replace("0-4,M,3344", "0-4,M, 3344"), "row 2, column admissions"),
        (lambda t: t.replace("0-4,M,3344", "0-4,M,-3344"), "row 2, column admissions"),
        (lambda t: t.replace("0-4,M,", "0-4,X,"), "row 2, column sex: 'X' must be F or M"),
        (lambda t: t.replace("0-4,M,", "00-04,M,"), "row 2, column age_band: '00-04'"),
        (lambda t: t.replace("0-4,M,3344,1720000", "0-4,M,3344,0"), "row 2, column population: must be above zero"),
        (lambda t: t.replace("0-4,M,3344,1720000", "0-4,M,3344,1720000,9"), "row 2 has 5 cells"),
        (lambda t: t.replace("0-4,M,", "0-4,F,"), "row 3: age band 0-4 sex F already given on row 2"),
        (lambda t: "\n".join(t.splitlines()[:-1]) + "\n", "no row for 90\\+"),
    ],
)
def test_the_isr_reference_is_read_strictly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: object, message: str
) -> None:
    text = SHIPPED_ACSC.read_text(encoding="utf-8")
    assert text.startswith("age_band,sex,admissions,population\n0-4,M,3344,1720000\n0-4,F,")
    monkeypatch.setenv(OVERRIDES_ENV, str(_override(tmp_path, edit(text))))  # type: ignore[operator]
    with pytest.raises(ReferenceDataError, match=message) as info:
        england_acsc_reference()
    assert str(tmp_path / "nhsof_2012_13.csv") in str(info.value)
    assert OVERRIDES_ENV in str(info.value)  # the fix


def test_the_shipped_isr_reference_passes_the_strict_reader() -> None:
    rows = england_acsc_reference()
    assert {(r.age_band, r.sex) for r in rows} == {(b, s) for b in reference.AGE_BANDS for s in "FM"}
    # The case file's worked figures use these totals (cases/avoidable_admissions.toml).
    assert sum(r.admissions for r in rows) == 543_460 and sum(r.population for r in rows) == 54_310_000


def test_the_warehouse_loads_the_declared_isr_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from metrics.warehouse import load_reference

    text = SHIPPED_ACSC.read_text(encoding="utf-8").replace("0-4,M,3344", "0-4,M,1")
    monkeypatch.setenv(OVERRIDES_ENV, str(_override(tmp_path, text)))
    con = duckdb.connect()
    load_reference(con)
    got = con.execute("SELECT admissions FROM ref_england_acsc WHERE age_band = '0-4' AND sex = 'M'").fetchall()
    assert got == [(1.0,)]
    assert con.execute("SELECT count(*) FROM ref_england_acsc").fetchone() == (38,)
    shutil.copy(SHIPPED_ACSC, tmp_path / "nhsof_2012_13.csv")
    (tmp_path / "nhsof_2012_13.csv").write_text(text.replace("0-4,M,1,", "0-4,M,1e3,"), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="row 2, column admissions"):
        load_reference(con)
