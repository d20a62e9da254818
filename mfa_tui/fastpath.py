"""The cached `credential-process` answer, with nothing but the standard library's core.

botocore runs `mfa-tui credential-process NAME` before the first AWS call of every
process that uses the profile; most of the time the stored session is good, and the
answer is four keys copied from the credentials file. This module gives that answer
without argparse, dataclasses, tomllib, the INI document model or platformdirs, which
together cost several times Python's own start-up.

It is deliberately narrow: it serves only a plain, well-formed, mfa-tui-owned section
with more than the serving margin left, written the way mfa-tui writes it, on a system
whose folders it knows (Linux, macOS: see locations.py). The settings file is read
with the full path's own rules (settings_rules.py); anything else — a settings file it
cannot judge or that breaks a rule, a duplicated section, odd bytes, an expiring
session, an unknown system — returns None, and the full command (same rules, refresh,
agent, messages) takes over. `MFA_TUI_NO_FASTPATH=1` turns it off.
"""

from __future__ import annotations

import os
import time

from mfa_tui import locations, settings_rules
from mfa_tui.bounded_read import read_file
from mfa_tui.expiry import stamp_epoch

# botocore refreshes credentials with less than 15 minutes left: serve more than that,
# with a minute's slack for the time between this answer and the caller's first call.
# The full `credential-process` command uses this same value.
MIN_SERVE_SECONDS = 15 * 60 + 60
_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "expiration")
_SAFE = frozenset(map(chr, range(0x20, 0x7F))) - {'"', "\\"}


def _settings(name: str) -> tuple[str, str] | None:
    """(session profile of `name`, active profile name) by the settings file, or None
    when the file must be read the long way (see settings_rules.read_checked)."""
    path = locations.settings_file()
    if path is None:
        return None
    values = settings_rules.read_checked(path)
    if values is None:
        return None
    active: str = settings_rules.value(values, "active_profile")
    return settings_rules.session_profile_for(values, name), active


def _sections(text: str, wanted: set[str]) -> dict[str, dict[str, str]] | None:
    """Keys of the wanted sections, or None when anything about them is unusual."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if line.startswith("["):
            header = line.rstrip()
            if not header.endswith("]") or "]" in header[1:-1]:
                current = None
                if any(w in header for w in wanted):
                    return None
                continue
            name = header[1:-1]
            if name in wanted:
                if name in found:
                    return None  # duplicated: the full parser's rules decide
                current = found[name] = {}
            else:
                current = None
            continue
        if current is None:
            continue
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if line[0] in " \t":
            return None  # a continuation line: not how mfa-tui writes
        key, sep, value = stripped.partition("=")
        if not sep or ":" in key:
            return None
        current[key.strip().lower()] = value.strip()
    return found


def cached_answer(name: str, now: float | None = None) -> str | None:
    """The credential_process JSON for `name` from the stored session, or None."""
    if os.environ.get("MFA_TUI_NO_FASTPATH"):
        return None
    names = _settings(name)
    if names is None:
        return None
    session_name, active = names
    path = locations.aws_files()[1]
    try:
        # Not a plain open(): a FIFO there would hang it, /dev/zero fill the memory. What
        # read_file refuses, the full command names.
        text = read_file(path).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if text.startswith("\ufeff"):
        return None
    sections = _sections(text, {name, session_name})
    if sections is None:
        return None
    own = sections.get(name)
    if own is not None and "mfa_tui_source" in own:
        values = own  # `name` is a session profile itself (e.g. the active one)
    elif name == active:
        return None
    else:
        values = sections.get(session_name, {})
        if values.get("mfa_tui_source") != name:
            return None  # not a session of `name` (another profile's, or not mfa-tui's)
    if "mfa_tui_source" not in values or not all(values.get(k) for k in _KEYS):
        return None
    expires = stamp_epoch(values["expiration"])
    if expires is None or expires - (now if now is not None else time.time()) <= MIN_SERVE_SECONDS:
        return None
    fields = (
        ("AccessKeyId", values["aws_access_key_id"]),
        ("SecretAccessKey", values["aws_secret_access_key"]),
        ("SessionToken", values["aws_session_token"]),
        ("Expiration", values["expiration"]),
    )
    if not all(set(value) <= _SAFE for _, value in fields):
        return None  # anything needing JSON escapes goes the long way
    body = ", ".join(f'"{key}": "{value}"' for key, value in fields)
    return '{"Version": 1, ' + body + "}\n"
