"""Run Python code without root's override of file permissions, so ``chmod`` means what it says.

The tests run as root, and root reads a ``chmod 000`` file and writes into a ``chmod 555`` folder
(``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``). A child process that drops those two capabilities
(still uid 0, so the interpreter under /root stays reachable) meets permissions as any user does.
As a normal user the code runs as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_DROP_OVERRIDE = """
import ctypes, os
if os.geteuid() == 0:
    class _Head(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class _Caps(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
    _libc = ctypes.CDLL(None, use_errno=True)
    _head, _caps = _Head(0x20080522, 0), (_Caps * 2)()
    assert _libc.capget(ctypes.byref(_head), _caps) == 0
    _keep = ~((1 << 1) | (1 << 2)) & 0xFFFFFFFF  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    for _field in ("effective", "permitted", "inheritable"):
        setattr(_caps[0], _field, getattr(_caps[0], _field) & _keep)
    assert _libc.capset(ctypes.byref(_head), _caps) == 0, ctypes.get_errno()
"""


def run_unprivileged(script: str) -> Any:
    """Run ``script`` (which must print one JSON document last) without the permission override;
    returns the parsed JSON. Threads are started after the drop, so DuckDB's threads inherit it."""
    code = _DROP_OVERRIDE + textwrap.dedent(script)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
