"""Trend charts: files are written, are not blank, carry the title, and never draw suppressed values."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from metrics.compute.status import NO_DATA, NOT_ON_TRACK, ON_TRACK
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.results import MetricResult
from metrics.publish.charts import trend_chart

HWB, NAME = "E06000061", "North Northamptonshire"
SVG_NS = "{http://www.w3.org/2000/svg}"


def _result(
    metric_id: str,
    period: str,
    value: float | None,
    plan: float | None = 250.0,
    numerator: float | None = 120.0,
    projection: float | None = None,
    status: str = ON_TRACK,
    reason: str = "value vs plan",
) -> MetricResult:
    p = Period.parse(period)
    return MetricResult(
        metric_id,
        HWB,
        period,
        p.start,
        p.end,
        numerator,
        50_000.0 if numerator is not None else None,
        value,
        None if value is None else value - 20,
        None if value is None else value + 20,
        "isr",
        "",
        plan,
        value if projection is None else projection,
        projection,
        status,
        reason,
    )


def _history() -> list[MetricResult]:
    m = "avoidable_admissions"
    return [
        _result(m, "2023-24-Q3", 240.0, plan=245.0),
        _result(m, "2023-24-Q1", 260.1, plan=250.0, status=NOT_ON_TRACK),
        _result(m, "2023-24-Q2", None, plan=250.0, numerator=None, status=NO_DATA, reason="no data"),
        _result(m, "2023-24-Q4", 230.0, plan=240.0, reason="value 230.0 vs plan 240 (lower is better)"),
    ]


def _svg_text(path: Path) -> str:
    """The visible text of the SVG (its <text> elements), one line per element."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


def _assert_not_blank(png: Path) -> None:
    img = mpimg.imread(png)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 600
    rgb = img[..., :3]
    non_white = float(np.mean(np.any(rgb < 0.95, axis=-1)))
    assert 0.01 < non_white < 0.6, non_white
    assert float(rgb.std()) > 0.02


def test_chart_files_exist_and_have_content(tmp_path: Path) -> None:
    metric = registry.get("avoidable_admissions")
    paths = trend_chart(metric, HWB, NAME, _history(), tmp_path / "charts")
    png, svg = paths
    assert png == tmp_path / "charts" / f"{HWB}_avoidable_admissions.png"
    assert svg == tmp_path / "charts" / f"{HWB}_avoidable_admissions.svg"
    assert png.exists() and svg.exists()
    _assert_not_blank(png)
    text = _svg_text(svg)
    assert f"{metric.title} - {NAME}" in text
    assert "Data not available: 2023-24 Q2." in text
    assert "Latest (2023-24 Q4): On track to meet target" in text


def test_svg_is_deterministic(tmp_path: Path) -> None:
    metric = registry.get("avoidable_admissions")
    a = trend_chart(metric, HWB, NAME, _history(), tmp_path / "a")[1].read_bytes()
    b = trend_chart(metric, HWB, NAME, list(reversed(_history())), tmp_path / "b")[1].read_bytes()
    assert a == b


def test_all_none_still_renders_with_note(tmp_path: Path) -> None:
    metric = registry.get("avoidable_admissions")
    history = [
        _result(metric.id, f"2023-24-Q{q}", None, numerator=None, status=NO_DATA, reason="no data") for q in (1, 2)
    ]
    png, svg = trend_chart(metric, HWB, NAME, history, tmp_path)
    _assert_not_blank(png)
    text = _svg_text(svg)
    assert "Data not available: 2023-24 Q1, 2023-24 Q2." in text
    assert f"Latest (2023-24 Q2): {NO_DATA}" in text


def test_empty_history_renders(tmp_path: Path) -> None:
    png, svg = trend_chart(registry.get("falls_65_plus"), HWB, NAME, [], tmp_path)
    assert png.exists()
    assert "data not available" in _svg_text(svg)


def test_suppressed_value_is_not_drawn_or_labelled(tmp_path: Path) -> None:
    metric = registry.get("residential_admissions_65_plus")
    history = [
        _result(metric.id, "2023-24-Q1", 111.1, plan=564.0, projection=444.4),
        # 3 admissions: the rate 6.2 and its projection would give the count back.
        _result(
            metric.id,
            "2023-24-Q2",
            6.2,
            plan=564.0,
            numerator=3,
            projection=12.4,
            reason="year-end projection 12.4 vs plan 564 (lower is better)",
        ),
    ]
    _, svg = trend_chart(metric, HWB, NAME, history, tmp_path)
    text = _svg_text(svg)
    assert "111.1" in text  # the published point is labelled
    assert "6.2" not in text and "12.4" not in text
    assert "suppressed: fewer than 5 events" in text


def test_cumulative_projection_is_marked(tmp_path: Path) -> None:
    metric = registry.get("residential_admissions_65_plus")
    history = [
        _result(metric.id, "2023-24-Q1", 140.0, plan=564.0, projection=560.0),
        _result(
            metric.id,
            "2023-24-Q2",
            246.0,
            plan=564.0,
            projection=492.0,
            reason="year-end projection 492.0 vs plan 564 (lower is better)",
        ),
    ]
    _, svg = trend_chart(metric, HWB, NAME, history, tmp_path)
    text = _svg_text(svg)
    assert "Year-end projection" in text
    assert "492.0" in text


def test_no_figures_left_open(tmp_path: Path) -> None:
    before = len(plt.get_fignums())
    trend_chart(registry.get("avoidable_admissions"), HWB, NAME, _history(), tmp_path)
    assert len(plt.get_fignums()) == before


def test_rejects_other_hwb_and_unsafe_codes(tmp_path: Path) -> None:
    metric = registry.get("avoidable_admissions")
    other = MetricResult(
        metric.id,
        "E99",
        "2023-24-Q1",
        dt.date(2023, 4, 1),
        dt.date(2023, 6, 30),
        1,
        1,
        1,
        1,
        1,
        "isr",
        "",
        None,
        None,
        None,
        NO_DATA,
        "",
    )
    with pytest.raises(ValueError):
        trend_chart(metric, HWB, NAME, [other], tmp_path)
    with pytest.raises(ValueError):
        trend_chart(metric, "../x", NAME, [], tmp_path)
