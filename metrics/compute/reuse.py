"""Reusing a quarter's stored results when nothing they were computed from has changed.

A run computes every quarter of its history (three years, for SPC), yet a history quarter's
results change only when something they depend on does. Each stored set of results
(``result_sets`` in the warehouse) carries an *input key*: the SHA-256 of everything that can
change them, as canonical JSON. A later run whose key for the quarter is the same reads the stored
results back instead of computing them again; they are the same rows, field for field.

What the key covers, and why each part:

- the accepted load (load id and file SHA-256) of each of the scorecard's record extracts for every
  quarter up to this one: the views metric SQL reads keep each record's latest delivery up to the
  quarter (``metrics.warehouse.prepare_views``), so a re-delivery of any earlier quarter can change
  a year-to-date, rolling-year or even in-quarter figure (a spell re-delivered, now finished);
- the accepted load of each undated extract (population, plans or targets) of this quarter only,
  the only delivery its SQL reads (``WHERE _period = $period``);
- what this run's loads say of those quarters (usable, rejected, missing): a rejected or missing
  window quarter makes a metric *Data not available* (``metrics.compute.readiness``);
- the code and definitions: every file of the ``metrics`` package (the metric TOML and SQL, the
  shipped reference CSVs, the statistics) and of any extra definitions folder, so an edited
  definition, method or shipped reference file recomputes everything;
- the reference files as used (a replacement named by ``$SCORECARD_REFERENCE_OVERRIDES`` included);
- the versions of this package and of the libraries that compute figures (DuckDB, NumPy, SciPy,
  pandas, holidays);
- the run settings that change results: the scorecard, the areas, the suppression threshold, the
  comparison level, the comparator values and the peer groups (with the names outputs show).

The key is deliberately conservative: anything it does not know to be irrelevant is in it, so a
reused result can only ever be one a fresh computation would give.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import duckdb

import metrics
from metrics.compute.comparisons import Settings
from metrics.contracts import EXTRACTS
from metrics.core.periods import Period
from metrics.core.provenance import sha256_of
from metrics.core.reference import declarations
from metrics.core.registry import Scorecard, definition_roots
from metrics.core.results import MISSING, REJECTED, LoadOutcome, MetricResult

# Libraries whose behaviour can change a figure (SQL semantics, statistics, the bank-holiday calendar).
_LIBRARIES = ("hwb-scorecard", "duckdb", "numpy", "scipy", "pandas", "holidays")
_RESULT_FIELDS = tuple(f.name for f in fields(MetricResult))


@dataclass(frozen=True)
class PeriodResults:
    """One quarter's results, its input key, and the run whose stored results were reused (None when
    computed by this run). ``computed_by`` is the run that actually computed them."""

    period: str
    results: list[MetricResult]
    input_key: str
    reused_from: str | None = None
    computed_by: str | None = None

    def record(self) -> dict[str, Any]:
        """The manifest's entry for the quarter (``quarters``)."""
        return {
            "period": self.period,
            "input_key": self.input_key,
            "results": len(self.results),
            "reused_from": self.reused_from,
            "computed_by": self.computed_by,
        }


@functools.cache
def code_digest() -> str:
    """SHA-256 of every file of the ``metrics`` package and of the definitions folders (path and bytes),
    computed once per process: a code or definition edit changes every key."""
    h = hashlib.sha256()
    roots = [Path(metrics.__file__).parent, *definition_roots()]
    for root in dict.fromkeys(r.resolve() for r in roots):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            h.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
            h.update(bytes.fromhex(sha256_of(path)))
    return h.hexdigest()


@functools.cache
def _versions() -> dict[str, str]:
    """Asked once per process: the installed libraries do not change under a running process, and
    each ``importlib.metadata`` look-up scans the environment (about 20 ms a quarter otherwise)."""
    out = {}
    for name in _LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _settings(comparing: Settings) -> dict[str, Any]:
    peers, peer_label = comparing.peer_groups()
    return {
        "level": comparing.level,
        "file_label": comparing.file_label,
        "values": repr(sorted(comparing.file_values().items())),
        "peer_label": peer_label,
        "peers": sorted((k, sorted(v)) for k, v in peers.items()),
    }


def _reads(period: Period, extract: str, other: str) -> bool:
    """Whether computing ``period`` reads the ``other`` quarter's delivery of ``extract``."""
    return other <= period.label if EXTRACTS[extract].dated else other == period.label


def _stored_loads(con: duckdb.DuckDBPyConnection, card: Scorecard, period: Period) -> list[list[str]]:
    """The accepted load behind each (extract, quarter) the period's SQL reads: what its tables hold."""
    rows = con.execute(
        "SELECT extract, period, max_by(load_id, (loaded_at, load_id)), max_by(sha256, (loaded_at, load_id)) "
        "FROM loads WHERE status = 'accepted' AND list_contains($extracts, extract) AND period <= $period "
        "GROUP BY ALL ORDER BY 1, 2",
        {"extracts": list(card.extracts), "period": period.label},
    ).fetchall()
    return [[str(v) for v in r] for r in rows if _reads(period, r[0], r[1])]


def _run_loads(card: Scorecard, period: Period, loads: Sequence[LoadOutcome]) -> list[list[str]]:
    """What this run's loads say of the quarters read: accepted and unchanged are the same data."""
    state = {REJECTED: "rejected", MISSING: "missing"}
    return sorted(
        [o.extract, o.period, state.get(o.status, "usable"), o.sha256 or ""]
        for o in loads
        if o.extract in card.extracts and _reads(period, o.extract, o.period)
    )


def input_key(
    con: duckdb.DuckDBPyConnection,
    card: Scorecard,
    period: Period,
    hwbs: Sequence[str],
    loads: Sequence[LoadOutcome],
    threshold: int,
    comparing: Settings,
) -> str:
    """The SHA-256 of everything the period's results depend on (see the module docstring)."""
    parts = {
        "scorecard": card.id,
        "period": period.label,
        "hwbs": sorted(set(hwbs)),
        "suppression_threshold": threshold,
        "comparing": _settings(comparing),
        "stored_loads": _stored_loads(con, card, period),
        "run_loads": _run_loads(card, period, loads),
        "code": code_digest(),
        "reference": sorted((name, ref.sha256()) for name, ref in declarations().items()),
        "versions": dict(_versions()),
    }
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def find_stored(con: duckdb.DuckDBPyConnection, card: Scorecard, period: Period, key: str) -> tuple[str, str] | None:
    """(run id, computing run id) of the latest complete stored set of results with this key, or None.
    Complete: written in one transaction with its results, and every one of them still there."""
    row = con.execute(
        "SELECT s.run_id, s.computed_by FROM result_sets AS s WHERE s.scorecard = ? AND s.period = ? "
        "AND s.input_key = ? AND s.results = (SELECT count(*) FROM metric_results AS r "
        "WHERE r.run_id = s.run_id AND r.period = s.period) ORDER BY s.stored_at DESC LIMIT 1",
        [card.id, period.label, key],
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def read_stored(con: duckdb.DuckDBPyConnection, run_id: str, period: Period) -> list[MetricResult]:
    """A stored set of results, in the order they were computed."""
    rel = con.execute(
        f"SELECT {', '.join(_RESULT_FIELDS)} FROM metric_results WHERE run_id = ? AND period = ? ORDER BY seq",
        [run_id, period.label],
    )
    return [MetricResult(*row) for row in rel.fetchall()]


def copy_stored(
    con: duckdb.DuckDBPyConnection,
    card: Scorecard,
    source: str,
    computed_by: str,
    run_id: str,
    period: Period,
    key: str,
) -> None:
    """Store a reused set of results under this run too (so the run's results are all in the warehouse,
    and the next run can reuse them), recording the run that computed them."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM metric_results WHERE run_id = ? AND period = ?", [run_id, period.label])
        con.execute("DELETE FROM result_sets WHERE run_id = ? AND period = ?", [run_id, period.label])
        con.execute(
            "INSERT INTO metric_results SELECT * REPLACE (CAST(? AS VARCHAR) AS run_id) FROM metric_results "
            "WHERE run_id = ? AND period = ?",
            [run_id, source, period.label],
        )
        record_set(con, card, run_id, period, key, computed_by)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def record_set(
    con: duckdb.DuckDBPyConnection, card: Scorecard, run_id: str, period: Period, key: str, computed_by: str
) -> None:
    """The ``result_sets`` row of a stored set (call inside the transaction that stores its results)."""
    con.execute(
        "INSERT INTO result_sets (run_id, scorecard, period, input_key, computed_by, results, stored_at) "
        "SELECT ?, ?, ?, ?, ?, count(*), ? FROM metric_results WHERE run_id = ? AND period = ?",
        [run_id, card.id, period.label, key, computed_by, dt.datetime.now(dt.UTC).replace(tzinfo=None), run_id,
         period.label],
    )  # fmt: skip
