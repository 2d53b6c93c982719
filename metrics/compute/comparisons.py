"""Fingertips-style comparisons: each area against England and its region, and among its peers.

An area is *better* or *worse* than a comparator when the comparator's value lies outside the area's
confidence interval (95%, or 99.8% when selected), read through the metric's polarity; *similar* when
it lies inside; *higher* / *lower* for a neutral (context) measure; *not compared* without an
interval or without a comparator (PHE Fingertips technical guidance, "Comparisons with a benchmark").

The comparator comes from the run itself when the run holds every area it covers (England: every
current HWB of hwb_codes.csv; a region: every current HWB of that region): its figure is computed by
the metric's own method from the areas' records pooled stratum by stratum (numerators, denominators
and sums of squares summed; standard weights and reference rates kept), never by averaging the
areas' rates. Otherwise it comes from a comparator file (``metrics.core.reference.comparator_values``).
Every result says which source was used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from metrics.compute import stats
from metrics.compute.suppression import publishable
from metrics.core.errors import UsageError
from metrics.core.reference import (
    ENGLAND,
    Benchmark,
    definition_mismatch,
    hwb_code_list,
)
from metrics.core.registry import Metric, Polarity
from metrics.core.results import MetricResult

# The confidence levels a comparison may use, by the percentage written in options and outputs.
LEVELS: dict[float, float] = {95.0: 0.95, 99.8: 0.998}
DEFAULT_LEVEL = 95.0
BETTER, SIMILAR, WORSE, HIGHER, LOWER, NOT_COMPARED = "better", "similar", "worse", "higher", "lower", "not compared"
# Columns of a metric's SQL rows that add up across areas; every other column (stratum, standard
# weight, reference counts) identifies the stratum and is the same in every area.
ADDITIVE = ("numerator", "denominator", "sum_squares")
# Methods whose SQL gives one row per stratum; every other method reads a single row per area.
STRATIFIED = ("dsr", "isr", "isratio")


class ComparisonLevelError(UsageError):
    """A comparison level other than 95 or 99.8."""


def parse_level(text: str | float) -> float:
    """95 or 99.8 (as given to ``--comparison-level`` or in scorecard.toml), else a plain error."""
    try:
        level = float(text)
    except (TypeError, ValueError):
        level = -1.0
    if level not in LEVELS:
        raise ComparisonLevelError(
            f"comparison level {text!r} is not one of {', '.join(f'{k:g}' for k in LEVELS)}; "
            "fix: give 95 (Fingertips' default) or 99.8"
        )
    return level


def classify(lower: float | None, upper: float | None, comparator: float | None, polarity: Polarity) -> str:
    """better / similar / worse (or higher / lower for a neutral measure) by whether ``comparator``
    lies outside the area's interval [lower, upper]; not compared without both limits or a comparator.
    A comparator exactly on a limit is inside (similar), as Fingertips."""
    if lower is None or upper is None or comparator is None:
        return NOT_COMPARED
    if lower <= comparator <= upper:
        return SIMILAR
    area_higher = comparator < lower
    if polarity == "neutral":
        return HIGHER if area_higher else LOWER
    return BETTER if area_higher == (polarity == "higher_is_better") else WORSE


def pooled_rows(rows_by_area: Mapping[str, Sequence[Mapping[str, Any]]], codes: Iterable[str]) -> list[dict[str, Any]]:
    """The areas' SQL rows pooled stratum by stratum: ADDITIVE columns summed, every other column
    (bar the area code) kept as the stratum's key, in first-seen order. Feeding these rows to the
    metric's method gives the figure for all the areas together (summed counts, not averaged rates)."""
    pooled: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    for code in codes:
        for row in rows_by_area.get(code, ()):
            key = tuple((k, v) for k, v in row.items() if k not in ADDITIVE and k not in ("hwb_code", "unavailable"))
            into = pooled.setdefault(key, {**dict(key), **dict.fromkeys((c for c in ADDITIVE if c in row), 0.0)})
            for c in ADDITIVE:
                if c in row:
                    into[c] += float(row[c] or 0)
    return list(pooled.values())


def coverage(hwbs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The comparators a run covers completely, with their areas: England when it holds every current
    HWB of hwb_codes.csv, and each region all of whose current HWBs it holds."""
    have = set(hwbs)
    current = [c for c in hwb_code_list() if c.current]
    groups: dict[str, list[str]] = {ENGLAND: [c.code for c in current]}
    for c in current:
        groups.setdefault(c.region, []).append(c.code)
    return {name: tuple(codes) for name, codes in groups.items() if codes and set(codes) <= have}


def region_of() -> dict[str, str]:
    """Region name by current HWB code (hwb_codes.csv)."""
    return {c.code: c.region for c in hwb_code_list()}


@dataclass(frozen=True)
class Comparator:
    """The value an area is compared with, and where it came from (printed on every output)."""

    name: str  # England or a region
    value: float | None
    source: str


def run_comparator(
    metric: Metric,
    name: str,
    codes: Sequence[str],
    rows_by_area: Mapping[str, Sequence[Mapping[str, Any]]],
    withheld: Mapping[str, str],
) -> Comparator:
    """The comparator computed from the run's own records for ``codes`` (all of England or a region).
    Not computed when any of those areas has no figure (withheld, or an incomplete population):
    a pooled figure without them would be a figure for part of the comparator."""
    missing = [c for c in codes if c in withheld]
    if missing:
        return Comparator(
            name, None, f"not computed from this run: {len(missing)} of its {len(codes)} areas have no figure"
        )
    pooled = pooled_rows(rows_by_area, codes)
    if metric.method not in STRATIFIED and len(pooled) != 1:
        # A one-row method whose rows differ in a column that is neither additive nor a stratum
        # (a new SQL output): pooling it is not defined, so no figure rather than a wrong one.
        return Comparator(name, None, f"not computed from this run: the areas' rows pool into {len(pooled)}, not 1")
    est = method_estimate(metric, pooled)
    if est.value is None:
        return Comparator(name, None, f"not computed from this run: {est.note}")
    return Comparator(name, est.value, f"this run: pooled from the records of its {len(codes)} areas")


def method_estimate(metric: Metric, rows: Sequence[Mapping[str, Any]], confidence: float = 0.95) -> stats.Estimate:
    from metrics.compute.methods import method_of

    return method_of(metric).estimate(metric, [dict(r) for r in rows], confidence)


def file_comparator(
    metric: Metric, name: str, year: str, values: Mapping[tuple[str, str, str], Benchmark], file_label: str
) -> Comparator:
    """The comparator from a comparator file: the row for the metric, comparator and financial year,
    if its definition matches the metric's parameters."""
    bench = values.get((metric.id, name, year))
    if bench is None:
        return Comparator(name, None, f"no {name} value for {metric.id} {year} in {file_label}")
    why = definition_mismatch(bench, metric.parameters)
    if why:
        return Comparator(name, None, why)
    return Comparator(name, bench.value, f"{bench.file}: {bench.source} ({bench.year}, {bench.status})")


def peer_rankings(
    results: Sequence[MetricResult],
    metrics: Mapping[str, Metric],
    peers: Mapping[str, Sequence[str]],
    threshold: int,
    peer_label: str,
) -> list[MetricResult]:
    """Each result with its rank among its peers (1 = best by polarity; highest first for a neutral
    measure), how many were ranked and the peers' range. Only figures that may be published count
    (a suppressed peer's value is never shown as the range's end), and only peers the run holds."""
    cells: dict[tuple[str, str, str, str], float] = {}
    for r in results:
        value = publishable(r, threshold)["value"]
        if value is not None:
            cells[(r.metric_id, r.period, r.view, r.hwb_code)] = float(value)
    out = []
    for r in results:
        group = peers.get(r.hwb_code, ())
        mine = cells.get((r.metric_id, r.period, r.view, r.hwb_code))
        theirs = [cells[k] for p in group if (k := (r.metric_id, r.period, r.view, p)) in cells]
        if not group:
            out.append(r)
            continue
        if mine is None or not theirs:
            why = "no figure for this area" if mine is None else "the run has no peer's figure"
            out.append(replace(r, peer_source=f"{peer_label}: not ranked ({why}; {len(group)} peers listed)"))
            continue
        m = metrics[r.metric_id]
        ahead = sum(1 for v in theirs if (v < mine if m.polarity == "lower_is_better" else v > mine))
        out.append(
            replace(
                r,
                peer_rank=ahead + 1,
                peer_count=len(theirs) + 1,
                peer_min=min(theirs),
                peer_max=max(theirs),
                peer_source=f"{peer_label}: {len(theirs)} of {len(group)} peers in this run",
            )
        )
    return out


@dataclass(frozen=True)
class Settings:
    """How a run compares: the interval level, the comparator file's values and its name as shown."""

    level: float = DEFAULT_LEVEL
    values: Mapping[tuple[str, str, str], Benchmark] | None = None  # None: the shipped england_benchmarks.csv
    file_label: str = "england_benchmarks.csv"
    # Peers by area; None: the declared peer_groups file (the shipped example unless replaced).
    peers: Mapping[str, Sequence[str]] | None = None
    peer_label: str = ""
    # The files read for these settings beyond the declared reference files (a given or delivered
    # comparator file, a given peer file): (role, file name, SHA-256), for the manifest.
    files: tuple[tuple[str, str, str], ...] = ()

    def peer_groups(self) -> tuple[Mapping[str, Sequence[str]], str]:
        """The peer groups and how outputs name them (file, and its status when not confirmed)."""
        if self.peers is not None:
            return self.peers, self.peer_label or "peer groups"
        from metrics.core.reference import peer_groups, reference_file

        ref = reference_file("peer_groups")
        label = f"{ref.path.name}" + (f" ({ref.caveat})" if ref.flagged else "")
        return peer_groups(ref.path), label

    def file_values(self) -> Mapping[tuple[str, str, str], Benchmark]:
        if self.values is not None:
            return self.values
        from metrics.core.paths import REFERENCE
        from metrics.core.reference import comparator_values

        return comparator_values(REFERENCE / "england_benchmarks.csv")


def compare_areas(
    metric: Metric,
    financial_year: str,
    headline_view: bool,
    hwbs: Sequence[str],
    rows_by_area: Mapping[str, Sequence[Mapping[str, Any]]],
    estimates: Mapping[str, stats.Estimate],
    withheld: Mapping[str, str],
    settings: Settings,
) -> dict[str, dict[str, Any]]:
    """The comparison fields of each area's result (MetricResult field name -> value).

    England and each region the run covers completely are computed from the run's pooled records;
    any other comparator is read from the comparator file, for the headline figure only (a file row
    is one financial year's figure, not a month's or a rolling year's)."""
    covered = coverage(hwbs)
    regions = region_of()
    values = settings.file_values() if headline_view else {}
    cache: dict[str, Comparator] = {}

    def comparator(name: str) -> Comparator:
        if name not in cache:
            if name in covered:
                cache[name] = run_comparator(metric, name, covered[name], rows_by_area, withheld)
            elif headline_view:
                cache[name] = file_comparator(metric, name, financial_year, values, settings.file_label)
            else:
                cache[name] = Comparator(
                    name,
                    None,
                    "the run does not hold all its areas, and comparator files give the headline figure only",
                )
        return cache[name]

    confidence = LEVELS[settings.level]
    out: dict[str, dict[str, Any]] = {}
    for hwb in hwbs:
        est = estimates.get(hwb)
        lower = upper = None
        if est is not None and est.value is not None:
            if confidence == 0.95:
                lower, upper = est.lower, est.upper
            else:
                wide = method_estimate(metric, rows_by_area.get(hwb, ()), confidence)
                lower, upper = wide.lower, wide.upper
        england = comparator(ENGLAND)
        region_name = regions.get(hwb, "")
        region = comparator(region_name) if region_name else Comparator("", None, "area has no region in hwb_codes.csv")
        out[hwb] = {
            "comparison_level": settings.level,
            "england_value": england.value,
            "england_comparison": classify(lower, upper, england.value, metric.polarity),
            "england_source": england.source,
            "region": region_name,
            "region_value": region.value,
            "region_comparison": classify(lower, upper, region.value, metric.polarity),
            "region_source": region.source,
        }
    return out


COMPARISON_FIELDS = (
    "comparison_level",
    "england_value",
    "england_comparison",
    "england_source",
    "region",
    "region_value",
    "region_comparison",
    "region_source",
    "peer_rank",
    "peer_count",
    "peer_min",
    "peer_max",
    "peer_source",
)


def publishable_comparison(result: MetricResult, threshold: int) -> dict[str, Any]:
    """The comparison fields as every output shows them: a verdict on a suppressed figure is withheld
    (it would narrow down the small count), and an empty verdict reads *not compared*."""
    out = {f: getattr(result, f) for f in COMPARISON_FIELDS}
    for side in ("england", "region"):
        out[f"{side}_comparison"] = out[f"{side}_comparison"] or NOT_COMPARED
    if publishable(result, threshold)["suppressed"]:
        out.update(england_comparison=NOT_COMPARED, region_comparison=NOT_COMPARED, peer_rank=None, peer_count=None)
        out["peer_source"] = "not ranked: the area's figure is suppressed" if result.peer_source else ""
    return out
