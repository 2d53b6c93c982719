"""Outputs are written whole or not at all: a writer that fails half-way (a full disk, a bug) leaves
no file and no temporary file behind, and an existing good copy is left untouched."""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure  # charts.py imports it only when drawing

from metrics.core import atomic, registry
from metrics.core.errors import EnvironmentProblem
from metrics.publish import charts, nhse_return, scorecard_workbook
from metrics.publish.html import write_scorecard
from metrics.publish.manifest import write_manifest
from tests.test_charts import _history
from tests.test_nhse_return import GENERATED, HWB, NAME, Q2, _results

# After the simulated full disk, xlsxwriter's abandoned ZipFile tries again to write its end record
# when garbage-collected (into the deleted temporary file); that retry is the simulation's, not a leak.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

# Each writer, given an output folder, writes its file(s) there and returns their paths.
WRITERS: dict[str, Callable[[Path], list[Path]]] = {
    "manifest": lambda d: [write_manifest(d / "manifest.json", {"period": Q2.label, "results": list(range(2000))})],
    "html": lambda d: [write_scorecard(d / "scorecard.html", "<!doctype html><p>" + "x" * 20_000 + "</p>")],
    "nhse_return": lambda d: [nhse_return.write_return(d / "return.xlsx", _results(), HWB, NAME, Q2, GENERATED)],
    "scorecard_workbook": lambda d: [
        scorecard_workbook.write_scorecard_workbook(
            d / "scorecard.xlsx", registry.scorecard("bcf"), _results(), [], HWB, NAME, Q2, GENERATED, 5
        )
    ],
    "chart": lambda d: charts.trend_chart(registry.get("avoidable_admissions"), HWB, NAME, _history(), d),
    "spc_chart": lambda d: charts.spc_chart(registry.get("avoidable_admissions"), HWB, NAME, _history(), d),
}


def _state(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with its SHA-256 (temporary files included)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _good_copies(kind: str, folder: Path) -> dict[str, str]:
    """A previous run's outputs in ``folder``; their names and hashes."""
    WRITERS[kind](folder)
    state = _state(folder)
    assert state and not any(n.endswith(atomic.TEMP_SUFFIX) for n in state)
    return state


class _FullDisk:
    """A file whose disk fills after ``room`` bytes: the first part is written, then ENOSPC."""

    def __init__(self, fh: Any, room: int) -> None:
        self._fh, self._room = fh, room

    def write(self, data: Any) -> int:
        data = bytes(data) if not isinstance(data, str) else data
        if len(data) > self._room:
            self._fh.write(data[: self._room])
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return int(self._fh.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def __iter__(self) -> Any:
        return iter(self._fh)


def _fill_disk_in(folder: Path, monkeypatch: pytest.MonkeyPatch, room: int = 300) -> list[Path]:
    """Every file opened for writing in ``folder`` gets ``room`` bytes of disk; returns those opened."""
    real_open = builtins.open
    opened: list[Path] = []

    def open_on_full_disk(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_open(file, mode, *args, **kwargs)
        if isinstance(file, str | os.PathLike) and Path(file).parent == folder and set(mode) & set("wax+"):
            opened.append(Path(file))
            return _FullDisk(fh, room)
        return fh

    monkeypatch.setattr(builtins, "open", open_on_full_disk)
    monkeypatch.setattr(io, "open", open_on_full_disk)  # zipfile (xlsxwriter) opens through io.open
    return opened


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_full_disk_half_way_leaves_the_previous_copy_and_no_temporary_file(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _good_copies(kind, tmp_path)
    opened = _fill_disk_in(tmp_path, monkeypatch)
    with pytest.raises(EnvironmentProblem) as info:
        WRITERS[kind](tmp_path)
    monkeypatch.undo()
    assert opened and all(p.name.endswith(atomic.TEMP_SUFFIX) for p in opened), opened  # only temporaries
    message = str(info.value)
    assert "No space left on device" in message and "Nothing was left half-written" in message
    assert any(f"could not write {tmp_path / name}" in message for name in before), message
    assert _state(tmp_path) == before


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_full_disk_on_a_first_run_leaves_no_file_at_all(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill_disk_in(tmp_path, monkeypatch)
    with pytest.raises(EnvironmentProblem):
        WRITERS[kind](tmp_path)
    monkeypatch.undo()
    assert _state(tmp_path) == {}


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_disk_full_only_at_flush_leaves_the_previous_copy(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _good_copies(kind, tmp_path)

    def flush_fails(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_fsync", flush_fails)
    with pytest.raises(EnvironmentProblem, match="No space left on device"):
        WRITERS[kind](tmp_path)
    assert _state(tmp_path) == before


def _bug(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("a bug half-way through the workbook")


BUGS: dict[str, tuple[str, Any, str]] = {
    # writer: (module attribute to break, its module, what it breaks)
    "nhse_return": ("_write_metrics", nhse_return, "after the cover sheet"),
    "scorecard_workbook": ("_notes_sheet", scorecard_workbook, "after three sheets"),
    "chart": ("_footnote", charts, "after the axes are drawn"),
    "spc_chart": ("_spc_icons", charts, "after the limits are drawn"),
}


@pytest.mark.parametrize("kind", list(BUGS))
def test_a_writer_that_fails_half_way_leaves_the_previous_copy(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _good_copies(kind, tmp_path)
    name, module, _ = BUGS[kind]
    monkeypatch.setattr(module, name, _bug)
    with pytest.raises(RuntimeError, match="a bug half-way"):  # a bug is not dressed up as a user error
        WRITERS[kind](tmp_path)
    assert _state(tmp_path) == before


def test_an_svg_that_fails_after_the_png_was_drawn_replaces_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _good_copies("chart", tmp_path)
    savefig = Figure.savefig

    def svg_fails(self: Any, fname: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("format") == "svg":
            with open(fname, "w") as fh:
                fh.write("<svg")  # half an SVG, then the failure
            raise ValueError("svg backend failed")
        savefig(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", svg_fails)
    with pytest.raises(ValueError, match="svg backend failed"):
        WRITERS["chart"](tmp_path)
    assert _state(tmp_path) == before


def _whole(path: Path) -> bool:
    """The file is complete in its own format."""
    data = path.read_bytes()
    if path.suffix == ".json":
        return bool(json.loads(data))
    if path.suffix == ".html":
        return data.endswith(b"</p>")
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    if path.suffix == ".png":
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    return data.rstrip().endswith(b"</svg>")


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_successful_write_replaces_the_file_whole_with_normal_permissions(kind: str, tmp_path: Path) -> None:
    names = sorted(_good_copies(kind, tmp_path / "first"))
    for name in names:
        (tmp_path / name).write_bytes(b"an earlier, different copy")
    paths = WRITERS[kind](tmp_path)
    assert sorted(p.name for p in paths) == names
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == names  # no temporary left
    assert all(_whole(p) for p in paths)
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in paths} == {0o666 & ~umask}
