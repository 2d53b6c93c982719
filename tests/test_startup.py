"""What a run imports before it needs it (issue #16, the analyst's loop).

SciPy's distributions, matplotlib and pandas take seconds to import on a small machine; a re-run whose
quarters and charts are all reused computes no interval, draws no chart and stores no new results, so
importing the flow and the stages it calls must not import them. Checked in a fresh interpreter, since
this test process has imported them long before.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The modules a ``scorecard run`` imports before its first task, and the ones a re-run calls.
STAGES = ["pipelines.flows", "metrics.compute.run", "metrics.compute.stats", "metrics.publish.charts"]
LAZY = ["scipy.stats", "matplotlib", "matplotlib.pyplot"]


def test_stages_do_not_import_scipy_or_matplotlib() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for m in {STAGES!r}: importlib.import_module(m)\n"
        f"print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_lazy_imports_still_work() -> None:
    """The functions that need them import them: an interval is computed, a figure drawn headless."""
    from metrics.compute import stats
    from metrics.publish import charts

    assert stats.z_value(0.95) == pytest.approx(1.959963984540054, abs=1e-12)  # qnorm(0.975)
    assert stats.exact_limits(5)[1] == pytest.approx(11.668332, abs=1e-6)  # PHEindicatormethods, 5 events
    with charts._figure("test") as fig:
        assert fig.get_size_inches().tolist() == [10, 5.6]
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"
    # The chart key's library version is matplotlib's own, read without importing it.
    assert f"|{matplotlib.__version__}|" in charts._drawing_version()
