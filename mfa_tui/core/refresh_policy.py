"""When to refresh which session in the background, and how to back off after a failure.

The one background refresh loop of the dashboard and `mfa-tui daemon`, as bookkeeping:
it never calls STS, opens a file or sleeps. Each face calls `take_due` on its tick with
the profiles' statuses and the time, runs what it gets however it likes (thread
workers, a plain loop) and `report`s each outcome back; `seconds_to_next_look` says how
long nothing can become due. Time comes in as arguments so tests never wait.

Rules:
- A profile is due when it is managed, auto-refresh is on for it, it has a session
  (the person asked for one at least once), and that session is inside its refresh
  margin or already expired.
- One refresh per profile at a time: a profile in flight is never due.
- A failure backs off exponentially (30 s, 60 s, 2 min, … up to 15 min) and is retried;
  the backoff ends when the session changes under us (another program refreshed it).
- A session that needs a person's code is not retried by itself at all: the face asks
  the person once, and the profile is due again only when its session changes or the
  person acts on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mfa_tui.aws.files import Kind
from mfa_tui.core.status import ProfileStatus
from mfa_tui.errors import MfaTuiError, NeedsCodeError
from mfa_tui.settings import Settings

# With nothing that can become due, look again after this long anyway.
IDLE_LOOK_SECONDS = 3600.0

BASE_BACKOFF = 30.0
MAX_BACKOFF = 900.0


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    NEEDS_CODE = "needs-code"


@dataclass(frozen=True)
class Backoff:
    """A profile's failure streak: how many in a row, and when to try again."""

    failures: int
    retry_at: float
    # The session's expiry when it failed; a different expiry means someone else
    # refreshed it and the streak is over.
    expires_at: datetime | None
    error: str
    needs_code: bool = False


def backoff_delay(failures: int, base: float = BASE_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait after `failures` failures in a row (1 → base, doubling, capped)."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** min(failures - 1, 32)))


def seconds_left(status: ProfileStatus, now: datetime) -> float | None:
    """Seconds until the session expires (negative once expired), None with no session."""
    if status.expires_at is None:
        return None
    return (status.expires_at - now).total_seconds()


class RefreshPolicy:
    """Decides which sessions to refresh; remembers what is in flight and what failed.

    Not thread-safe: call it from one thread (the dashboard's event loop, the daemon's
    loop) and report outcomes there.
    """

    def __init__(self, *, base_backoff: float = BASE_BACKOFF, max_backoff: float = MAX_BACKOFF):
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self._in_flight: set[str] = set()
        self._backoff: dict[str, Backoff] = {}
        # Monotonic time before which nothing can become due (see `take_due`).
        self._next_look = 0.0

    def take_due(
        self,
        statuses: Iterable[ProfileStatus],
        settings: Settings,
        now: datetime,
        mono: float,
    ) -> list[str]:
        """What to refresh now, asked at most when something may have become due.

        Asking every profile each second costs at 5,000 profiles; the answer also says
        when the next one can become due, and until then this returns nothing (unless
        `look_again` says something changed).
        """
        if mono < self._next_look:
            return []
        statuses = list(statuses)
        names = self.due(statuses, settings, now, mono)
        self._plan_next_look(statuses, settings, now, mono)
        return names

    def _plan_next_look(
        self, statuses: list[ProfileStatus], settings: Settings, now: datetime, mono: float
    ) -> None:
        wake = self.next_wake(statuses, settings, now, mono)
        self._next_look = mono + (wake if wake is not None else IDLE_LOOK_SECONDS)

    def look_again(self) -> None:
        """Something changed what is due (the files, a result, a switch)."""
        self._next_look = 0.0

    def seconds_to_next_look(
        self,
        statuses: Iterable[ProfileStatus],
        settings: Settings,
        now: datetime,
        mono: float,
    ) -> float:
        """How long nothing can become due (after `look_again`, worked out anew)."""
        if self._next_look == 0.0:
            self._plan_next_look(list(statuses), settings, now, mono)
        return max(0.0, self._next_look - mono)

    def report(
        self,
        name: str,
        error: MfaTuiError | None,
        *,
        mono: float,
        expires_at: datetime | None = None,
    ) -> Backoff | None:
        """Record how a refresh of `name` ended (`error` None: it worked)."""
        self.look_again()
        if error is None:
            return self.finished(name, Outcome.OK, mono=mono)
        outcome = Outcome.NEEDS_CODE if isinstance(error, NeedsCodeError) else Outcome.FAILED
        return self.finished(name, outcome, mono=mono, expires_at=expires_at, error=error.message)

    def wants_refresh(self, status: ProfileStatus, settings: Settings, now: datetime) -> bool:
        """True when the session is inside its margin, ignoring flight and backoff."""
        if not status.managed or not settings.auto_refresh_for(status.name):
            return False
        left = seconds_left(status, now)
        return left is not None and left <= status.refresh_margin

    def due(
        self,
        statuses: Iterable[ProfileStatus],
        settings: Settings,
        now: datetime,
        mono: float,
    ) -> list[str]:
        """Names to refresh now, soonest expiry first (users before their roles on a tie).

        Args:
            statuses: the current view of every profile.
            settings: for each profile's auto-refresh switch.
            now: wall time, to compare with each session's expiry.
            mono: monotonic seconds, the clock the backoff is kept in.
        """
        picked: list[tuple[float, int, str]] = []
        for status in statuses:
            if status.name in self._in_flight or not self.wants_refresh(status, settings, now):
                continue
            backoff = self._backoff.get(status.name)
            if backoff is not None:
                if backoff.expires_at != status.expires_at:
                    del self._backoff[status.name]  # refreshed elsewhere: a fresh start
                elif backoff.needs_code or mono < backoff.retry_at:
                    continue
            left = seconds_left(status, now) or 0.0
            picked.append((left, 0 if status.kind.value == "user" else 1, status.name))
        return [name for _, _, name in sorted(picked)]

    def next_wake(
        self,
        statuses: Iterable[ProfileStatus],
        settings: Settings,
        now: datetime,
        mono: float,
    ) -> float | None:
        """Seconds until something may become due (None: nothing ever will as things are)."""
        soonest: float | None = None
        for status in statuses:
            if not status.managed or not settings.auto_refresh_for(status.name):
                continue
            left = seconds_left(status, now)
            if left is None or status.name in self._in_flight:
                continue
            wait = max(0.0, left - status.refresh_margin)
            backoff = self._backoff.get(status.name)
            if backoff is not None and backoff.expires_at == status.expires_at:
                if backoff.needs_code:
                    continue
                wait = max(wait, backoff.retry_at - mono)
            soonest = wait if soonest is None else min(soonest, wait)
        return soonest

    def started(self, name: str) -> bool:
        """Mark a refresh as begun; False if one is already in flight for `name`."""
        if name in self._in_flight:
            return False
        self._in_flight.add(name)
        return True

    def in_flight(self, name: str) -> bool:
        return name in self._in_flight

    @property
    def in_flight_count(self) -> int:
        return len(self._in_flight)

    def finished(
        self,
        name: str,
        outcome: Outcome,
        *,
        mono: float,
        expires_at: datetime | None = None,
        error: str = "",
    ) -> Backoff | None:
        """Record how a refresh ended; returns the new backoff (None after a success).

        Args:
            name: the profile.
            outcome: what happened.
            mono: monotonic seconds now.
            expires_at: the session's expiry as it was when the attempt started, so a
                later change of the file ends the backoff.
            error: the message to show while backing off.
        """
        self._in_flight.discard(name)
        if outcome is Outcome.OK:
            self._backoff.pop(name, None)
            return None
        previous = self._backoff.get(name)
        failures = (previous.failures if previous else 0) + 1
        needs_code = outcome is Outcome.NEEDS_CODE
        delay = backoff_delay(failures, self.base_backoff, self.max_backoff)
        backoff = Backoff(
            failures=failures,
            retry_at=mono + delay,
            expires_at=expires_at,
            error=error,
            needs_code=needs_code,
        )
        self._backoff[name] = backoff
        return backoff

    def backoff(self, name: str) -> Backoff | None:
        """The failure streak of `name`, if it is backing off or waiting for a code."""
        return self._backoff.get(name)

    def forget(self, name: str) -> None:
        """Clear a profile's backoff: the person acted on it, so try again at once."""
        self._backoff.pop(name, None)


def active_source(statuses: list[ProfileStatus], active_profile: str) -> str | None:
    """The user or role whose session the active profile mirrors, if any.

    After that profile is refreshed, the active profile must be written again, or the
    session every `aws` command uses would still expire at the old time.
    """
    active = next((s for s in statuses if s.name == active_profile and s.active), None)
    if active is None or not active.source_profile:
        return None
    source = active.source_profile
    names = {s.name for s in statuses if s.kind is not Kind.SESSION}
    if source in names:
        return source
    # The engine may name the session profile instead of its owner.
    owner = next((s.name for s in statuses if s.session_profile == source), None)
    return owner or source
