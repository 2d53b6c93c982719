"""Load one delivered CSV into the warehouse, all or nothing.

Stages: file checks (present, non-empty, UTF-8, header exactly as the
contract) -> DuckDB parse with every column as text and ``store_rejects``
(structural errors with line and column) -> each typed cell checked against its type's one text
form, then cast, in SQL (``metrics.validate.values``) ->
the contract's row rules (SQL) and GX validation of the typed rows, and plans or targets against
their metric's range (``metrics.validate.plans``) -> one transaction that replaces the
period's partition. Any problem rejects the whole file: the partition is
left exactly as it was and every problem is kept in ``rejects``.

Everything before GX is ``stage_delivery``; GX, the commit or the rejection are ``finish_delivery``,
so that a run can validate all quarters of an extract in one GX validation between the two
(``metrics.ingest.run``); ``load_delivery`` does both for one file.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import json
import os
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import duckdb
import pandas as pd

from metrics import warehouse
from metrics.contracts import Extract
from metrics.core import reference
from metrics.core.errors import EnvironmentProblem
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, MISSING, REJECTED, UNCHANGED, LoadOutcome, Problem
from metrics.ingest.readers import NATIVE, Conversion, Delivery, reader_for
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


# Characters DuckDB's file readers expand as a glob (and "{" for brace lists): never in a path it reads.
_GLOB_CHARS = frozenset("[]*?{}")
_CHUNK = 1 << 20


def _access_problem(path: Path) -> tuple[bool, Problem | None]:
    """``(missing, problem)`` for the delivered path as the file system has it, without opening it
    (a named pipe would block): not there at all, or there but not a regular readable file."""
    name = path.name
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return False, Problem(
                None,
                None,
                "file_broken_link",
                f"{name} is a symbolic link to {os.readlink(path)}, which does not exist: "
                "put the file itself in the folder, or point the link at the delivered file",
            )
        other = _same_name_other_case(path)
        if other is not None:
            return False, Problem(
                None,
                None,
                "file_name_case",
                f"the file is named {other}, not {name}: file names are case-sensitive; rename it to {name}",
            )
        return True, None
    except NotADirectoryError:
        return False, Problem(
            None, None, "file_not_regular", f"{path.parent} is a file, not a folder: the quarter's files go in a folder"
        )
    except PermissionError:
        return False, _unreadable(path, "permission denied on the file or a folder above it")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return False, Problem(
                None,
                None,
                "file_broken_link",
                f"{name} is a symbolic link that loops back on itself: put the file itself in the folder",
            )
        return False, _unreadable(path, exc.strerror or str(exc))
    kind = _not_regular(st.st_mode)
    if kind:
        return False, Problem(
            None,
            None,
            "file_not_regular",
            f"{name} is {kind}, not a regular file: put the delivered CSV file itself at this path",
        )
    return False, None


def _not_regular(mode: int) -> str:
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def _same_name_other_case(path: Path) -> str | None:
    try:
        names = os.listdir(path.parent)
    except OSError:
        return None
    wanted = path.name.casefold()
    found = sorted(n for n in names if n.casefold() == wanted and n != path.name)
    return found[0] if found else None


def _unreadable(path: Path, why: str) -> Problem:
    return Problem(
        None,
        None,
        "file_unreadable",
        f"{path.name} cannot be read ({why}): give the pipeline's user read access to it "
        f"(e.g. chmod a+r, and a+x on its folders), then run again",
    )


@contextlib.contextmanager
def _private_file() -> Iterator[tuple[BinaryIO, Path]]:
    """A private temporary file and the plain path DuckDB reads it by.

    On Linux the file has no name at all (``O_TMPFILE``; DuckDB opens it as ``/proc/self/fd/N``), so
    no copy of record-level data outlives the process, even one that is killed. Elsewhere it is
    ``extract.csv`` in a fresh folder, removed on exit."""
    with tempfile.TemporaryFile() as fh:
        proc = Path(f"/proc/self/fd/{fh.fileno()}")
        if proc.exists():
            yield fh, proc
            return
    with tempfile.TemporaryDirectory(prefix="scorecard-load-") as tmp:
        if _GLOB_CHARS & set(tmp):
            raise EnvironmentProblem(
                f"the temporary folder {tmp} has one of {''.join(sorted(_GLOB_CHARS))} in its path, which DuckDB "
                "would read as a pattern: set TMPDIR to a folder with a plain name"
            )
        with open(Path(tmp) / "extract.csv", "w+b") as fh:
            yield fh, Path(tmp) / "extract.csv"


def _private_copy(path: Path, out: BinaryIO) -> str | Problem:
    """Copy the delivered file into the private file ``out``, hashing the same bytes as they are
    copied; returns their SHA-256. The digest recorded is exactly of the bytes DuckDB parses (a file
    replaced or rewritten during the run cannot load a mix), and DuckDB never sees the user's path,
    so ``[``, ``*``, ``?`` in a folder name are taken literally."""
    try:
        # O_NONBLOCK: should the path have become a named pipe since it was checked, opening returns at once.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except PermissionError:
        return _unreadable(path, "permission denied")
    except OSError as exc:
        return _unreadable(path, exc.strerror or str(exc))
    h = hashlib.sha256()
    try:
        kind = _not_regular(os.fstat(fd).st_mode)
        if kind:
            return Problem(None, None, "file_not_regular", f"{path.name} is {kind}, not a regular file")
        while True:
            try:
                chunk = os.read(fd, _CHUNK)
            except OSError as exc:
                return _unreadable(path, exc.strerror or str(exc))
            if not chunk:
                break
            h.update(chunk)
            out.write(chunk)
        out.flush()
    except OSError as exc:  # writing the copy: the temporary folder's disk is full
        raise EnvironmentProblem(
            f"could not copy {path} into the temporary folder {tempfile.gettempdir()}: {exc.strerror or exc}; "
            "free space there or set TMPDIR to a folder with room for the largest extract, then run again"
        ) from exc
    finally:
        os.close(fd)
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
        if isinstance(exc, duckdb.IOException | duckdb.OutOfMemoryException | duckdb.FatalException):
            # Not the file's fault (it is a private copy): DuckDB's memory or temporary storage ran out.
            raise warehouse.write_failed(warehouse.file_of(con), exc, "nothing was loaded") from exc
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
    """Load ``path`` (the contract's own CSV) as ``extract`` for ``period``; never leaves a partial partition."""
    return load_delivery(con, Delivery.native(extract, path), period, run_id, validate, force)


def load_delivery(
    con: duckdb.DuckDBPyConnection,
    delivery: Delivery,
    period: Period,
    run_id: str,
    validate: Validate,
    force: bool = False,
) -> LoadOutcome:
    """Load one extract's delivery for ``period``: the contract CSV as it is, or the files a reader
    converts into it (``metrics.ingest.readers``), through the same checks; all or nothing."""
    return finish_delivery(con, stage_delivery(con, delivery, period, run_id, force), validate)


@dataclass
class Staged:
    """A delivery read, typed and checked by every rule but GX, nothing of it written yet.

    A run stages every quarter of an extract before writing any (``metrics.ingest.run``), so that GX,
    whose cost is per validation rather than per row, can validate all of them at once;
    :func:`finish_delivery` then validates what is still unvalidated and commits or rejects the file.
    Until then its rows are in the TEMP tables ``raw_<tag>`` and ``typed_<tag>``.
    """

    delivery: Delivery
    period: Period
    run_id: str
    load_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    digest: str | None = None
    rows: int = 0
    # Decided without loading anything: a missing file, or one unchanged since its accepted load.
    outcome: LoadOutcome | None = None
    # Problems that make the file's rows meaningless (rejected as they are, without GX).
    problems: list[Problem] = field(default_factory=list)
    conversion: Conversion | None = None
    # The file passed its file checks: whether it was delivered for another quarter is asked at commit.
    dated_check: bool = False
    typed: bool = False  # parsed, with rows: typed_<tag> holds them, for GX
    cast: list[Problem] = field(default_factory=list)  # values not in their type's one text form
    found: list[Problem] = field(default_factory=list)  # the row rules, in SQL
    ranged: list[Problem] = field(default_factory=list)  # plans or targets outside their metric's range
    twice: list[Problem] = field(default_factory=list)  # an area under both its old and its new code
    # GX's problems once it has validated the file (``[]``: passed, alone or in its extract's batch).
    gx: list[Problem] | None = None

    @property
    def tag(self) -> str:
        return self.load_id[:12]

    @property
    def clean(self) -> bool:
        """Typed, and every check but GX found nothing: accepted if GX agrees (its batch candidates)."""
        return (
            self.typed
            and not (self.cast or self.found or self.ranged or self.twice)
            and not (self.conversion is not None and self.conversion.problems)
        )

    def frame(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        """The rows GX validates (``_gx_frame``)."""
        return _gx_frame(con, f"typed_{self.tag}", self.rows, self.found)

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop the staging tables. A connection DuckDB invalidated (a failed write) must not hide
        the error that did it; TEMP tables go with the connection anyway."""
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS raw_{self.tag}")
            con.execute(f"DROP TABLE IF EXISTS typed_{self.tag}")


def stage_delivery(
    con: duckdb.DuckDBPyConnection, delivery: Delivery, period: Period, run_id: str, force: bool = False
) -> Staged:
    """Read and check one extract's delivery for ``period`` into staging tables; nothing is written
    to the warehouse's tables (``finish_delivery`` does, after GX)."""
    extract, shown = delivery.extract, delivery.shown
    staged = Staged(delivery, period, run_id)
    access = [_access_problem(p) for p in delivery.files]
    if all(missing for missing, _ in access):
        staged.outcome = LoadOutcome(extract.name, period.label, shown, MISSING, message="file not delivered")
        return staged
    found: list[Problem] = []
    for path, (missing, problem) in zip(delivery.files, access, strict=True):
        if missing:
            others = ", ".join(p.name for p in delivery.files if p != path)
            found.append(
                Problem(
                    None,
                    None,
                    "file_missing",
                    f"{path.name} is not in {path.parent}, but {others} is: the delivery of {extract.name} "
                    f"needs all of its files; put {path.name} beside them",
                )
            )
        elif problem is not None:
            found.append(problem)
    with contextlib.ExitStack() as stack:
        copies: list[Path] = []
        digests: list[str] = []
        if not found:
            for path in delivery.files:
                fh, copy = stack.enter_context(_private_file())
                got = _private_copy(path, fh)
                if isinstance(got, Problem):
                    found.append(got)
                    break
                copies.append(copy)
                digests.append(got)
        if found:
            staged.problems = found
            return staged
        staged.digest = delivery.digest(digests)
        if delivery.format == NATIVE:
            return _stage_copy(con, staged, copies[0], force)
        if not force and (prior := _unchanged(con, extract, shown, period, staged.digest)) is not None:
            staged.outcome = prior
            return staged
        reader = reader_for(delivery, period)
        fh, converted = stack.enter_context(_private_file())
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        conversion = reader(extract, copies, [p.name for p in delivery.files], delivery.options, text)
        text.flush()
        text.detach()
        staged.conversion = conversion
        # The reader stopped, or found a file-level problem or problems before any row was converted
        # (the header): nothing to check further.
        if conversion.halted or (
            conversion.problems and (conversion.lines is None or any(p.line is None for p in conversion.problems))
        ):
            staged.problems = conversion.problems
            staged.conversion = None
            return staged
        return _stage_copy(con, staged, converted, True)


def _unchanged(
    con: duckdb.DuckDBPyConnection, extract: Extract, shown: str, period: Period, digest: str
) -> LoadOutcome | None:
    """The outcome of a delivery whose digest is the period's latest accepted load: nothing to do."""
    prior = con.execute(
        "SELECT rows FROM loads WHERE period = ? AND extract = ? AND sha256 = ? AND status = ? "
        "AND load_id = (SELECT max_by(load_id, loaded_at) FROM loads WHERE period = ? AND extract = ? "
        "AND status = ?)",
        [period.label, extract.name, digest, ACCEPTED, period.label, extract.name, ACCEPTED],
    ).fetchall()
    if not prior:
        return None
    return LoadOutcome(
        extract.name,
        period.label,
        shown,
        UNCHANGED,
        digest,
        int(prior[0][0]),
        message="same SHA-256 as the accepted load; skipped",
    )


def _stage_copy(con: duckdb.DuckDBPyConnection, staged: Staged, copy: Path, force: bool) -> Staged:
    """Stage the private contract CSV ``copy`` (the CSV a reader made, with ``staged.conversion``):
    every check but GX."""
    extract, period, tag = staged.delivery.extract, staged.period, staged.tag
    assert staged.digest is not None
    if not force and (prior := _unchanged(con, extract, staged.delivery.shown, period, staged.digest)) is not None:
        staged.outcome = prior
        return staged
    problems = check_file(extract, copy)
    if not problems:
        staged.dated_check = True
        # Asked again at commit (``finish_delivery``), when this run's earlier quarters are in ``loads``;
        # a file that is already refused now is not parsed, as before.
        problems = _delivered_for_another_period(con, extract, period, staged.digest)
    if not problems:
        problems = _parse(con, extract, copy, tag)
    if not problems:
        staged.rows = int(con.execute(f"SELECT count(*) FROM raw_{tag}").fetchall()[0][0])
        if staged.rows == 0:
            problems = [Problem(None, None, "no_rows", "the file has a header but no data rows")]
    if problems:
        staged.problems = problems
        return staged
    staged.cast = values.value_problems(con, extract, f"raw_{tag}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE typed_{tag} AS {values.typed_select(extract, f'raw_{tag}')}")
    seen = {(p.line, p.column) for p in staged.cast}  # an uncastable value is reported once, as such
    staged.found = row_rules.problems(con, extract, period, f"typed_{tag}")
    # A plan or target outside its metric's range is reported once, by the rule naming the metric.
    staged.ranged = [
        p for p in plan_rules.target_problems(con, extract, f"typed_{tag}") if (p.line, p.column) not in seen
    ]
    staged.twice = _area_under_two_codes(con, extract, f"typed_{tag}")
    staged.typed = True
    return staged


def finish_delivery(con: duckdb.DuckDBPyConnection, staged: Staged, validate: Validate) -> LoadOutcome:
    """Commit or reject a staged delivery (validating it with GX first unless it already was), then
    drop its staging tables. Files of a run are finished in period order."""
    extract, period, shown, tag = staged.delivery.extract, staged.period, staged.delivery.shown, staged.tag
    try:
        if staged.outcome is not None:
            return staged.outcome
        args = (con, extract, shown, period, staged.run_id, staged.load_id, staged.digest)
        if staged.dated_check and staged.digest is not None:
            # Here, not at staging: an earlier quarter of this run accepted just now counts.
            dup = _delivered_for_another_period(con, extract, period, staged.digest)
            if dup:
                return _reject(*args, 0, dup, tag, staged.conversion)
        if not staged.typed:
            return _reject(*args, staged.rows, staged.problems, tag, staged.conversion)
        if staged.gx is None:
            staged.gx = validate(extract, period, staged.frame(con))
        seen = {(p.line, p.column) for p in staged.cast}
        # Both checks run the same rules; their union is kept, so a disagreement can only reject more.
        union = list(dict.fromkeys(staged.found + staged.gx))
        specific = {(p.line, p.column) for p in staged.ranged}
        union = [p for p in union if not (p.rule == "range" and (p.line, p.column) in specific)] + staged.ranged
        problems = sorted(
            staged.cast + [p for p in union if (p.line, p.column) not in seen],
            key=lambda p: (p.line or 0, p.column or ""),
        )
        problems = row_rules.wrong_quarter(con, extract, period, f"typed_{tag}", problems) + problems
        problems += staged.twice
        if problems or (staged.conversion is not None and staged.conversion.problems):
            return _reject(*args, staged.rows, problems, tag, staged.conversion)
        assert staged.digest is not None
        _commit(con, extract, period, staged.run_id, staged.load_id, shown, staged.digest, staged.rows, tag)
        return LoadOutcome(extract.name, period.label, shown, ACCEPTED, staged.digest, staged.rows)
    finally:
        staged.drop(con)


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


def _area_under_two_codes(con: duckdb.DuckDBPyConnection, extract: Extract, table: str) -> list[Problem]:
    """A file with rows for one area under both its retired and its current code is rejected: both are
    stored under the current code, so a population, plan or target would be there twice (or the
    same records counted once under each). One code per area per file; either code is accepted."""
    recodes = reference.hwb_recodes()
    if not recodes:
        return []
    names = reference.hwb_names()
    out = []
    for col in warehouse.area_columns(extract):
        q = f'"{col}"'
        present = {str(r[0]) for r in con.execute(f"SELECT DISTINCT {q} FROM {table} WHERE {q} IS NOT NULL").fetchall()}
        for old in sorted(present & set(recodes)):
            new = recodes[old]
            if new in present:
                out.append(
                    Problem(
                        None,
                        col,
                        "area_code_twice",
                        f"{col}: rows for {names.get(new, new)} under both {old} (a retired code) and {new} (its "
                        f"current code, which both are reported under), so the area would be counted twice: "
                        f"deliver every row of {names.get(new, new)} under one of the two codes",
                    )
                )
    return out


def _recoded(column: str, recodes: dict[str, str]) -> str:
    """SQL giving the current code of the area column ``column`` (``hwb_codes.csv`` ``replaced_by``)."""
    q = f'"{column}"'
    if not recodes:
        return q
    whens = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in sorted(recodes.items()))
    return f"CASE {q} {whens} ELSE {q} END"


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
    # Area codes are stored under the area's current code (a retired code mapped by hwb_codes.csv
    # replaced_by), the code as delivered kept beside it for the audit trail.
    areas = warehouse.area_columns(extract)
    recodes = reference.hwb_recodes() if areas else {}
    cols = ", ".join(f'"{c}"' for c in [*extract.column_names, *map(warehouse.delivered_column, areas)])
    values = ", ".join(
        [_recoded(c, recodes) if c in areas else f'"{c}"' for c in extract.column_names] + [f'"{c}"' for c in areas]
    )
    with _transaction(con, f"nothing of {path} was loaded"):
        con.execute(f'DELETE FROM "{extract.name}" WHERE _period = ?', [period.label])
        _step("deleted_old_partition")
        con.execute(
            f'INSERT INTO "{extract.name}" (_period, _line, _load_id, {cols}) '
            f"SELECT ?, _line, ?, {values} FROM typed_{tag}",
            [period.label, load_id],
        )
        _step("inserted_new_partition")
        con.execute(
            "INSERT INTO loads (load_id, run_id, period, extract, file_path, sha256, rows, rejected_rows, "
            "status, message) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '')",
            [load_id, run_id, period.label, extract.name, path, digest, rows, ACCEPTED],
        )
        _step("logged_load")


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection, kept: str) -> Iterator[None]:
    """One warehouse transaction: committed whole or rolled back. A write the file system refuses
    (full disk, read-only folder, I/O error) is an :class:`EnvironmentProblem` naming the warehouse."""
    db = warehouse.file_of(con)
    try:
        con.execute("BEGIN TRANSACTION")
        yield
        con.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):  # DuckDB may already have rolled back, or closed the database
            con.execute("ROLLBACK")
        if isinstance(exc, OSError | duckdb.IOException | duckdb.FatalException):
            raise warehouse.write_failed(db, exc, kept) from exc
        raise


def _reject(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    path: str,
    period: Period,
    run_id: str,
    load_id: str,
    digest: str | None,
    rows: int,
    problems: list[Problem],
    tag: str,
    conversion: Conversion | None = None,
) -> LoadOutcome:
    records = _records(con, tag, {p.line for p in problems if p.line is not None})
    if conversion is not None:
        # Placed back in the delivered file; a cell the reader already reported is reported once, as it did.
        records = {conversion.source_line(k) or k: v for k, v in records.items()}
        own = {(p.line, p.column) for p in conversion.problems}
        # Several converted lines can come from one delivered row (a row of ages): reported once.
        moved = list(dict.fromkeys(conversion.translate(p) for p in problems))
        problems = sorted(
            conversion.problems + [p for p in moved if (p.line, p.column) not in own],
            key=lambda p: (p.line or 0, p.column or ""),
        )
    lines = {p.line for p in problems if p.line is not None}
    frame = pd.DataFrame(
        {
            "load_id": load_id,
            "run_id": run_id,
            "period": period.label,
            "extract": extract.name,
            "file_path": path,
            "line": pd.array([p.line for p in problems], dtype="Int64"),
            "column_name": [p.column for p in problems],
            "rule": [p.rule for p in problems],
            "reason": [p.reason for p in problems],
            "record": [records.get(p.line) if p.line is not None else None for p in problems],
        }
    )
    message = f"{len(problems)} problem(s) on {len(lines)} line(s); nothing loaded"
    with _transaction(con, f"the rejection of {path} was not recorded; nothing of it was loaded"):
        con.register("reject_frame", frame)
        con.execute(
            "INSERT INTO rejects SELECT load_id, run_id, period, extract, file_path, line, column_name, "
            "rule, reason, record FROM reject_frame"
        )
        con.unregister("reject_frame")
        con.execute(
            "INSERT INTO loads (load_id, run_id, period, extract, file_path, sha256, rows, rejected_rows, "
            "status, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, run_id, period.label, extract.name, path, digest, rows, len(lines), REJECTED, message],
        )
        _step("logged_reject")
    return LoadOutcome(extract.name, period.label, path, REJECTED, digest, rows, len(lines), message, problems)


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
