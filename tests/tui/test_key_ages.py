"""The dashboard's word on access keys: where each user's come from, how old they are (a
line in the detail pane), and "rotate" on the row from 90 days; ages looked up in the
background, only for users with a session, each once."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text

from mfa_tui.clock import FrozenClock
from mfa_tui.core.key_ages import KeyAge, record_key_age
from mfa_tui.errors import AwsRefusedError
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.widgets.detail_pane import DetailPane
from tests.tui.fakes import FakeBackend
from tests.tui.test_app import give_user_session, make_app, settle, wait_for

USER_KEY = "AKIAEXAMPLEUSER0001"  # tests/tui/fakes.py's test-user


def shown(app: MfaTuiApp) -> str:
    content = app.query_one(DetailPane).content
    assert isinstance(content, Text)
    return " ".join(content.plain.split())  # labels are padded to one width


def note(app: MfaTuiApp, name: str) -> str:
    return app.table.cell_text(name, "note")


async def test_an_old_key_says_rotate_on_its_row_and_in_the_detail_pane(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    record_key_age("test-user", KeyAge(USER_KEY, clock.now() - timedelta(days=121), "test-user"))
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        assert note(app, "test-user") == "rotate: the access key is 121 days old"
        assert note(app, "my-test-role") == ""
        assert app.table.select("test-user")
        await pilot.pause()
        assert (
            "Access key in the credentials file · made 2025-09-02, 121 days ago: rotate it "
            "('mfa-tui keys rotate test-user')"
        ) in shown(app)
        assert USER_KEY not in shown(app)
        # A role's keys are its user's: no line of its own.
        assert app.table.select("my-test-role")
        await pilot.pause()
        assert "Access key" not in shown(app)


async def test_a_young_key_has_its_age_and_no_note(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    record_key_age("test-user", KeyAge(USER_KEY, clock.now() - timedelta(days=89), "test-user"))
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        assert note(app, "test-user") == ""
        app.table.select("test-user")
        await pilot.pause()
        assert "Access key in the credentials file · made 2025-10-04, 89 days ago" in shown(app)
        assert "rotate" not in shown(app)


async def test_a_key_changed_by_hand_is_not_given_the_old_ones_age(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    record_key_age("test-user", KeyAge("AKIAREPLACED", clock.now() - timedelta(days=300)))
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        assert note(app, "test-user") == ""
        app.table.select("test-user")
        await pilot.pause()
        assert "Access key in the credentials file" in shown(app) and "days" not in shown(app)


async def test_ages_are_looked_up_in_the_background_with_a_session_that_exists(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    backend.ages["test-user"] = KeyAge(USER_KEY, clock.now() - timedelta(days=95), "test-user")
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        await wait_for(pilot, lambda: note(app, "test-user").startswith("rotate"))
        assert note(app, "test-user") == "rotate: the access key is 95 days old"
        await settle(app, pilot)
        # Asked once; a reload does not ask again, and no code was asked for it.
        assert backend.ages_asked == ["test-user"]


async def test_no_session_no_look_up(backend: FakeBackend, clock: FrozenClock) -> None:
    backend.ages["test-user"] = KeyAge(USER_KEY, clock.now() - timedelta(days=95), "test-user")
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        app.dashboard.poll_files()
        await settle(app, pilot)
        assert backend.ages_asked == [] and note(app, "test-user") == ""


async def test_a_refused_look_up_is_logged_once(backend: FakeBackend, clock: FrozenClock) -> None:
    give_user_session(backend)
    backend.ages["test-user"] = AwsRefusedError(
        "AWS denied ListAccessKeys to profile 'test-user'", code="AccessDenied"
    )
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        wanted = "the age of test-user's access key is unknown: AWS denied ListAccessKeys"

        def logged() -> list[str]:
            return [line for line in app.event_log.lines_written if wanted in line]

        await wait_for(pilot, lambda: bool(logged()))
        app.dashboard.poll_files()
        await settle(app, pilot)
        assert len(logged()) == 1 and backend.ages_asked == ["test-user"]
