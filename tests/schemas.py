"""The shipped JSON Schemas applied to a run's outputs folder: every tidy row (Parquet and CSV header)
and the manifest, for the end-to-end tests of each scorecard."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow.parquet as pq

from metrics.publish.tidy import SCHEMA

MANIFEST_SCHEMA = SCHEMA.parent / "manifest.schema.json"


def validator(path: Path) -> jsonschema.Draft202012Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def schema_problems(folder: Path) -> list[str]:
    """Where ``results.csv``, ``results.parquet`` or ``manifest.json`` in ``folder`` break their schemas
    (empty when none): a column the schema does not declare, a row or manifest field of the wrong kind."""
    problems: list[str] = []
    declared = list(json.loads(SCHEMA.read_text(encoding="utf-8"))["properties"])
    with open(folder / "results.csv", newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    if header != declared:
        problems.append(f"results.csv columns {header} are not the schema's {declared}")
    rows = validator(SCHEMA)
    table = pq.read_table(folder / "results.parquet")
    if table.column_names != declared:
        problems.append(f"results.parquet columns {table.column_names} are not the schema's")
    if table.num_rows == 0:
        problems.append("results.parquet has no rows")
    for i, row in enumerate(table.to_pylist()):
        problems += [f"results row {i} {list(e.absolute_path)}: {e.message}" for e in rows.iter_errors(row)]
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    problems += [
        f"manifest {list(e.absolute_path)}: {e.message}" for e in validator(MANIFEST_SCHEMA).iter_errors(manifest)
    ]
    return problems
