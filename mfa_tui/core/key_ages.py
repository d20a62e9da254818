"""How old each user's access key is, for `list` and the dashboard.

IAM's ListAccessKeys says when a key was made. It needs IAM, and MFA where the user's
policy requires it (method 1), so ages are fetched in the background, only with a user
session that already exists (nobody is asked for a code to learn an age), and kept in
`key_ages.json` in the state folder: profile -> key id, IAM user, when the key was
made. No secret: an access key id names a key, it does not open anything. `list` reads
the file and makes no AWS call. A key is due for rotation from `ROTATE_AFTER_DAYS`
days (AWS Security Hub's control IAM.3).

A key's creation date never changes, so each key is looked up once; a rotated or
re-imported key has another id, and its age is looked up anew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mfa_tui import locations
from mfa_tui.aws.files import KeySource, Profile, format_expiration, parse_expiration
from mfa_tui.errors import MfaTuiError, NetworkError
from mfa_tui.listing import AGES_FILE, ROTATE_AFTER_DAYS

# Not typing.TYPE_CHECKING: `list` reads ages, and importing typing would cost it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from mfa_tui.core.sessions import SessionService

__all__ = ["AGES_FILE", "ROTATE_AFTER_DAYS", "KeyAge", "fetch_key_ages", "read_key_ages"]


@dataclass(frozen=True)
class KeyAge:
    """When the access key `key_id` (of IAM user `user`) was made."""

    key_id: str
    created: datetime
    user: str = ""


def ages_path() -> Path:
    known = locations.state_file(AGES_FILE)  # Linux, macOS: without platformdirs
    if known is not None:
        return Path(known)
    from mfa_tui.core.state_file import state_path

    return state_path(AGES_FILE)


def read_key_ages(path: Path | None = None) -> dict[str, KeyAge]:
    """Profile -> the age of its key, as last fetched; {} when nothing was.

    Cheap when there is no file (`list` runs this every time): json is imported only
    when there is one to read.
    """
    from mfa_tui import private_files

    try:
        # Only a file of ours that nobody else could have written (see private_files).
        raw = private_files.read_private(str(path or ages_path()), 1024 * 1024)
    except OSError:
        return {}
    if raw is None:
        return {}
    from mfa_tui.core.state_file import JsonState

    ages: dict[str, KeyAge] = {}
    for name, value in JsonState(path or ages_path(), ("profiles",)).parse(raw)["profiles"].items():
        if not isinstance(value, dict):
            continue
        created = parse_expiration(str(value.get("created", "")))
        key_id = value.get("key_id")
        if created is not None and isinstance(key_id, str) and key_id:
            ages[name] = KeyAge(key_id, created, str(value.get("user", "")))
    return ages


def record_key_age(profile: str, age: KeyAge, path: Path | None = None) -> None:
    """Remember when `profile`'s key was made (replacing what was known of it)."""
    from mfa_tui.core.state_file import JsonState

    entry = {"key_id": age.key_id, "created": format_expiration(age.created), "user": age.user}

    def change(data: dict[str, object]) -> bool:
        profiles = data["profiles"]
        assert isinstance(profiles, dict)
        if profiles.get(profile) == entry:
            return False
        profiles[profile] = entry
        return True

    JsonState(path or ages_path(), ("profiles",), "the ages of access keys").update(change)


def key_created(profile: Profile, ages: Mapping[str, KeyAge]) -> datetime | None:
    """When the key `profile` uses now was made, if that is known.

    For keys in the files the recorded id must be the one the files hold (a key changed
    by hand is not the one that was looked up); a keyring entry changes only through
    mfa-tui, which records the new key; a credential_process's keys are its tool's.
    """
    age = ages.get(profile.name)
    if age is None or profile.key_source not in (KeySource.FILE, KeySource.KEYRING):
        return None
    if (
        profile.key_source is KeySource.FILE
        and profile.values.get("aws_access_key_id") != age.key_id
    ):
        return None
    return age.created


def rotate_due(created: datetime | None, now: datetime) -> bool:
    return created is not None and (now - created).days >= ROTATE_AFTER_DAYS


def age_words(created: datetime, now: datetime) -> str:
    """e.g. "made 2026-08-01, 121 days ago"."""
    days = max(0, (now - created).days)
    when = created.astimezone(UTC).strftime("%Y-%m-%d")
    return f"made {when}, {days} day{'s' if days != 1 else ''} ago"


def fetch_key_ages(
    service: SessionService, names: Iterable[str], path: Path | None = None
) -> dict[str, KeyAge | MfaTuiError]:
    """Look up the age of each user's key that is not known yet, with its stored session.

    Users without a valid stored session, or whose keys come from a credential_process
    (its tool keeps them, and running it in the background could prompt someone), are
    left out: nothing here asks for a code or a password. Each found age is recorded.

    Returns:
        profile -> its key's age, or the error that stopped the look-up (a denied
        ListAccessKeys, the network), for the faces to say once.
    """
    from mfa_tui.aws import iam
    from mfa_tui.aws.connection import connection_for

    known = read_key_ages(path)
    found: dict[str, KeyAge | MfaTuiError] = {}
    for name in names:
        profile = service.profile_set.get(name)
        if profile is None or profile.key_source not in (KeySource.FILE, KeySource.KEYRING):
            continue
        if key_created(profile, known) is not None and profile.key_source is KeySource.FILE:
            continue
        session = service.credentials(name)
        if session is None:
            continue
        try:
            keys = service.devices.long_term_keys(profile)
            age = known.get(name)
            if age is not None and age.key_id == keys.access_key_id:
                continue
            # The files as the service read them: not a parse per user and call.
            connection = connection_for(service.profile_set, name)
            user = iam.caller(name, keys, connection=connection)
            listed = iam.access_keys(name, session.signing(), user, connection=connection)
        except NetworkError as exc:
            # Every other user would fail the same way, each after its own timeout:
            # say it once; the next look-up (next start, next change) tries again.
            found[name] = exc
            break
        except MfaTuiError as exc:
            found[name] = exc
            continue
        mine = next((k for k in listed if k.key_id == keys.access_key_id), None)
        if mine is None or mine.created is None:
            continue
        age = KeyAge(mine.key_id, mine.created, user.name)
        record_key_age(name, age, path)
        found[name] = age
    return found
