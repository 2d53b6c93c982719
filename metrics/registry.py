"""Metric declarations, discovered from ``metrics/definitions/<scorecard>/<id>.toml``.

Each TOML file is the single declaration of a metric (definition, unit,
polarity, method, sources, SQL file, parameters); nothing else in the code
base lists metrics, so adding a file adds the metric everywhere.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFINITIONS = Path(__file__).parent / "definitions"

Method = Literal["isr", "dsr", "crude_rate", "proportion"]
Polarity = Literal["lower_is_better", "higher_is_better"]
MetricWindow = Literal["quarter", "year_to_date"]
PlanBasis = Literal["quarter", "annual"]

_METHODS = ("isr", "dsr", "crude_rate", "proportion")
_POLARITIES = ("lower_is_better", "higher_is_better")


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

    @property
    def sql(self) -> str:
        return self.sql_path.read_text(encoding="utf-8")

    @property
    def higher_is_better(self) -> bool:
        return self.polarity == "higher_is_better"

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


def _load(path: Path) -> Metric:
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
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing required key {exc}") from exc
    if metric.id != path.stem:
        raise ValueError(f"{path}: id {metric.id!r} must match the file name")
    if metric.method not in _METHODS:
        raise ValueError(f"{path}: method must be one of {_METHODS}")
    if metric.polarity not in _POLARITIES:
        raise ValueError(f"{path}: polarity must be one of {_POLARITIES}")
    if not metric.sql_path.exists():
        raise ValueError(f"{path}: SQL file {metric.sql_path.name} not found")
    return metric


@functools.cache
def all_metrics() -> tuple[Metric, ...]:
    metrics = [_load(p) for p in sorted(DEFINITIONS.glob("*/*.toml"))]
    return tuple(sorted(metrics, key=lambda m: (m.scorecard, m.order)))


def metrics_for(scorecard: str) -> tuple[Metric, ...]:
    return tuple(m for m in all_metrics() if m.scorecard == scorecard)


def get(metric_id: str) -> Metric:
    for m in all_metrics():
        if m.id == metric_id:
            return m
    raise KeyError(f"unknown metric {metric_id!r}; known: {[m.id for m in all_metrics()]}")
