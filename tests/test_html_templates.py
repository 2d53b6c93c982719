"""The HTML scorecard's Jinja2 templates: everything from an extract escaped, local overrides."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from metrics.core import registry
from metrics.publish.html import TEMPLATES_ENV, render_scorecard
from metrics.publish.spc_notes import SpcReading
from tests.test_report_html import Q1, Q2, _r

SCRIPT = "<script>alert(1)</script>"
ATTR = '" onload="x'
HOSTILE = f"{SCRIPT}{ATTR}"


@pytest.fixture(autouse=True)
def _shipped_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """No local override from the developer's environment unless a test sets one."""
    monkeypatch.delenv(TEMPLATES_ENV, raising=False)


def _page(tmp_path: Path, hwb_name: str = "Northland", templates_dir: Path | None = None) -> str:
    metrics = registry.metrics_for("bcf")
    chart = tmp_path / "chart.svg"
    chart.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><rect id="drawn"/></svg>')
    rows = [_r(m.id, Q2, 50.0) for m in metrics]
    history = rows + [_r(m.id, Q1, 49.0) for m in metrics]
    return render_scorecard(
        metrics,
        rows,
        history,
        "E06000061",
        hwb_name,
        Q2,
        {metrics[0].id: chart},
        {},
        {},
        dt.date(2023, 11, 1).isoformat(),
        5,
        templates_dir=templates_dir,
    )


def _assert_escaped(page: str) -> None:
    assert "<script" not in page and "onload=" not in page.replace("onload=&quot;", "")
    assert ATTR not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&quot; onload=&quot;x" in page


@pytest.mark.parametrize("card_id", ["bcf", "safeguarding"])
def test_text_from_extracts_and_definitions_is_escaped(card_id: str) -> None:
    metrics = [replace(m, title=f"Title {HOSTILE}", definition=HOSTILE) for m in registry.metrics_for(card_id)]
    card = None if card_id == "bcf" else registry.scorecard(card_id)
    rows = [
        replace(_r(m.id, Q2, 50.0), status_reason=f"reason {HOSTILE}", note=f"note {HOSTILE}", method=HOSTILE)
        for m in metrics
    ]
    page = render_scorecard(
        metrics,
        rows,
        rows,
        "E06000061",
        f"Area {HOSTILE}",
        Q2,
        {},
        {metrics[0].id: [f"line 3: {HOSTILE}"]},
        {metrics[0].id: SpcReading(f"spc {HOSTILE}", "improvement_high", "consistent_pass")},
        f"gen {HOSTILE}",
        5,
        card,
    )
    _assert_escaped(page)
    assert "Title &lt;script&gt;alert(1)&lt;/script&gt;&quot; onload=&quot;x</a>" in page  # headline link
    title = "Better Care Fund scorecard" if card is None else "Children&#x27;s safeguarding scorecard"
    assert f"<h1>{title}: Area &lt;script&gt;" in page
    assert '<p class="note">note &lt;script&gt;' in page and "<li>line 3: &lt;script&gt;" in page
    # The code's own SVG (SPC icons) is markup, not text.
    assert '<svg class="spc-icon"' in page and "&lt;svg" not in page


def test_values_in_attributes_cannot_break_out(tmp_path: Path) -> None:
    """A metric id lands in data-metric, id and href attributes: quoted and escaped there too."""
    metrics = [replace(m, id=f"m{i}{ATTR}") for i, m in enumerate(registry.metrics_for("bcf"))]
    rows = [_r(m.id, Q2, 50.0) for m in metrics]
    page = render_scorecard(metrics, rows, rows, "E06000061", HOSTILE, Q2, {}, {}, {}, "today", 5)
    _assert_escaped(page)
    assert 'data-metric="m0&quot; onload=&quot;x"' in page and 'href="#m0&quot; onload=&quot;x"' in page
    assert "<title>Better Care Fund scorecard &lt;script&gt;" in page


def test_charts_are_inlined_as_svg_not_escaped(tmp_path: Path) -> None:
    page = _page(tmp_path)
    assert '<svg xmlns="http://www.w3.org/2000/svg"><rect id="drawn"/></svg>' in page and "<?xml" not in page
    assert page.count('<p class="note">Chart not available.</p>') == len(registry.metrics_for("bcf")) - 1


def test_override_folder_changes_the_footer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "_footer.html.j2").write_text('<footer class="local">Provisional: {{ hwb_name }} board only</footer>\n')
    shipped = _page(tmp_path)
    assert "Every figure is the published" in shipped and "Provisional" not in shipped
    page = _page(tmp_path, hwb_name="North <N>", templates_dir=local)
    assert '<footer class="local">Provisional: North &lt;N&gt; board only</footer>' in page
    assert "Every figure is the published" not in page
    assert '<td class="num value">50.0</td>' in page  # the rest of the page is the shipped one
    # The same folder through the environment variable, as a pipeline run would pick it up.
    monkeypatch.setenv(TEMPLATES_ENV, str(local))
    assert "Provisional: Northland board only" in _page(tmp_path)


def test_override_can_extend_the_shipped_page_block_by_block(tmp_path: Path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "scorecard.html.j2").write_text(
        '{% extends "shipped/scorecard.html.j2" %}\n'
        '{% block logo %}<svg class="logo" role="img" aria-label="Council"><circle r="5"/></svg>{% endblock %}\n'
        '{% block caveat %}<p class="caveat">Unvalidated: {{ period_label }}</p>{% endblock %}\n'
    )
    page = _page(tmp_path, templates_dir=local)
    assert '<header><svg class="logo"' in page and '<p class="caveat">Unvalidated: 2023-24 Q2</p>' in page
    assert "Every figure is the published" in page and 'id="headline"' in page


def test_a_missing_override_folder_is_an_error_not_the_shipped_page(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="templates"):
        _page(tmp_path, templates_dir=tmp_path / "nope")
