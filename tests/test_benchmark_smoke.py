"""The benchmark script runs, and its three implementations agree, on a tiny two-HWB dataset.

It does not assert timings (they are for people to read); it guards the benchmark's own
correctness: the bare-SQL and pandas versions must give the pipeline's numerators and denominators.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_and_all_three_agree(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "national.py"),
            "--hwbs",
            "E06000017",
            "E06000061",
            "--population-scale",
            "0.05",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "numerators and denominators agree across (a), (b), (c)" in done.stdout
    for label in ("(a) pipeline", "(b) bare DuckDB SQL", "(c) pandas", "a/b = ", "c/a = "):
        assert label in done.stdout


def test_demo_benchmark_runs_through_the_real_command_and_its_runs_agree() -> None:
    """One round of benchmarks/demo.py: every case exits as documented, the re-run's results equal the
    fresh run's, and each ratio is printed with its target (times are not asserted)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "demo.py"), "--repeat", "1"],
        capture_output=True, text=True, timeout=1200, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "re-run results equal the fresh run's: yes" in done.stdout
    for case in ("fresh-warehouse demo run", "re-run, nothing changed", "usage error: bad period",
                 "usage error: unknown area", "usage error: missing folder"):  # fmt: skip
        line = next(x for x in done.stdout.splitlines() if x.startswith(case))
        assert "x baseline" in line and "target <=" in line and ("PASS" in line or "FAIL" in line)


def test_growth_benchmark_reuses_history_through_the_real_flow(tmp_path: Path) -> None:
    """A tiny growth run (two HWBs, two quarters of history): each run reuses every history quarter and
    computes only its own, the reused results equal those of the run that computed them, and each
    quarter's cost is printed against the baseline with the target (times are not asserted)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "national.py"), "--growth", "--history", "2",
         "--hwbs", "E06000017", "E06000061", "--scale", "0.05", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=1800, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every history quarter reused, each new quarter computed: yes" in done.stdout
    assert "reused quarters' results equal their computing run's: yes" in done.stdout
    assert "baseline: first quarter 2021-22-Q1 on an empty warehouse" in done.stdout
    for history in (1, 2):
        line = next(x for x in done.stdout.splitlines() if f"with {history} quarter" in x and "of history:" in x)
        assert "x baseline" in line
    verdict = next(x for x in done.stdout.splitlines() if x.startswith("growth: "))
    assert "target <= 1.5x" in verdict and ("PASS" in verdict or "FAIL" in verdict)
