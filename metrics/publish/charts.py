"""Quarterly trend charts for one metric and one HWB, for board papers and the scorecard.

Charts draw only publishable figures (``metrics.compute.suppression``), so a chart can
never show a value that the tables suppress. Output is PNG (for documents) and
SVG (for the web); the SVG is deterministic so re-running a quarter does not
produce spurious diffs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
import math
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics.compute.spc import SpcConfig
from metrics.compute.suppression import DEFAULT_THRESHOLD, publishable
from metrics.core import atomic
from metrics.core.periods import Period
from metrics.core.provenance import sha256_of
from metrics.core.reference import caveats_for, comparable_benchmark
from metrics.core.registry import Metric
from metrics.core.results import MetricResult
from metrics.publish.spc_notes import ICON_COLOUR, SpcReading, spc_summary

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The one chart palette: NHS identity colours chosen to stay apart under the common colour-vision
# deficiencies (blue against orange, not red against green), and each series also differs in marker or
# line style, so no chart relies on colour alone. The SPC point colours are Making Data Count's own
# (NHSRplotthedots ``ptd_spc_colours``), kept so the charts read like every other MDC chart. Nothing
# else in the publish stage names a chart colour.
PALETTE = {
    "value": "#005EB8",  # NHS Blue
    "plan": "#ED8B00",  # NHS Orange
    "projection": "#7C2855",  # NHS Dark Pink
    "benchmark": "#425563",  # NHS Dark Grey
    "text": "#231F20",  # NHS Black
    "grid": "#D8DDE0",  # NHS Pale Grey
    "synthetic": "#8A1538",  # NHS Dark Red: the synthetic-data banner
    "spc_improvement": "#00b0f0",
    "spc_concern": "#e46c0a",
    "spc_neutral": "#490092",
    "spc_common": "#a6a6a6",
    "spc_mean": "#000000",
}
VALUE_COLOUR = PALETTE["value"]
PLAN_COLOUR = PALETTE["plan"]
PROJECTION_COLOUR = PALETTE["projection"]
TEXT_COLOUR = PALETTE["text"]
GRID_COLOUR = PALETTE["grid"]
BENCHMARK_COLOUR = PALETTE["benchmark"]
SYNTHETIC_COLOUR = PALETTE["synthetic"]

DPI = 150
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def chart_paths(out_dir: Path, hwb_code: str, metric_id: str) -> tuple[Path, Path]:
    """Where the PNG and SVG go; codes are checked so they cannot escape ``out_dir``."""
    for part in (hwb_code, metric_id):
        if not _SAFE_NAME.match(part):
            raise ValueError(f"{part!r} is not safe in a file name (letters, digits, _ and - only)")
    stem = f"{hwb_code}_{metric_id}"
    return out_dir / f"{stem}.png", out_dir / f"{stem}.svg"


# --- Reuse of unchanged charts -------------------------------------------------------------------
#
# Drawing a chart (a matplotlib figure, then a PNG and an SVG) is most of the publish stage, and a
# re-run whose results did not change would draw the same pictures again. Each chart therefore has a
# key: the SHA-256 of everything that decides its picture (the chart kind, the metric's declaration,
# the area and its name, every result row drawn, the suppression threshold, the banner text, the
# reference caveats and benchmark it prints, this package's and matplotlib's versions, and the source
# of the modules that draw it: a change of style, palette or layout is a change of key). The keys are
# kept in ``charts/.hashes.json`` with the SHA-256 of the two files; a chart is reused only when its
# key matches and both files still have those digests, else it is drawn again.

CACHE_FILE = ".hashes.json"
# The modules whose code decides what a chart shows (layout, style, SPC reading, suppression, funnel).
_DRAWING_MODULES = (
    Path(__file__),
    Path(__file__).with_name("spc_notes.py"),
    Path(__file__).parents[1] / "compute" / "spc.py",
    Path(__file__).parents[1] / "compute" / "suppression.py",
    Path(__file__).parents[1] / "compute" / "funnel.py",
)


def _plain(obj: Any) -> Any:
    """JSON for the values a chart is drawn from: dataclasses by field, paths and periods as text."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__name__, **{f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}}
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, (Path, Period, dt.date)):
        return str(obj)
    raise TypeError(f"chart key: cannot hash a {type(obj).__name__}")


@functools.cache
def _drawing_version() -> str:
    """What changes every key when the drawing code or its libraries change."""
    try:
        version = importlib.metadata.version("hwb-scorecard")
    except importlib.metadata.PackageNotFoundError:  # a source tree not installed: the code hashes still count
        version = "not installed"
    # The installed distribution's version (the same string as matplotlib.__version__), read without
    # importing matplotlib: a re-run whose charts are all reused never imports it (see _pyplot).
    parts = [version, importlib.metadata.version("matplotlib")]
    parts += [sha256_of(m) for m in _DRAWING_MODULES]
    return "|".join(parts)


def chart_key(kind: str, metric: Metric, *inputs: Any) -> str:
    """The SHA-256 of everything that decides a chart's picture (see above)."""
    bench = comparable_benchmark(metric.id, metric.parameters)
    payload = [kind, _drawing_version(), metric, caveats_for(metric.reference_data), bench, *inputs]
    text = json.dumps(payload, default=_plain, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ChartCache:
    """The keys of the charts already in ``out_dir`` (``CACHE_FILE``); see ``chart_key``."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / CACHE_FILE
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries: dict[str, dict[str, str]] = dict(stored["charts"])
        except (OSError, ValueError, KeyError, TypeError):
            self.entries = {}  # none yet, or unreadable: every chart is drawn (and the file rewritten)

    def reusable(self, key: str, files: Sequence[Path]) -> bool:
        """True when ``files`` were drawn from ``key`` and are still exactly what was drawn."""
        entry = self.entries.get(files[0].name)
        if entry is None or entry.get("key") != key:
            return False
        try:
            return all(entry.get(f.name) == sha256_of(f) for f in files)
        except OSError:
            return False  # deleted or unreadable since: drawn again

    def record(self, key: str, files: Sequence[Path]) -> None:
        self.entries[files[0].name] = {"key": key, **{f.name: sha256_of(f) for f in files}}

    def save(self) -> None:
        """Written whole (``metrics.core.atomic``): a run stopped half-way leaves the old keys."""
        if self.entries:
            text = json.dumps({"version": 1, "charts": self.entries}, indent=1, sort_keys=True)
            atomic.write_text(self.path, text + "\n")


def _fmt(x: float, decimals: int) -> str:
    return f"{x:,.{decimals}f}"


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _series(
    metric: Metric, hwb_code: str, history: Sequence[MetricResult], threshold: int
) -> list[tuple[Period, dict[str, Any]]]:
    """One publishable row per period, in period order; rejects rows for other metrics or HWBs."""
    rows: dict[Period, dict[str, Any]] = {}
    for r in history:
        if r.metric_id != metric.id or r.hwb_code != hwb_code:
            raise ValueError(f"history row for {r.metric_id}/{r.hwb_code} passed to chart {metric.id}/{hwb_code}")
        period = Period.parse(r.period)
        if period in rows:
            raise ValueError(f"two results for {metric.id}/{hwb_code} in {r.period}")
        rows[period] = publishable(r, threshold)
    return sorted(rows.items())


def _footnote(metric: Metric, series: list[tuple[Period, dict[str, Any]]]) -> str:
    """Caveats of unconfirmed reference data first, then latest status and reason, then which
    quarters have no drawn point and why."""
    lines: list[str] = [f"Caveat: {c}" for c in caveats_for(metric.reference_data)]
    if series:
        period, latest = series[-1]
        status = f"Latest ({period.short_label}): {latest['status']}"
        if latest["status_reason"]:
            status += f" - {latest['status_reason']}"
        lines.append(status)
    else:
        lines.append("No results for this metric: data not available.")
    missing = [p.short_label for p, row in series if row["value"] is None and not row["suppressed"]]
    suppressed = [p.short_label for p, row in series if row["suppressed"]]
    if missing:
        lines.append(f"Data not available: {', '.join(missing)}.")
    if suppressed:
        notes = sorted({row["note"] for _, row in series if row["suppressed"]})
        lines.append(f"Not shown ({'; '.join(notes)}): {', '.join(suppressed)}.")
    if metric.cumulative and any(row["projection"] is not None for _, row in series):
        lines.append("Cumulative year-to-date metric: the year-end projection scales the latest value by 4 / quarter.")
    if any(row["value"] is not None for _, row in series):
        lines.append("Error bars: 95% confidence interval.")
    return "\n".join(textwrap.fill(line, 130) for line in lines)


def _segments(series: list[tuple[Period, dict[str, Any]]], drawn: list[int], year_to_date: bool) -> list[list[int]]:
    """Runs of drawn points to join with a line: broken at gaps, and at each new financial
    year for year-to-date metrics, whose value restarts from zero on 1 April."""
    runs: list[list[int]] = []
    for i in drawn:
        if runs and runs[-1][-1] == i - 1 and not (year_to_date and series[i][0].fy_start != series[i - 1][0].fy_start):
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


_LABEL_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


def _draw(ax: Axes, metric: Metric, series: list[tuple[Period, dict[str, Any]]], rag: bool = False) -> None:
    n = len(series)
    xs = list(range(n))
    values = [_nan(row["value"]) for _, row in series]
    drawn = [i for i in xs if not math.isnan(values[i])]
    handles: list[Any] = []

    # Financial-year boundaries: plans change there, and year-to-date values restart.
    for i in xs[1:]:
        if series[i][0].fy_start != series[i - 1][0].fy_start:
            ax.axvline(i - 0.5, color=GRID_COLOUR, linewidth=1.5, zorder=0)

    if drawn:
        ys = [values[i] for i in drawn]
        lo = [ys[k] - _nan(series[i][1]["lower"]) for k, i in enumerate(drawn)]
        hi = [_nan(series[i][1]["upper"]) - ys[k] for k, i in enumerate(drawn)]
        # A missing CI bound draws no bar rather than failing the chart.
        lo = [0.0 if math.isnan(v) else v for v in lo]
        hi = [0.0 if math.isnan(v) else v for v in hi]
        for run in _segments(series, drawn, metric.window == "year_to_date"):
            ax.plot(run, [values[i] for i in run], color=VALUE_COLOUR, linewidth=2, zorder=3)
        handles.append(
            ax.errorbar(
                drawn,
                ys,
                yerr=[lo, hi],
                color=VALUE_COLOUR,
                ecolor=VALUE_COLOUR,
                elinewidth=1.2,
                capsize=4,
                marker="o",
                markersize=6,
                linestyle="none",
                label="Actual (95% CI)",
                zorder=3,
            )
        )
        for i, y in zip(drawn, ys, strict=True):
            ax.annotate(
                _fmt(y, metric.decimals),
                (i, y),
                textcoords="offset points",
                xytext=(7, 5),
                fontsize=8,
                color=VALUE_COLOUR,
                bbox=_LABEL_BOX,
                zorder=5,
            )

    # Plan as a step held across each quarter's slot, so an annual plan reads as a flat line.
    plans = [_nan(row["plan"]) for _, row in series]
    if any(not math.isnan(p) for p in plans):
        edges = [x - 0.5 for x in xs] + [n - 0.5]
        label = "Target" if rag else "Plan (year end)" if metric.plan_basis == "annual" else "Plan"
        handles += ax.step(
            edges,
            [*plans, plans[-1]],
            where="post",
            color=PLAN_COLOUR,
            linestyle="--",
            linewidth=2,
            label=label,
            zorder=2,
        )

    bench, _ = comparable_benchmark(metric.id, metric.parameters) if rag else (None, "")
    if bench is not None:
        handles.append(
            ax.axhline(
                bench.value, color=BENCHMARK_COLOUR, linestyle=":", linewidth=2, label=f"England {bench.year}", zorder=1
            )
        )

    if metric.cumulative and series and series[-1][1]["projection"] is not None:
        i, proj = n - 1, float(series[-1][1]["projection"])
        handles += ax.plot(
            [i],
            [proj],
            linestyle="none",
            marker="D",
            markersize=8,
            markerfacecolor="white",
            markeredgecolor=PROJECTION_COLOUR,
            markeredgewidth=2,
            label=f"Year-end projection\n(from {series[-1][0].short_label})",
            zorder=4,
        )
        if not math.isnan(values[i]):
            ax.plot([i, i], [values[i], proj], color=PROJECTION_COLOUR, linestyle=":", linewidth=1.2, zorder=1)
        ax.annotate(
            _fmt(proj, metric.decimals),
            (i, proj),
            textcoords="offset points",
            xytext=(8, -3),
            fontsize=8,
            color=PROJECTION_COLOUR,
            bbox=_LABEL_BOX,
            zorder=5,
        )

    if not drawn:
        _boxed_note(ax, 0.75, "Data not available", 12)

    ax.set_xticks(
        xs, [p.short_label for p, _ in series], rotation=30 if n > 6 else 0, ha="right" if n > 6 else "center"
    )
    ax.set_xlim(-0.6, max(n - 0.4, 0.6))
    _from_zero(ax)
    ax.set_ylabel(textwrap.fill(metric.unit, 45), fontsize=9)
    ax.grid(axis="y", color=GRID_COLOUR, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)


def trend_chart(
    metric: Metric,
    hwb_code: str,
    hwb_name: str,
    history: Sequence[MetricResult],
    out_dir: Path,
    suppression_threshold: int = DEFAULT_THRESHOLD,
    rag: bool = False,
    synthetic: str = "",
) -> list[Path]:
    """Render the metric's quarterly trend for one HWB; returns ``[png, svg]``. ``rag`` charts (the
    safeguarding scorecard) call the plan line "Target" and add the England benchmark.

    ``history`` holds this metric's results for this HWB, any order. Values
    that are missing or suppressed are not drawn and the footnote says which.
    """
    png, svg = chart_paths(out_dir, hwb_code, metric.id)
    series = _series(metric, hwb_code, history, suppression_threshold)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _figure(f"{hwb_code}_{metric.id}") as fig:
        ax = fig.add_axes((0.1, 0.25, 0.66, 0.62))
        _draw(ax, metric, series, rag)
        # The page's section heading is the metric's title: the chart says what it shows instead.
        against = "target" if rag else "plan"
        fig.suptitle(
            textwrap.fill(f"Trend by quarter, 95% CI and {against} - {hwb_name}", 80),
            x=0.1,
            ha="left",
            fontsize=13,
            fontweight="bold",
        )
        _synthetic_banner(fig, synthetic)
        footnote = _footnote(metric, series) + "\n" + textwrap.fill(_units_and_source(metric), 130)
        fig.text(0.01, 0.02, footnote, fontsize=8, va="bottom", ha="left")
        _save(fig, png, svg)
    return [png, svg]


def _from_zero(ax: Axes) -> None:
    """Rates, counts and percentages: the value axis starts at zero (no axis break is ever drawn, so a
    truncated axis would exaggerate every change). The top stays where autoscaling put it."""
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top if top > 0 else 1)


def _units_and_source(metric: Metric) -> str:
    """The footnote line every chart carries: the unit, and where the figure comes from."""
    return f"Units: {metric.unit}. Source: {metric.reference or metric.title} (extracts: {', '.join(metric.sources)})."


def _synthetic_banner(fig: Figure, synthetic: str) -> None:
    """The run's synthetic-data banner across the top of the chart ("" for real inputs: nothing drawn)."""
    if synthetic:
        fig.text(  # under the title, above the legend: clear of both
            0.99,
            0.915,
            synthetic.split(":", 1)[0].upper(),
            ha="right",
            va="center",
            fontsize=9,
            fontweight="bold",
            color="white",
            bbox={"boxstyle": "square,pad=0.3", "facecolor": SYNTHETIC_COLOUR, "edgecolor": SYNTHETIC_COLOUR},
            gid="synthetic-banner",
        )


def _boxed_note(ax: Axes, y: float, text: str, fontsize: float) -> None:
    """A centred, opaque note over the plot area (no data, too few points), above every line."""
    ax.text(
        0.5,
        y,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=fontsize,
        color=TEXT_COLOUR,
        bbox={**_LABEL_BOX, "alpha": 1.0, "pad": 0.3},
        zorder=5,
    )


@functools.cache
def _pyplot() -> ModuleType:
    """matplotlib's pyplot on the headless Agg backend, imported when the first chart is drawn: importing
    it takes 0.5-1 s, which a re-run whose charts are all reused (``ChartCache``) need not pay."""
    import matplotlib

    matplotlib.use("Agg")  # headless: the pipeline runs on servers without a display
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def _figure(salt: str) -> Iterator[Figure]:
    """A chart figure in this module's style, closed afterwards.

    rc_context keeps these settings from leaking into other plots in the process. A fixed hash salt
    makes SVG element ids repeatable; fonttype "none" keeps text as <text> elements, so the SVG is
    searchable and readable by screen readers rather than glyph outlines.
    """
    plt = _pyplot()
    with plt.rc_context(
        {
            "svg.hashsalt": salt,
            "svg.fonttype": "none",
            "font.family": "DejaVu Sans",
            "text.color": TEXT_COLOUR,
            "axes.labelcolor": TEXT_COLOUR,
        }
    ):
        fig: Figure = plt.figure(figsize=(10, 5.6))
        try:
            yield fig
        finally:
            plt.close(fig)


def _save(fig: Figure, png: Path, svg: Path) -> None:
    """Both drawn to temporary names first: neither replaces its old copy unless both were written."""
    with atomic.atomic_path(png) as png_tmp, atomic.atomic_path(svg) as svg_tmp:
        fig.savefig(png_tmp, dpi=DPI, format="png", metadata={"Software": None})
        fig.savefig(svg_tmp, format="svg", metadata={"Date": None, "Creator": None})


# Making Data Count point colours (from PALETTE); limits and mean as MDC draws them.
SPC_COLOURS = {
    "special_cause_improvement": PALETTE["spc_improvement"],
    "special_cause_concern": PALETTE["spc_concern"],
    "special_cause_neutral_high": PALETTE["spc_neutral"],
    "special_cause_neutral_low": PALETTE["spc_neutral"],
    "common_cause": PALETTE["spc_common"],
}
_SPC_LABELS = {
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neutral_high": "Special cause (neutral)",
    "special_cause_neutral_low": "Special cause (neutral)",
    "common_cause": "Common cause",
}
_ICON_LETTER = {"consistent_pass": "P", "consistent_fail": "F", "inconsistent": "?"}


def spc_chart_paths(out_dir: Path, hwb_code: str, metric_id: str) -> tuple[Path, Path]:
    """Where the SPC chart's PNG and SVG go, beside the trend chart's."""
    png, svg = chart_paths(out_dir, hwb_code, metric_id)
    return png.with_name(f"{png.stem}_spc.png"), svg.with_name(f"{svg.stem}_spc.svg")


def _spc_unit(metric: Metric, reading: SpcReading) -> str:
    """The declared unit, its year-to-date window named as the in-period quarter or month SPC draws."""
    series = reading.series
    if series is None or not (series.in_period or series.basis == "month"):
        return metric.unit
    unit = re.sub(r"\s*\((?:cumulative, )?year to date\)|\s*\(quarter\)", "", metric.unit)
    return unit + (" (in-period month)" if series.basis == "month" else " (in-period quarter)")


def _draw_spc(ax: Axes, metric: Metric, reading: SpcReading, config: SpcConfig) -> list[str]:
    """The XmR chart on ``ax``; returns the footnote lines."""
    series, res = reading.series, reading.result
    notes: list[str] = []
    handles: list[Any] = []
    n = 0 if series is None else len(series.values)
    if series is not None and n:
        xs = list(range(n))
        ax.plot(xs, series.values, color=SPC_COLOURS["common_cause"], linewidth=1.5, zorder=2)
        types = res.point_type if res is not None else ["common_cause"] * n
        for kind in dict.fromkeys(types):
            pts = [i for i in xs if types[i] == kind]
            handles.append(
                ax.scatter(
                    pts,
                    [series.values[i] for i in pts],
                    color=SPC_COLOURS[kind],
                    s=36,
                    zorder=3,
                    label=_SPC_LABELS[kind],
                )
            )
        # A long monthly series is labelled every third month, so the labels stay readable.
        step = 3 if n > 18 else 1
        ax.set_xticks(
            xs[::step],
            series.labels[::step],
            rotation=30 if n > 6 else 0,
            ha="right" if n > 6 else "center",
        )
        ax.set_xlim(-0.6, max(n - 0.4, 0.6))
    if res is not None:
        trial = " (trial)" if res.trial else ""
        handles += ax.plot(xs, res.mean, color=PALETTE["spc_mean"], linewidth=1.5, label=f"Mean{trial}", zorder=1)
        handles += ax.plot(
            xs, res.upper, color=TEXT_COLOUR, linestyle="--", linewidth=1.2, label=f"Process limits{trial}", zorder=1
        )
        ax.plot(xs, res.lower, color=TEXT_COLOUR, linestyle="--", linewidth=1.2, zorder=1)
        handles += ax.plot(
            xs, res.near_upper, color=GRID_COLOUR, linestyle=":", linewidth=1.2, label="2-sigma band", zorder=1
        )
        ax.plot(xs, res.near_lower, color=GRID_COLOUR, linestyle=":", linewidth=1.2, zorder=1)
        if series is not None and series.plan is not None and reading.assurance:
            # The plan assurance is read against, on the series' own scale (a month's share of it).
            scaled = series.basis == "month" and series.plan_scaled
            handles += ax.plot(
                xs,
                [series.plan] * n,
                color=PLAN_COLOUR,
                linestyle="-.",
                linewidth=1.2,
                label="Plan (scaled to a month)" if scaled else "Plan",
                zorder=1,
            )
        d = metric.decimals
        notes.append(
            f"Mean {_fmt(res.mean[-1], d)}; process limits {_fmt(res.lower[-1], d)} to {_fmt(res.upper[-1], d)}"
            + (
                f" (unbounded {_fmt(res.raw_lower[-1], d)} to {_fmt(res.raw_upper[-1], d)}, "
                "clipped to what the unit allows)"
                if (res.raw_lower[-1], res.raw_upper[-1]) != (res.lower[-1], res.upper[-1])
                else ""
            )
            + "."
        )
        if res.trial:
            notes.append(
                f"Trial limits: {n} of {config.min_points} points; variation and assurance icons from "
                f"{config.min_points} points."
            )
    message = (
        reading.text
        if series is None
        else f"too few points for SPC limits ({n} of {config.min_points})"
        if res is None
        else ""
    )
    if message:
        _boxed_note(ax, 0.6, textwrap.fill(message, 60), 11)
    if series is not None and series.basis == "month":
        notes.append(
            "Monthly values (each month's own numerator and denominator"
            + (", not the cumulative year-to-date figure" if series.in_period else "")
            + ")"
            + (
                f"; the plan scaled to a month ({_fmt(series.plan, metric.decimals)}) for assurance."
                if series.plan is not None and series.plan_scaled and reading.assurance
                else "."
            )
        )
    elif series is not None and series.in_period:
        notes.append("In-period quarterly values: SPC is not drawn on the cumulative year-to-date figure.")
    if series is not None and series.left_out:
        notes.append(f"Left out (suppressed or not available): {', '.join(series.left_out)}.")
    _from_zero(ax)
    ax.set_ylabel(textwrap.fill(_spc_unit(metric, reading), 45, break_on_hyphens=False), fontsize=9)
    ax.grid(axis="y", color=GRID_COLOUR, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    return notes


def _spc_icons(fig: Figure, reading: SpcReading) -> None:
    """The variation and assurance icons as MDC draws them: a ring with H/L, a filled P/F/?."""
    x = 0.80
    if reading.variation_icon:
        kind, _, hl = reading.variation_icon.partition("_")
        colour = ICON_COLOUR["common" if kind == "common" else kind]
        fig.text(
            x,
            0.2,
            # A bare ring for common cause: a space, since an empty text is not drawn at all.
            " " if kind == "common" else hl[:1].upper() or " ",
            fontsize=14,
            fontweight="bold",
            color=colour,
            ha="center",
            va="center",
            bbox={"boxstyle": "circle,pad=0.4", "facecolor": "white", "edgecolor": colour, "linewidth": 3},
            gid="spc-variation-icon",
        )
        x += 0.07
    if reading.assurance:
        colour = {"consistent_pass": PALETTE["spc_improvement"], "consistent_fail": PALETTE["spc_concern"]}.get(
            reading.assurance, PALETTE["spc_common"]
        )
        fig.text(
            x,
            0.2,
            _ICON_LETTER[reading.assurance],
            fontsize=14,
            fontweight="bold",
            color="white",
            ha="center",
            va="center",
            bbox={"boxstyle": "circle,pad=0.4", "facecolor": colour, "edgecolor": colour},
            gid="spc-assurance-icon",
        )


def spc_chart(
    metric: Metric,
    hwb_code: str,
    hwb_name: str,
    history: Sequence[MetricResult],
    out_dir: Path,
    suppression_threshold: int = DEFAULT_THRESHOLD,
    synthetic: str = "",
) -> list[Path]:
    """The metric's XmR chart for one HWB (PNG and SVG), from the same reading as the page's SPC line
    (``spc_notes.spc_summary``): discrete publishable values only, limits bounded by the unit."""
    config = SpcConfig()
    mine = [r for r in history if r.metric_id == metric.id and r.hwb_code == hwb_code]
    reading = spc_summary(metric, mine, config, suppression_threshold)
    png, svg = spc_chart_paths(out_dir, hwb_code, metric.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _figure(f"{hwb_code}_{metric.id}_spc") as fig:
        ax = fig.add_axes((0.1, 0.3, 0.66, 0.57))
        notes = _draw_spc(ax, metric, reading, config)
        _spc_icons(fig, reading)
        fig.suptitle(
            textwrap.fill(f"Statistical process control (XmR) - {hwb_name}", 80),
            x=0.1,
            ha="left",
            fontsize=13,
            fontweight="bold",
        )
        _synthetic_banner(fig, synthetic)
        notes.append(f"SPC reading: {reading.text}.")
        notes.append(_units_and_source(metric))
        fig.text(0.01, 0.02, "\n".join(textwrap.fill(line, 130) for line in notes), fontsize=8, va="bottom")
        _save(fig, png, svg)
    return [png, svg]


# Funnel plots (metrics.compute.funnel): colour-blind-safe NHS colours by significance.
FUNNEL_COLOURS = {
    "High (0.001)": "#ED8B00",  # NHS orange
    "High (0.025)": "#FFB81C",  # NHS warm yellow
    "Low (0.001)": "#005EB8",  # NHS blue
    "Low (0.025)": "#41B6E6",  # NHS light blue
    "Not significant": "#768692",  # NHS mid grey
    "Not applicable for events less than 10 for dsrs": "#D8DDE0",
}


def funnel_chart_paths(out_dir: Path, metric_id: str) -> tuple[Path, Path]:
    """Where a metric's funnel plot goes (one per metric and run, not per area)."""
    return chart_paths(out_dir, "funnel", metric_id)


def funnel_chart(
    metric: Metric,
    results: Sequence[MetricResult],
    names: dict[str, str],
    out_dir: Path,
    suppression_threshold: int = DEFAULT_THRESHOLD,
) -> list[Path]:
    """The metric's funnel plot across the run's areas (headline figures of one period): PHE 95% and
    99.8% limits around the pooled average, each area a point coloured and labelled by its
    significance. Suppressed figures are left off (they still count towards the average). Nothing is
    drawn for a method without a PHE funnel (counts, means) or fewer than two areas with figures."""
    from metrics.compute.funnel import funnel_for

    rows = []
    for r in results:
        if r.metric_id != metric.id or r.view or r.value is None or r.numerator is None or r.denominator is None:
            continue
        shown = not publishable(r, suppression_threshold)["suppressed"]
        rows.append((r.hwb_code, float(r.numerator), float(r.denominator), float(r.value), shown))
    data = funnel_for(metric.method, metric.multiplier, metric.id, rows)
    if data is None:
        return []
    png, svg = funnel_chart_paths(out_dir, metric.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _figure(f"funnel_{metric.id}") as fig:
        ax = fig.add_axes((0.1, 0.24, 0.62, 0.63))
        for key, style in (("95", "--"), ("99.8", "-")):
            for side in ("lower", "upper"):
                line = data.lines[f"{side}_{key}"]
                if line:
                    ax.plot(
                        [p[0] for p in line],
                        [p[1] for p in line],
                        style,
                        color=BENCHMARK_COLOUR,
                        linewidth=1,
                        label=f"{key}% limits" if side == "lower" else None,
                    )
        ax.axhline(
            data.baseline,
            color=TEXT_COLOUR,
            linewidth=1,
            label=f"average of the areas ({_fmt(data.baseline, metric.decimals)})",
        )
        for label, colour in FUNNEL_COLOURS.items():
            mine = [a for a in data.areas if a.significance == label]
            if mine:
                ax.scatter(
                    [a.x for a in mine],
                    [a.value for a in mine],
                    color=colour,
                    edgecolor=TEXT_COLOUR,
                    zorder=3,
                    label=label,
                )
        right = max((a.x for a in data.areas), default=1.0) * 0.6
        for a in data.areas:
            # Labels of points on the right run leftwards, so none runs into the legend.
            ax.annotate(
                f"{names.get(a.code, a.code)}: {a.significance}",
                (a.x, a.value),
                fontsize=7,
                xytext=(-4 if a.x > right else 4, 4),
                textcoords="offset points",
                ha="right" if a.x > right else "left",
            )
        xs = [a.x for a in data.areas] or [1.0]
        ax.set_xlim(0, max(xs) * 1.15)
        ys = [a.value for a in data.areas] + [data.baseline]
        top = max(ys) * 1.25
        ax.set_ylim(0, min(top, metric.multiplier) if data.statistic == "proportion" else top)
        ax.set_xlabel(metric.denominator_label if data.statistic == "proportion" else data.x_label)
        ax.set_ylabel(textwrap.fill(metric.unit, 45), fontsize=9)
        ax.grid(color=GRID_COLOUR, linewidth=0.5)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
        fig.suptitle(
            textwrap.fill(f"Funnel plot - {metric.title}", 80), x=0.1, ha="left", fontsize=13, fontweight="bold"
        )
        notes = [
            f"PHE funnel limits (95% and 99.8%, as PHEindicatormethods calculate_funnel_limits) around the "
            f"pooled average of the {len(rows)} areas in this run; suppressed figures are not drawn.",
            f"Units: {metric.unit}. Source: {metric.reference or metric.title} ({', '.join(metric.sources)}).",
            *caveats_for(metric.reference_data),
        ]
        fig.text(0.01, 0.02, "\n".join(textwrap.fill(line, 130) for line in notes), fontsize=8, va="bottom")
        _save(fig, png, svg)
    return [png, svg]
