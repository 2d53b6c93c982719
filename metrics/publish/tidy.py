"""Results for other tools: ``results.csv`` and ``results.parquet``, one tidy row per area, metric,
period and view, suppressed exactly as the page and the workbook (``metrics.compute.suppression``).

The columns are documented once, in ``schemas/results.schema.json`` (a JSON Schema of one row),
which tests check every written row against. A suppressed count is empty (null) with
``numerator_suppressed`` / ``denominator_suppressed`` set, so a BI tool keeps numeric columns numeric;
the value, CI and projections derived from a suppressed count are empty too, as on the page.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metrics.compute.comparisons import publishable_comparison
from metrics.compute.status import plan_significance
from metrics.compute.suppression import is_suppressed, publishable
from metrics.core import atomic
from metrics.core.periods import Period
from metrics.core.reference import caveats_for
from metrics.core.registry import MetricSet, Scorecard, get, metric_set
from metrics.core.results import MetricResult
from metrics.publish.xlsx_cells import needs_quote_prefix

SCHEMA = Path(__file__).parent / "schemas" / "results.schema.json"


def columns() -> list[str]:
    """The column order, as the schema declares it."""
    return list(json.loads(SCHEMA.read_text(encoding="utf-8"))["properties"])


def tidy_rows(
    results: Sequence[MetricResult],
    card: Scorecard,
    names: Mapping[str, str],
    threshold: int,
    synthetic: bool = False,
) -> list[dict[str, Any]]:
    """One row per result, publishable fields only, in a stable order. ``metric_role`` is by the set
    declared for the row's own financial year, so earlier years keep the role they had; ``synthetic``
    (the run read synthetic demonstration inputs) is on every row, so a BI tool can filter it out."""
    rows = []
    sets: dict[str, MetricSet] = {}
    for r in sorted(results, key=lambda r: (r.hwb_code, get(r.metric_id).order, r.metric_id, r.period, r.view)):
        m = get(r.metric_id)
        p = publishable(r, threshold)
        period = Period.parse(r.period)
        year = period.financial_year
        chosen = sets.setdefault(year, metric_set(card, year))

        def count(x: object) -> float | None:
            return None if is_suppressed(x) or x is None else float(x)  # type: ignore[arg-type]

        rows.append(
            {
                "scorecard": card.id,
                "area_code": r.hwb_code,
                "area_name": names.get(r.hwb_code, r.hwb_code),
                "metric_id": r.metric_id,
                "metric_title": m.title,
                "unit": m.unit,
                "period": r.period,
                "view": r.view or m.window,
                "headline": not r.view,
                "metric_role": chosen.role(r.metric_id),
                "metric_set_year": chosen.declared.year if chosen.declared else "",
                "cumulative": m.cumulative and (r.view or m.window) == "year_to_date",
                "window_start": r.window_start.isoformat(),
                "window_end": r.window_end.isoformat(),
                "method": r.method,
                "numerator": count(p["numerator"]),
                "numerator_suppressed": is_suppressed(p["numerator"]),
                "denominator": count(p["denominator"]),
                "denominator_suppressed": is_suppressed(p["denominator"]),
                "value": p["value"],
                "lower_95": p["lower"],
                "upper_95": p["upper"],
                "plan_or_target": p["plan"],
                "year_end_projection": p["projection"],
                "status": p["status"],
                "plan_significance": plan_significance(
                    m, period, p["value"], p["lower"], p["upper"], p["plan"], target=card.status_scheme == "rag"
                ),
                "note": p["note"],
                "caveats": "; ".join(caveats_for(m.reference_data)),
                **publishable_comparison(r, threshold),
                "synthetic_data": synthetic,
            }
        )
    return rows


def write_results(out_dir: Path, rows: Sequence[Mapping[str, Any]]) -> list[Path]:
    """``results.csv`` (UTF-8, header, empty = null) and ``results.parquet`` (typed) in ``out_dir``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = columns()
    _check_columns(rows, cols)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row[k] is None else _csv_text(row[k])) for k in cols})
    csv_path = out_dir / "results.csv"
    atomic.write_bytes(csv_path, text.getvalue().encode("utf-8"))

    table = pa.Table.from_pylist([dict(r) for r in rows], schema=arrow_schema())
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    parquet_path = out_dir / "results.parquet"
    atomic.write_bytes(parquet_path, sink.getvalue().to_pybytes())
    return [csv_path, parquet_path]


def arrow_schema() -> Any:
    """The Parquet columns, typed from the JSON Schema: string, number (float64), integer (int64) or
    boolean, nullable only where the schema allows null, each with its description as field metadata."""
    import pyarrow as pa

    types = {"string": pa.string(), "number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}
    props = json.loads(SCHEMA.read_text(encoding="utf-8"))["properties"]
    fields = []
    for c in columns():
        kinds = _types(props[c])
        base = [t for t in kinds if t != "null"]
        if len(base) != 1 or base[0] not in types:
            raise ValueError(f"{SCHEMA.name}: column {c!r} needs one of {sorted(types)} (and optionally null)")
        meta = {"description": props[c]["description"]} if "description" in props[c] else None
        fields.append(pa.field(c, types[base[0]], nullable="null" in kinds, metadata=meta))
    return pa.schema(fields)


def _check_columns(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> None:
    """Every row has exactly the schema's columns: a column added to ``tidy_rows`` but not declared in
    ``schemas/results.schema.json`` (or declared and never filled) stops the export instead of being
    silently dropped from the CSV and Parquet files."""
    declared = set(cols)
    for i, row in enumerate(rows):
        if set(row) != declared:
            extra, missing = sorted(set(row) - declared), sorted(declared - set(row))
            raise ValueError(
                f"tidy results row {i}: columns not in {SCHEMA.name}: {extra or 'none'}; declared but "
                f"missing: {missing or 'none'}. fix: declare each column in {SCHEMA} and fill it in tidy_rows"
            )


def _types(prop: Mapping[str, Any]) -> list[str]:
    t = prop["type"]
    return [t] if isinstance(t, str) else list(t)


def _csv_text(v: object) -> str:
    # A text cell that a spreadsheet would run as a formula starts with a quote mark instead.
    if isinstance(v, bool):
        return "true" if v else "false"
    s = str(v)
    return "'" + s if isinstance(v, str) and needs_quote_prefix(s) else s
