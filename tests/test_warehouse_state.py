"""The warehouse file as it is: not DuckDB, another program's, another schema version, in a folder
that cannot be written, or a disk that fills mid-load. Each is an EnvironmentProblem naming the file
and the fix, the file is left exactly as it was, and after the cause is fixed a re-run gives a clean
run's rows."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metrics import warehouse
from metrics.contracts import APC_SPELLS
from metrics.core.errors import EnvironmentProblem
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, REJECTED
from metrics.ingest import load
from metrics.ingest.load import load_extract
from metrics.validate.gx import Validator
from tests.extract_builders import spell, write_extract
from tests.unprivileged import run_unprivileged

Q2 = Period.parse("2023-24-Q2")


def _state(folder: Path) -> dict[str, str]:
    """Every file in the folder with its SHA-256: "unchanged" means byte for byte, and no new file."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _refused(path: Path, *words: str, read_only: bool = False) -> str:
    before = _state(path.parent)
    with pytest.raises(EnvironmentProblem) as info:
        warehouse.connect(path, read_only=read_only)
    message = str(info.value)
    assert str(path) in message, message
    for w in words:
        assert w in message, (w, message)
    assert info.value.exit_code == 3
    assert _state(path.parent) == before, "a refused warehouse must be left exactly as it was"
    return message


def _duckdb_file(path: Path, *sql: str) -> Path:
    con = duckdb.connect(str(path))
    for s in sql:
        con.execute(s)
    con.close()
    return path


NOT_DUCKDB: dict[str, Callable[[Path], None]] = {
    "csv": lambda p: p.write_text("hwb_code,value\nE06000061,1\n"),
    "random-bytes": lambda p: p.write_bytes(os.urandom(20_000)),
    "empty": lambda p: p.write_bytes(b""),
    "sqlite": lambda p: p.write_bytes(b"SQLite format 3\x00" + bytes(4080)),
}
NOT_DUCKDB_WORDS = {
    "csv": "a text file, perhaps a CSV",
    "random-bytes": "first bytes are not DuckDB's",
    "empty": "empty, 0 bytes",
    "sqlite": "an SQLite database",
}


@pytest.mark.parametrize("kind", list(NOT_DUCKDB))
def test_a_file_that_is_not_duckdb_is_refused_untouched(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    NOT_DUCKDB[kind](path)
    _refused(path, "is not a DuckDB database", NOT_DUCKDB_WORDS[kind], "point --warehouse at another file")


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    path = _duckdb_file(
        tmp_path / "warehouse.duckdb",
        "CREATE TABLE invoices (id INTEGER, amount DOUBLE)",
        "INSERT INTO invoices VALUES (1, 2.5)",
    )
    _refused(path, "DuckDB database of another program", "invoices", "_scorecard_meta")


def test_a_table_of_ours_with_other_columns_is_refused_untouched(tmp_path: Path) -> None:
    path = _duckdb_file(tmp_path / "warehouse.duckdb", "CREATE TABLE loads (id INTEGER, amount DOUBLE)")
    _refused(path, "columns differ from the scorecard's", "loads: unexpected id, amount")


@pytest.mark.parametrize(
    ("version", "words"), [("3", "newer version of the pipeline"), ("0", "older than"), ("x", "unreadable")]
)
def test_a_schema_version_outside_the_supported_range_is_refused(version: str, words: str, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    warehouse.connect(path).close()
    _duckdb_file(path, f"UPDATE _scorecard_meta SET value = '{version}' WHERE key = 'schema_version'", "CHECKPOINT")
    _refused(path, words)
    _refused(path, words, read_only=True)


def test_a_new_warehouse_records_its_schema_version(tmp_path: Path) -> None:
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        assert con.execute("SELECT key, value FROM _scorecard_meta").fetchall() == [
            ("schema_version", str(warehouse.SCHEMA_VERSION))
        ]
    finally:
        con.close()


def test_a_warehouse_from_before_the_version_table_is_adopted_with_its_data(
    tmp_path: Path, validator: Validator
) -> None:
    path = tmp_path / "w.duckdb"
    con = warehouse.connect(path)
    f = write_extract(tmp_path / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2)])
    assert load_extract(con, APC_SPELLS, f, Q2, "r", validator.validate).status == ACCEPTED
    con.execute("DROP TABLE _scorecard_meta")  # as a warehouse written before this change
    con.execute("ALTER TABLE runs DROP COLUMN scorecard")  # and before a migration
    con.close()
    con = warehouse.connect(path)
    try:
        assert con.execute("SELECT value FROM _scorecard_meta").fetchall() == [(str(warehouse.SCHEMA_VERSION),)]
        assert con.execute("SELECT spell_id FROM apc_spells ORDER BY 1").fetchall() == [("S00001",), ("S00002",)]
        assert "scorecard" in {r[0] for r in con.execute("DESCRIBE runs").fetchall()}
    finally:
        con.close()


def test_a_folder_at_the_warehouse_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    path.mkdir()
    _refused(path, "is a folder, not a DuckDB file")


def test_reading_a_warehouse_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path / "warehouse.duckdb", "does not exist", "scorecard ingest", read_only=True)
    assert not (tmp_path / "warehouse.duckdb").exists()


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder the unprivileged child can reach (pytest's tmp_path is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="scorecard-wh-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    for p in [folder, *folder.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(folder)


_CONNECT = """
    import json
    from metrics import warehouse
    from metrics.core.errors import EnvironmentProblem
    try:
        warehouse.connect({path!r}).close()
        print(json.dumps({{"refused": None}}))
    except EnvironmentProblem as exc:
        print(json.dumps({{"refused": str(exc)}}))
"""


@pytest.mark.parametrize("existing", [True, False], ids=["existing-warehouse", "new-warehouse"])
def test_a_warehouse_in_a_read_only_folder_is_refused_before_any_write(existing: bool, shared: Path) -> None:
    folder = shared / "processed"
    folder.mkdir()
    path = folder / "warehouse.duckdb"
    if existing:
        warehouse.connect(path).close()
    before = _state(folder)
    folder.chmod(0o555)
    got = run_unprivileged(_CONNECT.format(path=str(path)))
    message = got["refused"]
    assert message is not None and f"the warehouse folder {folder} cannot be written (Permission denied)" in message
    assert "make the folder writable" in message
    assert _state(folder) == before


def test_a_read_only_warehouse_file_is_refused(shared: Path) -> None:
    path = shared / "warehouse.duckdb"
    warehouse.connect(path).close()
    path.chmod(0o444)
    shared.chmod(0o777)
    before = _state(shared)
    got = run_unprivileged(_CONNECT.format(path=str(path)))
    message = got["refused"]
    assert message is not None and f"the warehouse {path} cannot be opened for writing" in message
    assert _state(shared) == before


def _partition(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in APC_SPELLS.column_names)
    return con.execute(f"SELECT _period, _line, {cols} FROM apc_spells ORDER BY _period, _line").fetchall()


def _log(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT run_id, extract, status, rows, sha256 FROM loads ORDER BY loaded_at").fetchall()


DISK_FULL: dict[str, Callable[[], BaseException]] = {
    "oserror": lambda: OSError(errno.ENOSPC, "No space left on device"),
    "duckdb": lambda: duckdb.IOException('Could not write file "w.duckdb.wal": No space left on device'),
}


@pytest.mark.parametrize("step", ["deleted_old_partition", "inserted_new_partition", "logged_load"])
@pytest.mark.parametrize("error", list(DISK_FULL))
def test_a_disk_that_fills_mid_load_rolls_back_and_a_rerun_is_clean(
    step: str, error: str, tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = write_extract(tmp_path / "v1" / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2)])
    v2 = write_extract(tmp_path / "v2" / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2), spell(3)])
    clean = warehouse.connect(tmp_path / "clean.duckdb")
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        for c in (clean, con):
            assert load_extract(c, APC_SPELLS, v1, Q2, "r1", validator.validate).status == ACCEPTED
        assert load_extract(clean, APC_SPELLS, v2, Q2, "r2", validator.validate).status == ACCEPTED
        before = (_partition(con), _log(con))

        def disk_full(at: str) -> None:
            if at == step:
                raise DISK_FULL[error]()

        monkeypatch.setattr(load, "fault_injection", disk_full)
        with pytest.raises(EnvironmentProblem) as info:
            load_extract(con, APC_SPELLS, v2, Q2, "r2", validator.validate)
        message = str(info.value)
        assert f"could not write to the warehouse {tmp_path / 'w.duckdb'}" in message
        assert "No space left on device" in message and f"nothing of {v2} was loaded" in message
        assert "rolled back" in message and "Free disk space" in message
        assert (_partition(con), _log(con)) == before  # nothing half-loaded

        monkeypatch.setattr(load, "fault_injection", None)  # space freed: the same load again
        out = load_extract(con, APC_SPELLS, v2, Q2, "r2", validator.validate)
        assert (out.status, out.rows) == (ACCEPTED, 3)
        assert _partition(con) == _partition(clean)
        assert [r[1:] for r in _log(con)] == [r[1:] for r in _log(clean)]
    finally:
        clean.close()
        con.close()


def test_a_disk_that_fills_while_recording_a_rejection_records_nothing(
    tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = write_extract(tmp_path / "apc_spells.csv", APC_SPELLS, [spell(1, age_at_admission=130)])
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:

        def disk_full(at: str) -> None:
            if at == "logged_reject":
                raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(load, "fault_injection", disk_full)
        with pytest.raises(EnvironmentProblem, match=r"the rejection of .* was not recorded"):
            load_extract(con, APC_SPELLS, bad, Q2, "r", validator.validate)
        assert con.execute("SELECT count(*) FROM rejects").fetchall() == [(0,)] and _log(con) == []
        monkeypatch.setattr(load, "fault_injection", None)
        out = load_extract(con, APC_SPELLS, bad, Q2, "r", validator.validate)
        assert out.status == REJECTED and [(p.line, p.column) for p in out.problems] == [(2, "age_at_admission")]
        assert con.execute("SELECT line, column_name FROM rejects").fetchall() == [(2, "age_at_admission")]
    finally:
        con.close()
