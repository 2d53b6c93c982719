"""Find a Chromium for the browser tests, or fail with the one command that fixes it.

Order: ``$CHROMIUM``; a system Chromium or Chrome on PATH (Debian's ``chromium``); Playwright's own
build (``playwright install chromium``, where the machine can download it). A missing browser is a
failure, never a skip: the page is tested as a person sees it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIX = (
    "no Chromium found for the browser tests. Fix: `sudo apt-get install -y chromium poppler-utils` "
    "(Debian/Ubuntu), or `uv run playwright install chromium`, or set CHROMIUM=/path/to/chromium"
)
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def chromium_path() -> str:
    candidates = [os.environ.get("CHROMIUM", "")]
    candidates += [shutil.which(n) or "" for n in ("chromium", "chromium-browser", "google-chrome", "chrome")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            bundled = pw.chromium.executable_path
        if bundled and Path(bundled).is_file():
            return str(bundled)
    except Exception:
        pass
    pytest.fail(FIX, pytrace=False)


def pdftoppm_path() -> str:
    found = shutil.which("pdftoppm")
    if not found:
        pytest.fail("pdftoppm not found. Fix: `sudo apt-get install -y poppler-utils`", pytrace=False)
    return found
