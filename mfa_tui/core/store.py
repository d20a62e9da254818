"""The store: what the AWS files hold about sessions, and writing sessions into them.

The credentials file is the one owner of every session's expiry: the store reads it
(parsing again only when the files changed), answers "what session does P have, and for
how long", and writes sessions through the lossless writer. It keeps no copy of a
session of its own. Reading a stored session needs neither boto3 nor the keyring, so
the full `credential-process` and `export` paths import this module and nothing heavier.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mfa_tui.aws.credentials import OWNER_KEY, write_section, write_sections
from mfa_tui.aws.files import (
    AwsPaths,
    Kind,
    Profile,
    ProfileSet,
    format_expiration,
    load_profiles,
    parse_expiration,
)
from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.status import session_values_of
from mfa_tui.errors import MfaTuiError, UsageError
from mfa_tui.expiry import human_left
from mfa_tui.settings import Settings

if TYPE_CHECKING:
    from mfa_tui.aws.sts import Credentials

# When mfa-tui wrote a session (the detail pane's "last refresh").
REFRESHED_KEY = "mfa_tui_refreshed"
# Settings that say where and how to reach AWS, copied into a session profile so it
# works on its own (botocore reads them from the credentials file too).
CONNECTION_KEYS = ("region", "endpoint_url", "services", "ca_bundle")
_SESSION_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "expiration")


@dataclass(frozen=True)
class StoredSession:
    """A session as the credentials file holds it. Never printed whole."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.expiration - (now or datetime.now(UTC))).total_seconds()

    def signing(self) -> Credentials:
        """The session as the AWS calls take it (sts.Credentials), to sign with."""
        from mfa_tui.aws.sts import Credentials

        return Credentials(
            self.access_key_id, self.secret_access_key, self.session_token, self.expiration
        )

    def to_process_json(self) -> dict[str, Any]:
        """The shape botocore's `credential_process` reads."""
        return {
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": format_expiration(self.expiration),
        }


def session_from_values(values: Mapping[str, str]) -> StoredSession | None:
    key = values.get("aws_access_key_id")
    secret = values.get("aws_secret_access_key")
    token = values.get("aws_session_token")
    expiration = parse_expiration(values.get("expiration"))
    if not (key and secret and token and expiration):
        return None
    return StoredSession(key, secret, token, expiration)


def stored_session(
    profile_set: ProfileSet, settings: Settings, name: str, now: datetime | None = None
) -> StoredSession | None:
    """`name`'s unexpired session: its session profile's, or its own if it is a session."""
    profile = profile_set.get(name)
    if profile is not None and profile.kind is Kind.SESSION:
        values: dict[str, str] | None = profile.values
    else:
        values = session_values_of(profile_set, settings, name)[1]
    if values is None:
        return None
    stored = session_from_values(values)
    if stored is None or stored.seconds_left(now) <= 0:
        return None
    return stored


def human_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did, in one human line; no secrets.

    Attributes:
        profile: the user or role refreshed.
        session_profile: the credentials section that holds its session.
        expiration: when that session expires (UTC).
        refreshed: False when the stored session was still good and nothing was done.
        message: e.g. "test-user-mfa valid until 2026-11-29 12:00 UTC (11:59:59 left)".
        used_code: an MFA code was spent on it.
        notes: the remarks also appended to `message` (capped durations, saved serials).
    """

    profile: str
    session_profile: str
    expiration: datetime
    refreshed: bool
    message: str
    used_code: bool = False
    notes: tuple[str, ...] = ()

    def noting(self, notes: tuple[str, ...]) -> RefreshResult:
        """The same result with `notes` (not already there) added to its notes and message."""
        new = tuple(n for n in notes if n not in self.notes)
        if not new:
            return self
        return RefreshResult(
            self.profile,
            self.session_profile,
            self.expiration,
            self.refreshed,
            "; ".join((self.message, *new)),
            self.used_code,
            (*self.notes, *new),
        )

    def saying(self, prefix: str) -> RefreshResult:
        """The same result, its message led by `prefix` (e.g. "switched mfa-tui to P")."""
        return RefreshResult(
            self.profile,
            self.session_profile,
            self.expiration,
            self.refreshed,
            f"{prefix}; {self.message}",
            self.used_code,
            self.notes,
        )


class Batch:
    """Sessions fetched by several workers, written together in one locked write.

    Fifty role sessions refreshed at once cost one read, one parse and one fsync, and
    readers see all of them change at once (see `SessionStore.commit`).
    """

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def add(self, header: str, values: dict[str, str]) -> None:
        with self._lock:
            self.sections[header] = values

    def holds(self, header: str) -> bool:
        with self._lock:
            return header in self.sections


def _files_signature(paths: AwsPaths) -> tuple[object, ...]:
    stamp: list[object] = []
    for path in (paths.config, paths.credentials):
        try:
            st = os.stat(path)
        except OSError:
            stamp.append(None)
            continue
        stamp.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(stamp)


class SessionStore:
    """The parsed files, re-read only when they change, and the sessions written to them.

    Safe to share between threads: a `ProfileSet` is never changed once built, and the
    reference to the current one is swapped under a lock.
    """

    def __init__(self, paths: AwsPaths, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.paths = paths
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._profile_set: ProfileSet | None = None
        self._signature: tuple[object, ...] = ()

    # --- reading ---------------------------------------------------------------------

    def reload(self) -> ProfileSet:
        """Re-read both AWS files, unless neither changed since the last read.

        A refresh re-reads around each step (another process may have written); with a
        5,000-profile file a parse costs real time, so an unchanged pair of files (same
        inode, size and mtime: our writes always make a new inode) is not parsed again.
        """
        signature = _files_signature(self.paths)
        with self._lock:
            if self._profile_set is None or signature != self._signature:
                self._profile_set = None  # the old parse goes first: a big file is held once
                self._profile_set = load_profiles(self.paths)
                self._signature = signature
            return self._profile_set

    @property
    def profile_set(self) -> ProfileSet:
        with self._lock:
            current = self._profile_set
        return current or self.reload()

    def profile(self, name: str) -> Profile:
        profile = self.profile_set.get(name)
        if profile is None:
            raise UsageError(
                f"unknown profile '{name}' (not in {self.paths.config} or {self.paths.credentials})"
            )
        return profile

    def session_values(self, name: str) -> dict[str, str] | None:
        """The values of the section holding `name`'s session, if mfa-tui wrote it."""
        return session_values_of(self.profile_set, self.settings, name)[1]

    def credentials(self, name: str) -> StoredSession | None:
        """The stored session of a user, a role or the active profile; None if none or
        expired."""
        return stored_session(self.profile_set, self.settings, name, self.clock.now())

    def seconds_left(self, name: str) -> float | None:
        """Seconds until `name`'s session expires (negative once expired), None if none."""
        values = self.session_values(name)
        expiration = parse_expiration(values.get("expiration")) if values else None
        if expiration is None:
            return None
        return (expiration - self.clock.now()).total_seconds()

    def active_source(self) -> str | None:
        """The user or role the active profile mirrors, if it holds one."""
        active = self.profile_set.get(self.settings.active_profile)
        if active is None or active.kind is not Kind.SESSION:
            return None
        return active.session_of

    def still_valid(self, profile: Profile, message: str) -> RefreshResult | None:
        """A result saying the stored session stays, or None when there is none."""
        values = self.session_values(profile.name)
        expiration = parse_expiration(values.get("expiration")) if values else None
        if expiration is None:
            return None
        left = (expiration - self.clock.now()).total_seconds()
        session_profile = self.settings.session_profile_for(profile.name)
        return RefreshResult(
            profile.name,
            session_profile,
            expiration,
            refreshed=False,
            message="; ".join(
                (
                    f"{session_profile} still valid until {human_time(expiration)} "
                    f"({human_left(left)} left)",
                    message,
                    *profile.notes,
                )
            ),
            notes=profile.notes,
        )

    def got_elsewhere(self, profile: Profile, session: StoredSession) -> RefreshResult:
        """The result for a session another process (the running agent) got and wrote."""
        self.reload()
        left = session.seconds_left(self.clock.now())
        session_profile = self.settings.session_profile_for(profile.name)
        return RefreshResult(
            profile.name,
            session_profile,
            session.expiration,
            refreshed=True,
            message=f"{session_profile} refreshed by the dashboard ({human_left(left)} left)",
        )

    # --- writing -----------------------------------------------------------------------

    def _connection_values(self, name: str) -> dict[str, str]:
        profile = self.profile_set.get(name)
        if profile is None:
            return {}
        return {k: profile.values[k] for k in CONNECTION_KEYS if profile.values.get(k)}

    def write(
        self,
        profile: Profile,
        creds: Any,
        *,
        used_code: bool,
        notes: tuple[str, ...] | list[str] = (),
        batch: Batch | None = None,
    ) -> RefreshResult:
        """Write `profile`'s new session (`creds`: sts.Credentials), or add it to `batch`.

        Only an answer STS gave is written, so a failed call never changes the file.
        """
        session_profile = self.settings.session_profile_for(profile.name)
        if session_profile == profile.name:
            raise UsageError(
                f"the session profile of '{profile.name}' would be the profile itself; "
                "mfa-tui never writes over long-term keys"
            )
        expiration: datetime = creds.expiration or (self.clock.now() + timedelta(hours=1))
        # Whole seconds, as the file holds it: the result reports what every reader sees.
        expiration = expiration.replace(microsecond=0)
        values = {
            "aws_access_key_id": creds.access_key_id,
            "aws_secret_access_key": creds.secret_access_key,
            "aws_session_token": creds.session_token or "",
            "expiration": format_expiration(expiration),
            **self._connection_values(profile.name),
            OWNER_KEY: profile.name,
            REFRESHED_KEY: format_expiration(self.clock.now()),
        }
        if batch is not None:
            batch.add(session_profile, values)
        else:
            with self._lock:
                self._profile_set = None  # read again after the write: never two parses
            write_section(self.paths.credentials, session_profile, values)
            self.reload()
        left = (expiration - self.clock.now()).total_seconds()
        message = (
            f"{session_profile} valid until {human_time(expiration)} ({human_left(left)} left)"
        )
        # What the files hold that the AWS tools cannot use is said at every refresh.
        all_notes = tuple(dict.fromkeys([*notes, *profile.notes]))
        if all_notes:
            message += "; " + "; ".join(all_notes)
        return RefreshResult(
            profile.name, session_profile, expiration, True, message, used_code, all_notes
        )

    def write_active(self, name: str) -> None:
        """Mirror `name`'s stored session into the active profile (`mfa-tui`)."""
        values = self.session_values(name)
        if values is None:
            raise MfaTuiError(f"'{name}' has no session to switch to")
        mirrored: dict[str, str] = {
            k: values[k] for k in (*_SESSION_KEYS, *CONNECTION_KEYS, REFRESHED_KEY) if values.get(k)
        }
        mirrored[OWNER_KEY] = name
        write_section(self.paths.credentials, self.settings.active_profile, mirrored, mirror=True)
        self.reload()

    def mirror_active(self, name: str, batch: Batch | None = None) -> None:
        """A refreshed session that is the active one renews the active profile too.

        A session still waiting in a batch is mirrored by `commit`, after its write.
        """
        if batch is not None and batch.holds(self.settings.session_profile_for(name)):
            return
        self.reload()
        if self.active_source() == name:
            self.write_active(name)

    def commit(self, batch: Batch) -> None:
        """Write every session of `batch` at once, then renew the active profile."""
        if batch.sections:
            write_sections(self.paths.credentials, batch.sections)
        self.reload()
        active = self.active_source()
        if active is not None and self.settings.session_profile_for(active) in batch.sections:
            self.write_active(active)
