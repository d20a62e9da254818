"""The dashboard under pilot, on real AWS files and the fake engine (no STS here).

The tick is driven by hand (`app.dashboard.tick()`, after advancing the frozen clock), so nothing
here waits for wall time beyond a pause for the event loop.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import format_expiration, load_profiles
from mfa_tui.clock import FrozenClock
from mfa_tui.errors import NetworkError
from mfa_tui.settings import load_settings
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.messages import SeedSaved
from mfa_tui.tui.screens.export import ExportScreen
from mfa_tui.tui.screens.help import HelpScreen
from mfa_tui.tui.screens.mfa_prompt import CodeInput, MfaPrompt
from mfa_tui.tui.screens.totp_setup import TotpSetup
from mfa_tui.tui.widgets.profile_table import ProfileTable
from mfa_tui.tui.widgets.status_header import StatusHeader
from tests.tui.fakes import SERIAL, WRONG_CODE, FakeBackend

SLOW = 10_000.0  # no automatic ticks: the tests tick by hand


def make_app(backend: FakeBackend, clock: FrozenClock) -> MfaTuiApp:
    return MfaTuiApp(backend, clock=clock, tick_seconds=SLOW)


async def settle(app: MfaTuiApp, pilot: object) -> None:
    """Let workers finish and their messages land."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    for _ in range(3):
        await app.workers_settled()
        await pilot.pause()


async def wait_for(pilot: object, condition: Callable[[], bool], bound: float = 30) -> None:
    """Let the app run until `condition` holds (failing only if it never does)."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await pilot.pause(0.02)


def left_cell(app: MfaTuiApp, name: str) -> str:
    return app.table.cell_text(name, "left")


def section(path: Path, name: str) -> dict[str, str] | None:
    profiles = load_profiles().profiles
    profile = profiles.get(name)
    return dict(profile.values) if profile is not None else None


def give_user_session(backend: FakeBackend, seconds: int = 43_200) -> None:
    backend.refresh("test-user", code="123456")
    backend.calls.clear()


async def test_switching_to_a_role_writes_the_active_profile(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        assert app.table.select("my-test-role")
        await pilot.press("enter")
        await settle(app, pilot)
        # The user's session unlocks the role: no prompt.
        assert not isinstance(app.screen, MfaPrompt)
        active = section(backend.paths.credentials, "mfa-tui")
        assert active is not None
        assert active[OWNER_KEY] == "my-test-role"
        assert active["aws_session_token"] == "fake-token"
        assert app.table.row_state("my-test-role") is not None
        assert app.table.row_state("my-test-role").active  # type: ignore[union-attr]
        header = app.query_one(StatusHeader).plain(clock.now())
        assert "active: my-test-role" in header and "01:00:00" in header
        assert any("Switched" in line for line in app.event_log.lines_written)


async def test_prompt_validates_retries_a_wrong_code_and_then_switches(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("test-user")
        await pilot.press("enter")
        await settle(app, pilot)
        prompt = app.screen
        assert isinstance(prompt, MfaPrompt)
        assert SERIAL in str(prompt.query_one("#device").render())
        assert "test-user" in str(prompt.query_one("#title").render())
        # Letters are refused, and enter on a short code explains instead of submitting.
        await pilot.press("1", "2", "x", "3", "enter")
        field = prompt.query_one(CodeInput)
        assert field.value == "123"
        assert "6 digits" in prompt.error_text
        assert [c for c in backend.calls if c.code is not None] == []
        # A wrong code: the error shows in place, the field empties, the prompt stays.
        field.value = ""
        await pilot.press(*WRONG_CODE)
        await settle(app, pilot)
        assert app.screen is prompt
        assert isinstance(prompt, MfaPrompt)
        assert "invalid MFA one time pass code" in prompt.error_text
        assert field.value == ""
        assert not field.disabled
        assert section(backend.paths.credentials, "mfa-tui") is None
        # The next code submits by itself at six digits and switches.
        await pilot.press(*"654321")
        await settle(app, pilot)
        assert not isinstance(app.screen, MfaPrompt)
        assert [c.code for c in backend.calls] == [None, WRONG_CODE, "654321"]
        active = section(backend.paths.credentials, "mfa-tui")
        assert active is not None and active[OWNER_KEY] == "test-user"


async def test_prompt_cancel_writes_nothing(backend: FakeBackend, clock: FrozenClock) -> None:
    before = backend.paths.credentials.read_bytes()
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("admin")
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, MfaPrompt)
        await pilot.press("4", "2", "escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, MfaPrompt)
        assert app.prompt is None
        assert backend.paths.credentials.read_bytes() == before
        assert any("cancelled" in line for line in app.event_log.lines_written)


async def test_pasted_code_with_a_space_is_accepted(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("test-user")
        await pilot.press("r")
        await settle(app, pilot)
        prompt = app.screen
        assert isinstance(prompt, MfaPrompt)
        from textual.events import Paste

        prompt.query_one(CodeInput).post_message(Paste("123 456\n"))
        await settle(app, pilot)
        assert [c.code for c in backend.calls] == [None, "123456"]
        assert not isinstance(app.screen, MfaPrompt)


async def test_countdown_is_recomputed_from_the_clock_each_tick(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        assert left_cell(app, "test-user") == "12:00:00"
        clock.advance(1)
        app.dashboard.tick()
        assert left_cell(app, "test-user") == "11:59:59"
        # Ten seconds of missed ticks (a suspended laptop) are not ten decrements late.
        clock.advance(3600 + 10)
        app.dashboard.tick()
        assert left_cell(app, "test-user") == "10:59:49"
        clock.advance(11 * 3600)
        app.dashboard.tick()
        assert left_cell(app, "test-user") == "expired"


async def test_background_refresh_fires_inside_the_margin(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    backend.refresh("my-test-role")
    backend.calls.clear()
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.dashboard.tick()
        await settle(app, pilot)
        assert backend.calls == []  # an hour left: nothing is due
        clock.advance(3600 - 299)  # inside the 5-minute role margin
        app.dashboard.tick()
        await settle(app, pilot)
        assert [c.profile for c in backend.calls] == ["my-test-role"]
        assert backend.calls[0].code is None
        app.dashboard.tick()
        await settle(app, pilot)
        assert left_cell(app, "my-test-role") == "01:00:00"
        assert any("in the background" in line for line in app.event_log.lines_written)


async def test_auto_refresh_off_is_saved_and_respected(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    backend.refresh("my-test-role")
    backend.calls.clear()
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("a")
        await settle(app, pilot)
        assert load_settings(backend.settings_file).auto_refresh_for("my-test-role") is False
        assert app.table.cell_text("my-test-role", "then") == "auto off"  # seen in the row
        clock.advance(3600 - 60)
        app.dashboard.tick()
        await settle(app, pilot)
        assert backend.calls == []


async def test_a_code_needed_in_the_background_rings_and_waits_for_enter(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    bells: list[int] = []
    app = make_app(backend, clock)
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        clock.advance(43_200 - 500)  # the user session is inside its 10-minute margin
        app.dashboard.tick()
        await settle(app, pilot)
        assert not isinstance(app.screen, MfaPrompt)  # never pops up by itself
        assert bells == [1]
        assert any("MFA code needed" in n.title for n in app._notifications)
        assert app.table.cell_text("test-user", "state") == "needs code"
        # Not retried every tick while it waits for the person.
        app.dashboard.tick()
        await settle(app, pilot)
        assert [c.profile for c in backend.calls] == ["test-user"]
        app.table.select("test-user")
        await pilot.press("enter")
        await settle(app, pilot)  # the worker asks; the prompt opens
        assert isinstance(app.screen, MfaPrompt)
        await pilot.press(*"111111")
        await settle(app, pilot)
        assert not isinstance(app.screen, MfaPrompt)
        assert app.table.cell_text("test-user", "state") == ""


async def test_a_slow_sts_call_does_not_block_keys_or_the_countdown(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    backend.gate = threading.Event()
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("admin")
        await pilot.press("r")
        await pilot.pause()
        assert app.table.cell_text("admin", "state") == "refreshing…"
        # While the worker waits on STS, the keys and the tick carry on.
        await pilot.press("down")
        assert app.table.selected_name == "ops-chained"
        clock.advance(1)
        app.dashboard.tick()
        assert left_cell(app, "test-user") == "11:59:59"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        # A second refresh of the same profile is refused, not queued behind the first.
        app.table.select("admin")
        await pilot.press("r")
        await pilot.pause()
        assert [c.profile for c in backend.calls] == ["admin"]
        backend.gate.set()
        await settle(app, pilot)
        assert app.table.cell_text("admin", "state") == ""


async def test_failures_are_shown_and_back_off(backend: FakeBackend, clock: FrozenClock) -> None:
    give_user_session(backend)
    backend.refresh("my-test-role")
    backend.calls.clear()
    backend.fail_with = NetworkError("STS at 127.0.0.1:1 did not answer within 5 s")
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        clock.advance(3600 - 200)
        app.dashboard.tick()
        await settle(app, pilot)
        assert len(backend.calls) == 1
        assert app.table.cell_text("my-test-role", "state") == "failed"
        assert "did not answer" in app.table.cell_text("my-test-role", "note")
        clock.advance(10)
        app.dashboard.tick()
        await settle(app, pilot)
        assert len(backend.calls) == 1  # backing off
        clock.advance(25)
        app.dashboard.tick()
        await settle(app, pilot)
        assert len(backend.calls) == 2  # retried after 30 s
        backend.fail_with = None
        clock.advance(61)
        app.dashboard.tick()
        await settle(app, pilot)
        assert len(backend.calls) == 3
        assert app.table.cell_text("my-test-role", "state") == ""


async def test_changes_by_other_programs_appear(backend: FakeBackend, clock: FrozenClock) -> None:
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        assert left_cell(app, "test-user") == "—"
        expiry = clock.now() + timedelta(hours=2)
        write_section(
            backend.paths.credentials,
            "test-user-mfa",
            {
                "aws_access_key_id": "ASIAOTHER",
                "aws_secret_access_key": "x",
                "aws_session_token": "y",
                "expiration": format_expiration(expiry),
                OWNER_KEY: "test-user",
            },
        )
        app.dashboard.tick()
        await settle(app, pilot)
        assert left_cell(app, "test-user") == "02:00:00"
        loads = app.dashboard.loads
        app.dashboard.tick()
        await settle(app, pilot)
        assert app.dashboard.loads == loads  # unchanged files are not parsed again


async def test_filter_narrows_the_table(backend: FakeBackend, clock: FrozenClock) -> None:
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", "r", "o", "l", "e")
        await pilot.pause()
        assert app.table.row_count == 1
        assert app.table.selected_name == "my-test-role"
        await pilot.press("escape")
        await pilot.pause()
        assert app.table.row_count == 6
        assert app.table.has_focus


async def test_unmanaged_profiles_show_their_reason_and_are_not_switched(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(backend, clock)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        assert "aws sso login" in app.table.cell_text("sso-dev", "note")
        assert app.table.cell_style("sso-dev", "name").dim
        app.table.select("sso-dev")
        await pilot.press("enter")
        await settle(app, pilot)
        assert backend.calls == []


async def test_export_shows_profile_lines_and_no_secret(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("test-user")
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        assert screen.lines[0] == "export AWS_PROFILE=mfa-tui"
        assert "export AWS_PROFILE=test-user-mfa" in screen.lines
        text = app.export_screenshot()
        assert "fake-secret" not in text and "long-term-secret" not in text
        await pilot.press("escape")


async def test_totp_setup_masks_the_seed_and_stores_it(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")  # a role: the seed belongs to its user's device
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TotpSetup)
        await pilot.press(*seed.lower())
        await pilot.pause()
        shot = app.export_screenshot()
        assert seed not in shot and seed.lower() not in shot
        assert "should show" in str(screen.query_one("#current").render())
        screen.query_one("#save").focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert backend.seeded == {SERIAL}
        assert "+totp" in app.table.cell_text("test-user", "mfa")
        assert all(seed not in line for line in app.event_log.lines_written)


async def test_command_palette_offers_switch_and_refresh(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"switch my-test")
        # The palette searches in the background: wait until its best hit is the switch.
        from textual.command import CommandPalette
        from textual.widgets import OptionList

        palette = app.screen
        assert isinstance(palette, CommandPalette)
        options = palette.query_one(OptionList)

        def offered() -> bool:
            index = options.highlighted
            if index is None:
                return False
            return "Switch to my-test-role" in str(options.get_option_at_index(index).prompt)

        await wait_for(pilot, offered)
        await pilot.press("enter")
        await settle(app, pilot)
        active = section(backend.paths.credentials, "mfa-tui")
        assert active is not None and active[OWNER_KEY] == "my-test-role"


async def test_help_lists_every_key(backend: FakeBackend, clock: FrozenClock) -> None:
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shot = app.export_screenshot()
        for key in (
            "enter",
            "switch",
            "TOTP",
            "auto-refresh",
            "export",
            "find",
            "esc",
            "waiting",
            "pin",
            "sort",
            "quit",
        ):
            assert key in shot, key
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_a_bug_in_a_refresh_ends_visibly_not_refreshing_forever(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    backend.fail_with = RuntimeError("engine bug")
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("admin")
        await pilot.press("r")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.table.cell_text("admin", "state") == "failed"
        assert "engine bug" in app.table.cell_text("admin", "note")
        assert not app.dashboard.refreshes.policy.in_flight("admin")


async def test_refresh_all_due_takes_every_session_inside_its_margin(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    backend.refresh("my-test-role")
    backend.refresh("admin")
    backend.calls.clear()
    app = MfaTuiApp(backend, clock=clock, tick_seconds=SLOW, background_refresh=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot)
        assert backend.calls == []  # nothing is inside its margin yet
        clock.advance(3600 - 100)
        app.dashboard.tick()
        await settle(app, pilot)
        assert backend.calls == []  # background refresh is off in this app
        await pilot.press("R")
        await settle(app, pilot)
        assert sorted(c.profile for c in backend.calls) == ["admin", "my-test-role"]


async def test_theme_change_recolours_the_countdowns(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        before = app.table.cell_style("test-user", "left")
        app.theme = "solarized-light"
        await pilot.pause()
        after = app.table.cell_style("test-user", "left")
        assert before != after
        assert after.color is not None
        assert after.color.triplet is not None
        assert after.color.triplet.hex.lower() == app.theme_variables["success"].lower()


async def test_the_log_takes_the_details_place_on_a_narrow_screen(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    from mfa_tui.tui.widgets.detail_pane import DetailPane

    app = make_app(backend, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        log, detail = app.event_log, app.query_one(DetailPane)
        assert not log.display and detail.display
        await pilot.press("l")
        await pilot.pause()
        assert log.display and not detail.display
        await pilot.press("l")
        await pilot.pause()
        assert not log.display and detail.display
    wide = make_app(backend, clock)
    async with wide.run_test(size=(200, 60)) as pilot:
        await settle(wide, pilot)
        assert wide.event_log.display and wide.query_one(DetailPane).display


async def test_prompt_shows_a_code_hint_and_the_header_a_note(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    seen: list[str] = []

    def hint(serial: str) -> str:
        seen.append(serial)
        return "demo: the virtual device test-user-phone shows 123456 now"

    app = MfaTuiApp(
        backend, clock=clock, tick_seconds=SLOW, code_hint=hint, title_note="demo sandbox"
    )
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        assert "(demo sandbox)" in app.query_one(StatusHeader).plain(clock.now())
        app.table.select("test-user")
        await pilot.press("enter")
        await settle(app, pilot)
        prompt = app.screen
        assert isinstance(prompt, MfaPrompt)
        assert "shows 123456" in str(prompt.query_one("#code-hint").render())
        assert seen[0] == SERIAL


async def test_roles_of_one_device_ring_once(backend: FakeBackend, clock: FrozenClock) -> None:
    backend.refresh("test-user", code="123456")
    backend.refresh("my-test-role")
    backend.refresh("admin")
    backend.calls.clear()
    bells: list[int] = []
    app = make_app(backend, clock)
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        clock.advance(43_200 + 10)  # everything expired, the user's session too
        app.dashboard.tick()
        await settle(app, pilot)
        assert set(app.dashboard.refreshes.waiting) == {"test-user", "my-test-role", "admin"}
        assert bells == [1]
        # One code for the user, and its roles go on by themselves.
        app.table.select("test-user")
        await pilot.press("enter")
        await settle(app, pilot)  # the worker asks; the prompt opens
        assert isinstance(app.screen, MfaPrompt)
        await pilot.press(*"123456")
        await settle(app, pilot)
        app.dashboard.tick()
        await settle(app, pilot)
        assert app.dashboard.refreshes.waiting == {}
        assert left_cell(app, "my-test-role") == "01:00:00"


async def test_a_tick_repaints_only_countdowns_that_changed(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    backend.refresh("admin")
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        table = app.table
        await pilot.pause()  # every line drawn once
        assert table.tick(clock.now()) == 0  # same second: nothing to do
        clock.advance(1)
        assert table.tick(clock.now()) == 2  # the two sessions' lines, nothing else
        await pilot.pause()
        assert table.tick(clock.now()) == 0


async def test_stored_seeds_are_marked_shortly_after_start(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.seeded.add(SERIAL)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        # The keyring is asked once the first screen is up: settling waits for that too.
        await settle(app, pilot)
        assert "+totp" in app.table.cell_text("test-user", "mfa")
        assert "+totp" not in app.table.cell_text("sso-dev", "mfa")


async def test_a_wider_cell_widens_its_column_on_every_row(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.seeded.add(SERIAL)  # the keyring answers after the first screen is up...
    backend.keyring_gate = threading.Event()
    app = make_app(backend, clock)
    async with app.run_test(size=(260, 30)) as pilot:
        # Not `settle`: the keyring's worker waits for the gate, and settling would wait
        # for it.
        await wait_for(pilot, lambda: app.table.row_state("test-user") is not None)
        table = app.table
        assert "+totp" not in table.cell_text("test-user", "mfa")
        backend.keyring_gate.set()  # ...and its "+totp" widens the MFA column
        await wait_for(pilot, lambda: "+totp" in table.cell_text("test-user", "mfa"))
        await settle(app, pilot)
        lines = [table.render_line(y).text for y in range(table.size.height)]
        columns = {
            line.index(session)
            for line in lines
            for session in ("test-user-mfa", "admin-mfa", "ops-chained-mfa", "my-test-role-mfa")
            if session in line
        }
        assert len(columns) == 1, lines[:6]
        assert any("+totp" in line for line in lines)


async def test_the_mouse_selects_and_a_second_click_switches(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    give_user_session(backend)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        row = app.table.names().index("admin") + 1  # +1: the header line
        await pilot.click(ProfileTable, offset=(4, row))
        await pilot.pause()
        assert app.table.selected_name == "admin"
        assert section(backend.paths.credentials, "mfa-tui") is None  # one click only selects
        await pilot.click(ProfileTable, offset=(4, row))
        await settle(app, pilot)
        active = section(backend.paths.credentials, "mfa-tui")
        assert active is not None and active[OWNER_KEY] == "admin"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
async def test_a_kill_or_a_closed_terminal_ends_the_app_the_normal_way(
    backend: FakeBackend, clock: FrozenClock, signum: int
) -> None:
    # Python's own handling ends the process on the spot, or (raised as SystemExit)
    # unwinds past Textual's driver, whose input thread then spins on a dead terminal.
    before = signal.getsignal(signum)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        assert signal.getsignal(signum) not in (signal.SIG_DFL, before), "no handler"
        os.kill(os.getpid(), signum)
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 128 + signum
    assert signal.getsignal(signum) == before  # given back once the app is gone


async def test_a_keyring_answer_older_than_a_stored_seed_does_not_unmark_it(
    backend: FakeBackend, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked, answer = threading.Event(), threading.Event()
    order: list[str] = []

    def slow_keyring(serials: frozenset[str]) -> frozenset[str]:
        seeded = frozenset(set(serials) & backend.seeded)  # no seed yet, as asked
        order.append("asked")
        asked.set()
        # Held until the test lets it go (the bound only stops a hang).
        order.append("answered" if answer.wait(30) else "timed out")
        return seeded

    monkeypatch.setattr(backend, "seeded_serials", slow_keyring)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        # Not `settle`: the keyring's worker waits for the test's `answer`.
        await wait_for(pilot, asked.is_set)
        await wait_for(pilot, lambda: app.table.row_state("test-user") is not None)
        # Meanwhile the user stores a seed from the dashboard ('t'): its worker reports.
        backend.save_seed(SERIAL, "JBSWY3DPEHPK3PXP")
        app.dashboard.post_message(SeedSaved("test-user", SERIAL))
        await wait_for(pilot, lambda: "+totp" in app.table.cell_text("test-user", "mfa"))
        order.append("stored")
        answer.set()  # ...and only then does the keyring's older answer land
        await settle(app, pilot)
        assert order == ["asked", "stored", "answered"], "the race did not happen"
        assert "+totp" in app.table.cell_text("test-user", "mfa")


def hold_reads(backend: FakeBackend, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Reads of the files wait until the returned event is set (the bound only stops a
    hang: the test decides when a read ends, not the machine's load)."""
    read = threading.Event()
    real_load = backend.load

    def held_load() -> Any:
        read.wait(120)
        return real_load()

    monkeypatch.setattr(backend, "load", held_load)
    return read


async def test_keys_typed_before_the_profiles_are_read_wait_for_them(
    backend: FakeBackend, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = hold_reads(backend, monkeypatch)  # a big file, a slow disk: no rows yet
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        # Typed ahead, as people who know the way do; an Enter typed while the terminal
        # was still in line mode arrives as a newline (ctrl+j).
        await pilot.press("down", "down", "ctrl+j")
        assert app.dashboard.snapshot is None
        read.set()
        await settle(app, pilot)
        third = app.table.visible_names()[2]
        assert app.table.selected_name == third
        # It has no session yet: switching to it asks for a code.
        assert app.prompt is not None and app.prompt.wanted.profile == third


async def test_quitting_is_never_held_back_by_a_slow_read(
    backend: FakeBackend, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = hold_reads(backend, monkeypatch)  # a file on a dead network mount
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        try:
            await pilot.press("q")
            # The read is held until this test ends it: an app that waited for it would
            # never quit, however fast or busy the machine.
            await wait_for(pilot, lambda: app.return_code is not None, bound=60)
            assert app.return_code == 0
            assert not read.is_set()  # quit while the read was still held
        finally:
            read.set()


async def test_what_the_files_hold_that_aws_cannot_use_is_in_the_detail_pane(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    from rich.text import Text

    from mfa_tui.tui.widgets.detail_pane import DetailPane

    config, credentials = backend.paths.config, backend.paths.credentials
    config.write_text(
        config.read_text().replace(
            "[profile my-test-role]\n",
            "[profile my-test-role]\nduration_seconds = 1800 ; half an hour\n",
        )
    )
    with credentials.open("a") as fh:
        fh.write("\n[ops]x]\naws_access_key_id = AKIAOPS\naws_secret_access_key = s\n")
    line = config.read_text().splitlines().index("duration_seconds = 1800 ; half an hour") + 1
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(DetailPane)

        def shown() -> str:
            # Labels are padded to one width and long values wrapped: compare the
            # characters, whatever the spacing.
            content = pane.content
            assert isinstance(content, Text)
            return "".join(content.plain.split())

        def text(words: str) -> str:
            return "".join(words.split())

        assert app.table.select("my-test-role")
        await pilot.pause()
        assert (
            text(
                f"Note duration_seconds = 1800 ; half an hour ({config}:{line}) is not a "
                "whole number of seconds"
            )
            in shown()
        )
        assert app.table.select("ops]x")
        await pilot.pause()
        assert (
            text(
                "Not managed the session profile of 'ops]x', 'ops]x-mfa', cannot be "
                "written: it has a ']'"
            )
            in shown()
        )
        assert app.table.cell_text("ops]x", "note").startswith("the session profile of")
