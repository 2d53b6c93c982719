"""England, region and peer comparisons (``metrics.compute.comparisons``), on hand-worked cases.

The worked interval throughout: 45 of 100 as a percentage, Wilson score limits
    lower/upper = (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2)).
At 95% (z = 1.959964, z^2 = 3.841459): sqrt(3.841459 + 99) = 10.141077, z x that = 19.876148,
    lower = (90 + 3.841459 - 19.876148) / 207.682918 = 35.6145%, upper = 54.7554%.
At 99.8% (z = 3.090232, z^2 = 9.549536): sqrt(9.549536 + 99) = 10.418711, z x that = 32.196238,
    lower = (90 + 9.549536 - 32.196238) / 219.099072 = 30.7410%,
    upper = (90 + 9.549536 + 32.196238) / 219.099072 = 60.1307%.
So England at 33% lies outside the 95% interval (area higher) but inside the 99.8% one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from metrics.compute import comparisons as cmp
from metrics.compute import stats
from metrics.core.reference import (
    ENGLAND,
    Benchmark,
    ReferenceDataError,
    comparator_values,
    hwb_code_list,
    peer_groups,
)
from metrics.core.registry import get
from metrics.core.results import MetricResult

PROPORTION = get("discharge_usual_residence")  # proportion x 100, higher is better
ROWS = [{"hwb_code": "E06000061", "numerator": 45.0, "denominator": 100.0}]


def test_the_worked_interval_at_both_levels() -> None:
    at95 = cmp.method_estimate(PROPORTION, ROWS, 0.95)
    at998 = cmp.method_estimate(PROPORTION, ROWS, 0.998)
    assert (at95.lower, at95.upper) == pytest.approx((35.6145, 54.7554), abs=1e-4)
    assert (at998.lower, at998.upper) == pytest.approx((30.7410, 60.1307), abs=1e-4)


@pytest.mark.parametrize(
    ("level", "polarity", "comparator", "verdict"),
    [
        (95.0, "higher_is_better", 33.0, "better"),  # 33 below the lower limit 35.61: area higher
        (95.0, "lower_is_better", 33.0, "worse"),
        (95.0, "neutral", 33.0, "higher"),
        (99.8, "higher_is_better", 33.0, "similar"),  # 33 inside 30.74 to 60.1307
        (99.8, "lower_is_better", 33.0, "similar"),
        (95.0, "higher_is_better", 58.0, "worse"),  # 58 above the upper limit 54.76: area lower
        (95.0, "lower_is_better", 58.0, "better"),
        (95.0, "neutral", 58.0, "lower"),
        (99.8, "lower_is_better", 58.0, "similar"),  # 58 inside at 99.8%
        (99.8, "lower_is_better", 61.0, "better"),  # 61 above 60.1307 even at 99.8%
        (95.0, "higher_is_better", 45.0, "similar"),
    ],
)
def test_better_similar_worse(level: float, polarity: str, comparator: float, verdict: str) -> None:
    est = cmp.method_estimate(PROPORTION, ROWS, cmp.LEVELS[level])
    assert cmp.classify(est.lower, est.upper, comparator, polarity) == verdict  # type: ignore[arg-type]


def test_not_compared_without_an_interval_or_a_comparator() -> None:
    assert cmp.classify(None, 5.0, 3.0, "lower_is_better") == cmp.NOT_COMPARED
    assert cmp.classify(1.0, None, 3.0, "lower_is_better") == cmp.NOT_COMPARED
    assert cmp.classify(1.0, 5.0, None, "lower_is_better") == cmp.NOT_COMPARED
    # A comparator exactly on a limit is inside the interval.
    assert cmp.classify(1.0, 5.0, 5.0, "lower_is_better") == cmp.SIMILAR


def test_compare_areas_uses_the_selected_level_and_the_file_for_the_headline_only() -> None:
    values = {(PROPORTION.id, ENGLAND, "2023-24"): Benchmark(33.0, "2023-24", "worked", "SYNTHETIC")}
    estimates = {"E06000061": cmp.method_estimate(PROPORTION, ROWS)}
    rows = {"E06000061": ROWS}
    for level, verdict in ((95.0, "better"), (99.8, "similar")):
        got = cmp.compare_areas(
            PROPORTION, "2023-24", True, ["E06000061"], rows, estimates, {}, cmp.Settings(level, values, "f.csv")
        )["E06000061"]
        assert (got["england_value"], got["england_comparison"], got["comparison_level"]) == (33.0, verdict, level)
        assert got["england_source"].startswith("england_benchmarks.csv: worked (2023-24, SYNTHETIC)")
        # No East Midlands row in the file: not compared, saying so.
        assert got["region"] == "East Midlands" and got["region_comparison"] == "not compared"
        assert "no East Midlands value" in got["region_source"]
    # Another financial year has no row; a further view is never compared with a file's annual figure.
    other = cmp.compare_areas(
        PROPORTION, "2024-25", True, ["E06000061"], rows, estimates, {}, cmp.Settings(95.0, values)
    )["E06000061"]
    assert other["england_comparison"] == "not compared"
    view = cmp.compare_areas(
        PROPORTION, "2023-24", False, ["E06000061"], rows, estimates, {}, cmp.Settings(95.0, values)
    )["E06000061"]
    assert view["england_value"] is None and view["england_comparison"] == "not compared"


def test_a_file_comparator_of_another_definition_is_not_used() -> None:
    metric = get("assessments_45_days")
    bench = Benchmark(85.7, "2024-25", "DfE", "COMPUTED", (("start_point", "assessment_start"),))
    values = {(metric.id, ENGLAND, "2024-25"): bench}
    assert cmp.file_comparator(metric, ENGLAND, "2024-25", values, "x").value == 85.7
    other = replace(metric, parameters={**metric.parameters, "start_point": "referral"})
    got = cmp.file_comparator(other, ENGLAND, "2024-25", values, "x")
    assert got.value is None and "different start point" in got.source


def test_pooled_rows_sum_each_stratum_and_keep_weights() -> None:
    # Two areas, two age bands of a DSR: band 65-69 (weight 5500) 10/1000 and 30/3000, band 70-74
    # (weight 5000) 20/1000 and 0/500. Pooled: 40/4000 and 20/1500.
    dsr = get("falls_65_plus")
    rows = {
        "A": [
            {"hwb_code": "A", "stratum": "65-69", "numerator": 10, "denominator": 1000, "std_weight": 5500},
            {"hwb_code": "A", "stratum": "70-74", "numerator": 20, "denominator": 1000, "std_weight": 5000},
        ],
        "B": [
            {"hwb_code": "B", "stratum": "65-69", "numerator": 30, "denominator": 3000, "std_weight": 5500},
            {"hwb_code": "B", "stratum": "70-74", "numerator": 0, "denominator": 500, "std_weight": 5000},
        ],
    }
    pooled = cmp.pooled_rows(rows, ["A", "B"])
    assert pooled == [
        {"stratum": "65-69", "numerator": 40.0, "denominator": 4000.0, "std_weight": 5500},
        {"stratum": "70-74", "numerator": 20.0, "denominator": 1500.0, "std_weight": 5000},
    ]
    got = cmp.method_estimate(dsr, pooled)
    # DSR = (40/4000 x 5500 + 20/1500 x 5000) / 10500 x 100,000 = (55 + 66.667) / 10500 x 1e5 = 1158.73
    assert got.value == pytest.approx((55 + 200 / 3) / 10500 * 100_000, rel=1e-12)
    assert got.value == pytest.approx(stats.dsr([40, 20], [4000, 1500], [5500, 5000]).value, rel=1e-12)
    # Not the mean of the two areas' DSRs (1476.2 and 785.7: mean 1131.0).
    a = cmp.method_estimate(dsr, rows["A"]).value
    b = cmp.method_estimate(dsr, rows["B"]).value
    assert a is not None and b is not None and got.value != pytest.approx((a + b) / 2, rel=1e-3)


def test_a_mean_pools_sums_counts_and_squares() -> None:
    mean = get("discharge_delay_days")
    rows = {
        "A": [{"hwb_code": "A", "numerator": 6.0, "denominator": 3.0, "sum_squares": 14.0}],  # 1, 2, 3
        "B": [{"hwb_code": "B", "numerator": 10.0, "denominator": 1.0, "sum_squares": 100.0}],  # 10
    }
    got = cmp.run_comparator(mean, "East Midlands", ["A", "B"], rows, {})
    assert got.value == pytest.approx(16 / 4 * mean.multiplier)  # (1+2+3+10)/4, not (2 + 10)/2
    assert got.source == "this run: pooled from the records of its 2 areas"


def test_a_comparator_lacking_an_area_is_not_computed() -> None:
    rows = {"A": ROWS, "B": ROWS}
    got = cmp.run_comparator(PROPORTION, ENGLAND, ["A", "B"], rows, {"B": "population incomplete"})
    assert got.value is None and got.source == "not computed from this run: 1 of its 2 areas have no figure"


def test_coverage_needs_every_current_area() -> None:
    current = [c for c in hwb_code_list() if c.current]
    east_midlands = [c.code for c in current if c.region == "East Midlands"]
    assert len(east_midlands) == 10
    assert cmp.coverage(east_midlands) == {"East Midlands": tuple(east_midlands)}
    assert cmp.coverage(east_midlands[:-1]) == {}
    everything = cmp.coverage([c.code for c in current])
    assert set(everything) == {ENGLAND, *{c.region for c in current}}
    assert len(everything[ENGLAND]) == len(current)


def _result(hwb: str, value: float | None, numerator: float = 50.0) -> MetricResult:
    import datetime as dt

    day = dt.date(2023, 7, 1)
    return MetricResult(
        PROPORTION.id, hwb, "2023-24-Q2", day, day, numerator, 100.0, value, None, None, "Wilson", "", None, None,
        None, "", "",
    )  # fmt: skip


def test_peer_rank_and_range() -> None:
    # A's peers B, C, D, E; the run holds B (60), C (40) and D (3 events: suppressed at 5), not E.
    # Higher is better: A at 50 is behind B only, so rank 2 of 3 ranked; range 40 to 60 (D's value is
    # never shown, so not in the range).
    results = [_result("A", 50.0), _result("B", 60.0), _result("C", 40.0), _result("D", 3.0, numerator=3.0)]
    peers = {"A": ("B", "C", "D", "E")}
    got = cmp.peer_rankings(results, {PROPORTION.id: PROPORTION}, peers, 5, "peers.csv")
    a = got[0]
    assert (a.peer_rank, a.peer_count, a.peer_min, a.peer_max) == (2, 3, 40.0, 60.0)
    assert a.peer_source == "peers.csv: 2 of 4 peers in this run"
    assert got[1].peer_rank is None and got[1].peer_source == ""  # B has no peer group
    lower_better = replace(PROPORTION, polarity="lower_is_better")
    assert cmp.peer_rankings(results, {PROPORTION.id: lower_better}, peers, 5, "p")[0].peer_rank == 2  # C ahead
    none = cmp.peer_rankings([_result("A", None), *results[1:]], {PROPORTION.id: PROPORTION}, peers, 5, "p")[0]
    assert none.peer_rank is None and "no figure for this area" in none.peer_source


def test_a_suppressed_figure_is_not_compared_on_outputs() -> None:
    r = replace(_result("A", 3.0, numerator=3.0), england_comparison="better", england_value=1.0, peer_rank=1)
    got = cmp.publishable_comparison(r, 5)
    assert got["england_comparison"] == "not compared" and got["peer_rank"] is None
    assert cmp.publishable_comparison(replace(r, numerator=50.0), 5)["england_comparison"] == "better"
    assert cmp.publishable_comparison(_result("A", 50.0), 5)["england_comparison"] == "not compared"


def test_levels() -> None:
    assert cmp.parse_level("95") == 95.0 and cmp.parse_level(99.8) == 99.8
    with pytest.raises(cmp.ComparisonLevelError, match="give 95"):
        cmp.parse_level("90")


HEADER = "metric_id,comparator,value,year,source,status,definition\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("metric,comparator,value\n", "row 1 (header) must be exactly"),
        (HEADER + "nope,England,1,2023-24,s,CONFIRMED,\n", "row 2, column metric_id: 'nope' is not a declared metric"),
        (HEADER + "cla_rate,Wessex,1,2023-24,s,CONFIRMED,\n", "row 2, column comparator: 'Wessex'"),
        (HEADER + 'cla_rate,England,"1,200",2023-24,s,CONFIRMED,\n', "row 2, column value: '1,200' is not a number"),
        (HEADER + "cla_rate,England,70,2023-25,s,CONFIRMED,\n", "row 2, column year: '2023-25'"),
        (HEADER + "cla_rate,England,70,2023-24,,CONFIRMED,\n", "row 2, column source: empty"),
        (HEADER + "cla_rate,England,70,2023-24,s,maybe,\n", "row 2, column status: 'maybe'"),
        (HEADER + "cla_rate,England,70,2023-24,s,CONFIRMED,x\n", "row 2, column definition"),
        (HEADER + "cla_rate,England,70,2023-24,s,CONFIRMED\n", "row 2 has 6 cells, expected 7"),
        (
            HEADER + "cla_rate,England,70,2023-24,s,CONFIRMED,\ncla_rate,England,71,2023-24,s,CONFIRMED,\n",
            "row 3: cla_rate for England 2023-24 already given on row 2",
        ),
    ],
)
def test_comparator_files_are_read_strictly(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "comparators.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=re.escape(message)) as exc:
        comparator_values(path)
    assert str(path) in str(exc.value) and "docs/methods/comparisons.md" in str(exc.value)


def test_a_good_comparator_file(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "cla_rate,East Midlands,61.5,2023-24,DfE,CONFIRMED,\n", encoding="utf-8")
    [(key, bench)] = comparator_values(path).items()
    assert key == ("cla_rate", "East Midlands", "2023-24") and bench.value == 61.5 and bench.file == "c.csv"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("area,peer\n", "row 1 (header) must be exactly area_code,peer_code"),
        ("area_code,peer_code\nE06000061,E99999999\n", "row 2, column peer_code: 'E99999999' is not an HWB code"),
        ("area_code,peer_code\nE06000061,E06000061\n", "row 2: E06000061 is given as its own peer"),
        ("area_code,peer_code\nE06000061,E06000062\nE06000061,E06000062\n", "row 3: E06000061 has peer E06000062"),
        ("area_code,peer_code\nE06000061\n", "row 2 has 1 cells, expected 2"),
    ],
)
def test_peer_files_are_read_strictly(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "peers.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=re.escape(message)) as exc:
        peer_groups(path)
    assert str(path) in str(exc.value)


def test_a_retired_code_in_a_peer_file_stands_for_its_successor(tmp_path: Path) -> None:
    path = tmp_path / "peers.csv"
    path.write_text("area_code,peer_code\nE08000016,E08000019\n", encoding="utf-8")  # Barnsley, Sheffield
    assert peer_groups(path) == {"E08000038": ("E08000039",)}


def test_the_shipped_examples_read() -> None:
    from metrics.core.paths import REFERENCE

    assert set(peer_groups()) == {"E06000061", "E06000062", "E10000018", "E10000024"}
    demo = comparator_values(REFERENCE / "demo_comparators.csv")
    assert all(b.status == "SYNTHETIC" for b in demo.values())
    assert ("falls_65_plus", ENGLAND, "2023-24") in demo


def test_run_refuses_a_bad_comparator_or_peer_file_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    bad = tmp_path / "comparators.csv"
    bad.write_text(HEADER + "cla_rate,England,seventy,2023-24,s,CONFIRMED,\n", encoding="utf-8")
    peers = tmp_path / "peers.csv"
    peers.write_text("area_code,peer_code\nE06000061,E06000061\n", encoding="utf-8")
    common = ["run", "--period", "2023-24-Q2", "--warehouse", str(tmp_path / "w.duckdb")]
    assert main([*common, "--comparators", str(bad)]) == 2
    assert "row 2, column value: 'seventy' is not a number" in capsys.readouterr().err
    assert main([*common, "--peers", str(peers)]) == 2
    assert "row 2: E06000061 is given as its own peer" in capsys.readouterr().err
    assert not (tmp_path / "w.duckdb").exists()


def test_peer_groups_can_be_replaced_through_the_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    peers = tmp_path / "neighbours.csv"
    peers.write_text("area_code,peer_code\nE06000061,E06000015\n", encoding="utf-8")
    overrides = tmp_path / "overrides.toml"
    overrides.write_text(
        '[peer_groups]\nfile = "neighbours.csv"\nwhat = "DfE statistical neighbours"\n'
        'source = "DfE children\'s services statistical neighbour benchmarking tool"\nyear = "2024"\n'
        'status = "confirmed"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SCORECARD_REFERENCE_OVERRIDES", str(overrides))
    groups, label = cmp.Settings().peer_groups()
    assert groups == {"E06000061": ("E06000015",)} and label == "neighbours.csv"  # confirmed: no caveat


def test_rows_that_do_not_pool_into_one_give_no_comparator() -> None:
    # An extra non-additive column that differs between areas (say a new SQL output) would leave two
    # rows for a one-row method: no figure, rather than the first area's.
    rows = {
        "A": [{"hwb_code": "A", "numerator": 45.0, "denominator": 100.0, "cohort": "x"}],
        "B": [{"hwb_code": "B", "numerator": 5.0, "denominator": 100.0, "cohort": "y"}],
    }
    got = cmp.run_comparator(PROPORTION, ENGLAND, ["A", "B"], rows, {})
    assert got.value is None and "pool into 2, not 1" in got.source
    same = {k: [{**v[0], "cohort": "x"}] for k, v in rows.items()}
    assert cmp.run_comparator(PROPORTION, ENGLAND, ["A", "B"], same, {}).value == pytest.approx(25.0)  # 50/200


def test_a_delivered_comparator_file_overlays_the_shipped_one(tmp_path: Path) -> None:
    """Without --comparators, ``<raw_dir>/comparators.csv`` wins for its keys and the shipped
    England figures stay for the others; --comparators replaces both."""
    from pipelines.flows import comparison_settings

    (tmp_path / "comparators.csv").write_text(
        HEADER
        + "re_referrals,England,30,2023-24,delivered,CONFIRMED,\n"
        + "falls_65_plus,England,2000,2023-24,d,SYNTHETIC,\n",
        encoding="utf-8",
    )
    values = comparison_settings(95, raw_dir=tmp_path).file_values()
    assert values[("re_referrals", ENGLAND, "2023-24")].value == 30  # the shipped 22.4 is overlaid
    assert values[("re_referrals", ENGLAND, "2023-24")].file == "comparators.csv"
    assert values[("assessments_45_days", ENGLAND, "2024-25")].file == "england_benchmarks.csv"
    assert values[("falls_65_plus", ENGLAND, "2023-24")].value == 2000
    given = tmp_path / "given.csv"
    given.write_text(HEADER + "cla_rate,England,70,2023-24,s,CONFIRMED,\n", encoding="utf-8")
    only = comparison_settings(95, str(given), raw_dir=tmp_path).file_values()
    assert set(only) == {("cla_rate", ENGLAND, "2023-24")}
    assert comparison_settings(95, raw_dir=tmp_path / "none").values is None  # nothing delivered: shipped only


def test_the_comparison_files_a_run_reads_are_recorded_with_their_sha256(tmp_path: Path) -> None:
    """The manifest's ``comparison_files``: the given comparator file wins over a delivered one (it is
    the one read), a given peer file is added, nothing beyond the declared reference files gives none;
    names only (no local path), and the inputs digest covers them: another comparator file, another
    digest, and the manifest check recomputes it from the manifest."""
    import hashlib

    from metrics.core.reference import comparison_files
    from metrics.publish.manifest import inputs_digest

    delivered = tmp_path / "comparators.csv"
    delivered.write_text(HEADER + "re_referrals,England,30,2023-24,d,CONFIRMED,\n", encoding="utf-8")
    given = tmp_path / "given.csv"
    given.write_text(HEADER + "cla_rate,England,70,2023-24,s,CONFIRMED,\n", encoding="utf-8")
    peers = tmp_path / "peers.csv"
    peers.write_text("hwb_code,peer_code\n", encoding="utf-8")

    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    assert comparison_files(None, None, tmp_path / "none") == []
    assert comparison_files(None, None, tmp_path) == [("comparators (delivered)", "comparators.csv", sha(delivered))]
    assert comparison_files(str(given), str(peers), tmp_path) == [
        ("comparators (given)", "given.csv", sha(given)),
        ("peer groups (given)", "peers.csv", sha(peers)),
    ]
    from pipelines.flows import comparison_settings

    assert comparison_settings(95, raw_dir=tmp_path).files == (
        ("comparators (delivered)", "comparators.csv", sha(delivered)),
    )
    plain = inputs_digest([], [])
    assert inputs_digest([], [], []) == plain  # no comparison files: the digest runs had before they were recorded
    one = inputs_digest(
        [], [], [{"role": "comparators (delivered)", "name": "comparators.csv", "sha256": sha(delivered)}]
    )
    other = inputs_digest([], [], [{"role": "comparators (given)", "name": "given.csv", "sha256": sha(given)}])
    assert len({plain, one, other}) == 3


def test_the_demo_delivers_its_synthetic_comparators() -> None:
    from metrics.core.paths import PACKAGE, REFERENCE

    shipped = PACKAGE.parent / "data" / "raw" / "comparators.csv"
    assert shipped.read_bytes() == (REFERENCE / "demo_comparators.csv").read_bytes()


def test_run_refuses_a_bad_delivered_comparator_file_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from metrics.core.paths import PACKAGE
    from pipelines.cli import main

    raw = tmp_path / "raw"
    shutil.copytree(PACKAGE.parent / "data" / "raw" / "2023-24-Q2", raw / "2023-24-Q2")
    (raw / "comparators.csv").write_text(HEADER + "cla_rate,England,1.200,2023-24,s,WRONG,\n", encoding="utf-8")
    code = main(["run", "--period", "2023-24-Q2", "--raw-dir", str(raw), "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{raw / 'comparators.csv'}: row 2, column status" in err
    assert not (tmp_path / "w.duckdb").exists()
