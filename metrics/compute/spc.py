"""Statistical process control as NHS England's "Making Data Count" (MDC) does it.

XmR limits (mean +/- 2.66 x mean moving range) and the four special-cause rules, in the
priority order of NHSRplotthedots 0.2.2: a point beyond the limits, a trend, two of three
beyond two sigma, a shift. Rule lengths are configurable because MDC artefacts differ (6 or 7);
the defaults follow NHSRplotthedots (7). docs/methods/spc.md describes the method for readers.

Choices, and why:
- Moving-range screening is off by default: the MDC Excel tools do not screen (NHSRplotthedots
  does); when on, moving ranges > 3.267 x mean MR are dropped once and the mean recomputed.
- Every rule is evaluated within one rebase segment: a run never crosses a rebase, as in
  NHSRplotthedots, which groups by rebase group.
- Two of three counts points beyond the process limits too (MDC change of Nov 2023) and flags
  only the points of a qualifying window that are beyond the band on the window's side.
- A trend is high or low by its direction, every other rule by the side of the mean. When a point
  is both improvement and concern (e.g. a rising trend below the mean), improvement wins, as in
  the MDC single chart tool; a neutral metric takes the first rule in priority order.
- Limits can be bounded (``bounds``): a rate or count cannot fall below 0, nor a percentage leave
  0-100, so the published limits are clipped there, as MDC charts do; the unbounded limits are
  kept (``raw_upper``, ``raw_lower``). The rules and assurance use the unbounded limits, which
  gives the same flags, since no value or plan lies beyond a bound.
- With fewer than ``min_points`` baseline points in the last segment the limits are trial limits
  and no variation or assurance icon is given, since MDC locks limits only from 12 points.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Improvement = Literal["increase", "decrease", "neutral"]
LIMIT = 2.66  # 3 sigma of an individuals chart, from the mean moving range
NEAR = 2 / 3 * LIMIT  # 2 sigma
SCREEN = 3.267  # upper limit of the moving-range chart

# Per point: flagged high (above the mean or rising), flagged low.
Flags = tuple[list[bool], list[bool]]


@dataclass(frozen=True)
class SpcConfig:
    """Rule lengths and limit options; defaults are NHSRplotthedots 0.2.2 with Excel-tool screening."""

    shift_length: int = 7
    trend_length: int = 7
    min_points: int = 12
    screen_outliers: bool = False  # the MDC Excel tools do not screen moving ranges
    fix_after_n_points: int | None = None

    def __post_init__(self) -> None:
        if self.shift_length < 1 or self.trend_length < 2 or self.min_points < 1:
            raise ValueError("shift_length and min_points must be >= 1 and trend_length >= 2")
        if self.fix_after_n_points is not None and self.fix_after_n_points < 1:
            raise ValueError("fix_after_n_points must be None or >= 1")


@dataclass(frozen=True)
class SpcResult:
    """Per-point limits and rule flags; icons and assurance describe the last point."""

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
    # The limits before ``bounds`` clipped them (equal to upper/lower when nothing was clipped).
    raw_upper: list[float]
    raw_lower: list[float]
    near_upper_raw: list[float]
    near_lower_raw: list[float]


def _mean(xs: Sequence[float]) -> float:
    """Mean taken about the first value so that a constant series has exactly that value as mean
    (a naive sum of 0.1s drifts, which would put every point on one side of the mean)."""
    return xs[0] + math.fsum(x - xs[0] for x in xs) / len(xs)


def limits(seg: Sequence[float], config: SpcConfig = SpcConfig()) -> tuple[float, float, int]:
    """Mean, mean moving range and number of baseline points of one segment."""
    base = list(seg[: config.fix_after_n_points] if config.fix_after_n_points else seg)
    mean = _mean(base)
    mrs = [abs(b - a) for a, b in itertools.pairwise(base)]
    if not mrs:
        return mean, 0.0, len(base)
    mr = math.fsum(mrs) / len(mrs)
    if config.screen_outliers:
        kept = [m for m in mrs if m <= SCREEN * mr]
        mr = math.fsum(kept) / len(kept) if kept else mr
    return mean, mr, len(base)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _runs(cond: Sequence[int], length: int, extra: int = 0) -> Flags:
    """Flag runs of at least ``length`` equal non-zero values of ``cond``; each run also flags
    ``extra`` following points (1 for runs of differences, which span one more point)."""
    n = len(cond) + extra
    high, low = [False] * n, [False] * n
    start = 0
    for i in range(1, len(cond) + 1):
        if i == len(cond) or cond[i] != cond[start]:
            if cond[start] != 0 and i - start >= length:
                for j in range(start, i + extra):
                    (high if cond[start] > 0 else low)[j] = True
            start = i
    return high, low


def outside_rule(y: Sequence[float], upper: float, lower: float) -> Flags:
    """Rule 1: strictly above the upper or below the lower process limit."""
    return [v > upper for v in y], [v < lower for v in y]


def trend_rule(y: Sequence[float], length: int) -> Flags:
    """Rule 2: ``length`` points in a row each strictly above (below) the one before; all flagged.
    A turning point can end a rising trend and start a falling one, so be both high and low."""
    if len(y) < 2:
        return [False] * len(y), [False] * len(y)
    return _runs([_sign(b - a) for a, b in itertools.pairwise(y)], length - 1, extra=1)


def two_of_three_rule(y: Sequence[float], mean: float, near_upper: float, near_lower: float) -> Flags:
    """Rule 3: at least 2 of 3 consecutive points beyond the 2-sigma band (beyond the process
    limits counts), all 3 strictly on one side of the mean; the points beyond the band are flagged."""
    n = len(y)
    high, low = [False] * n, [False] * n
    for i in range(n - 2):
        win = range(i, i + 3)
        sides: tuple[tuple[list[bool], int, Callable[[float], bool]], ...] = (
            (high, 1, lambda v: v > near_upper),
            (low, -1, lambda v: v < near_lower),
        )
        for flags, side, beyond in sides:
            if all(_sign(y[j] - mean) == side for j in win) and sum(beyond(y[j]) for j in win) >= 2:
                for j in win:
                    flags[j] = flags[j] or beyond(y[j])
    return high, low


def shift_rule(y: Sequence[float], mean: float, length: int) -> Flags:
    """Rule 4: ``length`` or more points in a row strictly on one side of the mean; all flagged.
    A point exactly on the mean breaks the run."""
    return _runs([_sign(v - mean) for v in y], length)


def point_type(directions: Sequence[int], improvement: Improvement) -> str:
    """Type of a point from the directions (+1 high, -1 low) of the rules flagging it, in priority order."""
    if not directions:
        return "common_cause"
    if improvement == "neutral":
        return "special_cause_neutral_high" if directions[0] > 0 else "special_cause_neutral_low"
    good = 1 if improvement == "increase" else -1
    return "special_cause_improvement" if good in directions else "special_cause_concern"


def variation_icon(kind: str, improvement: Improvement) -> str:
    """MDC variation icon name for a point type: improvement is high when higher is better."""
    if kind == "common_cause":
        return "common_cause"
    if kind.startswith("special_cause_neutral_"):
        return "neutral_" + kind.rsplit("_", 1)[1]
    up = improvement == "increase"
    if kind == "special_cause_improvement":
        return "improvement_high" if up else "improvement_low"
    return "concern_low" if up else "concern_high"


def assurance(improvement: Improvement, target: float | None, upper: float, lower: float) -> str | None:
    """Whether the process limits say the target will be met always, never, or by chance."""
    if target is None or improvement == "neutral":
        return None
    if lower <= target <= upper:
        return "inconsistent"
    passes = target < lower if improvement == "increase" else target > upper
    return "consistent_pass" if passes else "consistent_fail"


Bounds = tuple[float | None, float | None]


def clip(x: float, bounds: Bounds) -> float:
    """``x`` held within ``bounds`` (None: no bound on that side)."""
    low, high = bounds
    if low is not None and x < low:
        return low
    if high is not None and x > high:
        return high
    return x


def xmr(
    values: Sequence[float],
    improvement: Improvement = "neutral",
    target: float | None = None,
    rebase_at: Sequence[int] = (),
    config: SpcConfig = SpcConfig(),
    bounds: Bounds = (None, None),
) -> SpcResult:
    """XmR chart of ``values`` (oldest first) with a new baseline at each index in ``rebase_at``;
    published limits clipped to ``bounds`` (e.g. ``(0, None)`` for a rate, ``(0, 100)`` for a %)."""
    low, high = bounds
    if low is not None and high is not None and low >= high:
        raise ValueError(f"bounds must be (lower, upper) with lower < upper, got {bounds}")
    y = [float(v) for v in values]
    n = len(y)
    if n == 0:
        raise ValueError("an SPC chart needs at least one value")
    if not all(math.isfinite(v) for v in y):
        raise ValueError("SPC values must be finite numbers")
    if any(not 0 <= i < n for i in rebase_at):
        raise ValueError(f"rebase indices must be within 0..{n - 1}: {list(rebase_at)}")
    cuts = sorted({0, *rebase_at, n})
    mean: list[float] = []
    upper: list[float] = []
    lower: list[float] = []
    nu: list[float] = []
    nl: list[float] = []
    rules: list[Flags] = [([], []) for _ in range(4)]
    trial = False
    for a, b in itertools.pairwise(cuts):
        seg = y[a:b]
        m, mr, baseline = limits(seg, config)
        trial = baseline < config.min_points  # the last segment decides
        mean += [m] * len(seg)
        upper += [m + LIMIT * mr] * len(seg)
        lower += [m - LIMIT * mr] * len(seg)
        nu += [m + NEAR * mr] * len(seg)
        nl += [m - NEAR * mr] * len(seg)
        seg_rules = (
            outside_rule(seg, upper[-1], lower[-1]),
            trend_rule(seg, config.trend_length),
            two_of_three_rule(seg, m, nu[-1], nl[-1]),
            shift_rule(seg, m, config.shift_length),
        )
        for (hi, lo), (seg_hi, seg_lo) in zip(rules, seg_rules, strict=True):
            hi += seg_hi
            lo += seg_lo
    types = [
        point_type([d for hi, lo in rules for d, f in ((1, hi[i]), (-1, lo[i])) if f], improvement) for i in range(n)
    ]
    outside, trend, two3, shift = ([h or low for h, low in zip(hi, lo, strict=True)] for hi, lo in rules)
    return SpcResult(
        values=y,
        mean=mean,
        upper=[clip(v, bounds) for v in upper],
        lower=[clip(v, bounds) for v in lower],
        near_upper=[clip(v, bounds) for v in nu],
        near_lower=[clip(v, bounds) for v in nl],
        outside=outside,
        trend=trend,
        two_of_three=two3,
        shift=shift,
        point_type=types,
        variation_icon=None if trial else variation_icon(types[-1], improvement),
        assurance=None if trial else assurance(improvement, target, upper[-1], lower[-1]),
        trial=trial,
        raw_upper=upper,
        raw_lower=lower,
        near_upper_raw=nu,
        near_lower_raw=nl,
    )
