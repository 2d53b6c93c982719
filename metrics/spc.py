"""Statistical process control as NHS England's "Making Data Count" (MDC) does it.

XmR limits (mean +/- 2.66 x mean moving range) and the four special-cause rules,
in the priority order of NHSRplotthedots 0.2.2: a point beyond the limits, a
trend, two of three beyond two sigma, a shift. Rule lengths are configurable
because MDC artefacts differ (6 or 7); the defaults follow NHSRplotthedots (7).
Two-of-three counts points beyond the process limits too (MDC change of Nov 2023).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Improvement = Literal["increase", "decrease", "neutral"]
LIMIT = 2.66
SCREEN = 3.267


@dataclass(frozen=True)
class SpcConfig:
    shift_length: int = 7
    trend_length: int = 7
    min_points: int = 12
    screen_outliers: bool = False  # the MDC Excel tools do not screen moving ranges
    fix_after_n_points: int | None = None


@dataclass(frozen=True)
class SpcResult:
    values: list[float]
    mean: list[float]
    upper: list[float]
    lower: list[float]
    near_upper: list[float]
    near_lower: list[float]
    outside: list[bool]
    trend: list[bool]
    two_of_three: list[bool]
    shift: list[bool]
    point_type: list[str]
    variation_icon: str | None
    assurance: str | None
    trial: bool


def _limits(seg: Sequence[float], config: SpcConfig) -> tuple[float, float]:
    base = list(seg[: config.fix_after_n_points] if config.fix_after_n_points else seg)
    mean = sum(base) / len(base)
    mrs = [abs(b - a) for a, b in itertools.pairwise(base)]
    if not mrs:
        return mean, 0.0
    mr = sum(mrs) / len(mrs)
    if config.screen_outliers:
        kept = [m for m in mrs if m <= SCREEN * mr]
        mr = sum(kept) / len(kept) if kept else mr
    return mean, mr


def _runs(cond: list[int], length: int) -> list[bool]:
    """Flag every point in a run of at least ``length`` equal non-zero ``cond`` values."""
    out = [False] * len(cond)
    start = 0
    for i in range(1, len(cond) + 1):
        if i == len(cond) or cond[i] != cond[start]:
            if cond[start] != 0 and i - start >= length:
                for j in range(start, i):
                    out[j] = True
            start = i
    return out


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _trends(y: list[float], bounds: list[int], length: int) -> tuple[list[bool], list[int]]:
    """Runs of ``length`` points (``length`` - 1 successive moves) all up or all down, within a segment."""
    flags, direction = [False] * len(y), [0] * len(y)
    for a, b in itertools.pairwise(bounds):
        i = a
        while i < b - 1:
            d = _sign(y[i + 1] - y[i])
            if d == 0:
                i += 1
                continue
            j = i + 1
            while j + 1 < b and _sign(y[j + 1] - y[j]) == d:
                j += 1
            if j - i + 1 >= length:  # points i..j
                for k in range(i, j + 1):
                    flags[k], direction[k] = True, d
            i = j
    return flags, direction


def xmr(values: Sequence[float], improvement: Improvement = "neutral", target: float | None = None,
        rebase_at: Sequence[int] = (), config: SpcConfig = SpcConfig()) -> SpcResult:
    y = [float(v) for v in values]
    n = len(y)
    if n == 0:
        raise ValueError("an SPC chart needs at least one value")
    bounds = sorted({0, *(i for i in rebase_at if 0 < i < n), n})
    mean, upper, lower, nu, nl = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    trial = False
    for a, b in itertools.pairwise(bounds):
        m, mr = _limits(y[a:b], config)
        trial = b - a < config.min_points  # the last segment decides
        for i in range(a, b):
            mean[i], upper[i], lower[i] = m, m + LIMIT * mr, m - LIMIT * mr
            nu[i], nl[i] = m + 2 / 3 * LIMIT * mr, m - 2 / 3 * LIMIT * mr
    outside = [y[i] > upper[i] or y[i] < lower[i] for i in range(n)]
    side = [(y[i] > mean[i]) - (y[i] < mean[i]) for i in range(n)]
    trend, trend_dir = _trends(y, bounds, config.trend_length)
    beyond = [(y[i] > nu[i]) - (y[i] < nl[i]) for i in range(n)]
    two3 = [False] * n
    for i in range(n - 2):
        win = range(i, i + 3)
        for s in (1, -1):
            if all(side[j] == s for j in win) and sum(beyond[j] == s for j in win) >= 2:
                for j in win:
                    two3[j] = two3[j] or beyond[j] == s
    shift = _runs(side, config.shift_length)
    types = []
    for i in range(n):
        special = outside[i] or trend[i] or two3[i] or shift[i]
        # A point flagged only by a trend is high or low by the trend's direction, otherwise by the mean.
        only_trend = trend[i] and not (outside[i] or shift[i] or two3[i])
        high = trend_dir[i] > 0 if only_trend else y[i] > mean[i]
        if not special:
            types.append("common_cause")
        elif improvement == "neutral":
            types.append("special_cause_neutral_high" if high else "special_cause_neutral_low")
        else:
            good = high == (improvement == "increase")
            types.append("special_cause_improvement" if good else "special_cause_concern")
    icon = None if trial else _variation_icon(types[-1], y[-1] > mean[-1], improvement)
    return SpcResult(y, mean, upper, lower, nu, nl, outside, trend, two3, shift, types, icon,
                     None if trial else assurance(improvement, target, upper[-1], lower[-1]), trial)


def _variation_icon(point_type: str, high: bool, improvement: Improvement) -> str:
    hl = "high" if high else "low"
    if point_type == "common_cause":
        return "common_cause"
    if point_type.startswith("special_cause_neutral"):
        return f"neutral_{hl}"
    kind = "improvement" if point_type == "special_cause_improvement" else "concern"
    return f"{kind}_{hl}"


def assurance(improvement: Improvement, target: float | None, upper: float, lower: float) -> str | None:
    """Whether the process limits say the target will be met always, never, or by chance."""
    if target is None or improvement == "neutral":
        return None
    if lower <= target <= upper:
        return "inconsistent"
    passes = target < lower if improvement == "increase" else target > upper
    return "consistent_pass" if passes else "consistent_fail"
