"""Load one delivered CSV into the warehouse, all or nothing.

Stages: file checks (present, non-empty, UTF-8, header exactly as the
contract) -> DuckDB parse with every column as text and ``store_rejects``
(structural errors with line and column) -> each typed cell checked against its type's one text
form, then cast, in SQL (``metrics.validate.values``) ->
the contract's row rules (SQL) and GX validation of the typed rows, and plans or targets against
their metric's range (``metrics.validate.plans``) -> one transaction that replaces the
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
from pathlib import Path

import duckdb
import pandas as pd

from metrics.contracts import Extract
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, MISSING, REJECTED, UNCHANGED, LoadOutcome, Problem
from metrics.validate import plans as plan_rules
from metrics.validate import sql as row_rules
from metrics.validate import values
from metrics.validate.gx import gx_max_rows

Validate = Callable[[Extract, Period, pd.DataFrame], list[Problem]]


# Fault-injection point for tests: called with the step name inside the commit transaction,
# so a test can make a load fail part-way and check the warehouse is exactly as before.
fault_injection: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if fault_injection is not None:
        fault_injection(name)


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
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return [Problem(1, None, "encoding", "the file is UTF-16 (Excel 'Unicode text'); re-save it as CSV UTF-8")]
    text_head = head.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark is harmless
    try:
        text_head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(text_head) - 4:  # not just a multi-byte char cut by the 64 KiB read
            line = 1 + text_head[: exc.start].count(b"\n")
            try:
                text_head.decode("cp1252")
                guess = "it looks like Windows-1252 (cp1252, Excel's plain 'CSV' export)"
            except UnicodeDecodeError:
                guess = "the encoding is not recognised"
            return [
                Problem(
                    line,
                    None,
                    "encoding",
                    f"not valid UTF-8 at byte {exc.start} (line {line}); {guess}: re-save it as CSV UTF-8",
                )
            ]
    first = text_head.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    try:
        header = next(csv.reader(io.StringIO(first)), [])
    except csv.Error as exc:
        return [Problem(1, None, "header", f"the header line cannot be read as CSV ({exc})")]
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
    if len(missing) == 1 and len(extra) == 1:
        parts.append(f"was {missing[0]} renamed to {extra[0]}?")
    folded = {c.strip().lower(): c for c in header}
    if missing and all(m in folded for m in missing):
        parts.append("names differ only in case or spaces: use the exact contract names")
    if not parts:
        parts.append("columns are in the wrong order")
    if len(header) == 1 and any(d in first for d in ";\t|"):
        parts.append("the file does not look comma-delimited")
    return [Problem(1, None, "header", "; ".join(parts))]


def _parse(con: duckdb.DuckDBPyConnection, extract: Extract, path: Path, tag: str) -> list[Problem]:
    """Read every column as text into TEMP ``raw_<tag>`` with its CSV line number."""
    columns = {c.name: "VARCHAR" for c in extract.columns}
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE raw_{tag} AS "
            "SELECT row_number() OVER () + 1 AS _line, * FROM read_csv(?, header = true, auto_detect = false, "
            "delim = ',', quote = '\"', escape = '\"', columns = ?, strict_mode = true, "
            f"store_rejects = true, rejects_table = 'rej_err_{tag}', rejects_scan = 'rej_scan_{tag}', "
            "rejects_limit = 0, parallel = false)",
            [str(path), columns],
        )
    except duckdb.Error as exc:  # e.g. "CSV Parser state machine reached an invalid state" on stray bytes
        con.execute(f"DROP TABLE IF EXISTS rej_err_{tag}")
        con.execute(f"DROP TABLE IF EXISTS rej_scan_{tag}")
        first = str(exc).split("\n")[0][:200]
        return [Problem(None, None, "csv_unreadable", f"the file cannot be parsed as CSV: {first}")]
    rows = con.execute(
        f"SELECT line, column_name, error_type, error_message FROM rej_err_{tag} ORDER BY line"
    ).fetchall()
    con.execute(f"DROP TABLE IF EXISTS rej_err_{tag}")
    con.execute(f"DROP TABLE IF EXISTS rej_scan_{tag}")
    out = []
    for line, column, etype, msg in rows:
        reason = _structural_reason(str(etype), str(msg))
        out.append(Problem(int(line) if line is not None else None, column, f"csv_{str(etype).lower()}", reason))
    return out or _unparsed_lines(con, path, tag)


def _unparsed_lines(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> list[Problem]:
    """Lines the CSV reader dropped without a reject record.

    DuckDB 2.0 silently ends the file at an unterminated quote. No contract field may contain a
    line break, so every non-blank physical line after the header must be one parsed row.
    """
    lines = (
        "SELECT row_number() OVER () AS n, l FROM read_csv(?, header = false, auto_detect = false, "
        "delim = chr(31), quote = '', escape = '', columns = {'l': 'VARCHAR'}, strict_mode = false, "
        "parallel = false)"
    )
    physical, odd = con.execute(
        f"SELECT count(*) FILTER (n > 1 AND NOT regexp_full_match(l, '\\s*')), "
        f"min(n) FILTER (n > 1 AND (length(l) - length(replace(l, '\"', ''))) % 2 = 1) FROM ({lines})",
        [str(path)],
    ).fetchall()[0]
    parsed = int(con.execute(f"SELECT count(*) FROM raw_{tag}").fetchall()[0][0])
    if parsed == int(physical):
        return []
    where = f"an unbalanced quote on line {odd}" if odd else "a quoted line break or unreadable lines"
    return [
        Problem(
            odd,
            None,
            "csv_unparsed_lines",
            f"{physical - parsed} of {physical} data lines could not be read as rows, from {where}",
        )
    ]


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
            return LoadOutcome(
                extract.name,
                period.label,
                shown,
                UNCHANGED,
                digest,
                int(prior[0][0]),
                message="same SHA-256 as the accepted load; skipped",
            )
    load_id = uuid.uuid4().hex
    tag = load_id[:12]
    problems = check_file(extract, path) or _delivered_for_another_period(con, extract, period, digest)
    rows = 0
    try:
        if not problems:
            problems = _parse(con, extract, path, tag)
        if not problems:
            rows = int(con.execute(f"SELECT count(*) FROM raw_{tag}").fetchall()[0][0])
            if rows == 0:
                problems = [Problem(None, None, "no_rows", "the file has a header but no data rows")]
        if not problems:
            cast = values.value_problems(con, extract, f"raw_{tag}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE typed_{tag} AS {values.typed_select(extract, f'raw_{tag}')}")
            seen = {(p.line, p.column) for p in cast}  # an uncastable value is reported once, as such
            found = row_rules.problems(con, extract, period, f"typed_{tag}")
            frame = _gx_frame(con, f"typed_{tag}", rows, found)
            # Both checks run the same rules; their union is kept, so a disagreement can only reject more.
            union = list(dict.fromkeys(found + validate(extract, period, frame)))
            # A plan or target outside its metric's range is reported once, by the rule naming the metric.
            ranged = [
                p for p in plan_rules.target_problems(con, extract, f"typed_{tag}") if (p.line, p.column) not in seen
            ]
            specific = {(p.line, p.column) for p in ranged}
            union = [p for p in union if not (p.rule == "range" and (p.line, p.column) in specific)] + ranged
            problems = sorted(
                cast + [p for p in union if (p.line, p.column) not in seen], key=lambda p: (p.line or 0, p.column or "")
            )
            problems = row_rules.wrong_quarter(con, extract, period, f"typed_{tag}", problems) + problems
        if problems:
            return _reject(con, extract, path, period, run_id, load_id, digest, rows, problems, tag)
        _commit(con, extract, period, run_id, load_id, shown, digest, rows, tag)
        return LoadOutcome(extract.name, period.label, shown, ACCEPTED, digest, rows)
    finally:
        con.execute(f"DROP TABLE IF EXISTS raw_{tag}")
        con.execute(f"DROP TABLE IF EXISTS typed_{tag}")


def _delivered_for_another_period(
    con: duckdb.DuckDBPyConnection, extract: Extract, period: Period, digest: str
) -> list[Problem]:
    """The same bytes accepted for another quarter: a file copied into the wrong folder.

    Only for extracts dated inside their quarter; population and plans files legitimately repeat.
    """
    if not extract.dated:
        return []
    other = con.execute(
        "SELECT min(period) FROM loads WHERE extract = ? AND sha256 = ? AND status = ? AND period <> ?",
        [extract.name, digest, ACCEPTED, period.label],
    ).fetchall()[0][0]
    if other is None:
        return []
    return [
        Problem(
            None,
            None,
            "duplicate_delivery",
            f"identical (same SHA-256) to the {extract.filename} accepted for {other}; "
            f"was it copied into the {period.label} folder by mistake?",
        )
    ]


def _gx_frame(con: duckdb.DuckDBPyConnection, table: str, rows: int, found: list[Problem]) -> pd.DataFrame:
    """The rows GX validates (index = CSV line): the whole file up to ``gx_max_rows()`` rows; beyond
    that, the lines the SQL rules flagged (up to as many again) and a systematic sample of the rest,
    which keeps a national quarter out of pandas while GX still sees every kind of failure."""
    limit = gx_max_rows()
    if rows <= limit:
        return con.execute(f"SELECT * FROM {table} ORDER BY _line").df().set_index("_line")
    flagged = sorted({p.line for p in found if p.line is not None})[:limit]
    step = -(-rows // limit)
    return (
        con.execute(
            f"SELECT * FROM {table} WHERE _line % ? = 0 OR _line IN (SELECT unnest(?)) ORDER BY _line", [step, flagged]
        )
        .df()
        .set_index("_line")
    )


def _commit(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    period: Period,
    run_id: str,
    load_id: str,
    path: str,
    digest: str,
    rows: int,
    tag: str,
) -> None:
    cols = ", ".join(f'"{c}"' for c in extract.column_names)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f'DELETE FROM "{extract.name}" WHERE _period = ?', [period.label])
        _step("deleted_old_partition")
        con.execute(
            f'INSERT INTO "{extract.name}" (_period, _line, _load_id, {cols}) '
            f"SELECT ?, _line, ?, {cols} FROM typed_{tag}",
            [period.label, load_id],
        )
        _step("inserted_new_partition")
        con.execute(
            "INSERT INTO loads (load_id, run_id, period, extract, file_path, sha256, rows, rejected_rows, "
            "status, message) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '')",
            [load_id, run_id, period.label, extract.name, path, digest, rows, ACCEPTED],
        )
        _step("logged_load")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _reject(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    path: Path,
    period: Period,
    run_id: str,
    load_id: str,
    digest: str,
    rows: int,
    problems: list[Problem],
    tag: str,
) -> LoadOutcome:
    lines = {p.line for p in problems if p.line is not None}
    records = _records(con, tag, lines)
    frame = pd.DataFrame(
        {
            "load_id": load_id,
            "run_id": run_id,
            "period": period.label,
            "extract": extract.name,
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
        con.execute(
            "INSERT INTO rejects SELECT load_id, run_id, period, extract, file_path, line, column_name, "
            "rule, reason, record FROM reject_frame"
        )
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
    return LoadOutcome(extract.name, period.label, str(path), REJECTED, digest, rows, len(lines), message, problems)


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
