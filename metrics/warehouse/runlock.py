"""One run per warehouse at a time; a second run waits its turn, or stops at once when asked to.

DuckDB's own file lock only covers an open connection, and each step of a run opens and closes the
file, so two runs could interleave between steps. An exclusive ``flock`` on ``<warehouse>.lock`` is
held for the whole run.

Why a lock that waits rather than a Prefect global concurrency limit keyed by the warehouse path:

- the kernel releases a ``flock`` when its process ends, however it ends (a worker killed mid-run,
  an out-of-memory kill, a power cut), so a crashed run can never leave the warehouse "taken". A
  concurrency slot lives on the Prefect server and is freed by the process that took it (or by a
  lease expiring), so a killed process-worker run can hold it until someone notices;
- the lock covers every route to the warehouse: deployment runs on any worker, ``scorecard run``
  (which uses a temporary embedded Prefect server that a limit on the deployment server cannot see),
  tests and notebooks. A global limit would only order runs that share one Prefect server;
- it needs no set-up on the server (no limit to create before the first quarterly run).

Both scorecards' quarterly deployments fire at the same minute: the second run logs
``waiting for <holder> to finish`` once and starts as soon as the first releases the lock, or gives
up after ``wait`` seconds (default ``DEFAULT_WAIT_SECONDS``, two hours; the ``SCORECARD_LOCK_WAIT_SECONDS``
environment variable or the flow's ``lock_wait_seconds`` parameter changes it). Interactive
``scorecard run`` passes ``wait=0`` and so stops at once with the holder named, unless ``--wait``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from metrics.core.errors import EnvironmentProblem
from metrics.core.progress import Progress, _quiet

DEFAULT_WAIT_SECONDS = 2 * 60 * 60
WAIT_ENV = "SCORECARD_LOCK_WAIT_SECONDS"
POLL_SECONDS = 2.0


class RunInProgressError(EnvironmentProblem):
    """Another run holds the warehouse (and this one did not, or could no longer, wait)."""


def lock_wait_seconds(requested: float | None = None) -> float:
    """``requested`` when given, else ``SCORECARD_LOCK_WAIT_SECONDS``, else ``DEFAULT_WAIT_SECONDS``."""
    if requested is not None:
        return max(0.0, float(requested))
    value = os.environ.get(WAIT_ENV, "").strip()
    if not value:
        return DEFAULT_WAIT_SECONDS
    try:
        return max(0.0, float(value))
    except ValueError:
        raise EnvironmentProblem(f"{WAIT_ENV} must be a number of seconds, not {value!r}") from None


def _holder(fd: int) -> str:
    text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    try:
        info = json.loads(text)
        return f"{info['run']} (pid {info['pid']}, since {info['since']})"
    except (ValueError, KeyError, TypeError):
        return text or "an unknown run"


@contextmanager
def exclusive_run(
    warehouse: Path,
    description: str,
    wait: float = 0,
    progress: Progress = _quiet,
    poll: float = POLL_SECONDS,
) -> Iterator[None]:
    """Hold ``<warehouse>.lock`` for the block; if another run holds it, wait up to ``wait`` seconds
    (telling ``progress`` once), then raise ``RunInProgressError`` naming the holder."""
    lock_path = Path(f"{warehouse}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                left = deadline - time.monotonic()
                if left <= 0:
                    waited = f" after waiting {wait:g} s" if wait > 0 else ""
                    hint = (
                        f"wait for it to finish, then run again (or add --wait; {WAIT_ENV} sets how long)"
                        if wait <= 0
                        else f"run again once it has finished, or raise {WAIT_ENV}"
                    )
                    raise RunInProgressError(
                        f"another run is using the warehouse {warehouse}{waited}: {holder}\nfix: {hint}"
                    ) from None
                if not told:
                    progress(f"waiting for {holder} to finish (up to {wait:g} s) before using {warehouse}")
                    told = True
                time.sleep(min(poll, left))
        info = json.dumps(
            {"pid": os.getpid(), "run": description, "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
