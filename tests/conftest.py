"""Test tiers, and fixtures shared by the ingest tests (one GX validator per module, a fresh warehouse per test).

Tiers: every test is ``fast`` unless its module starts servers, browsers, clusters or whole CLI runs,
which makes it ``slow``. ``pytest -m fast`` is the tier CI runs first; ``pytest`` runs everything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from metrics import warehouse
from metrics.validate.gx import Validator

# Modules whose tests start a Prefect server, Chromium, a Dask cluster or a whole `scorecard run`, or
# validate whole generated extracts through Great Expectations (seconds to a minute each).
SLOW_MODULES = {
    "test_cli_errors",
    "test_filesystem_inputs",
    "test_metrics_hand",
    "test_strict_values",
    "test_warehouse_state",
    "test_row_rules",
    "test_safeguarding_measures",
    "test_synthetic",
    "test_bad_input",
    "test_benchmark_smoke",
    "test_cli_e2e",
    "test_core_metrics_e2e",
    "test_comparisons_e2e",
    "test_deployments",
    "test_dfe_returns_e2e",
    "test_distributed",
    "test_faults_e2e",
    "test_national_identity",
    "test_new_scorecard",
    "test_safeguarding_bad_input",
    "test_safeguarding_e2e",
    "test_safe_outputs",
    "test_outputs_for_tools",
    "test_own_extracts",
    "test_print_and_banners_e2e",
    "test_result_reuse",
    "test_task_arguments",
}

# A temporary Prefect server on a loaded 2-core machine can take far longer than Prefect's default
# 20 s to start; the suite must pass with both cores busy. Subprocesses inherit it.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")


# Modules that open pages in Chromium (tests/browser.py finds it).
BROWSER_MODULES = {"test_cli_e2e", "test_safeguarding_e2e", "test_print_and_banners_e2e"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        item.add_marker(pytest.mark.slow if module in SLOW_MODULES else pytest.mark.fast)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Say first, before any test runs, when the browser tests will fail for want of a Chromium."""
    from tests.browser import FIX, find_chromium

    wanted = any(i.module and i.module.__name__.rsplit(".", 1)[-1] in BROWSER_MODULES for i in session.items)
    if wanted and find_chromium() is None:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"NOTE: {FIX}", red=True, bold=True)


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    return Validator(tmp_path_factory.mktemp("docs"))


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = warehouse.connect(tmp_path / "w.duckdb")
    yield c
    c.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fast: quick tests (milliseconds each), e.g. the metric cases")
