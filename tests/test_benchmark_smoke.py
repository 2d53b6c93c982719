"""The benchmark scripts run, and their agreement checks hold, on tiny datasets.

They do not assert timings (those are for people to read); they guard the benchmarks' own
correctness: the bare-SQL and pandas versions must give the real flow's numerators and denominators,
and every ratio is printed with its target and a verdict.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_national_benchmark_runs_the_real_flow_and_all_three_agree(tmp_path: Path) -> None:
    """A tiny national run: (a) is the real Prefect flow (its task runs, read back from Prefect's API,
    are the stage split), its stored results agree with bare DuckDB and pandas, and each ratio and the
    peak memory are printed with their target and a verdict (times are not asserted)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "national.py"), "--hwbs", "E06000017", "E06000061",
         "--population-scale", "0.05", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=900, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    # 2 HWBs x 12 BCF metric results of the target quarter, each equal in all three.
    assert "numerators and denominators agree across (a), (b), (c) (24 results)" in lines
    flow = next(x for x in lines if x.startswith("(a) real Prefect flow"))
    for task in ("ingest-and-validate", "compute-metrics", "render-charts", "export-return", "render-scorecards"):
        assert task in flow
    assert "Prefect's server (embedded (a child process)) ready" in done.stdout
    for label, target in (
        ("(a) data path (ingest + validation + metrics)", "target <= 2x (b)"),
        ("(a) whole run (every chart, workbook and page)", "target <= 4x (b)"),
        ("(a) peak memory (process tree, Prefect server included)", "target < 4 GiB"),
    ):
        line = next(x for x in lines if x.startswith(label))
        assert target in line and line.split()[-1] in ("PASS", "FAIL"), line
    assert any(x.startswith("(c) pandas: c/a = ") for x in lines)
    assert any(x.startswith("load average (1, 5, 15 min) before ") for x in lines)


def test_agreement_check_reports_a_differing_count() -> None:
    """The national benchmark's agreement check fails on one differing denominator, a missing result
    and a figure withheld in one stage only; equal counts (to 1e-6 relative) pass."""
    spec = importlib.util.spec_from_file_location("national_benchmark", ROOT / "benchmarks" / "national.py")
    assert spec is not None and spec.loader is not None
    national = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(national)
    mine = {"falls_65_plus|E06000017": [12.0, 10450.0], "x|E06000061": [None, None], "y|E06000061": [3.0, 4.0]}
    assert national._agree(mine, {**mine, "falls_65_plus|E06000017": [12.0, 10450.000001]}) == []
    bad = national._agree(mine, {"falls_65_plus|E06000017": [12.0, 10451.0], "x|E06000061": [0.0, 0.0]})
    assert [b.split(":")[0] for b in bad] == ["falls_65_plus|E06000017", "x|E06000061", "y|E06000061"]


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
