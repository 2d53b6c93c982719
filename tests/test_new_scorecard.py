"""A scorecard is one folder: a throwaway third scorecard (its folder and its contracts module, both
written here outside the package) runs end to end through ``scorecard run`` with no other edit.

The folder is found through ``SCORECARD_DEFINITIONS_PATH`` and its contracts module through
``PYTHONPATH``, exactly as a local team would add its own scorecard.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import duckdb
import openpyxl
import pytest

from tests.workspace import SCORECARD

PERIOD = "2023-24-Q2"
AREA = "E06000061"

CONTRACTS = '''
"""Contracts of the throwaway school-lunch scorecard."""
from metrics.contracts.model import PSEUDO_ID, Column, Extract

LA = Column("la_code", "VARCHAR", "Local authority", codes="hwb_codes")
MEALS = Extract(
    name="lunch_meals",
    filename="lunch_meals.csv",
    description="School meals served.",
    columns=(
        Column("meal_id", "VARCHAR", "Meal id", pattern=PSEUDO_ID),
        LA,
        Column("served_on", "DATE", "Day served", window="period"),
        Column("hot", "VARCHAR", "Hot meal (Y/N)", codes=("Y", "N")),
    ),
    key=("meal_id",),
    unique=(("meal_id",),),
    identifiers=("meal_id",),
)
PUPILS = Extract(
    name="lunch_pupils",
    filename="lunch_pupils.csv",
    description="Pupils on roll.",
    columns=(
        Column("code", "VARCHAR", "Local authority", codes="hwb_codes"),
        Column("name", "VARCHAR", "Area name"),
        Column("pupils", "INTEGER", "Pupils", minimum=0),
    ),
    key=("code",),
    unique=(("code",),),
    identifiers=(),
)
TARGETS = Extract(
    name="lunch_targets",
    filename="lunch_targets.csv",
    description="Targets.",
    columns=(
        LA,
        Column("metric_id", "VARCHAR", "Measure", codes="metric_ids"),
        Column("financial_year", "VARCHAR", "e.g. 2023-24", pattern=r"^\\d{4}-\\d{2}$"),
        Column("target", "DOUBLE", "Target", minimum=0),
        Column("amber_tolerance", "DOUBLE", "Tolerance", minimum=0),
    ),
    key=("la_code", "metric_id", "financial_year"),
    unique=(("la_code", "metric_id", "financial_year"),),
    identifiers=(),
)
EXTRACTS = (MEALS, PUPILS, TARGETS)
'''

SCORECARD_TOML = """
id = "lunches"
title = "School lunches scorecard"
area_label = "Local authority"
status_scheme = "rag"
contracts = "lunch_contracts"
extracts = ["lunch_meals", "lunch_pupils", "lunch_targets"]
population_extract = "lunch_pupils"

[targets]
extract = "lunch_targets"
area_column = "la_code"
value_column = "target"
tolerance_column = "amber_tolerance"
"""

METRIC_TOML = """
id = "hot_meals"
scorecard = "lunches"
order = 1
title = "Hot meals"
source = "A local measure, https://example.org/hot-meals"
confirmation = "confirmed"
definition = "Percentage of meals served in the quarter that were hot."
unit = "% of meals"
polarity = "higher_is_better"
method = "proportion"
multiplier = 100
window = "quarter"
cumulative = false
plan_basis = "annual"
sources = ["lunch_meals"]
sql = "hot_meals.sql"
decimals = 1
numerator_label = "hot meals"
denominator_label = "meals served"
"""

METRIC_SQL = """
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
m AS (
    SELECT la_code AS hwb_code, count(*) FILTER (WHERE hot = 'Y') AS numerator, count(*) AS denominator
    FROM lunch_meals_current
    WHERE served_on BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(m.numerator, 0) AS numerator, coalesce(m.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN m USING (hwb_code)
ORDER BY h.hwb_code
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture
def throwaway(tmp_path: Path) -> dict[str, Path]:
    defs, code = tmp_path / "definitions", tmp_path / "code"
    _write(code / "lunch_contracts.py", CONTRACTS)
    _write(defs / "lunches" / "scorecard.toml", SCORECARD_TOML)
    _write(defs / "lunches" / "hot_meals.toml", METRIC_TOML)
    _write(defs / "lunches" / "hot_meals.sql", METRIC_SQL)
    raw = tmp_path / "raw" / PERIOD
    # 30 meals in the quarter, 24 hot: 24 / 30 = 80.0%; target 85 with tolerance 10 -> Amber.
    meals = ["meal_id,la_code,served_on,hot"] + [
        f"meal{i:03d},{AREA},2023-0{7 + i % 3}-1{i % 9},{'Y' if i < 24 else 'N'}" for i in range(30)
    ]
    _write(raw / "lunch_meals.csv", "\n".join(meals) + "\n")
    _write(raw / "lunch_pupils.csv", f"code,name,pupils\n{AREA},North Northamptonshire,41000\n")
    _write(
        raw / "lunch_targets.csv",
        f"la_code,metric_id,financial_year,target,amber_tolerance\n{AREA},hot_meals,2023-24,85,10\n",
    )
    return {"defs": defs, "code": code, "root": tmp_path}


def test_a_new_scorecard_folder_runs_end_to_end_with_no_other_edit(throwaway: dict[str, Path]) -> None:
    root = throwaway["root"]
    env = {
        **os.environ,
        "SCORECARD_DEFINITIONS_PATH": str(throwaway["defs"]),
        "PYTHONPATH": os.pathsep.join([str(throwaway["code"]), os.environ.get("PYTHONPATH", "")]),
        "PREFECT_HOME": str(root / "prefect-home"),
        "COLUMNS": "200",
    }
    env.pop("PREFECT_API_URL", None)
    listed = subprocess.run(
        [str(SCORECARD), "metrics", "--scorecard", "lunches"], env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert "`hot_meals`" in listed.stdout

    done = subprocess.run(
        [
            str(SCORECARD), "run", "--scorecard", "lunches", "--period", PERIOD, "--raw-dir", str(root / "raw"),
            "--warehouse", str(root / "w.duckdb"), "--reports-dir", str(root / "reports"),
        ],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

    out = root / "reports" / PERIOD / "lunches"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    con = duckdb.connect(str(root / "w.duckdb"), read_only=True)
    try:
        row = con.execute(
            "SELECT numerator, denominator, value, status FROM metric_results "
            "WHERE metric_id = 'hot_meals' AND hwb_code = ? AND period = ? AND view = ''",
            [AREA, PERIOD],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    assert row[:2] == (24, 30)
    assert row[2] == pytest.approx(80.0)
    assert row[3].startswith("Amber")

    page = (out / f"lunches_{AREA}_{PERIOD}.html").read_text(encoding="utf-8")
    assert "School lunches scorecard" in page and "Hot meals" in page and "80.0" in page
    book = openpyxl.load_workbook(out / f"lunches_{AREA}_{PERIOD}.xlsx", read_only=True)
    cells = [c for ws in book.worksheets for r in ws.iter_rows(values_only=True) for c in r if c is not None]
    book.close()
    assert "Hot meals" in cells
    assert (out / "charts").is_dir() and any((out / "charts").glob("*.svg"))
