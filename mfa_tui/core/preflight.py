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
from mfa_tui.aws.credentials import check_owner, not_ours
from mfa_tui.aws.files import Kind, Profile, ProfileSet, config_section_for, section_where
from mfa_tui.aws.ini import IniDocument
from mfa_tui.aws.names import session_name_problem
from mfa_tui.errors import FileWriteError, UsageError
from mfa_tui.settings import Settings


class SessionNames:
    """Where every user's and role's session goes, worked out once for many profiles.

    A plain class, not a dataclass: making one costs `list` more than it saves.
    """

    __slots__ = ("of", "owners", "problems", "settings")

    def __init__(
        self, settings: Settings, of: dict[str, str], owners: dict[str, list[str]]
    ) -> None:
        self.settings = settings  # what the names were worked out under
        self.of = of  # profile -> its session profile
        self.owners = owners  # session profile -> the profiles whose sessions go there
        # profile -> why its session cannot be written (None: it can), once asked.
        self.problems: dict[str, str | None] = {}

    def session_of(self, settings: Settings, name: str) -> str:
        known = self.of.get(name)
        return known if known is not None else settings.session_profile_for(name)


def session_names(profile_set: ProfileSet, settings: Settings) -> SessionNames:
    """Where every user's and role's session goes; two in one owners list share one.

    Worked out once per reading of the files and settings: fifty refreshes from one
    reading (refresh_many, refresh_due) do not go over every profile fifty times.
    """
    known = profile_set.derived.get("session_names")
    if isinstance(known, SessionNames) and known.settings is settings:
        return known
    of: dict[str, str] = {}
    owners: dict[str, list[str]] = {}
    for profile in profile_set.profiles.values():
        if profile.kind is Kind.USER or profile.kind is Kind.ROLE:
            session = of[profile.name] = settings.session_profile_for(profile.name)
            owners.setdefault(session, []).append(profile.name)
    names = profile_set.derived["session_names"] = SessionNames(settings, of, owners)
    return names


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
    profile_set: ProfileSet,
    settings: Settings,
    owner: str | None,
    session: str,
    names: SessionNames,
) -> str | None:
    """Why `session` cannot hold `owner`'s session (`owner` None: the active profile).

    Decided from the parsed files alone (the profile map, no section scan), so `list`
    can ask it of every profile; the words are only put together for a problem.
    """
    problem = session_name_problem(session)
    existing = profile_set.profiles.get(session)
    sharing = names.owners.get(session)
    config, credentials = profile_set.paths.config, profile_set.paths.credentials
    in_config = existing is not None and config in existing.sources
    if (
        problem is None
        and session != owner
        and (owner is None or session != settings.active_profile)
        and not in_config
        and (sharing is None or sharing == [owner])
        and (
            existing is None
            or (existing.kind is Kind.SESSION and (owner is None or existing.session_of == owner))
        )
    ):
        return None
    others = [n for n in sharing or () if n != owner]
    who = f"'{owner}'" if owner is not None else "the active profile"
    fix = setting_for(settings, owner)
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
    if in_config:
        return (
            f"the session profile of {who}, '{session}' in {credentials}, is also "
            f"[{config_section_for(session)}] ({section_where(profile_set, session)}): "
            "the AWS tools would merge the two, and its settings there (a role_arn, a "
            f"region) would win over the session's keys. Rename that profile, or {fix}"
        )
    if others:
        return (
            f"{who} and '{others[0]}' would both keep their sessions in '{session}', each "
            f"overwriting the other's; {setting_for(settings, owner or others[0])}"
        )
    assert existing is not None
    where = section_where(profile_set, session, credentials=True)
    if existing.kind is not Kind.SESSION:
        return not_ours(session, where, owner or "<profile>", instead=fix).message
    return (
        f"[{session}] ({where}) holds the session of '{existing.session_of}', not "
        f"of '{owner}'; delete that section, or {fix}"
    )


def write_problem(
    profile_set: ProfileSet, settings: Settings, profile: Profile, names: SessionNames
) -> str | None:
    """Why a refresh of `profile` could not store what it gets, or None when it can."""
    known = names.problems
    for name in written_by(profile_set, profile) if profile.chain else (profile.name,):
        # A user's session is checked for each of its roles: work it out once.
        if name in known:
            problem = known[name]
        else:
            session = names.session_of(settings, name)
            problem = known[name] = name_problem(profile_set, settings, name, session, names)
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
    names = session_names(profile_set, settings)
    problem = write_problem(profile_set, settings, profile, names)
    targets: list[tuple[str, str | None]] = [
        (settings.session_profile_for(n), n) for n in written_by(profile_set, profile)
    ]
    if active:
        session = settings.active_profile
        problem = problem or name_problem(profile_set, settings, None, session, names)
        targets.append((session, None))
    doc = profile_set.credentials_doc
    for session, owner in targets:
        existing = profile_set.profiles.get(session)
        if session != owner and existing is not None and existing.kind is not Kind.SESSION:
            # A section of the person's own where a session would go is the file's
            # matter (exit 1), with how to hand it over; a name that is the profile
            # itself is the settings' (exit 2, below).
            _check_owner(doc, session, owner, settings)
    if problem is not None:
        raise UsageError(f"{problem}; nothing was asked of AWS")
    for session, owner in targets:
        _check_owner(doc, session, owner, settings)
    _check_can_write(profile_set.paths.credentials)


def _check_owner(doc: IniDocument, session: str, owner: str | None, settings: Settings) -> None:
    try:
        check_owner(doc, session, owner, instead=setting_for(settings, owner))
    except FileWriteError as exc:
        raise FileWriteError(
            f"{exc.message}; mfa-tui asked nothing of AWS", title=exc.title
        ) from None


def _check_can_write(path: Path) -> None:
    try:
        check_can_write(path)
    except FileWriteError as exc:
        raise FileWriteError(
            f"{exc.message}; so no session could be stored, and nothing was asked of AWS",
            title=exc.title,
        ) from None
