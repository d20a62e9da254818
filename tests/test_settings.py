"""mfa-tui's own TOML settings: defaults, validation that names key and file, round trip."""

from __future__ import annotations

import re
import stat
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from mfa_tui.aws.names import is_safe_profile_name
from mfa_tui.errors import ConfigError
from mfa_tui.settings import (
    ProfileSettings,
    Settings,
    load_settings,
    save_settings,
    settings_path,
)
from mfa_tui.settings_rules import PROFILE_KEYS, TOP_KEYS


def test_defaults_without_a_file(isolated_env: Path) -> None:
    settings = load_settings()
    assert settings.session_profile_for("dev") == "dev-mfa"
    assert settings.active_profile == "mfa-tui"
    assert (settings.user_duration, settings.role_duration) == (43_200, 3_600)
    assert (settings.user_refresh_margin, settings.role_refresh_margin) == (600, 300)
    assert settings_path() == isolated_env / ".config" / "mfa-tui" / "config.toml"


def test_env_override_and_per_profile_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'session_profile_pattern = "{profile}-session"\n'
        "user_refresh_margin = 900\n"
        '[profiles."my-role"]\nsession_profile = "role-sess"\nduration = 1800\n'
        "auto_refresh = false\n"
    )
    monkeypatch.setenv("MFA_TUI_CONFIG", str(path))
    settings = load_settings()
    assert settings.session_profile_for("dev") == "dev-session"
    assert settings.session_profile_for("my-role") == "role-sess"
    assert settings.for_profile("my-role").duration == 1800
    assert not settings.auto_refresh_for("my-role") and settings.auto_refresh_for("dev")
    assert settings.user_refresh_margin == 900


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "user_duration = 100\n",
            "user_duration = 100 is not valid; allowed: seconds, 900..129600",
        ),
        ("user_duration = true\n", "user_duration = True is not valid"),
        ('session_profile_pattern = "fixed"\n', "session_profile_pattern"),
        ('active_profile = " a"\n', "active_profile"),
        ('active_profile = "DEFAULT"\n', "[DEFAULT] is special"),
        ("colour = 1\n", "unknown key 'colour'"),
        ('[profiles.x]\nduration = "long"\n', '[profiles."x"] duration'),
        ("[profiles.x]\nwhat = 1\n", "unknown key 'what'"),
        ("not toml =\n", "not valid TOML"),
    ],
)
def test_invalid_values_name_key_file_and_allowed(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in info.value.message
    assert words in info.value.message


def test_round_trip_writes_only_changes_0600(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.toml"
    settings = Settings(user_refresh_margin=1200).with_profile("dev", auto_refresh=False)
    save_settings(settings, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "user_refresh_margin = 1200" in text and "role_duration" not in text
    loaded = load_settings(path)
    assert loaded.user_refresh_margin == 1200
    assert loaded.for_profile("dev").auto_refresh is False


def test_every_setting_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = Settings(
        session_profile_pattern="mfa-{profile}",
        active_profile="current",
        user_duration=7_200,
        role_duration=1_800,
        user_refresh_margin=120,
        role_refresh_margin=60,
        auto_refresh=False,
        code_command="pass otp aws",
        code_command_timeout=12.5,
        agent_wait=30,
        profiles={
            "dev": ProfileSettings(session_profile="dev-s", duration=900, auto_refresh=True),
            "ops.admin": ProfileSettings(code_command="ykman oath accounts code -s ops"),
        },
    )
    save_settings(settings, path)
    assert replace(load_settings(path), path=None) == settings
    # Saved twice, the file is the same: nothing depends on order or time.
    first = path.read_bytes()
    save_settings(load_settings(path), path)
    assert path.read_bytes() == first


def test_defaults_are_not_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_settings(Settings(), path)
    assert path.read_text() == ""
    assert load_settings(path) == Settings(path=path)


def test_the_settings_file_never_holds_a_secret(tmp_path: Path) -> None:
    # Everything a settings file can hold is a known key, and none of them is a secret.
    allowed = set(TOP_KEYS) | {"profiles"}
    for key in [*TOP_KEYS, *PROFILE_KEYS]:
        assert not re.search(r"secret|token|seed|password|access_key", key), key
    path = tmp_path / "config.toml"
    save_settings(Settings(user_duration=1_000).with_profile("p", duration=1_000), path)
    data = tomllib.loads(path.read_text())
    assert set(data) <= allowed and set(data["profiles"]["p"]) <= set(PROFILE_KEYS)
    path.write_text('aws_secret_access_key = "x"\n')
    with pytest.raises(ConfigError, match="unknown key 'aws_secret_access_key'"):
        load_settings(path)


def test_settings_file_follows_mfa_tui_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "elsewhere" / "mine.toml"
    monkeypatch.setenv("MFA_TUI_CONFIG", str(path))
    assert settings_path() == path
    assert load_settings().path == path  # no file yet: defaults, remembered path
    saved = save_settings(load_settings().with_profile("x", auto_refresh=False))
    assert saved == path and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_settings().auto_refresh_for("x") is False


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("role_duration = 43201\n", "role_duration = 43201 is not valid; allowed: seconds, 900..43200"),
        ("user_refresh_margin = -1\n", "user_refresh_margin = -1 is not valid"),
        ('auto_refresh = "yes"\n', "auto_refresh = 'yes' is not valid; allowed: true or false"),
        ("code_command_timeout = 0.5\n", "code_command_timeout = 0.5 is not valid"),
        ('session_profile_pattern = "{profile} mfa "\n', "session_profile_pattern"),
        ('session_profile_pattern = "{profile}"\n', "the profile itself"),
        ('session_profile_pattern = "{profile}-{x}"\n', "session_profile_pattern"),
        ('active_profile = "mfa\\n"\n', "active_profile = 'mfa\\n' is not valid"),
        ('[profiles.x]\nsession_profile = "a]b"\n', '[profiles."x"] session_profile'),
        ("profiles = 3\n", "[profiles] must be a table"),
        ("[profiles]\nx = 3\n", "[profiles.x] must be a table"),
    ],
)  # fmt: skip
def test_more_invalid_values(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.message.startswith(f"{path}: ")
    assert words in info.value.message


def test_unreadable_settings_are_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ConfigError, match="cannot read settings"):
        load_settings(tmp_path / "dir.toml")
    (tmp_path / "bin.toml").write_bytes(b"x = '\xff'\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path / "bin.toml")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("dev", True),
        ("dev-mfa", True),
        ("a.b@c+d=e,f:g/h_i", True),
        ("x" * 300, True),
        ("a b", True),
        ("開発 role-mfa", True),
        ("[a", True),
        ("-a", True),
        ('it\'s "quoted"', True),
        ("dev\n", False),
        ("a\rb", False),
        ("a\u2028b", False),
        (" a", False),
        ("a\t", False),
        ("a]b", False),
        ("#a", False),
        (";a", False),
        ("", False),
        ("DEFAULT", False),
    ],
)
def test_safe_profile_names(name: str, safe: bool) -> None:
    assert is_safe_profile_name(name) is safe


def test_the_dashboards_settings_are_checked(tmp_path: Path) -> None:
    from mfa_tui.settings import load_settings, save_settings

    path = tmp_path / "config.toml"
    path.write_text('theme = "nord"\nsort_order = "account"\ndesktop_notifications = false\n')
    settings = load_settings(path)
    assert (settings.theme, settings.sort_order, settings.desktop_notifications) == (
        "nord",
        "account",
        False,
    )
    save_settings(settings, path)
    assert load_settings(path) == settings
    for bad in ('sort_order = "random"', 'theme = "../x"', "desktop_notifications = 1"):
        path.write_text(bad + "\n")
        with pytest.raises(ConfigError, match=bad.split(" ")[0]):
            load_settings(path)
