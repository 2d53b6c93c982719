"""Secondary suppression: a total must not give back a suppressed category."""

from __future__ import annotations

import datetime as dt

from metrics.compute.status import CONTEXT
from metrics.compute.suppression import SUPPRESSED, mark_secondary, publishable
from metrics.core.results import MetricResult

CATS = ("neglect", "emotional", "physical", "sexual", "multiple")


def _cats(counts: dict[str, int], view: str = "", area: str = "E06000061") -> list[MetricResult]:
    total = sum(counts.values())
    return [
        MetricResult(
            f"cp_category_{c}",
            area,
            "2023-24-Q2",
            dt.date(2023, 7, 1),
            dt.date(2023, 9, 30),
            counts[c],
            total,
            100 * counts[c] / total,
            1.0,
            2.0,
            "Wilson",
            "",
            None,
            None,
            None,
            CONTEXT,
            "context measure",
            view,
        )
        for c in CATS
    ]


def _shown(results: list[MetricResult], threshold: int = 5) -> dict[str, object]:
    return {
        r.metric_id.removeprefix("cp_category_"): publishable(r, threshold)["numerator"]
        for r in mark_secondary(results, threshold)
    }


def test_one_small_category_takes_the_next_smallest_with_it() -> None:
    # 40 + 30 + 12 + 3 + 0 = 85: 'sexual' (3) is suppressed; with the total shown, 85 - 40 - 30 - 12 = 3
    # would give it back, so the smallest other non-zero count (physical, 12) is withheld too. Zero stays.
    shown = _shown(_cats({"neglect": 40, "emotional": 30, "physical": 12, "sexual": 3, "multiple": 0}))
    assert shown == {"neglect": 40, "emotional": 30, "physical": SUPPRESSED, "sexual": SUPPRESSED, "multiple": 0}


def test_withheld_category_loses_its_value_and_interval_too() -> None:
    marked = mark_secondary(_cats({"neglect": 40, "emotional": 30, "physical": 12, "sexual": 3, "multiple": 0}))
    physical = publishable(next(r for r in marked if r.metric_id == "cp_category_physical"))
    assert physical["suppressed"] and physical["value"] is None and physical["lower"] is None
    assert physical["denominator"] == 85 and "would reveal" in physical["note"]


def test_nothing_small_nothing_extra() -> None:
    shown = _shown(_cats({"neglect": 40, "emotional": 30, "physical": 12, "sexual": 6, "multiple": 5}))
    assert SUPPRESSED not in shown.values()


def test_two_small_categories_protect_each_other() -> None:
    # Only their sum (3 + 2 = 5) can be derived, not either count.
    shown = _shown(_cats({"neglect": 40, "emotional": 30, "physical": 12, "sexual": 3, "multiple": 2}))
    assert [k for k, v in shown.items() if v == SUPPRESSED] == ["sexual", "multiple"]


def test_groups_are_per_area_period_and_view() -> None:
    a = _cats({"neglect": 40, "emotional": 30, "physical": 12, "sexual": 3, "multiple": 0})
    b = _cats({"neglect": 40, "emotional": 30, "physical": 12, "sexual": 6, "multiple": 7}, view="year_to_date")
    c = _cats({"neglect": 40, "emotional": 30, "physical": 12, "sexual": 6, "multiple": 7}, area="E06000062")
    marked = mark_secondary([*a, *b, *c])
    assert sum(r.secondary_suppressed for r in marked) == 1


def test_threshold_is_configurable() -> None:
    counts = {"neglect": 40, "emotional": 30, "physical": 12, "sexual": 8, "multiple": 20}
    assert SUPPRESSED not in _shown(_cats(counts), threshold=5).values()
    # Threshold 10: sexual (8) suppressed, so physical (12) is withheld too.
    shown = _shown(_cats(counts), threshold=10)
    assert shown["sexual"] == SUPPRESSED and shown["physical"] == SUPPRESSED and shown["multiple"] == 20


def test_metrics_outside_a_group_are_untouched() -> None:
    r = _cats({"neglect": 40, "emotional": 30, "physical": 12, "sexual": 3, "multiple": 0})[0]
    other = MetricResult(
        "re_referrals",
        r.hwb_code,
        r.period,
        r.window_start,
        r.window_end,
        3,
        50,
        6.0,
        1.0,
        2.0,
        "Wilson",
        "",
        None,
        None,
        None,
        CONTEXT,
        "",
        "",
    )
    assert mark_secondary([other]) == [other]
