"""Metric sets by financial year (``[years]`` in scorecard.toml) and the ``source`` / ``confirmation`` every
metric declares: the registry reads and checks them, a year not declared carries the latest earlier set
forward and says so, and a scorecard without ``[years]`` reports every metric every year.

The mechanism is tested on throwaway scorecards written to ``tmp_path`` and found through
``SCORECARD_DEFINITIONS_PATH``, as a local team adds its own, and on the BCF 2023-24 / 2024-25 sets.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import openpyxl
import pytest

from metrics.compute.status import NO_DATA
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.registry import CONFIRMATIONS, metric_set
from metrics.core.results import MetricResult
from metrics.publish.html import render_scorecard
from metrics.publish.scorecard_workbook import write_scorecard_workbook
from metrics.publish.tidy import SCHEMA, tidy_rows
from tests.workspace import ROOT, SCORECARD

pytestmark = pytest.mark.fast

TOY_SCORECARD = """
id = "toy"
title = "Toy scorecard"
area_label = "Area"
status_scheme = "plan"
contracts = "toy_contracts"
extracts = ["toy_events", "toy_population", "toy_plans"]
population_extract = "toy_population"

[targets]
extract = "toy_plans"
area_column = "area_code"
value_column = "plan_value"
"""

TOY_METRIC = """
id = "{id}"
scorecard = "toy"
order = {order}
title = "Toy metric {id}"
reference = "Toy reference"
source = "Toy specification, https://example.org/{id}"
confirmation = "{confirmation}"
definition = "Events in the quarter."
unit = "events"
polarity = "lower_is_better"
method = "count"
multiplier = 1
window = "quarter"
cumulative = false
plan_basis = "annual"
sources = ["toy_events"]
sql = "{id}.sql"
numerator_label = "events"
denominator_label = "none"
"""


def _clear() -> None:
    registry.scorecards.cache_clear()
    registry.all_metrics.cache_clear()


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder ``toy`` with metrics a, b, c (write ``years`` into its scorecard.toml per test)."""
    folder = tmp_path / "defs" / "toy"
    folder.mkdir(parents=True)
    (folder / "scorecard.toml").write_text(textwrap.dedent(TOY_SCORECARD), encoding="utf-8")
    for order, mid in enumerate(("a", "b", "c"), start=1):
        (folder / f"{mid}.toml").write_text(TOY_METRIC.format(id=mid, order=order, confirmation="confirmed"))
        (folder / f"{mid}.sql").write_text("SELECT 1\n")
    monkeypatch.setenv("SCORECARD_DEFINITIONS_PATH", str(tmp_path / "defs"))
    _clear()
    yield folder
    monkeypatch.delenv("SCORECARD_DEFINITIONS_PATH")
    _clear()


def _years(folder: Path, text: str) -> None:
    path = folder / "scorecard.toml"
    path.write_text(path.read_text(encoding="utf-8") + textwrap.dedent(text), encoding="utf-8")
    _clear()


TWO_YEARS = """
[years."2023-24"]
metrics = ["a", "b"]
source = "Framework 2023-24, https://example.org/2023"
confirmation = "confirmed"

[years."2025-26"]
metrics = ["c", "a"]
source = "Framework 2025-26, https://example.org/2025"
confirmation = "secondary"
member_confirmation = { c = "unconfirmed" }
"""


def test_a_declared_year_uses_its_own_set_and_the_rest_are_supporting(toy: Path) -> None:
    _years(toy, TWO_YEARS)
    s = metric_set("toy", "2025-26")
    assert s.metric_ids == ("a", "c")  # in metric order, not the order listed
    assert not s.carried_forward and s.confirmation == "secondary"
    assert s.role("a") == "headline" and s.role("b") == "supporting"
    assert s.confirmation_of("c") == "unconfirmed" and s.confirmation_of("a") == "secondary"
    assert "2025-26 metric set (SECONDARY)" in s.basis and "https://example.org/2025" in s.basis


def test_an_undeclared_year_carries_the_latest_earlier_set_forward_as_unconfirmed(toy: Path) -> None:
    _years(toy, TWO_YEARS)
    between = metric_set("toy", "2024-25")
    assert between.declared is not None and between.declared.year == "2023-24"
    assert between.metric_ids == ("a", "b") and between.carried_forward
    later = metric_set("toy", "2027-28")
    assert later.declared is not None and later.declared.year == "2025-26" and later.carried_forward
    # Carrying a set forward is an assumption: every member is unconfirmed, whatever its declared status.
    assert later.confirmation == "unconfirmed" and later.confirmation_of("a") == "unconfirmed"
    assert "No metric set is declared for 2027-28: the 2025-26 set is carried forward (UNCONFIRMED)" in later.basis


def test_a_year_before_every_declared_set_uses_the_earliest_and_says_so(toy: Path) -> None:
    _years(toy, TWO_YEARS)
    s = metric_set("toy", "2021-22")
    assert s.metric_ids == ("a", "b") and s.carried_back and not s.carried_forward
    assert s.confirmation == "unconfirmed" and "earliest declared set, 2023-24" in s.basis


def test_a_scorecard_without_years_reports_every_metric_every_year(toy: Path) -> None:
    s = metric_set("toy", "2030-31")
    assert s.metric_ids == ("a", "b", "c") and s.declared is None and s.basis == ""
    assert all(s.role(m) == "headline" for m in "abc")
    sg = metric_set("safeguarding", "2025-26")
    assert sg.metric_ids == tuple(m.id for m in registry.metrics_for("safeguarding"))


@pytest.mark.parametrize(
    ("years", "words"),
    [
        ('[years."2025-26"]\nmetrics = ["a", "zz"]\nsource = "s"\nconfirmation = "confirmed"\n', ["'zz'", "toy"]),
        ('[years."2025/26"]\nmetrics = ["a"]\nsource = "s"\nconfirmation = "confirmed"\n', ["2025/26", "YYYY-YY"]),
        ('[years."2025-27"]\nmetrics = ["a"]\nsource = "s"\nconfirmation = "confirmed"\n', ["not consecutive"]),
        ('[years."2025-26"]\nmetrics = ["a"]\nsource = "s"\nconfirmation = "Confirmed"\n', ["confirmation"]),
        ('[years."2025-26"]\nmetrics = ["a"]\nconfirmation = "confirmed"\n', ["'source'"]),
        ('[years."2025-26"]\nmetrics = []\nsource = "s"\nconfirmation = "confirmed"\n', ["non-empty"]),
        ('[years."2025-26"]\nmetrics = ["a", "a"]\nsource = "s"\nconfirmation = "confirmed"\n', ["twice"]),
        (
            '[years."2025-26"]\nmetrics = ["a"]\nsource = "s"\nconfirmation = "confirmed"\n'
            'member_confirmation = { b = "unconfirmed" }\n',
            ["member_confirmation", "'b'"],
        ),
    ],
)
def test_a_bad_years_table_is_an_error_naming_the_file(toy: Path, years: str, words: list[str]) -> None:
    _years(toy, years)
    with pytest.raises(ValueError) as err:
        registry.scorecards()
    assert str(toy / "scorecard.toml") in str(err.value)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize(
    ("confirmation", "drop", "words"),
    [
        ("maybe", "", ["confirmation", "'maybe'"]),
        ("confirmed", "source", ["'source'"]),
        ("confirmed", "confirmation", ["'confirmation'"]),
    ],
)
def test_a_metric_without_a_valid_source_and_confirmation_is_an_error_naming_the_file(
    toy: Path, confirmation: str, drop: str, words: list[str]
) -> None:
    text = TOY_METRIC.format(id="b", order=2, confirmation=confirmation)
    if drop:
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{drop} ="))
    (toy / "b.toml").write_text(text, encoding="utf-8")
    _clear()
    with pytest.raises(ValueError) as err:
        registry.all_metrics()
    assert str(toy / "b.toml") in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_every_shipped_metric_declares_its_source_and_a_valid_confirmation() -> None:
    for m in registry.all_metrics():
        assert m.confirmation in CONFIRMATIONS, m.id
        assert "http" in m.source, f"{m.id}: source should cite the specification with its URL"


def test_bcf_2023_24_and_2024_25_sets_are_the_five_metrics_with_reablement_unconfirmed_in_2024_25() -> None:
    five = (
        "avoidable_admissions",
        "falls_65_plus",
        "discharge_usual_residence",
        "residential_admissions_65_plus",
        "reablement_91_days",
    )
    for year in ("2023-24", "2024-25"):
        s = metric_set("bcf", year)
        assert set(s.metric_ids) == set(five) and not s.carried_forward, year
        assert s.declared is not None and s.declared.year == year and "http" in s.declared.source
    assert metric_set("bcf", "2023-24").confirmation_of("reablement_91_days") == "secondary"
    later = metric_set("bcf", "2024-25")
    assert later.confirmation_of("reablement_91_days") == "unconfirmed"
    assert later.confirmation_of("falls_65_plus") == "secondary"
    assert "reablement" in later.basis and "UNCONFIRMED" in later.basis


def test_bcf_carries_its_latest_declared_set_forward_to_a_later_year() -> None:
    declared = [y.year for y in registry.scorecard("bcf").years]
    s = metric_set("bcf", "2030-31")
    assert s.declared is not None and s.declared.year == max(declared) and s.carried_forward
    assert s.confirmation == "unconfirmed"


def test_metric_set_refuses_a_malformed_year() -> None:
    with pytest.raises(ValueError, match="YYYY-YY"):
        metric_set("bcf", "2025")


def _result(metric_id: str, period: str) -> MetricResult:
    p = Period.parse(period)
    return MetricResult(
        metric_id, AREA, period, p.start, p.end, 12.0, None, 12.0, 6.2, 21.0, "count", "", None, None, None,
        NO_DATA, "no plan for the period",
    )  # fmt: skip


AREA = "E06000061"


def test_tidy_rows_flag_headline_and_supporting_by_each_rows_own_year(toy: Path) -> None:
    _years(toy, TWO_YEARS)
    card = registry.scorecard("toy")
    results = [_result(m, p) for m in "abc" for p in ("2023-24-Q2", "2025-26-Q2")]
    rows = tidy_rows(results, card, {}, 5)
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for row in rows:
        validator.validate(row)
    role = {(r["metric_id"], r["period"]): r["metric_role"] for r in rows}
    # 2023-24 declares a and b; 2025-26 declares a and c: the earlier year keeps its own roles.
    assert role == {
        ("a", "2023-24-Q2"): "headline", ("b", "2023-24-Q2"): "headline", ("c", "2023-24-Q2"): "supporting",
        ("a", "2025-26-Q2"): "headline", ("b", "2025-26-Q2"): "supporting", ("c", "2025-26-Q2"): "headline",
    }  # fmt: skip
    assert {r["metric_set_year"] for r in rows} == {"2023-24", "2025-26"}
    # 2024-25 declares no set: its rows carry 2023-24's roles and say which set that was.
    carried = tidy_rows([_result("c", "2024-25-Q1")], card, {}, 5)[0]
    assert (carried["metric_role"], carried["metric_set_year"]) == ("supporting", "2023-24")
    validator.validate(carried)


def test_the_page_puts_the_years_set_first_and_the_rest_under_supporting_measures(toy: Path) -> None:
    _years(toy, TWO_YEARS)
    card = registry.scorecard("toy")
    metrics = registry.metrics_for(card)
    q = Period.parse("2025-26-Q2")
    now = [_result(m.id, q.label) for m in metrics]
    history = now + [_result(m.id, "2023-24-Q2") for m in metrics]
    page = render_scorecard(metrics, now, history, AREA, "North Northamptonshire", q, {}, {}, {}, "today", 5, card)
    headline = page.split('<table id="headline">')[1].split("</table>")[0]
    supporting = page.split('<table id="supporting">')[1].split("</table>")[0]
    assert re.findall(r'data-metric="(\w+)"', headline) == ["a", "c"]
    assert re.findall(r'data-metric="(\w+)"', supporting) == ["b"]
    assert "Supporting measures" in page and "2025-26 metric set (SECONDARY)" in page
    # Sections: headline metrics first, each saying where it stands and how sure.
    assert re.findall(r'<section class="metric" id="(\w+)"', page) == ["a", "c", "b"]
    assert "Headline metric for 2025-26 (UNCONFIRMED)" in page  # c's place in the set is unconfirmed
    assert "Supporting measure: not in the 2025-26 headline metric set (SECONDARY)" in page
    # With no card named, the metrics' own scorecard decides (not the default BCF one).
    unnamed = render_scorecard(metrics, now, history, AREA, "N", q, {}, {}, {}, "today", 5)
    assert re.findall(r'data-metric="(\w+)"', unnamed.split('<table id="supporting">')[1]) == ["b"]
    # A carried-forward year says so on the page.
    later = Period.parse("2026-27-Q1")
    carried = render_scorecard(
        metrics, [_result(m.id, later.label) for m in metrics], [], AREA, "N", later, {}, {}, {}, "today", 5, card
    )
    assert "No metric set is declared for 2026-27: the 2025-26 set is carried forward (UNCONFIRMED)" in carried


def test_a_page_for_a_scorecard_without_years_has_no_supporting_table(toy: Path) -> None:
    card = registry.scorecard("toy")
    metrics = registry.metrics_for(card)
    q = Period.parse("2025-26-Q2")
    now = [_result(m.id, q.label) for m in metrics]
    page = render_scorecard(metrics, now, now, AREA, "N", q, {}, {}, {}, "today", 5, card)
    assert 'id="supporting"' not in page and "Metric set" not in page
    assert re.findall(r'data-metric="(\w+)"', page.split('<table id="headline">')[1]) == ["a", "b", "c"]


def test_the_scorecard_workbook_has_a_metric_set_column(toy: Path, tmp_path: Path) -> None:
    _years(toy, TWO_YEARS)
    card = registry.scorecard("toy")
    q = Period.parse("2025-26-Q2")
    now = [_result(m, q.label) for m in "abc"]
    path = write_scorecard_workbook(tmp_path / "w.xlsx", card, now, now, AREA, "N", q, "today", 5)
    ws = openpyxl.load_workbook(path)["Scorecard"]
    header = [c.value for c in ws[4]]
    col = header.index("Metric set")
    assert [(ws.cell(5 + i, 1).value, ws.cell(5 + i, col + 1).value) for i in range(3)] == [
        ("Toy metric a", "headline"),
        ("Toy metric b", "supporting"),
        ("Toy metric c", "headline"),
    ]
    assert "2025-26 metric set" in str(ws.cell(9, 1).value)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCORECARD), *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False, env=env
    )


def test_cli_lists_a_years_metrics_with_source_confirmation_and_carried_forward() -> None:
    declared = _cli("metrics", "--year", "2024-25")
    assert declared.returncode == 0, declared.stderr
    rows = [line for line in declared.stdout.splitlines() if line.startswith("| `")]
    assert [line.split("`")[1] for line in rows] == list(metric_set("bcf", "2024-25").metric_ids)
    reablement = next(line for line in rows if "`reablement_91_days`" in line)
    cells = [c.strip() for c in reablement.strip("|").split("|")]
    # id, title, unit, confirmation (definition), confirmation (in the set), carried forward, source
    assert cells[1] == "Still at home 91 days after discharge into reablement (in-year cohort)"
    assert cells[3:6] == [registry.get("reablement_91_days").confirmation, "unconfirmed", "no"]
    assert "http" in cells[6]
    latest = max(y.year for y in registry.scorecard("bcf").years)
    later = _cli("metrics", "--year", "2030-31", "--scorecard", "bcf")
    assert later.returncode == 0, later.stderr
    assert f"the {latest} set is carried forward (UNCONFIRMED)" in later.stdout
    assert all(f"yes, from {latest}" in line for line in later.stdout.splitlines() if line.startswith("| `"))


def test_cli_lists_supporting_measures_of_a_throwaway_scorecard(toy: Path) -> None:
    _years(toy, TWO_YEARS)
    env = {**os.environ, "SCORECARD_DEFINITIONS_PATH": str(toy.parent)}
    done = _cli("metrics", "--scorecard", "toy", "--year", "2024-25", env=env)
    assert done.returncode == 0, done.stderr
    assert "the 2023-24 set is carried forward" in done.stdout
    assert [line.split("`")[1] for line in done.stdout.splitlines() if line.startswith("| `")] == ["a", "b"]
    assert "Supporting measures in 2024-25 (computed and shown, not in the set): `c`." in done.stdout


@pytest.mark.parametrize("year", ["2025/26", "2025-2026", "2025-27", "25-26", ""])
def test_cli_refuses_a_malformed_year_with_a_plain_error_and_exit_2(year: str) -> None:
    done = _cli("metrics", "--year", year)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"financial year {year!r}" in done.stderr and "fix: give --year" in done.stderr
    assert done.stdout == ""
