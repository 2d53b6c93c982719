"""Markdown for the reference pages, generated from the declarations so docs cannot drift.

``docs/reference/contracts.md``, ``docs/reference/metrics.md``, the README and
``metrics/reference/SOURCES.md`` (from ``metrics/reference/sources.toml``) carry generated sections
between ``<!-- name:start -->`` and ``<!-- name:end -->`` markers; ``refresh_docs`` (the
``scorecard docs`` command) rewrites what lies between them, and ``tests/test_registry.py``
fails when a page is stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from metrics.compute.methods import METHODS
from metrics.contracts import EXTRACTS, markdown_table
from metrics.core import atomic
from metrics.core.reference import sources_markdown
from metrics.core.registry import Scorecard, default_scorecard, metric_set, metrics_for, scorecard


def _card(card: str | Scorecard | None) -> Scorecard:
    if card is None:
        return default_scorecard()
    return card if isinstance(card, Scorecard) else scorecard(card)


def contracts_markdown(card: str | Scorecard | None = None) -> str:
    """The contract tables of a scorecard's extracts (default: the default scorecard)."""
    return "\n\n".join(markdown_table(EXTRACTS[name]) for name in _card(card).extracts)


def metrics_markdown(card: str | Scorecard | None = None) -> str:
    """The metric table and definitions of a scorecard (default: the default scorecard)."""
    lines = [
        "| # | id | metric | unit | polarity | method (95% CI) | window (further views) | plan basis | sources |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in metrics_for(_card(card)):
        views = f" ({', '.join(v.replace('_', ' ') for v in m.views)})" if m.views else ""
        lines.append(
            f"| {m.order} | `{m.id}` | {m.title}{f' ({m.reference})' if m.reference else ''} | {m.unit} | "
            f"{m.polarity.replace('_', ' ')} | {METHODS[m.method].ci_label} | {m.window.replace('_', ' ')}"
            f"{' (cumulative)' if m.cumulative else ''}{views} | {m.plan_basis} | {', '.join(m.sources)} |"
        )
    lines.append("")
    seen: set[str] = set()
    for m in metrics_for(_card(card)):
        key = m.suppression_group or m.id
        if key in seen:
            continue
        seen.add(key)
        title = m.group_label or m.title
        lines.append(
            f"- **{title}** (`{key}`, SQL `{m.sql_path.name}`): {m.definition} "
            f"Specification ({m.confirmation.upper()}): {m.source} "
            f"SPC series: {'monthly' if m.monthly else 'quarterly'}{f' ({m.monthly_note})' if m.monthly_note else ''}."
        )
    return "\n".join(lines)


def year_markdown(card: str | Scorecard | None, year: str) -> str:
    """The headline metrics of one financial year as a table (``scorecard metrics --year``), with the
    set's source and status, whether it was carried forward, and the supporting measures."""
    sc = _card(card)
    chosen = metric_set(sc, year)
    carried = f"yes, from {chosen.declared.year}" if chosen.declared and chosen.carried_forward else "no"
    if chosen.carried_back and chosen.declared:
        carried = f"no: earliest declared set, {chosen.declared.year}"
    lines = [
        f"{sc.label} headline metrics for {year}: "
        + (chosen.basis or "every measure of the scorecard, every year (it declares no [years])."),
        "",
        "| id | metric | unit | confirmation (definition) | confirmation (in the set) | carried forward | source |",
        "|---|---|---|---|---|---|---|",
    ]
    supporting = []
    for m in metrics_for(sc):
        if not chosen.is_headline(m.id):
            supporting.append(f"`{m.id}`")
            continue
        lines.append(
            f"| `{m.id}` | {m.title} | {m.unit} | {m.confirmation} | "
            f"{chosen.confirmation_of(m.id) if chosen.declared else 'every year'} | {carried} | "
            f"{m.source} |"
        )
    if supporting:
        lines += ["", f"Supporting measures in {year} (computed and shown, not in the set): {', '.join(supporting)}."]
    return "\n".join(lines)


def years_markdown(card: str | Scorecard | None = None) -> str:
    """Every declared financial-year set of a scorecard, oldest first (the docs' metric reference)."""
    sc = _card(card)
    if not sc.years:
        return f"{sc.label}: every measure, every year (its scorecard.toml declares no `[years]`)."
    parts = []
    for ys in sc.years:
        parts += [f"### {ys.year}", "", year_markdown(sc, ys.year), ""]
    parts.append(
        f"A later year with no set declared uses the {sc.years[-1].year} set, carried forward and so "
        "UNCONFIRMED; every output says so."
    )
    return "\n".join(parts)


def readme_years_markdown(card: str | Scorecard | None = None) -> str:
    """The README's compact list: year -> headline metric titles, each with how sure its place is."""
    sc = _card(card)
    lines = []
    for ys in sc.years:
        chosen = metric_set(sc, ys.year)
        titles = ", ".join(f"{_title(sc, i)} ({chosen.confirmation_of(i)})" for i in chosen.metric_ids)
        lines.append(f"- **{ys.year}**: {titles}")
    if sc.years:
        lines.append(f"- **later years**: the {sc.years[-1].year} set, carried forward (unconfirmed)")
    return "\n".join(lines)


SCHEMAS = Path(__file__).parent / "schemas"


def schema_markdown(name: str) -> str:
    """A table of every field a shipped JSON Schema declares (``schemas/<name>.schema.json``): name
    (nested as ``inputs[].sha256``), type and description, so the reference page follows the schema."""
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    lines = ["| field | type | required | description |", "|---|---|---|---|"]

    def resolve(prop: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in prop:
            target = defs[prop["$ref"].rsplit("/", 1)[-1]]
            return {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
        return prop

    def kind(prop: dict[str, Any]) -> str:
        prop = resolve(prop)
        if "enum" in prop:
            return " / ".join(f"`{v!r}`" if v == "" else f"`{v}`" for v in prop["enum"])
        if "const" in prop:
            return f"`{prop['const']}`"
        for alternatives in ("oneOf", "anyOf"):
            if alternatives in prop:
                return " or ".join(kind(p) for p in prop[alternatives])
        t = prop.get("type", "any")
        text = " or ".join(t) if isinstance(t, list) else str(t)
        extra = prop.get("format") or ("pattern `" + prop["pattern"] + "`" if "pattern" in prop else "")
        return f"{text} ({extra})" if extra else text

    def walk(props: dict[str, Any], prefix: str, needed: set[str]) -> None:
        for field, raw in props.items():
            prop = resolve(raw)
            desc = str(prop.get("description", "")).replace("|", "\\|")
            items = resolve(prop.get("items", {})) if prop.get("type") == "array" else {}
            shown = f"{prefix}{field}"
            lines.append(f"| `{shown}` | {kind(prop)} | {'yes' if field in needed else 'no'} | {desc} |")
            if "properties" in items:
                walk(items["properties"], f"{shown}[].", set(items.get("required", [])))

    walk(schema["properties"], "", required)
    return "\n".join(lines)


def _title(sc: Scorecard, metric_id: str) -> str:
    return next(m.title for m in metrics_for(sc) if m.id == metric_id)


# Page (relative to the repository root) -> the generated sections it carries, in order.
GENERATED_PAGES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "docs/reference/contracts.md": (
        ("contracts", "contracts", "bcf"),
        ("safeguarding-contracts", "contracts", "safeguarding"),
    ),
    "docs/reference/metrics.md": (
        ("metric-years", "years", "bcf"),
        ("metrics", "metrics", "bcf"),
        ("safeguarding-metrics", "metrics", "safeguarding"),
    ),
    "README.md": (("readme-metric-years", "readme-years", "bcf"),),
    # The columns of results.csv / results.parquet and the manifest's fields, from their JSON Schemas.
    "docs/reference/outputs.md": (("results-columns", "schema", "results"), ("manifest-fields", "schema", "manifest")),
    # The reference-data table, from metrics/reference/sources.toml (the card is unused).
    "metrics/reference/SOURCES.md": (("reference-sources", "reference", ""),),
}


def generated_sections(page: str) -> list[tuple[str, str]]:
    """The (marker name, Markdown body) pairs that belong in one of ``GENERATED_PAGES``."""
    render = {
        "contracts": contracts_markdown,
        "metrics": metrics_markdown,
        "years": years_markdown,
        "readme-years": readme_years_markdown,
        "reference": lambda _: sources_markdown(),
        "schema": schema_markdown,
    }
    return [(name, render[kind](card)) for name, kind, card in GENERATED_PAGES[page]]


def refresh_docs(root: str | Path = ".") -> list[Path]:
    """Rewrite the generated sections of the reference pages in place; the pages that changed.

    A page that lacks a section's start or end marker is an error, so a hand edit that drops a
    marker cannot leave the section silently stale.
    """
    changed = []
    for page in GENERATED_PAGES:
        p = Path(root) / page
        text = p.read_text(encoding="utf-8")
        new = text
        for name, body in generated_sections(page):
            start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
            found = re.search(re.escape(start) + ".*?" + re.escape(end), new, flags=re.S)
            if found is None:
                raise ValueError(f"{p}: missing the {start.strip()} ... {end} markers")
            new = new[: found.start()] + start + body + "\n" + end + new[found.end() :]
        if new != text:
            atomic.write_text(p, new)
            changed.append(p)
    return changed
