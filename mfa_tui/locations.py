"""Where the AWS files and mfa-tui's own folders are, worked out with `os` alone.

Every face must agree on these places, and the cached paths (`credential-process`,
`list`), which answer in about Python's own start-up time, cannot afford platformdirs
(15 ms to import) or anything heavier. So the rules for Linux and macOS live here, once,
for every path: they give what platformdirs gives on each (tests/test_locations.py
compares them with platformdirs' Unix and MacOS classes), including its environment
overrides (an absolute `XDG_CONFIG_HOME`, `XDG_CACHE_HOME` or `XDG_STATE_HOME` wins on
both). On other systems (Windows) the rules give None: the cached paths step aside and
the full commands ask platformdirs (`user_dir`).
"""

from __future__ import annotations

import os
import sys

APP = "mfa-tui"
LINUX = "linux"
MACOS = "macos"


def system_of(platform: str) -> str | None:
    """Whose folder rules apply on `platform` (a `sys.platform` value), or None."""
    if platform.startswith("linux"):
        return LINUX
    if platform == "darwin":
        return MACOS
    return None


# The one platform decision. Every rule reads it when called, so a test chooses the
# platform by setting it (`monkeypatch.setattr(locations, "SYSTEM", locations.MACOS)`).
SYSTEM: str | None = system_of(sys.platform)

# Each folder: the XDG variable that overrides it and its default on Linux and on macOS,
# as platformdirs has them (its XDGMixin over _UnixDefaults and _MacOSDefaults).
_FOLDERS = {
    "config": ("XDG_CONFIG_HOME", "~/.config", "~/Library/Application Support"),
    "cache": ("XDG_CACHE_HOME", "~/.cache", "~/Library/Caches"),
    "state": ("XDG_STATE_HOME", "~/.local/state", "~/Library/Application Support"),
}
# No variable moves the macOS log folder; on Linux the logs live in the state folder.
_MACOS_LOGS = "~/Library/Logs"


# Set by `mfa-tui exec` in the program it runs, whose AWS tools it keeps from the
# credentials file (AWS_SHARED_CREDENTIALS_FILE points at an empty one there): mfa-tui
# inside (a prompt's `mfa-tui status`) still reads the real one.
CREDENTIALS_VARIABLE = "MFA_TUI_CREDENTIALS_FILE"


def aws_files() -> tuple[str, str]:
    """The config and credentials files, from AWS_CONFIG_FILE and
    AWS_SHARED_CREDENTIALS_FILE (MFA_TUI_CREDENTIALS_FILE first), expanded the way
    botocore expands them."""
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    creds = (
        os.environ.get(CREDENTIALS_VARIABLE)
        or os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
        or "~/.aws/credentials"
    )
    return (
        os.path.expanduser(os.path.expandvars(config)),
        os.path.expanduser(os.path.expandvars(creds)),
    )


def _home(path: str) -> str | None:
    """`~/...` expanded as platformdirs expands it, or None without an absolute home.

    A HOME that is not absolute counts as unset (the password database decides), where
    `os.path.expanduser` would use it verbatim.
    """
    home = os.environ.get("HOME")
    if home is not None and not home.startswith("/"):
        try:
            import pwd

            home = pwd.getpwuid(os.getuid()).pw_dir
        except (ImportError, KeyError):
            return None
        expanded = home.rstrip("/") + path[1:] or "/"
    else:
        expanded = os.path.expanduser(path)
    return expanded if expanded.startswith("/") else None


def _folder(kind: str) -> str | None:
    variable, linux, macos = _FOLDERS[kind]
    if SYSTEM == LINUX:
        default = linux
    elif SYSTEM == MACOS:
        default = macos
    else:
        return None
    # Only an absolute path counts, as platformdirs reads these variables; a relative
    # or blank one falls back to the default.
    override = os.environ.get(variable, "")
    base = override if override.startswith("/") else _home(default)
    return None if base is None else os.path.join(base, APP)


def config_dir() -> str | None:
    """The user config folder (`~/.config/mfa-tui`, `~/Library/Application Support/mfa-tui`)."""
    return _folder("config")


def cache_dir() -> str | None:
    """The user cache folder (`~/.cache/mfa-tui`, `~/Library/Caches/mfa-tui`); nothing
    kept there is a secret."""
    return _folder("cache")


def state_dir() -> str | None:
    """The user state folder (`~/.local/state/mfa-tui`, on macOS the config folder)."""
    return _folder("state")


def state_file(name: str) -> str | None:
    """`name` in `$MFA_TUI_STATE_DIR`, else in the user state folder."""
    override = os.environ.get("MFA_TUI_STATE_DIR")
    if override:
        return os.path.join(override, name)
    folder = state_dir()
    return None if folder is None else os.path.join(folder, name)


def log_dir() -> str | None:
    """The user log folder (`<state folder>/log`, `~/Library/Logs/mfa-tui`)."""
    if SYSTEM == MACOS:
        logs = _home(_MACOS_LOGS)
        return None if logs is None else os.path.join(logs, APP)
    state = state_dir()
    return None if state is None else os.path.join(state, "log")


def settings_file() -> str | None:
    """`$MFA_TUI_CONFIG`, else `config.toml` in the user config folder."""
    override = os.environ.get("MFA_TUI_CONFIG")
    if override:
        return os.path.expanduser(override)
    folder = config_dir()
    return None if folder is None else os.path.join(folder, "config.toml")


_RULES = {"config": config_dir, "cache": cache_dir, "state": state_dir, "log": log_dir}


def user_dir(kind: str) -> str:
    """`kind`'s folder ('config', 'cache', 'state' or 'log') for the full commands.

    The rules above where they apply; elsewhere platformdirs' own answer, which the
    cached paths never wait for.
    """
    known = _RULES[kind]()
    if known is not None:
        return known
    import platformdirs

    found: str = getattr(platformdirs, f"user_{kind}_dir")(APP)
    return found
