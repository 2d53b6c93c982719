"""Great Expectations suites generated from the extract contracts.

Route: GX validates a pandas DataFrame pulled from DuckDB's typed staging
table. GX's SQL route cannot read DuckDB in GX 1.24 (results are fetched
after the pooled connection is returned: fivetran/great_expectations#10738,
#11579; the native engine PR #12084 is unreleased) and, even patched, has
no regex support for the duckdb dialect. The pandas datasource is GX's
supported, complete path; parsing and type casting, which DuckDB does far
faster, happen before GX sees the data (``metrics.ingest.load``). Each
expectation carries its column, rule and reason in ``meta`` and runs with
``COMPLETE`` results so every failing CSV line (the frame's index) is kept.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from metrics.contracts import Extract
from metrics.core import atomic
from metrics.core.periods import Period
from metrics.core.results import Problem
from metrics.validate.kinds import kind_of
from metrics.validate.rules import contract_rules

log = logging.getLogger(__name__)


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


def build_expectations(extract: Extract, period: Period) -> list[Any]:
    """The GX suite for one extract and delivery period."""
    import great_expectations as gx

    E = gx.expectations

    def meta(column: str | None, rule: str, reason: str) -> dict[str, Any]:
        return {"column": column, "rule": rule, "reason": reason}

    out: list[Any] = [
        E.ExpectTableColumnsToMatchOrderedList(
            column_list=extract.column_names, meta=meta(None, "columns", "columns differ from the contract")
        )
    ]
    # Each kind's expectation sits beside its SQL form in metrics.validate.kinds.
    out += [kind_of(r).gx(E, r, meta(r.column, r.rule, r.reason)) for r in contract_rules(extract, period)]
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
      store); the site is built once, in :meth:`finish`.
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

    def validate(self, extract: Extract, period: Period, frame: pd.DataFrame) -> list[Problem]:
        """Validate a typed frame whose index is the CSV line number."""
        run = self._definition(extract, period).run(
            batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"}
        )
        self._results += 1
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
            if not lines:
                problems.append(Problem(None, column, rule, reason))
                continue
            problems.extend(Problem(int(_line(i)), column, rule, reason) for i in lines)
        return problems

    def _definition(self, extract: Extract, period: Period) -> Any:
        """The validation definition for an extract and period, built once per run (the suite's date
        windows depend on the period). Added with ``add``, never ``add_or_update`` (see the class)."""
        name = f"{extract.name}_{period.label}"
        if name in self._definitions:
            return self._definitions[name]
        gx = self._gx
        batch = self._source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("whole")
        suite = self.context.suites.add(
            gx.ExpectationSuite(name=name, expectations=build_expectations(extract, period))
        )
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        self._definitions[name] = definition
        return definition

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


def _line(index_entry: Any) -> Any:
    """GX reports the frame index bare, or (multi-column expectations) in a dict beside the values."""
    if isinstance(index_entry, dict):
        return index_entry["_line"] if "_line" in index_entry else next(iter(index_entry.values()))
    return index_entry
