"""Great Expectations suites generated from the extract contracts.

Route: GX validates a pandas DataFrame pulled from DuckDB's typed staging
table. GX's SQL route cannot read DuckDB in GX 1.24 (results are fetched
after the pooled connection is returned: fivetran/great_expectations#10738,
#11579; the native engine PR #12084 is unreleased) and, even patched, has
no regex support for the duckdb dialect. The pandas datasource is GX's
supported, complete path; parsing and type casting, which DuckDB does far
faster, happen before GX sees the data (``metrics.ingest.load``). Each
expectation carries its column, rule and reason in ``meta`` and runs with
``COMPLETE`` results so every failing CSV line (the frame's index) is kept. Columns declared
alike are validated together on a long frame (``column_groups``), each failing value keeping its
line and column.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metrics.contracts import Extract
from metrics.core import atomic
from metrics.core.periods import Period
from metrics.core.results import Problem
from metrics.validate.kinds import kind_of
from metrics.validate.rules import Rule, contract_rules

log = logging.getLogger(__name__)

COMPLETE = {"result_format": "COMPLETE"}


# Files up to this many rows are validated by GX whole; larger ones as flagged lines plus a sample
# (``metrics.ingest.load._gx_frame``), every row being checked by the same rules in SQL (``metrics.validate.sql``).
GX_MAX_ROWS = 100_000


def gx_max_rows() -> int:
    """``GX_MAX_ROWS``, or the ``SCORECARD_GX_MAX_ROWS`` environment variable when set."""
    value = os.environ.get("SCORECARD_GX_MAX_ROWS", "")
    if not value:
        return GX_MAX_ROWS
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"SCORECARD_GX_MAX_ROWS must be a whole number of rows >= 1, not {value!r}")
    return int(value)


# Columns declared alike (same type and the same single-column checks, e.g. the population
# extract's 91 single-year-age counts and its total, each required and >= 0) are validated as one
# long column when at least this many share a declaration (``column_groups``). GX's cost is per
# expectation per validation (about 20-25 ms of its Python each, measured with cProfile, issue #16),
# not per value: 92 columns x 2 rules are 184 expectations wide and 2 long. The long frame is a
# validation of its own, which costs about as much as 3 expectations (~60 ms CPU, measured on the
# demo): the only other alike columns in the contracts are pairs (an id and a person id), which a
# long frame would make slower, hence the margin.
GROUP_MIN_COLUMNS = 8

# The long frame's columns: the CSV line, the column the value came from, the value.
LINE, COLUMN, VALUE = "_line", "_column", "_value"

_SINGLE_COLUMN = frozenset({"required", "pattern", "code", "range", "date_window"})


@dataclass(frozen=True)
class ColumnGroup:
    """Columns whose single-column rules differ only in the column: validated together, long."""

    columns: tuple[str, ...]
    # Each rule of the group, per column (the reason names the column, as the SQL form reports it).
    rules: tuple[dict[str, Rule], ...]

    def template(self, i: int) -> Rule:
        """Rule ``i`` of the group, on the long frame's value column."""
        return dataclasses.replace(self.rules[i][self.columns[0]], column=VALUE)


def column_groups(extract: Extract, period: Period) -> tuple[list[Rule], list[ColumnGroup]]:
    """The contract's rules for ``period`` split into those validated on the delivered (wide) frame
    and the groups of alike columns validated on a long frame (``GROUP_MIN_COLUMNS``)."""
    rules = contract_rules(extract, period)
    dtype = {c.name: c.dtype for c in extract.columns}
    per_column: dict[str, list[Rule]] = {}
    for r in rules:
        if r.rule in _SINGLE_COLUMN:
            per_column.setdefault(r.column, []).append(r)
    alike: dict[tuple[Any, ...], list[str]] = {}
    for column, own in per_column.items():
        profile = (dtype[column], *(dataclasses.replace(r, column="", reason="") for r in own))
        alike.setdefault(profile, []).append(column)
    grouped: set[str] = set()
    groups = []
    for columns in alike.values():
        if len(columns) >= GROUP_MIN_COLUMNS:
            grouped.update(columns)
            n = len(per_column[columns[0]])
            groups.append(ColumnGroup(tuple(columns), tuple({c: per_column[c][i] for c in columns} for i in range(n))))
    wide = [r for r in rules if not (r.rule in _SINGLE_COLUMN and r.column in grouped)]
    return wide, groups


def _meta(column: str | None, rule: str, reason: str) -> dict[str, Any]:
    return {"column": column, "rule": rule, "reason": reason}


def build_expectations(extract: Extract, period: Period) -> list[Any]:
    """The GX suite of one extract and delivery period for the delivered (wide) frame: every rule
    but those of the alike-column groups (``group_expectations``)."""
    import great_expectations as gx

    E = gx.expectations
    wide, _ = column_groups(extract, period)
    out: list[Any] = [
        E.ExpectTableColumnsToMatchOrderedList(
            column_list=extract.column_names, meta=_meta(None, "columns", "columns differ from the contract")
        )
    ]
    # Each kind's expectation sits beside its SQL form in metrics.validate.kinds.
    out += [kind_of(r).gx(E, r, _meta(r.column, r.rule, r.reason)) for r in wide]
    return out


def group_expectations(group: ColumnGroup) -> list[Any]:
    """The suite of one alike-column group's long frame: each rule once, on the value column. The
    Data Docs show which columns it covers (``description``); each failing value is reported with
    its CSV line and column (``unexpected_index_column_names``)."""
    import great_expectations as gx

    E = gx.expectations
    names = ", ".join(group.columns)
    out = []
    for i in range(len(group.rules)):
        r = group.template(i)
        e = kind_of(r).gx(E, r, {"rule": r.rule, "group_rule": i, "columns": list(group.columns)})
        bounds = f" (minimum {r.low}, maximum {r.high})" if r.rule in ("range", "date_window") else ""
        e.description = (
            f"{kind_of(r).doc}{bounds}: each of the {len(group.columns)} columns {names}, "
            f"as one long column of (CSV line, column, value)"
        )
        out.append(e)
    return out


def long_frame(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of the wide ``frame`` (index: CSV line) stacked into (line, column, value) rows."""
    parts = [frame[c] for c in columns]
    if len({str(p.dtype) for p in parts}) > 1 and all(pd.api.types.is_integer_dtype(p.dtype) for p in parts):
        parts = [p.astype("Int64") for p in parts]  # DuckDB gives int32 or, with NULLs, Int32
    n = len(frame)
    return pd.DataFrame(
        {
            LINE: np.tile(frame.index.to_numpy(), len(columns)),
            COLUMN: np.repeat(np.array(columns, dtype=object), n),
            VALUE: pd.concat(parts, ignore_index=True) if parts else pd.Series(dtype=object),
        }
    )


# A batch's own columns (``batch_frame``): the quarter a row was delivered for, and per windowed
# column the two ends of that quarter's window.
PERIOD = "_period"


def _window_columns(column: str) -> tuple[str, str]:
    return f"_window_low_{column}", f"_window_high_{column}"


def batchable(extract: Extract, period: Period) -> bool:
    """Whether the extract's quarters can be validated as one batch (``Validator.validate_batch``):
    a date window on an alike-column group's long frame would need its bounds there too, and none of
    the contracts has one, so such an extract is simply validated a file at a time."""
    _, groups = column_groups(extract, period)
    return not any(r.rule == "date_window" for g in groups for rules in g.rules for r in rules.values())


def batch_frame(extract: Extract, frames: Sequence[tuple[Period, pd.DataFrame]]) -> pd.DataFrame:
    """The typed frames of several quarters of one extract as one frame (index: its row number), each
    row carrying its CSV line, its quarter and, per windowed column, that quarter's window."""
    parts = []
    for period, frame in frames:
        part = frame.reset_index()
        part[PERIOD] = period.label
        for r in contract_rules(extract, period):
            if r.rule == "date_window":
                low, high = _window_columns(r.column)
                part[low], part[high] = r.low, r.high
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def batch_name(extract: Extract, periods: Sequence[Period]) -> str:
    """``apc_spells_2020-21-Q3_to_2023-24-Q2_12_quarters``: the batch's suite and Data Docs pages."""
    return f"{extract.name}_{periods[0].label}_to_{periods[-1].label}_{len(periods)}_quarters"


def batch_expectations(extract: Extract, periods: Sequence[Period]) -> list[Any]:
    """The suite of a batch of quarters (``batch_frame``): the wide suite, with each date window a
    pair of column-pair expectations against the row's own quarter's bounds (instead of constants of
    one quarter) and ``_period`` in every uniqueness key. It is never less strict than the suites of
    the files one by one: a compound key whose columns are all empty is checked here (there, skipped),
    which can only fail the batch, and a failed batch is validated again file by file."""
    import great_expectations as gx

    E = gx.expectations
    wide, _ = column_groups(extract, periods[0])
    windows = [c for r in wide if r.rule == "date_window" for c in _window_columns(r.column)]
    columns = E.ExpectTableColumnsToMatchOrderedList(
        column_list=[LINE, *extract.column_names, PERIOD, *windows],
        meta=_meta(None, "columns", "columns differ from the contract"),
    )
    # The Data Docs say which files the batch is: the quarters validated in it.
    columns.description = (
        f"one batch of the {extract.filename} of {len(periods)} quarters: {', '.join(p.label for p in periods)} "
        f"(each row with its CSV line, its quarter in {PERIOD} and its quarter's date windows)"
    )
    out: list[Any] = [columns]
    for r in wide:
        if r.rule == "date_window":
            low, high = _window_columns(r.column)
            reason = f"{r.column} outside its quarter's window"
            out += [
                E.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=a,
                    column_B=b,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                    meta=_meta(r.column, r.rule, reason),
                )
                for a, b in ((r.column, low), (high, r.column))
            ]
        elif r.rule == "unique":
            out.append(
                E.ExpectCompoundColumnsToBeUnique(
                    column_list=[PERIOD, *r.columns],
                    ignore_row_if="any_value_is_missing" if len(r.columns) == 1 else "all_values_are_missing",
                    meta=_meta(r.column, r.rule, r.reason),
                )
            )
        else:
            out.append(kind_of(r).gx(E, r, _meta(r.column, r.rule, r.reason)))
    return out


class Validator:
    """One GX context per run; every extract's result lands in the run's Data Docs.

    What a run pays GX for, and why (measured on the demo, cProfile, issue #16): the validation
    itself and one Data Docs build. Earlier versions also paid for:

    - ``add_or_update`` on the suite, validation definition and checkpoint factories: the checkpoint's
      ``add_or_update`` re-``add_or_update``s its validation definitions, which re-``add_or_update``
      their suite, and a suite's ``add_or_update`` looks up every expectation in the stored suite with
      ``list.index`` (``Expectation.__eq__`` serialises both sides): quadratic in the suite's size
      (193 expectations for the population extract), about 40% of GX's time. Each suite is new to
      this run's ephemeral context, so a plain ``add`` is exact;
    - a checkpoint with an ``UpdateDataDocsAction`` per file, which rebuilds the whole site (every
      result so far) after every file: quadratic in the number of files. GX needs no checkpoint to
      validate and store a result (``ValidationDefinition.run`` writes it to the validation results
      store); the site is built once, in :meth:`finish`;
    - one expectation per column and rule on wide files: the population extract's 92 alike count
      columns made 184 of its 193 expectations, now 2 on their long frame (``column_groups``);
    - one validation per file: a run of 12 quarters paid for each suite 12 times (about 2.2 s of CPU
      per quarter); the clean quarters of an extract are now one validation (:meth:`validate_batch`).
    """

    def __init__(self, docs_dir: Path) -> None:
        # No analytics calls from a machine that may have no internet (set here, not at import, so
        # importing this module changes nothing; an explicit setting in the environment wins).
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.docs_dir = docs_dir
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._source = self.context.data_sources.add_pandas(name="extracts")
        self._definitions: dict[str, Any] = {}
        self._results = 0  # validation results stored this run (each becomes a Data Docs page)
        # Validations of each extract this run (a batch of quarters counts once): issue #16's measure.
        self.validations: Counter[str] = Counter()

    def validate(self, extract: Extract, period: Period, frame: pd.DataFrame) -> list[Problem]:
        """Validate a typed frame whose index is the CSV line number: the frame itself, then each
        alike-column group's long frame (``column_groups``)."""
        wide, groups = self._definitions_for(extract, period)
        problems = self._problems(wide.run(batch_parameters={"dataframe": frame}, result_format=COMPLETE))
        for group, definition in groups:
            run = definition.run(
                batch_parameters={"dataframe": long_frame(frame, group.columns)},
                result_format={**COMPLETE, "unexpected_index_column_names": [LINE, COLUMN]},
            )
            problems += self._problems(run, group)
        self._results += 1 + len(groups)
        self.validations[extract.name] += 1
        return problems

    def validate_batch(self, extract: Extract, frames: Sequence[tuple[Period, pd.DataFrame]]) -> bool:
        """Validate several quarters' typed frames of one extract (oldest first) as one batch; True if
        every expectation passed, i.e. each file passed GX.

        Why: GX costs about 21-30 ms of its own Python per expectation per validation, whatever the
        rows (issue #16), so a run of 12 quarters validated file by file paid 12 times for the same
        suites. Only files every other check found clean are batched (``metrics.ingest.run``), so a
        batch almost always passes; when it does not, the caller validates its files again one by one
        (``validate``), which reports every problem with its own file, line and column as always."""
        periods = [p for p, _ in frames]
        batch = batch_frame(extract, frames)
        name = batch_name(extract, periods)
        if name not in self._definitions:  # built once per run, as the files' own (_definitions_for)
            _, groups = column_groups(extract, periods[0])
            self._definitions[name] = (
                self._add(name, batch_expectations(extract, periods)),
                [(g, self._add(_group_name(name, g), group_expectations(g))) for g in groups],
            )
        wide, groups = self._definitions[name]
        passed = bool(wide.run(batch_parameters={"dataframe": batch}).success)
        for group, definition in groups:
            long = long_frame(batch, group.columns)
            passed = bool(definition.run(batch_parameters={"dataframe": long}).success) and passed
        self._results += 1 + len(groups)
        self.validations[extract.name] += 1
        return passed

    @staticmethod
    def _problems(run: Any, group: ColumnGroup | None = None) -> list[Problem]:
        """Each failing line of a validation result; on a group's long frame, with its column and
        that column's own rule and reason (exactly as the wide expectation would report them)."""
        problems: list[Problem] = []
        for r in run.results:
            if r.success:
                continue
            m = r.expectation_config.meta or {}
            rule, reason, column = m.get("rule", "gx"), m.get("reason", "failed"), m.get("column")
            if r.exception_info.get("raised_exception"):
                msg = r.exception_info.get("exception_message")
                problems.append(Problem(None, column, rule, f"validation error: {msg}"))
                continue
            lines = r.result.get("unexpected_index_list")
            if group is not None:
                by_column = group.rules[int(m["group_rule"])]
                for entry in lines or []:
                    own = by_column[entry[COLUMN]]
                    problems.append(Problem(int(entry[LINE]), own.column, own.rule, own.reason))
                if not lines:
                    problems.append(Problem(None, None, rule, f"{rule} failed on {', '.join(group.columns)}"))
                continue
            if not lines:
                problems.append(Problem(None, column, rule, reason))
                continue
            problems.extend(Problem(int(_line(i)), column, rule, reason) for i in lines)
        return problems

    def _definitions_for(self, extract: Extract, period: Period) -> tuple[Any, list[tuple[ColumnGroup, Any]]]:
        """The validation definitions of an extract and period, built once per run (the suites' date
        windows depend on the period): the wide frame's and each alike-column group's. Added with
        ``add``, never ``add_or_update`` (see the class)."""
        name = f"{extract.name}_{period.label}"
        if name not in self._definitions:
            _, groups = column_groups(extract, period)
            self._definitions[name] = (
                self._add(name, build_expectations(extract, period)),
                [(g, self._add(_group_name(name, g), group_expectations(g))) for g in groups],
            )
        return self._definitions[name]

    def _add(self, name: str, expectations: list[Any]) -> Any:
        gx = self._gx
        batch = self._source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("whole")
        suite = self.context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        return self.context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))

    @property
    def index_page(self) -> Path:
        return self.docs_dir / "index.html"

    def render(self, folder: Path) -> None:
        """GX's own Data Docs site of this run's results and suites, written to ``folder`` as GX
        writes it: NOT safe to open (cell values as markup, CDN scripts; ``metrics.validate.datadocs``)."""
        site = f"run_docs_{secrets.token_hex(4)}"
        self.context.add_data_docs_site(
            site_name=site,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder.resolve())},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        try:
            self.context.build_data_docs(site_names=[site])
        finally:
            self.context.delete_data_docs_site(site)

    def finish(self) -> Path | None:
        """Build this run's Data Docs once, make them safe and offline, and add them to ``docs_dir``.

        The site is rendered into a hidden folder beside ``docs_dir`` and sanitised there; only then
        is each page renamed into place (one rename per file, as ``metrics.core.atomic`` does), so
        ``docs_dir`` never holds an unsafe or half-written page, and a failed build leaves it as it
        was. Pages of earlier runs stay; the index lists them all."""
        from metrics.validate.datadocs import make_safe, sanitise_tree

        if self._results:
            self.docs_dir.parent.mkdir(parents=True, exist_ok=True)
            staging = atomic.temp_name(self.docs_dir)
            try:
                self.render(staging)
                sanitise_tree(staging)
                for sub in ("validations", "expectations", "static"):
                    for page in sorted((staging / sub).rglob("*")) if (staging / sub).is_dir() else []:
                        if page.is_file():
                            target = self.docs_dir / page.relative_to(staging)
                            target.parent.mkdir(parents=True, exist_ok=True)
                            os.replace(page, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return make_safe(self.docs_dir)


def _group_name(name: str, group: ColumnGroup) -> str:
    """``population_2023-24-Q2_columns_all_ages_to_90plus``: a plain file name for its Data Docs pages."""
    ends = (re.sub(r"[^A-Za-z0-9_-]", "_", c.replace("+", "plus")) for c in (group.columns[0], group.columns[-1]))
    return f"{name}_columns_{'_to_'.join(ends)}"


def _line(index_entry: Any) -> Any:
    """GX reports the frame index bare, or (multi-column expectations) in a dict beside the values."""
    if isinstance(index_entry, dict):
        return index_entry["_line"] if "_line" in index_entry else next(iter(index_entry.values()))
    return index_entry
