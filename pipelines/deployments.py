"""The deployments, declared in Python so they are reviewed and tested like code.

- ``bcf-quarterly/quarterly``: fires at 06:00 Europe/London on the first day of
  each quarter and runs the quarter that has just closed (``period`` empty).
- ``bcf-quarterly/on-demand``: no schedule; analysts pass ``period``, ``hwb`` and
  ``raw_dir`` with ``prefect deployment run``.
- ``safeguarding-quarterly/quarterly`` and ``safeguarding-quarterly/on-demand``:
  the same pair for the children's safeguarding scorecard.

Both run on a ``process`` work pool from this checkout (the worker changes into
the project folder), with at most one run of each deployment at a time; the
warehouse lock (``metrics.warehouse.runlock``) stops any second run across deployments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron

PROJECT_DIR = Path(__file__).resolve().parents[1]
ENTRYPOINT = "pipelines/bcf_flow.py:bcf_quarterly"
FLOW_NAME = "bcf-quarterly"
# scorecard -> (flow entrypoint, flow name)
FLOWS = {
    "bcf": (ENTRYPOINT, FLOW_NAME),
    "safeguarding": ("pipelines/bcf_flow.py:safeguarding_quarterly", "safeguarding-quarterly"),
}
QUARTERLY_CRON = "0 6 1 1,4,7,10 *"
TIMEZONE = "Europe/London"
DEFAULT_POOL = "scorecard-process"


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
    ids = []
    for card, (entrypoint, _) in FLOWS.items():
        # from_source is sync-compatible: called from sync code it returns the Flow, not a coroutine.
        base = cast(Flow[..., Any], prefect_flow.from_source(source=str(project_dir), entrypoint=entrypoint))
        ids.append(
            str(
                base.deploy(
                    name="quarterly",
                    work_pool_name=work_pool,
                    schedule=quarterly_schedule(cron),
                    parameters={**params, "period": None},
                    tags=[card, "quarterly"],
                    description="Runs the quarter just closed, at 06:00 UK time on the first day of each quarter.",
                    concurrency_limit=one_at_a_time,
                    build=False,
                    push=False,
                    print_next_steps=False,
                )
            )
        )
        ids.append(
            str(
                base.deploy(
                    name="on-demand",
                    work_pool_name=work_pool,
                    parameters=params,
                    tags=[card, "on-demand"],
                    description="Run any quarter for one, several or all areas: --param period=2023-24-Q2 ...",
                    concurrency_limit=one_at_a_time,
                    build=False,
                    push=False,
                    print_next_steps=False,
                )
            )
        )
    return ids
