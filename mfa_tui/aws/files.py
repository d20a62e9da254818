"""Find the AWS config and credentials files and turn them into classified profiles.

The rules are botocore's: `[profile NAME]` and `[default]` in the config file, `[NAME]`
in the credentials file, and a profile's keys merged across both (credentials win);
`sso-session` and `services` sections are not profiles. We add what botocore does not
know: which profiles mfa-tui can manage (users with long-term keys, roles), which are
sessions it wrote, and the source chain of every role.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from mfa_tui import locations
from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY
from mfa_tui.expiry import state_at

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


class Kind(StrEnum):
    USER = "user"
    ROLE = "role"
    SESSION = "session"
    SSO = "sso"
    PROCESS = "process"
    OTHER = "other"


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


@dataclass
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
    # Resolved chain for roles: [self, source, ..., user]; empty when unresolvable.
    chain: list[str] = field(default_factory=list)
    error: str | None = None
    # Why mfa-tui does not manage it (None for users and roles it can refresh).
    unmanaged_reason: str | None = None

    @property
    def managed(self) -> bool:
        return self.kind in (Kind.USER, Kind.ROLE) and self.unmanaged_reason is None

    @property
    def has_long_term_keys(self) -> bool:
        return bool(
            self.values.get("aws_access_key_id") and self.values.get("aws_secret_access_key")
        )


@dataclass
class ProfileSet:
    """Every profile, the parsed documents they came from, and any problems found."""

    paths: AwsPaths
    profiles: dict[str, Profile]
    config_doc: ini.IniDocument
    credentials_doc: ini.IniDocument
    problems: list[str]

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
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_expiration(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SHLEX_SPACE = re.compile(r"[ \t\r\n]+")  # shlex's whitespace, not str.split()'s


def _config_profile_name(section: str) -> str | None:
    if section == "default":
        return "default"
    if not section.startswith("profile"):
        return None
    if not any(c in section for c in "\"'\\#"):
        # No quoting, escaping or comment: shlex would split on whitespace, only slower
        # (it dominates a 5,000-profile parse otherwise).
        parts = [p for p in _SHLEX_SPACE.split(section) if p]
        return parts[1] if len(parts) == 2 else None
    try:
        parts = shlex.split(section)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def config_section_for(name: str) -> str:
    """The config-file header for a profile name."""
    return "default" if name == "default" else f"profile {name}"


def _apply_defaults(doc: ini.IniDocument) -> dict[str, dict[str, str]]:
    # configparser gives every section the keys of [DEFAULT] and hides DEFAULT itself.
    sections = doc.section_values()
    defaults = sections.pop("DEFAULT", None)
    if defaults:
        for values in sections.values():
            for key, value in defaults.items():
                values.setdefault(key, value)
    return sections


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def classify(name: str, values: dict[str, str]) -> tuple[Kind, str | None]:
    """The kind of a profile and, for kinds mfa-tui does not manage, why."""
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
    if values.get("credential_process"):
        return Kind.PROCESS, "credentials come from credential_process"
    if values.get("aws_access_key_id") and values.get("aws_secret_access_key"):
        if values.get("aws_session_token") or values.get("aws_security_token"):
            return Kind.OTHER, "static temporary credentials (has a session token)"
        return Kind.USER, None
    return Kind.OTHER, "no credentials (settings only)"


def load_profiles(paths: AwsPaths | None = None) -> ProfileSet:
    """Read both files and classify every profile; never raises on bad content."""
    paths = paths or AwsPaths.from_env()
    problems: list[str] = []
    config_doc = _read_doc(paths.config, problems)
    creds_doc = _read_doc(paths.credentials, problems)

    merged: dict[str, dict[str, str]] = {}
    origin: dict[str, list[Path]] = {}
    for section, values in _apply_defaults(config_doc).items():
        name = _config_profile_name(section)
        if name is None:
            continue
        # Two headers for one profile (`[default]` and `[profile default]`, or
        # `[profile a]` and `[profile  a]`): botocore keeps the later one whole.
        merged[name] = dict(values)
        origin[name] = [paths.config]
    for name, values in _apply_defaults(creds_doc).items():
        merged.setdefault(name, {}).update(values)
        origin.setdefault(name, []).append(paths.credentials)

    profiles: dict[str, Profile] = {}
    for name, values in merged.items():
        kind, reason = classify(name, values)
        profiles[name] = Profile(
            name=name,
            kind=kind,
            values=values,
            sources=tuple(dict.fromkeys(origin[name])),
            mfa_serial=values.get("mfa_serial") or None,
            source_profile=values.get("source_profile") or None,
            credential_source=values.get("credential_source") or None,
            role_arn=values.get("role_arn") or None,
            external_id=values.get("external_id") or None,
            role_session_name=values.get("role_session_name") or None,
            duration_seconds=_int_or_none(values.get("duration_seconds")),
            region=values.get("region") or None,
            session_of=values.get(OWNER_KEY) if kind is Kind.SESSION else None,
            expiration=parse_expiration(values.get("expiration")),
            unmanaged_reason=reason,
        )
    _resolve_chains(profiles)
    return ProfileSet(paths, profiles, config_doc, creds_doc, problems)


def config_values(profile_set: ProfileSet, name: str) -> dict[str, str]:
    """What the config file alone sets for profile `name`, as botocore reads it (the
    later of two headers for one profile wins; [DEFAULT] fills in)."""
    found: dict[str, str] = {}
    for section, values in _apply_defaults(profile_set.config_doc).items():
        if _config_profile_name(section) == name:
            found = dict(values)
    return found


def _read_doc(path: Path, problems: list[str]) -> ini.IniDocument:
    try:
        doc = ini.read(path)
    except IsADirectoryError:
        problems.append(f"{path} is a directory, not a file; it was ignored")
        return ini.parse_bytes(b"", path)
    except OSError as exc:
        problems.append(f"{path}: cannot read it ({exc.strerror}); it was ignored")
        return ini.parse_bytes(b"", path)
    problems.extend(str(p) for p in doc.problems)
    return doc


def _resolve_chains(profiles: dict[str, Profile]) -> None:
    for profile in profiles.values():
        if profile.kind is not Kind.ROLE:
            continue
        chain = [profile.name]
        current = profile
        self_sourced: str | None = None
        keyed_role: str | None = None
        while True:
            if current.credential_source and not current.source_profile:
                break  # an EC2/ECS/env source: the chain ends outside the files
            source_name = current.source_profile
            if source_name is None:
                break
            if source_name == current.name and current.has_long_term_keys:
                # botocore lets a profile assume its role with its own keys.
                self_sourced = current.name
                break
            if source_name in chain:
                loop = " -> ".join([*chain, source_name])
                profile.error = f"source_profile loop: {loop}"
                break
            source = profiles.get(source_name)
            if source is None:
                profile.error = (
                    f"profile '{current.name}' names source_profile '{source_name}', "
                    "which does not exist"
                )
                break
            chain.append(source_name)
            # A source with long-term keys ends the chain even if it has a role_arn of
            # its own: botocore uses its keys and does not assume its role.
            if source.kind is Kind.ROLE and not source.has_long_term_keys:
                current = source
                continue
            if source.kind is Kind.ROLE:
                keyed_role = source_name
                break
            if source.kind is not Kind.USER:
                profile.error = (
                    f"source_profile '{source_name}' of '{current.name}' has no long-term "
                    f"keys mfa-tui can use ({source.kind.value})"
                )
            break
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
