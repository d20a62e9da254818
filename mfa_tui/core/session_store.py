"""Reading a stored session straight from the parsed files.

Kept apart from `sessions.py` so the cached `credential-process` and `export` paths
import neither boto3 nor keyring: a stored session is just four keys in a section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mfa_tui.aws.files import Kind, ProfileSet, format_expiration, parse_expiration
from mfa_tui.settings import Settings


@dataclass(frozen=True)
class StoredSession:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    # When mfa-tui wrote it (mfa_tui_refreshed), if it says.
    refreshed_at: datetime | None = None

    def length(self) -> float | None:
        """How long this session was given for, in seconds, when known."""
        if self.refreshed_at is None:
            return None
        return (self.expiration - self.refreshed_at).total_seconds()

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.expiration - (now or datetime.now(UTC))).total_seconds()

    def to_process_json(self) -> dict[str, Any]:
        return {
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": format_expiration(self.expiration),
        }


def session_from_values(values: dict[str, str]) -> StoredSession | None:
    key = values.get("aws_access_key_id")
    secret = values.get("aws_secret_access_key")
    token = values.get("aws_session_token")
    expiration = parse_expiration(values.get("expiration"))
    if not (key and secret and token and expiration):
        return None
    refreshed = parse_expiration(values.get("mfa_tui_refreshed"))
    return StoredSession(key, secret, token, expiration, refreshed)


def stored_session(
    profile_set: ProfileSet, settings: Settings, name: str, now: datetime | None = None
) -> StoredSession | None:
    """`name`'s unexpired session: its session profile's, or its own if it is a session."""
    profile = profile_set.get(name)
    if profile is not None and profile.kind is Kind.SESSION:
        values: dict[str, str] | None = profile.values
    else:
        session = profile_set.get(settings.session_profile_for(name))
        values = session.values if session is not None and session.kind is Kind.SESSION else None
    if values is None:
        return None
    stored = session_from_values(values)
    if stored is None or stored.seconds_left(now) <= 0:
        return None
    return stored
