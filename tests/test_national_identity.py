"""A run for many HWBs gives each HWB exactly what a run for that HWB alone gives.

Metric SQL groups by HWB, so nothing should leak between areas; this checks it on a small
three-HWB generated dataset, field by field (floating-point fields to 1e-12 relative).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from metrics.compute.run import compute_period
from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.registry import metrics_for
from metrics.ingest.run import ingest_periods, periods_to_load
from metrics.publish import run as publish_run
from metrics.publish.run import render_charts
from metrics.synthetic.bcf import HwbProfile, generate

HWBS = ("E06000015", "E06000016", "E06000017")
TARGET = Period.parse("2023-24-Q2")


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunPaths, list[Period], list]:
    root = tmp_path_factory.mktemp("nat")
    profiles = [
        HwbProfile(code=c, name=c, total_population=40_000 + 15_000 * i, population_65_plus=8_000 + 2_000 * i)
        for i, c in enumerate(HWBS)
    ]
    generate(root / "raw", [Period.parse("2023-24-Q1"), TARGET], profiles, seed=11)
    paths = RunPaths(root / "raw", root / "w.duckdb", root / "reports")
    periods = periods_to_load(TARGET, paths.raw_dir)
    loads = ingest_periods(paths, periods, "load", root / "docs")
    assert all(o.status == "accepted" for o in loads)
    return paths, periods, loads


def test_all_hwbs_at_once_equals_each_hwb_alone(loaded: tuple[RunPaths, list[Period], list]) -> None:
    paths, periods, loads = loaded
    together = {}
    for p in periods:
        for r in compute_period(paths, p, list(HWBS), loads, "all"):
            together[(r.metric_id, r.hwb_code, r.period, r.view)] = r
    alone = {}
    for h in HWBS:
        for p in periods:
            for r in compute_period(paths, p, [h], loads, f"one-{h}"):
                alone[(r.metric_id, r.hwb_code, r.period, r.view)] = r
    # Every window of every metric (headline, months, the in-period quarter of year-to-date metrics).
    assert together.keys() == alone.keys() and len(together) == 3 * sum(len(m.windows) for m in metrics_for("bcf")) * 2
    for key, r in together.items():
        a, b = dataclasses.asdict(r), dataclasses.asdict(alone[key])
        different = [f for f in a if not _same(a[f], b[f])]
        assert different == [], (key, different)
    # The areas really differ, so equality is not trivial.
    assert len({together[("falls_65_plus", h, TARGET.label, "")].numerator for h in HWBS}) == 3


def test_charts_drawn_on_two_processes_equal_charts_drawn_in_one(
    loaded: tuple[RunPaths, list[Period], list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, periods, loads = loaded
    results = [r for p in periods for r in compute_period(paths, p, list(HWBS), loads, "charts")]
    serial = dataclasses.replace(paths, reports_dir=tmp_path / "serial")
    parallel = dataclasses.replace(paths, reports_dir=tmp_path / "parallel")
    one = render_charts(serial, TARGET, results, 5, workers=1)
    charts = len(HWBS) * len(metrics_for("bcf"))
    monkeypatch.setattr(publish_run, "PARALLEL_CHARTS_FROM", 1)  # force the pool for these few charts
    messages: list[str] = []
    two = render_charts(parallel, TARGET, results, 5, progress=messages.append, workers=2)
    # A trend and an SPC chart per area and metric, each as PNG and SVG.
    assert messages == [f"{2 * charts} charts (trend and SPC) for 3 areas on 2 processes"]
    assert [p.name for p in one] == [p.name for p in two] and len(one) == 4 * charts
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
