from pathlib import Path

from metrics.contracts import EXTRACTS
from metrics.core import registry
from metrics.publish.docs import contracts_markdown, metrics_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_five_bcf_metrics_declared_once_each() -> None:
    ids = [m.id for m in registry.metrics_for("bcf")]
    assert ids == [
        "avoidable_admissions",
        "falls_65_plus",
        "discharge_usual_residence",
        "residential_admissions_65_plus",
        "reablement_91_days",
    ]
    for m in registry.metrics_for("bcf"):
        assert set(m.sources) <= set(EXTRACTS), m.id
        assert m.sql_path.exists()
        # every parameter the SQL uses is either a run value or declared in the TOML
        m.sql_parameters({"hwbs": [], "window_start": 0, "window_end": 0, "period": "", "period_years": 0})


def test_readme_documents_current_contracts_and_metrics() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert contracts_markdown() in readme, "README contracts are stale: paste `scorecard contracts`"
    assert metrics_markdown() in readme, "README metrics are stale: paste `scorecard metrics`"
