"""The deployments, declared in Python so they are reviewed and tested like code.

- ``bcf-quarterly/quarterly``: fires at 06:00 Europe/London on the first day of
  each quarter and runs the quarter that has just closed (``period`` empty).
- ``bcf-quarterly/on-demand``: no schedule; analysts pass ``period``, ``hwb``,
  ``raw_dir`` and ``mapping`` (a mapping file for extracts in other shapes, e.g.
  ``mappings/sus_apc.toml``) with ``prefect deployment run``.
- ``safeguarding-quarterly/quarterly`` and ``safeguarding-quarterly/on-demand``:
  the same pair for the children's safeguarding scorecard.

Every declared scorecard gets the same pair under its ``flow_name``. All run on a
``process`` work pool from this checkout (the worker changes into the project folder),
with at most one run of each deployment at a time; the warehouse lock
(``metrics.warehouse.runlock``) stops any second run across deployments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron

PROJECT_DIR = Path(__file__).resolve().parents[1]


def flows() -> dict[str, tuple[str, str]]:
    """Scorecard id -> (flow entrypoint, flow name), for every declared scorecard."""
    from metrics.core.registry import scorecards

    return {c.id: (f"pipelines/flows.py:{c.flow_name.replace('-', '_')}", c.flow_name) for c in scorecards().values()}


QUARTERLY_CRON = "0 6 1 1,4,7,10 *"
TIMEZONE = "Europe/London"
DEFAULT_POOL = "scorecard-process"
# The flow's progress goes to the ``scorecard`` logger; this makes Prefect record it in the run's logs.
JOB_VARIABLES = {"env": {"PREFECT_LOGGING_EXTRA_LOGGERS": "scorecard"}}


def quarterly_schedule(cron: str = QUARTERLY_CRON) -> Any:
    return Cron(cron, timezone=TIMEZONE)


def deploy_all(
    work_pool: str = DEFAULT_POOL,
    project_dir: Path = PROJECT_DIR,
    cron: str = QUARTERLY_CRON,
    defaults: dict[str, Any] | None = None,
) -> list[str]:
    """Register the quarterly and on-demand deployments of every scorecard with the Prefect API in
    ``PREFECT_API_URL``; returns their ids."""
    from prefect import Flow
    from prefect import flow as prefect_flow

    params = dict(defaults or {})
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
    # What both deployments of every scorecard share: the pool, one run at a time, the progress logger.
    common: dict[str, Any] = {
        "work_pool_name": work_pool,
        "concurrency_limit": one_at_a_time,
        "job_variables": JOB_VARIABLES,
        "build": False,
        "push": False,
        "print_next_steps": False,
    }
    ids = []
    for card, (entrypoint, _) in flows().items():
        # from_source is sync-compatible: called from sync code it returns the Flow, not a coroutine.
        base = cast(Flow[..., Any], prefect_flow.from_source(source=str(project_dir), entrypoint=entrypoint))
        ids.append(
            str(
                base.deploy(
                    name="quarterly",
                    schedule=quarterly_schedule(cron),
                    parameters={**params, "scorecard": card, "period": None},
                    tags=[card, "quarterly"],
                    description="Runs the quarter just closed, at 06:00 UK time on the first day of each quarter.",
                    **common,
                )
            )
        )
        ids.append(
            str(
                base.deploy(
                    name="on-demand",
                    parameters={**params, "scorecard": card},
                    tags=[card, "on-demand"],
                    description="Run any quarter for one, several or all areas: --param period=2023-24-Q2 ...",
                    **common,
                )
            )
        )
    return ids
