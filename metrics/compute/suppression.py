"""Small-number suppression for anything published (charts, returns, board papers).

Secondary suppression: categories of one total (metrics sharing a
``suppression_group``, e.g. child protection plans by category) would give a
single suppressed category back as the total minus the others, so one more
category is withheld (``mark_secondary``, applied when results are computed,
so every output sees the same flags).

Counts of 1 to ``threshold - 1`` events could identify people, so they are
shown as ``*``. Zero is not disclosive and is published. Suppressing the count
alone is not enough: a rate or percentage published next to its denominator
gives the count back (value x denominator / multiplier), and so does a
confidence interval or a year-end projection, so those are withheld too.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from metrics.core.registry import all_metrics
from metrics.core.results import MetricResult

SUPPRESSED = "*"
DEFAULT_THRESHOLD = 5

# Figures derived from the count: any one of them, with the denominator, recovers it.
_DERIVED = ("value", "lower", "upper", "assessed_value", "projection")


def suppress_count(x: float | None, threshold: int = DEFAULT_THRESHOLD) -> str | float | None:
    """``"*"`` for a count strictly between 0 and ``threshold``; anything else unchanged.

    Non-integer counts (e.g. expected events in an indirectly standardised
    ratio) are treated the same way: 0 < x < threshold is suppressed.
    """
    if threshold < 1:
        raise ValueError(f"suppression threshold must be at least 1, got {threshold}")
    if x is None:
        return None
    return SUPPRESSED if 0 < x < threshold else x


def is_suppressed(x: object) -> bool:
    return x == SUPPRESSED


def publishable(result: MetricResult, threshold: int = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """The fields of ``result`` that may be published, with small counts suppressed.

    If either count is suppressed, the value, its CI, the assessed value and
    the year-end projection are withheld (None) and ``note`` says why; the
    status (on track or not) stays, but ``status_reason`` is replaced because it
    quotes the value. ``suppressed`` is True when anything was withheld.
    The denominator rule goes beyond the numerator one because a CI or a
    proportion's value together with the numerator can reveal a small
    denominator.
    """
    numerator = suppress_count(result.numerator, threshold)
    denominator = suppress_count(result.denominator, threshold)
    out: dict[str, Any] = {
        "metric_id": result.metric_id,
        "hwb_code": result.hwb_code,
        "period": result.period,
        "numerator": numerator,
        "denominator": denominator,
        "value": result.value,
        "lower": result.lower,
        "upper": result.upper,
        "plan": result.plan,
        "assessed_value": result.assessed_value,
        "projection": result.projection,
        "status": result.status,
        "status_reason": result.status_reason,
        "note": result.note,
        "suppressed": False,
        "view": result.view,
    }
    if result.secondary_suppressed and not is_suppressed(numerator):
        note = f"suppressed: would reveal another category below {threshold} through the total"
        out.update(dict.fromkeys(_DERIVED))
        out.update(numerator=SUPPRESSED, note=note, status_reason=note, suppressed=True)
        return out
    if is_suppressed(numerator) or is_suppressed(denominator):
        which = "events" if is_suppressed(numerator) else "in the denominator"
        note = f"suppressed: fewer than {threshold} {which}"
        out.update(dict.fromkeys(_DERIVED))
        out.update(note=note, status_reason=note, suppressed=True)
    return out


def mark_secondary(results: Sequence[MetricResult], threshold: int = DEFAULT_THRESHOLD) -> list[MetricResult]:
    """Flag the extra cells to withhold: where exactly one category of a group (same area, period
    and view) is suppressed, the smallest other non-zero category is withheld too. With two or
    more suppressed, the total reveals only their sum, which is not a single small count."""
    groups = {m.id: m.suppression_group for m in all_metrics() if m.suppression_group}
    cells: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(results):
        if r.metric_id in groups:
            cells[(groups[r.metric_id], r.hwb_code, r.period, r.view)].append(i)
    out = list(results)
    for idxs in cells.values():
        small = [i for i in idxs if is_suppressed(suppress_count(results[i].numerator, threshold))]
        if len(small) != 1:
            continue
        others = [i for i in idxs if i not in small and (results[i].numerator or 0) > 0]
        if others:
            j = min(others, key=lambda i: (results[i].numerator or 0, results[i].metric_id))
            out[j] = dataclasses.replace(results[j], secondary_suppressed=True)
    return out
