"""mfa-tui's own settings: a TOML file with a default for everything.

The file lives at `platformdirs.user_config_dir("mfa-tui")/config.toml`, or wherever
`MFA_TUI_CONFIG` points. It never holds a secret: seeds live in the keyring, session
credentials in the AWS credentials file. Every value is checked on load, and a bad one
is an error naming the key, the file and what is allowed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mfa_tui import locations
from mfa_tui.errors import ConfigError

GET_SESSION_TOKEN_MIN = 900
GET_SESSION_TOKEN_MAX = 129_600
ASSUME_ROLE_MIN = 900
ASSUME_ROLE_MAX = 43_200

DEFAULT_SESSION_PATTERN = "{profile}-mfa"
DEFAULT_ACTIVE_PROFILE = "mfa-tui"

# How the dashboard orders its rows: recently used first (frecency), by name, by
# account, by time left, or as the config file lists them.
SORT_ORDERS = ("recent", "name", "account", "left", "config")
_THEME_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+=,:/-]{0,127}$")


def is_safe_profile_name(name: str) -> bool:
    """Names we are willing to write as an INI section header.

    Anything that could break out of `[...]` (brackets, newlines), start a comment, or
    read differently to botocore (spaces, which `[profile a b]` shlex-splits) is refused
    rather than escaped: there is no escaping in these files.
    """
    # fullmatch: with match, `$` would also accept a name ending in a newline.
    return bool(_SAFE_NAME.fullmatch(name))


@dataclass(frozen=True)
class ProfileSettings:
    """Per-profile overrides; None means "use the global default"."""

    session_profile: str | None = None
    duration: int | None = None
    auto_refresh: bool | None = None
    code_command: str | None = None


@dataclass(frozen=True)
class Settings:
    session_profile_pattern: str = DEFAULT_SESSION_PATTERN
    active_profile: str = DEFAULT_ACTIVE_PROFILE
    user_duration: int = 43_200
    role_duration: int = 3_600
    user_refresh_margin: int = 600
    role_refresh_margin: int = 300
    auto_refresh: bool = True
    code_command: str | None = None
    code_command_timeout: float = 30.0
    agent_wait: float = 120.0
    desktop_notifications: bool = True
    theme: str | None = None
    sort_order: str = "recent"
    profiles: dict[str, ProfileSettings] = field(default_factory=dict)
    path: Path | None = None

    def for_profile(self, name: str) -> ProfileSettings:
        return self.profiles.get(name, ProfileSettings())

    def session_profile_for(self, name: str) -> str:
        """Where `name`'s temporary credentials go (never its own section)."""
        override = self.for_profile(name).session_profile
        if override:
            return override
        return self.session_profile_pattern.format(profile=name)

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
    known = locations.settings_file()  # $MFA_TUI_CONFIG, or the XDG folder on Linux
    if known is not None:
        return Path(known)
    from platformdirs import user_config_dir

    return Path(user_config_dir("mfa-tui")) / "config.toml"


_TOP_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "session_profile_pattern": (str, "a name containing '{profile}', e.g. '{profile}-mfa'"),
    "active_profile": (str, "a credentials profile name, e.g. 'mfa-tui'"),
    "user_duration": (int, f"seconds, {GET_SESSION_TOKEN_MIN}..{GET_SESSION_TOKEN_MAX}"),
    "role_duration": (int, f"seconds, {ASSUME_ROLE_MIN}..{ASSUME_ROLE_MAX}"),
    "user_refresh_margin": (int, "seconds before expiry, 0..86400"),
    "role_refresh_margin": (int, "seconds before expiry, 0..86400"),
    "auto_refresh": (bool, "true or false"),
    "code_command": (str, "a shell command that prints a 6-digit code"),
    "code_command_timeout": ((int, float), "seconds, 1..600"),
    "agent_wait": ((int, float), "seconds, 1..3600"),
    "desktop_notifications": (bool, "true or false"),
    "theme": (str, "a dashboard theme name, e.g. 'nord' (ctrl+p → theme lists them)"),
    "sort_order": (str, ", ".join(repr(o) for o in SORT_ORDERS)),
}
_PROFILE_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "session_profile": (str, "a credentials profile name"),
    "duration": (int, f"seconds, {GET_SESSION_TOKEN_MIN}..{GET_SESSION_TOKEN_MAX}"),
    "auto_refresh": (bool, "true or false"),
    "code_command": (str, "a shell command that prints a 6-digit code"),
}
_RANGES: dict[str, tuple[float, float]] = {
    "user_duration": (GET_SESSION_TOKEN_MIN, GET_SESSION_TOKEN_MAX),
    "role_duration": (ASSUME_ROLE_MIN, ASSUME_ROLE_MAX),
    "user_refresh_margin": (0, 86_400),
    "role_refresh_margin": (0, 86_400),
    "code_command_timeout": (1, 600),
    "agent_wait": (1, 3_600),
    "duration": (GET_SESSION_TOKEN_MIN, GET_SESSION_TOKEN_MAX),
}


def _check(
    key: str, value: Any, spec: tuple[type | tuple[type, ...], str], path: Path, where: str
) -> Any:
    expected, allowed = spec
    # bool is an int in Python; a TOML `true` is never a valid number of seconds.
    ok = not (isinstance(value, bool) and expected is not bool) and isinstance(value, expected)
    if ok and key in _RANGES and not isinstance(value, bool):
        low, high = _RANGES[key]
        ok = low <= value <= high
    if ok and key in ("session_profile_pattern",):
        ok = "{profile}" in value and is_safe_profile_name(value.replace("{profile}", "p"))
    if ok and key in ("active_profile", "session_profile"):
        ok = is_safe_profile_name(value)
    if ok and key == "theme":
        ok = bool(_THEME_NAME.fullmatch(value))
    if ok and key == "sort_order":
        ok = value in SORT_ORDERS
    if not ok:
        raise ConfigError(
            f"{path}: {where}{key} = {value!r} is not valid; allowed: {allowed}",
            title="Settings",
        )
    return value


def parse_settings(data: dict[str, Any], path: Path) -> Settings:
    values: dict[str, Any] = {}
    profiles: dict[str, ProfileSettings] = {}
    for key, value in data.items():
        if key == "profiles":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [profiles] must be a table", title="Settings")
            for name, table in value.items():
                if not isinstance(table, dict):
                    raise ConfigError(
                        f"{path}: [profiles.{name}] must be a table", title="Settings"
                    )
                fields: dict[str, Any] = {}
                for pkey, pvalue in table.items():
                    if pkey not in _PROFILE_KEYS:
                        raise ConfigError(
                            f"{path}: unknown key '{pkey}' in [profiles.\"{name}\"]; "
                            f"known keys: {', '.join(_PROFILE_KEYS)}",
                            title="Settings",
                        )
                    fields[pkey] = _check(
                        pkey, pvalue, _PROFILE_KEYS[pkey], path, f'[profiles."{name}"] '
                    )
                profiles[name] = ProfileSettings(**fields)
            continue
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"{path}: unknown key '{key}'; known keys: {', '.join([*_TOP_KEYS, 'profiles'])}",
                title="Settings",
            )
        values[key] = _check(key, value, _TOP_KEYS[key], path, "")
    return Settings(**values, profiles=profiles, path=path)


def load_settings(path: Path | None = None) -> Settings:
    """Load the settings file; a missing file gives the defaults."""
    path = path or settings_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings(path=path)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read settings: {exc.strerror}", title="Settings"
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", title="Settings") from None
    return parse_settings(data, path)


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    defaults = Settings()
    out: dict[str, Any] = {}
    for key in _TOP_KEYS:
        value = getattr(settings, key)
        if value != getattr(defaults, key) and value is not None:
            out[key] = value
    profiles: dict[str, Any] = {}
    for name, prof in sorted(settings.profiles.items()):
        table = {k: getattr(prof, k) for k in _PROFILE_KEYS if getattr(prof, k) is not None}
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
    atomic_write_bytes(path, data)
    return path
