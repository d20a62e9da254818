"""Time, injected: wall time for expiry, a monotonic source for timers.

Expiry is an absolute UTC instant stored in the credentials file, so countdowns are
always `expiration - now()`, recomputed each tick, never a counter that drifts. Tests
freeze and advance a `FrozenClock` instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """The real clock; `skew` corrects for a local clock that disagrees with AWS."""

    def __init__(self) -> None:
        self.skew = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        """Unix time, for TOTP steps."""
        return self.now().timestamp()


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, at: datetime | None = None) -> None:
        super().__init__()
        self._now = at or datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now + self.skew

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


SYSTEM_CLOCK = Clock()
