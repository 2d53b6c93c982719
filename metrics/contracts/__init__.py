"""Extract contracts: the one declaration of every file the pipeline accepts.

``model`` defines what a contract is; each scorecard's ``scorecard.toml`` names the module declaring its
extracts (``EXTRACTS``), so a new scorecard brings its contracts module and edits nothing here.
``EXTRACTS`` maps every declared extract's name to its contract, across all scorecards.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, Mapping

from metrics.contracts.bcf import (
    APC_SPELLS,
    BCF_EXTRACTS,
    CARE_HOME_ADMISSIONS,
    HWB,
    PERSON,
    PLANS,
    POPULATION,
    REABLEMENT,
    SEX_CODES,
)
from metrics.contracts.model import ICD10, ICD10_LIST, PSEUDO_ID, Column, DType, Extract, Window, markdown_table
from metrics.contracts.safeguarding import (
    ASSESSMENTS,
    CHILD,
    CHILD_POPULATION,
    CLA_EPISODES,
    CONTACTS,
    CP_PLANS,
    LA,
    MISSING_EPISODES,
    SAFEGUARDING_EXTRACTS,
    TARGETS,
)

__all__ = [
    "APC_SPELLS",
    "ASSESSMENTS",
    "BCF_EXTRACTS",
    "CARE_HOME_ADMISSIONS",
    "CHILD",
    "CHILD_POPULATION",
    "CLA_EPISODES",
    "CONTACTS",
    "CP_PLANS",
    "EXTRACTS",
    "HWB",
    "ICD10",
    "ICD10_LIST",
    "LA",
    "MISSING_EPISODES",
    "PERSON",
    "PLANS",
    "POPULATION",
    "PSEUDO_ID",
    "REABLEMENT",
    "SAFEGUARDING_EXTRACTS",
    "SEX_CODES",
    "TARGETS",
    "Column",
    "DType",
    "Extract",
    "Window",
    "markdown_table",
]


@functools.cache
def _declared() -> dict[str, Extract]:
    """Every scorecard's contracts module, imported once; an extract name declared twice is an error."""
    from metrics.core.registry import scorecards

    found: dict[str, Extract] = {}
    for card in scorecards().values():
        module = importlib.import_module(card.contracts)
        for extract in module.EXTRACTS:
            if extract.name in found and found[extract.name] != extract:
                raise ValueError(f"extract {extract.name!r} is declared differently by two contracts modules")
            found[extract.name] = extract
        missing = [e for e in card.extracts if e not in found]
        if missing:
            raise ValueError(f"scorecard {card.id!r} names extracts {missing} that {card.contracts} does not declare")
    return found


class _Extracts(Mapping[str, Extract]):
    """``EXTRACTS[name]``: resolved on first use, so importing this package imports no scorecard's module."""

    def __getitem__(self, name: str) -> Extract:
        return _declared()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_declared())

    def __len__(self) -> int:
        return len(_declared())


EXTRACTS: Mapping[str, Extract] = _Extracts()
