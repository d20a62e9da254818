"""The AWS files read for profile names and a few keys, with nothing but `os`.

`mfa-tui status` (run by a shell prompt before every prompt) and shell completion (run
at every tab) must answer in about Python's own start-up time, which the INI document
model, botocore and even `re` or `typing` would exceed. What they need is small: which
profiles exist, which are sessions mfa-tui wrote, how a role leads to its user, and a
session's expiry. This reads exactly that, by botocore's rules (`[profile NAME]` and
`[default]` in the config file, `[NAME]` in the credentials file, the credentials file
winning a key both set), and gives up — None — on anything it would have to guess at:
a `[DEFAULT]` section, a duplicated section, quoting in a header, a continuation line
under one of the keys it reads, odd bytes. The full command (the same answer from the
full parser) takes over then.
"""

from __future__ import annotations

import os

from mfa_tui import bounded_read, locations

# The keys read (what tells a profile's kind, its source and a session's expiry, as
# aws/files.py's `classify` and chains read them); every other key is skipped unread.
KEYS = frozenset(
    {
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_security_token",
        "role_arn",
        "source_profile",
        "credential_source",
        "web_identity_token_file",
        "sso_session",
        "sso_start_url",
        "sso_account_id",
        "credential_process",
        "mfa_serial",
        "expiration",
        "mfa_tui_source",
    }
)
OWNER_KEY = "mfa_tui_source"

# Not `typing.TYPE_CHECKING`: importing typing would cost these paths dearly.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # Profile name -> the keys of KEYS it sets.
    Profiles = dict[str, dict[str, str]]


def _config_name(header: str) -> str | None:
    """The profile a config-file section header names, None for other sections (and a
    ValueError for a header botocore would read with shlex)."""
    if header == "default":
        return "default"
    if not header.startswith("profile"):
        return None
    if any(c in header for c in "\"'\\#"):
        raise ValueError(header)
    parts = header.split()
    if parts[0] != "profile":
        return None
    if len(parts) != 2:
        raise ValueError(header)
    return parts[1]


def scan(text: str, *, config: bool) -> Profiles | None:
    """The profiles of one file and the KEYS they set; None when the file must be read
    the long way."""
    if text.startswith("\ufeff"):
        return None
    found: Profiles = {}
    seen: set[str] = set()
    current: dict[str, str] | None = None
    last_key = ""
    for raw in text.split("\n"):
        line = raw.removesuffix("\r")
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if line[0] in " \t":
            if current is not None and last_key in KEYS:
                return None  # a value continued on the next line: the parser's to read
            continue
        if line.startswith("["):
            if not line.rstrip().endswith("]"):
                return None
            header = line.rstrip()[1:-1]
            if "]" in header or "[" in header or header == "DEFAULT" or header in seen:
                return None
            seen.add(header)
            try:
                name = _config_name(header) if config else header
            except ValueError:
                return None
            if name is not None and name in found:
                return None  # [default] and [profile default]: the parser's to settle
            current = found.setdefault(name, {}) if name is not None else None
            last_key = ""
            continue
        key, sep, value = stripped.partition("=")
        if not sep or ":" in key:
            return None
        last_key = key.strip().lower()
        if current is not None and last_key in KEYS:
            current[last_key] = value.strip()
    return found


def read_file(path: str) -> str | None:
    """A file's text ("" when there is none, as botocore takes it), or None for what
    the full commands would refuse (a FIFO, a device, past the size limit)."""
    try:
        raw = bounded_read.read_file(path)
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_profiles() -> tuple[Profiles, Profiles] | None:
    """(every profile, merged across both files; the credentials file's sections), or
    None when either file must be read the long way."""
    config_path, creds_path = locations.aws_files()
    config_text, creds_text = read_file(config_path), read_file(creds_path)
    if config_text is None or creds_text is None:
        return None
    config, creds = scan(config_text, config=True), scan(creds_text, config=False)
    if config is None or creds is None:
        return None
    merged = {name: dict(values) for name, values in config.items()}
    for name, values in creds.items():
        merged.setdefault(name, {}).update(values)
    return merged, creds


def has_keys(values: dict[str, str]) -> bool:
    return bool(values.get("aws_access_key_id") and values.get("aws_secret_access_key"))


# Kinds, as aws/files.py's Kind names them; UNKNOWN: what only the full parser can tell.
USER, ROLE, SESSION, OTHER, UNKNOWN = "user", "role", "session", "other", "unknown"
# As aws/files.py's own_command reads a credential_process that runs mfa-tui.
_OWN_PROGRAMS = ("mfa-tui", "mfa-tui.exe")
_KEYS_COMMAND = ["keys", "credential-process"]


class CannotJudge(Exception):
    """A profile on the way is one only the full parser can classify."""


def kind(values: dict[str, str]) -> str:
    """A profile's kind by aws/files.py's `classify` (every unmanaged kind is OTHER).

    A `credential_process` is judged here only when the answer needs nothing but this
    profile: mfa-tui's own keyring command (a user) or session command (not one), or
    any other process beside an `mfa_serial` (a user). A process without a device may
    still be a user (a role with a device assumed from it makes it one), and whether
    keys beside a process win depends on the file they are in: UNKNOWN.
    """
    if OWNER_KEY in values:
        return SESSION
    if values.get("role_arn"):
        if values.get("source_profile") or values.get("credential_source"):
            return ROLE
        return OTHER
    if values.get("sso_session") or values.get("sso_start_url") or values.get("sso_account_id"):
        return OTHER
    process = values.get("credential_process")
    if process:
        if has_keys(values):
            return UNKNOWN
        if "mfa-tui" in process:
            if any(c in process for c in "\"'"):
                return UNKNOWN  # a shell-style split: the full parser's
            words = process.split()
            program = words[0].rsplit("/", 1)[-1] if words else ""
            if program in _OWN_PROGRAMS:
                if len(words) == 4 and words[1:3] == _KEYS_COMMAND:
                    return USER
                if len(words) == 3 and words[1] == "credential-process":
                    return OTHER
        return USER if values.get("mfa_serial") else UNKNOWN
    if has_keys(values):
        if values.get("aws_session_token") or values.get("aws_security_token"):
            return OTHER
        return USER
    return OTHER


def user_of(profiles: Profiles, name: str) -> str | None:
    """The user at the end of `name`'s chain (`name` itself for a user), by the rules of
    aws/files.py's `_resolve_chains`; None for a profile mfa-tui does not manage.

    Raises:
        CannotJudge: a profile on the chain is UNKNOWN here.
    """
    values = profiles.get(name)
    if values is None:
        return None
    own = kind(values)
    if own == UNKNOWN:
        raise CannotJudge(name)
    if own == USER:
        return name
    if own != ROLE:
        return None
    chain = [name]
    current, current_name = values, name
    while True:
        source_name = current.get("source_profile")
        if not source_name:
            return None  # a credential_source: the chain ends outside the files
        if source_name == current_name and has_keys(current):
            return None  # assumes its role with its own keys
        source = profiles.get(source_name)
        if source_name in chain or source is None:
            return None
        chain.append(source_name)
        source_kind = kind(source)
        if source_kind == UNKNOWN:
            raise CannotJudge(source_name)
        if source_kind == ROLE and not has_keys(source):
            current, current_name = source, source_name
            continue
        return source_name if source_kind == USER else None


def exists() -> bool:
    """Whether these rules apply on this system at all (see locations.py)."""
    return locations.SYSTEM is not None and not os.environ.get("MFA_TUI_NO_FASTPATH")
