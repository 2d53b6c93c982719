"""One run per warehouse at a time.

DuckDB's own file lock only covers an open connection, and each step of a
run opens and closes the file, so two runs could interleave between steps.
An exclusive ``flock`` on ``<warehouse>.lock`` held for the whole run makes
a second concurrent run stop at once with a clear error instead.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RunInProgressError(RuntimeError):
    """Another run holds the warehouse."""


@contextmanager
def exclusive_run(warehouse: Path, description: str) -> Iterator[None]:
    lock_path = Path(f"{warehouse}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
            raise RunInProgressError(
                f"another run is using the warehouse {warehouse} ({holder}); wait for it to finish, then run again"
            ) from None
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
