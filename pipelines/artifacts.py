"""Prefect artifacts for a run: scorecard, rejects, and links to the outputs.

Artifacts are published outputs: figures go through suppression and rejects
are described by file, line, column and rule only, never by value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from metrics.compute.suppression import publishable
from metrics.core.periods import Period
from metrics.core.registry import Scorecard, default_scorecard, get
from metrics.core.results import LoadOutcome, MetricResult


def _key(prefix: str, period: Period) -> str:
    return f"{prefix}-{period.label.lower()}"


def scorecard_markdown(
    period: Period, results: Sequence[MetricResult], threshold: int, card: Scorecard | None = None
) -> str:
    title = (card or default_scorecard()).artifact_title
    lines = [
        f"# {title} {period.short_label}",
        "",
        "| Area | Metric | Value | 95% CI | Numerator / denominator | Plan/target | Status |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        m = get(r.metric_id)
        p = publishable(r, threshold)
        d = m.decimals
        value = "n/a" if p["value"] is None else f"{p['value']:.{d}f}"
        ci = "" if p["lower"] is None or p["upper"] is None else f"{p['lower']:.{d}f} to {p['upper']:.{d}f}"
        num = "" if p["numerator"] is None else _fmt(p["numerator"])
        den = "" if p["denominator"] is None else _fmt(p["denominator"])
        plan = "" if r.plan is None else f"{r.plan:g}"
        lines.append(f"| {r.hwb_code} | {m.title} | {value} | {ci} | {num} / {den} | {plan} | {r.status} |")
    return "\n".join(lines)


def _fmt(x: object) -> str:
    if isinstance(x, float):
        return f"{x:,.0f}" if x.is_integer() else f"{x:,.1f}"
    return str(x)


def rejects_table(loads: Sequence[LoadOutcome], limit: int = 200) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for o in loads:
        for p in o.problems:
            if len(rows) >= limit:
                return rows
            rows.append(
                {
                    "period": o.period,
                    "file": o.file_path,
                    "line": p.line,
                    "column": p.column,
                    "rule": p.rule,
                    "reason": p.reason,
                }
            )
    return rows


def publish(
    period: Period,
    results: Sequence[MetricResult],
    loads: Sequence[LoadOutcome],
    charts: Sequence[Path],
    documents: Sequence[Path],
    docs: Path,
    manifest: Path,
    threshold: int,
    card: Scorecard,
) -> None:
    """Artifacts keyed ``<scorecard>-<what>-<period>`` (e.g. ``bcf-rejects-2023-24-q2``)."""
    create_markdown_artifact(
        key=_key(f"{card.id}-scorecard", period),
        markdown=scorecard_markdown(period, results, threshold, card),
        description=f"{card.id} metrics for {period.label}",
    )
    create_table_artifact(
        key=_key(f"{card.id}-rejects", period),
        table=rejects_table(loads)
        or [
            {"period": period.label, "file": "", "line": None, "column": None, "rule": "", "reason": "no rejected rows"}
        ],
        description="Rejected rows (first 200): file, line, column and rule; values stay in the warehouse",
    )
    links = ["# Outputs", ""]
    links += [
        f"- {'Scorecard' if p.suffix == '.html' else 'Return workbook'}: [{p.name}]({p.resolve().as_uri()})"
        for p in documents
    ]
    links += [f"- Chart: [{p.name}]({p.resolve().as_uri()})" for p in charts if p.suffix == ".png"]
    links += [
        f"- GX Data Docs: [{docs.name}]({docs.resolve().as_uri()})",
        f"- Manifest: [{manifest.name}]({manifest.resolve().as_uri()})",
    ]
    create_markdown_artifact(
        key=_key(f"{card.id}-outputs", period),
        markdown="\n".join(links),
        description="Links to the run's charts, workbook, Data Docs and manifest",
    )
    for p in (r for r in documents if r.suffix == ".xlsx"):
        create_link_artifact(
            key=_key(card.workbook_artifact_key, period),
            link=p.resolve().as_uri(),
            link_text=p.name,
        )
