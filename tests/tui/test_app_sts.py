"""The dashboard on the real engine, against moto behind the STS fault proxy."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from textual.pilot import Pilot

from mfa_tui.aws.files import load_profiles
from mfa_tui.clock import FrozenClock
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.screens.help import HelpScreen
from mfa_tui.tui.screens.mfa_prompt import CodeInput, MfaPrompt
from mfa_tui.tui.screens.totp_setup import TotpSetup
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox
from tests.stsfault import Fault, invalid_code


@pytest.fixture
def now_clock() -> FrozenClock:
    # moto stamps real expiry times, so the frozen clock starts at the real now.
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def make_app(sandbox: Sandbox, clock: FrozenClock, keyring: MemoryKeyring) -> MfaTuiApp:
    backend = ServiceBackend(sandbox.paths, clock=clock, keyring_backend=keyring)
    return MfaTuiApp(backend, clock=clock, tick_seconds=10_000)


async def settle(app: MfaTuiApp, pilot: Pilot[None]) -> None:
    for _ in range(4):
        await app.workers_settled()
        await pilot.pause()


async def type_code(app: MfaTuiApp, pilot: Pilot[None], code: str) -> MfaPrompt:
    prompt = app.screen
    assert isinstance(prompt, MfaPrompt), f"no prompt: {app.event_log.lines_written}"
    await pilot.press(*code)
    await settle(app, pilot)
    return prompt


async def test_switch_to_a_role_asks_once_and_writes_the_active_profile(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("enter")
        await settle(app, pilot)
        prompt = app.screen
        assert isinstance(prompt, MfaPrompt)
        assert sandbox.test_user.mfa_serial in str(prompt.query_one("#device").render())
        await type_code(app, pilot, "123456")
        assert not isinstance(app.screen, MfaPrompt), app.event_log.lines_written
        profiles = load_profiles().profiles
        assert profiles["mfa-tui"].values["mfa_tui_source"] == "my-test-role"
        assert profiles["mfa-tui"].expiration == profiles["my-test-role-mfa"].expiration
        # One code unlocked the user: the other role switches with no prompt.
        app.table.select("readonly-role")
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, MfaPrompt)
        assert load_profiles().profiles["mfa-tui"].values["mfa_tui_source"] == "readonly-role"
        assert sandbox.fault.actions().count("GetSessionToken") == 1
        assert sandbox.fault.actions().count("AssumeRole") == 2


async def test_a_wrong_code_is_shown_in_the_prompt_and_the_next_one_works(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    before = sandbox.paths.credentials.read_bytes()
    sandbox.fault.queue(invalid_code("GetSessionToken"))
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("r")
        await settle(app, pilot)
        prompt = await type_code(app, pilot, "111111")
        assert app.screen is prompt
        # mfa-tui never sent 111111: not a reused code, so not "wait for the next one".
        assert "it is not the code" in prompt.error_text, prompt.error_text
        assert "was not a reused code" in prompt.error_text, prompt.error_text
        assert prompt.query_one(CodeInput).value == ""
        assert sandbox.paths.credentials.read_bytes() == before  # nothing written
        await type_code(app, pilot, "222222")
        assert not isinstance(app.screen, MfaPrompt), prompt.error_text
        assert load_profiles().profiles["my-test-role-mfa"].expiration is not None
        codes = [c.get("TokenCode") for c in sandbox.fault.calls("GetSessionToken")]
        assert codes == ["111111", "222222"]


async def test_a_slow_sts_does_not_block_the_keys(
    sandbox: Sandbox,
    now_clock: FrozenClock,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The held call ends when the test says, not at the 5-second read timeout: on a
    # busy machine the keys below can take longer than that, and a retry would pass.
    monkeypatch.setenv("MFA_TUI_STS_TIMEOUT", "120")
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "1")
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("r")
        await settle(app, pilot)
        await type_code(app, pilot, "123456")
        answer = threading.Event()  # STS answers when the test says, not after 2 s
        sandbox.fault.queue(Fault(gate=answer, passthrough=True, action="AssumeRole"))
        app.table.select("readonly-role")
        await pilot.press("r")
        assert app.dashboard.refreshes.policy.in_flight("readonly-role")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)  # answered while STS sleeps
        await pilot.press("escape")
        await pilot.press("down")
        await pilot.pause()
        assert app.dashboard.refreshes.policy.in_flight("readonly-role")
        answer.set()
        await settle(app, pilot)
        assert not app.dashboard.refreshes.policy.in_flight("readonly-role")
        assert load_profiles().profiles["readonly-role-mfa"].expiration is not None
        assert sandbox.fault.actions().count("AssumeRole") == 2  # the held one, once


async def test_background_refresh_renews_the_active_role_inside_its_margin(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("enter")
        await settle(app, pilot)
        await type_code(app, pilot, "123456")
        first = load_profiles().profiles["my-test-role-mfa"].expiration
        assert first is not None
        calls = len(sandbox.fault.actions())
        now_clock.advance((first - now_clock.now()).total_seconds() - 120)
        app.dashboard.tick()
        await settle(app, pilot)
        assert sandbox.fault.actions()[calls:] == ["AssumeRole"]  # no code asked
        assert not isinstance(app.screen, MfaPrompt)
        profiles = load_profiles().profiles
        assert profiles["my-test-role-mfa"].values["mfa_tui_refreshed"] == (
            now_clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        # The active profile followed: every aws command keeps working.
        assert (
            profiles["mfa-tui"].values["aws_session_token"]
            == (profiles["my-test-role-mfa"].values["aws_session_token"])
        )


async def test_a_seed_set_up_in_the_dashboard_refreshes_without_a_prompt(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TotpSetup)
        await pilot.press(*sandbox.test_user.seed.lower())
        await pilot.pause()
        screen.query_one("#save").focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert memory_keyring.store  # the seed went to the keyring, not a file
        assert sandbox.test_user.seed not in sandbox.paths.credentials.read_text()
        await pilot.press("enter")  # switch: the engine makes the code itself
        await settle(app, pilot)
        assert not isinstance(app.screen, MfaPrompt)
        assert load_profiles().profiles["mfa-tui"].values["mfa_tui_source"] == "my-test-role"


async def test_the_engines_notes_reach_the_screen(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    # A role asking for 4 hours is capped to one (role chaining): the CLI says so, and
    # so must the dashboard, on the first switch and on one that finds a valid session.
    text = sandbox.paths.config.read_text()
    sandbox.paths.config.write_text(
        text.replace(
            "[profile my-test-role]\n", "[profile my-test-role]\nduration_seconds = 14400\n"
        )
    )
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        for _ in range(2):
            app.table.select("my-test-role")
            await pilot.press("enter")
            await settle(app, pilot)
            if isinstance(app.screen, MfaPrompt):
                await type_code(app, pilot, "123456")
            said = [n.message for n in app._notifications]
            assert any("capped to 3600 s" in m for m in said), said
            assert any("capped to 3600 s" in line for line in app.event_log.lines_written)
            app.clear_notifications()
