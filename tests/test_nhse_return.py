"""The NHSE return workbook, re-read with openpyxl: exact cells, suppression, formula-injection guard, layout."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from metrics.compute.status import (
    ACHIEVED,
    NO_DATA,
    NOT_ACHIEVED,
    NOT_ON_TRACK,
    ON_TRACK,
    STATUSES,
    YEAR_END_STATUSES,
    assess,
)
from metrics.core import registry
from metrics.core.periods import Period
from metrics.core.registry import MetricSet, YearSet
from metrics.core.results import MetricResult
from metrics.publish.nhse_return import FIRST_DATA_ROW, HEADER_ROW, write_return
from metrics.publish.xlsx_cells import needs_quote_prefix

HWB, NAME = "E06000061", "North Northamptonshire"
Q2 = Period.parse("2023-24-Q2")
GENERATED = "2023-10-20T09:30:00"
SHA = "ab" * 32
RUN = "0b6b1c58-1d8e-4b8e-9d43-5f1f0c0e7a11"
HEADERS = [
    "Metric",
    "Definition",
    "Unit",
    "Year to date",
    "Planned performance",
    "Actual performance",
    "95% CI lower",
    "95% CI upper",
    "Numerator",
    "Denominator",
    "Year-end projection",
    "Assessment of progress against the metric plan for the reporting period",
    "Challenges and any Support Needs",
    "Achievements - including where BCF funding is supporting improvements",
    "Caveat",
]
# 1-based openpyxl rows.
HEADER = HEADER_ROW + 1
FIRST = FIRST_DATA_ROW + 1


def _r(
    metric_id: str,
    num: float | None,
    den: float | None,
    value: float | None,
    plan: float | None,
    status: str,
    projection: float | None = None,
    period: Period = Q2,
) -> MetricResult:
    lower = None if value is None else value * 0.9
    upper = None if value is None else value * 1.1
    return MetricResult(
        metric_id,
        HWB,
        period.label,
        period.start,
        period.end,
        num,
        den,
        value,
        lower,
        upper,
        "x",
        "",
        plan,
        value if projection is None else projection,
        projection,
        status,
        "reason 123.456",
    )


def _results() -> list[MetricResult]:
    # Deliberately out of metric order.
    return [
        _r("reablement_91_days", 84, 100, 84.0, 87.4, NOT_ON_TRACK),
        _r("avoidable_admissions", 260, 99.96155, 260.1000123, 250.0, NOT_ON_TRACK),
        _r("residential_admissions_65_plus", 3, 60_000, 5.0, 564.0, ON_TRACK, projection=10.0),
        _r("discharge_usual_residence", 1907, 2000, 95.35, 94.0, ON_TRACK),
        _r("falls_65_plus", None, None, None, 1800.0, NO_DATA),
    ]


def _write(
    tmp_path: Path,
    narrative: dict[str, dict[str, str]] | None = None,
    layout_path: Path | None = None,
    suppression_threshold: int = 5,
) -> openpyxl.Workbook:
    path = write_return(
        tmp_path / "out" / "return.xlsx",
        _results(),
        HWB,
        NAME,
        Q2,
        GENERATED,
        narrative=narrative,
        layout_path=layout_path,
        suppression_threshold=suppression_threshold,
        run_id=RUN,
        inputs_sha256=SHA,
    )
    assert path.exists()
    return openpyxl.load_workbook(path)


def _row(ws: Worksheet, row: int) -> list[object]:
    return [c.value for c in ws[row]]


def test_sheets_headers_and_metric_order(tmp_path: Path) -> None:
    wb = _write(tmp_path)
    assert wb.sheetnames == ["Cover", "Metrics", "Comparisons"]  # Comparisons: metrics.publish.comparisons_sheet
    ws = wb["Metrics"]
    assert ws["A1"].value == "Better Care Fund quarterly reporting: metrics"
    assert ws["A2"].value == f"{HWB} {NAME}, 2023-24 Q2"
    assert _row(ws, HEADER) == HEADERS
    assert [ws.cell(FIRST + i, 1).value for i in range(5)] == [
        "Avoidable admissions",
        "Emergency admissions due to falls, 65+",
        "Discharge to usual place of residence",
        "Permanent admissions to residential and nursing care, 65+",
        "Still at home 91 days after discharge into reablement (in-year cohort)",
    ]
    assert ws.cell(FIRST + 5, 1).value is None


def test_figures_are_full_precision_with_display_rounding(tmp_path: Path) -> None:
    ws = _write(tmp_path)["Metrics"]
    avoidable = _row(ws, FIRST)
    assert avoidable[4:12] == [
        250.0,
        260.1000123,
        pytest.approx(234.09001107),
        pytest.approx(286.11001353),
        260,
        99.96155,
        None,
        NOT_ON_TRACK,
    ]
    assert ws.cell(FIRST, 5).number_format == "#,##0.0"
    assert ws.cell(FIRST, 6).number_format == "#,##0.0"
    assert ws.cell(FIRST, 9).number_format == "#,##0"  # whole count
    assert ws.cell(FIRST, 10).number_format == "#,##0.0"  # expected events
    discharge = _row(ws, FIRST + 2)
    assert discharge[4:6] == [94.0, 95.35]
    assert ws.cell(FIRST + 2, 6).number_format == "#,##0.00"  # decimals = 2 for this metric
    assert discharge[8:10] == [1907, 2000]
    assert discharge[11] == ON_TRACK


def test_suppressed_counts_show_star_and_withhold_figures(tmp_path: Path) -> None:
    ws = _write(tmp_path)["Metrics"]
    residential = _row(ws, FIRST + 3)
    assert residential[4] == 564.0  # plan is published
    assert residential[5:8] == [None, None, None]  # value and CI withheld
    assert residential[8] == "*"
    assert ws.cell(FIRST + 3, 9).data_type == "s"
    assert residential[9] == 60_000
    assert residential[10] is None  # projection withheld
    assert residential[11] == ON_TRACK
    # A stricter threshold suppresses more.
    ws10 = _write(tmp_path, suppression_threshold=100)["Metrics"]
    assert _row(ws10, FIRST + 4)[8:10] == ["*", 100]


def test_missing_values_are_blank_with_no_data_status(tmp_path: Path) -> None:
    falls = _row(_write(tmp_path)["Metrics"], FIRST + 1)
    assert falls[4] == 1800.0
    assert falls[5:11] == [None] * 6
    assert falls[11] == NO_DATA


def test_narrative_formula_is_stored_as_quoted_text(tmp_path: Path) -> None:
    payload = '=HYPERLINK("http://x")'
    wb = _write(
        tmp_path,
        narrative={
            "avoidable_admissions": {"challenges": payload, "achievements": "Fewer admissions in Q2."},
            "falls_65_plus": {"achievements": "@SUM(A1)", "challenges": "-1+2"},
        },
    )
    ws = wb["Metrics"]
    challenges, achievements = ws.cell(FIRST, 13), ws.cell(FIRST, 14)
    assert challenges.value == payload
    assert challenges.data_type == "s"
    assert challenges.quotePrefix is True
    assert achievements.value == "Fewer admissions in Q2."
    assert achievements.quotePrefix is False
    for col in (13, 14):
        cell = ws.cell(FIRST + 1, col)
        assert cell.data_type == "s" and cell.quotePrefix is True
    # Input cells are unlocked and yellow; figures stay locked; the sheet is protected.
    assert challenges.protection.locked is False
    assert challenges.fill.fgColor.rgb.endswith("FFFF99")
    assert ws.cell(FIRST + 3, 14).protection.locked is False  # empty input cell too
    assert ws.cell(FIRST, 6).protection.locked is True
    assert ws.protection.sheet is True
    # No formula anywhere in the workbook.
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row)


def test_hwb_name_that_looks_like_a_formula_is_quoted(tmp_path: Path) -> None:
    path = write_return(tmp_path / "r.xlsx", _results(), HWB, "+cmd|' /C calc'!A0", Q2, GENERATED)
    cover = openpyxl.load_workbook(path)["Cover"]
    assert cover["B5"].value == "+cmd|' /C calc'!A0"
    assert cover["B5"].data_type == "s" and cover["B5"].quotePrefix is True


@pytest.mark.parametrize(
    ("text", "risky"),
    [
        ("=1+1", True),
        ("+1", True),
        ("-1", True),
        ("@x", True),
        ("\tx", True),
        ("\rx", True),
        ("  =x", True),
        ("\uff1dSUM(A1)", True),
        ("Fine.", False),
        ("", False),
        ("a=b", False),
        ("1-2", False),
    ],
)
def test_needs_quote_prefix(text: str, risky: bool) -> None:
    assert needs_quote_prefix(text) is risky


def test_status_dropdown(tmp_path: Path) -> None:
    ws = _write(tmp_path)["Metrics"]
    dvs = ws.data_validations.dataValidation
    assert len(dvs) == 1
    dv = dvs[0]
    assert dv.type == "list"
    assert str(dv.sqref) == f"L{FIRST}:L{FIRST + 4}"
    assert dv.formula1 == '"' + ",".join(STATUSES) + '"'


def test_the_year_end_return_uses_the_year_end_wording(tmp_path: Path) -> None:
    q4 = Period.parse("2023-24-Q4")
    # Hand-made: discharge 1,850 / 2,000 = 92.5% against a plan of 94 (higher is better): worse, so at Q4
    # "Not achieved"; avoidable admissions 240 against a plan of 250 (lower is better): "Achieved".
    discharge = registry.get("discharge_usual_residence")
    avoidable = registry.get("avoidable_admissions")
    worse, better = assess(discharge, 92.5, 94.0, q4), assess(avoidable, 240.0, 250.0, q4)
    assert (worse.status, better.status) == (NOT_ACHIEVED, ACHIEVED)
    results = [
        _r("discharge_usual_residence", 1850, 2000, 92.5, 94.0, worse.status, period=q4),
        _r("avoidable_admissions", 240, 100, 240.0, 250.0, better.status, period=q4),
    ]
    path = write_return(tmp_path / "q4.xlsx", results, HWB, NAME, q4, GENERATED)
    ws = openpyxl.load_workbook(path)["Metrics"]
    assert [ws.cell(FIRST + i, 12).value for i in range(2)] == [ACHIEVED, NOT_ACHIEVED]
    dv = ws.data_validations.dataValidation[0]
    assert dv.formula1 == '"' + ",".join(YEAR_END_STATUSES) + '"'
    assert "On track" not in dv.formula1


def test_the_metrics_sheet_lists_the_years_headline_set_and_the_cover_names_it(tmp_path: Path) -> None:
    # A hand-made set of two of the five, so three are supporting measures and stay off the return.
    declared = YearSet(
        "2023-24", ("avoidable_admissions", "falls_65_plus"), "Framework, https://example.org", "secondary"
    )
    chosen = MetricSet("bcf", "2023-24", declared.metrics, declared)
    path = write_return(tmp_path / "set.xlsx", _results(), HWB, NAME, Q2, GENERATED, metric_set=chosen)
    wb = openpyxl.load_workbook(path)
    ws = wb["Metrics"]
    assert [ws.cell(FIRST + i, 1).value for i in range(3)] == [
        "Avoidable admissions",
        "Emergency admissions due to falls, 65+",
        None,
    ]
    cover = wb["Cover"]
    values = {cover.cell(r, 1).value: cover.cell(r, 2).value for r in range(4, 22)}
    assert "The 2023-24 metric set (SECONDARY)" in values["Metrics for 2023-24"]
    assert "https://example.org" in values["Metrics for 2023-24"]
    assert "Discharge to usual place of residence" in values["Supporting measures"]
    assert "Avoidable admissions" not in values["Supporting measures"]
    # The shipped 2023-24 set is all five, so all five are rows.
    shipped = registry.metric_set("bcf", "2023-24")
    ws5 = openpyxl.load_workbook(
        write_return(tmp_path / "five.xlsx", _results(), HWB, NAME, Q2, GENERATED, metric_set=shipped)
    )["Metrics"]
    assert sum(1 for i in range(6) if ws5.cell(FIRST + i, 1).value) == 5


def test_cover_sheet(tmp_path: Path) -> None:
    cover = _write(tmp_path)["Cover"]
    values = {cover.cell(r, 1).value: cover.cell(r, 2).value for r in range(4, 14)}
    assert values["Health and Wellbeing Board code"] == HWB
    assert values["Health and Wellbeing Board name"] == NAME
    assert values["Reporting period"] == "2023-24 Q2"
    assert values["Period dates"] == "1 July 2023 to 30 September 2023"
    assert values["Generated"] == GENERATED
    assert values["Run id"] == RUN
    assert values["Inputs digest (sha256)"] == SHA
    assert "run_id and inputs_sha256" in values["Check against the manifest"]


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    a = write_return(tmp_path / "a.xlsx", _results(), HWB, NAME, Q2, GENERATED).read_bytes()
    b = write_return(tmp_path / "b.xlsx", list(reversed(_results())), HWB, NAME, Q2, GENERATED).read_bytes()
    assert a == b


def test_custom_layout_changes_headers_and_order(tmp_path: Path) -> None:
    layout = tmp_path / "layout.toml"
    layout.write_text(
        """
title = "Custom return"
protect = false
[sheets]
cover = "Front"
metrics = "4. Metrics"
[[columns]]
header = "Status"
field = "status"
[[columns]]
header = "Ref"
field = "reference"
[[columns]]
header = "Metric name"
field = "title"
width = 40
[[columns]]
header = "Actual"
field = "actual"
""",
        encoding="utf-8",
    )
    wb = _write(tmp_path, layout_path=layout)
    assert wb.sheetnames == ["Front", "4. Metrics", "Comparisons"]
    ws = wb["4. Metrics"]
    assert ws["A1"].value == "Custom return"
    assert _row(ws, HEADER) == ["Status", "Ref", "Metric name", "Actual"]
    assert _row(ws, FIRST) == [NOT_ON_TRACK, "NHS Outcomes Framework 2.3.i", "Avoidable admissions", 260.1000123]
    assert str(ws.data_validations.dataValidation[0].sqref) == f"A{FIRST}:A{FIRST + 4}"
    assert ws.protection.sheet is False


def test_layout_with_unknown_field_is_rejected(tmp_path: Path) -> None:
    layout = tmp_path / "bad.toml"
    layout.write_text(
        'title = "x"\n[sheets]\ncover = "C"\nmetrics = "M"\n[[columns]]\nheader = "A"\nfield = "valu"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="valu"):
        write_return(tmp_path / "r.xlsx", _results(), HWB, NAME, Q2, GENERATED, layout_path=layout)


def test_inputs_are_checked(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    with pytest.raises(ValueError, match="does not belong"):
        write_return(
            out,
            [_r("falls_65_plus", 1, 1, 1, 1, ON_TRACK, period=Period.parse("2023-24-Q1"))],
            HWB,
            NAME,
            Q2,
            GENERATED,
        )
    with pytest.raises(ValueError, match="two results"):
        write_return(out, _results() + _results()[:1], HWB, NAME, Q2, GENERATED)
    with pytest.raises(ValueError, match="not in the return"):
        write_return(out, _results(), HWB, NAME, Q2, GENERATED, narrative={"avoidable": {"challenges": "x"}})
    with pytest.raises(ValueError, match="unknown keys"):
        write_return(out, _results(), HWB, NAME, Q2, GENERATED, narrative={"falls_65_plus": {"challenge": "x"}})
    with pytest.raises(ValueError, match="sha256"):
        write_return(out, _results(), HWB, NAME, Q2, GENERATED, inputs_sha256="not-a-hash")
    assert not out.exists()


def test_unit_and_year_to_date_columns(tmp_path: Path) -> None:
    ws = _write(tmp_path)["Metrics"]
    col = {h: i for i, h in enumerate(_row(ws, HEADER))}
    for i in range(5):
        row = _row(ws, FIRST + i)
        metric = next(m for m in registry.metrics_for("bcf") if m.title == row[col["Metric"]])
        assert row[col["Unit"]] == metric.unit
        # Falls, residential admissions and reablement report the year so far; the other two the quarter.
        want = "Yes" if metric.id in {"falls_65_plus", "residential_admissions_65_plus", "reablement_91_days"} else "No"
        assert row[col["Year to date"]] == want, metric.id
    assert _row(ws, FIRST + 3)[col["Unit"]] == "rate per 100,000 population aged 65+ (cumulative, year to date)"


def test_figures_and_cover_are_excel_tables(tmp_path: Path) -> None:
    wb = _write(tmp_path)
    ws = wb["Metrics"]
    assert set(ws.tables) == {"ReturnMetrics"}
    table = ws.tables["ReturnMetrics"]
    # The header row and the five metric rows, every layout column; the caveat footnotes stay outside.
    assert table.ref == f"A{HEADER}:{openpyxl.utils.get_column_letter(len(HEADERS))}{FIRST + 4}"
    assert [c.name for c in table.tableColumns] == HEADERS
    assert table.autoFilter is not None and table.autoFilter.ref == table.ref
    # A protected sheet still lets a reader filter and sort the table.
    assert ws.protection.autoFilter is False and ws.protection.sort is False  # False = not locked
    cover = wb["Cover"]
    assert set(cover.tables) == {"ReturnCover"}
    ct = cover.tables["ReturnCover"]
    assert [c.name for c in ct.tableColumns] == ["Item", "Value"]
    first, last = ct.ref.split(":")
    assert first == "A3" and cover["A4"].value == "Health and Wellbeing Board code"
    # Every item is inside the table: the row after its last is empty.
    assert cover.cell(int(last[1:]), 1).value and cover.cell(int(last[1:]) + 1, 1).value is None


def test_the_status_dropdown_covers_the_table_column_with_the_exact_wordings(tmp_path: Path) -> None:
    ws = _write(tmp_path)["Metrics"]
    status_col = HEADERS.index("Assessment of progress against the metric plan for the reporting period") + 1
    letter = openpyxl.utils.get_column_letter(status_col)
    (dv,) = ws.data_validations.dataValidation
    assert str(dv.sqref) == f"{letter}{FIRST}:{letter}{FIRST + 4}"
    assert dv.formula1 == '"On track to meet target,Not on track to meet target,Data not available to assess progress"'
    assert dv.showErrorMessage is True
    # Every status written is one of the drop-down's.
    allowed = dv.formula1.strip('"').split(",")
    assert all(ws.cell(FIRST + i, status_col).value in allowed for i in range(5))


def test_layout_with_repeated_headers_is_rejected(tmp_path: Path) -> None:
    layout = tmp_path / "dup.toml"
    layout.write_text(
        'title = "x"\n[sheets]\ncover = "C"\nmetrics = "M"\n'
        '[[columns]]\nheader = "Value"\nfield = "actual"\n[[columns]]\nheader = "value"\nfield = "plan"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="repeats 'Value'"):
        write_return(tmp_path / "r.xlsx", _results(), HWB, NAME, Q2, GENERATED, layout_path=layout)
