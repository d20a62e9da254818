"""mfa-tui's own settings: a TOML file with a default for everything.

The file is `config.toml` in the user config folder (see locations.py), or wherever
`MFA_TUI_CONFIG` points. It never holds a secret: seeds live in the keyring, session
credentials in the AWS credentials file. Every value is checked on load by the rules in
settings_rules.py (the ones the cached paths apply too), and a bad one is an error
naming the key, the file and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from mfa_tui import locations, private_files, settings_rules
from mfa_tui.bounded_read import RefusedFileError, read_file
from mfa_tui.errors import ConfigError, FileWriteError
from mfa_tui.section_names import is_safe_profile_name

# The rules (keys, defaults, ranges, names) live in settings_rules, over plain values,
# so the cached paths apply the very same ones; these names stay importable from here.
from mfa_tui.settings_rules import (
    ASSUME_ROLE_MAX,
    ASSUME_ROLE_MIN,
    DEFAULT_ACTIVE_PROFILE,
    DEFAULT_SESSION_PATTERN,
    DEFAULTS,
    GET_SESSION_TOKEN_MAX,
    GET_SESSION_TOKEN_MIN,
    PROFILE_KEYS,
    SORT_ORDERS,
    TOP_KEYS,
)

# Not typing.TYPE_CHECKING: `list` would pay for importing typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ASSUME_ROLE_MAX",
    "ASSUME_ROLE_MIN",
    "DEFAULT_ACTIVE_PROFILE",
    "DEFAULT_SESSION_PATTERN",
    "GET_SESSION_TOKEN_MAX",
    "GET_SESSION_TOKEN_MIN",
    "SORT_ORDERS",
    "ProfileSettings",
    "Settings",
    "is_safe_profile_name",
    "load_settings",
    "parse_settings",
    "save_settings",
    "settings_path",
    "settings_to_dict",
]


@dataclass(frozen=True)
class ProfileSettings:
    """Per-profile overrides; None means "use the global default"."""

    session_profile: str | None = None
    duration: int | None = None
    auto_refresh: bool | None = None
    code_command: str | None = None


@dataclass(frozen=True)
class Settings:
    session_profile_pattern: str = DEFAULTS["session_profile_pattern"]
    active_profile: str = DEFAULTS["active_profile"]
    user_duration: int = DEFAULTS["user_duration"]
    role_duration: int = DEFAULTS["role_duration"]
    user_refresh_margin: int = DEFAULTS["user_refresh_margin"]
    role_refresh_margin: int = DEFAULTS["role_refresh_margin"]
    auto_refresh: bool = DEFAULTS["auto_refresh"]
    code_command: str | None = DEFAULTS["code_command"]
    code_command_timeout: float = DEFAULTS["code_command_timeout"]
    credential_process_timeout: float = DEFAULTS["credential_process_timeout"]
    agent_wait: float = DEFAULTS["agent_wait"]
    desktop_notifications: bool = DEFAULTS["desktop_notifications"]
    theme: str | None = DEFAULTS["theme"]
    sort_order: str = DEFAULTS["sort_order"]
    profiles: dict[str, ProfileSettings] = field(default_factory=dict)
    path: Path | None = None

    def for_profile(self, name: str) -> ProfileSettings:
        return self.profiles.get(name, ProfileSettings())

    def session_profile_for(self, name: str) -> str:
        """Where `name`'s temporary credentials go (never its own section)."""
        return settings_rules.session_profile(
            self.session_profile_pattern, self.for_profile(name).session_profile, name
        )

    def refresh_margin_for(self, kind: str) -> int:
        return self.role_refresh_margin if kind == "role" else self.user_refresh_margin

    def auto_refresh_for(self, name: str) -> bool:
        value = self.for_profile(name).auto_refresh
        return self.auto_refresh if value is None else value

    def with_profile(self, name: str, **changes: Any) -> Settings:
        profiles = dict(self.profiles)
        profiles[name] = replace(self.for_profile(name), **changes)
        return replace(self, profiles=profiles)


def settings_path() -> Path:
    """`$MFA_TUI_CONFIG`, else `config.toml` in the user config folder."""
    known = locations.settings_file()  # Linux and macOS: the rules every path shares
    if known is not None:
        return Path(known)
    return Path(locations.user_dir("config")) / "config.toml"


def parse_settings(data: dict[str, Any], path: Path) -> Settings:
    """Settings from a parsed file, by settings_rules' checks; ConfigError names the
    file, the key and what is allowed."""
    try:
        checked = settings_rules.validate(data, str(path))
    except settings_rules.SettingsProblem as exc:
        raise ConfigError(str(exc), title="Settings") from None
    profiles = {name: ProfileSettings(**fields) for name, fields in checked.pop("profiles").items()}
    return Settings(**checked, profiles=profiles, path=path)


def load_settings(path: Path | None = None) -> Settings:
    """Load the settings file; a missing file gives the defaults."""
    path = path or settings_path()
    try:
        # Its code_command runs as you: a file someone else could write is not read.
        raw = read_file(str(path), vet=private_files.check_trusted_file)
    except FileNotFoundError:
        return Settings(path=path)
    except private_files.UnsafePathError as exc:
        raise ConfigError(
            f"{exc}; mfa-tui does not read settings someone else could write (a "
            "code_command there would run as you)",
            title="Settings",
        ) from None
    except RefusedFileError as exc:
        raise ConfigError(f"{exc}: cannot read settings from it", title="Settings") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read settings: {exc.strerror}", title="Settings"
        ) from None
    import tomllib  # only with a settings file: it costs `list` without one

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", title="Settings") from None
    return parse_settings(data, path)


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    defaults = Settings()
    out: dict[str, Any] = {}
    for key in TOP_KEYS:
        value = getattr(settings, key)
        if value != getattr(defaults, key) and value is not None:
            out[key] = value
    profiles: dict[str, Any] = {}
    for name, prof in sorted(settings.profiles.items()):
        table = {k: getattr(prof, k) for k in PROFILE_KEYS if getattr(prof, k) is not None}
        if table:
            profiles[name] = table
    if profiles:
        out["profiles"] = profiles
    return out


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically (0600); only values that differ from defaults."""
    import tomli_w

    from mfa_tui.aws.atomic import atomic_write_bytes

    path = path or settings.path or settings_path()
    data = tomli_w.dumps(settings_to_dict(settings)).encode("utf-8")
    try:
        # Its folder is yours alone; a link there (a dotfiles repository) is followed.
        private_files.followed_target(str(path))
    except private_files.UnsafePathError as exc:
        raise FileWriteError(
            f"mfa-tui will not write its settings {path}: {exc}", title="Settings"
        ) from None
    except OSError as exc:
        raise FileWriteError(f"cannot write {path}: {exc.strerror}", title="Settings") from None
    atomic_write_bytes(path, data)
    return path
