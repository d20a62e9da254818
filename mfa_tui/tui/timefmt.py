"""How time left is written and coloured; pure functions, shared by every widget."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from mfa_tui import expiry


class Urgency(StrEnum):
    """How soon a session needs attention, which picks its colour."""

    PLENTY = "plenty"
    MARGIN = "margin"
    EXPIRED = "expired"
    NONE = "none"


def seconds_left(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole seconds until expiry (rounded down), None when there is no session."""
    if expires_at is None:
        return None
    return int((expires_at - now).total_seconds() // 1)


def format_left(expires_at: datetime | None, now: datetime) -> str:
    """`HH:MM:SS` of time left; `expired`; `—` when there is no session.

    Hours are not wrapped at 24: a 36-hour session reads `36:00:00`.
    """
    left = seconds_left(expires_at, now)
    if left is None or expires_at is None:
        return "—"
    if expires_at <= now:
        return "expired"
    hours, rest = divmod(left, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


_URGENCY = {
    expiry.VALID: Urgency.PLENTY,
    expiry.EXPIRING: Urgency.MARGIN,
    expiry.EXPIRED: Urgency.EXPIRED,
    expiry.NONE: Urgency.NONE,
}


def urgency(expires_at: datetime | None, now: datetime, margin: float) -> Urgency:
    """The colour of a session: the same rule as `list`'s state (mfa_tui.expiry)."""
    expires = expires_at.timestamp() if expires_at is not None else None
    return _URGENCY[expiry.state_at(expires, now.timestamp(), margin)]


def format_local(when: datetime | None) -> str:
    """An absolute time in the local zone, e.g. `2026-01-01 13:00:00 CET`."""
    if when is None:
        return "—"
    local = when.astimezone()
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".rstrip()


def format_ago(when: datetime | None, now: datetime) -> str:
    """`5 min ago`-style distance into the past, for "last refresh"."""
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    if seconds < 0:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86_400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"
    return f"{seconds // 86_400} d ago"


def format_clock(when: datetime, now: datetime) -> str:
    """A local time of day, `21:48`, with the weekday when it is not today (`Tue 09:10`)."""
    local, today = when.astimezone(), now.astimezone()
    if local.date() == today.date():
        return f"{local:%H:%M}"
    return f"{local:%a %H:%M}"
