"""Knowing where you stand: who you are, what happens at expiry, who needs a code, and
messages that say what is really going on. The fake engine on the sample files; the
clock is frozen and moved by the tests, the tick driven by hand."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets._toast import Toast

from mfa_tui.clock import FrozenClock
from mfa_tui.errors import SeedRefusedError
from mfa_tui.settings import load_settings
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.screens.mfa_prompt import MfaPrompt
from mfa_tui.tui.widgets.detail_pane import detail_lines
from mfa_tui.tui.widgets.status_header import StatusHeader
from tests.tui.fakes import ACCOUNT, SERIAL, FakeBackend

SLOW = 10_000.0
SECOND_SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/ops-user-phone"


def make_app(backend: FakeBackend, clock: FrozenClock, **kwargs: object) -> MfaTuiApp:
    return MfaTuiApp(backend, clock=clock, tick_seconds=SLOW, **kwargs)  # type: ignore[arg-type]


async def settle(app: MfaTuiApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await app.workers_settled()
        await pilot.pause()


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Let the app run until `condition` holds; the bound only stops a hang."""
    for _ in range(2000):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the condition never held")


def header(app: MfaTuiApp, clock: FrozenClock) -> str:
    return app.query_one(StatusHeader).plain(clock.now())


def details(app: MfaTuiApp, clock: FrozenClock) -> dict[str, str]:
    row = app.table.selected
    assert row is not None
    return dict(detail_lines(row, clock.now()))


def add_second_user(backend: FakeBackend) -> None:
    """`ops-user`: another IAM user with its own device (and no seed)."""
    config = backend.paths.config
    config.write_text(
        config.read_text()
        + f"\n[profile ops-user]\nregion = eu-west-1\nmfa_serial = {SECOND_SERIAL}\n"
    )
    credentials = backend.paths.credentials
    credentials.write_text(
        credentials.read_text()
        + "\n[ops-user]\naws_access_key_id = AKIAEXAMPLEUSER0002\naws_secret_access_key = x\n"
    )


async def test_the_header_and_details_say_who_you_are(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.refresh("test-user", code="123456")
    backend.aliases = {ACCOUNT: "acme-prod"}
    app = make_app(backend, clock)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        app.table.select("admin")
        await pilot.press("enter")
        await settle(app, pilot)
        top = header(app, clock)
        assert "active: admin → mfa-tui 01:00:00" in top
        assert f"{ACCOUNT} acme-prod" in top
        assert "role admin as mfa-tui-test-user" in top
        assert "user test-user" in top
        said = details(app, clock)
        assert said["Account"] == f"{ACCOUNT} acme-prod"
        assert said["Role"] == "admin"
        assert said["Session name"] == "mfa-tui-test-user"
        assert said["User"] == "test-user"
        assert app.table.cell_text("admin", "account") == f"{ACCOUNT} acme-prod"
        # The alias was asked once, in the background, for the account with a session.
        assert backend.alias_calls == [frozenset({ACCOUNT})]


async def test_what_happens_at_expiry_is_said_in_words(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.refresh("test-user", code="123456")  # until 00:00; its margin starts at 23:50
    backend.refresh("my-test-role")  # until 13:00, refreshed from the user at 12:55
    app = make_app(backend, clock)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        # No seed, no code_command: the user needs a person at 23:50, not "auto-refresh on".
        assert app.table.cell_text("test-user", "then") == "code at 23:50"
        app.table.select("test-user")
        await pilot.pause()
        assert details(app, clock)["At expiry"].startswith("needs a code at 23:50")
        # A role says it goes on by itself until its user's session ends.
        assert app.table.cell_text("my-test-role", "then") == "auto 12:55"
        app.table.select("my-test-role")
        await pilot.pause()
        said = details(app, clock)["At expiry"]
        assert "from test-user's session, which ends at Fri 00:00; then it needs a code" in said
        # Auto-refresh off is visible in the row.
        await pilot.press("a")
        await settle(app, pilot)
        assert app.table.cell_text("my-test-role", "then") == "auto off"
    backend.seeded.add(SERIAL)
    seeded = make_app(backend, clock)
    async with seeded.run_test(size=(200, 40)) as pilot:
        await settle(seeded, pilot)
        assert seeded.table.cell_text("test-user", "then") == "auto 23:50"


async def test_pending_codes_get_a_badge_a_jump_key_and_desktop_notifications(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.refresh("test-user", code="123456")
    sent: list[tuple[str, str]] = []
    app = make_app(backend, clock, notifier=lambda title, body: sent.append((title, body)))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        assert "code needed" not in header(app, clock)
        await pilot.press("slash", *"sso")  # a filter that hides test-user
        clock.advance(43_200 - 500)  # the user's session is inside its margin
        app.dashboard.tick()
        await settle(app, pilot)
        assert "code needed: test-user (n)" in header(app, clock)
        assert len(sent) == 1 and "test-user" in sent[0][1]
        await pilot.press("escape", "slash", *"sso", "enter")
        await pilot.press("n")  # jumps to it, clearing the filter that hid it
        assert app.dashboard.filter_text == ""
        assert app.table.selected_name == "test-user"
        await pilot.press("enter")
        await settle(app, pilot)  # the worker asks; the prompt opens
        assert isinstance(app.screen, MfaPrompt)
        await pilot.press(*"123456")
        await settle(app, pilot)
        assert "code needed" not in header(app, clock)
        assert len(sent) == 1


@pytest.mark.parametrize("both", [True, False], ids=["user-and-role", "role-only"])
async def test_a_session_made_elsewhere_ends_the_wait_for_a_code(
    backend: FakeBackend, clock: FrozenClock, both: bool
) -> None:
    # Seen in the demo: the prompt for test-user cancelled in the dashboard, then
    # `mfa-tui use test-user --code ...` in a shell; the row showed a 12-hour session
    # and still "needs code", and the header still asked for a code.
    # The same for a role waiting for its user's code: it goes on once the user's
    # session exists (with or without the user waiting itself).
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        for name in ("my-test-role", "test-user") if both else ("my-test-role",):
            app.table.select(name)
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, MfaPrompt)
            await pilot.press("escape")
            await settle(app, pilot)
            assert app.table.cell_text(name, "state") == "needs code"
        assert "code needed: test-user" in header(app, clock)
        backend.refresh("test-user", code="123456")  # another program's session
        app.dashboard.poll_files()
        await settle(app, pilot)
        assert app.table.cell_text("test-user", "left") == "12:00:00"
        assert app.table.cell_text("test-user", "state") == ""
        assert app.table.cell_text("my-test-role", "state") != "needs code"
        assert "my-test-role" not in app.dashboard.refreshes.waiting
        assert "code needed" not in header(app, clock)
        assert app.dashboard.refreshes.waiting == {}


async def test_desktop_notifications_can_be_turned_off(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.settings_file.parent.mkdir(parents=True, exist_ok=True)
    backend.settings_file.write_text("desktop_notifications = false\n")
    backend.refresh("test-user", code="123456")
    sent: list[tuple[str, str]] = []
    app = make_app(backend, clock, notifier=lambda title, body: sent.append((title, body)))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        clock.advance(43_200 - 500)
        app.dashboard.tick()
        await settle(app, pilot)
        assert "code needed: test-user" in header(app, clock)
        assert sent == []


async def test_shift_r_offers_the_prompts_one_after_another(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    add_second_user(backend)
    backend.refresh("test-user", code="123456")
    backend.refresh("ops-user", code="123456")
    backend.refresh("my-test-role")
    backend.calls.clear()
    app = MfaTuiApp(backend, clock=clock, tick_seconds=SLOW, background_refresh=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        clock.advance(43_200 - 300)  # both users (and the role) are inside their margins
        app.dashboard.tick()
        await pilot.press("R")
        await settle(app, pilot)
        asked: list[str] = []
        for _ in range(2):
            prompt = app.screen
            assert isinstance(prompt, MfaPrompt)
            asked.append(prompt.wanted.user)
            await pilot.press(*"123456")
            await settle(app, pilot)
        assert sorted(asked) == ["ops-user", "test-user"]
        assert not isinstance(app.screen, MfaPrompt)
        refreshed = {c.profile for c in backend.calls}
        assert {"test-user", "ops-user", "my-test-role"} <= refreshed


@pytest.mark.parametrize("size", [(120, 30), (80, 24)])
async def test_toasts_never_cover_the_newest_log_lines(
    backend: FakeBackend, clock: FrozenClock, size: tuple[int, int]
) -> None:
    # More toasts than fit above the log: at 80x24 the third once sat on it, at 120x30
    # the fifth. The stack ends above the log and shows its newest toast.

    app = make_app(backend, clock)
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(app, pilot)
        if not app.event_log.display:
            await pilot.press("l")  # opened by itself only on a wide terminal
        await settle(app, pilot)
        assert app.event_log.display
        for i in range(6):
            app.notify(f"toast {i} " + "with words " * 6, timeout=30)
        await until(pilot, lambda: len(app.screen.query(Toast)) == 6)
        await settle(app, pilot)
        log = app.event_log.region
        newest = list(app.screen.query(Toast))[-1]
        assert "toast 5" in str(newest.render())

        def shown_whole() -> bool:
            geometry = app.screen.find_widget(newest)
            return geometry.visible_region == geometry.region

        await until(pilot, shown_whole)
        for toast in app.screen.query(Toast):
            drawn = app.screen.find_widget(toast).visible_region
            assert not drawn.area or not drawn.overlaps(log), (drawn, log)
        # The room above the log is filled: older toasts made way only as needed.
        assert len(app.screen.query(Toast)) >= (2 if size[1] < 30 else 4)


async def test_a_seed_aws_keeps_refusing_loses_its_mark_and_its_warning_stays(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.refresh("test-user", code="123456")
    backend.seeded.add(SERIAL)
    app = make_app(backend, clock)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        assert "+totp" in app.table.cell_text("test-user", "mfa")
        assert app.table.cell_text("test-user", "then") == "auto 23:50"
        backend.fail_with = SeedRefusedError("two codes from the seed refused", mfa_serial=SERIAL)
        app.table.select("test-user")
        await pilot.press("r")
        await settle(app, pilot)
        assert "+totp" not in app.table.cell_text("test-user", "mfa")
        assert "seed refused" in app.table.cell_text("test-user", "mfa")
        assert app.table.cell_text("test-user", "then").startswith("code at")
        # Other results come and go; the warning stays while the seed is the refused one.
        backend.fail_with = None
        app.dashboard.refreshes.errors.clear()
        app.dashboard.update_rows()
        assert "press t to store the right one" in app.table.cell_text("test-user", "note")
        # A new seed fixes it.
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        app.screen.query_one("#save").focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert "+totp" in app.table.cell_text("test-user", "mfa")
        assert "press t" not in app.table.cell_text("test-user", "note")


async def test_a_wait_for_the_next_code_step_is_shown_with_its_seconds(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.seeded.add(SERIAL)
    released = threading.Event()
    backend.step_wait = (17.0, released)
    app = make_app(backend, clock)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        app.table.select("test-user")
        await pilot.press("r")
        # The worker waits on `released`; what it said about the wait has arrived.
        await until(pilot, lambda: app.table.cell_text("test-user", "state") != "refreshing…")
        assert app.table.cell_text("test-user", "state") == "code in 17s"
        clock.advance(5)
        app.dashboard.tick()
        assert app.table.cell_text("test-user", "state") == "code in 12s"
        released.set()
        await settle(app, pilot)
        assert app.table.cell_text("test-user", "state") == ""


async def test_the_chosen_theme_is_saved_and_used_next_time(
    backend: FakeBackend, clock: FrozenClock, settings_file: Path
) -> None:
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.theme = "nord"
        await settle(app, pilot)
    assert load_settings(settings_file).theme == "nord"
    again = make_app(backend, clock)
    async with again.run_test(size=(120, 30)) as pilot:
        await settle(again, pilot)
        assert again.theme == "nord"
