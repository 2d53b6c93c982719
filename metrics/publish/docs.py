"""Markdown for the README, generated from the declarations so docs cannot drift."""

from __future__ import annotations

from metrics.contracts import EXTRACTS, markdown_table
from metrics.core.registry import metrics_for, scorecard


def contracts_markdown(card: str = "bcf") -> str:
    return "\n\n".join(markdown_table(EXTRACTS[name]) for name in scorecard(card).extracts)


def metrics_markdown(scorecard: str = "bcf") -> str:
    lines = [
        "| # | id | metric | unit | polarity | method (95% CI) | window (further views) | plan basis | sources |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ci = {
        "isr": "ISR, exact/Byar",
        "dsr": "DSR ESP2013, Dobson",
        "crude_rate": "crude rate, exact/Byar",
        "proportion": "proportion, Wilson",
        "count": "count, exact/Byar",
    }
    for m in metrics_for(scorecard):
        views = f" ({', '.join(v.replace('_', ' ') for v in m.views)})" if m.views else ""
        lines.append(
            f"| {m.order} | `{m.id}` | {m.title}{f' ({m.reference})' if m.reference else ''} | {m.unit} | "
            f"{m.polarity.replace('_', ' ')} | {ci[m.method]} | {m.window.replace('_', ' ')}"
            f"{' (cumulative)' if m.cumulative else ''}{views} | {m.plan_basis} | {', '.join(m.sources)} |"
        )
    lines.append("")
    seen: set[str] = set()
    for m in metrics_for(scorecard):
        key = m.suppression_group or m.id
        if key in seen:
            continue
        seen.add(key)
        title = m.group_label or m.title
        lines.append(f"- **{title}** (`{key}`, SQL `{m.sql_path.name}`): {m.definition}")
    return "\n".join(lines)


def refresh_readme(path: str = "README.md") -> bool:
    """Rewrite the generated README sections in place; True if anything changed."""
    import re
    from pathlib import Path

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    new = text
    sections = [
        ("contracts", contracts_markdown()),
        ("metrics", metrics_markdown()),
        ("safeguarding-contracts", contracts_markdown("safeguarding")),
        ("safeguarding-metrics", metrics_markdown("safeguarding")),
    ]
    for name, body in sections:
        start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
        new = re.sub(
            re.escape(start) + ".*?" + re.escape(end),
            (start + body + "\n" + end).replace("\\", "\\\\"),
            new,
            flags=re.S,
        )
    if new != text:
        p.write_text(new, encoding="utf-8")
    return new != text
