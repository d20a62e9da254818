"""What `mfa-tui exec` serves: a request never waits for a person, the keeper asks one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import format_expiration
from mfa_tui.clock import FrozenClock
from mfa_tui.core.asking import Asker, PromptAsker
from mfa_tui.core.keeper import KEEP_AHEAD, SessionKeeper
from mfa_tui.core.sessions import SessionService
from mfa_tui.errors import CodeRequest, NeedsCodeError
from mfa_tui.settings import Settings
from tests.moto_fixtures import Sandbox


@pytest.fixture
def clock() -> FrozenClock:
    # moto stamps real expiry times: the frozen clock starts at the real now.
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def service(sandbox: Sandbox, clock: FrozenClock) -> SessionService:
    return SessionService(sandbox.paths, Settings(), clock, used_codes=None)


def role_session(sandbox: Sandbox, clock: FrozenClock, minutes: float, key: str) -> None:
    write_section(
        sandbox.paths.credentials,
        "my-test-role-mfa",
        {
            "aws_access_key_id": key,
            "aws_secret_access_key": "stored-secret",
            "aws_session_token": "stored-token",
            "expiration": format_expiration(clock.now() + timedelta(minutes=minutes)),
            OWNER_KEY: "my-test-role",
        },
    )


def user_session(sandbox: Sandbox, clock: FrozenClock) -> None:
    service(sandbox, clock).refresh("test-user", code="123456")


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)


def test_a_request_is_served_the_stored_session_with_no_call(
    sandbox: Sandbox, clock: FrozenClock
) -> None:
    role_session(sandbox, clock, 50, "ASIASTORED")
    keeper = SessionKeeper(service(sandbox, clock), "my-test-role", Asker(), Lines())
    assert keeper.answer().access_key_id == "ASIASTORED"
    assert sandbox.fault.actions() == []


def test_a_request_renews_a_short_role_session_from_its_user_silently(
    sandbox: Sandbox, clock: FrozenClock
) -> None:
    user_session(sandbox, clock)
    role_session(sandbox, clock, 14, "ASIASHORT")
    keeper = SessionKeeper(service(sandbox, clock), "my-test-role", Asker(), Lines())
    fresh = keeper.answer()
    assert fresh.access_key_id != "ASIASHORT"
    assert fresh.seconds_left(clock.now()) > 50 * 60
    assert sandbox.fault.actions().count("AssumeRole") == 1


def test_a_request_that_needs_a_code_gets_the_stored_session_and_wakes_the_keeper(
    sandbox: Sandbox, clock: FrozenClock
) -> None:
    role_session(sandbox, clock, 12, "ASIASTALE")
    asked: list[CodeRequest] = []

    def person(request: CodeRequest) -> str | None:
        asked.append(request)
        return None

    keeper = SessionKeeper(service(sandbox, clock), "my-test-role", PromptAsker(person), Lines())
    assert keeper.answer().access_key_id == "ASIASTALE"
    assert asked == [], "a request never asks a person"
    assert keeper._wake.is_set()
    assert sandbox.fault.actions() == []


def test_with_nothing_stored_and_nobody_asked_a_request_fails_in_words(
    sandbox: Sandbox, clock: FrozenClock
) -> None:
    keeper = SessionKeeper(service(sandbox, clock), "my-test-role", Asker(), Lines())
    with pytest.raises(NeedsCodeError, match=sandbox.test_user.mfa_serial):
        keeper.answer()


def test_the_keeper_looks_ahead_and_renews_while_time_is_left(
    sandbox: Sandbox, clock: FrozenClock
) -> None:
    user_session(sandbox, clock)
    role_session(sandbox, clock, KEEP_AHEAD / 60 + 5, "ASIAPLENTY")
    keeper = SessionKeeper(service(sandbox, clock), "my-test-role", Asker(), Lines())
    assert keeper.look()
    assert keeper.answer().access_key_id == "ASIAPLENTY"
    assert sandbox.fault.actions().count("AssumeRole") == 0
    clock.advance(10 * 60)  # now inside KEEP_AHEAD, still far from the SDK's 15 minutes
    assert keeper.look()
    assert keeper.answer().access_key_id != "ASIAPLENTY"
    assert sandbox.fault.actions().count("AssumeRole") == 1


def test_the_keeper_says_once_why_it_cannot_renew_and_when_it_could(
    sandbox: Sandbox, clock: FrozenClock
) -> None:
    role_session(sandbox, clock, 20, "ASIAOLD")
    lines = Lines()
    typed: list[str | None] = [None]
    keeper = SessionKeeper(
        service(sandbox, clock), "my-test-role", PromptAsker(lambda r: typed[0]), lines
    )
    assert not keeper.look()
    assert not keeper.look()
    assert len(lines.lines) == 1
    assert lines.lines[0].startswith("cannot renew my-test-role's session yet: ")
    assert sandbox.test_user.mfa_serial in lines.lines[0]
    typed[0] = "123456"
    assert keeper.look()
    assert lines.lines[1].startswith("my-test-role's session renewed (")
    assert keeper.answer().access_key_id != "ASIAOLD"


def test_a_request_while_the_keeper_waits_for_a_person_is_answered_at_once(
    sandbox: Sandbox, clock: FrozenClock
) -> None:
    role_session(sandbox, clock, 12, "ASIASTALE")
    asked, release = threading.Event(), threading.Event()

    def person(request: CodeRequest) -> str:
        asked.set()
        assert release.wait(60)
        return "123456"

    keeper = SessionKeeper(service(sandbox, clock), "my-test-role", PromptAsker(person), Lines())
    looking = threading.Thread(target=keeper.look)
    looking.start()
    try:
        assert asked.wait(30), "the keeper did not ask"
        # The keeper holds the profile's lock while the person types: a request must
        # not wait behind that (botocore gives it 2 seconds).
        answers: list[str] = []
        request = threading.Thread(target=lambda: answers.append(keeper.answer().access_key_id))
        request.start()
        request.join(timeout=30)
        assert not request.is_alive(), "the request waited for the person"
        assert answers == ["ASIASTALE"]
    finally:
        release.set()
        looking.join(timeout=60)
    fresh = keeper.answer()
    assert fresh.access_key_id not in ("ASIASTALE", "")
    assert sandbox.fault.actions().count("GetSessionToken") == 1
