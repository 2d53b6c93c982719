"""Fixtures shared by the ingest tests: one GX validator per module, a fresh warehouse per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from metrics import warehouse
from metrics.validate.gx import Validator


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
