"""Outputs are written whole or not at all.

Every writer writes to a temporary name in the target's own folder (so the final ``os.replace`` is
a rename on one file system, atomic on POSIX), flushes it to disk, and only then renames it into
place. If anything fails on the way (a full disk, a bug half-way through a workbook) the temporary
file is deleted and an existing file at the target is left exactly as it was: a reader never sees a
truncated manifest, workbook, page or chart.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from metrics.core.errors import EnvironmentProblem

TEMP_SUFFIX = ".tmp"


def _fsync(path: Path) -> None:
    """Flush ``path`` to disk (a full disk can first show here). A module function so tests can fail it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(target: Path) -> Path:
    """A fresh hidden name beside ``target``: ``.<name>.<random>.tmp``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` for a writer to create; on success it is flushed and
    renamed onto ``target``, on any failure it is deleted and ``target`` is untouched.

    A write error of the file system (full disk, read-only folder, quota) is raised as
    :class:`EnvironmentProblem` naming ``target``; any other exception is re-raised as it is.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(target)
        # Created here (0666 less the umask, like any new file) so the writer only ever overwrites it.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))
    except OSError as exc:
        raise _not_written(target, exc) from exc
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        cause = _os_error(exc)
        if cause is not None:
            raise _not_written(target, cause) from exc
        raise


def _os_error(exc: BaseException) -> OSError | None:
    """The file system's error behind ``exc``, if any (xlsxwriter wraps it in its FileCreateError)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None or isinstance(seen, EnvironmentProblem):
            return None
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def write_bytes(target: Path, data: bytes) -> Path:
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return Path(target)


def write_text(target: Path, text: str, encoding: str = "utf-8") -> Path:
    return write_bytes(target, text.encode(encoding))


def _not_written(target: Path, exc: OSError) -> EnvironmentProblem:
    why = exc.strerror or str(exc)
    return EnvironmentProblem(
        f"could not write {target}: {why}. Nothing was left half-written (an earlier copy, if any, is unchanged); "
        "free disk space or make the folder writable, then run again"
    )
