"""`mfa-tui status`, the long way: the same line as the fast path (status_line.py), from
the full parser, for files and settings the fast path does not judge (and on systems
where it does not run)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING

from mfa_tui.aws.files import Kind, ProfileSet, load_profiles, user_of
from mfa_tui.errors import ExitCode, UsageError
from mfa_tui.settings import Settings, load_settings
from mfa_tui.status_line import PROFILE_VARIABLE, FormatError, render

if TYPE_CHECKING:
    from mfa_tui.status_line import Facts


def facts_of(profile_set: ProfileSet, settings: Settings, wanted: str | None) -> Facts | None:
    """What the line is made of (see status_line.Facts), or None with nothing to show."""
    if wanted:
        profile, session_name = wanted, settings.session_profile_for(wanted)
    else:
        session_name = settings.active_profile
        active = profile_set.get(session_name)
        profile = active.session_of or "" if active is not None else ""
    shown = profile_set.get(session_name)
    if not profile or shown is None or shown.kind is not Kind.SESSION:
        return None
    if shown.session_of != profile or shown.expiration is None:
        return None
    expires = shown.expiration.timestamp()
    user_margin = float(settings.user_refresh_margin)
    target = profile_set.get(profile)
    user = user_of(profile_set.profiles, target) if target and target.managed else None
    if target is None or user is None:
        return (profile, session_name, expires, user_margin, "", None, user_margin)
    if user is target:
        return (profile, session_name, expires, user_margin, "user", None, user_margin)
    user_session = profile_set.get(settings.session_profile_for(user.name))
    user_expires = None
    if user_session is not None and user_session.session_of == user.name:
        expiration = user_session.expiration
        user_expires = expiration.timestamp() if expiration is not None else None
    margin = float(settings.role_refresh_margin)
    return (profile, session_name, expires, margin, "role", user_expires, user_margin)


def run(args: argparse.Namespace) -> int:
    # No warnings about the files here: a prompt would repeat them at every line it
    # draws. `mfa-tui list` says what is wrong with them.
    settings = load_settings()
    profile_set = load_profiles()
    facts = facts_of(profile_set, settings, os.environ.get(PROFILE_VARIABLE) or None)
    if facts is None:
        return int(ExitCode.OK)
    try:
        line = render(args.format, facts, time.time())
    except FormatError as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(line + "\n")
    return int(ExitCode.OK)
