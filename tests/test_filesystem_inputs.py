"""The delivered path as the file system has it: folders, pipes, links, permissions, case and glob
characters each give a rejected load naming the file and the fix (never a crash or a hang), and the
bytes hashed are the bytes loaded."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metrics import warehouse
from metrics.contracts import APC_SPELLS
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, MISSING, REJECTED
from metrics.ingest import load
from metrics.ingest.load import load_extract
from metrics.validate.gx import Validator
from tests.extract_builders import spell, write_extract
from tests.unprivileged import run_unprivileged

Q2 = Period.parse("2023-24-Q2")
NAME = APC_SPELLS.filename


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The loads' temporary copies go here, so the test can see that none is left behind."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp
    assert list(tmp.iterdir()) == [], "a private copy was left behind"


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A load that blocks (a named pipe opened for reading) fails the test instead of hanging it."""

    def hung(signum: int, frame: Any) -> None:
        raise TimeoutError("load_extract hung")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _partition(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in APC_SPELLS.column_names)
    return con.execute(f"SELECT _period, _line, {cols} FROM apc_spells ORDER BY _period, _line").fetchall()


def _good(path: Path, n: int = 3, first: int = 1) -> Path:
    return write_extract(path, APC_SPELLS, [spell(i) for i in range(first, first + n)])


def _refused(con: duckdb.DuckDBPyConnection, path: Path, out: Any, rule: str, *words: str) -> None:
    """Rejected with one file-level problem of ``rule`` naming the file; nothing loaded; recorded
    with the user's own path."""
    assert out.status == REJECTED, out
    assert [(p.line, p.column, p.rule) for p in out.problems] == [(None, None, rule)]
    reason = out.problems[0].reason
    assert NAME in reason or path.parent.name in reason, reason
    for w in words:
        assert w in reason, (w, reason)
    assert out.file_path == str(path)
    assert _partition(con) == []
    assert con.execute(
        "SELECT r.file_path, r.rule, l.status FROM rejects AS r JOIN loads AS l USING (load_id)"
    ).fetchall() == [(str(path), rule, REJECTED)]


def test_a_folder_at_the_extract_path_is_rejected(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = tmp_path / "raw" / NAME
    path.mkdir(parents=True)
    out = load_extract(con, APC_SPELLS, path, Q2, "r", validator.validate)
    _refused(con, path, out, "file_not_regular", "is a folder", "put the delivered CSV file itself")


def test_a_named_pipe_is_rejected_without_opening_it(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = tmp_path / "raw" / NAME
    path.parent.mkdir()
    os.mkfifo(path)  # nobody writes to it: opening it for reading would block for ever
    out = load_extract(con, APC_SPELLS, path, Q2, "r", validator.validate)
    _refused(con, path, out, "file_not_regular", "named pipe (FIFO)")


def test_a_dangling_symlink_is_rejected_naming_its_target(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    path = tmp_path / "raw" / NAME
    path.parent.mkdir()
    path.symlink_to(tmp_path / "gone" / NAME)
    out = load_extract(con, APC_SPELLS, path, Q2, "r", validator.validate)
    _refused(con, path, out, "file_broken_link", "symbolic link to", str(tmp_path / "gone" / NAME), "does not exist")


def test_a_symlink_loop_is_rejected(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    path = tmp_path / "raw" / NAME
    path.parent.mkdir()
    other = tmp_path / "raw" / "other.csv"
    path.symlink_to(other)
    other.symlink_to(path)
    out = load_extract(con, APC_SPELLS, path, Q2, "r", validator.validate)
    _refused(con, path, out, "file_broken_link", "loops back")


def test_a_working_symlink_loads_as_the_file_itself(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    real = _good(tmp_path / "store" / NAME)
    link = tmp_path / "raw" / NAME
    link.parent.mkdir()
    link.symlink_to(real)
    out = load_extract(con, APC_SPELLS, link, Q2, "r", validator.validate)
    assert (out.status, out.rows, out.file_path) == (ACCEPTED, 3, str(link))
    ref = warehouse.connect(tmp_path / "ref.duckdb")
    try:
        assert load_extract(ref, APC_SPELLS, real, Q2, "r", validator.validate).status == ACCEPTED
        assert _partition(con) == _partition(ref)
    finally:
        ref.close()


def test_a_name_in_another_case_is_rejected_naming_both(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    _good(tmp_path / "raw" / "APC_Spells.csv")
    path = tmp_path / "raw" / NAME
    out = load_extract(con, APC_SPELLS, path, Q2, "r", validator.validate)
    _refused(
        con, path, out, "file_name_case", "named APC_Spells.csv, not apc_spells.csv", "rename it to apc_spells.csv"
    )


def test_an_absent_file_is_still_not_delivered(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    _good(tmp_path / "raw" / "plans.csv")  # another extract: no name of this one in any case
    out = load_extract(con, APC_SPELLS, tmp_path / "raw" / NAME, Q2, "r", validator.validate)
    assert (out.status, out.message, out.problems) == (MISSING, "file not delivered", [])


UNREADABLE = {
    "file-mode-000": (lambda path: path.chmod(0o000), "permission denied"),
    "folder-without-x": (lambda path: path.parent.chmod(0o644), "permission denied on the file or a folder above it"),
}


@pytest.mark.parametrize("how", list(UNREADABLE))
def test_an_unreadable_file_is_rejected_naming_the_fix(how: str) -> None:
    """Loaded by a process without root's permission override (tests run as root)."""
    shared = Path(tempfile.mkdtemp(prefix="scorecard-perm-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        path = _good(shared / "raw" / NAME)
        UNREADABLE[how][0](path)
        got = run_unprivileged(f"""
            import json, duckdb
            from pathlib import Path
            from metrics import warehouse
            from metrics.contracts import APC_SPELLS
            from metrics.core.periods import Period
            from metrics.ingest.load import load_extract
            con = duckdb.connect(":memory:")
            warehouse.initialise(con)
            def no_validation(*args):
                raise AssertionError("an unreadable file must not reach validation")
            out = load_extract(con, APC_SPELLS, Path({str(path)!r}), Period.parse("2023-24-Q2"), "r", no_validation)
            rows = con.execute("SELECT count(*) FROM apc_spells").fetchone()[0]
            print(json.dumps({{"status": out.status, "path": out.file_path, "rows": rows,
                               "problems": [[p.rule, p.reason] for p in out.problems]}}))
        """)
    finally:
        (shared / "raw").chmod(0o755)
        shutil.rmtree(shared)
    assert (got["status"], got["path"], got["rows"]) == (REJECTED, str(path), 0)
    [[rule, reason]] = got["problems"]
    assert rule == "file_unreadable"
    assert reason.startswith(f"{NAME} cannot be read ({UNREADABLE[how][1]})") and "chmod a+r" in reason


GLOB_NAMES = [
    ("data[1]", "data1"),  # [1] is a character class matching "data1"
    ("2023-24-Q[12]", "2023-24-Q1"),
    ("star*", "starfish"),
    ("what?", "whatX"),
    ("a**b", "a"),
    ("br{x,y}", "brx"),
]


@pytest.mark.parametrize(("folder", "sibling"), GLOB_NAMES, ids=[f for f, _ in GLOB_NAMES])
def test_glob_characters_in_a_folder_name_are_taken_literally(
    folder: str, sibling: str, tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator
) -> None:
    mine = _good(tmp_path / "raw" / folder / NAME, n=2, first=1)
    if folder == "a**b":
        _good(tmp_path / "raw" / "a" / "x" / "b" / NAME, n=4, first=50)
    _good(tmp_path / "raw" / sibling / NAME, n=5, first=100)  # would be read too if the path were a pattern
    out = load_extract(con, APC_SPELLS, mine, Q2, "r", validator.validate)
    assert (out.status, out.rows, out.file_path) == (ACCEPTED, 2, str(mine))
    assert con.execute("SELECT spell_id FROM apc_spells ORDER BY 1").fetchall() == [("S00001",), ("S00002",)]
    assert out.sha256 == hashlib.sha256(mine.read_bytes()).hexdigest()


def test_the_hash_recorded_is_of_the_bytes_loaded_even_if_the_file_is_replaced_mid_load(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _good(tmp_path / "raw" / NAME, n=2)
    delivered = path.read_bytes()
    parse = load._parse

    def replaced_after_hashing(*args: Any) -> Any:
        _good(tmp_path / "new" / NAME, n=7, first=20).replace(path)  # a new delivery lands mid-load
        with open(tmp_path / "raw" / NAME, "r+b") as fh:  # and another rewrites it in place
            fh.write(b"garbage")
        return parse(*args)

    monkeypatch.setattr(load, "_parse", replaced_after_hashing)
    out = load_extract(con, APC_SPELLS, path, Q2, "r", validator.validate)
    assert (out.status, out.rows) == (ACCEPTED, 2)
    assert out.sha256 == hashlib.sha256(delivered).hexdigest()
    assert con.execute("SELECT sha256, rows FROM loads").fetchall() == [(out.sha256, 2)]
    assert con.execute("SELECT spell_id FROM apc_spells ORDER BY 1").fetchall() == [("S00001",), ("S00002",)]


def test_no_copy_of_the_extract_outlives_a_killed_load(tmp_path: Path) -> None:
    """The private copy has no name (Linux): a process killed mid-load leaves no record-level data behind."""
    path = _good(tmp_path / "raw" / NAME)
    tmp = tmp_path / "killed-tmp"
    tmp.mkdir()
    script = f"""
        import os, signal
        from pathlib import Path
        from metrics import warehouse
        from metrics.contracts import APC_SPELLS
        from metrics.core.periods import Period
        from metrics.ingest import load
        con = warehouse.connect({str(tmp_path / "w.duckdb")!r})
        load.fault_injection = lambda step: os.kill(os.getpid(), signal.SIGKILL)
        load.load_extract(con, APC_SPELLS, Path({str(path)!r}), Period.parse("2023-24-Q2"), "r", lambda *a: [])
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert list(tmp.iterdir()) == []
