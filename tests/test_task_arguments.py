"""The flow's tasks get their arguments as they are, without Prefect walking them (``flows._call``).

Prefect walks every task argument recursively before the task runs (to find upstream futures and
states); for the scorecard declaration, the loads and hundreds of results that was a fifth of a re-run's
flow time. ``_call`` passes each argument in Prefect's ``quote``. Checked with an argument Prefect cannot
walk: called directly the task fails before it runs, through ``_call`` it gets the very same object.
Runs real flows on Prefect's local server, started as ``scorecard run`` starts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_API_URL, temporary_settings

from pipelines.cli import _stop_embedded
from pipelines.flows import _call
from pipelines.server import EmbeddedServer


@pytest.fixture(scope="module", autouse=True)
def server() -> Iterator[None]:
    """The embedded server ``scorecard run`` uses (stopped here, not by Prefect at interpreter exit)."""
    embedded = EmbeddedServer()
    embedded.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: embedded.wait_ready(300)}):
            yield
    finally:
        _stop_embedded(embedded)  # sends Prefect's queued logs and events first, as the CLI does


class Unwalkable(pydantic.BaseModel):
    """A model whose fields cannot be listed: Prefect's walk (``dict(model)``) raises."""

    values: list[int]

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        raise RuntimeError("walked into")


@task(cache_policy=NO_CACHE)
def echo(value: Unwalkable, times: int) -> tuple[Unwalkable, int]:
    return value, times


@flow
def through_call() -> bool:
    made = Unwalkable(values=list(range(1000)))
    got, times = _call(echo, made, times=3)
    return got is made and times == 3


@flow
def direct() -> tuple[Unwalkable, int]:
    return echo(Unwalkable(values=[1]), 3)


def test_call_passes_arguments_unwalked_and_unchanged() -> None:
    assert through_call() is True


def test_prefect_walks_arguments_passed_directly() -> None:
    """Why _call exists: without it the same argument is walked (and here fails)."""
    with pytest.raises(Exception, match=r"resolve inputs|walked into"):
        direct()
