"""The session engine: one MFA code → a user session → every role of that user.

UI-free; the CLI, the dashboard, the daemon and the agent all drive it. The credentials
file is the one owner of every session's expiry: this module reads it, decides, calls
STS, and writes the result back through the lossless writer; it keeps no copy of its own.

Policy:
- A user session comes from GetSessionToken with the user's long-term keys and a code.
- A role is assumed with the user's valid session (or a valid session of a role nearer
  the user in its chain), so it needs no code of its own: one code unlocks every role.
  AWS caps a role assumed from temporary credentials at one hour, so role sessions are
  re-assumed silently from the user session; a longer `duration_seconds` is capped and
  said so. Only an explicit longer `duration` for a first-hop role is assumed directly
  with the long-term keys and a code, the one path AWS allows more than an hour on.
- A stored session AWS no longer accepts (revoked, its key deleted) is replaced: the
  refresh falls back to a fresh user session.
- Each session is written only after its own call succeeded; a failed call writes
  nothing. Sessions carry the profile's region and endpoint settings, so
  `AWS_PROFILE=<session profile>` works on its own.
- Refreshes of one profile are serialised within a process, so concurrent callers
  (dashboard workers, agent requests) cause one STS call, not one each.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mfa_tui.aws.credentials import OWNER_KEY, not_ours, write_section, write_sections
from mfa_tui.aws.files import (
    AwsPaths,
    Kind,
    Profile,
    ProfileSet,
    config_section_for,
    format_expiration,
    load_profiles,
    mfa_serial_of,
    parse_expiration,
    user_of,
)
from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.codes import (
    Cancelled,
    Code,
    CodePrompt,
    CodeRequest,
    CodeSources,
    SeedStore,
    UsedCodes,
    normalize_code,
    normalize_seed,
    totp_at,
)
from mfa_tui.core.session_store import StoredSession, stored_session
from mfa_tui.core.status import ProfileStatus, all_statuses
from mfa_tui.errors import (
    AwsRefusedError,
    InvalidMfaCodeError,
    MfaTuiError,
    NeedsCodeError,
    UsageError,
)
from mfa_tui.listing import human_left
from mfa_tui.settings import (
    ASSUME_ROLE_MAX,
    ASSUME_ROLE_MIN,
    GET_SESSION_TOKEN_MAX,
    GET_SESSION_TOKEN_MIN,
    MAX_CONCURRENT_STS_CALLS,
    Settings,
    load_settings,
)

# Role refreshes that run at once (STS calls overlap; the file lock orders the writes).
REFRESH_POOL = MAX_CONCURRENT_STS_CALLS
# A source session with less than this left is not worth assuming a role from.
MIN_SOURCE_LEFT = 120
CHAINED_ROLE_MAX = 3600
# Settings that say where and how to reach AWS, copied into a session profile so it
# works on its own (botocore reads them from the credentials file too).
CONNECTION_KEYS = ("region", "endpoint_url", "services", "ca_bundle")
# AWS's answers when a stored session (not a person's code) is what it refuses.
SESSION_REJECTED = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch"}
)
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")

__all__ = [
    "CodeRequest",
    "RefreshOutcome",
    "RefreshResult",
    "SessionCredentials",
    "SessionService",
]

# The name the faces know a stored session by.
SessionCredentials = StoredSession


@dataclass
class _ProfileLock:
    """Serialises refreshes of one profile; `generation` counts finished refreshes so a
    caller that waited can tell someone else just did its work."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0


_locks_guard = threading.Lock()
_profile_locks: dict[tuple[str, str], _ProfileLock] = {}
# (credentials file, user profile, access key id) -> MFA serial found with ListMFADevices.
_discovered: dict[tuple[str, str, str], str] = {}


def _profile_lock(paths: AwsPaths, name: str) -> _ProfileLock:
    key = (str(paths.credentials), name)
    with _locks_guard:
        return _profile_locks.setdefault(key, _ProfileLock())


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


@dataclass(frozen=True)
class RefreshOutcome:
    """One profile of `refresh_due`: a result, or the error, or the code it waits for."""

    profile: str
    result: RefreshResult | None = None
    error: MfaTuiError | None = None
    needs_code: CodeRequest | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None


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


def human_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def default_session_name(user: str) -> str:
    """A valid RoleSessionName ([\\w+=,.@-], 2-64 chars) from the user's name.

    It shows in CloudTrail next to every call made with the role, so it names the
    person's user profile.
    """
    name = _SESSION_NAME_BAD.sub("-", f"mfa-tui-{user}")[:64]
    return name if len(name) >= 2 else "mfa-tui"


class SessionService:
    """Get, refresh and serve sessions for the profiles in the AWS files.

    Args:
        paths: the AWS files (default: what botocore would read).
        settings: mfa-tui's settings (default: loaded from the settings file).
        clock: wall time for expiry and TOTP; tests freeze it.
        code_prompt: asks a person for a code (None: never ask, NeedsCodeError instead).
        keyring_backend: a keyring backend to use instead of the OS's (tests).
        sleep: how to wait for the next TOTP step (tests pass one that moves their clock).
        used_codes: where spent TOTP steps are remembered (default: the state dir).
        announce: told when a refresh waits for the next TOTP step (the face shows it).
    """

    def __init__(
        self,
        paths: AwsPaths | None = None,
        settings: Settings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        code_prompt: CodePrompt | None = None,
        keyring_backend: Any = None,
        *,
        sleep: Callable[[float], None] | None = None,
        used_codes: UsedCodes | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.paths = paths or AwsPaths.from_env()
        self._settings = settings if settings is not None else load_settings()
        self.clock = clock
        self.code_prompt = code_prompt
        self.seeds = SeedStore(keyring_backend)
        self._keyring_backend = keyring_backend
        self.used_codes = used_codes or UsedCodes()
        self._sleep = sleep
        self.announce = announce
        self._profile_set: ProfileSet | None = None
        self._signature: tuple[object, ...] = ()
        # Set by refresh_many: sessions are collected here instead of written one by one.
        self._batch: tuple[dict[str, dict[str, str]], threading.Lock] | None = None

    def _clone(self) -> SessionService:
        """A service of its own for a worker thread: same files, settings and sources.

        It starts from this service's parse (a ProfileSet is never changed once built),
        so fifty workers do not parse the same unchanged files fifty times; each still
        re-reads on its own when the files change under it.
        """
        clone = SessionService(
            self.paths,
            self._settings,
            self.clock,
            self.code_prompt,
            self._keyring_backend,
            sleep=self._sleep,
            used_codes=self.used_codes,
            announce=self.announce,
        )
        clone._profile_set, clone._signature = self._profile_set, self._signature
        return clone

    # --- reading ---------------------------------------------------------------------

    def reload(self) -> ProfileSet:
        """Re-read both AWS files, unless neither changed since the last read.

        A refresh re-reads around each step (another process may have written); with a
        5,000-profile file a parse costs real time, so an unchanged pair of files (same
        inode, size and mtime: our writes always make a new inode) is not parsed again.
        """
        signature = _files_signature(self.paths)
        if self._profile_set is None or signature != self._signature:
            self._profile_set = None  # the old parse goes first: a big file is held once
            self._profile_set = load_profiles(self.paths)
            self._signature = signature
        return self._profile_set

    @property
    def profile_set(self) -> ProfileSet:
        return self._profile_set or self.reload()

    @property
    def settings(self) -> Settings:
        return self._settings

    def statuses(self) -> list[ProfileStatus]:
        return all_statuses(self.profile_set, self.settings, self.clock.now())

    def profile(self, name: str) -> Profile:
        profile = self.profile_set.get(name)
        if profile is None:
            raise UsageError(
                f"unknown profile '{name}' (not in {self.paths.config} or {self.paths.credentials})"
            )
        return profile

    def _managed(self, name: str) -> Profile:
        profile = self.profile(name)
        if profile.kind is Kind.SESSION and profile.session_of and profile.session_of != name:
            return self._managed(profile.session_of)
        if not profile.managed:
            raise UsageError(
                f"profile '{name}' is not one mfa-tui can refresh ({profile.kind.value}: "
                f"{profile.unmanaged_reason})"
            )
        return profile

    def session_values(self, name: str) -> dict[str, str] | None:
        session = self.profile_set.get(self.settings.session_profile_for(name))
        if session is None or session.kind is not Kind.SESSION:
            return None
        return session.values

    def credentials(self, name: str) -> SessionCredentials | None:
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

    def has_seed(self, serial: str) -> bool:
        """True when the keyring holds a TOTP seed for this MFA serial (False when no
        keyring is usable)."""
        return self.seeds.has(serial)

    # --- who and which device --------------------------------------------------------

    def user_for(self, profile: Profile) -> Profile:
        user = user_of(self.profile_set.profiles, profile)
        if user is None:
            raise UsageError(f"profile '{profile.name}' does not lead to a user with keys")
        return user

    def mfa_serial_for(self, profile: Profile, *, discover: bool = False) -> str | None:
        """The user's device: on the user, else on a role of the chain, else on any role
        of the same user, else what IAM lists for the user (when `discover`)."""
        user = self.user_for(profile)
        known = mfa_serial_of(self.profile_set, profile)
        if known is not None:
            return known
        cached = _discovered.get(self._discovery_key(user))
        if cached is not None:
            return cached
        if discover:
            return self._discover_serial(user)
        return None

    def _discovery_key(self, user: Profile) -> tuple[str, str, str]:
        return (str(self.paths.credentials), user.name, user.values.get("aws_access_key_id", ""))

    def _discover_serial(self, user: Profile) -> str:
        from mfa_tui.aws import sts

        serials = sts.list_mfa_devices(user.name, self._long_term(user))
        if len(serials) == 1:
            _discovered[self._discovery_key(user)] = serials[0]
            return serials[0]
        where = f"[{config_section_for(user.name)}] in {self.paths.config}"
        if not serials:
            raise MfaTuiError(
                f"user profile '{user.name}' has no mfa_serial and IAM lists no MFA device "
                "for its user; assign one in the IAM console (Security credentials → "
                f"Assign MFA device), then add 'mfa_serial = <its ARN>' to {where}",
                title="No MFA device",
            )
        raise MfaTuiError(
            f"user profile '{user.name}' has no mfa_serial and its user has "
            f"{len(serials)} MFA devices ({', '.join(serials)}); choose one and add "
            f"'mfa_serial = ...' to {where}",
            title="Several MFA devices",
        )

    def save_serial(self, user: str, serial: str) -> None:
        """Write a device into the config file as the user's mfa_serial (losslessly)."""
        from mfa_tui.aws.credentials import set_key
        from mfa_tui.aws.ini import read

        header = config_section_for(user)
        if not read(self.paths.config).find(header):
            # The user lives only in the credentials file: give it a config section.
            _append_config_section(self.paths.config, header, {"mfa_serial": serial})
        else:
            set_key(self.paths.config, header, "mfa_serial", serial)
        self.reload()

    def _serial_for_refresh(
        self, profile: Profile, user: Profile, save_serial: bool, notes: list[str]
    ) -> str:
        """The device for a refresh; saves it or says how when it was not configured."""
        known = user.mfa_serial is not None
        serial = self.mfa_serial_for(profile, discover=True)
        assert serial is not None
        if known:
            return serial
        if save_serial:
            self.save_serial(user.name, serial)
            notes.append(f"saved mfa_serial = {serial} in [{config_section_for(user.name)}]")
        elif _discovered.get(self._discovery_key(user)) == serial:
            notes.append(
                f"found MFA device {serial} with iam:ListMFADevices; --save-serial writes "
                "it into the config file"
            )
        return serial

    def _long_term(self, user: Profile) -> Any:
        from mfa_tui.aws.sts import Credentials

        if not user.has_long_term_keys:
            raise UsageError(
                f"profile '{user.name}' has no aws_access_key_id/aws_secret_access_key in "
                f"{self.paths.credentials}"
            )
        return Credentials(user.values["aws_access_key_id"], user.values["aws_secret_access_key"])

    def _code_sources(self, profile: Profile, user: Profile) -> CodeSources:
        settings = self.settings
        command = (
            settings.for_profile(profile.name).code_command
            or settings.for_profile(user.name).code_command
            or profile.values.get("mfa_process")
            or user.values.get("mfa_process")
            or settings.code_command
        )
        kwargs: dict[str, Any] = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        return CodeSources(
            seeds=self.seeds,
            used=self.used_codes,
            command=command,
            command_timeout=settings.code_command_timeout,
            prompt=self.code_prompt,
            clock_time=self.clock.time,
            skew=self._aws_skew,
            announce=self.announce,
            **kwargs,
        )

    def _aws_skew(self) -> float | None:
        """Seconds our clock is ahead of AWS's (from the last answer's Date header),
        net of any correction the injected clock already applies."""
        from mfa_tui.aws.sts import SERVER_CLOCK

        measured = SERVER_CLOCK.skew_seconds()
        if measured is None:
            return None
        return measured + self.clock.skew.total_seconds()

    def needs_code(self, name: str) -> CodeRequest | None:
        """What a refresh of `name` now would need from a person; None if it can go alone
        (a role with a valid source session, a TOTP seed, a code_command).

        May call IAM once to find an unconfigured MFA device (then cached).
        """
        profile = self._managed(name)
        user = self.user_for(profile)
        if profile.kind is Kind.ROLE and self._valid_source_in_chain(profile) is not None:
            return None
        serial = self.mfa_serial_for(profile, discover=True)
        assert serial is not None
        if self._code_sources(profile, user).silent_source(serial):
            return None
        return CodeRequest(profile.name, serial, user.name)

    # --- durations -----------------------------------------------------------------

    def _user_duration(self, user: Profile, duration: int | None) -> int:
        override = self.settings.for_profile(user.name).duration
        if duration is not None:
            value, origin = duration, "--duration"
        elif override is not None:
            value, origin = override, f'duration in [profiles."{user.name}"] of the settings'
        else:
            value, origin = self.settings.user_duration, "user_duration in the settings"
        if not GET_SESSION_TOKEN_MIN <= value <= GET_SESSION_TOKEN_MAX:
            raise UsageError(
                f"a user session lasts {GET_SESSION_TOKEN_MIN}..{GET_SESSION_TOKEN_MAX} "
                f"seconds; {origin} is {value}"
            )
        return value

    def _role_duration(self, role: Profile, duration: int | None) -> int:
        override = self.settings.for_profile(role.name).duration
        if duration is not None:
            value, origin = duration, "--duration"
        elif override is not None:
            value, origin = override, f'duration in [profiles."{role.name}"] of the settings'
        elif role.duration_seconds is not None:
            value = role.duration_seconds
            origin = f"duration_seconds in [{config_section_for(role.name)}]"
        else:
            value, origin = self.settings.role_duration, "role_duration in the settings"
        if not ASSUME_ROLE_MIN <= value <= ASSUME_ROLE_MAX:
            raise UsageError(
                f"a role session lasts {ASSUME_ROLE_MIN}..{ASSUME_ROLE_MAX} seconds; "
                f"{origin} is {value}"
            )
        return value

    def _check_duration(self, profile: Profile, duration: int | None) -> None:
        """Refuse an out-of-range duration before any lock, file or call."""
        if profile.kind is Kind.USER:
            self._user_duration(profile, duration)
        else:
            self._role_duration(profile, duration)

    def _check_writable(self, profile: Profile, *, active: bool = False) -> None:
        """Refuse before any STS call what the writer would refuse after it.

        A session mfa-tui could not store (a section of the same name that holds the
        person's own keys, a read-only credentials file) would waste the MFA code spent
        on it; better to say so first.
        """
        from mfa_tui.aws.atomic import check_writable, resolve_target

        path = resolve_target(self.paths.credentials)
        check_writable(path)  # read-only, a FIFO, a directory: refused before any call
        owners = {self.settings.session_profile_for(n): n for n in profile.chain or [profile.name]}
        if active:
            owners[self.settings.active_profile] = profile.name
        doc = self.profile_set.credentials_doc
        for header, owner in owners.items():
            sections = doc.find(header)
            if sections and not any(OWNER_KEY in section.values for section in sections):
                raise not_ours(header, path, owner, asked=", and asked nothing of AWS")

    def _session_name(self, role: Profile, user: Profile) -> str:
        name = role.role_session_name
        if name is None:
            return default_session_name(user.name)
        if not _SESSION_NAME.fullmatch(name):
            raise UsageError(
                f"role_session_name = {name!r} in [{config_section_for(role.name)}] is not "
                "valid for STS: 2-64 characters of letters, digits and _+=,.@-"
            )
        return name

    # --- refreshing ------------------------------------------------------------------

    def _margin(self, profile: Profile) -> int:
        return self.settings.refresh_margin_for(profile.kind.value)

    def _current(self, profile: Profile, message: str) -> RefreshResult | None:
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
            message=(
                f"{session_profile} still valid until {human_time(expiration)} "
                f"({human_left(left)} left); {message}"
            ),
        )

    def _still_valid(self, profile: Profile, min_valid: float | None) -> RefreshResult | None:
        left = self.seconds_left(profile.name)
        if left is None or left <= max(self._margin(profile), min_valid or 0):
            return None
        return self._current(profile, "nothing to do (--force refreshes anyway)")

    @staticmethod
    def _check_cancel(cancel: threading.Event | None, name: str) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"the refresh of '{name}' was cancelled")

    def refresh(
        self,
        name: str,
        *,
        code: str | None = None,
        duration: int | None = None,
        force: bool = False,
        cancel: threading.Event | None = None,
        save_serial: bool = False,
        min_valid: float | None = None,
    ) -> RefreshResult:
        """Make sure `name` has a session beyond its refresh margin, and write it.

        Args:
            name: a user or role profile (or a session profile mfa-tui wrote for one).
            code: a 6-digit code; checked before anything else (UsageError).
            duration: seconds; out of range is a UsageError before any call.
            force: refresh even when the stored session is still valid.
            cancel: set it to stop before the next STS call or while waiting for a code.
            save_serial: write a discovered MFA device into the config file.
            min_valid: refresh when less than this many seconds are left, even if that is
                outside the refresh margin (credential_process needs 15 minutes).

        Raises:
            MfaTuiError: UsageError, NeedsCodeError, AwsRefusedError, NetworkError, ...;
                nothing is written for a call that failed.
        """
        if code is not None:
            code = normalize_code(code)
        profile = self._managed(name)
        self._check_duration(profile, duration)
        self._check_writable(profile, active=self.active_source() == profile.name)
        entry = _profile_lock(self.paths, profile.name)
        seen = entry.generation
        with entry.lock:
            # Another caller may have refreshed while we waited for the lock.
            self.reload()
            profile = self._managed(profile.name)
            if entry.generation != seen:
                shared = self._still_valid(profile, min_valid)
                if shared is not None:
                    return shared
            if not force:
                current = self._still_valid(profile, min_valid)
                if current is not None:
                    return current
            self._check_cancel(cancel, name)
            if profile.kind is Kind.USER:
                result = self._refresh_user(profile, code, duration, save_serial, cancel)
            else:
                result = self._refresh_role(profile, code, duration, cancel, save_serial)
            entry.generation += 1
        self._mirror_active(result.profile)
        return result

    def _with_code(
        self,
        request: CodeRequest,
        sources: CodeSources,
        code: Code,
        call: Callable[[str], Any],
        cancel: threading.Event | None,
    ) -> Any:
        """Run an STS call with a code; a soft token gets one retry on its next step."""
        try:
            result = call(code.value)
        except InvalidMfaCodeError as exc:
            sources.mark_used(request, code)
            if code.source != "totp":
                raise
            retry = sources.from_seed(request.mfa_serial, after_step=code.step, cancel=cancel)
            if retry is None:
                raise
            try:
                result = call(retry.value)
            except InvalidMfaCodeError:
                sources.mark_used(request, retry)
                raise InvalidMfaCodeError(
                    f"{exc.message}. Two codes in a row from the stored TOTP seed were "
                    f"rejected: the seed may not belong to {request.mfa_serial} (run "
                    f"'mfa-tui totp set {request.user}' again) or this computer's clock "
                    "is off",
                    code=exc.code,
                ) from None
            sources.mark_used(request, retry)
            return result
        sources.mark_used(request, code)
        return result

    def _refresh_user(
        self,
        user: Profile,
        code: str | None,
        duration: int | None,
        save_serial: bool,
        cancel: threading.Event | None,
        requester: Profile | None = None,
    ) -> RefreshResult:
        """GetSessionToken for `user`; `requester` is the role a person asked for, which
        the prompt names and whose code_command applies."""
        from mfa_tui.aws import sts

        asker = requester or user
        seconds = self._user_duration(user, duration)
        keys = self._long_term(user)
        notes: list[str] = []
        serial = self._serial_for_refresh(asker, user, save_serial, notes)
        request = CodeRequest(asker.name, serial, user.name)
        sources = self._code_sources(asker, user)
        first = sources.obtain(request, code, cancel)
        self._check_cancel(cancel, user.name)
        creds = self._with_code(
            request,
            sources,
            first,
            lambda value: sts.get_session_token(
                user.name, keys, serial=serial, code=value, duration=seconds
            ),
            cancel,
        )
        return self._store(user, creds, used_code=True, notes=notes, immediate=True)

    def _valid_source(self, name: str) -> Any | None:
        """`name`'s stored session as sts.Credentials, if it has over MIN_SOURCE_LEFT."""
        from mfa_tui.aws.sts import Credentials

        left = self.seconds_left(name)
        stored = self.credentials(name)
        if left is None or left <= MIN_SOURCE_LEFT or stored is None:
            return None
        return Credentials(
            stored.access_key_id, stored.secret_access_key, stored.session_token, stored.expiration
        )

    def _valid_source_in_chain(self, role: Profile) -> tuple[int, Any] | None:
        """The valid stored session nearest the role: (index of the first hop to assume,
        credentials). Hops run from the user outwards; index 0 means "from the user"."""
        hops = list(reversed(role.chain[:-1]))
        for index in range(len(hops) - 1, 0, -1):
            creds = self._valid_source(hops[index - 1])
            if creds is not None:
                return index, creds
        creds = self._valid_source(role.chain[-1])
        return (0, creds) if creds is not None else None

    def _user_session(
        self,
        role: Profile,
        user: Profile,
        code: str | None,
        save_serial: bool,
        cancel: threading.Event | None,
        *,
        renew: bool = False,
    ) -> tuple[Any, bool, list[str]]:
        """A user session to assume from: the stored one, or a new one (with a code).

        Returns (credentials, whether a code was spent, notes). `renew` ignores a stored
        session AWS just refused.
        """
        entry = _profile_lock(self.paths, user.name)
        with entry.lock:
            # Someone may have refreshed the user while we waited for its lock.
            self.reload()
            stored = None if renew else self._valid_source(user.name)
            if stored is not None:
                return stored, False, []
            result = self._refresh_user(user, code, None, save_serial, cancel, role)
            entry.generation += 1
        self._mirror_active(user.name)
        fresh = self._valid_source(user.name)
        if fresh is None:
            raise MfaTuiError(f"the new session of '{user.name}' could not be read back")
        return fresh, True, list(result.notes)

    def _refresh_role(
        self,
        role: Profile,
        code: str | None,
        duration: int | None,
        cancel: threading.Event | None,
        save_serial: bool,
    ) -> RefreshResult:
        user = self.user_for(role)
        hops = [self.profile(n) for n in reversed(role.chain[:-1])]  # nearest the user first
        notes: list[str] = []
        wanted = self._role_duration(role, duration)
        if duration is not None and wanted > CHAINED_ROLE_MAX and len(hops) == 1:
            return self._assume_directly(role, user, code, wanted, cancel, save_serial)
        if wanted > CHAINED_ROLE_MAX:
            notes.append(
                f"duration capped to {CHAINED_ROLE_MAX} s (role chaining limit: AWS gives a "
                "role assumed from an MFA session at most an hour; mfa-tui re-assumes it "
                "silently)"
            )
            wanted = CHAINED_ROLE_MAX
        used_code = False
        # The nearest valid stored session; a typed code is kept for when none is valid
        # (or AWS refuses the stored one) rather than spent for nothing.
        start = self._valid_source_in_chain(role)
        from_store = start is not None
        for attempt in range(3):
            if start is None:
                creds, spent, user_notes = self._user_session(
                    role, user, code, save_serial, cancel, renew=attempt > 0
                )
                used_code = used_code or spent
                notes.extend(user_notes)
                if spent and creds.expiration is not None:
                    notes.append(
                        f"new user session {self.settings.session_profile_for(user.name)} "
                        f"until {human_time(creds.expiration)}: {user.name}'s other roles "
                        "need no code until then"
                    )
                start, from_store = (0, creds), not spent
            index, creds = start
            try:
                creds = self._walk(role, user, hops, index, creds, wanted, notes, cancel)
                break
            except AwsRefusedError as exc:
                if not from_store or exc.code not in SESSION_REJECTED or attempt == 2:
                    raise
                # AWS no longer accepts a stored session (revoked, its key deleted): go
                # on from the user's stored session, or if that was the one, a new one.
                user_creds = self._valid_source(user.name) if index > 0 else None
                start = (0, user_creds) if user_creds is not None else None
        return self._store(role, creds, used_code=used_code, notes=notes)

    def _walk(
        self,
        role: Profile,
        user: Profile,
        hops: list[Profile],
        index: int,
        creds: Any,
        wanted: int,
        notes: list[str],
        cancel: threading.Event | None,
    ) -> Any:
        """Assume hops[index:] in turn; intermediate roles' sessions are stored too, so
        the next refresh of this chain starts nearer the role."""
        for hop in hops[index:]:
            self._check_cancel(cancel, role.name)
            if hop is hops[-1]:
                seconds = wanted
            else:
                try:
                    seconds = min(self._role_duration(hop, None), CHAINED_ROLE_MAX)
                except UsageError:
                    seconds = CHAINED_ROLE_MAX
            creds = self._assume(hop, creds, user, seconds, notes if hop is hops[-1] else [])
            if hop is not hops[-1] and hop.managed:
                self._store(hop, creds, used_code=False)
                self._mirror_active(hop.name)
        return creds

    def _assume_directly(
        self,
        role: Profile,
        user: Profile,
        code: str | None,
        seconds: int,
        cancel: threading.Event | None,
        save_serial: bool,
    ) -> RefreshResult:
        """AssumeRole with the long-term keys and a code: the one path to > 1 hour."""
        from mfa_tui.aws import sts

        keys = self._long_term(user)
        notes: list[str] = []
        serial = self._serial_for_refresh(role, user, save_serial, notes)
        request = CodeRequest(role.name, serial, user.name)
        sources = self._code_sources(role, user)
        first = sources.obtain(request, code, cancel)
        self._check_cancel(cancel, role.name)

        def attempt(code_now: Code, length: int) -> Any:
            return self._with_code(
                request,
                sources,
                code_now,
                lambda value: self._assume(role, keys, user, length, notes, serial, value),
                cancel,
            )

        try:
            creds = attempt(first, seconds)
        except sts.DurationTooLongError as exc:
            allowed = exc.max_allowed or CHAINED_ROLE_MAX
            if allowed >= seconds or allowed < ASSUME_ROLE_MIN:
                raise
            # The code may be spent: a retry needs a new one, which only a soft token
            # or a code_command can give without asking again.
            sources.mark_used(request, first)
            if first.source == "totp":
                again = sources.from_seed(serial, after_step=first.step, cancel=cancel)
            elif first.source == "command":
                again = sources.obtain(request, None, cancel)
            else:
                again = None
            if again is None:
                raise sts.DurationTooLongError(
                    f"{exc.message} Run again with --duration {allowed} or less (the role's "
                    "maximum session duration: 'aws iam get-role --role-name "
                    f"{(role.role_arn or '').rsplit('/', 1)[-1]}')",
                    chained=exc.chained,
                    max_allowed=exc.max_allowed,
                ) from None
            why = "role chaining limit" if exc.chained else "the role's maximum session duration"
            notes.append(f"duration capped to {allowed} s ({why}; STS refused {seconds} s)")
            seconds = allowed
            creds = attempt(again, seconds)
        notes.append(
            f"assumed directly with MFA for {seconds} s (a role assumed from a session "
            "is capped at an hour); no user session was stored"
        )
        return self._store(role, creds, used_code=True, notes=notes)

    def _assume(
        self,
        role: Profile,
        creds: Any,
        user: Profile,
        duration: int,
        notes: list[str],
        serial: str | None = None,
        code: str | None = None,
    ) -> Any:
        """One AssumeRole; a refused duration is retried once with the largest allowed."""
        from mfa_tui.aws import sts

        assert role.role_arn is not None
        session_name = self._session_name(role, user)

        def call(seconds: int) -> Any:
            return sts.assume_role(
                role.name,
                creds,
                key_profile=user.name,
                role_arn=role.role_arn or "",
                session_name=session_name,
                duration=seconds,
                external_id=role.external_id,
                serial=serial,
                code=code,
            )

        try:
            return call(duration)
        except sts.DurationTooLongError as exc:
            allowed = exc.max_allowed or CHAINED_ROLE_MAX
            if code is not None or allowed >= duration or allowed < ASSUME_ROLE_MIN:
                raise  # with a code the caller decides: a retry needs a new code
            why = "role chaining limit" if exc.chained else "the role's maximum session duration"
            notes.append(f"duration capped to {allowed} s ({why}; STS refused {duration} s)")
            return call(allowed)

    def _connection_values(self, name: str) -> dict[str, str]:
        profile = self.profile_set.get(name)
        if profile is None:
            return {}
        return {k: profile.values[k] for k in CONNECTION_KEYS if profile.values.get(k)}

    def _store(
        self,
        profile: Profile,
        creds: Any,
        *,
        used_code: bool,
        notes: list[str] | None = None,
        immediate: bool = False,
    ) -> RefreshResult:
        """Write a session (or, inside refresh_many, collect it for one batch write).

        `immediate` writes at once even in a batch: a user session is read back at once
        as the source of the roles being assumed.
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
            "mfa_tui_refreshed": format_expiration(self.clock.now()),
        }
        if self._batch is not None and not immediate:
            # refresh_many writes every session at once when all are fetched.
            with self._batch[1]:
                self._batch[0][session_profile] = values
        else:
            self._profile_set = None  # read again after the write: never two parses at once
            write_section(self.paths.credentials, session_profile, values)
            self.reload()
        left = (expiration - self.clock.now()).total_seconds()
        message = (
            f"{session_profile} valid until {human_time(expiration)} ({human_left(left)} left)"
        )
        all_notes = tuple(notes or ())
        if all_notes:
            message += "; " + "; ".join(all_notes)
        return RefreshResult(
            profile.name, session_profile, expiration, True, message, used_code, all_notes
        )

    # --- the active profile ----------------------------------------------------------

    def active_source(self) -> str | None:
        """The user or role the active profile mirrors, if it holds one."""
        active = self.profile_set.get(self.settings.active_profile)
        if active is None or active.kind is not Kind.SESSION:
            return None
        return active.session_of

    def activate(self, name: str, *, code: str | None = None) -> RefreshResult:
        """Refresh `name` if its session is not valid beyond its margin, then mirror it
        into the active profile (settings.active_profile, e.g. `mfa-tui`), the one
        `AWS_PROFILE=mfa-tui` uses."""
        self._check_writable(self._managed(name), active=True)
        result = self.refresh(name, code=code)
        self._write_active(result.profile)
        active = self.settings.active_profile
        return RefreshResult(
            result.profile,
            result.session_profile,
            result.expiration,
            result.refreshed,
            f"switched {active} to {result.profile}; {result.message}",
            result.used_code,
            result.notes,
        )

    def _write_active(self, name: str) -> None:
        values = self.session_values(name)
        if values is None:
            raise MfaTuiError(f"'{name}' has no session to switch to")
        mirrored: dict[str, str] = {
            k: values[k]
            for k in (
                "aws_access_key_id",
                "aws_secret_access_key",
                "aws_session_token",
                "expiration",
                *CONNECTION_KEYS,
                "mfa_tui_refreshed",
            )
            if values.get(k)
        }
        mirrored[OWNER_KEY] = name
        write_section(self.paths.credentials, self.settings.active_profile, mirrored)
        self.reload()

    def _mirror_active(self, name: str) -> None:
        """A refreshed session that is the active one renews the active profile too."""
        if self._batch is not None:
            with self._batch[1]:
                pending = self.settings.session_profile_for(name) in self._batch[0]
            if pending:
                return  # refresh_many mirrors once, after its single write
        self.reload()
        if self.active_source() == name:
            self._write_active(name)

    # --- background --------------------------------------------------------------------

    def refresh_due(self) -> list[RefreshOutcome]:
        """Refresh every session inside its margin that needs no person, users first.

        Only profiles that have a session (someone asked for one once) and auto-refresh
        on are considered. A profile that needs a code is not tried: its outcome carries
        the CodeRequest (and a NeedsCodeError saying how to give one).
        """
        now = self.clock.now()
        due: list[Profile] = []
        for status in all_statuses(self.profile_set, self.settings, now):
            if not status.managed or status.expires_at is None:
                continue
            if not self.settings.auto_refresh_for(status.name):
                continue
            if (status.expires_at - now).total_seconds() <= status.refresh_margin:
                due.append(self.profile(status.name))
        due.sort(key=lambda p: (p.kind is not Kind.USER, len(p.chain), p.name))
        outcomes: list[RefreshOutcome] = []
        silent_roles: list[str] = []
        for profile in due:
            try:
                request = self.needs_code(profile.name)
            except MfaTuiError as exc:
                outcomes.append(RefreshOutcome(profile.name, error=exc))
                continue
            if request is not None:
                outcomes.append(
                    RefreshOutcome(
                        profile.name,
                        error=NeedsCodeError(
                            f"'{profile.name}' needs a code from {request.mfa_serial}; "
                            f"run 'mfa-tui refresh {profile.name}'"
                        ),
                        needs_code=request,
                    )
                )
            elif profile.kind is Kind.ROLE:
                # Users go first, one by one; then every role that can go silently is
                # assumed in parallel from the (now fresh) user sessions.
                silent_roles.append(profile.name)
            else:
                try:
                    result = self.refresh(profile.name)
                except MfaTuiError as exc:
                    outcomes.append(RefreshOutcome(profile.name, error=exc))
                else:
                    outcomes.append(RefreshOutcome(profile.name, result=result))
        outcomes.extend(self.refresh_many(silent_roles))
        return outcomes

    def refresh_many(
        self, names: Sequence[str], *, force: bool = False, max_workers: int = REFRESH_POOL
    ) -> list[RefreshOutcome]:
        """Refresh several profiles at once through a bounded pool of threads.

        Role sessions of one user need no code and no coordination but the file lock, so
        their STS calls overlap; each worker has its own service (boto3 sessions and the
        parsed files are not shared between threads). Outcomes come back in `names` order.
        """

        batch: tuple[dict[str, dict[str, str]], threading.Lock] = ({}, threading.Lock())

        def one(name: str) -> RefreshOutcome:
            worker = self._clone()
            worker._batch = batch
            try:
                return RefreshOutcome(name, result=worker.refresh(name, force=force))
            except MfaTuiError as exc:
                return RefreshOutcome(name, error=exc)

        if not names:
            return []
        self.reload()  # once here, for every worker (see _clone)
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(names)))) as pool:
            outcomes = list(pool.map(one, names))
        if batch[0]:
            try:
                write_sections(self.paths.credentials, batch[0])
            except MfaTuiError as exc:
                return [
                    RefreshOutcome(o.profile, error=exc) if o.result and o.result.refreshed else o
                    for o in outcomes
                ]
        self.reload()
        active = self.active_source()
        if active is not None and any(o.profile == active and o.ok for o in outcomes):
            self._write_active(active)
        return outcomes

    # --- TOTP seeds ------------------------------------------------------------------

    def _seed_serial(self, name: str) -> str:
        profile = self._managed(name)
        serial = self.mfa_serial_for(profile, discover=True)
        assert serial is not None
        return serial

    def store_seed(self, name: str, seed: str) -> tuple[str, str]:
        """Keep a TOTP seed for `name`'s device; returns (serial, current code)."""
        cleaned = normalize_seed(seed)
        serial = self._seed_serial(name)
        self.seeds.set(serial, cleaned)
        return serial, totp_at(cleaned, self.clock.time())[0]

    def remove_seed(self, name: str) -> tuple[str, bool]:
        """Forget the seed of `name`'s device; returns (serial, whether one was stored)."""
        serial = self._seed_serial(name)
        return serial, self.seeds.remove(serial)

    def current_code(self, name: str) -> tuple[str, str, int]:
        """(serial, the current code, seconds it stays valid) from the stored seed."""
        serial = self._seed_serial(name)
        seed = self.seeds.get(serial)
        if seed is None:
            raise UsageError(f"no TOTP seed stored for {serial}; run 'mfa-tui totp set {name}'")
        now = self.clock.time()
        code, step = totp_at(seed, now)
        return serial, code, int((step + 1) * 30 - now)


def _append_config_section(path: Path, header: str, values: dict[str, str]) -> None:
    """Add a new `[profile X]` section at the end of the config file, losslessly."""
    from mfa_tui.aws import ini
    from mfa_tui.aws.atomic import locked, replace_locked
    from mfa_tui.aws.credentials import render_section

    with locked(path) as target:
        doc = ini.read(target)
        lines = list(doc.lines)
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += doc.newline
        if lines and lines[-1].strip():
            lines.append(doc.newline)
        lines.extend(render_section(header, values, doc.newline))
        doc.lines = lines
        replace_locked(target, doc.to_bytes())
