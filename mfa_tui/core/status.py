"""What every face shows for a profile: its kind, where its session goes, time left.

The CLI's `list`, the dashboard's table and the daemon all read this one view, built
from the files each time they change, so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mfa_tui.aws.files import (
    KeySource,
    Kind,
    Profile,
    ProfileSet,
    State,
    mfa_serial_of,
    state_of,
)
from mfa_tui.core.key_ages import KeyAge, key_created
from mfa_tui.core.preflight import SessionNames, session_names, write_problem
from mfa_tui.settings import Settings


@dataclass(slots=True)
class ProfileStatus:
    """One profile as every face shows it. Read-only by convention: not `frozen`, whose
    checked assignments would make building 5,000 of them (one `list`) four times as
    slow."""

    name: str
    kind: Kind
    mfa_serial: str | None
    source_profile: str | None
    role_arn: str | None
    session_profile: str | None
    expires_at: datetime | None
    state: State
    refresh_margin: int
    managed: bool
    reason: str | None
    chain: tuple[str, ...]
    region: str | None
    refreshed_at: datetime | None
    active: bool
    # Values the AWS tools cannot use, each naming key, file and line (see files.py).
    notes: tuple[str, ...] = ()
    # A user's: where its long-term keys come from, and when its key was made (if known).
    key_source: KeySource | None = None
    key_created: datetime | None = None


def session_values_of(
    profile_set: ProfileSet, settings: Settings, name: str
) -> tuple[str, dict[str, str] | None]:
    """The session profile for `name` and its values, if mfa-tui wrote it for `name`
    (a section marked for another profile holds that one's session, not this one's)."""
    session_name = settings.session_profile_for(name)
    session = profile_set.profiles.get(session_name)
    if session is None or session.kind is not Kind.SESSION or session.session_of != name:
        return session_name, None
    return session_name, session.values


def status_of(
    profile: Profile,
    profile_set: ProfileSet,
    settings: Settings,
    now: datetime,
    names: SessionNames | None = None,
    ages: Mapping[str, KeyAge] | None = None,
) -> ProfileStatus:
    """`profile` as the faces show it; `names` (from `session_names`) when asking for
    many profiles, so it is worked out once; `ages`, what is known of keys' ages."""
    kind = profile.kind
    margin = settings.refresh_margin_for(kind)
    session_profile: str | None = None
    expires: datetime | None = None
    refreshed: datetime | None = None
    managed, reason = profile.managed, profile.unmanaged_reason
    if names is None:
        names = session_names(profile_set, settings)
    if managed:
        # A session it could not store makes a profile one mfa-tui cannot refresh.
        reason = write_problem(profile_set, settings, profile, names)
        managed = reason is None
    if kind is Kind.USER or kind is Kind.ROLE:
        session_profile = names.session_of(settings, profile.name)
        session = profile_set.profiles.get(session_profile)
        if session is not None and session.session_of == profile.name:
            expires, refreshed = session.expiration, session.refreshed_at
    elif kind is Kind.SESSION or profile.values.get("aws_session_token"):
        expires = profile.expiration
        refreshed = profile.refreshed_at
        if profile.session_of:
            source = profile_set.profiles.get(profile.session_of)
            if source is not None:
                margin = settings.refresh_margin_for(source.kind)
    return ProfileStatus(
        name=profile.name,
        kind=kind,
        mfa_serial=(mfa_serial_of(profile_set, profile) if managed else profile.mfa_serial),
        source_profile=profile.source_profile or profile.session_of,
        role_arn=profile.role_arn,
        session_profile=session_profile,
        expires_at=expires,
        state=state_of(expires, now, margin),
        refresh_margin=margin,
        managed=managed,
        reason=reason,
        chain=tuple(profile.chain),
        region=profile.region,
        refreshed_at=refreshed,
        active=kind is Kind.SESSION and profile.name == settings.active_profile,
        notes=profile.notes,
        key_source=profile.key_source,
        key_created=key_created(profile, ages) if ages else None,
    )


def all_statuses(
    profile_set: ProfileSet,
    settings: Settings,
    now: datetime,
    ages: Mapping[str, KeyAge] | None = None,
) -> list[ProfileStatus]:
    names = session_names(profile_set, settings)
    return [
        status_of(p, profile_set, settings, now, names, ages) for p in profile_set.profiles.values()
    ]


def ages_wanted(statuses: Iterable[ProfileStatus], now: datetime) -> list[str]:
    """The users whose key's age is not known yet and can be looked up now: keys in the
    files or the keyring (a credential_process's are its tool's), and a user session
    with time left to ask IAM with (nobody is asked for a code to learn an age)."""
    return [
        s.name
        for s in statuses
        if s.kind is Kind.USER
        and s.managed
        and s.key_source in (KeySource.FILE, KeySource.KEYRING)
        and s.key_created is None
        and s.expires_at is not None
        and s.expires_at > now
    ]
