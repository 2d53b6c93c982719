"""The run manifest: what went in (with SHA-256), what was rejected, what came out.

It is the audit record a board paper's figures can be traced through:
input files -> loads/rejects -> metric results -> output files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from metrics.compute.suppression import publishable
from metrics.core import atomic
from metrics.core.provenance import sha256_of
from metrics.core.reference import caveats_for, declarations
from metrics.core.registry import all_metrics, get
from metrics.core.results import LoadOutcome, MetricResult

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
    mapping: dict[str, Any] | None = None,
    synthetic: str = "",
    notice: str = "",
    quarters: Sequence[dict[str, Any]] = (),
    comparison_files: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """``synthetic`` is the run's synthetic-data banner ("" for real inputs), ``notice`` what the page says
    of a failed or partly rejected run ("" when complete); ``quarters`` each computed quarter's input key
    and whether its results were reused from an earlier run (``metrics.compute.reuse.PeriodResults.record``);
    ``comparison_files`` the comparator and peer files read beyond the declared reference files
    (``metrics.core.reference.comparison_files``)."""
    loads = list(loads)
    inputs, reference = input_records(loads), reference_data()
    return {
        # The mapping file the deliveries were read through (name, path, SHA-256, extracts), or null.
        "mapping": mapping,
        "run_id": run_id,
        "period": period,
        "hwbs": list(hwbs),
        "status": status,
        "notice": notice,
        "synthetic_data": synthetic,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        # What the figures were computed from, as one digest: the return workbook's cover carries it
        # (the manifest's own SHA-256 cannot be there, since the manifest lists the workbook's).
        "inputs_sha256": inputs_digest(inputs, reference, comparison_files),
        "inputs": inputs,
        "rejects": {
            f"{o.period}/{o.extract}": {
                "problems": len(o.problems),
                "by_rule": _count_by(p.rule for p in o.problems),
            }
            for o in loads
            if o.problems
        },
        "suppression_threshold": suppression_threshold,
        # Each quarter the run has results for: computed by this run, or reused (read back from the
        # warehouse) because its inputs, definitions and settings were those of an earlier run's.
        "quarters": list(quarters),
        # Each result with the caveats of the unconfirmed reference data it depends on (e.g. the ISR's
        # "provisional: not comparable with published NHSOF figures" while its England reference is not NHSOF's).
        "results": [
            {**publishable(r, suppression_threshold), "caveats": list(caveats_for(get(r.metric_id).reference_data))}
            for r in results
        ],
        "reference_data": reference,
        # A comparator file given or delivered beside the quarters, a peer file given: what the
        # England, region and peer comparisons were made with (name and SHA-256, no local path).
        "comparison_files": [dict(f) for f in comparison_files],
        "outputs": [{"path": str(p), "sha256": sha256_of(p)} for p in outputs if p.is_file()],
        "history": list(history),  # earlier runs of this period; each run's manifest is also in the warehouse
    }


def input_records(loads: Iterable[LoadOutcome]) -> list[dict[str, Any]]:
    """The manifest's ``inputs``: each extract file with its SHA-256 and what became of it."""
    return [
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
    ]


def inputs_digest(
    inputs: Sequence[Mapping[str, Any]],
    reference: Sequence[Mapping[str, Any]],
    comparison: Sequence[Mapping[str, Any]] = (),
) -> str:
    """One SHA-256 for the data a run's figures were computed from: every input extract (extract,
    period, file SHA-256) and every reference file (name, file SHA-256), sorted, as canonical JSON
    (keys sorted, no spaces, UTF-8). Paths and load statuses are left out, so the same files give
    the same digest on any machine and on a re-run; the run id tells the runs apart.

    Known before any output is written, so the return workbook's cover can carry it while the
    manifest lists the workbook's own SHA-256 (a manifest hash on the cover would be circular).
    ``python -m metrics.publish.manifest <manifest.json>`` recomputes it from a manifest file.
    The comparison files (``comparison``: a comparator or peer file given or delivered) are a section
    only when there are any, so a run without them has the digest it had before they were recorded.
    """
    sections = {
        "inputs": sorted(
            ({"extract": i["extract"], "period": i["period"], "sha256": i["sha256"]} for i in inputs),
            key=lambda i: (i["period"], i["extract"], i["sha256"] or ""),
        ),
        "reference_data": sorted(
            ({"name": r["name"], "sha256": r["sha256"]} for r in reference), key=lambda r: (r["name"], r["sha256"])
        ),
    }
    if comparison:
        sections["comparison_files"] = sorted(
            ({"name": c["name"], "sha256": c["sha256"]} for c in comparison), key=lambda c: (c["name"], c["sha256"])
        )
    text = json.dumps(sections, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


def check_manifest(path: Path) -> list[str]:
    """What does not match in a manifest file: its ``inputs_sha256`` recomputed from its own inputs and
    reference data, and each listed output's SHA-256 against the file on disk. Empty = all match."""
    manifest = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    digest = inputs_digest(
        manifest.get("inputs", []), manifest.get("reference_data", []), manifest.get("comparison_files", [])
    )
    if manifest.get("inputs_sha256") != digest:
        problems.append(f"inputs_sha256 is {manifest.get('inputs_sha256')!r}, but its inputs give {digest}")
    for out in manifest.get("outputs", []):
        p = Path(out["path"])
        if not p.is_file():
            problems.append(f"{p}: listed but not found")
        elif sha256_of(p) != out["sha256"]:
            problems.append(f"{p}: SHA-256 {sha256_of(p)} differs from the manifest's {out['sha256']} (changed since)")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m metrics.publish.manifest reports/<period>/manifest.json``: print the run id and inputs
    digest (to compare with a return workbook's cover) and check the digest and every output's SHA-256."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m metrics.publish.manifest <manifest.json>", file=sys.stderr)
        return 2
    path = Path(args[0])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        problems = check_manifest(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{path}: not a readable manifest ({exc})", file=sys.stderr)
        return 2
    print(f"run id:        {manifest.get('run_id')}")
    print(f"inputs sha256: {manifest.get('inputs_sha256')}")
    for line in problems:
        print(f"MISMATCH {line}")
    if not problems:
        print(f"ok: the inputs digest and all {len(manifest.get('outputs', []))} outputs' SHA-256 match")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
