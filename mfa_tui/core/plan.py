"""A refresh's plan, worked out once: who, through which hops, into which sections, how long.

Everything a refresh needs that the files and the settings can tell is decided here,
before any STS call, and handed down: the hops never look anything up again. Whatever
would make mfa-tui refuse to keep a session (a session profile it may not write, a
read-only credentials file, a duration out of range, an invalid session name) is found
here too, so an MFA code is never spent on a session that would then be thrown away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mfa_tui.aws.files import (
    Kind,
    Profile,
    ProfileSet,
    config_section_for,
    mfa_serial_of,
    user_of,
)
from mfa_tui.core.preflight import check_refresh
from mfa_tui.core.status import default_session_name
from mfa_tui.errors import CodeRequest, UsageError
from mfa_tui.settings import (
    ASSUME_ROLE_MAX,
    ASSUME_ROLE_MIN,
    GET_SESSION_TOKEN_MAX,
    GET_SESSION_TOKEN_MIN,
    Settings,
)

# AWS gives a role assumed with temporary credentials (a chained role) at most an hour.
CHAINED_ROLE_MAX = 3600
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")


@dataclass(frozen=True)
class Hop:
    """One AssumeRole of a chain: the role, how long to ask for, the session's name."""

    role: Profile
    seconds: int
    session_name: str


@dataclass(frozen=True)
class RefreshPlan:
    """A refresh of `target`, decided before any call.

    Attributes:
        target: the user or role asked for.
        user: the user at the end of its chain, whose keys sign the first call.
        hops: the roles to assume, nearest the user first (empty for a user).
        user_seconds: GetSessionToken's length for a new user session.
        direct: assume the (single-hop) target directly with the long-term keys and a
            code, the one way AWS allows a role more than an hour.
        mfa_serial: the device as the files name it; None until one is discovered.
        session_profiles: every profile this refresh may write -> its session section.
        notes: remarks for the result (a duration capped, and why).
    """

    target: Profile
    user: Profile
    hops: tuple[Hop, ...]
    user_seconds: int
    direct: bool
    mfa_serial: str | None
    session_profiles: dict[str, str]
    notes: tuple[str, ...] = ()

    @property
    def is_user(self) -> bool:
        return self.target.kind is Kind.USER

    @property
    def longest(self) -> int:
        """The longest session this plan can give its target, in seconds."""
        return self.hops[-1].seconds if self.hops else self.user_seconds

    def session_profile(self, name: str) -> str:
        return self.session_profiles[name]

    def request(self, serial: str) -> CodeRequest:
        """What a person is asked for, naming the profile they asked about."""
        return CodeRequest(self.target.name, serial, self.user.name)


def known_profile(profile_set: ProfileSet, name: str) -> Profile:
    """`name`'s profile, or a UsageError naming the files it is not in."""
    profile = profile_set.get(name)
    if profile is None:
        raise UsageError(
            f"unknown profile '{name}' (not in {profile_set.paths.config} or "
            f"{profile_set.paths.credentials})"
        )
    return profile


def managed_profile(profile_set: ProfileSet, name: str) -> Profile:
    """The user or role `name` stands for (a session profile stands for its owner)."""
    profile = known_profile(profile_set, name)
    if profile.kind is Kind.SESSION and profile.session_of and profile.session_of != name:
        return managed_profile(profile_set, profile.session_of)
    if not profile.managed:
        raise UsageError(
            f"profile '{name}' is not one mfa-tui can refresh ({profile.kind.value}: "
            f"{profile.unmanaged_reason})"
        )
    return profile


def _duration(
    what: str,
    bounds: tuple[int, int],
    candidates: list[tuple[int | None, str]],
) -> int:
    """The first length that is set, of `candidates` (value, where it is set) in order
    of precedence, refused with its origin when outside what AWS allows."""
    value, origin = next((v, o) for v, o in candidates if v is not None)
    assert value is not None
    low, high = bounds
    if not low <= value <= high:
        raise UsageError(f"{what} lasts {low}..{high} seconds; {origin} is {value}")
    return value


def user_duration(settings: Settings, user: Profile, duration: int | None) -> int:
    """GetSessionToken's length: `--duration`, the profile's setting, `user_duration`."""
    return _duration(
        "a user session",
        (GET_SESSION_TOKEN_MIN, GET_SESSION_TOKEN_MAX),
        [
            (duration, "--duration"),
            (
                settings.for_profile(user.name).duration,
                f'duration in [profiles."{user.name}"] of the settings',
            ),
            (settings.user_duration, "user_duration in the settings"),
        ],
    )


def role_duration(settings: Settings, role: Profile, duration: int | None) -> int:
    """AssumeRole's length: `--duration`, the profile's setting, its `duration_seconds`
    in the config, `role_duration`."""
    return _duration(
        "a role session",
        (ASSUME_ROLE_MIN, ASSUME_ROLE_MAX),
        [
            (duration, "--duration"),
            (
                settings.for_profile(role.name).duration,
                f'duration in [profiles."{role.name}"] of the settings',
            ),
            (role.duration_seconds, f"duration_seconds in [{config_section_for(role.name)}]"),
            (settings.role_duration, "role_duration in the settings"),
        ],
    )


def session_name(role: Profile, user: Profile) -> str:
    name = role.role_session_name
    if name is None:
        return default_session_name(user.name)
    if not _SESSION_NAME.fullmatch(name):
        raise UsageError(
            f"role_session_name = {name!r} in [{config_section_for(role.name)}] is not "
            "valid for STS: 2-64 characters of letters, digits and _+=,.@-"
        )
    return name


def plan_refresh(
    profile_set: ProfileSet,
    settings: Settings,
    name: str,
    *,
    duration: int | None = None,
    active: bool = False,
    check: bool = True,
) -> RefreshPlan:
    """Work out the refresh of `name` and check that its result could be kept.

    Args:
        profile_set: the files as they are now.
        settings: mfa-tui's settings.
        name: a user or role (or a session profile mfa-tui wrote for one).
        duration: an explicit length (`--duration`); out of range is a UsageError.
        active: the active profile will be written too (a switch, or the target is the
            session the active profile mirrors).
        check: refuse what could not be written (off only to look at a stored session).

    Raises:
        UsageError: unknown or unmanaged profile, a bad duration or session name, a
            session profile that cannot hold the session (nothing was asked of AWS).
        FileWriteError: a session could not be stored (nothing was asked of AWS).
    """
    target = managed_profile(profile_set, name)
    user = user_of(profile_set.profiles, target)
    if user is None:
        raise UsageError(f"profile '{target.name}' does not lead to a user with keys")
    notes: list[str] = []
    hops: list[Hop] = []
    direct = False
    if target.kind is Kind.USER:
        seconds = user_duration(settings, user, duration)
        user_seconds = seconds
    else:
        user_seconds = user_duration(settings, user, None)
        roles = [profile_set.profiles[n] for n in reversed(target.chain[:-1])]
        wanted = role_duration(settings, target, duration)
        if duration is not None and wanted > CHAINED_ROLE_MAX and len(roles) == 1:
            direct = True
        elif wanted > CHAINED_ROLE_MAX:
            notes.append(
                f"duration capped to {CHAINED_ROLE_MAX} s (role chaining limit: AWS gives a "
                "role assumed from an MFA session at most an hour; mfa-tui re-assumes it "
                "silently)"
            )
            wanted = CHAINED_ROLE_MAX
        for role in roles:
            if role is roles[-1]:
                seconds = wanted
            else:
                try:
                    seconds = min(role_duration(settings, role, None), CHAINED_ROLE_MAX)
                except UsageError:
                    seconds = CHAINED_ROLE_MAX
            hops.append(Hop(role, seconds, session_name(role, user)))
    written = [user] if not direct else []
    written += [hop.role for hop in hops if hop.role.managed or hop is hops[-1]]
    session_profiles = {p.name: settings.session_profile_for(p.name) for p in written}
    session_profiles.setdefault(target.name, settings.session_profile_for(target.name))
    plan = RefreshPlan(
        target=target,
        user=user,
        hops=tuple(hops),
        user_seconds=user_seconds,
        direct=direct,
        mfa_serial=mfa_serial_of(profile_set, target),
        session_profiles=session_profiles,
        notes=tuple(notes),
    )
    if check:
        # Everything the writer would refuse after the call (core/preflight.py).
        check_refresh(profile_set, settings, target, active=active)
    return plan
