"""Whether a run's inputs are synthetic: the demo generator's declared marker in each quarter folder.

``scorecard demo-data`` (and every ``metrics.synthetic`` generator) writes ``SYNTHETIC_DATA.json`` into
each quarter folder it fills, naming every file it wrote with its SHA-256. Ingest records, per load,
whether the marker of its folder names its file; every output of a run that read any such file says
"synthetic demonstration data".

Why this way: a real delivery never contains a file of that exact name and form, so a real run cannot
be marked by accident; the marker travels with the folder, names files rather than contents, so a demo
file edited by hand (as the bad-input guide suggests) stays marked. A real file copied into a demo
folder is marked too: the safe side (a real figure called synthetic, never a synthetic one called
real). A marker that cannot be read is an error, not a silent "real".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from metrics.core.errors import DataRejected

MARKER = "SYNTHETIC_DATA.json"
BANNER = "Synthetic demonstration data"
# What the banner says after its first words: the figures are not about real people or services.
_NOT_REAL = "not real patients, children or services; do not use for decisions"


class MarkerError(DataRejected):
    """A marker file that is not the generator's: named, with the fix."""


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (hex), read in 1 MiB blocks: the digest the loads, markers and manifest record."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_marker(folder: Path, files: Iterable[Path], generator: str) -> Path:
    """Add ``files`` (in ``folder``) to its marker, keeping those another generator listed there."""
    path = folder / MARKER
    listed = dict(marked_files(folder))
    for f in files:
        if f.parent.resolve() != folder.resolve():
            raise ValueError(f"{f} is not in {folder}")
        listed[f.name] = sha256_of(f)
    generators = sorted({*_read(path).get("generators", []), generator}) if path.exists() else [generator]
    body = {
        "synthetic": True,
        "what": "Synthetic demonstration data written by the hwb-scorecard generator; not real records.",
        "generators": generators,
        "files": dict(sorted(listed.items())),
    }
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return path


def _read(path: Path) -> dict[str, Any]:
    fix = (
        f"fix: regenerate the folder with `scorecard demo-data`, or, if it holds real extracts only, delete {path.name}"
    )
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MarkerError(f"{path}: not a readable synthetic-data marker ({exc})\n{fix}") from exc
    files = body.get("files") if isinstance(body, dict) else None
    if (
        not isinstance(body, dict)
        or body.get("synthetic") is not True
        or not isinstance(files, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    ):
        raise MarkerError(f'{path}: not a synthetic-data marker ("synthetic": true and "files" expected)\n{fix}')
    return body


def marked_files(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 when written, for the files the folder's marker names ({} without one)."""
    path = folder / MARKER
    if not path.exists():
        return {}
    return dict(_read(path)["files"])


def is_marked(path: Path) -> bool:
    """Whether the marker of the file's folder names it (whatever its contents now)."""
    return path.name in marked_files(path.parent)


def banner(synthetic_inputs: Sequence[str], all_inputs: int) -> str:
    """The words every output of a run carries, "" for a run that read no synthetic input.

    ``synthetic_inputs`` are "<period> <extract>" labels; ``all_inputs`` counts every input read. A run
    mixing real and synthetic inputs says which quarters are synthetic: every figure is then suspect
    (a trend or year to date may include them), so the whole output is marked.
    """
    if not synthetic_inputs:
        return ""
    if len(synthetic_inputs) >= all_inputs:
        return f"{BANNER}: {_NOT_REAL}."
    quarters = sorted({s.split(" ", 1)[0] for s in synthetic_inputs})
    return (
        f"{BANNER} in part: the inputs for {', '.join(quarters)} are synthetic "
        f"({len(synthetic_inputs)} of {all_inputs} files); figures drawn from them are {_NOT_REAL}."
    )
