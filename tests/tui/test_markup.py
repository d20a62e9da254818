"""Text from the files, from AWS and from agent callers is shown as text, never markup.

Textual reads `[...]` in a plain string as markup, and `[/]` with nothing to close is an
error that ends the dashboard (before: exit 1 with a MarkupError traceback, and a
crashed process left spinning at full CPU). Every place such text reaches the screen
is driven here with names and messages that are markup errors if read as markup.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Label, OptionList, Static

from mfa_tui.clock import FrozenClock
from mfa_tui.errors import NetworkError
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
        app.tick()
        await settle(app, pilot)
        detail = str(app.query_one(DetailPane).render())
        assert ROLE in detail and "[/]phone" in detail
        # enter: the user has no session, so the prompt names the role and the device.
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MfaPrompt)
        shown = texts(app)
        assert f"MFA code for {ROLE}" in shown and SERIAL in shown and f"user {USER}" in shown
        # AWS's (or the writer's) words in the prompt: a session profile named
        # `x[/]-mfa` cannot be written, and the refusal quotes it.
        await pilot.press(*"123456")
        await settle(app, pilot)
        assert isinstance(app.screen, MfaPrompt)
        assert f"[{USER}-mfa]" in app.screen.error_text
        await pilot.press("escape")
        await settle(app, pilot)
        # The export screen's title names the profile.
        app.table.select(ROLE)
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        # TOTP setup for the user with brackets in its name.
        app.table.select(USER)
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, TotpSetup)
        assert f"TOTP seed for {USER}" in texts(app)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.is_running


async def test_an_agent_caller_and_an_aws_message_are_shown_as_text(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    add_markup_profiles(backend)
    app = make(backend, clock)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        wanted = backend.code_wanted(ROLE)
        assert wanted is not None
        # What the agent does when `credential-process` is run by a program named so.
        app.open_prompt(wanted, activate=False, caller=TAG_SOUP)
        await settle(app, pilot)
        assert f"{TAG_SOUP} is waiting for {ROLE}" in texts(app)
        backend.fail_with = NetworkError(f"STS at http://127.0.0.1:9/{TAG_SOUP} said {TAG_SOUP}")
        await pilot.press(*"123456")
        await settle(app, pilot)
        assert isinstance(app.screen, MfaPrompt)
        assert f"said {TAG_SOUP}" in app.screen.error_text
        assert app.is_running


async def test_the_command_palette_filter_and_load_errors_show_brackets(
    backend: FakeBackend, clock: FrozenClock, settings_file: Path
) -> None:
    add_markup_profiles(backend)
    app = make(backend, clock)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        # The palette lists and highlights profile names.
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        await pilot.press(*"x[/")
        await settle(app, pilot)
        commands = app.screen.query_one(OptionList)
        prompts = [
            str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)
        ]
        assert any(p.startswith(f"Switch to {ROLE}") for p in prompts), prompts
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
