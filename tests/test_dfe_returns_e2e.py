"""DfE returns end to end: the demo's records written as SSDA903 files and the CIN census XML give
the same figures, metric by metric, as the same records delivered as the contracts' own CSVs; and
the shipped mapping over ``scorecard demo-data --formats dfe`` gives the shipped demo's figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from metrics import warehouse
from metrics.compute.run import compute_loaded
from metrics.core.paths import RunPaths
from metrics.core.registry import scorecard
from metrics.core.results import LoadOutcome
from metrics.ingest.readers import Resolve, native
from metrics.ingest.run import extracts_of, ingest_periods
from metrics.synthetic import dfe
from tests.dfe_returns import ALL, LA, PERIOD, PERIODS, resolver, shipped_mapping, write_returns
from tests.workspace import ROOT

CARD = scorecard("safeguarding")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_returns(tmp_path_factory.mktemp("dfe"))


def _figures(tmp: Path, raw: Path, resolve: Resolve) -> tuple[list[LoadOutcome], list[dict[str, Any]]]:
    paths = RunPaths(raw, tmp / "warehouse.duckdb", tmp / "reports")
    loads = ingest_periods(paths, PERIODS, "t", tmp / "docs", extracts_of(CARD), resolve=resolve)
    con = warehouse.connect(paths.warehouse)
    try:
        results = compute_loaded(con, CARD, PERIOD, [LA.code], loads)
    finally:
        con.close()
    return loads, [dataclasses.asdict(r) for r in results]


def test_returns_give_the_same_figures_as_the_same_records_in_the_contracts(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    returns, twins = folders
    mapped = {**shipped_mapping(), **ALL}
    got_loads, got = _figures(tmp_path / "returns", returns, resolver(mapped))
    assert all(o.usable for o in got_loads), [o.summary() for o in got_loads if not o.usable]
    read = {o.extract for o in got_loads if " + " in o.file_path or o.file_path.endswith((".xml", "missing.csv"))}
    assert read == set(mapped)  # every one of them came from the returns
    native_loads, expected = _figures(tmp_path / "twins", twins, native)
    assert all(o.usable for o in native_loads)
    assert [o.rows for o in got_loads] == [o.rows for o in native_loads]
    assert got == expected
    computed = [r for r in got if r["value"] is not None]
    assert len(computed) >= 10 and {r["metric_id"] for r in computed} >= {"cla_rate", "cp_rate", "re_referrals"}


def test_the_shipped_mapping_gives_the_demo_figures_of_its_extracts(tmp_path: Path) -> None:
    """``demo-data --formats dfe``: the shipped mapping over the DfE demo computes, for the extracts
    it maps, exactly the shipped demo's figures of North Northamptonshire."""
    raw = tmp_path / "raw"
    dfe.write_demo(raw)
    loads, got = _figures(tmp_path / "w1", raw, resolver(shipped_mapping()))
    assert all(o.usable for o in loads), [o.summary() for o in loads if not o.usable]
    _, shipped = _figures(tmp_path / "w2", ROOT / "data" / "raw", native)
    wanted = {"cla_rate", "cp_rate", "cp_category", "cp_second_subsequent", "cp_ended_2y_plus", "assessments_45_days"}
    pick = [r for r in shipped if r["metric_id"].split(":")[0] in wanted or r["metric_id"] in wanted]
    mine = {(r["metric_id"], r["view"]): r for r in got}
    assert pick and all(mine[(r["metric_id"], r["view"])] == r for r in pick)
