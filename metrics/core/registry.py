"""Metric declarations, discovered from ``metrics/definitions/<scorecard>/<id>.toml``.

Each TOML file is the single declaration of a metric (definition, unit,
polarity, method, sources, SQL file, parameters); nothing else in the code
base lists metrics, so adding a file adds the metric everywhere. A
``[breakdown]`` table declares one metric per value of a SQL parameter
(e.g. child protection plans by category) from the same file. Each
scorecard's ``scorecard.toml`` says which extracts it reads and how status
is judged.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from metrics.core.paths import DEFINITIONS

Method = Literal["isr", "dsr", "crude_rate", "proportion", "count"]
# neutral: a context measure (e.g. demand); shown, trended, never given a status colour.
Polarity = Literal["lower_is_better", "higher_is_better", "neutral"]
MetricWindow = Literal["quarter", "year_to_date", "rolling_12_months"]
PlanBasis = Literal["quarter", "annual"]
StatusScheme = Literal["plan", "rag"]

_METHODS = ("isr", "dsr", "crude_rate", "proportion", "count")
_POLARITIES = ("lower_is_better", "higher_is_better", "neutral")
_WINDOWS = ("quarter", "year_to_date", "rolling_12_months")
SCORECARD_FILE = "scorecard.toml"


@dataclass(frozen=True)
class Scorecard:
    """One scorecard: the extracts it ingests and how its statuses are judged."""

    id: str
    title: str
    area_label: str
    status_scheme: StatusScheme
    extracts: tuple[str, ...]
    # The extract listing the areas of a period (its ``code`` column), and the one holding targets.
    population_extract: str
    targets_extract: str
    description: str = ""


@dataclass(frozen=True)
class Metric:
    id: str
    scorecard: str
    order: int
    title: str
    reference: str
    definition: str
    unit: str
    polarity: Polarity
    method: Method
    multiplier: float
    window: MetricWindow
    cumulative: bool
    plan_basis: PlanBasis
    sources: tuple[str, ...]
    sql_path: Path
    decimals: int
    numerator_label: str
    denominator_label: str
    parameters: dict[str, Any] = field(default_factory=dict)
    # Further windows reported beside the headline one (e.g. rolling 12 months, year to date).
    views: tuple[MetricWindow, ...] = ()
    # Metrics whose numerators add up to a shared denominator (categories of one total): if one
    # is suppressed, another must be too, or the total gives it away.
    suppression_group: str = ""
    group_label: str = ""

    @property
    def sql(self) -> str:
        return self.sql_path.read_text(encoding="utf-8")

    @property
    def higher_is_better(self) -> bool:
        return self.polarity == "higher_is_better"

    @property
    def windows(self) -> tuple[MetricWindow, ...]:
        """The headline window first, then the further views."""
        return (self.window, *(v for v in self.views if v != self.window))

    def sql_parameters(self, available: dict[str, Any]) -> dict[str, Any]:
        """The named parameters the SQL uses: run values first, then declared ones.

        DuckDB rejects unused named parameters, so only those referenced are passed.
        """
        wanted = set(re.findall(r"\$([A-Za-z_]\w*)", self.sql))
        merged = {**self.parameters, **available}
        missing = wanted - merged.keys()
        if missing:
            raise KeyError(f"metric {self.id}: SQL needs parameters {sorted(missing)}")
        return {k: merged[k] for k in wanted}


def _load(path: Path) -> list[Metric]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        metric = Metric(
            id=raw["id"],
            scorecard=raw["scorecard"],
            order=int(raw["order"]),
            title=raw["title"],
            reference=raw.get("reference", ""),
            definition=" ".join(raw["definition"].split()),
            unit=raw["unit"],
            polarity=raw["polarity"],
            method=raw["method"],
            multiplier=float(raw["multiplier"]),
            window=raw["window"],
            cumulative=bool(raw["cumulative"]),
            plan_basis=raw["plan_basis"],
            sources=tuple(raw["sources"]),
            sql_path=path.with_name(raw["sql"]),
            decimals=int(raw.get("decimals", 1)),
            numerator_label=raw["numerator_label"],
            denominator_label=raw["denominator_label"],
            parameters=dict(raw.get("parameters", {})),
            views=tuple(raw.get("views", ())),
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing required key {exc}") from exc
    if metric.id != path.stem:
        raise ValueError(f"{path}: id {metric.id!r} must match the file name")
    if metric.scorecard != path.parent.name:
        raise ValueError(f"{path}: scorecard {metric.scorecard!r} must match the folder name")
    if metric.method not in _METHODS:
        raise ValueError(f"{path}: method must be one of {_METHODS}")
    if metric.polarity not in _POLARITIES:
        raise ValueError(f"{path}: polarity must be one of {_POLARITIES}")
    for w in metric.windows:
        if w not in _WINDOWS:
            raise ValueError(f"{path}: window/views must be among {_WINDOWS}, got {w!r}")
    if not metric.sql_path.exists():
        raise ValueError(f"{path}: SQL file {metric.sql_path.name} not found")
    breakdown = raw.get("breakdown")
    if breakdown is None:
        return [metric]
    return _expand(path, metric, breakdown)


def _expand(path: Path, metric: Metric, breakdown: dict[str, Any]) -> list[Metric]:
    """One metric per breakdown value: id ``<id>_<value>``, the value passed as a SQL parameter."""
    try:
        param, values = breakdown["parameter"], dict(breakdown["values"])
    except KeyError as exc:
        raise ValueError(f"{path}: [breakdown] needs {exc}") from exc
    if not values:
        raise ValueError(f"{path}: [breakdown] values is empty")
    return [
        replace(
            metric,
            id=f"{metric.id}_{value}",
            title=f"{metric.title}: {label}",
            numerator_label=metric.numerator_label.replace("{label}", label.lower()),
            parameters={**metric.parameters, param: value},
            suppression_group=metric.id,
            group_label=metric.title,
        )
        for value, label in values.items()
    ]


def _load_scorecard(path: Path) -> Scorecard:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        card = Scorecard(
            id=raw["id"],
            title=raw["title"],
            area_label=raw["area_label"],
            status_scheme=raw["status_scheme"],
            extracts=tuple(raw["extracts"]),
            population_extract=raw["population_extract"],
            targets_extract=raw["targets_extract"],
            description=" ".join(raw.get("description", "").split()),
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing required key {exc}") from exc
    if card.id != path.parent.name:
        raise ValueError(f"{path}: id {card.id!r} must match the folder name")
    if card.status_scheme not in ("plan", "rag"):
        raise ValueError(f"{path}: status_scheme must be 'plan' or 'rag'")
    return card


@functools.cache
def scorecards() -> dict[str, Scorecard]:
    cards = [_load_scorecard(p) for p in sorted(DEFINITIONS.glob(f"*/{SCORECARD_FILE}"))]
    return {c.id: c for c in cards}


def scorecard(card_id: str) -> Scorecard:
    try:
        return scorecards()[card_id]
    except KeyError:
        raise KeyError(f"unknown scorecard {card_id!r}; known: {sorted(scorecards())}") from None


@functools.cache
def all_metrics() -> tuple[Metric, ...]:
    metrics = [m for p in sorted(DEFINITIONS.glob("*/*.toml")) if p.name != SCORECARD_FILE for m in _load(p)]
    ids = [m.id for m in metrics]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate metric ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return tuple(sorted(metrics, key=lambda m: (m.scorecard, m.order)))  # stable: breakdown order kept


def metrics_for(card_id: str) -> tuple[Metric, ...]:
    return tuple(m for m in all_metrics() if m.scorecard == card_id)


def get(metric_id: str) -> Metric:
    for m in all_metrics():
        if m.id == metric_id:
            return m
    raise KeyError(f"unknown metric {metric_id!r}; known: {[m.id for m in all_metrics()]}")
