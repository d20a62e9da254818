"""Shared fixtures: an isolated HOME and AWS files for every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test may read or write the real ~/.aws, settings, state or keyring."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / ".run"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.delenv("MFA_TUI_CONFIG", raising=False)
    # Set inside `mfa-tui exec`: a test run from such a shell must not see them.
    monkeypatch.delenv("MFA_TUI_CREDENTIALS_FILE", raising=False)
    monkeypatch.delenv("MFA_TUI_PROFILE", raising=False)
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield home


@pytest.fixture
def aws_dir(isolated_env: Path) -> Path:
    folder = isolated_env / ".aws"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@pytest.fixture
def chosen_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """`choose(backend)`: the keyring backend a person chose (PYTHON_KEYRING_BACKEND).
    keyring keeps the backend it loaded first, so it is loaded anew, and the old one is
    put back after the test."""
    import keyring

    saved = keyring.core._keyring_backend

    def choose(backend: str) -> None:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
        keyring.core._keyring_backend = None

    yield choose
    keyring.core._keyring_backend = saved


pytest_plugins = ["tests.moto_fixtures"]
