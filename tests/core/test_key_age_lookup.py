"""Key ages looked up for many users at once: the files read once, a dead network said once.

Before: each user's look-up parsed both AWS files twice (one parse per IAM call, to find
the profile's endpoint), and a dead network was tried user after user. At 5,000 profiles
(1,250 users with sessions) the dashboard spent minutes at 100 % of a core after its
start, its memory growing, before it was idle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mfa_tui.aws import sts
from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import KeySource, format_expiration
from mfa_tui.clock import FrozenClock
from mfa_tui.core.key_ages import KeyAge, fetch_key_ages, read_key_ages
from mfa_tui.core.sessions import SessionService
from mfa_tui.errors import NetworkError
from mfa_tui.settings import Settings
from tests import stsfault
from tests.moto_fixtures import Sandbox


def users_with_sessions(sandbox: Sandbox, clock: FrozenClock) -> SessionService:
    """A service whose every file-keyed user holds a (stored) MFA session."""
    service = SessionService(sandbox.paths, Settings(), clock, used_codes=None)
    users = sorted(
        name
        for name, profile in service.profile_set.profiles.items()
        if profile.key_source is KeySource.FILE
    )
    assert len(users) >= 2, users
    for name in users:
        write_section(
            sandbox.paths.credentials,
            f"{name}-mfa",
            {
                "aws_access_key_id": f"ASIA{name.upper().replace('-', '')}",
                "aws_secret_access_key": "session-secret",
                "aws_session_token": "session-token",
                "expiration": format_expiration(clock.now() + timedelta(hours=8)),
                OWNER_KEY: name,
            },
        )
    return SessionService(sandbox.paths, Settings(), clock, used_codes=None)


def with_sessions(service: SessionService) -> list[str]:
    return sorted(
        name
        for name, profile in service.profile_set.profiles.items()
        if profile.key_source is KeySource.FILE and service.credentials(name) is not None
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def test_every_users_age_is_found_without_reading_the_files_again(
    sandbox: Sandbox, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = users_with_sessions(sandbox, clock)
    users = with_sessions(service)
    reads: list[int] = []
    monkeypatch.setattr(sts, "load_profiles", lambda *a, **k: reads.append(1))
    found = fetch_key_ages(service, users, tmp_path / "key_ages.json")
    assert reads == [], "the service's files are used, not parsed again per call"
    assert sorted(found) == users
    stored = read_key_ages(tmp_path / "key_ages.json")
    for name in users:
        age = found[name]
        assert isinstance(age, KeyAge), age
        keys = service.devices.long_term_keys(service.profile_set.profiles[name])
        assert age.key_id == keys.access_key_id
        assert stored[name].key_id == age.key_id  # kept to the second
        assert stored[name].created == age.created.replace(microsecond=0)


def test_a_dead_network_is_tried_once_and_said_once(
    sandbox: Sandbox, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = users_with_sessions(sandbox, clock)
    users = with_sessions(service)
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "1")
    sandbox.fault.always = stsfault.disconnect()
    found = fetch_key_ages(service, users, tmp_path / "key_ages.json")
    assert len(found) == 1, found
    (why,) = found.values()
    assert isinstance(why, NetworkError)
    assert len(sandbox.fault.requests) == 1, "one user tried, not every one"
    assert read_key_ages(tmp_path / "key_ages.json") == {}
