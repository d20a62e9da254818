"""What every face shows for a profile: its kind, where its session goes, time left.

The CLI's `list`, the dashboard's table and the daemon all read this one view, built
from the files each time they change, so the three never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mfa_tui.aws.files import (
    Kind,
    Profile,
    ProfileSet,
    State,
    mfa_serial_of,
    session_values_of,
    state_of,
)
from mfa_tui.settings import Settings


@dataclass(frozen=True, slots=True)
class ProfileStatus:
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


def status_of(
    profile: Profile, profile_set: ProfileSet, settings: Settings, now: datetime
) -> ProfileStatus:
    from mfa_tui.aws.files import parse_expiration

    margin = settings.refresh_margin_for(profile.kind.value)
    session_profile: str | None = None
    expires: datetime | None = None
    refreshed: datetime | None = None
    if profile.kind in (Kind.USER, Kind.ROLE):
        session_profile, values = session_values_of(profile_set, settings, profile.name)
        if values is not None:
            expires = parse_expiration(values.get("expiration"))
            refreshed = parse_expiration(values.get("mfa_tui_refreshed"))
    elif profile.kind is Kind.SESSION or profile.values.get("aws_session_token"):
        expires = profile.expiration
        refreshed = parse_expiration(profile.values.get("mfa_tui_refreshed"))
        if profile.session_of:
            source = profile_set.profiles.get(profile.session_of)
            if source is not None:
                margin = settings.refresh_margin_for(source.kind.value)
    active = profile.kind is Kind.SESSION and profile.name == settings.active_profile
    return ProfileStatus(
        name=profile.name,
        kind=profile.kind,
        mfa_serial=(mfa_serial_of(profile_set, profile) if profile.managed else profile.mfa_serial),
        source_profile=profile.source_profile or profile.session_of,
        role_arn=profile.role_arn,
        session_profile=session_profile,
        expires_at=expires,
        state=state_of(expires, now, margin),
        refresh_margin=margin,
        managed=profile.managed,
        reason=profile.unmanaged_reason,
        chain=tuple(profile.chain),
        region=profile.region,
        refreshed_at=refreshed,
        active=active,
    )


def all_statuses(profile_set: ProfileSet, settings: Settings, now: datetime) -> list[ProfileStatus]:
    return [status_of(p, profile_set, settings, now) for p in profile_set.profiles.values()]
