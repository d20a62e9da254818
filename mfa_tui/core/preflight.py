"""Everything a refresh can check before it asks AWS for anything.

STS spends a person's MFA code the moment it accepts it, so a session mfa-tui then
refuses to store is a code thrown away (and, with a soft token, a 30-second step to
wait out). Every refusal the writer would make after the call is made here, before it:

- the session profiles the refresh will write: names that cannot be a credentials
  section, the profile itself, a profile of the config file (the AWS tools would merge
  the two), a name two profiles share, a section that is not mfa-tui's or holds another
  profile's session;
- whether the credentials file, its folder and its lock can be written at all.

Plain functions over the parsed files and the settings. `list` and the dashboard ask
`write_problem` too and show such a profile as unmanaged with the same words, so what
they show and what a refresh does never disagree.
"""

from __future__ import annotations

from pathlib import Path

from mfa_tui.aws.atomic import check_can_write
from mfa_tui.aws.credentials import OWNER_KEY, check_owner
from mfa_tui.aws.files import Kind, Profile, ProfileSet, config_section_for
from mfa_tui.aws.names import session_name_problem
from mfa_tui.errors import FileWriteError, UsageError
from mfa_tui.settings import Settings

# Session profile name -> the profiles (users and roles) whose sessions go there.
Owners = dict[str, list[str]]


def session_owners(profile_set: ProfileSet, settings: Settings) -> Owners:
    """Where every user's and role's session goes; two names in one list share one."""
    owners: Owners = {}
    for profile in profile_set.profiles.values():
        if profile.kind is Kind.USER or profile.kind is Kind.ROLE:
            owners.setdefault(settings.session_profile_for(profile.name), []).append(profile.name)
    return owners


def written_by(profile_set: ProfileSet, profile: Profile) -> list[str]:
    """The profiles whose sessions a refresh of `profile` may store: its own, the user's
    at the end of its chain, and the roles between (stored on the way)."""
    names = profile.chain or [profile.name]
    return [n for n in names if (p := profile_set.get(n)) is not None and p.managed]


def setting_for(settings: Settings, name: str | None) -> str:
    """The setting that picks a session profile name (`name` None: the active one)."""
    where = settings.path or "the settings file"
    if name is None:
        return f"set another name with active_profile in {where}"
    if settings.for_profile(name).session_profile:
        return f'set another name with session_profile in [profiles."{name}"] of {where}'
    return (
        f'set another name with session_profile_pattern, or [profiles."{name}"] '
        f"session_profile, in {where}"
    )


def name_problem(
    profile_set: ProfileSet, settings: Settings, owner: str | None, session: str, owners: Owners
) -> str | None:
    """Why `session` cannot hold `owner`'s session (`owner` None: the active profile).

    Decided from the parsed files alone (the profile map, no section scan), so `list`
    can ask it of every profile.
    """
    who = f"'{owner}'" if owner is not None else "the active profile"
    fix = setting_for(settings, owner)
    problem = session_name_problem(session)
    if problem is not None:
        return f"the session profile of {who}, '{session}', cannot be written: {problem}; {fix}"
    if owner is not None and session == settings.active_profile:
        return (
            f"the session profile of {who} would be '{session}', the active profile, which "
            f"mirrors whichever session was switched to last; {fix}"
        )
    if session == owner:
        return (
            f"the session profile of {who} would be the profile itself; mfa-tui never "
            f"writes over a profile's own keys; {fix}"
        )
    existing = profile_set.get(session)
    config = profile_set.paths.config
    if existing is not None and config in existing.sources:
        header = config_section_for(session)
        return (
            f"the session profile of {who}, '{session}' in {profile_set.paths.credentials}, "
            f"is also [{header}] in {config}: the AWS tools would merge the two, and its "
            f"settings there (a role_arn, a region) would win over the session's keys. "
            f"Rename that profile, or {fix}"
        )
    sharing = [n for n in owners.get(session, []) if n != owner]
    if sharing:
        other = f"'{sharing[0]}'"
        return (
            f"{who} and {other} would both keep their sessions in '{session}', each "
            f"overwriting the other's; {setting_for(settings, owner or sharing[0])}"
        )
    if existing is not None and profile_set.paths.credentials in existing.sources:
        if existing.kind is not Kind.SESSION:
            return (
                f"[{session}] in {profile_set.paths.credentials} was not written by mfa-tui "
                f"(it has no '{OWNER_KEY}' line), so it may hold your own keys; {fix}"
            )
        if owner is not None and existing.session_of != owner:
            return (
                f"[{session}] in {profile_set.paths.credentials} holds the session of "
                f"'{existing.session_of}', not of '{owner}'; delete that section, or {fix}"
            )
    return None


def write_problem(
    profile_set: ProfileSet, settings: Settings, profile: Profile, owners: Owners
) -> str | None:
    """Why a refresh of `profile` could not store what it gets, or None when it can."""
    for name in written_by(profile_set, profile):
        problem = name_problem(
            profile_set, settings, name, settings.session_profile_for(name), owners
        )
        if problem is not None:
            return problem
    return None


def check_refresh(
    profile_set: ProfileSet, settings: Settings, profile: Profile, *, active: bool
) -> None:
    """Raise what would refuse to store a refresh of `profile`, before any STS call.

    `active`: the refresh also writes the active profile (a switch, or a refresh of the
    session the active profile mirrors).

    Raises:
        UsageError: a session profile name that cannot hold this session (exit 2).
        FileWriteError: a section that is not this profile's, or files, folders or a
            lock that cannot be written (exit 1).
    """
    owners = session_owners(profile_set, settings)
    problem = write_problem(profile_set, settings, profile, owners)
    targets: list[tuple[str, str | None]] = [
        (settings.session_profile_for(n), n) for n in written_by(profile_set, profile)
    ]
    if active:
        session = settings.active_profile
        problem = problem or name_problem(profile_set, settings, None, session, owners)
        targets.append((session, None))
    if problem is not None:
        raise UsageError(f"{problem}; nothing was asked of AWS")
    doc = profile_set.credentials_doc
    for session, owner in targets:
        check_owner(doc, session, owner, instead=setting_for(settings, owner))
    _check_can_write(profile_set.paths.credentials)


def _check_can_write(path: Path) -> None:
    try:
        check_can_write(path)
    except FileWriteError as exc:
        raise FileWriteError(
            f"{exc.message}; so no session could be stored, and nothing was asked of AWS",
            title=exc.title,
        ) from None
