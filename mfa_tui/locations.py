"""Where the AWS files and mfa-tui's own files are, worked out with `os` alone.

Every face must agree on these places, and the cached paths (`credential-process`,
`list`), which answer in about Python's own start-up time, cannot afford platformdirs
(15 ms to import) or anything heavier. So they are worked out once, here. On Linux the
folders are the XDG ones platformdirs would give; elsewhere the cached paths step aside
(None) and the full commands ask platformdirs.
"""

from __future__ import annotations

import os
import sys

APP = "mfa-tui"


def aws_files() -> tuple[str, str]:
    """The config and credentials files, from AWS_CONFIG_FILE and
    AWS_SHARED_CREDENTIALS_FILE, expanded the way botocore expands them."""
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    creds = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return (
        os.path.expanduser(os.path.expandvars(config)),
        os.path.expanduser(os.path.expandvars(creds)),
    )


def _xdg(variable: str, default: str) -> str | None:
    if not sys.platform.startswith("linux"):
        return None
    raw = os.environ.get(variable, "")
    base = raw if raw.strip() else os.path.expanduser(default)  # as platformdirs reads it
    return os.path.join(base, APP)


def settings_file() -> str | None:
    """`$MFA_TUI_CONFIG`, else `config.toml` in the user config folder (Linux)."""
    override = os.environ.get("MFA_TUI_CONFIG")
    if override:
        return os.path.expanduser(override)
    folder = _xdg("XDG_CONFIG_HOME", "~/.config")
    return None if folder is None else os.path.join(folder, "config.toml")


def cache_dir() -> str | None:
    """The user cache folder (Linux); nothing kept there is a secret."""
    return _xdg("XDG_CACHE_HOME", "~/.cache")
