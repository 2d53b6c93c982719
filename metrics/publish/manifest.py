"""The run manifest: what went in (with SHA-256), what was rejected, what came out.

It is the audit record a board paper's figures can be traced through:
input files -> loads/rejects -> metric results -> output files.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import platform
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from metrics.compute.suppression import publishable
from metrics.core import atomic
from metrics.core.reference import caveats_for, declarations
from metrics.core.registry import all_metrics, get
from metrics.core.results import LoadOutcome, MetricResult
from metrics.ingest.load import sha256_of

_PACKAGES = (
    "hwb-scorecard",
    "prefect",
    "duckdb",
    "great-expectations",
    "pandas",
    "numpy",
    "scipy",
    "matplotlib",
    "xlsxwriter",
    "openpyxl",
    "holidays",  # England and Wales bank holidays: the working-day calendar (metrics.core.reference)
)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
        out["git_commit"] = commit or "unknown"
    except OSError:
        out["git_commit"] = "unknown"
    return out


def build_manifest(
    run_id: str,
    period: str,
    hwbs: Sequence[str],
    started_at: dt.datetime,
    loads: Iterable[LoadOutcome],
    results: Iterable[MetricResult],
    outputs: Iterable[Path],
    suppression_threshold: int,
    status: str,
    history: Sequence[dict[str, Any]] = (),
    synthetic: str = "",
    notice: str = "",
) -> dict[str, Any]:
    """``synthetic`` is the run's synthetic-data banner ("" for real inputs), ``notice`` what the page says
    of a failed or partly rejected run ("" when complete)."""
    loads = list(loads)
    return {
        "run_id": run_id,
        "period": period,
        "hwbs": list(hwbs),
        "status": status,
        "notice": notice,
        "synthetic_data": synthetic,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "inputs": [
            {
                "extract": o.extract,
                "period": o.period,
                "path": o.file_path,
                "sha256": o.sha256,
                "status": o.status,
                "rows": o.rows,
                "rejected_rows": o.rejected_rows,
                "message": o.message,
                "synthetic": o.synthetic,  # its folder's SYNTHETIC_DATA.json names it (metrics.core.provenance)
            }
            for o in loads
        ],
        "rejects": {
            f"{o.period}/{o.extract}": {
                "problems": len(o.problems),
                "by_rule": _count_by(p.rule for p in o.problems),
            }
            for o in loads
            if o.problems
        },
        "suppression_threshold": suppression_threshold,
        # Each result with the caveats of the unconfirmed reference data it depends on (e.g. the ISR's
        # "provisional: not comparable with published NHSOF figures" while its England reference is not NHSOF's).
        "results": [
            {**publishable(r, suppression_threshold), "caveats": list(caveats_for(get(r.metric_id).reference_data))}
            for r in results
        ],
        "reference_data": reference_data(),
        "outputs": [{"path": str(p), "sha256": sha256_of(p)} for p in outputs if p.is_file()],
        "history": list(history),  # earlier runs of this period; each run's manifest is also in the warehouse
    }


def reference_data() -> list[dict[str, Any]]:
    """Every declared reference file as used by this run (shipped or replaced): what it is, its source,
    year, status, caveat, SHA-256 and the metrics that depend on it."""
    users: dict[str, list[str]] = {}
    for m in all_metrics():
        for name in m.reference_data:
            users.setdefault(name, []).append(m.id)
    return [{**ref.as_dict(), "metrics": users.get(name, [])} for name, ref in declarations().items()]


def _count_by(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def write_manifest(path: Path, manifest: dict[str, Any]) -> Path:
    return atomic.write_text(path, json.dumps(manifest, indent=2, default=str) + "\n")
