"""The refresh policy: what is due, one at a time, backoff, waiting for a person."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mfa_tui.aws.files import Kind, State
from mfa_tui.core.refresh_policy import Outcome, RefreshPolicy, backoff_delay
from mfa_tui.core.status import ProfileStatus
from mfa_tui.settings import Settings

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def status(
    name: str,
    left: float | None,
    *,
    kind: Kind = Kind.ROLE,
    margin: int = 300,
    managed: bool = True,
) -> ProfileStatus:
    return ProfileStatus(
        name=name,
        kind=kind,
        mfa_serial=None,
        source_profile=None,
        role_arn=None,
        session_profile=f"{name}-mfa",
        expires_at=None if left is None else NOW + timedelta(seconds=left),
        state=State.VALID,
        refresh_margin=margin,
        managed=managed,
        reason=None,
        chain=(),
        region=None,
        refreshed_at=None,
        active=False,
    )


def test_due_means_managed_auto_with_a_session_inside_the_margin() -> None:
    policy = RefreshPolicy()
    settings = Settings().with_profile("off", auto_refresh=False)
    statuses = [
        status("fresh", 3000),
        status("inside", 299),
        status("expired", -50),
        status("never", None),
        status("off", 10),
        status("sso", 10, managed=False),
    ]
    assert policy.due(statuses, settings, NOW, 0) == ["expired", "inside"]


def test_global_auto_refresh_off_stops_all_but_a_profile_switched_on() -> None:
    settings = Settings(auto_refresh=False).with_profile("on", auto_refresh=True)
    assert RefreshPolicy().due([status("a", 1), status("on", 1)], settings, NOW, 0) == ["on"]


def test_users_before_roles_on_a_tie() -> None:
    statuses = [status("role", 100), status("user", 100, kind=Kind.USER, margin=600)]
    assert RefreshPolicy().due(statuses, Settings(), NOW, 0) == ["user", "role"]


def test_in_flight_is_never_due_twice() -> None:
    policy = RefreshPolicy()
    s = status("r", 10)
    assert policy.started("r")
    assert not policy.started("r")
    assert policy.due([s], Settings(), NOW, 0) == []
    policy.finished("r", Outcome.OK, mono=0)
    assert policy.due([s], Settings(), NOW, 0) == ["r"]


def test_failures_back_off_exponentially_and_reset_on_success() -> None:
    assert [backoff_delay(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    policy = RefreshPolicy()
    s = status("r", 10)
    policy.started("r")
    policy.finished("r", Outcome.FAILED, mono=100, expires_at=s.expires_at, error="boom")
    assert policy.due([s], Settings(), NOW, 129) == []
    assert policy.due([s], Settings(), NOW, 130) == ["r"]
    assert policy.next_wake([s], Settings(), NOW, 110) == 20
    policy.started("r")
    backoff = policy.finished("r", Outcome.FAILED, mono=130, expires_at=s.expires_at, error="x")
    assert backoff is not None and backoff.failures == 2 and backoff.retry_at == 190
    policy.started("r")
    assert policy.finished("r", Outcome.OK, mono=190) is None
    assert policy.backoff("r") is None


def test_a_session_changed_elsewhere_ends_the_backoff() -> None:
    policy = RefreshPolicy()
    s = status("r", 10)
    policy.started("r")
    policy.finished("r", Outcome.FAILED, mono=0, expires_at=s.expires_at, error="x")
    moved = replace(s, expires_at=NOW + timedelta(seconds=20))
    assert policy.due([moved], Settings(), NOW, 1) == ["r"]


def test_needs_code_waits_for_the_person() -> None:
    policy = RefreshPolicy()
    s = status("u", 10, kind=Kind.USER, margin=600)
    policy.started("u")
    policy.finished("u", Outcome.NEEDS_CODE, mono=0, expires_at=s.expires_at, error="code")
    assert policy.due([s], Settings(), NOW, 10_000) == []
    assert policy.next_wake([s], Settings(), NOW, 0) is None
    policy.forget("u")
    assert policy.due([s], Settings(), NOW, 0) == ["u"]


def test_next_wake_is_the_soonest_margin() -> None:
    statuses = [status("a", 1000), status("b", 400), status("none", None)]
    assert RefreshPolicy().next_wake(statuses, Settings(), NOW, 0) == 100
