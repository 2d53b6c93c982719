"""Red/Amber/Green status from value, target, tolerance and polarity (safeguarding scorecard)."""

from __future__ import annotations

import pytest

from metrics.compute.status import AMBER, CONTEXT, GREEN, NO_DATA, RED, assess_rag
from metrics.core.registry import get

LOWER = get("re_referrals")  # lower is better
HIGHER = get("rhi_72h")  # higher is better
NEUTRAL = get("contacts")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(19.9, GREEN), (20.0, GREEN), (20.1, AMBER), (23.0, AMBER), (23.01, RED), (40.0, RED)],
)
def test_lower_is_better_boundaries(value: float, expected: str) -> None:
    # target 20, tolerance 3: up to 20 is met, up to 23 is within tolerance.
    assert assess_rag(LOWER, value, 20.0, 3.0).status == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90.0, GREEN), (85.0, GREEN), (84.99, AMBER), (82.0, AMBER), (81.99, RED), (0.0, RED)],
)
def test_higher_is_better_boundaries(value: float, expected: str) -> None:
    # target 85, tolerance 3: 85 or more is met, 82 to 85 within tolerance.
    assert assess_rag(HIGHER, value, 85.0, 3.0).status == expected


def test_no_tolerance_means_met_or_red() -> None:
    assert assess_rag(HIGHER, 85.0, 85.0, None).status == GREEN
    assert assess_rag(HIGHER, 84.9, 85.0, None).status == RED
    assert assess_rag(HIGHER, 84.9, 85.0, 0.0).status == RED


def test_missing_value_or_target_and_context_measures() -> None:
    assert assess_rag(HIGHER, None, 85.0, 3.0).status == NO_DATA
    missing = assess_rag(HIGHER, 80.0, None, 3.0)
    assert missing.status == NO_DATA and "no target" in missing.reason
    # A context measure is never coloured, even if someone sets a target for it.
    assert assess_rag(NEUTRAL, 1000.0, 10.0, 1.0).status == CONTEXT


def test_reason_quotes_the_comparison() -> None:
    a = assess_rag(LOWER, 21.5, 20.0, 3.0)
    assert a.reason == "value 21.5 vs target 20, tolerance 3 (lower is better)"
    assert (a.plan, a.assessed_value, a.projection) == (20.0, 21.5, None)
