"""Prefect's embedded server for ``scorecard run``, started before the heavy imports.

Left to itself, Prefect starts its temporary server (``SubprocessASGIServer``) at the first API call,
i.e. after the CLI has spent seconds importing Prefect, GX, DuckDB and matplotlib, and then waits
seconds more, serially, while the server imports itself and migrates its SQLite database. Starting the
same server process first lets both happen at once (the server is a separate process, so on two cores
the waits overlap instead of adding up). Nothing else changes: the same command Prefect runs, the same
database in ``PREFECT_HOME``, no UI, no accounts; the run is pointed at it with ``PREFECT_API_URL``.

This module imports nothing heavy (no Prefect, no httpx at import time) so that starting the server
costs milliseconds. A server the user configured (``PREFECT_API_URL`` in the environment, a ``.env``,
``prefect.toml`` or ``pyproject.toml`` in the working folder, or the active Prefect profile) is used as
it is and nothing is started.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

# The environment Prefect gives its own temporary server (prefect.server.api.server
# SubprocessASGIServer._run_uvicorn_command in Prefect 3.9): no UI, treated as ephemeral.
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
# uvicorn exits with 3 when its start-up fails: a port taken since we chose it (then another port is
# chosen), but also any other failure (e.g. a PREFECT_HOME it cannot write), which is reported as such.
STARTUP_FAILED = 3
PORT_RETRIES = 5


def configured_api_url() -> str | None:
    """The Prefect API URL the user set, read without importing Prefect, from the sources Prefect 3
    reads, in its order (``prefect.settings.base.PrefectBaseSettings.settings_customise_sources``):
    the environment, a ``.env`` file, ``prefect.toml`` (``[api] url``) and ``pyproject.toml``
    (``[tool.prefect.api] url``) in the working folder, then the active profile of
    ``PREFECT_HOME/profiles.toml`` (what ``prefect config set`` writes). Missing this would start an
    embedded server and point the run at it instead of the user's server."""
    if url := os.environ.get("PREFECT_API_URL"):
        return url
    if Path(".env").is_file():
        import dotenv  # Prefect's own .env reader (python-dotenv, a dependency of its settings)

        if url := dotenv.dotenv_values(".env").get("PREFECT_API_URL"):
            return url
    for name, table in (("prefect.toml", ("api",)), ("pyproject.toml", ("tool", "prefect", "api"))):
        section: object = _toml(Path(name))
        for key in table:
            section = section.get(key, {}) if isinstance(section, dict) else {}
        if isinstance(section, dict) and section.get("url"):
            return str(section["url"])
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    profiles = _toml(path)  # none (the default), or one Prefect itself will complain about
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active")
    settings = profiles.get("profiles", {}).get(active, {}) if isinstance(active, str) else {}
    url = settings.get("PREFECT_API_URL") if isinstance(settings, dict) else None
    return str(url) if url else None


def _toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables, or nothing when it is absent or unreadable (Prefect reports a bad one)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _taken(port: int) -> bool:
    """Whether something else now listens on (or holds) the loopback port."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class EmbeddedServer:
    """A temporary local Prefect server process: ``start`` returns at once, ``wait_ready`` blocks until
    it answers ``/health``, ``stop`` ends it (also called at exit, in case)."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        # The server's own error output, kept to say why it failed (uvicorn logs errors only).
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        spec = importlib.util.find_spec("prefect")  # the package's folder, without importing it
        assert spec is not None and spec.submodule_search_locations, "prefect is a dependency"
        app_dir = Path(next(iter(spec.submodule_search_locations))).parent
        self.port = _free_port()
        self.starts += 1
        self.errors.seek(0)
        self.errors.truncate()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(app_dir),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={**os.environ, **SERVER_ENV},
            stderr=self.errors,
        )

    def _why(self) -> str:
        """The last lines the server wrote to its error output (its own message of what failed)."""
        self.errors.seek(0)
        text = self.errors.read().decode("utf-8", "replace")
        # A traceback's frames are indented; its exception line and the server's log lines are not.
        lines = [
            ln
            for ln in text.splitlines()
            if ln.strip() and not ln[0].isspace() and ln != "Traceback (most recent call last):"
        ]
        return " | ".join(lines[-3:])

    def wait_ready(self, timeout: float) -> str:
        """Block until the server answers; its API URL. Raises ``RuntimeError`` naming the cause."""
        import httpx

        deadline = time.monotonic() + timeout
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                code = self.process.poll()
                if code == STARTUP_FAILED and _taken(self.port) and self.starts < PORT_RETRIES:
                    self.start()  # another process took the port between choosing and binding it
                    continue
                if code is not None:
                    why = self._why()
                    home = os.environ.get("PREFECT_HOME") or "~/.prefect"
                    raise RuntimeError(
                        f"Prefect's embedded server exited with status {code} before it was ready"
                        + (f" ({why})" if why else "")
                        + f"; check that PREFECT_HOME ({home}) is a folder you can write to"
                    )
                try:
                    if client.get(f"{self.api_url}/health", timeout=5).status_code == 200:
                        return self.api_url
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(
            f"Prefect's embedded server did not answer within {timeout:g} s "
            "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS raises the limit)"
        )

    def stop(self) -> None:
        """End the server as Prefect ends its own: terminate, then kill after 5 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            self.errors.close()
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.errors.close()


def start_embedded() -> EmbeddedServer | None:
    """Start Prefect's temporary server now unless the user configured one (or turned the embedded
    server off with ``PREFECT_SERVER_ALLOW_EPHEMERAL_MODE=false``); ``None`` when nothing was started."""
    allowed = os.environ.get("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true").strip().lower()
    if configured_api_url() or allowed in ("false", "0", "no", "off"):
        return None
    server = EmbeddedServer()
    server.start()
    return server
