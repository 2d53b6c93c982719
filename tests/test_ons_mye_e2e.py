"""A quarter run from the ONS files (``scorecard demo-data --formats ons``) computes exactly the
figures of the same quarter run from the native population.csv / child_population.csv: every
extract through the one load path (real DuckDB, real GX), every metric of the scorecard computed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from metrics.compute.run import available_hwbs, compute_period
from metrics.contracts import Extract
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.registry import scorecard
from metrics.ingest.readers import Delivery, Resolve, native
from metrics.ingest.run import extracts_of, ingest_periods, periods_to_load
from metrics.synthetic import ons
from tests.workspace import ROOT

RAW = ROOT / "data" / "raw"
pytestmark = pytest.mark.slow  # two whole scorecard runs per case


def _ons(folder: Path, extract: Extract) -> Delivery:
    """What mappings/ons_mye.toml declares: both population extracts from the MYE2 workbook."""
    if extract.name in ("population", "child_population"):
        return Delivery(extract, (folder / ons.WORKBOOK,), "ons_mye")
    return native(folder, extract)


def _run(tmp: Path, raw: Path, resolve: Resolve, card_id: str, target: Period) -> tuple[list[Any], list[Any]]:
    card = scorecard(card_id)
    extracts = extracts_of(card)
    paths = RunPaths(raw, tmp / "warehouse.duckdb", tmp / "reports")
    periods = periods_to_load(target, raw, extracts, resolve)
    loads = ingest_periods(paths, periods, "e2e", tmp / "docs", extracts, resolve=resolve)
    results = compute_period(paths, target, available_hwbs(paths, target, card), loads, "e2e", card)
    figures = sorted(
        (
            r.metric_id,
            r.hwb_code,
            r.view,
            r.window_start,
            r.numerator,
            r.denominator,
            r.value,
            r.lower,
            r.upper,
            r.status,
            r.status_reason,
            r.note,
        )
        for r in results
    )
    outcomes = sorted((o.period, o.extract, o.status, o.rows) for o in loads)
    return figures, outcomes


@pytest.mark.parametrize(("card_id", "target"), [("bcf", "2023-24-Q2"), ("safeguarding", "2023-24-Q2")])
def test_a_quarter_from_the_ons_files_has_the_figures_of_the_native_files(
    tmp_path: Path, card_id: str, target: str
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    written = ons.write_formats(raw)
    assert written and not list(raw.glob("*/population.csv")) and not list(raw.glob("*/child_population.csv"))
    period = Period.parse(target)
    native_figures, native_loads = _run(tmp_path / "native", RAW, native, card_id, period)
    ons_figures, ons_loads = _run(tmp_path / "ons", raw, _ons, card_id, period)
    population = scorecard(card_id).population_extract
    # The population was read from the workbook in the target quarter, as many rows as the native file.
    (loaded,) = [o for o in ons_loads if o[:2] == (target, population)]
    assert loaded[2] == "accepted" and [loaded] == [o for o in native_loads if o[:2] == (target, population)]
    assert len(ons_figures) == len(native_figures) > 0
    assert any(f[6] is not None for f in ons_figures)  # figures computed, not only "data not available"
    assert ons_figures == native_figures
