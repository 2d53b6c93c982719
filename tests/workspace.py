"""A scratch copy of the demo extracts and the `scorecard run` command pointed at it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
SCORECARD = Path(sys.executable).parent / "scorecard"
PERIOD = "2023-24-Q2"


# Seconds a demo run may take: three years of history on a shared 2-core machine under load took
# over 600 s (about 180 s of CPU); a hang still ends.
RUN_TIMEOUT = 1800


class Workspace:
    def __init__(self, root: Path, raw: Path | None = None) -> None:
        self.root = root
        self.raw = root / "raw"
        self.warehouse = root / "warehouse.duckdb"
        self.reports = root / "reports"
        shutil.copytree(raw or ROOT / "data" / "raw", self.raw)
        self.env = {**os.environ, "PREFECT_HOME": str(root / "prefect-home"), "COLUMNS": "200"}
        self.env.pop("PREFECT_API_URL", None)

    def command(self, *extra: str) -> list[str]:
        return [
            str(SCORECARD),
            "run",
            "--period",
            PERIOD,
            "--raw-dir",
            str(self.raw),
            "--warehouse",
            str(self.warehouse),
            "--reports-dir",
            str(self.reports),
            *extra,
        ]

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*extra), env=self.env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )

    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.reports / PERIOD / "manifest.json").read_text()))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def published_text(folder: Path) -> str:
    """Everything published under ``folder``: xlsx parts unzipped, text files read (PNGs are pixels,
    checked through their SVG twins)."""
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                out += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        elif p.suffix in (".svg", ".json", ".md", ".html", ".txt", ".csv"):
            out.append(p.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(out)
