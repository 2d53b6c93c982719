"""Deployments against a real Prefect server on loopback, run through a real process worker.

Starts ``prefect server``, creates a process work pool, registers the repo's deployments with
``scorecard deploy``, starts ``prefect worker``, then runs ``prefect deployment run ... --watch``
exactly as docs/guide/scheduling.md tells analysts to, and checks outputs, artifacts, failure exit codes and the
quarterly schedule. Everything is stopped at the end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from pipelines.deployments import QUARTERLY_CRON, TIMEZONE
from pipelines.flows import resolve_period
from tests.prefect_server import BIN, PrefectServer, running_server

ROOT = Path(__file__).resolve().parents[1]
POOL = "scorecard-test"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    base = tmp_path_factory.mktemp("prefect")
    with running_server(base / "home", base) as srv:
        created = srv.cli("work-pool", "create", POOL, "--type", "process")
        assert created.returncode == 0, created.stdout + created.stderr
        deployed = subprocess.run(
            [str(BIN / "scorecard"), "deploy", "--pool", POOL],
            env=srv.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        # Two at once, so that runs of different deployments can collide on a warehouse (and queue).
        srv.start_process("worker", "worker", "start", "--pool", POOL, "--limit", "2")
        yield srv


def _run(
    server: PrefectServer, tmp: Path, raw: Path, *extra: str, deployment: str = "bcf-quarterly/on-demand"
) -> subprocess.CompletedProcess[str]:
    return server.cli(
        "deployment",
        "run",
        deployment,
        "--param",
        "period=2023-24-Q2",
        "--param",
        f"raw_dir={raw}",
        "--param",
        f"warehouse={tmp / 'warehouse.duckdb'}",
        "--param",
        f"reports_dir={tmp / 'reports'}",
        *extra,
        "--watch",
        "--watch-timeout",
        "400",
        timeout=480,
    )


def test_deployment_run_produces_outputs_and_artifacts(server: PrefectServer, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw", raw)
    done = _run(server, tmp_path, raw, "--param", 'hwb=["E06000061"]')
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Completed" in done.stdout

    reports = tmp_path / "reports" / "2023-24-Q2"
    manifest = json.loads((reports / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["hwbs"] == ["E06000061"]
    assert {r["metric_id"] for r in manifest["results"]} >= {"avoidable_admissions", "reablement_91_days"}
    wb = openpyxl.load_workbook(reports / "bcf_return_E06000061_2023-24-Q2.xlsx")
    assert len(wb.sheetnames) >= 2
    assert (reports / "charts" / "E06000061_falls_65_plus.png").stat().st_size > 1000

    arts = server.post(
        "/artifacts/filter",
        {
            "artifacts": {
                "key": {
                    "any_": [
                        "bcf-scorecard-e06000061-2023-24-q2",
                        "bcf-rejects-e06000061-2023-24-q2",
                        "bcf-outputs-e06000061-2023-24-q2",
                    ]
                }
            }
        },
    )
    by_key = {a["key"]: a for a in arts}
    assert set(by_key) == {
        "bcf-scorecard-e06000061-2023-24-q2",
        "bcf-rejects-e06000061-2023-24-q2",
        "bcf-outputs-e06000061-2023-24-q2",
    }
    assert "Avoidable admissions" in by_key["bcf-scorecard-e06000061-2023-24-q2"]["data"]
    assert "On track to meet target" in by_key["bcf-scorecard-e06000061-2023-24-q2"]["data"]
    assert "bcf_return_E06000061_2023-24-Q2.xlsx" in by_key["bcf-outputs-e06000061-2023-24-q2"]["data"]
    assert "data_docs/2023-24-Q2/index.html" in by_key["bcf-outputs-e06000061-2023-24-q2"]["data"]


def test_failed_validation_fails_the_run_with_the_reason_in_its_logs(server: PrefectServer, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw", raw)
    spells = raw / "2023-24-Q2" / "apc_spells.csv"
    lines = spells.read_text().splitlines()
    fields = lines[5].split(",")
    fields[lines[0].split(",").index("age_at_admission")] = "171"  # on CSV line 6
    lines[5] = ",".join(fields)
    spells.write_text("\n".join(lines) + "\n")

    done = _run(server, tmp_path, raw)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Failed" in done.stdout
    runs = server.post(
        "/flow_runs/filter",
        {"flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 1},
    )
    logs = server.post("/logs/filter", {"logs": {"flow_run_id": {"any_": [runs[0]["id"]]}}, "limit": 200})
    text = "\n".join(entry["message"] for entry in logs)
    assert "apc_spells.csv: REJECTED" in text
    assert "line 6, column age_at_admission: age_at_admission outside 0-120" in text
    # The rejects table artifact names the line and column, never the value.
    arts = server.post(
        "/artifacts/filter",
        {"artifacts": {"key": {"any_": ["bcf-rejects-all-2023-24-q2"]}}, "sort": "CREATED_DESC", "limit": 1},
    )
    assert "age_at_admission" in json.dumps(arts[0]["data"]) and "171" not in json.dumps(arts[0]["data"])


def test_safeguarding_deployment_runs_through_the_worker(server: PrefectServer, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw", raw)
    done = _run(server, tmp_path, raw, deployment="safeguarding-quarterly/on-demand")
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((tmp_path / "reports" / "2023-24-Q2" / "safeguarding" / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["hwbs"] == ["E06000061", "E06000062"]
    assert {r["metric_id"] for r in manifest["results"]} >= {"contacts", "re_referrals", "rhi_72h"}
    arts = server.post(
        "/artifacts/filter",
        {"artifacts": {"key": {"any_": ["safeguarding-scorecard-all-2023-24-q2"]}}, "sort": "CREATED_DESC", "limit": 1},
    )
    assert arts and "Re-referrals within 12 months" in json.dumps(arts[0]["data"])
    # The quarterly twin is scheduled like the BCF one.
    dep = server.get("/deployments/name/safeguarding-quarterly/quarterly")
    sched = dep["schedules"][0]["schedule"]
    assert sched["cron"] == QUARTERLY_CRON and sched["timezone"] == TIMEZONE


def test_both_quarterly_deployments_on_one_warehouse_queue_and_both_complete(
    server: PrefectServer, tmp_path: Path
) -> None:
    """Both scorecards' quarterly deployments fire at the same minute on the same warehouse: started
    together through the worker, the second waits for the warehouse lock (saying so once in its log)
    instead of failing, and both complete."""
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw", raw)
    results: dict[str, subprocess.CompletedProcess[str]] = {}

    def start(deployment: str) -> None:
        results[deployment] = _run(server, tmp_path, raw, deployment=deployment)

    names = ("bcf-quarterly/quarterly", "safeguarding-quarterly/quarterly")
    threads = [threading.Thread(target=start, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in names:
        assert results[name].returncode == 0, name + "\n" + results[name].stdout + results[name].stderr
        assert "Completed" in results[name].stdout, name
    bcf = json.loads((tmp_path / "reports" / "2023-24-Q2" / "manifest.json").read_text())
    sg = json.loads((tmp_path / "reports" / "2023-24-Q2" / "safeguarding" / "manifest.json").read_text())
    assert bcf["status"] == sg["status"] == "completed"

    ids = [server.get(f"/deployments/name/{n}")["id"] for n in names]
    runs = server.post(
        "/flow_runs/filter",
        {
            "deployments": {"id": {"any_": ids}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            "sort": "EXPECTED_START_TIME_DESC",
            "limit": 2,
        },
    )
    assert len(runs) == 2
    waits = []
    for run in runs:
        logs = server.post("/logs/filter", {"logs": {"flow_run_id": {"any_": [run["id"]]}}, "limit": 200})
        waits.append([e["message"] for e in logs if e["message"].startswith("waiting for")])
    # Exactly one run found the warehouse taken, and said so once, naming the other run.
    assert sorted(len(w) for w in waits) == [0, 1], waits
    said = next(w[0] for w in waits if w)
    assert re.search(r"waiting for the 2023-24-Q2 (bcf|safeguarding) run [0-9a-f-]{36} \(pid \d+", said), said


def test_bad_parameters_are_refused_with_a_clear_message(server: PrefectServer, tmp_path: Path) -> None:
    done = server.cli("deployment", "run", "bcf-quarterly/on-demand", "--param", "period=2023Q2", timeout=120)
    assert done.returncode != 0
    assert "period" in (done.stdout + done.stderr)


def test_quarterly_deployment_is_scheduled_for_the_next_quarter_start(server: PrefectServer) -> None:
    dep = server.get("/deployments/name/bcf-quarterly/quarterly")
    sched = dep["schedules"][0]["schedule"]
    assert sched["cron"] == QUARTERLY_CRON and sched["timezone"] == TIMEZONE
    expected = _next_quarter_start(dt.datetime.now(LONDON))
    runs: list[dict[str, object]] = []
    for _ in range(60):
        runs = server.post(
            "/flow_runs/filter",
            {
                "deployments": {"id": {"any_": [dep["id"]]}},
                "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                "sort": "EXPECTED_START_TIME_ASC",
            },
        )
        if runs:
            break
        asyncio.run(asyncio.sleep(1))
    assert runs, "the scheduler created no run for the quarterly deployment"
    first = dt.datetime.fromisoformat(str(runs[0]["expected_start_time"]))
    assert first == expected
    assert runs[0]["parameters"].get("period") is None  # resolves to the quarter just closed


def _next_quarter_start(now: dt.datetime) -> dt.datetime:
    """06:00 UK time on the next 1 Jan/Apr/Jul/Oct, worked out without cron."""
    for year in (now.year, now.year + 1):
        for month in (1, 4, 7, 10):
            t = dt.datetime(year, month, 1, 6, 0, tzinfo=LONDON)
            if t > now:
                return t
    raise AssertionError("unreachable")


def test_schedule_dates_follow_uk_clock_changes() -> None:
    """Pure check of the cron in Europe/London: 06:00 local is 06:00 UTC in winter, 05:00 UTC in summer."""
    from prefect.server.schemas.schedules import CronSchedule

    sched = CronSchedule(cron=QUARTERLY_CRON, timezone=TIMEZONE)
    start = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    dates = asyncio.run(sched.get_dates(n=4, start=start))
    utc = [d.astimezone(dt.UTC) for d in dates]
    assert utc == [
        dt.datetime(2027, 1, 1, 6, tzinfo=dt.UTC),
        dt.datetime(2027, 4, 1, 5, tzinfo=dt.UTC),
        dt.datetime(2027, 7, 1, 5, tzinfo=dt.UTC),
        dt.datetime(2027, 10, 1, 5, tzinfo=dt.UTC),
    ]
    # Each run reports the quarter that has just closed.
    assert [resolve_period(None, d.astimezone(LONDON).date()).label for d in dates] == [
        "2026-27-Q3",
        "2026-27-Q4",
        "2027-28-Q1",
        "2027-28-Q2",
    ]
