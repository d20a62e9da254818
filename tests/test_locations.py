"""mfa-tui's folder rules give what platformdirs gives, on Linux and on macOS alike."""

from __future__ import annotations

import itertools
import os
import pwd
from pathlib import Path

import platformdirs
import pytest
from platformdirs.api import PlatformDirsABC
from platformdirs.macos import MacOS
from platformdirs.unix import Unix

from mfa_tui import locations

# platformdirs' own class for each system: it can be asked for another system's answers.
REFERENCE: dict[str, type[PlatformDirsABC]] = {locations.LINUX: Unix, locations.MACOS: MacOS}
XDG = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
UNSET = None

# Each variable unset, absolute (with and without a trailing slash), relative, blank.
XDG_VALUES = [UNSET, "/xdg/base", "/xdg/slash/", "relative/base", "", "  ", "~/tilde"]
HOME_VALUES = [UNSET, "/home/someone", "/home/someone/", "/", "", "relative-home"]


def answers() -> dict[str, str | None]:
    return {
        "config": locations.config_dir(),
        "cache": locations.cache_dir(),
        "state": locations.state_dir(),
        "log": locations.log_dir(),
    }


def reference(system: str) -> dict[str, str | None]:
    dirs = REFERENCE[system](appname=locations.APP)
    return {
        "config": dirs.user_config_dir,
        "cache": dirs.user_cache_dir,
        "state": dirs.user_state_dir,
        "log": dirs.user_log_dir,
    }


def set_env(monkeypatch: pytest.MonkeyPatch, name: str, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("system", [locations.LINUX, locations.MACOS])
@pytest.mark.parametrize("home", HOME_VALUES)
def test_the_folders_are_platformdirs_own(
    monkeypatch: pytest.MonkeyPatch, system: str, home: str | None
) -> None:
    monkeypatch.setattr(locations, "SYSTEM", system)
    set_env(monkeypatch, "HOME", home)
    # Every variable tried with every value, each variable in turn with the others unset
    # and all of them set together: the override of one folder never moves another.
    cases = [
        *({name: value} for name, value in itertools.product(XDG, XDG_VALUES)),
        *({name: value for name in XDG} for value in XDG_VALUES),
    ]
    for case in cases:
        for name in XDG:
            set_env(monkeypatch, name, case.get(name))
        assert answers() == reference(system), (home, case)


def test_the_macos_folders_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locations, "SYSTEM", locations.MACOS)
    monkeypatch.setenv("HOME", "/Users/dev")
    for name in XDG:
        monkeypatch.delenv(name, raising=False)
    assert answers() == {
        "config": "/Users/dev/Library/Application Support/mfa-tui",
        "cache": "/Users/dev/Library/Caches/mfa-tui",
        "state": "/Users/dev/Library/Application Support/mfa-tui",
        "log": "/Users/dev/Library/Logs/mfa-tui",
    }
    assert locations.settings_file() == (
        "/Users/dev/Library/Application Support/mfa-tui/config.toml"
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", "/Users/dev/.config")
    assert locations.settings_file() == "/Users/dev/.config/mfa-tui/config.toml"
    monkeypatch.setenv("MFA_TUI_CONFIG", "~/mine.toml")
    assert locations.settings_file() == "/Users/dev/mine.toml"


def test_a_relative_home_is_the_password_databases(monkeypatch: pytest.MonkeyPatch) -> None:
    # Where os.path.expanduser would take HOME verbatim; platformdirs does not.
    monkeypatch.setattr(locations, "SYSTEM", locations.LINUX)
    monkeypatch.setenv("HOME", "relative-home")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert locations.cache_dir() == os.path.join(
        pwd.getpwuid(os.getuid()).pw_dir.rstrip("/") or "/", ".cache", "mfa-tui"
    )


@pytest.mark.parametrize(
    ("platform", "system"),
    [
        ("linux", locations.LINUX),
        ("darwin", locations.MACOS),
        ("win32", None),
        ("cygwin", None),
        ("freebsd14", None),
    ],
)
def test_the_platform_decision(platform: str, system: str | None) -> None:
    assert locations.system_of(platform) == system


def test_elsewhere_the_cached_paths_step_aside_and_platformdirs_answers(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    monkeypatch.setattr(locations, "SYSTEM", None)
    assert locations.config_dir() is None and locations.cache_dir() is None
    assert locations.state_dir() is None and locations.log_dir() is None
    assert locations.settings_file() is None
    assert locations.user_dir("config") == platformdirs.user_config_dir("mfa-tui")
    assert locations.user_dir("log") == platformdirs.user_log_dir("mfa-tui")
    # The full commands follow: the settings path is platformdirs' there.
    from mfa_tui.settings import settings_path

    assert settings_path() == Path(platformdirs.user_config_dir("mfa-tui")) / "config.toml"
