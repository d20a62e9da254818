"""Find the AWS config and credentials files and turn them into classified profiles.

The rules are botocore's: `[profile NAME]` and `[default]` in the config file, `[NAME]`
in the credentials file, and a profile's keys merged across both (credentials win);
`sso-session` and `services` sections are not profiles. We add what botocore does not
know: which profiles mfa-tui can manage (users with long-term keys, roles), which are
sessions it wrote, and the source chain of every role.

A user's keys come from where botocore would take them (`KeySource`): the credentials
file, then a `credential_process`, then the config file. mfa-tui's own `keys
credential-process` line means the keyring; any other process is a user's keys once an
MFA device is named for it (its own `mfa_serial`, or one of a role assumed from it),
since only running it tells keys from a session, and `list` runs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from mfa_tui import locations
from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY
from mfa_tui.aws.names import (
    config_header_for,
    config_profile_name,
    section_name,
    why_not_a_profile,
)
from mfa_tui.aws.process import program_problem
from mfa_tui.bounded_read import RefusedFileError
from mfa_tui.expiry import state_at
from mfa_tui.settings_rules import ASSUME_ROLE_MAX as DURATION_MAX
from mfa_tui.settings_rules import ASSUME_ROLE_MIN as DURATION_MIN

SECRET_KEYS = frozenset({"aws_secret_access_key", "aws_session_token", "aws_security_token"})
# The environment variables that choose a profile or give keys, which every AWS tool
# reads before the files: whoever runs tools on chosen credentials clears them.
CREDENTIAL_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
NO_CREDENTIALS = "no credentials (settings only)"
INLINE_COMMENT_HINT = "for the AWS tools an inline comment is part of the value"


class Kind(StrEnum):
    USER = "user"
    ROLE = "role"
    SESSION = "session"
    SSO = "sso"
    PROCESS = "process"
    OTHER = "other"


class KeySource(StrEnum):
    """Where a user's long-term keys come from, as botocore finds them."""

    FILE = "file"  # aws_access_key_id/aws_secret_access_key in the AWS files
    KEYRING = "keyring"  # `credential_process = mfa-tui keys credential-process NAME`
    PROCESS = "process"  # another credential_process (aws-vault, op, pass...)


# What `mfa-tui keys import` writes where the keys were; botocore runs it, mfa-tui
# itself reads the keyring entry it names.
KEYS_COMMAND = ("keys", "credential-process")
_OWN_PROGRAMS = frozenset({"mfa-tui", "mfa-tui.exe"})


class State(StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    NONE = "none"


@dataclass(frozen=True)
class AwsPaths:
    config: Path
    credentials: Path

    @classmethod
    def from_env(cls) -> AwsPaths:
        """Honour AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE like botocore does."""
        config, creds = locations.aws_files()
        return cls(config=Path(config), credentials=Path(creds))


@dataclass(slots=True)
class Profile:
    """One profile as the AWS tools see it, plus what mfa-tui knows about it."""

    name: str
    kind: Kind
    values: dict[str, str]
    sources: tuple[Path, ...]
    mfa_serial: str | None = None
    source_profile: str | None = None
    credential_source: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    role_session_name: str | None = None
    duration_seconds: int | None = None
    region: str | None = None
    # For a session profile: the profile whose session it holds.
    session_of: str | None = None
    expiration: datetime | None = None
    # For a session profile: when mfa-tui wrote it.
    refreshed_at: datetime | None = None
    # Resolved chain for roles: [self, source, ..., user]; empty when unresolvable.
    chain: list[str] = field(default_factory=list)
    error: str | None = None
    # Why mfa-tui does not manage it (None for users and roles it can refresh).
    unmanaged_reason: str | None = None
    # Values the AWS tools cannot use, each naming its key, file and line.
    notes: tuple[str, ...] = ()
    # For a user: where its long-term keys come from.
    key_source: KeySource | None = None

    @property
    def managed(self) -> bool:
        return self.kind in (Kind.USER, Kind.ROLE) and self.unmanaged_reason is None

    @property
    def has_long_term_keys(self) -> bool:
        """Keys written in the files (not a keyring or a credential_process)."""
        return bool(
            self.values.get("aws_access_key_id") and self.values.get("aws_secret_access_key")
        )

    @property
    def keyring_entry(self) -> str | None:
        """The keyring entry of mfa-tui's `keys credential-process` line, if that is
        where the keys come from."""
        if self.key_source is not KeySource.KEYRING:
            return None
        found = own_command(self.values.get("credential_process", ""))
        return found[1] if found is not None and found[0] == KEYS_COMMAND else None


@dataclass
class ProfileSet:
    """Every profile, the parsed documents they came from, and any problems found."""

    paths: AwsPaths
    profiles: dict[str, Profile]
    config_doc: ini.IniDocument
    credentials_doc: ini.IniDocument
    problems: list[str]
    # True when a note depends on this computer as well as on the files (a
    # credential_process program that is not there): a listing that shows it must be
    # worked out again next time, not kept as if only the files counted.
    depends_on_system: bool = False
    # Facts other modules derive from this reading, kept so they are worked out once
    # (a ProfileSet is never changed once built).
    derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def get(self, name: str) -> Profile | None:
        return self.profiles.get(name)

    @cached_property
    def role_serials(self) -> dict[str, str]:
        """User name -> the first `mfa_serial` named on one of its roles."""
        found: dict[str, str] = {}
        for profile in self.profiles.values():
            if profile.kind is Kind.ROLE and profile.mfa_serial and profile.chain:
                found.setdefault(profile.chain[-1], profile.mfa_serial)
        return found


def parse_expiration(value: str | None) -> datetime | None:
    """An ISO 8601 time (`...Z`, an offset, or none: UTC) as an aware UTC datetime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())  # takes `Z` since Python 3.11
    except ValueError:
        return None
    zone = parsed.tzinfo
    if zone is None:
        return parsed.replace(tzinfo=UTC)
    return parsed if zone is UTC else parsed.astimezone(UTC)


def format_expiration(when: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, as botocore and the AWS CLI write expiry times."""
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return f"{when.isoformat(timespec='seconds')[:19]}Z"


def config_section_for(name: str) -> str:
    """The config-file header for a profile name (quoted as botocore needs it)."""
    return config_header_for(name)


# What STS takes: a virtual device's ARN, or a hardware token's serial number.
_MFA_SERIAL = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:mfa/[\w+=,.@/-]+|[\w+=/,.@-]{9,256}", re.A)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", re.A)


def _note_unusable_values(profile: Profile, docs: _Docs) -> bool:
    """Set aside what the AWS tools cannot use, with a note naming key, file and line.

    botocore ignores a `duration_seconds` that is not a number (an inline comment is
    part of the value: `1800 ; half an hour`) and STS refuses one outside 900..43200, an
    `mfa_serial` or `role_arn` that is not an ARN. mfa-tui says so, and uses the
    setting's default duration, the user's other device, or nothing in their place.
    Returns whether its role_arn is unusable.
    """
    values, notes = profile.values, list(profile.notes)
    raw = values.get("duration_seconds")
    if raw is not None:
        seconds = _int_or_none(raw)
        if seconds is None:
            why = f"is not a whole number of seconds ({INLINE_COMMENT_HINT})"
        elif not DURATION_MIN <= seconds <= DURATION_MAX:
            why = f"is outside {DURATION_MIN}..{DURATION_MAX} seconds"
        else:
            why = ""
        if why:
            where = _where(profile, "duration_seconds", docs)
            notes.append(f"duration_seconds = {raw} ({where}) {why}; it is ignored")
            profile.duration_seconds = None
    serial = values.get("mfa_serial")
    if serial and _MFA_SERIAL.fullmatch(serial) is None:
        notes.append(
            f"mfa_serial = {serial} ({_where(profile, 'mfa_serial', docs)}) is not an MFA "
            "device ARN (arn:aws:iam::<account>:mfa/<name>); it is ignored"
        )
        profile.mfa_serial = None
    arn = values.get("role_arn")
    bad_arn = bool(arn) and _ROLE_ARN.fullmatch(arn or "") is None
    if bad_arn:
        note = (
            f"role_arn = {arn} ({_where(profile, 'role_arn', docs)}) is not a role ARN "
            "(arn:aws:iam::<account>:role/<name>)"
        )
        notes.append(note)
        if profile.kind is Kind.ROLE and profile.unmanaged_reason is None:
            profile.unmanaged_reason = note
    profile.notes = tuple(notes)
    return bad_arn


def _refuse_roles_through(profiles: dict[str, Profile], bad_arns: set[str]) -> None:
    """A role assumed through a role with an unusable role_arn cannot be had either."""
    if not bad_arns:
        return
    for profile in profiles.values():
        hop = next((name for name in profile.chain[1:-1] if name in bad_arns), None)
        if hop is not None and profile.unmanaged_reason is None:
            profile.unmanaged_reason = (
                f"it is assumed through '{hop}', whose role_arn is not a role ARN"
            )


class _Docs:
    """The two parsed files, with the section look-ups the notes make built once.

    A note names its `file:line`; finding it by scanning every section made notes on
    every profile quadratic (2,000 roles whose `mfa_serial` is only on their user: 1.6 s
    to load, for what takes 30 ms).
    """

    __slots__ = ("_by_header", "_by_profile", "config", "creds")

    def __init__(self, creds: ini.IniDocument, config: ini.IniDocument) -> None:
        self.creds = creds
        self.config = config
        self._by_header: dict[int, dict[str, list[ini.Section]]] = {}
        self._by_profile: dict[str, list[ini.Section]] | None = None

    def find(self, doc: ini.IniDocument, header: str) -> list[ini.Section]:
        """`doc.find(header)`, from an index of `doc` made on first use."""
        index = self._by_header.get(id(doc))
        if index is None:
            index = {}
            for section in doc.sections:
                if not section.broken:
                    index.setdefault(section.name, []).append(section)
            self._by_header[id(doc)] = index
        return index.get(header, [])

    def config_sections(self, name: str) -> list[ini.Section]:
        """The unbroken config sections botocore reads as profile `name`, in file order."""
        if self._by_profile is None:
            self._by_profile = {}
            for section in self.config.sections:
                named = None if section.broken else config_profile_name(section.name)
                if named is not None:
                    self._by_profile.setdefault(named, []).append(section)
        return self._by_profile.get(name, [])


def _where(profile: Profile, key: str, docs: _Docs) -> str:
    """`file:line` of the value of `key` the AWS tools read for `profile`."""
    creds, config = docs.creds, docs.config
    headers = [s.name for s in docs.config_sections(profile.name)]
    for doc, header in (
        (creds, profile.name),
        (config, headers[-1] if headers else None),
        (creds, ini.DEFAULT_SECTION),
        (config, ini.DEFAULT_SECTION),
    ):
        for section in reversed(docs.find(doc, header) if header is not None else []):
            if key in section.key_spans:
                return f"{doc.path}:{section.key_spans[key][0] + 1}"
    return str(config.path)


def section_where(profile_set: ProfileSet, name: str, *, credentials: bool = False) -> str:
    """`file:line` of profile `name`'s section: the config header the AWS tools read its
    settings from (or, with `credentials`, its credentials-file section), else the other."""
    return _section_where(
        name, _Docs(profile_set.credentials_doc, profile_set.config_doc), credentials
    )


def _section_where(name: str, docs: _Docs, credentials_first: bool = False) -> str:
    creds, config = docs.creds, docs.config
    headers = docs.config_sections(name)
    in_config = f"{config.path}:{headers[-1].start + 1}" if headers else None
    sections = docs.find(creds, name)
    in_creds = f"{creds.path}:{sections[-1].start + 1}" if sections else None
    first, second = (in_creds, in_config) if credentials_first else (in_config, in_creds)
    return first or second or str(config.path)


def _note_roles_without_mfa(profiles: dict[str, Profile], docs: _Docs) -> None:
    """A role no profile of whose chain names an `mfa_serial`: the AWS tools assume it
    with the user's long-term keys alone and never ask for a code (botocore reads
    `mfa_serial` from the role profiles it assumes, never from the user's)."""
    for profile in profiles.values():
        if profile.kind is not Kind.ROLE or profile.mfa_serial:
            continue  # not a role, or it names a device itself (most do)
        chain = profile.chain
        if len(chain) < 2:
            continue
        user = profiles[chain[-1]]
        if user.kind is not Kind.USER or any(profiles[n].mfa_serial for n in chain[:-1]):
            continue
        device = user.mfa_serial or "arn:aws:iam::<account>:mfa/<device>"
        profile.notes = (
            *profile.notes,
            f"no profile on its chain ({' -> '.join(chain)}) names an mfa_serial "
            f"({_section_where(profile.name, docs)}), so the AWS tools assume it with the keys of "
            f"'{user.name}' alone, without MFA (a trust policy that requires MFA refuses "
            f"that): add mfa_serial = {device} to it",
        )


def _note_process_programs(processes: list[Profile], docs: _Docs) -> bool:
    """Note a `credential_process` whose program the AWS tools cannot start; returns
    whether any was noted (such a note depends on this computer, not on the files)."""
    known: dict[str, str | None] = {}
    noted = False
    for profile in processes:
        command = profile.values.get("credential_process", "")
        if command not in known:
            known[command] = program_problem(command)
        why = known[command]
        if why is not None:
            noted = True
            where = _where(profile, "credential_process", docs)
            profile.notes = (
                *profile.notes,
                f"credential_process ({where}): {why}; until then the AWS tools get no "
                f"credentials for '{profile.name}'",
            )
    return noted


def _note_inline_comments(profile: Profile, docs: _Docs) -> None:
    """Note values with what reads like an inline comment (`region = eu-west-1  # work`):
    the AWS tools keep it as part of the value. Secrets are named, never shown."""
    if profile.kind is Kind.SESSION:
        return  # mfa-tui's own, written without comments
    notes = list(profile.notes)
    for key, value in profile.values.items():
        if ini.INLINE_COMMENT.search(value) is None or any(n.startswith(f"{key} ") for n in notes):
            continue  # no comment, or already noted (duration_seconds = 1800 ; half an hour)
        if key == "source_profile" and profile.error is not None:
            continue  # the chain's error already says so
        shown = key if key.startswith("aws_") or "\n" in value else f"{key} = {value}"
        notes.append(
            f"{shown} ({_where(profile, key, docs)}) holds what reads as an inline comment, "
            f"but {INLINE_COMMENT_HINT}: put the comment on a line of its own"
        )
    profile.notes = tuple(notes)


def _by_line(problem: ini.Problem) -> int:
    return problem.line


def _named_twice(config: ini.IniDocument, headers: list[str]) -> list[ini.Problem]:
    """Two headers for one profile (`[default]` and `[profile default]`, `[profile a]`
    and `[profile "a"]`): botocore reads only the later one, not a merge of both."""
    if not headers:
        return []
    first: dict[str, ini.Section] = {}
    found: list[ini.Problem] = []
    later = set(headers)
    for section in config.sections:
        name = None if section.broken else config_profile_name(section.name)
        if name is None:
            continue
        earlier = first.setdefault(name, section)
        if section.name in later and earlier.name != section.name:
            later.discard(section.name)
            message = (
                f"[{section.name}] names the profile '{name}' again (first as "
                f"[{earlier.name}] at line {earlier.start + 1}); the AWS tools read only "
                "the later one's keys and ignore the other's: merge the two into one section"
            )
            found.append(ini.Problem(config.path, section.start + 1, message))
    return found


def _profile_headers_in_credentials(creds: ini.IniDocument) -> list[ini.Problem]:
    """`[profile x]` in the credentials file: the AWS tools read it as the profile
    named 'profile x' (credentials sections are named verbatim), never as 'x'."""
    found: list[ini.Problem] = []
    for section in creds.sections:
        name = section.name
        if section.broken or not name.startswith("profile") or name[7:8] not in (" ", "\t"):
            continue
        meant = section_name(name, "profile") or name[8:].strip()
        message = (
            f"[{name}] in the credentials file is the profile '{name}' for the AWS tools, "
            f"not '{meant}': the credentials file names profiles without 'profile'; write "
            f"[{meant}]"
        )
        found.append(ini.Problem(creds.path, section.start + 1, message))
    return found


def _dropped_profiles(config: ini.IniDocument, headers: list[str]) -> list[ini.Problem]:
    """`[profile team dev]` and the like: headers botocore drops without a word."""
    if not headers:
        return []
    wanted = set(headers)
    found = []
    for section in config.sections:
        if not section.broken and section.name in wanted:
            why = why_not_a_profile(section.name)
            if why is not None:
                found.append(ini.Problem(config.path, section.start + 1, why))
    return found


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def own_command(command: str) -> tuple[tuple[str, ...], str] | None:
    """(its subcommand words, the name it is given) when a `credential_process` runs
    mfa-tui itself: `mfa-tui keys credential-process NAME` (the keys in the keyring) or
    `mfa-tui credential-process NAME` (a session mfa-tui serves). None otherwise."""
    if "mfa-tui" not in command:
        return None  # nearly every other command: no split needed
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:
        return None
    program = words[0].replace("\\", "/").rsplit("/", 1)[-1] if words else ""
    if program not in _OWN_PROGRAMS:
        return None
    args = tuple(words[1:])
    if len(args) == 3 and args[:2] == KEYS_COMMAND:
        return KEYS_COMMAND, args[2]
    if len(args) == 2 and args[0] == "credential-process":
        return args[:1], args[1]
    return None


def keys_command_line(entry: str) -> str | None:
    """The `credential_process` value that serves the keys of keyring entry `entry`
    (None when the name cannot be given to it safely: a quote or a backslash).

    botocore splits it like a shell without running one (and differently on Windows):
    a name of plain characters goes as it is, any other in double quotes.
    """
    words = ["mfa-tui", *KEYS_COMMAND]
    if entry and all(c.isalnum() or c in "_.@+=,:/-" for c in entry) and entry.isascii():
        return " ".join([*words, entry])
    if not entry or any(c in entry for c in '"\\\r\n'):
        return None
    return " ".join([*words, f'"{entry}"'])


def classify(
    name: str, values: dict[str, str], *, keys_in_credentials: bool = True
) -> tuple[Kind, str | None]:
    """The kind of a profile and, for kinds mfa-tui does not manage, why.

    `keys_in_credentials`: its access keys (if any) are in the credentials file, where
    botocore looks before a `credential_process`; keys in the config file come after it.
    A `credential_process` is a user's keys when it is mfa-tui's own keyring command, or
    when the profile names an MFA device (a role assumed from it can name one too: see
    `load_profiles`); what the process returns is known only once it runs.
    """
    if OWNER_KEY in values:
        return Kind.SESSION, "a session written by mfa-tui"
    if values.get("role_arn"):
        if values.get("source_profile") or values.get("credential_source"):
            return Kind.ROLE, None
        if values.get("web_identity_token_file"):
            return Kind.OTHER, "web identity role: no MFA involved"
        return Kind.OTHER, "role_arn without source_profile or credential_source"
    if values.get("sso_session") or values.get("sso_start_url") or values.get("sso_account_id"):
        return Kind.SSO, "IAM Identity Center (SSO): use 'aws sso login'"
    keys = bool(values.get("aws_access_key_id") and values.get("aws_secret_access_key"))
    process = values.get("credential_process")
    if process and not (keys and keys_in_credentials):
        return _process_kind(process, values)
    if keys:
        if values.get("aws_session_token") or values.get("aws_security_token"):
            return Kind.OTHER, "static temporary credentials (has a session token)"
        return Kind.USER, None
    return Kind.OTHER, NO_CREDENTIALS


PROCESS_WITHOUT_DEVICE = (
    "credentials come from credential_process; if it returns an IAM user's access keys, "
    "name the user's MFA device (mfa_serial) in this profile and mfa-tui gets MFA "
    "sessions with them"
)
SERVED_BY_MFA_TUI = "a session served by mfa-tui ('mfa-tui credential-process')"


def _process_kind(command: str, values: dict[str, str]) -> tuple[Kind, str | None]:
    own = own_command(command)
    if own is not None:
        if own[0] == KEYS_COMMAND:
            return Kind.USER, None
        return Kind.PROCESS, SERVED_BY_MFA_TUI
    if values.get("mfa_serial"):
        return Kind.USER, None
    return Kind.PROCESS, PROCESS_WITHOUT_DEVICE


def _key_source(values: dict[str, str], keys_in_credentials: bool) -> KeySource:
    """Where a user's keys come from, in botocore's order: keys in the credentials file,
    then a credential_process, then keys in the config file."""
    process = values.get("credential_process")
    keys = values.get("aws_access_key_id") and values.get("aws_secret_access_key")
    if not process or (keys and keys_in_credentials):
        return KeySource.FILE
    own = own_command(process)
    return KeySource.KEYRING if own is not None and own[0] == KEYS_COMMAND else KeySource.PROCESS


def _promote_key_processes(profiles: dict[str, Profile]) -> None:
    """A `credential_process` profile that a role with an MFA device is assumed from is
    that role's user: botocore asks the process for the source credentials, mfa-tui for
    the keys to call GetSessionToken with."""
    for role in profiles.values():
        if role.kind is not Kind.ROLE or not role.mfa_serial:
            continue
        current, seen = role, {role.name}
        while current.source_profile and current.source_profile not in seen:
            source = profiles.get(current.source_profile)
            if source is None:
                break
            seen.add(source.name)
            if source.kind is Kind.ROLE and not source.has_long_term_keys:
                current = source
                continue
            if source.kind is Kind.PROCESS and source.unmanaged_reason == PROCESS_WITHOUT_DEVICE:
                source.kind, source.unmanaged_reason = Kind.USER, None
                source.key_source = KeySource.PROCESS
            break


def load_profiles(paths: AwsPaths | None = None) -> ProfileSet:
    """Read both files and classify every profile; never raises on bad content."""
    paths = paths or AwsPaths.from_env()
    problems: list[str] = []
    config_doc = _read_doc(paths.config, problems)
    config_read = len(problems)
    creds_doc = _read_doc(paths.credentials, problems)

    # Fresh dicts from values_with_defaults: a profile's own, merged in place.
    merged: dict[str, dict[str, str]] = {}
    sources: dict[str, tuple[Path, ...]] = {}
    config_only, both = (paths.config,), tuple(dict.fromkeys((paths.config, paths.credentials)))
    dropped: list[str] = []
    twice: list[str] = []  # headers that name a profile an earlier header names
    for section, values in config_doc.values_with_defaults().items():
        name = config_profile_name(section)
        if name is None:
            if section.startswith("profile"):
                dropped.append(section)
            continue
        # Two headers for one profile (`[default]` and `[profile default]`, or
        # `[profile a]` and `[profile  a]`): botocore keeps the later one whole.
        if name in merged:
            twice.append(section)
        merged[name] = values
        sources[name] = config_only
    credentials_only = (paths.credentials,)
    # Profiles whose keys the credentials file holds: botocore takes those before a
    # credential_process, and a credential_process before keys in the config file.
    keyed: set[str] = set()
    for name, values in creds_doc.values_with_defaults().items():
        if "aws_secret_access_key" in values and values.get("aws_access_key_id"):
            keyed.add(name)
        if name in merged:
            merged[name].update(values)
            sources[name] = both
        else:
            merged[name] = values
            sources[name] = credentials_only

    profiles: dict[str, Profile] = {}
    unusable: list[Profile] = []
    processes: list[Profile] = []
    for name, values in merged.items():
        get = values.get
        kind, reason = classify(name, values, keys_in_credentials=name in keyed)
        session = kind is Kind.SESSION
        serial, arn, duration = get("mfa_serial"), get("role_arn"), get("duration_seconds")
        profile = profiles[name] = Profile(
            name=name,
            kind=kind,
            values=values,
            sources=sources[name],
            mfa_serial=serial or None,
            source_profile=get("source_profile") or None,
            credential_source=get("credential_source") or None,
            role_arn=arn or None,
            external_id=get("external_id") or None,
            role_session_name=get("role_session_name") or None,
            duration_seconds=None if duration is None else _int_or_none(duration),
            region=get("region") or None,
            session_of=get(OWNER_KEY) if session else None,
            expiration=parse_expiration(get("expiration")),
            refreshed_at=parse_expiration(get("mfa_tui_refreshed")) if session else None,
            unmanaged_reason=reason,
        )
        if kind is Kind.USER:
            profile.key_source = _key_source(values, name in keyed)
        if (
            duration is not None
            or (serial and _MFA_SERIAL.fullmatch(serial) is None)
            or (arn and _ROLE_ARN.fullmatch(arn) is None)
        ):
            unusable.append(profile)  # a value the AWS tools may not be able to use
        if kind is Kind.PROCESS:
            processes.append(profile)
    _promote_key_processes(profiles)
    docs = _Docs(creds_doc, config_doc)
    _resolve_chains(profiles, docs)
    bad_arns = {p.name for p in unusable if _note_unusable_values(p, docs)}
    _refuse_roles_through(profiles, bad_arns)
    _note_roles_without_mfa(profiles, docs)
    depends_on_system = _note_process_programs(processes, docs)
    if config_doc.inline_comments or creds_doc.inline_comments:
        for profile in profiles.values():
            _note_inline_comments(profile, docs)
    if dropped or twice:
        found = [*_dropped_profiles(config_doc, dropped), *_named_twice(config_doc, twice)]
        problems[config_read:config_read] = [str(p) for p in sorted(found, key=_by_line)]
    problems.extend(str(p) for p in _profile_headers_in_credentials(creds_doc))
    return ProfileSet(paths, profiles, config_doc, creds_doc, problems, depends_on_system)


def config_values(profile_set: ProfileSet, name: str) -> dict[str, str]:
    """What the config file alone sets for profile `name`, as botocore reads it (the
    later of two headers for one profile wins; [DEFAULT] fills in)."""
    found: dict[str, str] = {}
    for section, values in profile_set.config_doc.values_with_defaults().items():
        if config_profile_name(section) == name:
            found = dict(values)
    return found


def _read_doc(path: Path, problems: list[str]) -> ini.IniDocument:
    try:
        doc = ini.read(path)
    except RefusedFileError as exc:
        problems.append(f"{exc}; it was ignored")
        return ini.parse_bytes(b"", path)
    except OSError as exc:
        problems.append(f"{path}: cannot read it ({exc.strerror}); it was ignored")
        return ini.parse_bytes(b"", path)
    problems.extend(str(p) for p in doc.problems)
    return doc


# Profiles one source_profile chain may hold (its roles and the user at the end).
# botocore follows a chain by recursion and fails past about 320 roles, so no AWS tool
# can use a longer one; mfa-tui names such a chain instead of walking it.
MAX_CHAIN = 256


@dataclass(frozen=True)
class _Walk:
    """Where following source_profile from one role leads: the profiles met on the way
    (the role first), and how the walk ended."""

    names: tuple[str, ...]
    error: str | None = None
    loop_to: str | None = None  # the walk came back to this profile
    too_deep: bool = False
    self_sourced: str | None = None
    keyed_role: str | None = None
    # The error is one the AWS tools refuse too (not only mfa-tui): a note says it.
    refused: bool = False


def _hop(current: Profile, profiles: dict[str, Profile], docs: _Docs) -> str | _Walk:
    """The role the walk from `current` goes on to, or how it ends at `current` (an
    error names the line of the source_profile at fault)."""
    if current.credential_source and not current.source_profile:
        return _Walk((current.name,))  # an EC2/ECS/env source: it ends outside the files
    source_name = current.source_profile
    if source_name is None:
        return _Walk((current.name,))
    if source_name == current.name and current.has_long_term_keys:
        # botocore lets a profile assume its role with its own keys.
        return _Walk((current.name,), self_sourced=current.name)
    source = profiles.get(source_name)
    if source is None:
        where = _where(current, "source_profile", docs)
        hint = f" ({INLINE_COMMENT_HINT})" if ini.INLINE_COMMENT.search(source_name) else ""
        return _Walk(
            (current.name,),
            error=(
                f"profile '{current.name}' names source_profile '{source_name}' ({where}), "
                f"which does not exist{hint}; the AWS tools refuse it"
            ),
            refused=True,
        )
    # A source with long-term keys ends the chain even if it has a role_arn of its own:
    # botocore uses its keys and does not assume its role.
    if source.kind is Kind.ROLE and not source.has_long_term_keys:
        return source_name
    walked = (current.name, source_name)
    if source.kind is Kind.ROLE:
        return _Walk(walked, keyed_role=source_name)
    if source.unmanaged_reason == PROCESS_WITHOUT_DEVICE:
        return _Walk(
            walked,
            error=(
                f"source_profile '{source_name}' of '{current.name}' gets its credentials "
                "from credential_process and no MFA device is named for them: if it "
                f"returns access keys, add mfa_serial to '{current.name}' or "
                f"'{source_name}' (process)"
            ),
        )
    if source.unmanaged_reason == NO_CREDENTIALS:
        where = _where(current, "source_profile", docs)
        return _Walk(
            walked,
            error=(
                f"source_profile '{source_name}' of '{current.name}' ({where}) has no "
                "credentials, so the AWS tools refuse it: give it keys, or name another "
                "profile"
            ),
            refused=True,
        )
    if source.kind is not Kind.USER:
        return _Walk(
            walked,
            error=(
                f"source_profile '{source_name}' of '{current.name}' has no long-term "
                f"keys mfa-tui can use ({source.kind.value})"
            ),
        )
    return _Walk(walked)


def _onto(name: str, tail: _Walk) -> _Walk:
    """The walk from `name`, whose source_profile is the role `tail` starts at."""
    if tail.too_deep:
        return tail
    if name in tail.names:  # `name` (a role with keys) is named again further on
        return _Walk((name, *tail.names[: tail.names.index(name)]), loop_to=name)
    if len(tail.names) >= MAX_CHAIN:
        return _Walk((), too_deep=True)
    return _Walk(
        (name, *tail.names),
        tail.error,
        tail.loop_to,
        keyed_role=tail.keyed_role,
        refused=tail.refused,
    )


def _walks(profiles: dict[str, Profile], docs: _Docs) -> dict[str, _Walk]:
    """The walk from every role, each hop followed once: a role's walk is its source's
    with itself in front, so a chain of any depth costs time in proportion to it."""
    walks: dict[str, _Walk] = {}
    for start in profiles.values():
        if start.kind is not Kind.ROLE:
            continue
        # Follow the roles not walked yet; `path` holds them in order, `next_of` where each
        # goes. The walk stops at a known walk, at the end of the chain, or at a loop.
        path: list[str] = []
        at: dict[str, int] = {}
        next_of: dict[str, str] = {}
        name = start.name
        while name not in walks:
            hop = _hop(profiles[name], profiles, docs)
            if isinstance(hop, _Walk):
                walks[name] = hop
                break
            at[name] = len(path)
            path.append(name)
            next_of[name] = hop
            if hop in at:
                loop = path[at[hop] :]
                for i, member in enumerate(loop):
                    order = (*loop[i:], *loop[:i])
                    walks[member] = (
                        _Walk(order, loop_to=member)
                        if len(order) <= MAX_CHAIN
                        else _Walk((), too_deep=True)
                    )
                del path[at[hop] :]
                break
            name = hop
        for member in reversed(path):
            walks[member] = _onto(member, walks[next_of[member]])
    return walks


def _resolve_chains(profiles: dict[str, Profile], docs: _Docs) -> None:
    """Each role's chain of source profiles; a chain the AWS tools refuse (a loop, a
    source_profile that does not exist or has no credentials) is an error and a note
    naming the line of the source_profile at fault."""
    walks = _walks(profiles, docs)
    for profile in profiles.values():
        if profile.kind is not Kind.ROLE:
            continue
        walk = walks[profile.name]
        chain = list(walk.names)
        self_sourced, keyed_role = walk.self_sourced, walk.keyed_role
        if walk.loop_to is not None:
            where = _where(profiles[chain[-1]], "source_profile", docs)
            profile.error = (
                f"source_profile loop: {' -> '.join((*chain, walk.loop_to))} ({where}); the "
                "AWS tools refuse every profile on it: end the chain at a profile with keys"
            )
        elif walk.too_deep:
            profile.error = (
                f"its source_profile chain holds more than {MAX_CHAIN} profiles; no AWS tool "
                "can follow one that long (botocore gives up past about 320), so mfa-tui "
                "does not either"
            )
        else:
            profile.error = walk.error
        if profile.error is not None and (walk.loop_to is not None or walk.refused):
            profile.notes = (*profile.notes, profile.error)  # doctor and list say it too
        profile.chain = chain if profile.error is None else []
        if profile.error is not None:
            profile.unmanaged_reason = profile.error
        elif self_sourced is not None:
            profile.unmanaged_reason = (
                f"'{self_sourced}' assumes its role with its own long-term keys "
                "(source_profile names itself); mfa-tui manages users and roles kept apart"
            )
        elif keyed_role is not None:
            profile.unmanaged_reason = (
                f"source_profile '{keyed_role}' has both long-term keys and a role_arn; "
                "the AWS tools use its keys, mfa-tui needs a plain user there"
            )
        elif profile.credential_source and not profile.source_profile:
            profile.unmanaged_reason = (
                f"credential_source = {profile.credential_source}: credentials come from "
                "the environment, not from keys mfa-tui can use"
            )
        elif profiles[chain[-1]].kind is Kind.ROLE:
            profile.unmanaged_reason = "the chain does not end at a user with keys"


def user_of(profiles: dict[str, Profile], profile: Profile) -> Profile | None:
    """The user at the end of a role's chain (or the profile itself if it is a user)."""
    if profile.kind is Kind.USER:
        return profile
    if profile.kind is Kind.ROLE and profile.chain:
        last = profiles.get(profile.chain[-1])
        if last is not None and last.kind is Kind.USER:
            return last
    return None


def mfa_serial_of(profile_set: ProfileSet, profile: Profile) -> str | None:
    """The MFA device a code for `profile` comes from, as far as the files tell.

    The user's own `mfa_serial`, else one on a role of the chain, else one on any role of
    the same user: common configs name the device only on the roles (botocore asks for
    the code when assuming them), and it is the user's device all the same.
    """
    profiles = profile_set.profiles
    user = user_of(profiles, profile)
    if user is None:
        return profile.mfa_serial
    if user.mfa_serial:
        return user.mfa_serial
    for name in profile.chain:
        hop = profiles.get(name)
        if hop is not None and hop.mfa_serial:
            return hop.mfa_serial
    return profile_set.role_serials.get(user.name)


def state_of(expiration: datetime | None, now: datetime, margin: float) -> State:
    expires = expiration.timestamp() if expiration is not None else None
    return _STATES[state_at(expires, now.timestamp(), margin)]


_STATES = {state.value: state for state in State}  # State(value) is slow at 5,000 rows


def botocore_refusal(path: Path) -> str | None:
    """Why botocore refuses to read `path` at all, in its own words; None when it reads
    it (or there is no such file). mfa-tui reads past a bad line; the AWS CLI and SDKs
    reject the whole file for most of them (a duplicate section or key, a key before
    any section, a line that is not `key = value`, bytes that are not UTF-8...).
    """
    import botocore.configloader
    import botocore.exceptions

    try:
        botocore.configloader.raw_config_parse(str(path))
    except botocore.exceptions.ConfigNotFound:
        return None
    except botocore.exceptions.ConfigParseError as exc:
        cause = exc.kwargs.get("error")
        first = str(cause).strip().splitlines()[0] if cause is not None else ""
        return f"{exc}" + (f" ({first})" if first else "")
    except OSError as exc:
        return f"cannot read it ({exc.strerror})"
    return None
