"""Find a Chromium for the browser tests, or fail with the one command that fixes it.

Order: ``$CHROMIUM``; a system Chromium or Chrome on PATH (Debian's ``chromium``); Playwright's own
build. On first use without any, Playwright's installer is tried (it needs the internet; set
``SCORECARD_NO_BROWSER_INSTALL=1`` to skip it). A missing browser is a failure, never a skip: the
page is tested as a person sees it. ``tests/conftest.py`` prints the fix before any test runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FIX = (
    "no Chromium found for the browser tests. Fix: `sudo apt-get install -y chromium poppler-utils` "
    "(Debian/Ubuntu), or `uv run playwright install chromium`, or set CHROMIUM=/path/to/chromium"
)


def find_chromium() -> str | None:
    """A usable Chromium, or None: ``$CHROMIUM``, then PATH, then Playwright's own build."""
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
    except Exception:  # any failure here means "no bundled browser"
        pass
    return None


def chromium_path() -> str:
    """The Chromium to launch; without one, try Playwright's installer once, else fail with the fix."""
    found = find_chromium()
    if found is None and not os.environ.get("SCORECARD_NO_BROWSER_INSTALL"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [sys.executable, "-m", "playwright", "install", "chromium"],
                capture_output=True, timeout=600, check=False,
            )  # fmt: skip
        found = find_chromium()
    if found is None:
        pytest.fail(FIX, pytrace=False)
    return found


def pdftoppm_path() -> str:
    found = shutil.which("pdftoppm")
    if not found:
        pytest.fail("pdftoppm not found. Fix: `sudo apt-get install -y poppler-utils`", pytrace=False)
    return found


@dataclass
class Watched:
    """What a page did while a test had it open: dialogs, requests and script errors."""

    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def remote_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]


@contextlib.contextmanager
def watched_page() -> Iterator[tuple[Any, Watched]]:
    """A headless Chromium page (no network, no sandbox, as root here) with every dialog dismissed and
    recorded, and every request and page error recorded."""
    from playwright.sync_api import sync_playwright

    seen = Watched()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: seen.requests.append(r.url))
            page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
            yield page, seen
        finally:
            browser.close()
