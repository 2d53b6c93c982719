"""User errors from the command line: plain messages, documented exit codes, no traceback, and no
Prefect server (argument errors are found before Prefect or GX is imported); ``scorecard validate``;
the warehouse lock that waits."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from metrics.core.errors import DataRejected, EnvironmentProblem, UsageError
from metrics.warehouse.runlock import RunInProgressError, exclusive_run, lock_wait_seconds
from pipelines.checks import ExtractsRejected, NoExtractsFolder, UnknownArea, latest_period
from tests.workspace import ROOT, SCORECARD

PERIOD = "2023-24-Q2"


def _cli(*args: str, cwd: Path = ROOT, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    done = subprocess.run(
        [str(SCORECARD), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    return done, time.monotonic() - start


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["run", "--period", "2023-24-Q9"], 2, ["2023-24-Q9", "fix:"]),
        (["run", "--period", PERIOD, "--hwb", "E99999999"], 2, ["E99999999", "hwb_codes.csv"]),
        # A real HWB code, but not in the period's population extract (the demo has North Northamptonshire).
        (["run", "--period", PERIOD, "--hwb", "E06000062"], 2, ["E06000062", "population.csv", "E06000061"]),
        (["run", "--period", PERIOD, "--raw-dir", "no/such/folder"], 2, ["no/such/folder", "--raw-dir"]),
        (["run", "--period", "2019-20-Q2"], 2, ["2019-20-Q2", "does not exist"]),
        (["run", "--raw-dir", "no/such/folder"], 2, ["no period folders"]),
        (["validate", "--period", "2023-24-Q9"], 2, ["2023-24-Q9"]),
        (["validate", "--period", PERIOD, "--raw-dir", "no/such/folder"], 2, ["no/such/folder"]),
        (["run", "--scorecard", "nosuchcard"], 2, ["nosuchcard"]),
        (["run", "--no-such-option"], 2, ["--no-such-option"]),
    ],
)
def test_argument_errors_are_plain_lines_with_the_exit_code_and_fast(
    args: list[str], code: int, words: list[str]
) -> None:
    done, took = _cli(*args)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for w in words:
        assert w in done.stderr
    # A plain message: at most two lines of our own besides argparse's usage block (which grows with
    # the options: its "usage:" line and the indented lines continuing it).
    own = [line for line in done.stderr.strip().splitlines() if not line.startswith(("usage:", " "))]
    assert len(own) <= 2, done.stderr
    assert took < 15, f"{args}: {took:.1f} s (should not start Prefect)"


def test_a_bad_replacement_isr_reference_is_a_plain_error_before_prefect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = (ROOT / "metrics/reference/england_acsc_reference.csv").read_text(encoding="utf-8")
    (tmp_path / "ref.csv").write_text(shipped.replace("0-4,F,2804,", '0-4,F,"2,804",'), encoding="utf-8")
    (tmp_path / "overrides.toml").write_text(
        '[england_acsc_reference]\nfile = "ref.csv"\nwhat = "w"\nsource = "s"\nyear = "2012/13"\n'
        'status = "confirmed"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SCORECARD_REFERENCE_OVERRIDES", str(tmp_path / "overrides.toml"))
    done, took = _cli("run", "--period", PERIOD, "--warehouse", str(tmp_path / "w.duckdb"))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert f"{tmp_path / 'ref.csv'}: row 3, column admissions: '2,804'" in done.stderr
    assert "SCORECARD_REFERENCE_OVERRIDES" in done.stderr  # the fix
    assert not (tmp_path / "w.duckdb").exists() and took < 15


def test_argument_errors_do_not_import_prefect_or_gx() -> None:
    import sys

    code = (
        "import sys\nfrom pipelines.cli import main\n"
        "rc = main(['run', '--period', '2023-24-Q2', '--hwb', 'E99999999'])\n"
        "assert rc == 2, rc\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('prefect', 'great_expectations', 'duckdb')]\n"
        "assert not heavy, heavy[:5]\n"
        # No embedded Prefect server is started for a usage error (pipelines.server starts it).
        "assert 'pipelines.server' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_embedded_server_starts_answers_and_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server ``scorecard run`` starts before its imports: Prefect's own temporary server command,
    its database in PREFECT_HOME, answering the API, and gone once stopped."""
    import httpx

    from pipelines.server import EmbeddedServer

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    embedded = EmbeddedServer()
    embedded.start()
    try:
        url = embedded.wait_ready(timeout=300)
        assert httpx.get(f"{url}/health", timeout=30).json() is True
        assert (tmp_path / "prefect-home" / "prefect.db").is_file()
        process = embedded.process
    finally:
        embedded.stop()
    assert process is not None and process.poll() is not None and embedded.process is None
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/health", timeout=5)


def test_an_embedded_server_that_cannot_start_says_why_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn exits with status 3 on any failed start-up, not only a taken port: a PREFECT_HOME that
    cannot hold the server's database is reported with the server's own reason and the fix, exit 3,
    no traceback, instead of restarting the server until the start-up timeout."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    monkeypatch.setenv("PREFECT_HOME", str(blocker / "prefect-home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "600")
    done, _ = _cli("run", "--period", PERIOD, "--warehouse", str(tmp_path / "w.duckdb"), timeout=900)
    assert done.returncode == 3, done.stdout + done.stderr
    # Its exit is reported (not "did not answer within 600 s": no restarting until the timeout).
    assert "embedded server exited with status 3" in done.stderr and "did not answer" not in done.stderr
    assert "unable to open database file" in done.stderr and "PREFECT_HOME" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "w.duckdb").exists()  # nothing was run


def test_debug_shows_the_traceback() -> None:
    done, _ = _cli("run", "--period", PERIOD, "--hwb", "E99999999", "--debug")
    assert done.returncode == 2
    assert "Traceback" in done.stderr and "UnknownArea" in done.stderr


def test_a_file_that_is_not_a_warehouse_is_an_environment_problem(tmp_path: Path) -> None:
    junk = tmp_path / "warehouse.duckdb"
    junk.write_text("this is not a database, it is a spreadsheet someone renamed\n")
    done, _ = _cli("run", "--period", PERIOD, "--warehouse", str(junk))
    assert done.returncode == 3, done.stderr
    assert "is not a DuckDB database" in done.stderr and "Traceback" not in done.stderr


def test_default_period_is_the_latest_holding_the_scorecards_own_extract(tmp_path: Path) -> None:
    # BCF quarters run to 2025-26 Q2, safeguarding's to 2023-24 Q2 (as in the shipped demo).
    for period, name in (("2023-24-Q2", "population.csv"), ("2025-26-Q2", "population.csv")):
        (tmp_path / period).mkdir(exist_ok=True)
        (tmp_path / period / name).write_text("x\n")
    (tmp_path / "2023-24-Q2" / "child_population.csv").write_text("x\n")
    assert latest_period(tmp_path, "population.csv") == "2025-26-Q2"
    assert latest_period(tmp_path, "child_population.csv") == "2023-24-Q2"
    assert latest_period(tmp_path) == "2025-26-Q2"
    (tmp_path / "2026-27-Q1").mkdir()  # an empty later folder still counts: its run says what is missing
    assert latest_period(tmp_path, "child_population.csv") == "2026-27-Q1"


def test_error_types_carry_the_documented_codes() -> None:
    assert issubclass(ExtractsRejected, DataRejected) and ExtractsRejected.exit_code == 1
    assert issubclass(UnknownArea, UsageError) and issubclass(NoExtractsFolder, UsageError)
    assert UnknownArea.exit_code == NoExtractsFolder.exit_code == 2
    assert issubclass(RunInProgressError, EnvironmentProblem) and RunInProgressError.exit_code == 3


# --- scorecard validate ----------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("validate") / "raw"
    shutil.copytree(ROOT / "data" / "raw" / PERIOD, folder / PERIOD)
    return folder


def test_validate_passes_a_clean_demo_period_and_creates_no_warehouse(raw: Path, tmp_path: Path) -> None:
    wh = tmp_path / "never" / "warehouse.duckdb"
    before = {p: _digest(p) for p in raw.rglob("*.csv")}
    done, _ = _cli("validate", "--period", PERIOD, "--raw-dir", str(raw), "--warehouse", str(wh), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "apc_spells.csv" in done.stdout and "REJECTED" not in done.stdout
    assert (
        "BCF 2023-24-Q2: 5 of 5 delivered file(s) pass" in done.stdout
    )  # spells, reablement, care homes, population, plans
    assert not wh.exists() and not wh.parent.exists()
    assert {p: _digest(p) for p in raw.rglob("*.csv")} == before  # the delivery is only read
    assert not (ROOT / "data" / "processed" / "data_docs" / "validate").exists()


def test_validate_names_the_line_of_a_corrupted_copy_and_leaves_the_warehouse_alone(raw: Path, tmp_path: Path) -> None:
    bad = tmp_path / "raw"
    shutil.copytree(raw, bad)
    spells = bad / PERIOD / "apc_spells.csv"
    lines = spells.read_text().splitlines()
    fields, header = lines[5].split(","), lines[0].split(",")
    fields[header.index("age_at_admission")] = "171"  # on CSV line 6
    fields[header.index("primary_diagnosis")] = "<img src=x onerror=alert(1)>"  # same line: not ICD-10
    lines[5] = ",".join(fields)
    spells.write_text("\n".join(lines) + "\n")
    wh = tmp_path / "warehouse.duckdb"
    from metrics import warehouse

    warehouse.connect(wh).close()  # an existing (empty) warehouse: compared against, never written
    digest, mtime = _digest(wh), wh.stat().st_mtime_ns
    done, _ = _cli(
        "validate", "--period", PERIOD, "--raw-dir", str(bad), "--warehouse", str(wh), "--scorecard", "bcf", timeout=300
    )
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert f"REJECTED {spells}" in out
    assert "line 6, column age_at_admission, rule range: age_at_admission outside 0-120" in out
    assert "line 6, column primary_diagnosis, rule pattern" in out
    problems = [line for line in out.splitlines() if line.startswith("  ")]
    assert problems and not any("171" in p.replace(str(spells), "") or "onerror" in p for p in problems)
    assert "Traceback" not in done.stderr
    assert (_digest(wh), wh.stat().st_mtime_ns) == (digest, mtime)
    assert not Path(f"{wh}.lock").exists()


# --- the lock that waits ---------------------------------------------------------------------------


def test_lock_refuses_at_once_by_default_and_names_the_holder(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    with exclusive_run(wh, "the first run"):
        start = time.monotonic()
        with pytest.raises(RunInProgressError, match="the first run") as err, exclusive_run(wh, "second"):
            pass
        assert time.monotonic() - start < 1
    assert "--wait" in str(err.value)


def test_lock_waits_for_the_holder_and_says_so_once(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    said: list[str] = []
    released = threading.Event()

    def hold() -> None:
        with exclusive_run(wh, "the bcf run"):
            time.sleep(1.5)
        released.set()

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.3)
    with exclusive_run(wh, "the safeguarding run", wait=30, progress=said.append, poll=0.1):
        assert released.is_set()
    t.join()
    assert len(said) == 1 and said[0].startswith("waiting for the bcf run (pid ")


def test_lock_gives_up_after_the_wait(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    with exclusive_run(wh, "a long run"):
        start = time.monotonic()
        with (
            pytest.raises(RunInProgressError, match=r"after waiting 0\.5 s"),
            exclusive_run(wh, "x", wait=0.5, poll=0.1),
        ):
            pass
        assert 0.4 < time.monotonic() - start < 5


def test_lock_wait_comes_from_parameter_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCORECARD_LOCK_WAIT_SECONDS", raising=False)
    assert lock_wait_seconds() == 7200
    monkeypatch.setenv("SCORECARD_LOCK_WAIT_SECONDS", "60")
    assert lock_wait_seconds() == 60 and lock_wait_seconds(0) == 0
    monkeypatch.setenv("SCORECARD_LOCK_WAIT_SECONDS", "soon")
    with pytest.raises(EnvironmentProblem, match="SCORECARD_LOCK_WAIT_SECONDS"):
        lock_wait_seconds()


def test_a_reader_that_goes_away_is_not_a_traceback() -> None:
    # `scorecard metrics ... | head`: the pipe closes before the table is written.
    proc = subprocess.Popen(
        [str(SCORECARD), "metrics", "--year", "2023-24"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.parametrize(
    ("scorecard_toml", "words"),
    [
        ('id = "broken"\ntitle = [\n\nx = 1\n', ["scorecard.toml", "not valid TOML", "line"]),
        ('id = "broken"\ntitle = "Broken"\n', ["scorecard.toml", "missing required key"]),
    ],
)
def test_a_malformed_declaration_is_a_plain_error_naming_the_file(
    tmp_path: Path, scorecard_toml: str, words: list[str]
) -> None:
    """A scorecard folder added through SCORECARD_DEFINITIONS_PATH with a broken scorecard.toml: every
    command exits 2 naming the file and what is wrong in it, without a traceback (--debug shows it)."""
    folder = tmp_path / "defs" / "broken"
    folder.mkdir(parents=True)
    (folder / "scorecard.toml").write_text(scorecard_toml)
    env = {**os.environ, "SCORECARD_DEFINITIONS_PATH": str(tmp_path / "defs")}
    for args in (["metrics"], ["run", "--period", PERIOD]):
        done = subprocess.run([str(SCORECARD), *args], capture_output=True, text=True, env=env, check=False, cwd=ROOT)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        assert str(folder / "scorecard.toml") in done.stderr
        for w in words:
            assert w in done.stderr
    debug = subprocess.run(
        [str(SCORECARD), "metrics", "--debug"], capture_output=True, text=True, env=env, check=False, cwd=ROOT
    )
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_a_run_refused_inside_the_flow_exits_cleanly(tmp_path: Path) -> None:
    """A warehouse refused inside the Prefect flow (a table of ours with other columns): exit 3 with
    the plain message, and nothing after it - no traceback, and no 'nanobind: leaked' lines from a
    DuckDB connection kept alive by the failed state's traceback until the interpreter exits."""
    import duckdb

    bad = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(bad)) as con:
        con.execute("CREATE TABLE loads (id INTEGER, amount DOUBLE)")
    done, _ = _cli(
        "run", "--period", PERIOD, "--warehouse", str(bad), "--reports-dir", str(tmp_path / "reports"), timeout=300
    )
    assert done.returncode == 3, done.stderr
    assert "columns differ from the scorecard's" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "nanobind" not in done.stderr + done.stdout and "leaked" not in done.stderr
