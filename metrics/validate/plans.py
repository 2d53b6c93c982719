"""Plans and targets checked against the unit of the metric each row names.

A scorecard's ``[targets]`` (``scorecard.toml``) names the extract and the value and tolerance
columns; each row names its metric (``metric_id``), whose TOML gives ``method`` and
``multiplier``. A proportion is on a 0..multiplier scale (multiplier 100: a percentage, 0-100);
a rate or a count is >= 0; an amber tolerance is >= 0 and, for a proportion, no wider than its
scale. The contract's own ``minimum = 0`` stays (GX and the SQL row rules check it on every
file); a row breaking the metric's range is reported here instead, with the metric named, rule
``plan:range`` (a plan, ``status_scheme = "plan"``), ``target:range`` or ``tolerance:range``.
"""

from __future__ import annotations

import duckdb

from metrics.contracts import Extract
from metrics.core.registry import Metric, Scorecard, metrics_for, scorecards
from metrics.core.results import Problem


def value_range(metric: Metric) -> tuple[float, float | None]:
    """The plausible range of a plan or target in the metric's unit (None: no upper limit)."""
    if metric.method == "proportion":
        return 0.0, metric.multiplier
    return 0.0, None


def _words(low: float, high: float | None) -> str:
    return f"{low:g}-{high:g}" if high is not None else f">= {low:g}"


def _card_of(extract: Extract) -> Scorecard | None:
    return next((c for c in scorecards().values() if c.targets.extract == extract.name), None)


def checked_columns(extract: Extract) -> list[tuple[str, str]]:
    """(column, rule id) of the extract's columns judged against the metric's range."""
    card = _card_of(extract)
    if card is None:
        return []
    t = card.targets
    out = [(t.value_column, "plan:range" if card.status_scheme == "plan" else "target:range")]
    if t.tolerance_column:
        out.append((t.tolerance_column, "tolerance:range"))
    return out


def target_problems(con: duckdb.DuckDBPyConnection, extract: Extract, table: str) -> list[Problem]:
    """Rows of ``table`` (typed, with ``_line`` and ``metric_id``) whose plan, target or tolerance is
    outside the range of the metric the row names; rows naming an unknown metric are left to the
    code rule. One scan."""
    card = _card_of(extract)
    columns = checked_columns(extract)
    if card is None or not columns:
        return []
    metrics = {m.id: m for m in metrics_for(card)}
    ranges = [(m.id, *value_range(m)) for m in metrics.values()]
    values = ", ".join("(?, ?::DOUBLE, ?::DOUBLE)" for _ in ranges)
    checks = [f'(t."{col}" IS NOT NULL AND (t."{col}" < r.low OR t."{col}" > r.high))' for col, _ in columns]
    flags = ", ".join(f"CASE WHEN {c} THEN {i} END" for i, c in enumerate(checks))
    rows = con.execute(
        f"SELECT t._line, t.metric_id, list_filter([{flags}], lambda x: x IS NOT NULL) AS failed "
        f"FROM {table} AS t JOIN (VALUES {values}) AS r(metric_id, low, high) ON r.metric_id = t.metric_id "
        "WHERE len(failed) > 0 ORDER BY t._line",
        [v for r in ranges for v in r],
    ).fetchall()
    out = []
    for line, metric_id, failed in rows:
        metric = metrics[metric_id]
        low, high = value_range(metric)
        for i in failed:
            col, rule = columns[i]
            what = "a percentage" if metric.method == "proportion" and metric.multiplier == 100 else metric.method
            out.append(
                Problem(
                    int(line),
                    col,
                    rule,
                    f"{col} outside {_words(low, high)} for {metric_id} ({what}: {metric.unit})",
                )
            )
    return out
