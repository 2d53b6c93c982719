"""SPC in words for the scorecard: variation and assurance of a metric's quarterly series."""

from __future__ import annotations

from collections.abc import Sequence

from metrics.compute import MetricResult
from metrics.registry import Metric
from metrics.spc import Improvement, SpcConfig, xmr

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


def spc_summary(metric: Metric, history: Sequence[MetricResult], config: SpcConfig | None = None) -> str:
    """Making Data Count reading of a series of quarters, oldest first. Year-to-date metrics are
    charted by financial year in the trend chart, so SPC here uses quarterly values as delivered."""
    config = config or SpcConfig()
    values = [r.value for r in history if r.value is not None]
    if len(values) < 2:
        return f"not enough quarters for SPC ({len(values)} of {config.min_points} needed)"
    improvement: Improvement = "increase" if metric.higher_is_better else "decrease"
    plan = history[-1].plan if history else None
    res = xmr(values, improvement, plan, config=config)
    if res.trial:
        return (f"trial limits only: {len(values)} of {config.min_points} quarters needed before variation "
                f"and assurance icons are shown (mean {res.mean[-1]:,.{metric.decimals}f}, "
                f"process limits {res.lower[-1]:,.{metric.decimals}f} to {res.upper[-1]:,.{metric.decimals}f})")
    text = _VARIATION[res.variation_icon or "common_cause"]
    if res.assurance:
        text += f"; {_ASSURANCE[res.assurance]}"
    return text
