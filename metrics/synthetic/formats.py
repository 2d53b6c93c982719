"""The shipped demo in the shapes analysts already have (``scorecard demo-data --formats ...``).

Each format is a converter of a folder of native demo extracts (``<period>/<extract>.csv``, as
``scorecard demo-data`` writes them): it rewrites, in place, the extracts its source delivers into
that source's own files (column names, codes, date forms) from the very same records, and removes
the native files it replaced, so a run with the matching mapping file (``mappings/``) must give the
figures the native demo gives. Add a format by adding its converter to ``FORMATS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from metrics.synthetic import case_management, sus

# name -> converter(raw_dir) -> the files written
Converter = Callable[[Path], list[Path]]
FORMATS: dict[str, Converter] = {
    "sus": sus.convert,
    "case-management": case_management.convert,
}
