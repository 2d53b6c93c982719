"""Markdown for the reference pages, generated from the declarations so docs cannot drift.

``docs/reference/contracts.md``, ``docs/reference/metrics.md`` and ``metrics/reference/SOURCES.md``
(from ``metrics/reference/sources.toml``) carry generated sections
between ``<!-- name:start -->`` and ``<!-- name:end -->`` markers; ``refresh_docs`` (the
``scorecard docs`` command) rewrites what lies between them, and ``tests/test_registry.py``
fails when a page is stale.
"""

from __future__ import annotations

import re
from pathlib import Path

from metrics.compute.methods import METHODS
from metrics.contracts import EXTRACTS, markdown_table
from metrics.core import atomic
from metrics.core.reference import sources_markdown
from metrics.core.registry import Scorecard, default_scorecard, metrics_for, scorecard


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
        lines.append(f"- **{title}** (`{key}`, SQL `{m.sql_path.name}`): {m.definition}")
    return "\n".join(lines)


# Page (relative to the repository root) -> the generated sections it carries, in order.
GENERATED_PAGES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "docs/reference/contracts.md": (
        ("contracts", "contracts", "bcf"),
        ("safeguarding-contracts", "contracts", "safeguarding"),
    ),
    "docs/reference/metrics.md": (
        ("metrics", "metrics", "bcf"),
        ("safeguarding-metrics", "metrics", "safeguarding"),
    ),
    # The reference-data table, from metrics/reference/sources.toml (the card is unused).
    "metrics/reference/SOURCES.md": (("reference-sources", "reference", ""),),
}


def generated_sections(page: str) -> list[tuple[str, str]]:
    """The (marker name, Markdown body) pairs that belong in one of ``GENERATED_PAGES``."""
    render = {"contracts": contracts_markdown, "metrics": metrics_markdown, "reference": lambda _: sources_markdown()}
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
