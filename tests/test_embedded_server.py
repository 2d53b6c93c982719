"""Which Prefect server ``scorecard run`` uses: the user's (``PREFECT_API_URL`` in the environment or
the active profile), else the embedded one it starts itself before the heavy imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH", "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
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
