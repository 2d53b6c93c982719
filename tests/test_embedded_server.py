"""Which Prefect server ``scorecard run`` uses: the user's (``PREFECT_API_URL`` in the environment, a
``.env``, ``prefect.toml`` or ``pyproject.toml`` in the working folder, or the active profile), else the
embedded one it starts itself before the heavy imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH", "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # no .env, prefect.toml or pyproject.toml of the repository's
    return tmp_path


def test_no_configured_server_by_default(home: Path) -> None:
    assert server.configured_api_url() is None


def test_the_environment_names_the_users_server_and_nothing_is_started(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert server.configured_api_url() == "http://127.0.0.1:4200/api"
    assert server.start_embedded() is None


def test_the_active_profile_names_the_users_server(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What `prefect config set PREFECT_API_URL=...` writes into PREFECT_HOME/profiles.toml.
    (home / "profiles.toml").write_text(
        'active = "work"\n\n[profiles.ephemeral]\nPREFECT_SERVER_ALLOW_EPHEMERAL_MODE = "true"\n\n'
        '[profiles.work]\nPREFECT_API_URL = "http://prefect.example:4200/api"\n',
        encoding="utf-8",
    )
    assert server.configured_api_url() == "http://prefect.example:4200/api"
    assert server.start_embedded() is None
    # PREFECT_PROFILE chooses another profile, which has none.
    monkeypatch.setenv("PREFECT_PROFILE", "ephemeral")
    assert server.configured_api_url() is None


def test_the_embedded_server_turned_off_starts_nothing(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false")
    assert server.start_embedded() is None


def _prefects_own(folder: Path) -> str | None:
    """The API URL Prefect itself resolves from ``folder`` (its settings sources, in a fresh process)."""
    code = "from prefect.settings import Settings; print(Settings().api.url or '')"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    out = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip() or None


FILES = {
    ".env": "PREFECT_API_URL=http://dotenv.example:4200/api\n",
    "prefect.toml": '[api]\nurl = "http://prefect-toml.example:4200/api"\n',
    "pyproject.toml": '[project]\nname = "x"\n\n[tool.prefect.api]\nurl = "http://pyproject.example:4200/api"\n',
}


@pytest.mark.parametrize(
    "present",
    [[".env"], ["prefect.toml"], ["pyproject.toml"], [".env", "prefect.toml"], ["prefect.toml", "pyproject.toml"]],
)
def test_a_server_named_in_the_working_folder_is_found_as_prefect_finds_it(home: Path, present: list[str]) -> None:
    """Each file Prefect reads a setting from in the working folder, alone and with the next in
    Prefect's order: the URL found without importing Prefect is the one Prefect resolves, and nothing
    is started (an embedded server would have taken the run away from the user's)."""
    folder = Path.cwd()
    for name in present:
        (folder / name).write_text(FILES[name], encoding="utf-8")
    found = server.configured_api_url()
    assert found is not None and found == _prefects_own(folder)
    assert server.start_embedded() is None


def test_a_working_folder_without_settings_leaves_prefect_nothing_either(home: Path) -> None:
    (Path.cwd() / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert server.configured_api_url() is None and _prefects_own(Path.cwd()) is None
