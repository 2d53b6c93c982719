"""Prefect artifacts for a run: scorecard, rejects, and where the outputs are.

Artifacts are published outputs: figures go through suppression and rejects
are described by file, line, column and rule only, never by value.

Safe to open: every piece of text that comes from an extract, a file name or a declaration is
escaped before it goes into Markdown (``md_text`` for text, ``md_code`` for paths), so a ``|``,
``<script>``, ``[link](...)`` or backtick in it is shown, not interpreted. Outputs are listed as
paths in code spans, not ``file://`` links, which browsers refuse to open from the Prefect UI; where
the reports folder is served over HTTP(S), ``SCORECARD_REPORTS_URL`` (the URL of the reports folder)
adds a link beside each published output that the UI can open.
Keys are ``<scorecard>-<what>-<area or all>-<period>`` so runs for other areas keep their own.
"""

from __future__ import annotations

import hashlib
import html
import re
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from metrics.compute.suppression import publishable
from metrics.core.periods import Period
from metrics.core.reference import caveats_for
from metrics.core.registry import Scorecard, default_scorecard, get
from metrics.core.results import LoadOutcome, MetricResult
from pipelines.checks import reports_url

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~>])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def md_text(value: object) -> str:
    """``value`` as literal Markdown text: HTML characters as entities, Markdown punctuation
    backslash-escaped (``|`` too, so a table cell stays one cell), line breaks as spaces."""
    text = _CONTROL.sub(" ", str(value))
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def md_code(value: object) -> str:
    """``value`` as an inline code span (contents are literal in Markdown, HTML included), fenced by
    more backticks than any run inside it."""
    text = _CONTROL.sub(" ", str(value))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def area_key(area: str | Sequence[str]) -> str:
    """The area part of an artifact key: ``all``, one code, a few codes, or a count and a digest."""
    codes = [area] if isinstance(area, str) else sorted(area)
    if codes == ["all"] or not codes:
        return "all"
    cleaned = [re.sub(r"[^a-z0-9]+", "-", c.lower()).strip("-") or "x" for c in codes]
    if len(cleaned) <= 3:
        return "-".join(cleaned)
    digest = hashlib.sha256(",".join(codes).encode()).hexdigest()[:8]
    return f"{len(cleaned)}-areas-{digest}"


def _key(prefix: str, period: Period, area: str | Sequence[str] = "all") -> str:
    return f"{prefix}-{area_key(area)}-{period.label.lower()}"


def scorecard_markdown(
    period: Period,
    results: Sequence[MetricResult],
    threshold: int,
    card: Scorecard | None = None,
    notices: Sequence[str] = (),
) -> str:
    """The run's figures as a table, under what the reader must know first (``notices``: the run failed
    or was partly rejected, its inputs are synthetic), each a bold line above the table."""
    title = (card or default_scorecard()).artifact_title
    lines = [f"# {md_text(title)} {md_text(period.short_label)}", ""]
    for notice in notices:
        lines += [f"> **{md_text(notice)}**", ""]
    lines += [
        "| Area | Metric | Value | 95% CI | Numerator / denominator | Plan/target | Status | Caveat |",
        "|---|---|---|---|---|---|---|---|",
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
        caveat = "; ".join(caveats_for(m.reference_data))
        cells = (r.hwb_code, m.title, value, ci, f"{num} / {den}", plan, r.status, caveat)
        lines.append("| " + " | ".join(md_text(c) for c in cells) + " |")
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


def _entry(label: str, path: Path, reports_dir: Path | None, base_url: str | None) -> str:
    """``- label: `path` `` and, for a file under the served reports folder, ``([open](url))``."""
    line = f"- {label}: {md_code(path.resolve())}"
    if base_url and reports_dir is not None:
        try:
            rel = path.resolve().relative_to(reports_dir.resolve())
        except ValueError:
            return line  # not published under the reports folder (e.g. the restricted Data Docs)
        line += f" ([open]({base_url}{urllib.parse.quote(rel.as_posix())}))"
    return line


def outputs_markdown(
    charts: Sequence[Path],
    documents: Sequence[Path],
    docs: Path,
    manifest: Path,
    tables: Sequence[Path] = (),
    reports_dir: Path | None = None,
    base_url: str | None = None,
) -> str:
    """Where the run's outputs are, as paths to copy (code spans), never as ``file://`` links; with
    ``base_url`` (where ``reports_dir`` is served), an http(s) link beside each published file."""
    lines = ["# Outputs", "", "Open these from the machine that ran the flow (paths on that machine):", ""]
    if base_url:
        lines[2] = f"Paths on the machine that ran the flow; links where the reports are served ({md_text(base_url)}):"
    label = {".html": "Scorecard", ".xlsx": "Return workbook", ".csv": "Tidy results (CSV)"}
    lines += [_entry(label.get(p.suffix, "Output"), p, reports_dir, base_url) for p in documents]
    lines += [_entry(label.get(p.suffix, "Tidy results (Parquet)"), p, reports_dir, base_url) for p in tables]
    lines += [_entry("Chart", p, reports_dir, base_url) for p in charts if p.suffix == ".png"]
    lines += [
        f"- GX Data Docs (restricted): {md_code(docs.resolve())}",
        _entry("Manifest", manifest, reports_dir, base_url),
    ]
    return "\n".join(lines)


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
    area: str | Sequence[str] = "all",
    tables: Sequence[Path] = (),
    reports_dir: Path | None = None,
    notices: Sequence[str] = (),
) -> None:
    """Artifacts keyed ``<scorecard>-<what>-<area or all>-<period>`` (e.g. ``bcf-rejects-all-2023-24-q2``,
    ``bcf-scorecard-e06000061-2023-24-q2``). ``tables`` are the tidy results files; ``reports_dir`` is
    the folder ``SCORECARD_REPORTS_URL`` serves, if set."""
    base_url = reports_url()
    create_markdown_artifact(
        key=_key(f"{card.id}-scorecard", period, area),
        markdown=scorecard_markdown(period, results, threshold, card, notices),
        description=f"{card.id} metrics for {period.label}",
    )
    create_table_artifact(
        key=_key(f"{card.id}-rejects", period, area),
        table=rejects_table(loads)
        or [
            {"period": period.label, "file": "", "line": None, "column": None, "rule": "", "reason": "no rejected rows"}
        ],
        description="Rejected rows (first 200): file, line, column and rule; values stay in the warehouse",
    )
    create_markdown_artifact(
        key=_key(f"{card.id}-outputs", period, area),
        markdown=outputs_markdown(charts, documents, docs, manifest, tables, reports_dir, base_url),
        description="Where the run's charts, workbook, Data Docs and manifest are (paths on the worker)",
    )
    workbooks = [p for p in documents if p.suffix == ".xlsx"]
    if workbooks:
        create_markdown_artifact(
            key=_key(card.workbook_artifact_key, period, area),
            markdown="\n".join(_entry(p.name, p, reports_dir, base_url) for p in workbooks),
            description="The return workbook(s), as paths on the machine that ran the flow",
        )
