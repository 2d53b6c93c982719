"""Benchmark: the analyst's loop on the shipped demo, through the real ``scorecard run`` command.

    uv run python benchmarks/demo.py              # each case 3 times, medians
    uv run python benchmarks/demo.py --repeat 1   # quicker

Baseline, measured in the same run and in a fresh process: importing the libraries the product is
made of (``python -c "import prefect, great_expectations, duckdb, matplotlib, scipy.stats, pandas"``).
Against it (targets from the "Fast" issue):

- fresh-warehouse demo run (Prefect's embedded server included)     <= 2.5 x baseline
- re-run with nothing changed                                        <= 1.5 x baseline
- a usage error: bad period, unknown area, missing folder            <= 0.5 x baseline each

Each case runs in a scratch copy of ``data/raw`` with its own ``PREFECT_HOME``, so nothing a user has
is touched. Agreement checks (not times) make the script fail: every run must exit as documented, and
the re-run's published results must equal the fresh run's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORECARD = Path(sys.executable).parent / "scorecard"
PERIOD = "2023-24-Q2"
IMPORTS = "import prefect, great_expectations, duckdb, matplotlib, scipy.stats, pandas"


def timed(cmd: list[str], env: dict[str, str], expect: int) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=1800)
    took = time.perf_counter() - start
    if done.returncode != expect:
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}, expected {expect}:\n{done.stdout}\n{done.stderr}")
    return took


def results(reports: Path) -> list[dict[str, object]]:
    manifest = json.loads((reports / PERIOD / "manifest.json").read_text())
    return sorted(manifest["results"], key=lambda r: json.dumps(r, sort_keys=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="demo-bench-"))
    try:
        raw = work / "raw"
        shutil.copytree(ROOT / "data" / "raw", raw)
        env = {**os.environ, "PREFECT_HOME": str(work / "prefect-home"), "COLUMNS": "200"}
        env.pop("PREFECT_API_URL", None)

        def run_cmd(warehouse: Path, reports: Path, *extra: str) -> list[str]:
            return [str(SCORECARD), "run", "--raw-dir", str(raw), "--warehouse", str(warehouse),
                    "--reports-dir", str(reports), *extra]  # fmt: skip

        base, fresh, rerun = [], [], []
        usage: dict[str, list[float]] = {"bad period": [], "unknown area": [], "missing folder": []}
        agree = True
        for i in range(args.repeat):
            base.append(timed([sys.executable, "-c", IMPORTS], env, 0))
            wh, rep = work / f"w{i}.duckdb", work / f"reports{i}"
            fresh.append(timed(run_cmd(wh, rep, "--period", PERIOD), env, 0))
            first = results(rep)
            rerun.append(timed(run_cmd(wh, rep, "--period", PERIOD), env, 0))
            agree = agree and results(rep) == first
            usage["bad period"].append(timed(run_cmd(wh, rep, "--period", "2023-24-Q9"), env, 2))
            usage["unknown area"].append(timed(run_cmd(wh, rep, "--period", PERIOD, "--hwb", "E99999999"), env, 2))
            usage["missing folder"].append(timed(run_cmd(wh, rep, "--period", "2031-32-Q1"), env, 2))
        b = statistics.median(base)
        print(f"baseline: {IMPORTS!r} in a fresh process: {b:.2f} s (median of {args.repeat})")
        rows = [("fresh-warehouse demo run", statistics.median(fresh), 2.5),
                ("re-run, nothing changed", statistics.median(rerun), 1.5)]  # fmt: skip
        rows += [(f"usage error: {k}", statistics.median(v), 0.5) for k, v in usage.items()]
        for name, t, target in rows:
            ratio = t / b
            print(f"{name:32s} {t:7.2f} s  {ratio:5.2f} x baseline  target <= {target:g}  "
                  f"{'PASS' if ratio <= target else 'FAIL'}")  # fmt: skip
        print("re-run results equal the fresh run's: " + ("yes" if agree else "NO"))
        return 0 if agree else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
