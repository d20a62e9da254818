"""What every face shows for a profile: its kind, where its session goes, time left.

The CLI's `list`, the dashboard's table and the daemon all read this one view, built
from the files each time they change, so the three never disagree.
"""

from __future__ import annotations

import re
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


@dataclass(slots=True, unsafe_hash=True)
class ProfileStatus:
    """One profile as every face shows it. Read-only by convention: not `frozen`, whose
    checked assignments would make building 5,000 of them (one `list`) four times as
    slow; hashable all the same, since the dashboard keys its drawn rows by it."""

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
        account_id=account_of(profile, profile_set),
        role_session_name=role_session_name_of(profile, profile_set),
        mfa_process=_has_mfa_process(profile, profile_set),
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
