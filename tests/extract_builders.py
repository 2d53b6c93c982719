"""Small hand-made extracts for tests, written through the contracts' column order."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from metrics.contracts import POPULATION, Extract


def write_extract(path: Path, extract: Extract, rows: Iterable[Mapping[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(extract.column_names)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in extract.column_names])
    return path


def spell(n: int, **kw: Any) -> dict[str, Any]:
    base = {
        "person_id": f"P{n:05d}",
        "spell_id": f"S{n:05d}",
        "admission_date": "2023-07-10",
        "discharge_date": "2023-07-12",
        "admission_method": "21",
        "age_at_admission": 70,
        "sex": "F",
        "primary_diagnosis": "R69",
        "secondary_diagnoses": None,
        "discharge_destination": "19",
        "discharge_ready_date": None,
        "patient_classification": "1",
        "provider_type": "acute",
        "hwb_code": "E06000061",
    }
    base.update(kw)
    return base


def population_rows(code: str, name: str, by_age: Mapping[str, Mapping[int, int]]) -> list[dict[str, Any]]:
    """``by_age[sex][age]``; ages not given are 0; age 90 stands for 90+."""
    rows = []
    for sex in ("M", "F"):
        ages = by_age.get(sex, {})
        row: dict[str, Any] = {
            "code": code,
            "name": name,
            "geography": "Unitary Authority",
            "sex": sex,
            "mid_year": 2022,
        }
        for c in POPULATION.columns[6:]:
            age = 90 if c.name == "90+" else int(c.name)
            row[c.name] = ages.get(age, 0)
        row["all_ages"] = sum(ages.values())
        rows.append(row)
    return rows
