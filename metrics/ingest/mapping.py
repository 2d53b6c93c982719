"""Mapping files: which files of a quarter folder deliver an extract, and how to read them.

A mapping file (TOML) describes one source's deliveries, e.g. an ICB's SUS APC extract::

    [mapping]
    name = "SUS APC extract (example ICB)"    # shown on the outputs (manifest, page footnote)
    description = "..."

    [extracts.apc_spells]
    format = "mapped_csv"                     # "csv", "xlsx" or another registered reader
    files = ["sus_apc.csv"]                   # inside the quarter folder, taken literally
    # every other key is the format's own option (tables allowed); the reader checks them

It is read strictly, once, before anything loads: an unknown key, a wrong type, an extract or format
that does not exist, a file name that is a path or a pattern, or an option the format's reader
refuses is a :class:`BadMapping` (a usage error, exit code 2) naming the mapping file, the key and
the fix. :meth:`MappingFile.resolve` is a :data:`~metrics.ingest.readers.Resolve`: an extract the
mapping names is delivered as it says; any other falls back to :func:`default_resolve` (the
contract's CSV, or an ``.xlsx`` of the same name).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics.contracts import EXTRACTS, Extract
from metrics.core.errors import UsageError
from metrics.ingest.readers import NATIVE, Delivery, Resolve, formats, option_problems

XLSX = "xlsx"
# The internal reader of a quarter folder holding both <extract>.csv and <extract>.xlsx: it rejects
# the extract with a plain message instead of choosing one (``metrics.ingest.formats.xlsx``).
BOTH = "_csv_and_xlsx"
_TOP_KEYS = frozenset({"mapping", "extracts"})
_MAPPING_KEYS = frozenset({"name", "description"})
_DELIVERY_KEYS = frozenset({"format", "files"})
# A delivered file is named literally: no folder, and nothing a file reader could take as a pattern.
_NOT_IN_NAMES = frozenset("/\\[]*?{}")


class BadMapping(UsageError):
    """A mapping file that cannot be used as written (exit code 2)."""


@dataclass(frozen=True)
class ExtractMapping:
    """How one extract is delivered: its files in the quarter folder, the reader and its options."""

    extract: Extract
    format: str
    files: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MappingFile:
    """A mapping file as read: its name for the outputs, where it is, its SHA-256 and deliveries."""

    name: str
    description: str
    path: Path
    sha256: str
    extracts: Mapping[str, ExtractMapping]

    def resolve(self, folder: Path, extract: Extract) -> Delivery:
        """The delivery of ``extract`` in the quarter ``folder``: as mapped, else the default."""
        mapped = self.extracts.get(extract.name)
        if mapped is None:
            return default_resolve(folder, extract)
        return Delivery(
            extract,
            tuple(folder / f for f in mapped.files),
            mapped.format,
            mapped.options,
            source=str(self.path),
            source_sha256=self.sha256,
        )

    def record(self) -> dict[str, Any]:
        """What the manifest records of the mapping."""
        return {
            "name": self.name,
            "description": self.description,
            "path": str(self.path),
            "sha256": self.sha256,
            "extracts": {
                name: {"format": m.format, "files": list(m.files)} for name, m in sorted(self.extracts.items())
            },
        }


def default_resolve(folder: Path, extract: Extract) -> Delivery:
    """Without a mapping: ``<extract>.csv`` as it is; if absent and ``<extract>.xlsx`` is there, that
    workbook (its only sheet, contract column names in row 1); both there: rejected, naming both."""
    csv = folder / extract.filename
    xlsx = csv.with_suffix(".xlsx")
    if not _exists(xlsx):
        return Delivery.native(extract, csv)
    if _exists(csv):
        return Delivery(extract, (csv, xlsx), BOTH)
    return Delivery(extract, (xlsx,), XLSX)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def resolver(mapping: MappingFile | None) -> Resolve:
    """The :data:`Resolve` of a run: the mapping's, or the default without one."""
    return default_resolve if mapping is None else mapping.resolve


# Formats whose file (or sheet) holds exactly one extract's rows.
_ONE_EXTRACT_FORMATS = frozenset({NATIVE, "mapped_csv", "xlsx"})


def load_mapping(path: Path | str) -> MappingFile:
    """Read and check a mapping file; every problem found is in one :class:`BadMapping`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadMapping(
            f"mapping file {path} does not exist\nfix: give --mapping the path of a mapping TOML file "
            "(examples in mappings/)"
        ) from None
    except IsADirectoryError:
        raise BadMapping(f"mapping file {path} is a folder\nfix: give --mapping the mapping TOML file itself") from None
    except OSError as exc:
        raise BadMapping(f"mapping file {path} cannot be read ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadMapping(f"mapping file {path} is not UTF-8 text\nfix: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadMapping(f"mapping file {path} is not valid TOML: {exc}\nfix: correct the TOML syntax there") from None
    errors: list[str] = []
    mapping = _checked(data, errors)
    if errors:
        raise BadMapping(
            f"mapping file {path}:\n" + "\n".join(f"  {e}" for e in errors) + "\nfix: correct these keys and run again"
        )
    assert mapping is not None
    name, description, extracts = mapping
    return MappingFile(name, description, path, hashlib.sha256(raw).hexdigest(), extracts)


def _checked(data: dict[str, Any], errors: list[str]) -> tuple[str, str, dict[str, ExtractMapping]] | None:
    for key in sorted(set(data) - _TOP_KEYS):
        errors.append(f"{key}: unknown key; a mapping file has only [mapping] and [extracts.<extract>] tables")
    head = data.get("mapping")
    name = description = ""
    if not isinstance(head, dict):
        errors.append('[mapping]: missing; give it a name: [mapping] name = "SUS APC extract (our ICB)"')
    else:
        for key in sorted(set(head) - _MAPPING_KEYS):
            errors.append(f"mapping.{key}: unknown key; [mapping] takes name and description")
        name = _text(head, "name", "mapping.name", errors, required=True)
        description = _text(head, "description", "mapping.description", errors)
    tables = data.get("extracts")
    extracts: dict[str, ExtractMapping] = {}
    if not isinstance(tables, dict) or not tables:
        errors.append(
            "[extracts.<extract>]: none given; add one table per extract the mapping delivers, "
            'e.g. [extracts.apc_spells] format = "mapped_csv" files = ["sus_apc.csv"]'
        )
        return None
    known_formats = formats()
    used: dict[str, tuple[str, str]] = {}
    for extract_name, table in tables.items():
        where = f"extracts.{extract_name}"
        if extract_name not in EXTRACTS:
            errors.append(f"{where}: no extract is called {extract_name!r}; use one of {', '.join(sorted(EXTRACTS))}")
            continue
        if not isinstance(table, dict):
            errors.append(f"{where}: must be a table ([{where}] with format and files)")
            continue
        extract = EXTRACTS[extract_name]
        fmt = table.get("format")
        if not isinstance(fmt, str):
            errors.append(f"{where}.format: missing or not text; give one of {', '.join(known_formats)}")
            continue
        if fmt not in known_formats:
            errors.append(f"{where}.format: no format is called {fmt!r}; use one of {', '.join(known_formats)}")
            continue
        files = _files(table.get("files"), f"{where}.files", errors)
        for f in files:
            # A table-shaped file delivers one extract, except a workbook's distinct sheets; a return
            # whose reader takes several extracts from one file (the CIN census, the ONS workbook,
            # the SSDA903 header) may be named by each of them, in that same format.
            part = f"{f} sheet {table['sheet']!r}" if isinstance(table.get("sheet"), str) else f
            if part in used and not (used[part][1] == fmt and fmt not in _ONE_EXTRACT_FORMATS):
                errors.append(f"{where}.files: {part} is already the delivery of {used[part][0]}")
            used.setdefault(part, (extract_name, fmt))
        options = {k: v for k, v in table.items() if k not in _DELIVERY_KEYS}
        if fmt == NATIVE and len(files) > 1:
            errors.append(f'{where}.files: format "csv" reads one file; give one, or another format')
        errors.extend(f"{where}.{m}" for m in option_problems(fmt, extract, options))
        extracts[extract_name] = ExtractMapping(extract, fmt, tuple(files), options)
    return name, description, extracts


def _text(table: dict[str, Any], key: str, where: str, errors: list[str], required: bool = False) -> str:
    value = table.get(key)
    if value is None:
        if required:
            errors.append(f"{where}: missing; give it as text")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        errors.append(f"{where}: must be {'non-empty ' if required else ''}text, in quotes")
        return ""
    return value


def _files(value: Any, where: str, errors: list[str]) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(f, str) for f in value):
        errors.append(f'{where}: missing or not a list of file names; e.g. files = ["sus_apc.csv"]')
        return []
    out = []
    for f in value:
        bad = sorted(_NOT_IN_NAMES & set(f))
        if not f.strip() or f in (".", "..") or bad:
            why = f"has {' '.join(bad)} in it" if bad else "is not a file name"
            errors.append(
                f"{where}: {f!r} {why}; give the file's own name inside the quarter folder, without a folder "
                "or pattern characters (the name is taken literally)"
            )
            continue
        if f in out:
            errors.append(f"{where}: {f} is named twice")
            continue
        out.append(f)
    return out
