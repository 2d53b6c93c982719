import shutil
from pathlib import Path

import pytest

from metrics.contracts import EXTRACTS
from metrics.core import registry
from metrics.publish.docs import GENERATED_PAGES, contracts_markdown, metrics_markdown, refresh_docs

ROOT = Path(__file__).resolve().parents[1]


def test_bcf_metrics_declared_once_each() -> None:
    ids = [m.id for m in registry.metrics_for("bcf")]
    assert ids == [
        "avoidable_admissions",
        "falls_65_plus",
        "discharge_usual_residence",
        "residential_admissions_65_plus",
        "reablement_91_days",
        "avoidable_admissions_ratio",
        "reablement_91_days_ascof",
        "emergency_admissions_65_plus",
        "discharge_on_ready_date",
        "discharge_delay_days",
        "discharge_delay_days_excl_zero",
        "care_home_admissions_65_plus",
    ]
    for m in registry.metrics_for("bcf"):
        assert set(m.sources) <= set(EXTRACTS), m.id
        assert m.sql_path.exists()
        # every parameter the SQL uses is either a run value or declared in the TOML
        m.sql_parameters({"hwbs": [], "window_start": 0, "window_end": 0, "period": "", "period_years": 0})


def test_docs_document_current_contracts_and_metrics() -> None:
    contracts = (ROOT / "docs/reference/contracts.md").read_text(encoding="utf-8")
    metrics = (ROOT / "docs/reference/metrics.md").read_text(encoding="utf-8")
    for card in ("bcf", "safeguarding"):
        assert contracts_markdown(card) in contracts, f"{card} contracts are stale: run `scorecard docs`"
        assert metrics_markdown(card) in metrics, f"{card} metrics are stale: run `scorecard docs`"


def test_refresh_docs_leaves_current_pages_alone_and_fixes_stale_ones(tmp_path: Path) -> None:
    for page in GENERATED_PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / page, tmp_path / page)
    assert refresh_docs(tmp_path) == []
    page = tmp_path / "docs/reference/metrics.md"
    current = page.read_text(encoding="utf-8")
    page.write_text(current.replace(metrics_markdown("safeguarding"), "stale"), encoding="utf-8")
    assert refresh_docs(tmp_path) == [page]
    assert page.read_text(encoding="utf-8") == current
    page.write_text(current.replace("<!-- metrics:end -->", ""), encoding="utf-8")
    with pytest.raises(ValueError, match="metrics:start"):
        refresh_docs(tmp_path)


def test_the_registry_accepts_exactly_the_methods_the_compute_table_has() -> None:
    from metrics.compute.methods import METHODS

    assert set(registry.METHOD_NAMES) == set(METHODS)
    for name, method in METHODS.items():
        assert method.ci_label and method.doc, name
