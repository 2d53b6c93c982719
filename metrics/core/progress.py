"""Progress messages from long steps (the CLI shows them; Prefect logs them)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None
