"""The outputs artifact's links: http(s) only, URL-quoted, only for files under the served reports folder.

A browser will not open ``file://`` links from the Prefect UI, so the artifact shows paths as text and,
where the reports folder is served (``SCORECARD_REPORTS_URL``), links to it. The real flow's artifacts
are checked in tests/test_outputs_for_tools.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest

from metrics.core.errors import EnvironmentProblem
from pipelines.artifacts import outputs_markdown
from pipelines.checks import BadReportsUrl, reports_url


def test_reports_url_is_http_or_https_and_ends_in_a_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCORECARD_REPORTS_URL", raising=False)
    assert reports_url() is None
    monkeypatch.setenv("SCORECARD_REPORTS_URL", " https://intranet.example/scorecard/reports ")
    assert reports_url() == "https://intranet.example/scorecard/reports/"
    assert reports_url("http://localhost:8000/") == "http://localhost:8000/"


@pytest.mark.parametrize(
    "bad",
    ["file:///srv/reports", "javascript:alert(1)", "/srv/reports", "https://", "https://x.example/r?token=1"],
)
def test_reports_url_refuses_what_a_browser_would_not_open_as_a_folder(bad: str) -> None:
    with pytest.raises(BadReportsUrl, match="SCORECARD_REPORTS_URL") as err:
        reports_url(bad)
    assert isinstance(err.value, EnvironmentProblem)  # exit code for a setting of the environment
    assert "fix:" in str(err.value)


def test_links_are_quoted_and_only_for_published_files(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    odd = reports / "2023-24-Q2" / "scorecard (draft) [v2]_E06000061.html"
    csv_file, parquet = reports / "2023-24-Q2" / "results.csv", reports / "2023-24-Q2" / "results.parquet"
    docs = tmp_path / "data_docs" / "index.html"  # restricted: beside the warehouse, not published
    md = outputs_markdown(
        [reports / "2023-24-Q2" / "charts" / "c.png"],
        [odd],
        docs,
        reports / "2023-24-Q2" / "manifest.json",
        [csv_file, parquet],
        reports,
        "https://intranet.example/r/",
    )
    html = markdown.markdown(md)
    hrefs = re.findall(r'<a href="([^"]+)">open</a>', html)
    assert hrefs == [
        "https://intranet.example/r/2023-24-Q2/scorecard%20%28draft%29%20%5Bv2%5D_E06000061.html",
        "https://intranet.example/r/2023-24-Q2/results.csv",
        "https://intranet.example/r/2023-24-Q2/results.parquet",
        "https://intranet.example/r/2023-24-Q2/charts/c.png",
        "https://intranet.example/r/2023-24-Q2/manifest.json",
    ]
    assert "Tidy results (CSV)" in md and "Tidy results (Parquet)" in md
    assert "file://" not in md and str(docs.resolve()) in md and "data_docs" not in "".join(hrefs)


def test_without_a_url_the_outputs_are_paths_only(tmp_path: Path) -> None:
    md = outputs_markdown([], [tmp_path / "r.xlsx"], tmp_path / "i.html", tmp_path / "m.json", [tmp_path / "x.csv"])
    assert "](" not in md and "<a " not in markdown.markdown(md)
    assert f"`{(tmp_path / 'x.csv').resolve()}`" in md
