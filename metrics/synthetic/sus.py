"""The demo's hospital spells as a SUS APC-style extract (``sus_apc.csv``), read with
``mappings/sus_apc.toml``.

Field names are those of SUS/HES admitted patient care (NHS Digital HES APC data dictionary):
TOKEN_PERSON_ID, SUSSPELLID, PROCODE3 (provider), ADMIDATE, DISDATE, DISREADYDATE (the spell's
Discharge Ready Date), ADMIMETH, ADMISORC, CLASSPAT, EPIORDER, STARTAGE (7001-7007 under one year),
SEX (1 male, 2 female), DIAG_01 ... DIAG_20 (ICD-10 with a dot, e.g. S72.0), DISDEST, RESLADST_ONS
(local authority of residence, ONS code) and LSOA11. Dates are DD/MM/YYYY, as local extracts
often give them. The provider's type is not a SUS field: the example's two providers are RNQ
(Kettering General, an acute trust) and RP1 (Northamptonshire Healthcare, community and mental
health), recoded to the contract's acute/non_acute by the mapping.
"""

from __future__ import annotations

import csv
from pathlib import Path

from metrics.core.periods import Period

FILE = "sus_apc.csv"
DIAGNOSES = 20
PROVIDERS = {"acute": "RNQ", "non_acute": "RP1"}
SEXES = {"M": "1", "F": "2"}
# STARTAGE for a baby: 7001 under 1 day ... 7007 6-11 months (HES); the demo's age 0 is written 7005.
INFANT = "7005"
HEADER = [
    "TOKEN_PERSON_ID",
    "SUSSPELLID",
    "PROCODE3",
    "ADMIDATE",
    "DISDATE",
    "DISREADYDATE",
    "ADMIMETH",
    "ADMISORC",
    "CLASSPAT",
    "EPIORDER",
    "STARTAGE",
    "SEX",
    *(f"DIAG_{i:02d}" for i in range(1, DIAGNOSES + 1)),
    "DISDEST",
    "RESLADST_ONS",
    "LSOA11",
]


def dmy(iso: str) -> str:
    """``2023-04-01`` -> ``01/04/2023`` (empty stays empty)."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}" if iso else ""


def dotted(code: str) -> str:
    """An ICD-10 code as SUS extracts often show it: a dot after the category (S720 -> S72.0)."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def sus_row(r: dict[str, str], n: int) -> list[str]:
    diagnoses = [r["primary_diagnosis"], *(d for d in r["secondary_diagnoses"].split(";") if d)]
    if len(diagnoses) > DIAGNOSES:
        raise ValueError(f"spell {r['spell_id']} has more than {DIAGNOSES} diagnoses")
    diag = [dotted(d) for d in diagnoses] + [""] * (DIAGNOSES - len(diagnoses))
    age = r["age_at_admission"]
    return [
        r["person_id"],
        r["spell_id"],
        PROVIDERS[r["provider_type"]],
        dmy(r["admission_date"]),
        dmy(r["discharge_date"]),
        dmy(r["discharge_ready_date"]),
        r["admission_method"],
        "19",  # ADMISORC usual place of residence: not used by the metrics, ignored by the mapping
        r["patient_classification"],
        "01",
        INFANT if age == "0" else age,
        SEXES[r["sex"]],
        *diag,
        r["discharge_destination"],
        r["hwb_code"],
        f"E0102{n % 10000:04d}",
    ]


def convert(raw_dir: Path) -> list[Path]:
    """Each quarter's ``apc_spells.csv`` under ``raw_dir`` rewritten as ``sus_apc.csv``."""
    written = []
    for folder in sorted(p for p in raw_dir.iterdir() if p.is_dir() and _is_period(p.name)):
        native = folder / "apc_spells.csv"
        if not native.is_file():
            continue
        with open(native, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        out = folder / FILE
        with open(out, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(HEADER)
            w.writerows(sus_row(r, n) for n, r in enumerate(rows))
        native.unlink()
        written.append(out)
    return written


def _is_period(name: str) -> bool:
    try:
        Period.parse(name)
    except ValueError:
        return False
    return True
