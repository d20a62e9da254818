"""Text from the files, from AWS and from agent callers is shown as text, never markup.

Textual reads `[...]` in a plain string as markup, and `[/]` with nothing to close is an
error that ends the dashboard (before: exit 1 with a MarkupError traceback, and a
crashed process left spinning at full CPU). Every place such text reaches the screen
is driven here with names and messages that are markup errors if read as markup.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from textual.widgets import Input, Label, OptionList, Static

from mfa_tui.clock import FrozenClock
from mfa_tui.errors import MfaTuiError, NetworkError
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.screens.export import ExportScreen
from mfa_tui.tui.screens.mfa_prompt import MfaPrompt
from mfa_tui.tui.screens.totp_setup import TotpSetup
from mfa_tui.tui.widgets.detail_pane import DetailPane
from tests.tui.fakes import ACCOUNT, FakeBackend
from tests.tui.test_app import SLOW, settle

ROLE = "x[/]"
USER = "u[/]"
SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/[/]phone"
TAG_SOUP = "[/] [bold]not bold[/bold] [link=x]y[/link] [/"


def add_markup_profiles(backend: FakeBackend) -> None:
    """A user and a role whose names and device are markup errors."""
    config, creds = backend.paths.config, backend.paths.credentials
    config.write_text(
        config.read_text()
        + f"\n[profile {USER}]\nmfa_serial = {SERIAL}\n"
        + f"\n[profile {ROLE}]\nsource_profile = {USER}\n"
        + f"role_arn = arn:aws:iam::{ACCOUNT}:role/[/]\nmfa_serial = {SERIAL}\n"
    )
    creds.write_text(
        creds.read_text()
        + f"\n[{USER}]\naws_access_key_id = AKIAEXAMPLEUSER0002\n"
        + "aws_secret_access_key = another-long-term-secret\n"
    )


def texts(app: MfaTuiApp) -> str:
    """Everything on screen that is text, for assertions on what is shown."""
    parts = [str(w.render()) for w in app.screen.query(Static)]
    parts += [str(w.render()) for w in app.screen.query(Label)]
    return "\n".join(parts)


def make(backend: FakeBackend, clock: FrozenClock) -> MfaTuiApp:
    return MfaTuiApp(backend, clock=clock, tick_seconds=SLOW)


async def test_names_and_devices_with_brackets_are_shown_as_they_are(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    add_markup_profiles(backend)
    app = make(backend, clock)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        assert app.table.select(ROLE)
        app.dashboard.tick()
        await settle(app, pilot)
        # Long values are wrapped (after a '/' too): compare without the spacing.
        detail = "".join(str(app.query_one(DetailPane).render()).split())
        # Such names cannot be managed (a `]` cannot be written in a section header), and
        # the reason, which quotes them and the device, is shown as it is.
        assert ROLE in detail and "[/]phone" in detail
        # Every key on them says why, in a notification, as text.
        for key in ("enter", "e", "t"):
            await pilot.press(key)
            await settle(app, pilot)
            assert not isinstance(app.screen, MfaPrompt | ExportScreen | TotpSetup)
        assert app.table.select(USER)
        await settle(app, pilot)
        # Long values are wrapped (after a '/' too): compare without the spacing.
        detail = "".join(str(app.query_one(DetailPane).render()).split())
        assert f"'{USER}-mfa'" in detail
        await pilot.press("enter")
        await settle(app, pilot)
        notes = [str(n.message) for n in app._notifications]
        assert any(f"{USER}-mfa" in note for note in notes), notes
        assert app.is_running


async def test_an_agent_caller_and_an_aws_message_are_shown_as_text(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    add_markup_profiles(backend)
    app = make(backend, clock)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        # What the agent does when `credential-process` is run by a program named so.
        asker = app.desk.broker.asker(TAG_SOUP, ROLE)
        answered: list[object] = []

        def tool() -> None:
            try:
                answered.append(backend.serve(ROLE, min_valid=960, asker=asker))
            except MfaTuiError as exc:
                answered.append(exc)

        caller = threading.Thread(target=tool, daemon=True)
        caller.start()
        deadline = time.monotonic() + 30
        while app.prompt is None:
            assert time.monotonic() < deadline, "the prompt did not open"
            await pilot.pause(0.05)
        assert f"{TAG_SOUP} is waiting for {ROLE}" in texts(app)
        # AWS's words, with brackets, after the code: the refresh the person starts.
        backend.fail_with = NetworkError(f"STS at http://127.0.0.1:9/{TAG_SOUP} said {TAG_SOUP}")
        await pilot.press("escape")
        await asyncio.to_thread(caller.join, 30)
        assert isinstance(answered[0], MfaTuiError)
        await settle(app, pilot)
        assert app.table.select("admin")
        await pilot.press("r")
        await settle(app, pilot)
        assert any(f"said {TAG_SOUP}" in line for line in app.event_log.lines_written)
        assert app.is_running


async def test_the_command_palette_filter_and_load_errors_show_brackets(
    backend: FakeBackend, clock: FrozenClock, settings_file: Path
) -> None:
    add_markup_profiles(backend)
    app = make(backend, clock)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        # The palette lists and highlights profile names (users, for their MFA setup).
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        await pilot.press(*"u[/")
        await settle(app, pilot)
        commands = app.screen.query_one(OptionList)
        prompts = [
            str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)
        ]
        assert any(p.startswith(f"Set up MFA for {USER}") for p in prompts), prompts
        while app.screen is not app.screen_stack[0]:
            await pilot.press("escape")
            await settle(app, pilot)
        # A filter that matches nothing is quoted back.
        await pilot.press("slash", *"[/]zz")
        await settle(app, pilot)
        assert "No profile matches '[/]zz'" in str(app.query_one("#empty", Static).render())
        app.query_one("#filter", Input).value = ""
        await settle(app, pilot)
        assert app.is_running
    # A settings file the dashboard cannot load: its message quotes the bad key.
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text('"[/]" = 1\n')
    app = make(backend, clock)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        assert "unknown key '[/]'" in str(app.query_one("#empty", Static).render())
        assert app.is_running
