"""SPC in words for the scorecard: variation and assurance of a metric's quarterly series."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from metrics.compute.spc import Improvement, SpcConfig, xmr
from metrics.core.registry import Metric
from metrics.core.results import MetricResult

_VARIATION = {
    "common_cause": "common cause variation (no significant change)",
    "improvement_high": "special cause variation: improvement (high)",
    "improvement_low": "special cause variation: improvement (low)",
    "concern_high": "special cause variation: concern (high)",
    "concern_low": "special cause variation: concern (low)",
    "neutral_high": "special cause variation (high)",
    "neutral_low": "special cause variation (low)",
}
_ASSURANCE = {
    "consistent_pass": "the process will consistently meet the plan",
    "consistent_fail": "the process will consistently miss the plan without change",
    "inconsistent": "the process will hit and miss the plan at random",
}


@dataclass(frozen=True)
class SpcReading:
    text: str
    variation_icon: str | None = None
    assurance: str | None = None


# Making Data Count colours: improvement blue, concern orange, neutral purple, common cause grey.
_ICON_COLOUR = {"improvement": "#00B0F0", "concern": "#E46C0A", "neutral": "#490092", "common": "#A6A6A6"}


def icon_svg(reading: SpcReading) -> str:
    """Small inline SVG icons: variation (letter H/L, or nothing for common cause) and assurance (P/F/?)."""
    out = []
    if reading.variation_icon:
        kind, _, hl = reading.variation_icon.partition("_")
        colour = _ICON_COLOUR["common" if kind == "common" else kind]
        letter = "" if kind == "common" else hl[:1].upper()
        label = _VARIATION[reading.variation_icon]
        out.append(
            f'<svg class="spc-icon" role="img" aria-label="{label}" width="32" height="32" viewBox="0 0 32 32">'
            f'<title>{label}</title><circle cx="16" cy="16" r="14" fill="white" stroke="{colour}" '
            f'stroke-width="3"/><text x="16" y="21" text-anchor="middle" font-size="14" font-weight="bold" '
            f'fill="{colour}">{letter}</text></svg>'
        )
    if reading.assurance:
        colour = {"consistent_pass": "#00B0F0", "consistent_fail": "#E46C0A"}.get(reading.assurance, "#A6A6A6")
        letter = {"consistent_pass": "P", "consistent_fail": "F"}.get(reading.assurance, "?")
        label = _ASSURANCE[reading.assurance]
        out.append(
            f'<svg class="spc-icon" role="img" aria-label="{label}" width="32" height="32" viewBox="0 0 32 32">'
            f'<title>{label}</title><circle cx="16" cy="16" r="14" fill="{colour}"/><text x="16" y="21" '
            f'text-anchor="middle" font-size="14" font-weight="bold" fill="white">{letter}</text></svg>'
        )
    return "".join(out)


def spc_summary(metric: Metric, history: Sequence[MetricResult], config: SpcConfig | None = None) -> SpcReading:
    """Making Data Count reading of a series of quarters, oldest first. Year-to-date metrics are
    charted by financial year in the trend chart, so SPC here uses quarterly values as delivered."""
    config = config or SpcConfig()
    values = [r.value for r in history if r.value is not None]
    if len(values) < 2:
        return SpcReading(f"not enough quarters for SPC ({len(values)} of {config.min_points} needed)")
    improvement: Improvement = (
        "neutral" if metric.polarity == "neutral" else "increase" if metric.higher_is_better else "decrease"
    )
    plan = history[-1].plan if history else None
    res = xmr(values, improvement, plan, config=config)
    if res.trial:
        return SpcReading(
            f"trial limits only: {len(values)} of {config.min_points} quarters needed before variation "
            f"and assurance icons are shown (mean {res.mean[-1]:,.{metric.decimals}f}, "
            f"process limits {res.lower[-1]:,.{metric.decimals}f} to {res.upper[-1]:,.{metric.decimals}f})"
        )
    text = _VARIATION[res.variation_icon or "common_cause"]
    if res.assurance:
        text += f"; {_ASSURANCE[res.assurance]}"
    return SpcReading(text, res.variation_icon, res.assurance)
