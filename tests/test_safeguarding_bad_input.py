"""Children's social care extracts go through the same all-or-nothing ingest: every problem is kept
with its line, column and reason, and nothing of a bad file is loaded."""

from __future__ import annotations

from pathlib import Path

import duckdb

from metrics.contracts import CLA_EPISODES, MISSING_EPISODES
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, REJECTED
from metrics.ingest.load import load_extract
from metrics.validate.gx import Validator
from tests.extract_builders import write_extract

Q2 = Period.parse("2023-24-Q2")


def _missing(n: int, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "missing_id": f"MISS{n:04d}",
        "child_id": f"CHILD{n:04d}",
        "looked_after": "Y",
        "missing_from": "2023-08-01 09:00",
        "returned_at": "2023-08-01 21:30",
        "rhi_offered_at": "2023-08-02 10:00",
        "rhi_completed_at": "2023-08-03 15:00",
        "la_code": "E06000061",
    }
    row.update(kw)
    return row


def test_bad_missing_episodes_are_rejected_with_line_and_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    rows = [
        _missing(1),
        _missing(2, returned_at="01/08/2023 21:30"),  # line 3: not YYYY-MM-DD HH:MM
        _missing(3, returned_at="2023-10-01 00:00"),  # line 4: returned after the quarter
        _missing(4, rhi_completed_at="2023-08-01 08:00"),  # line 5: interview before the return
        _missing(5, looked_after="yes"),  # line 6: not Y/N
        _missing(6, returned_at="2023-09-30 23:59", rhi_offered_at=None, rhi_completed_at=None),  # line 7: fine
    ]
    f = write_extract(tmp_path / MISSING_EPISODES.filename, MISSING_EPISODES, rows)
    out = load_extract(con, MISSING_EPISODES, f, Q2, "run1", validator.validate)
    assert out.status == REJECTED
    found = {(p.line, p.column, p.rule) for p in out.problems}
    assert {
        (3, "returned_at", "type:timestamp"),
        (4, "returned_at", "date_window"),
        (5, "rhi_completed_at", "order"),
        (6, "looked_after", "code"),
    } <= found
    assert not any(p.line in (2, 7) for p in out.problems)
    assert con.execute("SELECT count(*) FROM cs_missing_episodes").fetchall()[0][0] == 0
    kept = con.execute("SELECT DISTINCT line FROM rejects WHERE extract = 'cs_missing_episodes' ORDER BY 1")
    assert [r[0] for r in kept.fetchall()] == [3, 4, 5, 6]
    assert "CHILD" not in out.summary()  # messages name lines and columns, never values


def test_children_looked_after_since_long_ago_are_accepted(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    rows = [
        {
            "episode_id": "EPIS0001",
            "child_id": "CHILD0001",
            "start_date": "2008-03-01",
            "end_date": None,
            "legal_status": "C2",
            "la_code": "E06000061",
        }
    ]
    f = write_extract(tmp_path / CLA_EPISODES.filename, CLA_EPISODES, rows)
    assert load_extract(con, CLA_EPISODES, f, Q2, "run1", validator.validate).status == ACCEPTED
    late = write_extract(
        tmp_path / "late" / CLA_EPISODES.filename, CLA_EPISODES, [{**rows[0], "start_date": "2023-10-01"}]
    )  # starts after the quarter
    out = load_extract(con, CLA_EPISODES, late, Q2, "run2", validator.validate)
    assert out.status == REJECTED and {(p.line, p.column) for p in out.problems} == {(2, "start_date")}
