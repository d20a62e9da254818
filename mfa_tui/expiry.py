"""The one rule for when a session counts as valid, expiring or expired.

Every face (the cached and the full `list`, the dashboard's countdowns and colours, the
header's counts, the daemon) asks this module, on float seconds, so two faces never
disagree about a session at the second it crosses its margin or its expiry. Standard
library only: the cached `list` path imports it.
"""

from __future__ import annotations

VALID = "valid"
EXPIRING = "expiring"
EXPIRED = "expired"
NONE = "none"


def state_at(expires: float | None, now: float, margin: float) -> str:
    """'valid', 'expiring', 'expired' or 'none' for a session ending at Unix time
    `expires`, seen at `now`, that is refreshed `margin` seconds before it ends."""
    if expires is None:
        return NONE
    left = expires - now
    if left <= 0:
        return EXPIRED
    if left <= margin:
        return EXPIRING
    return VALID


def whole_seconds_left(expires: float, now: float) -> int:
    """Seconds left as a countdown shows them: rounded down, so a shown 0 is expired."""
    return max(0, int((expires - now) // 1))


def human_left(seconds: float) -> str:
    """`h:mm:ss` of time left, the countdown format of the CLI (never negative)."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
