"""mfa-tui's own TOML settings: defaults, validation that names key and file, round trip."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mfa_tui.errors import ConfigError
from mfa_tui.settings import Settings, load_settings, save_settings, settings_path


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
        ('active_profile = "a b"\n', "active_profile"),
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
