"""Area codes that changed without a boundary change (1 April 2025: Barnsley E08000016 -> E08000038,
Sheffield E08000019 -> E08000039). Extracts are accepted under either code and stored and reported
under the current one, the delivered code kept beside it; one file may not carry an area under both."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from metrics import warehouse
from metrics.compute.metric import compute_metric
from metrics.compute.targets import targets_for
from metrics.contracts import CHILD_POPULATION, CLA_EPISODES, PLANS, POPULATION
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.reference import current_hwb_code, hwb_code_list, hwb_names, hwb_recodes
from metrics.core.results import ACCEPTED, REJECTED
from metrics.ingest.load import load_extract
from metrics.validate.gx import Validator
from pipelines.checks import check_areas, delivered_areas
from pipelines.flows import resolve_hwbs
from tests.extract_builders import write_extract

Q1 = Period.parse("2025-26-Q1")  # April to June 2025, after the recode
OLD, NEW = "E08000016", "E08000038"  # Barnsley


def test_the_code_list_is_parsed_once_and_again_when_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every area lookup reads the list (about 170 times per quarter computed): parsed once while the
    file is unchanged, and again at once when it is edited, so an edit still applies without a restart."""
    from metrics.core import reference

    folder = tmp_path / "reference"
    folder.mkdir()
    text = (reference.REFERENCE / "hwb_codes.csv").read_text(encoding="utf-8")
    (folder / "hwb_codes.csv").write_text(text, encoding="utf-8")
    monkeypatch.setattr(reference, "REFERENCE", folder)
    reference._hwb_codes.cache_clear()
    first = hwb_code_list()
    misses = reference._hwb_codes.cache_info().misses
    for _ in range(5):
        assert hwb_code_list() == first
    assert reference._hwb_codes.cache_info().misses == misses  # not parsed again
    first.clear()  # a caller changing its copy changes nobody else's
    assert len(hwb_code_list()) == text.count("\n") - 1  # one row a line, less the header
    (folder / "hwb_codes.csv").write_text(text + "E10000021,Northamptonshire,East Midlands,,2021-03-31,\n")
    assert hwb_names()["E10000021"] == "Northamptonshire"  # the edit applies at once
    (folder / "hwb_codes.csv").write_text(text.replace("Barnsley", "Barnsley MBC"), encoding="utf-8")
    assert hwb_names()[OLD] == "Barnsley MBC"  # any other edit: read again
    (folder / "hwb_codes.csv").unlink()
    with pytest.raises(FileNotFoundError):
        hwb_code_list()


def test_the_code_list_has_validity_dates_and_the_2025_recodes() -> None:
    codes = {c.code: c for c in hwb_code_list()}
    assert hwb_recodes() == {"E08000016": "E08000038", "E08000019": "E08000039"}
    old, new = codes[OLD], codes[NEW]
    assert (old.name, new.name) == ("Barnsley", "Barnsley")
    assert str(old.valid_to) == "2025-03-31" and old.replaced_by == NEW and not old.current
    assert str(new.valid_from) == "2025-04-01" and new.current
    assert current_hwb_code("E08000019") == "E08000039" and current_hwb_code("E06000061") == "E06000061"
    # 153 areas in use, each once: the retired codes are extra rows, not extra areas.
    assert sum(c.current for c in codes.values()) == 153
    assert hwb_names()[OLD] == "Barnsley"


def _child_population(code: str) -> list[dict[str, object]]:
    # 10,000 children: 565 aged 0 and 555 at each age 1-17.
    return [
        {"code": code, "name": "Barnsley", "mid_year": 2024, "age": a, "population": 565 if a == 0 else 555}
        for a in range(18)
    ]


def test_a_row_under_the_old_code_is_counted_under_the_new_one(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    pop = write_extract(tmp_path / CHILD_POPULATION.filename, CHILD_POPULATION, _child_population(NEW))
    episodes = [
        {"episode_id": f"EP-{n}", "child_id": f"CH-{n}", "start_date": "2024-11-01", "end_date": None,
         "legal_status": "C2", "la_code": OLD}
        for n in range(3)
    ]  # fmt: skip
    cla = write_extract(tmp_path / CLA_EPISODES.filename, CLA_EPISODES, episodes)
    for extract, path in ((CHILD_POPULATION, pop), (CLA_EPISODES, cla)):
        out = load_extract(con, extract, path, Q1, "run1", validator.validate)
        assert out.status == ACCEPTED, out.problems
    # Stored under the current code; the code as delivered kept beside it for the audit trail.
    stored = con.execute("SELECT DISTINCT la_code, _la_code_delivered FROM cs_cla_episodes").fetchall()
    assert stored == [(NEW, OLD)]
    assert con.execute("SELECT DISTINCT code, _code_delivered FROM child_population").fetchall() == [(NEW, NEW)]
    # Through the metric: 3 children looked after at 30 June 2025 / 10,000 x 10,000 = 3.0 for Barnsley.
    warehouse.prepare_views(con, Q1)
    [r] = compute_metric(con, registry.get("cla_rate"), Q1, [NEW], {}, "rag")
    assert (r.hwb_code, r.numerator, r.denominator, r.value) == (NEW, 3, 10000, pytest.approx(3.0))


def test_a_plans_row_under_the_old_code_matches_the_area(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    metric = next(m for m in registry.metrics_for("bcf") if m.plan_basis == "annual")
    plans = [
        {"hwb_code": OLD, "metric_id": metric.id, "financial_year": "2025-26", "quarter": "YE", "plan_value": 123.0}
    ]
    path = write_extract(tmp_path / PLANS.filename, PLANS, plans)
    assert load_extract(con, PLANS, path, Q1, "run1", validator.validate).status == ACCEPTED
    card = registry.scorecard("bcf")
    got, _ = targets_for(con, card, Q1)
    assert got == {(NEW, metric.id, "2025-26", "YE"): 123.0}
    warehouse.prepare_views(con, Q1)
    [r] = compute_metric(con, metric, Q1, [NEW], got)
    assert r.hwb_code == NEW and r.plan == 123.0


def test_one_area_under_both_codes_in_one_file_is_rejected_plainly(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    rows = []
    for code in (OLD, NEW):  # the same Barnsley population twice, once under each code
        for sex in ("M", "F"):
            rows.append({"code": code, "name": "Barnsley", "geography": "Metropolitan District", "sex": sex,
                         "mid_year": 2024, "all_ages": 90, **{str(a): 1 for a in range(90)}, "90+": 0})  # fmt: skip
    path = write_extract(tmp_path / POPULATION.filename, POPULATION, rows)
    out = load_extract(con, POPULATION, path, Q1, "run1", validator.validate)
    assert out.status == REJECTED
    [p] = [p for p in out.problems if p.rule == "area_code_twice"]
    assert p.column == "code"
    assert "Barnsley under both E08000016 (a retired code) and E08000038" in p.reason
    assert "deliver every row of Barnsley under one of the two codes" in p.reason
    assert con.execute("SELECT count(*) FROM population").fetchall()[0][0] == 0


def test_the_area_options_take_either_code(tmp_path: Path) -> None:
    pop = write_extract(tmp_path / CHILD_POPULATION.filename, CHILD_POPULATION, _child_population(OLD))
    assert delivered_areas(pop) == [NEW]
    check_areas([OLD], pop)  # the old code asks for Barnsley, which the file has
    check_areas([NEW], pop)
    assert resolve_hwbs(OLD, [NEW]) == [NEW]
    assert resolve_hwbs([OLD, NEW], [NEW]) == [NEW]
