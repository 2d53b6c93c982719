"""What a run imports or builds before it needs it (issue #16, the analyst's loop).

SciPy's distributions, matplotlib and pandas take seconds to import on a small machine; a re-run whose
quarters and charts are all reused computes no interval, draws no chart and stores no new results, so
importing the flow and the stages it calls must not import them. Checked in a fresh interpreter, since
this test process has imported them long before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The modules a ``scorecard run`` imports before its first task, and the ones a re-run calls.
STAGES = ["pipelines.flows", "metrics.compute.run", "metrics.compute.stats", "metrics.publish.charts"]
LAZY = ["scipy.stats", "matplotlib", "matplotlib.pyplot"]


def test_stages_do_not_import_scipy_or_matplotlib() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for m in {STAGES!r}: importlib.import_module(m)\n"
        f"print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_lazy_imports_still_work() -> None:
    """The functions that need them import them: an interval is computed, a figure drawn headless."""
    from metrics.compute import stats
    from metrics.publish import charts

    assert stats.z_value(0.95) == pytest.approx(1.959963984540054, abs=1e-12)  # qnorm(0.975)
    assert stats.exact_limits(5)[1] == pytest.approx(11.668332, abs=1e-6)  # PHEindicatormethods, 5 events
    with charts._figure("test") as fig:
        assert fig.get_size_inches().tolist() == [10, 5.6]
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"
    # The chart key's library version is matplotlib's own, read without importing it.
    assert f"|{matplotlib.__version__}|" in charts._drawing_version()


def test_bookkeeping_connections_build_the_reference_objects_only_when_asked(tmp_path: Path) -> None:
    """``connect(..., reference=False)`` (the reuse check, run history, ingest) leaves out the TEMP
    reference tables, macros and calendar; ``prepare_reference`` adds exactly what a full connection
    has, and reopening a warehouse already at the current schema (its DDL skipped) keeps its tables."""
    from metrics import warehouse

    db = tmp_path / "w.duckdb"

    def temp_objects(con: Any) -> set[str]:
        tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
        macros = con.execute("SELECT function_name FROM duckdb_functions() WHERE function_type = 'macro' "
                             "AND NOT internal").fetchall()  # fmt: skip
        return {r[0] for r in tables + macros}

    def permanent(con: Any) -> dict[str, dict[str, str]]:
        return warehouse._tables(con)

    full = warehouse.connect(db)  # a new file: schema created, reference objects built
    want, schema = temp_objects(full), permanent(full)
    full.close()
    assert {"ref_calendar", "ref_bank_holidays", "ref_hwb_codes", "age_band5", "working_days_between"} <= want
    books = warehouse.connect(db, reference=False)
    try:
        assert temp_objects(books) == set()
        assert permanent(books) == schema == warehouse._expected_columns()
        warehouse.prepare_reference(books)
        assert temp_objects(books) == want
        days = books.execute("SELECT count(*), min(day), max(day) FROM ref_calendar").fetchone()
        assert days is not None and str(days[1]) == f"{warehouse.CALENDAR_FIRST_YEAR}-01-01"
        # 1 January 2010 to 31 December five years after this one, one row a day.
        assert days[0] == (days[2] - days[1]).days + 1
    finally:
        books.close()
