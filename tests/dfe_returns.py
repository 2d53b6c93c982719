"""DfE returns for the tests: the demo's records as SSDA903 and CIN census files beside the same
records as contract CSVs, and a mapping-file-shaped resolver (until the mapping loader is merged)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from metrics.contracts import Extract
from metrics.core.periods import Period
from metrics.ingest.readers import Delivery, Resolve, native
from metrics.synthetic import dfe
from metrics.synthetic import safeguarding as sg
from tests.workspace import ROOT

PERIODS = [Period.parse(p) for p in ("2023-24-Q1", "2023-24-Q2")]
PERIOD = PERIODS[-1]
LA = sg.demo_profiles()[0]
MAPPING = ROOT / "mappings" / "dfe.toml"
# Every extract the returns can deliver (dfe.toml leaves contacts and missing episodes commented out).
ALL = {
    "cs_contacts": {"format": "cin_census", "files": [dfe.CIN_FILE], "la_code": LA.code},
    "cs_missing_episodes": {"format": "ssda903_missing", "files": [dfe.MISSING_FILE], "la_code": LA.code},
}


def resolver(extracts: dict[str, dict[str, Any]]) -> Resolve:
    """A delivery per extract as a mapping file declares it (format, files in the quarter folder,
    the format's options); the contract CSV for the rest."""

    def resolve(folder: Path, extract: Extract) -> Delivery:
        spec = extracts.get(extract.name)
        if spec is None:
            return native(folder, extract)
        options = {k: v for k, v in spec.items() if k not in ("format", "files")}
        return Delivery(extract, tuple(folder / f for f in spec["files"]), spec["format"], options)

    return resolve


def shipped_mapping() -> dict[str, dict[str, Any]]:
    doc = tomllib.loads(MAPPING.read_text())
    assert doc["mapping"]["name"]
    return dict(doc["extracts"])


def write_returns(base: Path) -> tuple[Path, Path]:
    """``(returns, twins)``: the quarters' returns, and the same records as contract CSVs; both with
    the population and targets the returns do not carry."""
    returns, twins = base / "returns", base / "twins"
    for folder in (returns, twins):
        sg.generate(folder, PERIODS, [LA], seed=2022)
    for p in PERIODS:
        for e in dfe.DFE_EXTRACTS:
            (returns / p.label / e.filename).unlink()
    dfe.write(returns, PERIODS, LA, seed=2022, twins=twins)
    return returns, twins
