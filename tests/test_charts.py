"""Trend charts: files are written, are not blank, carry the title, and never draw suppressed values."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from metrics.compute.status import NO_DATA, NOT_ON_TRACK, ON_TRACK
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.results import MetricResult
from metrics.publish.charts import PALETTE, SPC_COLOURS, spc_chart, trend_chart
from metrics.publish.html import render_scorecard

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
    # The page's section heading is the metric title: the chart's title says what is drawn instead.
    assert f"Trend by quarter, 95% CI and plan - {NAME}" in text and metric.title not in text
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


def _quarters(start: str, n: int) -> list[Period]:
    out = [Period.parse(start)]
    while len(out) < n:
        out.append(out[-1].next())
    return out


# Falls (cumulative, year to date): in-period quarterly rates 500, 520 x 6, then 500, 900 (14 points).
# Mean = (7 x 500 + 6 x 520 + 900) / 14 = 7520 / 14 = 537.142857; 12 moving ranges of 20 and one of
# 400 -> mean MR = 640 / 13 = 49.230769; limits 537.142857 -/+ 2.66 x 49.230769 = 406.19 .. 668.10.
# 900 is above the upper limit and lower is better: concern (high). The running year-to-date
# figures are beside them as the headline rows, and must not be what is charted.
FALLS_Q = [500.0, 520.0] * 6 + [500.0, 900.0]


def _falls_history() -> list[MetricResult]:
    m = "falls_65_plus"
    periods = _quarters("2022-23-Q1", 14)
    quarter = [
        replace(_result(m, p.label, v, plan=None), view="quarter") for p, v in zip(periods, FALLS_Q, strict=True)
    ]
    ytd, running = [], 0.0
    for p, v in zip(periods, FALLS_Q, strict=True):
        running = v if p.quarter == 1 else running + v
        ytd.append(_result(m, p.label, running, plan=2100.0, projection=running * 4 / p.quarter))
    return quarter + ytd


def _ytick_labels(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [
        "".join(t.itertext()).strip()
        for g in root.iter(f"{SVG_NS}g")
        if re.fullmatch(r"ytick_\d+", g.get("id", ""))
        for t in g.iter(f"{SVG_NS}text")
    ]


def _fills(path: Path) -> set[str]:
    return {c.lower() for c in re.findall(r"fill:\s*(#[0-9a-fA-F]{6})", path.read_text(encoding="utf-8"))}


def test_spc_chart_draws_in_period_quarters_with_limits_and_icons(tmp_path: Path) -> None:
    metric = registry.get("falls_65_plus")
    png, svg = spc_chart(metric, HWB, NAME, _falls_history(), tmp_path)
    assert png.name == f"{HWB}_falls_65_plus_spc.png" and svg.name == f"{HWB}_falls_65_plus_spc.svg"
    _assert_not_blank(png)
    text = _svg_text(svg)
    assert f"Statistical process control (XmR) - {NAME}" in text and metric.title not in text
    assert "Mean 537.1; process limits 406.2 to 668.1." in text  # the in-period values, by hand above
    assert "In-period quarterly values" in text and "year-to-date total" in text
    assert "Process limits" in text and "2-sigma band" in text and "Mean" in text
    assert "Units:" in text and "Source:" in text and "PHOF C29" in text
    assert "(in-period quarter)" in text  # the axis does not call quarterly values year to date
    assert _ytick_labels(svg)[0] == "0"  # the axis starts at zero
    fills = _fills(svg)
    assert SPC_COLOURS["special_cause_concern"] in fills  # 900, above the upper limit
    content = svg.read_text(encoding="utf-8")
    assert 'id="spc-variation-icon"' in content and ">H<" in content.replace("\n", "")
    assert 'id="spc-assurance-icon"' not in content  # no plan for in-period quarters


def test_spc_chart_with_few_points_draws_trial_limits_floored_at_zero(tmp_path: Path) -> None:
    metric = registry.get("avoidable_admissions")  # an ISR: limits floored at 0
    # 5 quarters 10, 50, 10, 50, 10: mean 26, mean MR 40; raw lower 26 - 106.4 = -80.4 -> 0.
    history = [
        _result(metric.id, p.label, v)
        for p, v in zip(_quarters("2024-25-Q1", 5), [10.0, 50.0] * 2 + [10.0], strict=True)
    ]
    _, svg = spc_chart(metric, HWB, NAME, history, tmp_path)
    text = _svg_text(svg)
    assert "Trial limits: 5 of 12 points" in text and "Mean (trial)" in text
    assert "process limits 0.0 to 132.4 (unbounded -80.4 to 132.4" in text
    assert 'id="spc-variation-icon"' not in svg.read_text(encoding="utf-8")  # no icons on trial limits
    assert _ytick_labels(svg)[0] == "0"


def test_spc_chart_says_when_there_are_too_few_points_or_only_cumulative_values(tmp_path: Path) -> None:
    one = [_result("avoidable_admissions", "2024-25-Q1", 240.0)]
    _, svg = spc_chart(registry.get("avoidable_admissions"), HWB, NAME, one, tmp_path)
    assert "too few points for SPC limits (1 of 12)" in _svg_text(svg)
    headline_only = [r for r in _falls_history() if not r.view]  # running totals only
    _, svg = spc_chart(registry.get("falls_65_plus"), HWB, NAME, headline_only, tmp_path)
    text = " ".join(_svg_text(svg).split())
    assert "SPC needs in-period values" in text
    assert "Mean" not in text  # nothing computed on the year-to-date figures


def test_spc_chart_leaves_out_suppressed_quarters(tmp_path: Path) -> None:
    metric = registry.get("residential_admissions_65_plus")
    periods = _quarters("2024-25-Q1", 4)
    history = [
        replace(_result(metric.id, p.label, v, plan=None, numerator=n), view="quarter")
        for p, v, n in zip(periods, [140.0, 6.2, 150.0, 145.0], [120.0, 3.0, 130.0, 125.0], strict=True)
    ]
    _, svg = spc_chart(metric, HWB, NAME, history, tmp_path)
    text = _svg_text(svg)
    assert "Left out (suppressed or not available): 2024-25 Q2." in text
    assert "2024-25 Q2\n" not in text + "\n"  # not an x-axis point
    # Mean of the three published values: (140 + 150 + 145) / 3 = 145.0; the suppressed 6.2 is not in it.
    assert "Mean 145.0;" in text and "6.2" not in text


def test_page_embeds_the_spc_chart_beside_the_trend_chart(tmp_path: Path) -> None:
    metric = registry.get("falls_65_plus")
    history = _falls_history()
    trend = trend_chart(metric, HWB, NAME, [r for r in history if not r.view], tmp_path)[1]
    spc = spc_chart(metric, HWB, NAME, history, tmp_path)[1]
    current = [r for r in history if not r.view and r.period == "2025-26-Q2"]
    page = render_scorecard(
        [metric], current, history, HWB, NAME, Period.parse("2025-26-Q2"), {metric.id: trend}, {}, {}, "now", 5,
        spc_charts={metric.id: spc},
    )  # fmt: skip
    section = page[page.index(f'id="{metric.id}"') :]
    charts = section[section.index('<div class="charts">') : section.index("<dl>")]
    assert charts.count("<svg") >= 2 and '<figure class="spc-chart">' in charts
    assert "Statistical process control (XmR)" in charts and "Mean 537.1" in charts


def _value_axis(path: Path) -> tuple[float, float, list[tuple[float, str]]]:
    """Read back from the SVG: the plot area's top and bottom (y grows downwards) and each y tick's
    position and label."""
    root = ET.parse(path).getroot()
    axes = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == "axes_1")
    patch = next(g for g in axes.iter(f"{SVG_NS}g") if g.get("id", "").startswith("patch_"))
    ys = [float(v) for v in re.findall(r"[ML] [-\d.]+ ([-\d.]+)", next(patch.iter(f"{SVG_NS}path")).get("d", ""))]
    ticks = []
    for g in axes.iter(f"{SVG_NS}g"):
        if re.fullmatch(r"ytick_\d+", g.get("id", "")):
            use = next(g.iter(f"{SVG_NS}use"))
            label = "".join("".join(t.itertext()) for t in g.iter(f"{SVG_NS}text")).strip()
            ticks.append((float(use.get("y", "nan")), label))
    return min(ys), max(ys), ticks


def _assert_axis_starts_at_zero(path: Path) -> None:
    _top, bottom, ticks = _value_axis(path)
    lowest_y, label = max(ticks)
    assert abs(lowest_y - bottom) < 0.01, (lowest_y, bottom, ticks)  # the lowest tick sits on the axis' foot
    assert float(label.replace("\u2212", "-").replace(",", "")) == 0, label
    assert all(float(t.replace("\u2212", "-").replace(",", "")) >= 0 for _, t in ticks)


def test_value_axes_start_at_zero_however_far_the_values_are_from_it(tmp_path: Path) -> None:
    # Values 240-260 with CIs 220-280: autoscaling alone would start the axis near 220.
    metric = registry.get("avoidable_admissions")
    _, svg = trend_chart(metric, HWB, NAME, _history(), tmp_path / "t")
    _assert_axis_starts_at_zero(svg)
    # A percentage near 95 (discharge to usual residence) and the SPC chart of values 900-960.
    pct = registry.get("discharge_usual_residence")
    rows = [
        _result(pct.id, p.label, v, plan=94.0)
        for p, v in zip(_quarters("2023-24-Q1", 4), [95.1, 95.4, 94.8, 95.0], strict=True)
    ]
    _, svg = trend_chart(pct, HWB, NAME, rows, tmp_path / "p")
    _assert_axis_starts_at_zero(svg)
    spc_rows = [_result(metric.id, p.label, 900.0 + 5 * (i % 3)) for i, p in enumerate(_quarters("2021-22-Q1", 12))]
    _, svg = spc_chart(metric, HWB, NAME, spc_rows, tmp_path / "s")
    _assert_axis_starts_at_zero(svg)


def test_every_chart_carries_units_and_source(tmp_path: Path) -> None:
    metric = registry.get("avoidable_admissions")
    for chart in (trend_chart, spc_chart):
        _, svg = chart(metric, HWB, NAME, _history(), tmp_path / chart.__name__)
        text = " ".join(_svg_text(svg).split())
        assert f"Units: {metric.unit}." in text, chart.__name__
        assert f"Source: {metric.reference}" in text, chart.__name__


def test_synthetic_banner_only_when_the_run_says_so(tmp_path: Path) -> None:
    metric = registry.get("avoidable_admissions")
    words = "Synthetic demonstration data: not real patients, children or services; do not use for decisions."
    for chart in (trend_chart, spc_chart):
        _, marked = chart(metric, HWB, NAME, _history(), tmp_path / "demo", synthetic=words)
        assert "SYNTHETIC DEMONSTRATION DATA" in _svg_text(marked)
        assert 'id="synthetic-banner"' in marked.read_text(encoding="utf-8")
        _, real = chart(metric, HWB, NAME, _history(), tmp_path / "real")
        assert "synthetic" not in _svg_text(real).lower()


def test_charts_use_only_the_one_palette(tmp_path: Path) -> None:
    metric = registry.get("residential_admissions_65_plus")  # cumulative: value, plan and projection drawn
    rows = [_result(metric.id, "2023-24-Q1", 120.0, plan=564.0, projection=480.0),
            _result(metric.id, "2023-24-Q2", 246.0, plan=564.0, projection=492.0)]  # fmt: skip
    allowed = {c.lower() for c in PALETTE.values()} | {"#ffffff"}
    for chart in (trend_chart, spc_chart):
        _, svg = chart(metric, HWB, NAME, rows, tmp_path / chart.__name__, synthetic="Synthetic demonstration data")
        used = {c.lower() for c in re.findall(r"(?:fill|stroke):\s*(#[0-9a-fA-F]{6})", svg.read_text(encoding="utf-8"))}
        assert used <= allowed, (chart.__name__, used - allowed)
