"""Benchmark: what one trend chart costs, split into building the figure, the PNG and the SVG.

    uv run python benchmarks/chart_cost.py [--charts 30]

Draws the same four-quarter avoidable-admissions history (fixed values) ``--charts`` times in this
process and prints seconds per chart for each part. The baseline, measured in the same run, is the
least matplotlib can do at the same size: a figure of the same size and DPI with one axes and one
line, saved as PNG and SVG. Charts are the largest stage of a national run
(``benchmarks/national.py``), so this is the number that bounds it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib.figure as mfig
import matplotlib.pyplot as plt

from metrics.compute.status import ON_TRACK
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.results import MetricResult
from metrics.publish.charts import DPI, trend_chart


def _history(metric_id: str, hwb: str) -> list[MetricResult]:
    out = []
    for label, value, plan in (
        ("2023-24-Q1", 260.1, 250.0),
        ("2023-24-Q2", 255.0, 250.0),
        ("2023-24-Q3", 240.0, 245.0),
        ("2023-24-Q4", 230.0, 240.0),
    ):
        p = Period.parse(label)
        out.append(
            MetricResult(
                metric_id,
                hwb,
                label,
                p.start,
                p.end,
                120.0,
                50_000.0,
                value,
                value - 20,
                value + 20,
                "isr",
                "",
                plan,
                value,
                None,
                ON_TRACK,
                "value vs plan",
            )
        )
    return out


def _minimal(out: Path) -> None:
    fig = plt.figure(figsize=(10, 5.6))
    try:
        fig.add_axes((0.1, 0.25, 0.66, 0.62)).plot([0, 1, 2, 3], [260.1, 255.0, 240.0, 230.0])
        fig.savefig(out / "minimal.png", dpi=DPI, format="png")
        fig.savefig(out / "minimal.svg", format="svg")
    finally:
        plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--charts", type=int, default=30)
    n = ap.parse_args().charts
    metric, hwb = registry.get("avoidable_admissions"), "E06000061"
    history = _history(metric.id, hwb)
    spent = {"png": 0.0, "svg": 0.0}
    savefig = mfig.Figure.savefig

    def timed(self: mfig.Figure, fname: Any, *args: Any, **kwargs: Any) -> None:
        t = time.perf_counter()
        savefig(self, fname, *args, **kwargs)
        spent[kwargs.get("format", "png")] += time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        trend_chart(metric, hwb, "North Northamptonshire", history, out)  # fonts and caches warm
        _minimal(out)
        mfig.Figure.savefig = timed  # type: ignore[method-assign]
        try:
            t = time.perf_counter()
            for _ in range(n):
                trend_chart(metric, hwb, "North Northamptonshire", history, out)
            chart = (time.perf_counter() - t) / n
            png, svg = spent["png"] / n, spent["svg"] / n
        finally:
            mfig.Figure.savefig = savefig  # type: ignore[method-assign]
        t = time.perf_counter()
        for _ in range(n):
            _minimal(out)
        floor = (time.perf_counter() - t) / n
    print(f"trend chart    {chart:.3f} s: figure {chart - png - svg:.3f} s, draw + PNG {png:.3f} s, SVG {svg:.3f} s")
    print(f"minimal figure {floor:.3f} s (same size and DPI, one line, PNG + SVG)")
    print(f"trend chart / minimal figure = {chart / floor:.1f}")


if __name__ == "__main__":
    main()
