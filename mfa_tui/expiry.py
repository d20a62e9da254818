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


def stamp_epoch(stamp: str) -> int | None:
    """'YYYY-MM-DDTHH:MM:SSZ' (how mfa-tui writes an expiry) as Unix time, else None.

    For the cached paths, which cannot afford `datetime`: anything written another way
    is None, and the full parser reads it.
    """
    if len(stamp) != 20 or stamp[4] != "-" or stamp[7] != "-" or stamp[10] != "T":
        return None
    if stamp[13] != ":" or stamp[16] != ":" or stamp[19] != "Z":
        return None
    parts = (stamp[0:4], stamp[5:7], stamp[8:10], stamp[11:13], stamp[14:16], stamp[17:19])
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    year, month, day, hour, minute, second = map(int, parts)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    # Days from the civil date (Howard Hinnant's algorithm), so no datetime import.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second
