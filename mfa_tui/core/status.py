"""What every face shows for a profile: its kind, where its session goes, time left.

The CLI's `list`, the dashboard's table and the daemon all read this one view, built
from the files each time they change, so the three never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mfa_tui.aws.files import (
    Kind,
    Profile,
    ProfileSet,
    State,
    mfa_serial_of,
    state_of,
)
from mfa_tui.settings import Settings


@dataclass(frozen=True)
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
    # The account the profile's credentials act in (from its role or MFA device ARN,
    # sso_account_id or aws_account_id), and the RoleSessionName a role is assumed with.
    account_id: str | None = None
    role_session_name: str | None = None
    # aws-vault's mfa_process on the profile or its user: a code comes without a person.
    mfa_process: bool = False

    @property
    def role_name(self) -> str | None:
        """The role's name, from its ARN (`arn:aws:iam::1234:role/path/Admin` → Admin)."""
        if not self.role_arn or ":role/" not in self.role_arn:
            return None
        return self.role_arn.rsplit("/", 1)[-1] or None

    @property
    def source_user(self) -> str | None:
        """The user profile whose keys start this profile's chain (itself for a user)."""
        if self.kind is Kind.USER:
            return self.name
        return self.chain[-1] if len(self.chain) > 1 else None


_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def account_of(profile: Profile, profile_set: ProfileSet) -> str | None:
    """The 12-digit account a profile's credentials act in, as far as the files say.

    A role acts in its role ARN's account; an SSO profile in its sso_account_id; any
    profile may say aws_account_id (botocore's key); a user acts in its MFA device's
    account (IAM devices belong to the user's own account).
    """
    for arn in (profile.role_arn,):
        found = _ACCOUNT_IN_ARN.match(arn or "")
        if found:
            return found.group(1)
    for key in ("sso_account_id", "aws_account_id"):
        value = (profile.values.get(key) or "").strip()
        if _ACCOUNT_ID.fullmatch(value):
            return value
    if profile.kind is Kind.USER:
        serial = mfa_serial_of(profile_set, profile) or ""
        found = _ACCOUNT_IN_ARN.match(serial)
        if found:
            return found.group(1)
    return None


_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")


def default_session_name(user: str) -> str:
    """A valid RoleSessionName ([\\w+=,.@-], 2-64 chars) from the user's name.

    It shows in CloudTrail next to every call made with the role, so it names the
    person's user profile.
    """
    name = _SESSION_NAME_BAD.sub("-", f"mfa-tui-{user}")[:64]
    return name if len(name) >= 2 else "mfa-tui"


def role_session_name_of(profile: Profile, profile_set: ProfileSet) -> str | None:
    """The RoleSessionName mfa-tui assumes the role with (CloudTrail shows it)."""
    if profile.kind is not Kind.ROLE:
        return None
    if profile.role_session_name:
        return profile.role_session_name
    return default_session_name(profile.chain[-1]) if profile.chain else None


def _has_mfa_process(profile: Profile, profile_set: ProfileSet) -> bool:
    user = profile_set.profiles.get(profile.chain[-1]) if profile.chain else None
    return any(p is not None and p.values.get("mfa_process") for p in (profile, user))


def session_values_of(
    profile_set: ProfileSet, settings: Settings, name: str
) -> tuple[str, dict[str, str] | None]:
    """The session profile for `name` and its values, if mfa-tui wrote it."""
    session_name = settings.session_profile_for(name)
    session = profile_set.profiles.get(session_name)
    if session is None or session.kind is not Kind.SESSION:
        return session_name, None
    return session_name, session.values


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
        account_id=account_of(profile, profile_set),
        role_session_name=role_session_name_of(profile, profile_set),
        mfa_process=_has_mfa_process(profile, profile_set),
    )


def all_statuses(profile_set: ProfileSet, settings: Settings, now: datetime) -> list[ProfileStatus]:
    return [status_of(p, profile_set, settings, now) for p in profile_set.profiles.values()]
