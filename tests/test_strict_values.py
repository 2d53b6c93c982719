"""Each contract type has one accepted text form (``metrics.validate.values``): anything else is a
rejected cell with its line and column, whose reason never carries the value.

Most cases run the checking function on an in-memory DuckDB table of raw text (milliseconds per
example); a handful go through ``load_extract`` into a real DuckDB file.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metrics.contracts import APC_SPELLS, PLANS, Column, Extract
from metrics.core.periods import Period
from metrics.core.results import ACCEPTED, REJECTED, Problem
from metrics.ingest.load import load_extract
from metrics.validate.gx import Validator
from metrics.validate.values import FORMS, typed_select, value_problems
from tests.extract_builders import spell, write_extract

Q2 = Period.parse("2023-24-Q2")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# Two columns of each type, so a test also shows which of them is blamed.
TABLE = Extract(
    "strict",
    "strict.csv",
    "columns of every type",
    tuple(Column(f"{t.lower()}_{i}", t, "-", required=False) for t in FORMS for i in (1, 2)),  # type: ignore[arg-type]
)
GOOD = {"INTEGER": "7", "DOUBLE": "1.5", "DATE": "2023-07-01", "TIMESTAMP": "2023-07-01 10:00"}
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def mem() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    cols = ", ".join(f'"{c.name}" VARCHAR' for c in TABLE.columns)
    con.execute(f"CREATE TABLE raw (_line BIGINT, {cols})")
    yield con
    con.close()


def _check_many(
    con: duckdb.DuckDBPyConnection, first_line: int, column: str, texts: list[str | None]
) -> tuple[list[Problem], dict[int, object]]:
    """Problems and typed values (by line) when ``column`` holds ``texts`` on consecutive lines from
    ``first_line`` (every other cell valid): one insert and two queries for the whole batch."""
    rows = [
        [first_line + i, *(text if c.name == column else GOOD[c.dtype] for c in TABLE.columns)]
        for i, text in enumerate(texts)
    ]
    marks = "(" + ", ".join("?" * len(rows[0])) + ")"
    con.execute("DELETE FROM raw")
    con.execute(f"INSERT INTO raw VALUES {', '.join([marks] * len(rows))}", [v for r in rows for v in r])
    problems = value_problems(con, TABLE, "raw")
    typed = con.execute(f'SELECT _line, "{column}" FROM ({typed_select(TABLE, "raw")})').fetchall()
    return problems, dict(typed)


def _check(con: duckdb.DuckDBPyConnection, line: int, column: str, text: str | None) -> tuple[list[Problem], object]:
    problems, typed = _check_many(con, line, column, [text])
    return problems, typed[line]


def _assert_rejected(
    con: duckdb.DuckDBPyConnection, dtype: str, pick: int, line: int, texts: list[str], *hide: str
) -> list[Problem]:
    """Every text rejected on its own line, in ``dtype``'s column ``pick``, by a fixed reason."""
    column = f"{dtype.lower()}_{pick}"
    problems, typed = _check_many(con, line, column, list(texts))
    form = FORMS[dtype]
    wanted = [(line + i, column, f"type:{dtype.lower()}") for i in range(len(texts))]
    assert [(p.line, p.column, p.rule) for p in problems] == wanted, texts
    for p, text in zip(problems, texts, strict=True):
        # The reason is one of the two fixed sentences of the column: it cannot depend on the value.
        assert p.reason in (f"{column} is not {form.form}", f"{column} {form.no_value}")
        for secret in (text, *hide):
            assert secret.strip() not in p.reason
    assert set(typed.values()) == {None}  # nothing of a rejected cell reaches the typed table
    return problems


lines = st.integers(2, 10**7)
picks = st.sampled_from([1, 2])
# Distinctive digit runs, so "the value is not in the message" means something.
digits = st.integers(10_000, 999_999_999).map(str)


def _malformed_whole(s: str, how: str) -> str:
    return {
        "plus": "+" + s,
        "lead_space": " " + s,
        "trail_space": s + " ",
        "inner_space": s[:2] + " " + s[2:],
        "hex": "0x" + format(int(s), "x"),
        "hex_upper": "0X" + format(int(s), "X"),
        "binary": "0b" + format(int(s), "b"),
        "octal": "0o" + format(int(s), "o"),
        "underscore": s[:2] + "_" + s[2:],
        "comma": s[:2] + "," + s[2:],
        "exponent": s + "e2",
        "exponent_upper": s[0] + "." + s[1:] + "E+3",
        "fraction": s + ".5",
        "point_zero": s + ".0",
        "trailing_point": s + ".",
        "leading_point": "." + s,
        "double_minus": "--" + s,
        "trailing_minus": s + "-",
        "unicode_minus": "\u2212" + s,
        "fullwidth": "".join(chr(0xFF10 + int(d)) for d in s),
        "arabic_indic": "".join(chr(0x0660 + int(d)) for d in s),
        "pound": "\u00a3" + s,
        "percent": s + "%",
        "tab": s + "\t",
        "nbsp": s + "\u00a0",
    }[how]


WHOLE_FAULTS = [
    "plus", "lead_space", "trail_space", "inner_space", "hex", "hex_upper", "binary", "octal", "underscore",
    "comma", "exponent", "exponent_upper", "fraction", "point_zero", "trailing_point", "leading_point",
    "double_minus", "trailing_minus", "unicode_minus", "fullwidth", "arabic_indic", "pound", "percent", "tab", "nbsp",
]  # fmt: skip
# A number may have a decimal part; these are still malformed numbers.
NUMBER_FAULTS = [f for f in WHOLE_FAULTS if f not in ("fraction", "point_zero")]


def batch(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(strategy, min_size=1, max_size=12)


@FAST
@given(line=lines, pick=picks, s=digits, hows=st.lists(st.sampled_from(WHOLE_FAULTS), min_size=1, max_size=12))
def test_malformed_whole_numbers_are_rejected(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, s: str, hows: list[str]
) -> None:
    _assert_rejected(mem, "INTEGER", pick, line, [_malformed_whole(s, how) for how in hows], s)


@FAST
@given(
    line=lines,
    pick=picks,
    ns=batch((st.integers(INT32_MAX + 1, 10**40) | st.integers(-(10**40), INT32_MIN - 1)).map(str)),
)
def test_whole_numbers_beyond_the_column_range_are_rejected_not_crashes(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, ns: list[str]
) -> None:
    problems = _assert_rejected(mem, "INTEGER", pick, line, ns)
    assert {p.reason for p in problems} == {f"integer_{pick} {FORMS['INTEGER'].no_value}"}


@FAST
@given(
    line=lines,
    pick=picks,
    texts=batch(st.from_regex(r"-?[0-9]{1,9}", fullmatch=True) | st.integers(INT32_MIN, INT32_MAX).map(str)),
)
def test_well_formed_whole_numbers_keep_their_exact_value(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, texts: list[str]
) -> None:
    problems, typed = _check_many(mem, line, f"integer_{pick}", list(texts))
    assert problems == [] and [typed[line + i] for i in range(len(texts))] == [int(t) for t in texts]


@FAST
@given(line=lines, pick=picks, s=digits, hows=st.lists(st.sampled_from(NUMBER_FAULTS), min_size=1, max_size=12))
def test_malformed_numbers_are_rejected(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, s: str, hows: list[str]
) -> None:
    _assert_rejected(mem, "DOUBLE", pick, line, [_malformed_whole(s, how) for how in hows], s)


SPECIAL_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "1e400", "0x1p3", "1.5e-3", "5.", ".5", "-.5"]


def test_special_and_exponent_numbers_are_rejected(mem: duckdb.DuckDBPyConnection) -> None:
    for pick in (1, 2):
        _assert_rejected(mem, "DOUBLE", pick, 2, SPECIAL_NUMBERS)


@FAST
@given(line=lines, pick=picks, ns=st.lists(st.tuples(st.integers(310, 400), st.booleans()), min_size=1, max_size=6))
def test_numbers_that_overflow_a_double_are_rejected_not_crashes(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, ns: list[tuple[int, bool]]
) -> None:
    texts = [("-" if neg else "") + "9" * n + ".25" for n, neg in ns]
    problems = _assert_rejected(mem, "DOUBLE", pick, line, texts)
    assert {p.reason for p in problems} == {f"double_{pick} {FORMS['DOUBLE'].no_value}"}


@FAST
@given(line=lines, pick=picks, texts=batch(st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,20})?", fullmatch=True)))
def test_well_formed_numbers_keep_their_exact_value(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, texts: list[str]
) -> None:
    problems, typed = _check_many(mem, line, f"double_{pick}", list(texts))
    # Correctly rounded, as Python's float(): the nearest double to the decimal written.
    assert problems == [] and [typed[line + i] for i in range(len(texts))] == [float(t) for t in texts]


def _malformed_date(d: dt.date, how: str) -> str:
    iso = d.isoformat()
    return {
        "uk": d.strftime("%d/%m/") + f"{d.year:04d}",
        "us": d.strftime("%m/%d/") + f"{d.year:04d}",
        "slashes": iso.replace("-", "/"),
        "dots": iso.replace("-", "."),
        "compact": iso.replace("-", ""),
        "day_first": f"{d.day:02d}-{d.month:02d}-{d.year:04d}",
        "unpadded": f"{d.year:04d}-{d.month}-{d.day}",
        "time": iso + " 00:00",
        "iso_time": iso + "T00:00:00",
        "lead_space": " " + iso,
        "trail_space": iso + " ",
        "month_name": d.strftime("%d %b ") + f"{d.year:04d}",
        "five_digit_year": f"1{d.year:04d}-{d.month:02d}-{d.day:02d}",
        "unicode_dash": iso.replace("-", "\u2013"),
    }[how]


DATE_FAULTS = [
    "uk", "us", "slashes", "dots", "compact", "day_first", "unpadded", "time", "iso_time", "lead_space",
    "trail_space", "month_name", "five_digit_year", "unicode_dash",
]  # fmt: skip


@FAST
@given(
    line=lines,
    pick=picks,
    cells=st.lists(st.tuples(st.dates(dt.date(1000, 1, 1)), st.sampled_from(DATE_FAULTS)), min_size=1, max_size=12),
)
def test_dates_in_another_form_are_rejected(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, cells: list[tuple[dt.date, str]]
) -> None:
    # A date with a two-digit month and day has no unpadded form: left out.
    texts = [t for d, how in cells for t in [_malformed_date(d, how)] if t != d.isoformat()]
    assume(texts)
    _assert_rejected(mem, "DATE", pick, line, texts)


@st.composite
def impossible_dates(draw: st.DrawFn) -> str:
    year = draw(st.integers(1, 9999))
    kind = draw(st.sampled_from(["month", "day", "year_zero"]))
    if kind == "year_zero":
        return f"0000-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"
    if kind == "month":
        return f"{year:04d}-{draw(st.sampled_from([0, *range(13, 100)])):02d}-{draw(st.integers(1, 28)):02d}"
    month = draw(st.integers(1, 12))
    day = draw(st.sampled_from([0, *range(calendar.monthrange(year, month)[1] + 1, 100)]))
    return f"{year:04d}-{month:02d}-{day:02d}"


@FAST
@given(line=lines, pick=picks, texts=batch(impossible_dates()))
def test_impossible_dates_are_rejected(mem: duckdb.DuckDBPyConnection, line: int, pick: int, texts: list[str]) -> None:
    problems = _assert_rejected(mem, "DATE", pick, line, texts)
    # The form is right; the date is not.
    assert {p.reason for p in problems} == {f"date_{pick} {FORMS['DATE'].no_value}"}


@FAST
@given(line=lines, pick=picks, days=st.lists(st.dates(), min_size=1, max_size=12))
def test_real_dates_keep_their_exact_value(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, days: list[dt.date]
) -> None:
    problems, typed = _check_many(mem, line, f"date_{pick}", [d.isoformat() for d in days])
    assert problems == [] and [typed[line + i] for i in range(len(days))] == days


@FAST
@given(
    line=lines,
    pick=picks,
    cells=st.lists(
        st.tuples(
            st.datetimes(dt.datetime(1000, 1, 1)).map(lambda t: t.replace(microsecond=0)),
            st.sampled_from([" ", "T"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_date_times_in_the_listed_forms_keep_their_exact_value(
    mem: duckdb.DuckDBPyConnection, line: int, pick: int, cells: list[tuple[dt.datetime, str, bool]]
) -> None:
    times = [t if seconds else t.replace(second=0) for t, _, seconds in cells]
    texts = [
        t.strftime(f"%Y-%m-%d{sep}%H:%M" + (":%S" if sec else ""))
        for t, (_, sep, sec) in zip(times, cells, strict=True)
    ]
    problems, typed = _check_many(mem, line, f"timestamp_{pick}", list(texts))
    assert problems == [] and [typed[line + i] for i in range(len(times))] == times


BAD_TIMES = [
    "2023-07-01",
    "2023-07-01 10",
    "2023-07-01 10:00:00.5",
    "2023-07-01 10:00Z",
    "2023-07-01 10:00+01:00",
    "01/07/2023 10:00",
    "2023-07-01  10:00",
    "2023-07-01 9:00",
    "2023-07-01 24:00",
    "2023-07-01 10:60",
    "2023-07-01 10:00:60",
    "2023-02-29 10:00",
    "0000-07-01 10:00",
    " 2023-07-01 10:00",
]


def test_date_times_in_other_forms_are_rejected(mem: duckdb.DuckDBPyConnection) -> None:
    for pick in (1, 2):
        _assert_rejected(mem, "TIMESTAMP", pick, 2, BAD_TIMES)


@pytest.mark.parametrize("blank", ["", " ", "   ", None])
def test_blank_cells_are_missing_not_malformed(mem: duckdb.DuckDBPyConnection, blank: str | None) -> None:
    for c in TABLE.columns:
        problems, typed = _check(mem, 2, c.name, blank)
        assert problems == [] and typed is None


# ---------------------------------------------------------------- whole loads through a DuckDB file


@pytest.mark.parametrize(
    ("field", "text", "rule"),
    [
        ("age_at_admission", "64.5", "type:integer"),
        ("age_at_admission", "0x41", "type:integer"),
        ("age_at_admission", "+65", "type:integer"),
        ("age_at_admission", "1.9E+3", "type:integer"),
        ("age_at_admission", "98765432109876543210", "type:integer"),
        ("admission_date", "2023-02-30", "type:date"),
    ],
)
def test_a_file_with_a_malformed_value_is_rejected_with_line_and_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator, field: str, text: str, rule: str
) -> None:
    f = write_extract(tmp_path / "apc_spells.csv", APC_SPELLS, [spell(1), spell(2), spell(3, **{field: text})])
    out = load_extract(con, APC_SPELLS, f, Q2, "run1", validator.validate)
    assert out.status == REJECTED
    assert [(p.line, p.column, p.rule) for p in out.problems] == [(4, field, rule)]
    assert text not in out.summary() and text not in out.message
    reasons = con.execute("SELECT reason FROM rejects WHERE run_id = 'run1'").fetchall()
    assert reasons and all(text not in r[0] for r in reasons)
    assert con.execute("SELECT count(*) FROM apc_spells").fetchall()[0][0] == 0


def _plan(value: str, line_metric: str = "falls_65_plus") -> dict[str, str]:
    return {
        "hwb_code": "E06000061",
        "metric_id": line_metric,
        "financial_year": "2023-24",
        "quarter": "YE",
        "plan_value": value,
    }


@pytest.mark.parametrize("text", ["1e2", "nan", "inf", "9" * 400, "12,5", ".5"])
def test_a_plan_value_not_in_the_number_form_is_rejected(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator, text: str
) -> None:
    f = write_extract(tmp_path / "plans.csv", PLANS, [_plan(text)])
    out = load_extract(con, PLANS, f, Q2, "run1", validator.validate)
    assert out.status == REJECTED
    assert [(p.line, p.column, p.rule) for p in out.problems] == [(2, "plan_value", "type:double")]
    assert text not in out.summary()


def test_well_formed_values_load_exactly(tmp_path: Path, con: duckdb.DuckDBPyConnection, validator: Validator) -> None:
    f = write_extract(tmp_path / "plans.csv", PLANS, [_plan("1234.5678"), _plan("007", "avoidable_admissions")])
    assert load_extract(con, PLANS, f, Q2, "run1", validator.validate).status == ACCEPTED
    got = con.execute("SELECT metric_id, plan_value FROM plans ORDER BY _line").fetchall()
    assert got == [("falls_65_plus", 1234.5678), ("avoidable_admissions", 7.0)]
