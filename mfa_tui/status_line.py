"""`mfa-tui status`: one short line for a shell prompt, a tmux status bar or starship.

It shows the session the shell is on: inside `mfa-tui exec` the exec'd profile's
(`MFA_TUI_PROFILE`), else the active profile's (`[mfa-tui]`, what `use` and enter in the
dashboard switch), with its time left, and marks it when its next renewal needs an MFA
code: when the user session it is renewed from will have run out by then. (A TOTP seed
or a code_command gives that code by itself; the mark says one is needed, not that a
person must type it: status never opens the keyring, which alone takes longer than a
prompt can wait.)

A prompt runs this before every line it draws, so it answers from the files with the
standard library's core only, like the cached `credential-process` (see
profile_scan.py); when the files or the settings need the full parser, the full command
(`mfa_tui.commands.status`) gives the same line from the same `render`. With nothing to
show it prints nothing.
"""

from __future__ import annotations

import os
import time

from mfa_tui import locations, profile_scan, settings_rules
from mfa_tui.expiry import stamp_epoch, state_at

DEFAULT_FORMAT = "{profile} {left}{mark}"
MARK = "!"
# The fields a --format may use, and what each is.
FIELDS = {
    "profile": "the user or role the session belongs to",
    "session": "the credentials profile that holds it (mfa-tui, or <profile>-mfa in exec)",
    "left": "time left, short: 1h02m, 42m, 30s, expired",
    "until": "when it expires, local time (HH:MM)",
    "expires": "when it expires, UTC, as the credentials file has it",
    "seconds": "whole seconds left (0 once expired)",
    "state": "valid, expiring (inside its refresh margin) or expired",
    "mark": f"'{MARK}' when its next renewal needs an MFA code, else empty",
}
# Seconds a user session must still have for a role to be renewed from it (the
# engine's MIN_SOURCE_LEFT, core/chain.py).
MIN_SOURCE_LEFT = 60
PROFILE_VARIABLE = "MFA_TUI_PROFILE"

# Not `typing.TYPE_CHECKING`: importing typing would cost this path dearly.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # What the line is made of: (profile, session profile, its expiry as Unix time, its
    # refresh margin, the profile's kind if mfa-tui renews it ("user" or "role", else
    # ""), the expiry of the user session a role is renewed from (None: it has none),
    # that session's refresh margin).
    Facts = tuple[str, str, float, float, str, float | None, float]


class FormatError(ValueError):
    """A --format naming a field that does not exist, or not a format at all."""


def short_left(seconds: float) -> str:
    """1h02m, 42m, 30s; `expired` once nothing is left."""
    if seconds <= 0:
        return "expired"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    if hours:
        return f"{hours}h{rest // 60:02d}m"
    if rest >= 60:
        return f"{rest // 60}m"
    return f"{rest}s"


def needs_code_soon(facts: Facts, now: float) -> bool:
    """Whether the session's next renewal needs an MFA code: a user session once it is
    inside its refresh margin; a role session when the user session it is renewed from
    will be inside that margin (or gone) by the time the role's own renewal comes."""
    _, _, expires, margin, renewed_as, user_expires, user_margin = facts
    if renewed_as == "user":
        return now >= expires - margin
    if renewed_as != "role":
        return False
    if user_expires is None:
        return True
    next_renewal = max(now, expires - margin)
    return user_expires - max(user_margin, MIN_SOURCE_LEFT) <= next_renewal


def render(fmt: str, facts: Facts, now: float) -> str:
    """The line for `facts` at Unix time `now`, by the template `fmt`."""
    profile, session, expires, margin = facts[:4]
    left = expires - now
    values = {
        "profile": profile,
        "session": session,
        "left": short_left(left),
        "until": time.strftime("%H:%M", time.localtime(expires)),
        "expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
        "seconds": max(0, int(left)),
        "state": state_at(expires, now, margin),
        "mark": MARK if needs_code_soon(facts, now) else "",
    }
    try:
        return fmt.format_map(values)
    except KeyError as exc:
        known = ", ".join("{" + name + "}" for name in FIELDS)
        raise FormatError(f"--format has no field {{{exc.args[0]}}}; known: {known}") from None
    except (ValueError, IndexError, AttributeError) as exc:
        raise FormatError(f"--format {fmt!r} is not a format: {exc}") from None


def fast_facts() -> tuple[bool, Facts | None]:
    """(answered, facts) from the files by profile_scan's rules: facts None when there
    is no session to show; not answered when the full command must answer."""
    if not profile_scan.exists():
        return False, None
    path = locations.settings_file()
    if path is None:
        return False, None
    settings = settings_rules.read_checked(path)
    scanned = profile_scan.read_profiles()
    if settings is None or scanned is None:
        return False, None
    profiles, creds = scanned
    user_margin = float(settings_rules.value(settings, "user_refresh_margin"))
    role_margin = float(settings_rules.value(settings, "role_refresh_margin"))
    wanted = os.environ.get(PROFILE_VARIABLE)
    if wanted:
        session_name = settings_rules.session_profile_for(settings, wanted)
        profile = wanted
    else:
        session_name = settings_rules.value(settings, "active_profile")
        profile = creds.get(session_name, {}).get(profile_scan.OWNER_KEY, "")
    shown = creds.get(session_name)
    if not profile or shown is None or shown.get(profile_scan.OWNER_KEY) != profile:
        return True, None
    expires = stamp_epoch(shown.get("expiration", ""))
    if expires is None:
        return False, None  # written some other way: the full parser reads it
    try:
        user = profile_scan.user_of(profiles, profile)
    except profile_scan.CannotJudge:
        return False, None
    if user is None:
        return True, (profile, session_name, expires, user_margin, "", None, user_margin)
    if user == profile:
        return True, (profile, session_name, expires, user_margin, "user", None, user_margin)
    user_session = creds.get(settings_rules.session_profile_for(settings, user), {})
    user_expires = None
    if user_session.get(profile_scan.OWNER_KEY) == user and user_session.get("expiration"):
        user_expires = stamp_epoch(user_session["expiration"])
        if user_expires is None:
            return False, None
    return True, (profile, session_name, expires, role_margin, "role", user_expires, user_margin)


def parse_args(args: list[str]) -> str | None:
    """The format of `status [--format FMT]` argv, or None for anything else."""
    if args == ["status"]:
        return DEFAULT_FORMAT
    if len(args) == 3 and args[:2] == ["status", "--format"]:
        return args[2]
    if len(args) == 2 and args[1].startswith("--format="):
        return args[1][len("--format=") :]
    return None


def cached_line(args: list[str], now: float | None = None) -> str | None:
    """What `mfa-tui status ...` prints, from the fast path, or None for the full
    command (other arguments, files it cannot judge, a bad --format: the full command
    says what is wrong)."""
    fmt = parse_args(args)
    if fmt is None:
        return None
    answered, facts = fast_facts()
    if not answered:
        return None
    if facts is None:
        return ""
    try:
        line = render(fmt, facts, time.time() if now is None else now)
    except FormatError:
        return None
    return line + "\n"
