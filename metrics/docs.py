"""Markdown for the README, generated from the declarations so docs cannot drift."""

from __future__ import annotations

from metrics.contracts import BCF_EXTRACTS, markdown_table
from metrics.registry import metrics_for


def contracts_markdown() -> str:
    return "\n\n".join(markdown_table(e) for e in BCF_EXTRACTS)


def metrics_markdown(scorecard: str = "bcf") -> str:
    lines = [
        "| # | id | metric | unit | polarity | method (95% CI) | window | plan basis | sources |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ci = {"isr": "ISR, exact/Byar", "dsr": "DSR ESP2013, Dobson", "crude_rate": "crude rate, exact/Byar",
          "proportion": "proportion, Wilson"}
    for m in metrics_for(scorecard):
        lines.append(
            f"| {m.order} | `{m.id}` | {m.title} ({m.reference}) | {m.unit} | "
            f"{m.polarity.replace('_', ' ')} | {ci[m.method]} | {m.window.replace('_', ' ')}"
            f"{' (cumulative)' if m.cumulative else ''} | {m.plan_basis} | {', '.join(m.sources)} |"
        )
    lines.append("")
    for m in metrics_for(scorecard):
        lines.append(f"- **{m.title}** (`{m.id}`, SQL `{m.sql_path.name}`): {m.definition}")
    return "\n".join(lines)


def refresh_readme(path: str = "README.md") -> bool:
    """Rewrite the generated README sections in place; True if anything changed."""
    import re
    from pathlib import Path

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    new = text
    for name, body in (("contracts", contracts_markdown()), ("metrics", metrics_markdown())):
        start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
        new = re.sub(re.escape(start) + ".*?" + re.escape(end), (start + body + "\n" + end).replace("\\", "\\\\"),
                     new, flags=re.S)
    if new != text:
        p.write_text(new, encoding="utf-8")
    return new != text
