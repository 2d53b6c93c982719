"""Load one delivered CSV into the warehouse, all or nothing.

Stages: file checks (present, non-empty, UTF-8, header exactly as the
contract) -> DuckDB parse with every column as text and ``store_rejects``
(structural errors with line and column) -> strict type casts in SQL ->
GX validation of the typed rows -> one transaction that replaces the
period's partition. Any problem rejects the whole file: the partition is
left exactly as it was and every problem is kept in ``rejects``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from metrics.contracts import Column, Extract
from metrics.periods import Period
from metrics.validation import Problem

Validate = Callable[[Extract, Period, pd.DataFrame], list[Problem]]

ACCEPTED, REJECTED, MISSING, UNCHANGED = "accepted", "rejected", "missing", "unchanged"

_CASTS = {
    "INTEGER": ("TRY_CAST({c} AS BIGINT)", "a whole number"),
    "DOUBLE": ("TRY_CAST({c} AS DOUBLE)", "a number"),
    "DATE": ("CAST(try_strptime({c}, '%Y-%m-%d') AS DATE)", "a date in YYYY-MM-DD form"),
}


@dataclass
class LoadOutcome:
    extract: str
    period: str
    file_path: str
    status: str
    sha256: str | None = None
    rows: int = 0
    rejected_rows: int = 0
    message: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.status in (ACCEPTED, UNCHANGED)

    def summary(self, limit: int = 10) -> str:
        """Human-readable; names file, line and column but never a value (values may identify people)."""
        if self.status != REJECTED:
            return f"{self.file_path}: {self.status} ({self.rows} rows)"
        head = [f"{self.file_path}: REJECTED - {self.message}"]
        for p in self.problems[:limit]:
            where = f"line {p.line}" if p.line is not None else "file"
            col = f", column {p.column}" if p.column else ""
            head.append(f"  {where}{col}: {p.reason} [{p.rule}]")
        if len(self.problems) > limit:
            head.append(f"  ... and {len(self.problems) - limit} more (see the rejects table)")
        return "\n".join(head)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_file(extract: Extract, path: Path) -> list[Problem]:
    """File-level problems that make parsing meaningless."""
    size = path.stat().st_size
    if size == 0:
        return [Problem(None, None, "empty_file", "the file is empty (no header, no rows)")]
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    text_head = head.removeprefix(b"\xef\xbb\xbf")
    try:
        text_head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(text_head) - 4:  # not just a multi-byte char cut by the 64 KiB read
            return [Problem(1 + text_head[: exc.start].count(b"\n"), None, "encoding",
                            f"not valid UTF-8 at byte {exc.start}; re-save the file as UTF-8")]
    first = text_head.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    header = next(csv.reader(io.StringIO(first)), [])
    expected = extract.column_names
    if header == expected:
        return []
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    parts = []
    if missing:
        parts.append("missing columns " + ", ".join(missing))
    if extra:
        parts.append("unexpected columns " + ", ".join(extra))
    if not parts:
        parts.append("columns are in the wrong order")
    if len(header) == 1 and any(d in first for d in ";\t|"):
        parts.append("the file does not look comma-delimited")
    return [Problem(1, None, "header", "; ".join(parts))]


def _parse(con: duckdb.DuckDBPyConnection, extract: Extract, path: Path, tag: str) -> list[Problem]:
    """Read every column as text into TEMP ``raw_<tag>`` with its CSV line number."""
    columns = {c.name: "VARCHAR" for c in extract.columns}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE raw_{tag} AS "
        "SELECT row_number() OVER () + 1 AS _line, * FROM read_csv(?, header = true, auto_detect = false, "
        "delim = ',', quote = '\"', escape = '\"', columns = ?, strict_mode = true, "
        f"store_rejects = true, rejects_table = 'rej_err_{tag}', rejects_scan = 'rej_scan_{tag}', "
        "rejects_limit = 0, parallel = false)",
        [str(path), columns],
    )
    rows = con.execute(
        f"SELECT line, column_name, error_type, error_message FROM rej_err_{tag} ORDER BY line"
    ).fetchall()
    con.execute(f"DROP TABLE IF EXISTS rej_err_{tag}")
    con.execute(f"DROP TABLE IF EXISTS rej_scan_{tag}")
    out = []
    for line, column, etype, msg in rows:
        reason = _structural_reason(str(etype), str(msg))
        out.append(Problem(int(line) if line is not None else None, column, f"csv_{str(etype).lower()}", reason))
    return out


def _structural_reason(etype: str, msg: str) -> str:
    e = etype.upper()
    if "MISSING" in e:
        return "too few fields on the line"
    if "TOO MANY" in e:
        return "too many fields on the line (stray delimiter or unquoted comma?)"
    if "QUOTE" in e:
        return "unbalanced or unescaped quote"
    if "LINE SIZE" in e:
        return "line too long"
    if "UNICODE" in e:
        return "invalid UTF-8 byte sequence"
    return msg.split("\n")[0][:200]


def _typed_select(extract: Extract, source: str) -> str:
    parts = ["_line"]
    for c in extract.columns:
        q = f'"{c.name}"'
        if c.dtype == "VARCHAR":
            parts.append(f"NULLIF(trim({q}), '') AS {q}")
        else:
            expr = _CASTS[c.dtype][0].format(c=f"NULLIF(trim({q}), '')")
            parts.append(f"{expr}::{c.dtype} AS {q}")
    return f"SELECT {', '.join(parts)} FROM {source}"


def _cast_problems(con: duckdb.DuckDBPyConnection, extract: Extract, tag: str) -> list[Problem]:
    out: list[Problem] = []
    typed: list[Column] = [c for c in extract.columns if c.dtype != "VARCHAR"]
    for c in typed:
        q = f'"{c.name}"'
        expr, what = _CASTS[c.dtype]
        bad = con.execute(
            f"SELECT _line FROM raw_{tag} WHERE NULLIF(trim({q}), '') IS NOT NULL "
            f"AND {expr.format(c=f'trim({q})')} IS NULL ORDER BY _line"
        ).fetchall()
        out.extend(Problem(int(r[0]), c.name, "type", f"{c.name} is not {what}") for r in bad)
    return out


def load_extract(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    path: Path,
    period: Period,
    run_id: str,
    validate: Validate,
    force: bool = False,
) -> LoadOutcome:
    """Load ``path`` as ``extract`` for ``period``; never leaves a partial partition."""
    shown = str(path)
    if not path.exists():
        return LoadOutcome(extract.name, period.label, shown, MISSING, message="file not delivered")
    digest = sha256_of(path)
    if not force:
        prior = con.execute(
            "SELECT rows FROM loads WHERE period = ? AND extract = ? AND sha256 = ? AND status = ? "
            "AND load_id = (SELECT max_by(load_id, loaded_at) FROM loads WHERE period = ? AND extract = ? "
            "AND status = ?)",
            [period.label, extract.name, digest, ACCEPTED, period.label, extract.name, ACCEPTED],
        ).fetchall()
        if prior:
            return LoadOutcome(extract.name, period.label, shown, UNCHANGED, digest, int(prior[0][0]),
                               message="same SHA-256 as the accepted load; skipped")
    load_id = uuid.uuid4().hex
    tag = load_id[:12]
    problems = check_file(extract, path)
    rows = 0
    try:
        if not problems:
            problems = _parse(con, extract, path, tag)
        if not problems:
            rows = int(con.execute(f"SELECT count(*) FROM raw_{tag}").fetchall()[0][0])
            if rows == 0:
                problems = [Problem(None, None, "no_rows", "the file has a header but no data rows")]
        if not problems:
            cast = _cast_problems(con, extract, tag)
            con.execute(f"CREATE OR REPLACE TEMP TABLE typed_{tag} AS {_typed_select(extract, f'raw_{tag}')}")
            frame = con.execute(f"SELECT * FROM typed_{tag} ORDER BY _line").df().set_index("_line")
            seen = {(p.line, p.column) for p in cast}
            gx_problems = [p for p in validate(extract, period, frame) if (p.line, p.column) not in seen]
            problems = sorted(cast + gx_problems, key=lambda p: (p.line or 0, p.column or ""))
        if problems:
            return _reject(con, extract, path, period, run_id, load_id, digest, rows, problems, tag)
        _commit(con, extract, period, run_id, load_id, shown, digest, rows, tag)
        return LoadOutcome(extract.name, period.label, shown, ACCEPTED, digest, rows)
    finally:
        con.execute(f"DROP TABLE IF EXISTS raw_{tag}")
        con.execute(f"DROP TABLE IF EXISTS typed_{tag}")


def _commit(con: duckdb.DuckDBPyConnection, extract: Extract, period: Period, run_id: str,
            load_id: str, path: str, digest: str, rows: int, tag: str) -> None:
    cols = ", ".join(f'"{c}"' for c in extract.column_names)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f'DELETE FROM "{extract.name}" WHERE _period = ?', [period.label])
        con.execute(
            f'INSERT INTO "{extract.name}" (_period, _line, _load_id, {cols}) '
            f"SELECT ?, _line, ?, {cols} FROM typed_{tag}",
            [period.label, load_id],
        )
        con.execute(
            "INSERT INTO loads (load_id, run_id, period, extract, file_path, sha256, rows, rejected_rows, "
            "status, message) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '')",
            [load_id, run_id, period.label, extract.name, path, digest, rows, ACCEPTED],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _reject(con: duckdb.DuckDBPyConnection, extract: Extract, path: Path, period: Period, run_id: str,
            load_id: str, digest: str, rows: int, problems: list[Problem], tag: str) -> LoadOutcome:
    lines = {p.line for p in problems if p.line is not None}
    records = _records(con, tag, lines)
    frame = pd.DataFrame(
        {
            "load_id": load_id, "run_id": run_id, "period": period.label, "extract": extract.name,
            "file_path": str(path),
            "line": pd.array([p.line for p in problems], dtype="Int64"),
            "column_name": [p.column for p in problems],
            "rule": [p.rule for p in problems],
            "reason": [p.reason for p in problems],
            "record": [records.get(p.line) if p.line is not None else None for p in problems],
        }
    )
    message = f"{len(problems)} problem(s) on {len(lines)} line(s); nothing loaded"
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("reject_frame", frame)
        con.execute("INSERT INTO rejects SELECT load_id, run_id, period, extract, file_path, line, column_name, "
                    "rule, reason, record FROM reject_frame")
        con.unregister("reject_frame")
        con.execute(
            "INSERT INTO loads (load_id, run_id, period, extract, file_path, sha256, rows, rejected_rows, "
            "status, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, run_id, period.label, extract.name, str(path), digest, rows, len(lines), REJECTED, message],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return LoadOutcome(extract.name, period.label, str(path), REJECTED, digest, rows, len(lines), message,
                       problems)


def _records(con: duckdb.DuckDBPyConnection, tag: str, lines: set[int]) -> dict[int, str]:
    """The rejected lines as parsed text (JSON), kept in the warehouse for correction."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [f"raw_{tag}"]
    ).fetchall()[0][0]
    if not exists or not lines:
        return {}
    got = con.execute(
        f"SELECT _line, to_json(r)::VARCHAR FROM raw_{tag} AS r WHERE _line IN (SELECT unnest(?))",
        [sorted(lines)],
    ).fetchall()
    return {int(k): json.dumps(json.loads(v)) for k, v in got}
