"""Unchanged charts are reused, not redrawn: a second render of the same results leaves every chart file
as it was, and a changed value redraws exactly the charts drawn from it (real matplotlib files)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from metrics.core.paths import RunPaths
from metrics.core.periods import Period
from metrics.core.provenance import sha256_of
from metrics.core.registry import default_scorecard, metrics_for
from metrics.core.results import MetricResult
from metrics.publish import charts
from metrics.publish.run import render_charts
from tests.test_charts import _history

TARGET = Period.parse("2023-24-Q4")


def _stamps(files: list[Path]) -> dict[str, tuple[int, int]]:
    """Each file's inode and modification time: an atomic rewrite changes both."""
    return {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in files}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunPaths, list[MetricResult], list[Path]]:
    """One full render shared by the tests (drawing every chart is the slow part); each test leaves
    the charts drawn from these results again."""
    tmp_path = tmp_path_factory.mktemp("reuse")
    paths = RunPaths(tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "reports")
    results = _history()
    files = render_charts(paths, TARGET, results, 5, workers=1, synthetic="Synthetic data: a test")
    return paths, results, files


def test_a_second_render_of_the_same_results_redraws_nothing(
    rendered: tuple[RunPaths, list[MetricResult], list[Path]],
) -> None:
    paths, results, files = rendered
    # A trend and an SPC chart (PNG + SVG each) for every metric of the card, the one with rows included.
    assert len(files) == 4 * len(metrics_for(default_scorecard())) and all(f.stat().st_size > 0 for f in files)
    before = _stamps(files)
    messages: list[str] = []
    again = render_charts(
        paths, TARGET, results, 5, workers=1, progress=messages.append, synthetic="Synthetic data: a test"
    )
    assert again == files
    assert _stamps(again) == before
    assert f"{len(files) // 2} of {len(files) // 2} charts unchanged since they were drawn: reused" in messages
    # The sidecar records each chart's key and its two files' digests.
    stored = json.loads((files[0].parent / charts.CACHE_FILE).read_text())["charts"]
    assert stored[files[0].name][files[1].name] == sha256_of(files[1])


def test_a_changed_value_redraws_exactly_its_charts(
    rendered: tuple[RunPaths, list[MetricResult], list[Path]],
) -> None:
    paths, results, files = rendered
    before = _stamps(files)
    changed = [dataclasses.replace(r, value=231.0) if r.period == "2023-24-Q4" else r for r in results]
    render_charts(paths, TARGET, changed, 5, workers=1, synthetic="Synthetic data: a test")
    redrawn = {name for name, stamp in _stamps(files).items() if stamp != before[name]}
    # The value is drawn on the avoidable-admissions trend and SPC charts, and on no other.
    stem = "E06000061_avoidable_admissions"
    assert redrawn == {f"{stem}.png", f"{stem}.svg", f"{stem}_spc.png", f"{stem}_spc.svg"}
    render_charts(paths, TARGET, results, 5, workers=1, synthetic="Synthetic data: a test")  # as they were


def test_a_changed_banner_or_a_tampered_file_is_drawn_again(
    rendered: tuple[RunPaths, list[MetricResult], list[Path]],
) -> None:
    paths, results, files = rendered
    before = _stamps(files)
    svg = files[1]
    svg.write_text(svg.read_text().replace("SYNTHETIC DATA", "REAL DATA"))
    tampered = _stamps([svg])
    render_charts(paths, TARGET, results, 5, workers=1, synthetic="Synthetic data: a test")
    after = _stamps(files)
    # The edited chart is drawn again (its files no longer have the recorded digests), nothing else.
    assert after[svg.name] != tampered[svg.name] and "SYNTHETIC DATA" in svg.read_text()
    assert {n for n in after if after[n] != before[n]} == {files[0].name, svg.name}
    # The banner is part of every chart's key: real inputs (no banner) would draw every chart again.
    metric = metrics_for(default_scorecard())[0]
    keys = {charts.chart_key("trend", metric, "E06000061", "N", [], 5, False, banner) for banner in ("", "Synthetic")}
    assert len(keys) == 2
