"""``mapped_csv``: a delivered table with its own column names and codes, mapped onto the contract.

The delivered file is a CSV (``delimiter``, default ``,``) or, when its name ends in ``.xlsx``, a
workbook sheet (``sheet``, ``header_row``). Its mapping, under ``[extracts.<extract>.columns]``, gives
each contract column one rule; a contract column not listed is taken from a delivered column of the
same name, and one with neither is an error (a delivery without it says ``{ value = "" }``)::

    person_id = "PSEUDO_ID"                                   # rename
    admission_date = { from = "ADMIDATE", date = "DD/MM/YYYY" }
    sex = { from = "SEX", codes = { "1" = "M", "2" = "F" } }  # an unlisted code is a problem ...
    discharge_destination = { from = "DISDEST", codes = { "98" = "" }, passthrough = true }  # ... unless passthrough
    primary_diagnosis = { from = "DIAG_01", strip_dots = true }             # "S72.0" -> "S720"
    secondary_diagnoses = { from = "DIAG_02..DIAG_20", join = ";", strip_dots = true }
    provider_type = { value = "acute" }                                     # the same for every row
    age_at_admission = { derive = "age", birth = "DOB", at = "ADMIDATE", date = "DD/MM/YYYY" }

``ignore = [...]`` lists the delivered columns the contract does not need; any other delivered column
that no rule reads is an error, so nothing is dropped silently. Several delivered columns into one
field need ``join`` (their non-empty values, in the order given, joined by it); without it the
mapping is ambiguous and refused. Date formats use ``YYYY``, ``MM``/``DD`` (two digits), ``M``/``D``
(one or two), ``HH``, ``MI``, ``SS`` and literal separators, matched exactly: ``1/4/2023`` is refused
by ``DD/MM/YYYY`` and accepted by ``D/M/YYYY``. A workbook's date cell is a date already, so a text
date format does not apply to it. Steps run in this order: strip dots, recode, read the date, join.
Everything the reader writes then takes the contract's own checks.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from metrics.contracts import Extract
from metrics.core.results import Problem
from metrics.ingest.formats.table import DateText, Table, read_csv, read_xlsx
from metrics.ingest.formats.xlsx import sheet_options
from metrics.ingest.readers import Conversion, register, unknown_keys

OPTIONS = frozenset({"columns", "ignore", "delimiter", "sheet", "header_row"})
RULE_KEYS = frozenset({"from", "value", "join", "strip_dots", "codes", "passthrough", "date", "derive", "birth", "at"})
_TOKENS = {
    "YYYY": r"(?P<Y>\d{4})",
    "MM": r"(?P<m>\d{2})",
    "DD": r"(?P<d>\d{2})",
    "HH": r"(?P<H>\d{2})",
    "MI": r"(?P<I>\d{2})",
    "SS": r"(?P<S>\d{2})",
    "M": r"(?P<m>\d{1,2})",
    "D": r"(?P<d>\d{1,2})",
}
_GROUP = {"YYYY": "Y", "MM": "m", "M": "m", "DD": "d", "D": "d", "HH": "H", "MI": "I", "SS": "S"}
_TOKEN = re.compile("YYYY|MM|DD|HH|MI|SS|M|D")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RANGE = re.compile(r"^(?P<a>.*?)(?P<i>\d+)\.\.(?P<b>.*?)(?P<j>\d+)$")


def date_pattern(form: str) -> re.Pattern[str] | str:
    """The regular expression of a declared date format, or why it is not one."""
    out, pos, seen = [], 0, set()
    for m in _TOKEN.finditer(form):
        literal = form[pos : m.start()]
        if any(c.isalnum() for c in literal):
            return f"{literal!r} is not a date part; use YYYY, MM, M, DD, D, HH, MI, SS and separators"
        out.append(re.escape(literal))
        key = _GROUP[m.group()]
        if key in seen:
            return f"{m.group()} appears twice"
        seen.add(key)
        out.append(_TOKENS[m.group()])
        pos = m.end()
    tail = form[pos:]
    if any(c.isalnum() for c in tail):
        return f"{tail!r} is not a date part; use YYYY, MM, M, DD, D, HH, MI, SS and separators"
    out.append(re.escape(tail))
    if not {"Y", "m", "d"} <= seen:
        return "a date format needs YYYY, MM (or M) and DD (or D)"
    return re.compile("".join(out))


def expand(source: str | list[str]) -> list[str]:
    """The delivered columns a ``from`` names: one, a list, or a numbered range ``DIAG_02..DIAG_20``."""
    if isinstance(source, list):
        return [c for s in source for c in expand(s)]
    m = _RANGE.match(source)
    if not m or m.group("a") != m.group("b"):
        return [source]
    i, j, width = int(m.group("i")), int(m.group("j")), len(m.group("i"))
    return [f"{m.group('a')}{n:0{width}d}" for n in range(i, j + 1)]


@dataclass(frozen=True)
class Rule:
    """One contract column's rule, as checked when the mapping is read."""

    target: str
    sources: tuple[str, ...] = ()
    value: str | None = None
    join: str | None = None
    strip_dots: bool = False
    codes: Mapping[str, str] | None = None
    passthrough: bool = False
    date: str | None = None
    birth: str | None = None
    at: str | None = None

    @property
    def reads(self) -> tuple[str, ...]:
        return (*self.sources, *(c for c in (self.birth, self.at) if c))


def _rule(extract: Extract, target: str, spec: Any, errors: list[str]) -> Rule | None:
    where = f"columns.{target}"
    if target not in extract.column_names:
        errors.append(
            f"{where}: {extract.name} has no column {target!r}; its columns are {', '.join(extract.column_names)}"
        )
        return None
    if isinstance(spec, str):
        spec = {"from": spec}
    if not isinstance(spec, dict):
        errors.append(f'{where}: give the delivered column\'s name ("ADMIDATE") or a table ({{ from = "ADMIDATE" }})')
        return None
    start = len(errors)
    errors.extend(unknown_keys(spec, RULE_KEYS, where))
    column = extract.column(target)
    derive = spec.get("derive")
    source = spec.get("from")
    value = spec.get("value")
    given = [k for k in ("from", "value", "derive") if k in spec]
    if len(given) != 1:
        errors.append(
            f"{where}: give exactly one of from (a delivered column), value (the same text on every row) "
            f'or derive ("age"){"; it has " + " and ".join(given) if given else ""}'
        )
    sources: list[str] = []
    if source is not None:
        if (isinstance(source, str) and source) or (
            isinstance(source, list) and source and all(isinstance(s, str) and s for s in source)
        ):
            sources = expand(source)
        else:
            errors.append(f'{where}.from: must be a column name, a list of them, or a range such as "DIAG_02..DIAG_20"')
        if len(set(sources)) != len(sources):
            errors.append(f"{where}.from: names a column twice")
    if value is not None and not isinstance(value, str):
        errors.append(f'{where}.value: must be text, in quotes (e.g. value = "acute", or "" for none)')
    join = spec.get("join")
    if join is not None and (not isinstance(join, str) or not join):
        errors.append(f'{where}.join: must be the separator as text, e.g. join = ";"')
    if len(sources) > 1 and join is None:
        errors.append(
            f"{where}: {len(sources)} delivered columns ({', '.join(sources[:3])}{' ...' if len(sources) > 3 else ''}) "
            'into one field without a rule to combine them is ambiguous: add join = ";" to join their values, '
            "or map one column"
        )
    if join is not None and (len(sources) < 2 or column.dtype != "VARCHAR"):
        errors.append(f"{where}.join: combines two or more delivered columns into a text column")
    for flag in ("strip_dots", "passthrough"):
        if flag in spec and not isinstance(spec[flag], bool):
            errors.append(f"{where}.{flag}: must be true or false")
    if spec.get("strip_dots") and column.pattern is None:
        errors.append(f"{where}.strip_dots: only for ICD-10 code columns (primary_diagnosis, secondary_diagnoses)")
    codes = spec.get("codes")
    if codes is not None and (not isinstance(codes, dict) or not all(isinstance(v, str) for v in codes.values())):
        errors.append(f'{where}.codes: must be a table of delivered code = contract code, e.g. {{ "1" = "M" }}')
        codes = None
    if spec.get("passthrough") and codes is None:
        errors.append(f"{where}.passthrough: only with codes (codes not in the table are kept as delivered)")
    form = spec.get("date")
    if form is not None:
        if column.dtype not in ("DATE", "TIMESTAMP") and derive != "age":
            errors.append(f"{where}.date: {target} is not a date column")
        elif not isinstance(form, str) or isinstance(date_pattern(form), str):
            why = date_pattern(form) if isinstance(form, str) else "must be text"
            errors.append(f'{where}.date: {why} (e.g. date = "DD/MM/YYYY")')
        elif column.dtype == "TIMESTAMP" and not ("HH" in form and "MI" in form):
            errors.append(
                f'{where}.date: {target} is a date and time; the format needs HH and MI (e.g. "DD/MM/YYYY HH:MI")'
            )
        elif column.dtype == "DATE" and any(t in form for t in ("HH", "MI", "SS")):
            errors.append(f"{where}.date: {target} is a date without a time; leave HH, MI and SS out")
    birth, at = spec.get("birth"), spec.get("at")
    if derive is not None:
        if derive != "age":
            errors.append(f'{where}.derive: the only derivation is "age" (whole years from birth to at)')
        elif column.dtype != "INTEGER":
            errors.append(f"{where}.derive: an age goes into a whole-number column")
        if not (isinstance(birth, str) and birth and isinstance(at, str) and at):
            errors.append(
                f'{where}: derive = "age" needs birth and at, the delivered date columns (e.g. birth = "DOB")'
            )
    elif birth is not None or at is not None:
        errors.append(f'{where}: birth and at are only for derive = "age"')
    if len(errors) > start:
        return None
    return Rule(
        target,
        tuple(sources),
        value,
        join,
        bool(spec.get("strip_dots", False)),
        codes,
        bool(spec.get("passthrough", False)),
        form,
        birth,
        at,
    )


def rules_of(extract: Extract, options: Mapping[str, Any], errors: list[str]) -> tuple[list[Rule], list[str]]:
    """The mapping's rules and ignored columns, with every problem added to ``errors``."""
    columns = options.get("columns", {})
    rules: list[Rule] = []
    if not isinstance(columns, dict):
        errors.append("columns: must be a table, [extracts.<extract>.columns], of contract column = rule")
    else:
        for target, spec in columns.items():
            rule = _rule(extract, target, spec, errors)
            if rule is not None:
                rules.append(rule)
    ignore = options.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(c, str) for c in ignore):
        errors.append('ignore: must be a list of delivered column names, e.g. ignore = ["PROCODE3"]')
        ignore = []
    ignored = expand(ignore)
    read = {c for r in rules for c in r.reads}
    both = sorted(read & set(ignored))
    if both:
        errors.append(f"ignore: {', '.join(both)} {'is' if len(both) == 1 else 'are'} both ignored and mapped")
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        errors.append('delimiter: must be one character, e.g. delimiter = "|"')
    return rules, ignored


def check_options(extract: Extract, options: Mapping[str, Any]) -> list[str]:
    errors = unknown_keys(options, OPTIONS) + sheet_options(options)
    rules_of(extract, options, errors)
    return errors


@register("mapped_csv", check_options)
def read(
    extract: Extract, files: Sequence[Path], names: Sequence[str], options: Mapping[str, Any], out: TextIO
) -> Conversion:
    """Rename, combine, recode and re-date the delivered columns into the contract's CSV."""
    errors: list[str] = []
    rules, ignored = rules_of(extract, options, errors)
    if errors:  # checked when the mapping was read; a caller that skipped that still gets them
        return Conversion([Problem(None, None, "mapping", "; ".join(errors))])
    if len(files) != 1:
        return Conversion([Problem(None, None, "mapping", f"mapped_csv reads one file, not {len(files)}")])
    path, name = files[0], names[0]
    if name.lower().endswith(".xlsx"):
        table = read_xlsx(path, name, options.get("sheet"), int(options.get("header_row", 1)))
    elif "sheet" in options or "header_row" in options:
        return Conversion(
            [Problem(None, None, "mapping", f"{name} is not a workbook: sheet and header_row are for .xlsx files")]
        )
    else:
        table = read_csv(path, name, str(options.get("delimiter", ",")))
    if any(p.line is None for p in table.problems):
        return Conversion(table.problems, unit=table.unit)
    return _convert(extract, table, rules, ignored, out)


def _convert(extract: Extract, table: Table, rules: list[Rule], ignored: list[str], out: TextIO) -> Conversion:
    by_target = {r.target: r for r in rules}
    position: dict[str, int] = {}
    dupes = []
    for i, h in enumerate(table.header):
        if h in position:
            dupes.append(h)
        position.setdefault(h, i)
    head = table.header_line
    problems = list(table.problems)

    def header_problem(column: str | None, rule: str, reason: str) -> None:
        problems.append(Problem(head, column, rule, f"{table.name}: {reason}", table.unit))

    for h in sorted(set(dupes)):
        header_problem(h, "duplicate_column", f"the header has {h} more than once; which one is meant is not clear")
    for c in extract.columns:
        if c.name not in by_target:
            if c.name in position:
                by_target[c.name] = Rule(c.name, (c.name,))
            else:
                header_problem(
                    None,
                    "unmapped_contract_column",
                    f"the contract column {c.name} has no source: the file has no column {c.name} and the mapping "
                    f'does not map it; add {c.name} = "<delivered column>" under [extracts.{extract.name}.columns], '
                    f'or {c.name} = {{ value = "" }} if the delivery has none',
                )
    for r in by_target.values():
        for s in r.reads:
            if s not in position:
                header_problem(
                    s,
                    "missing_column",
                    f"the mapping reads {s} (for {r.target}), which is not in the header; the header has "
                    f"{', '.join(h for h in table.header if h) or 'no names'}",
                )
    read = {s for r in by_target.values() for s in r.reads}
    unused = [h for h in table.header if h and h not in read and h not in ignored]
    if unused:
        header_problem(
            None,
            "unmapped_column",
            f"delivered column(s) {', '.join(unused)} are neither mapped to the contract nor listed in ignore: "
            "map them, or add them to ignore = [...] so that nothing is dropped silently",
        )
    if problems:
        return Conversion(problems, unit=table.unit, header_line=head)
    ordered = [by_target[c] for c in extract.column_names]
    patterns = {r.target: date_pattern(r.date) for r in ordered if r.date}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(extract.column_names)
    lines = []
    for number, cells in table.rows:
        row = []
        for r in ordered:
            row.append(_cell(r, cells, position, table, number, patterns.get(r.target), problems, extract))
        writer.writerow(row)
        lines.append(number)
    columns = {r.target: _label(r, table, position) for r in ordered if r.reads}
    return Conversion(problems, lines, columns, unit=table.unit, header_line=head)


def _label(r: Rule, table: Table, position: Mapping[str, int]) -> str:
    if len(r.sources) > 1:
        return f"{table.label(position[r.sources[0]])}..{table.label(position[r.sources[-1]])}"
    return " + ".join(table.label(position[s]) for s in r.reads)


def _cell(
    r: Rule,
    cells: list[str],
    position: Mapping[str, int],
    table: Table,
    number: int,
    pattern: re.Pattern[str] | str | None,
    problems: list[Problem],
    extract: Extract,
) -> str:
    if r.value is not None:
        return r.value
    timestamp = extract.column(r.target).dtype == "TIMESTAMP"

    def get(source: str) -> str:
        i = position[source]
        return cells[i] if i < len(cells) else ""

    def refuse(source: str, rule: str, reason: str) -> None:
        problems.append(Problem(number, table.label(position[source]), rule, reason, table.unit))

    def date(source: str, text: str) -> str | None:
        if isinstance(text, DateText):
            # A date cell at midnight is shown without its time; a date-and-time column wants it.
            return f"{text} 00:00" if timestamp and len(text) == 10 else text
        if not isinstance(pattern, re.Pattern) or not text:
            return text
        m = pattern.fullmatch(text)
        parts = m.groupdict() if m else {}
        try:
            when = dt.datetime(
                int(parts["Y"]),
                int(parts["m"]),
                int(parts["d"]),
                int(parts.get("H") or 0),
                int(parts.get("I") or 0),
                int(parts.get("S") or 0),
            )
        except (KeyError, ValueError):
            refuse(source, "date_format", f"not a date in the declared form {r.date} (e.g. {_example(r.date or '')})")
            return None
        if extract.column(r.target).dtype == "DATE" or r.birth:
            return when.strftime("%Y-%m-%d")
        return when.strftime("%Y-%m-%d %H:%M" + (":%S" if "SS" in (r.date or "") else ""))

    if r.birth and r.at:
        born, at = date(r.birth, get(r.birth)), date(r.at, get(r.at))
        if not born or not at:
            return ""
        days = []
        for source, text in ((r.birth, born), (r.at, at)):
            try:
                if not _ISO_DATE.fullmatch(text[:10]):
                    raise ValueError(text)
                days.append(dt.date.fromisoformat(text[:10]))
            except ValueError:
                refuse(source, "date_format", "not a date in YYYY-MM-DD form (or declare its format: date = ...)")
        if len(days) < 2:
            return ""
        b, a = days
        return str(a.year - b.year - ((a.month, a.day) < (b.month, b.day)))
    parts = []
    for s in r.sources:
        text = get(s)
        if r.strip_dots:
            text = text.replace(".", "")
        if r.codes is not None and (text or "" in r.codes):
            if text in r.codes:
                text = r.codes[text]
            elif not r.passthrough:
                refuse(
                    s,
                    "unmapped_code",
                    f"a code the mapping's codes for {r.target} do not list: add it to "
                    f"[extracts.{extract.name}.columns] {r.target}.codes, "
                    "or set passthrough = true to keep codes as delivered",
                )
        got = date(s, text)
        parts.append(text if got is None else got)
    if r.join is not None:
        return r.join.join(p for p in parts if p)
    return parts[0]


def _example(form: str) -> str:
    return (
        form.replace("YYYY", "2023")
        .replace("MM", "04")
        .replace("DD", "01")
        .replace("HH", "09")
        .replace("MI", "30")
        .replace("SS", "00")
        .replace("M", "4")
        .replace("D", "1")
    )
