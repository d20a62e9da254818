"""The session engine: one MFA code → a user session → every role of that user.

UI-free; the CLI, the dashboard, the daemon and the agent all drive it. The credentials
file is the one owner of every session's expiry: this module reads it, decides, calls
STS, and writes the result back through the lossless writer; it keeps no copy of its own.

Policy:
- A user session comes from GetSessionToken with the user's long-term keys and a code.
- A role is assumed with the user's valid session, so it needs no code of its own. AWS
  caps a role assumed from temporary credentials at one hour, so role sessions are
  re-assumed from the user session every hour, silently. If a role asks for more than an
  hour (`duration_seconds` in its profile), it is assumed directly with the long-term
  keys and a code instead, since only that path can give it.
- Refreshes of one profile are serialised within a process, so concurrent callers
  (dashboard workers, agent requests) cause one STS call, not one each.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import (
    AwsPaths,
    Kind,
    Profile,
    ProfileSet,
    config_section_for,
    format_expiration,
    load_profiles,
    parse_expiration,
    user_of,
)
from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.codes import Code, CodePrompt, CodeRequest, CodeSources, SeedStore, UsedCodes
from mfa_tui.core.session_store import StoredSession, stored_session
from mfa_tui.core.status import ProfileStatus, all_statuses
from mfa_tui.errors import (
    InvalidMfaCodeError,
    MfaTuiError,
    UsageError,
)
from mfa_tui.settings import (
    ASSUME_ROLE_MAX,
    ASSUME_ROLE_MIN,
    GET_SESSION_TOKEN_MAX,
    GET_SESSION_TOKEN_MIN,
    Settings,
    load_settings,
)

# A user session with less than this left is not worth assuming a role from.
MIN_SOURCE_LEFT = 120
CHAINED_ROLE_MAX = 3600
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")

__all__ = [
    "CodeRequest",
    "DueReport",
    "RefreshResult",
    "SessionCredentials",
    "SessionService",
]

_locks_guard = threading.Lock()
_profile_locks: dict[tuple[str, str], threading.Lock] = {}

# The name the faces know a stored session by.
SessionCredentials = StoredSession


def _profile_lock(paths: AwsPaths, name: str) -> threading.Lock:
    key = (str(paths.credentials), name)
    with _locks_guard:
        return _profile_locks.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class RefreshResult:
    profile: str
    session_profile: str
    expiration: datetime
    refreshed: bool
    message: str
    used_code: bool = False
    notes: tuple[str, ...] = ()


@dataclass
class DueReport:
    """What `refresh --due` / the daemon did: refreshed, failed, and still waiting."""

    results: list[RefreshResult] = field(default_factory=list)
    failures: dict[str, MfaTuiError] = field(default_factory=dict)
    needs_code: list[CodeRequest] = field(default_factory=list)


def human_left(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def default_session_name(user: str) -> str:
    """A valid RoleSessionName ([\\w+=,.@-], 2-64 chars) from the user's name."""
    name = _SESSION_NAME_BAD.sub("-", f"mfa-tui-{user}")[:64]
    return name if len(name) >= 2 else "mfa-tui"


class SessionService:
    """Get, refresh and serve sessions for the profiles in the AWS files."""

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
    ) -> None:
        self.paths = paths or AwsPaths.from_env()
        self._settings = settings if settings is not None else load_settings()
        self.clock = clock
        self.code_prompt = code_prompt
        self.seeds = SeedStore(keyring_backend)
        self.used_codes = used_codes or UsedCodes()
        self._sleep = sleep
        self._profile_set: ProfileSet | None = None

    # --- reading ---------------------------------------------------------------------

    def reload(self) -> ProfileSet:
        self._profile_set = load_profiles(self.paths)
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
        if profile.kind is Kind.SESSION and profile.session_of:
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

    def credentials(self, name: str) -> StoredSession | None:
        """The stored session for a user/role (or the active profile), if unexpired."""
        return stored_session(self.profile_set, self.settings, name, self.clock.now())

    def seconds_left(self, name: str) -> float | None:
        values = self.session_values(name)
        expiration = parse_expiration(values.get("expiration")) if values else None
        if expiration is None:
            return None
        return (expiration - self.clock.now()).total_seconds()

    def has_seed(self, serial: str) -> bool:
        return self.seeds.has(serial)

    # --- who and which device --------------------------------------------------------

    def user_for(self, profile: Profile) -> Profile:
        user = user_of(self.profile_set.profiles, profile)
        if user is None:
            raise UsageError(f"profile '{profile.name}' does not lead to a user with keys")
        return user

    def mfa_serial_for(self, profile: Profile, *, discover: bool = False) -> str | None:
        """The user's device: on the user, else on any role of the chain, else IAM's list."""
        user = self.user_for(profile)
        if user.mfa_serial:
            return user.mfa_serial
        for name in profile.chain:
            hop = self.profile_set.get(name)
            if hop is not None and hop.mfa_serial:
                return hop.mfa_serial
        # Common configs name the device only on the roles (botocore asks for the code
        # when assuming them); any role of this user that names one tells us.
        for other in self.profile_set.profiles.values():
            if other.kind is Kind.ROLE and other.mfa_serial and other.chain[-1:] == [user.name]:
                return other.mfa_serial
        if discover:
            return self._discover_serial(user)
        return None

    def _discover_serial(self, user: Profile) -> str:
        from mfa_tui.aws import sts

        serials = sts.list_mfa_devices(user.name, self._long_term(user))
        if len(serials) == 1:
            return serials[0]
        if not serials:
            raise UsageError(
                f"user profile '{user.name}' has no mfa_serial and IAM lists no MFA device "
                "for its user; assign one in the IAM console, then run 'mfa-tui refresh "
                f"{user.name} --save-serial'"
            )
        raise UsageError(
            f"user profile '{user.name}' has no mfa_serial and its user has "
            f"{len(serials)} MFA devices ({', '.join(serials)}); add 'mfa_serial = ...' to "
            f"[{config_section_for(user.name)}] in {self.paths.config}"
        )

    def save_serial(self, user: str, serial: str) -> None:
        """Write a discovered device into the config file (the lossless writer)."""
        from mfa_tui.aws.credentials import set_key
        from mfa_tui.aws.ini import read

        header = config_section_for(user)
        if not read(self.paths.config).find(header):
            # The user lives only in the credentials file: give it a config section.
            _append_config_section(self.paths.config, header, {"mfa_serial": serial})
        else:
            set_key(self.paths.config, header, "mfa_serial", serial)
        self.reload()

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
            or user.values.get("mfa_process")
            or profile.values.get("mfa_process")
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
            **kwargs,
        )

    def needs_code(self, name: str) -> CodeRequest | None:
        """What a refresh of `name` now would need from a person; None if it can go alone."""
        profile = self._managed(name)
        user = self.user_for(profile)
        if profile.kind is Kind.ROLE and not self._direct_role(profile):
            left = self.seconds_left(user.name)
            if left is not None and left > MIN_SOURCE_LEFT:
                return None
        serial = self.mfa_serial_for(profile)
        if serial is None:
            return CodeRequest(profile.name, "(discovered at refresh)", user.name)
        if self._code_sources(profile, user).silent_source(serial):
            return None
        return CodeRequest(profile.name, serial, user.name)

    # --- refreshing ------------------------------------------------------------------

    def _margin(self, profile: Profile) -> int:
        return self.settings.refresh_margin_for(profile.kind.value)

    def _still_valid(self, profile: Profile) -> RefreshResult | None:
        left = self.seconds_left(profile.name)
        if left is None or left <= self._margin(profile):
            return None
        session_profile = self.settings.session_profile_for(profile.name)
        expiration = self.clock.now() + timedelta(seconds=left)
        return RefreshResult(
            profile.name,
            session_profile,
            expiration,
            refreshed=False,
            message=(
                f"{session_profile} is still valid ({human_left(left)} left, refresh margin "
                f"{self._margin(profile) // 60} min); nothing to do (use --force to refresh)"
            ),
        )

    def refresh(
        self,
        name: str,
        *,
        code: str | None = None,
        duration: int | None = None,
        force: bool = False,
        cancel: threading.Event | None = None,
        save_serial: bool = False,
    ) -> RefreshResult:
        """Make sure `name` has a session beyond its refresh margin; write it."""
        profile = self._managed(name)
        with _profile_lock(self.paths, profile.name):
            # Another caller may have refreshed while we waited for the lock.
            self.reload()
            profile = self._managed(profile.name)
            if not force:
                current = self._still_valid(profile)
                if current is not None:
                    return current
            if cancel is not None and cancel.is_set():
                raise MfaTuiError(f"refresh of '{name}' was cancelled")
            if profile.kind is Kind.USER:
                result = self._refresh_user(profile, code, duration, save_serial)
            else:
                result = self._refresh_role(profile, code, duration, cancel, save_serial)
        self._mirror_active(result.profile)
        return result

    def _user_duration(self, user: Profile, duration: int | None) -> int:
        value = (
            duration
            or self.settings.for_profile(user.name).duration
            or (self.settings.user_duration)
        )
        if not GET_SESSION_TOKEN_MIN <= value <= GET_SESSION_TOKEN_MAX:
            raise UsageError(
                f"a user session lasts {GET_SESSION_TOKEN_MIN}..{GET_SESSION_TOKEN_MAX} "
                f"seconds; {value} is out of range"
            )
        return value

    def _role_duration(self, role: Profile, duration: int | None) -> int:
        value = (
            duration
            or self.settings.for_profile(role.name).duration
            or role.duration_seconds
            or self.settings.role_duration
        )
        if not ASSUME_ROLE_MIN <= value <= ASSUME_ROLE_MAX:
            raise UsageError(
                f"a role session lasts {ASSUME_ROLE_MIN}..{ASSUME_ROLE_MAX} seconds; "
                f"{value} is out of range"
            )
        return value

    def _direct_role(self, role: Profile, duration: int | None = None) -> bool:
        """A first-hop role that wants more than the chained 1-hour cap."""
        try:
            wanted = self._role_duration(role, duration)
        except UsageError:
            return False
        return wanted > CHAINED_ROLE_MAX and len(role.chain) == 2

    def _obtain(
        self, profile: Profile, user: Profile, code: str | None, save_serial: bool
    ) -> tuple[str, CodeRequest, CodeSources, Code]:
        serial = self.mfa_serial_for(profile, discover=True)
        assert serial is not None
        if save_serial and not (
            user.mfa_serial
            or any(
                (p := self.profile_set.get(n)) is not None and p.mfa_serial for n in profile.chain
            )
        ):
            self.save_serial(user.name, serial)
        request = CodeRequest(profile.name, serial, user.name)
        sources = self._code_sources(profile, user)
        return serial, request, sources, sources.obtain(request, code)

    def _with_code(
        self,
        request: CodeRequest,
        sources: CodeSources,
        code: Code,
        call: Callable[[str], Any],
    ) -> Any:
        """Run an STS call with a code; a soft token gets one retry on the next step."""
        try:
            result = call(code.value)
        except InvalidMfaCodeError:
            sources.mark_used(request, code)
            if code.source != "totp":
                raise
            retry = sources.from_seed(request.mfa_serial, after_step=code.step)
            assert retry is not None
            result = call(retry.value)
            sources.mark_used(request, retry)
            return result
        sources.mark_used(request, code)
        return result

    def _refresh_user(
        self, user: Profile, code: str | None, duration: int | None, save_serial: bool
    ) -> RefreshResult:
        from mfa_tui.aws import sts

        seconds = self._user_duration(user, duration)
        keys = self._long_term(user)
        serial, request, sources, first = self._obtain(user, user, code, save_serial)
        creds = self._with_code(
            request,
            sources,
            first,
            lambda value: sts.get_session_token(
                user.name, keys, serial=serial, code=value, duration=seconds
            ),
        )
        return self._store(user, creds, used_code=True)

    def _user_session(
        self, role: Profile, user: Profile, code: str | None, save_serial: bool
    ) -> tuple[Any, bool]:
        """A valid user session to assume from, getting one (with a code) if needed."""
        from mfa_tui.aws.sts import Credentials

        left = self.seconds_left(user.name)
        if left is not None and left > MIN_SOURCE_LEFT:
            stored = self.credentials(user.name)
            if stored is not None:
                return (
                    Credentials(
                        stored.access_key_id,
                        stored.secret_access_key,
                        stored.session_token,
                        stored.expiration,
                    ),
                    False,
                )
        refreshed = False
        with _profile_lock(self.paths, user.name):
            # Someone may have refreshed the user while we waited for its lock.
            self.reload()
            left = self.seconds_left(user.name)
            if left is None or left <= MIN_SOURCE_LEFT:
                self._refresh_user(user, code, None, save_serial)
                refreshed = True
        if refreshed:
            self._mirror_active(user.name)
        stored = self.credentials(user.name)
        if stored is None:
            raise MfaTuiError(f"the new session of '{user.name}' could not be read back")
        return (
            Credentials(
                stored.access_key_id,
                stored.secret_access_key,
                stored.session_token,
                stored.expiration,
            ),
            refreshed,
        )

    def _refresh_role(
        self,
        role: Profile,
        code: str | None,
        duration: int | None,
        cancel: threading.Event | None,
        save_serial: bool,
    ) -> RefreshResult:
        from mfa_tui.aws import sts

        user = self.user_for(role)
        hops = [self.profile(n) for n in reversed(role.chain[:-1])]  # nearest the user first
        notes: list[str] = []
        used_code = False
        wanted = self._role_duration(role, duration)
        if self._direct_role(role, duration):
            # Only long-term keys + MFA can give a role more than an hour.
            keys = self._long_term(user)
            serial, request, sources, first = self._obtain(role, user, code, save_serial)
            creds = self._with_code(
                request,
                sources,
                first,
                lambda value: self._assume(role, keys, user, wanted, notes, serial, value),
            )
            return self._store(role, creds, used_code=True, notes=notes)
        creds, used_code = self._user_session(role, user, code, save_serial)
        for hop in hops:
            if cancel is not None and cancel.is_set():
                raise MfaTuiError(f"refresh of '{role.name}' was cancelled")
            hop_duration = self._role_duration(hop, duration if hop is role else None)
            if hop_duration > CHAINED_ROLE_MAX:
                if hop is role:
                    notes.append(
                        f"duration capped to {CHAINED_ROLE_MAX} s: AWS limits a role assumed "
                        "from an MFA session to one hour (mfa-tui re-assumes it silently)"
                    )
                hop_duration = CHAINED_ROLE_MAX
            creds = self._assume(hop, creds, user, hop_duration, notes if hop is role else [])
        _ = sts  # boto3 stays lazy: imported by the calls above
        return self._store(role, creds, used_code=used_code, notes=notes)

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
        from mfa_tui.aws import sts

        assert role.role_arn is not None
        session_name = role.role_session_name or default_session_name(user.name)

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
            if duration <= CHAINED_ROLE_MAX or code is not None:
                raise
            why = "role chaining limit" if exc.chained else "the role's MaxSessionDuration"
            notes.append(
                f"STS refused {duration} s for {role.name}; retried with {CHAINED_ROLE_MAX} s "
                f"({why})"
            )
            return call(CHAINED_ROLE_MAX)

    def _store(
        self, profile: Profile, creds: Any, *, used_code: bool, notes: list[str] | None = None
    ) -> RefreshResult:
        session_profile = self.settings.session_profile_for(profile.name)
        if session_profile == profile.name:
            raise UsageError(
                f"the session profile of '{profile.name}' would be the profile itself; "
                "mfa-tui never writes over long-term keys"
            )
        expiration = creds.expiration or (self.clock.now() + timedelta(hours=1))
        write_section(
            self.paths.credentials,
            session_profile,
            {
                "aws_access_key_id": creds.access_key_id,
                "aws_secret_access_key": creds.secret_access_key,
                "aws_session_token": creds.session_token or "",
                "expiration": format_expiration(expiration),
                OWNER_KEY: profile.name,
                "mfa_tui_refreshed": format_expiration(self.clock.now()),
            },
        )
        self.reload()
        left = (expiration - self.clock.now()).total_seconds()
        message = (
            f"{session_profile} valid until {format_expiration(expiration)} "
            f"({human_left(left)} left)"
        )
        all_notes = tuple(notes or ())
        if all_notes:
            message += "; " + "; ".join(all_notes)
        return RefreshResult(
            profile.name, session_profile, expiration, True, message, used_code, all_notes
        )

    # --- the active profile ----------------------------------------------------------

    def active_source(self) -> str | None:
        active = self.profile_set.get(self.settings.active_profile)
        if active is None or active.kind is not Kind.SESSION:
            return None
        return active.session_of

    def activate(self, name: str, *, code: str | None = None) -> RefreshResult:
        """Refresh `name` if needed, then make it what the active profile holds."""
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
                "mfa_tui_refreshed",
            )
            if k in values
        }
        mirrored[OWNER_KEY] = name
        profile = self.profile_set.get(name)
        if profile is not None and profile.region:
            mirrored["region"] = profile.region
        write_section(self.paths.credentials, self.settings.active_profile, mirrored)
        self.reload()

    def _mirror_active(self, name: str) -> None:
        """A refreshed session that is the active one updates the active profile too."""
        self.reload()
        if self.active_source() == name:
            self._write_active(name)

    # --- background --------------------------------------------------------------------

    def refresh_due(self) -> DueReport:
        """Refresh every session inside its margin that needs no person; users first."""
        report = DueReport()
        now = self.clock.now()
        due: list[Profile] = []
        for status in all_statuses(self.profile_set, self.settings, now):
            if not status.managed or status.expires_at is None:
                continue
            if not self.settings.auto_refresh_for(status.name):
                continue
            left = (status.expires_at - now).total_seconds()
            if left <= status.refresh_margin:
                due.append(self.profile(status.name))
        due.sort(key=lambda p: (p.kind is not Kind.USER, len(p.chain)))
        for profile in due:
            try:
                request = self.needs_code(profile.name)
            except MfaTuiError as exc:
                report.failures[profile.name] = exc
                continue
            if request is not None:
                report.needs_code.append(request)
                continue
            try:
                report.results.append(self.refresh(profile.name))
            except MfaTuiError as exc:
                report.failures[profile.name] = exc
        return report

    def store_seed(self, name: str, seed: str) -> tuple[str, str]:
        """Keep a TOTP seed for `name`'s device; returns (serial, current code)."""
        from mfa_tui.core.codes import normalize_seed, totp_at

        profile = self._managed(name)
        serial = self.mfa_serial_for(profile, discover=True)
        assert serial is not None
        cleaned = normalize_seed(seed)
        self.seeds.set(serial, cleaned)
        return serial, totp_at(cleaned, self.clock.time())[0]


def _append_config_section(path: Any, header: str, values: dict[str, str]) -> None:
    """Add a new `[profile X]` section at the end of the config file, losslessly."""
    from mfa_tui.aws import ini
    from mfa_tui.aws.atomic import locked, replace_locked

    with locked(path) as target:
        doc = ini.read(target)
        lines = list(doc.lines)
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += doc.newline
        if lines and lines[-1].strip():
            lines.append(doc.newline)
        lines.append(f"[{header}]{doc.newline}")
        lines.extend(f"{k} = {v}{doc.newline}" for k, v in values.items())
        doc.lines = lines
        replace_locked(target, doc.to_bytes())
