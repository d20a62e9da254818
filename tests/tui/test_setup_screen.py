"""The `m` setup screen on the real engine, against moto's IAM behind the fault proxy."""

from __future__ import annotations

import re

import pyotp
from textual.pilot import Pilot

from mfa_tui.aws import ini
from mfa_tui.clock import FrozenClock
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.screens.mfa_prompt import MfaPrompt
from mfa_tui.tui.screens.mfa_setup import SetupScreen, Stage
from tests import stsfault
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox
from tests.tui.test_app_sts import make_app, now_clock, settle

__all__ = ["now_clock"]  # the fixture, shared with the dashboard's other moto tests

NEW_SERIAL = "arn:aws:iam::123456789012:mfa/new-user"


async def open_setup(app: MfaTuiApp, pilot: Pilot[None], profile: str) -> SetupScreen:
    await settle(app, pilot)
    app.table.select(profile)
    await pilot.press("m")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, SetupScreen), app.event_log.lines_written
    assert screen.stage is Stage.CHOOSING, screen.query_one("#error").render()
    return screen


async def new_device(app: MfaTuiApp, pilot: Pilot[None]) -> tuple[SetupScreen, str]:
    """`m` on new-user, enter on "Create a new virtual MFA device": the QR step."""
    screen = await open_setup(app, pilot, "new-user")
    await pilot.press("enter")
    await settle(app, pilot)
    assert screen.stage is Stage.CODES and screen.pending is not None
    return screen, screen.pending.seed


def codes(seed: str, clock: FrozenClock, *offsets: int) -> list[str]:
    totp, step = pyotp.TOTP(seed), int(clock.time() // 30)
    return [totp.at((step + offset) * 30) for offset in offsets]


def files(sandbox: Sandbox) -> tuple[bytes, bytes]:
    return sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()


async def test_the_key_the_no_device_message_names_opens_setup(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.table.select("new-user")
        await pilot.press("enter")
        await settle(app, pilot)
        message = app.dashboard.refreshes.errors["new-user"]
        named = re.search(r"\(or '(\w)' in the dashboard\)", message)
        assert named is not None, message
        await pilot.press(named.group(1))
        await settle(app, pilot)
        assert isinstance(app.screen, SetupScreen), message


async def test_a_new_device_from_the_qr_code_two_codes_then_the_first_session(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await new_device(app, pilot)  # the only choice: a new virtual device
        pending = screen.pending
        assert pending is not None and pending.serial == NEW_SERIAL
        qr = str(screen.query_one("#qr").render())
        assert "█" in qr and "▀" in qr
        first, second, third = codes(pending.seed, now_clock, -1, 0, 1)
        await pilot.press(*first, *second)
        await settle(app, pilot)
        # The screen is gone; the first session needs a third code, asked as usual.
        prompt = app.screen
        assert isinstance(prompt, MfaPrompt), app.event_log.lines_written
        assert prompt.wanted.mfa_serial == NEW_SERIAL
        await pilot.press(*third)
        await settle(app, pilot)
        assert not isinstance(app.screen, MfaPrompt)
    (enable,) = sandbox.fault.calls("EnableMFADevice")
    assert (enable["AuthenticationCode1"], enable["AuthenticationCode2"]) == (first, second)
    config = ini.read(sandbox.paths.config).section_values()
    assert config["profile new-user"]["mfa_serial"] == NEW_SERIAL
    assert ini.read(sandbox.paths.credentials).section_values()["new-user-mfa"]
    (session,) = sandbox.fault.calls("GetSessionToken")
    assert session["TokenCode"] == third


async def test_codes_that_do_not_fit_are_shown_in_place_and_esc_deletes_the_device(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    before = files(sandbox)
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await new_device(app, pilot)
        await pilot.press(*"123456", *"654321")
        await settle(app, pilot)
        assert screen.stage is Stage.CODES
        assert "not from the new device" in str(screen.query_one("#error").render())
        assert sandbox.fault.calls("EnableMFADevice") == []
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, SetupScreen)
    assert [c["SerialNumber"] for c in sandbox.fault.calls("DeleteVirtualMFADevice")] == [
        NEW_SERIAL
    ]
    assert files(sandbox) == before


async def test_an_iam_refusal_at_enable_leaves_nothing_and_offers_the_choice_again(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    before = files(sandbox)
    sandbox.fault.queue(
        stsfault.error(
            "AccessDenied", "not authorized: iam:EnableMFADevice", 403, "EnableMFADevice"
        )
    )
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, seed = await new_device(app, pilot)
        await pilot.press(*"".join(codes(seed, now_clock, -1, 0)))
        await settle(app, pilot)
        error = str(screen.query_one("#error").render())
        assert "AWS denied EnableMFADevice" in error
        assert "nothing is left behind" in error
        assert screen.stage is Stage.CHOOSING and screen.pending is None
    assert len(sandbox.fault.calls("DeleteVirtualMFADevice")) == 1
    assert files(sandbox) == before


async def test_a_user_with_a_device_chooses_it_and_it_is_saved(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    serial = sandbox.test_user.mfa_serial
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_setup(app, pilot, "my-test-role")  # a role: its user is set up
        assert screen.profile == "test-user"
        await pilot.press("enter")  # the first choice: its device
        await settle(app, pilot)
        assert not isinstance(app.screen, SetupScreen)
    config = ini.read(sandbox.paths.config).section_values()
    assert config["profile test-user"]["mfa_serial"] == serial
    assert sandbox.fault.calls("CreateVirtualMFADevice") == []


async def test_with_the_seed_stored_the_codes_and_the_session_need_nobody(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_setup(app, pilot, "new-user")
        await pilot.click("#store-seed")
        assert "both factors on one machine" in str(screen.query_one("#seed-warning").render())
        await pilot.click("#create")
        await settle(app, pilot)
        assert screen.stage is Stage.CODES
        await pilot.click("#enable")
        await settle(app, pilot)
        assert not isinstance(app.screen, SetupScreen | MfaPrompt), app.event_log.lines_written
    assert memory_keyring.get_password("mfa-tui", NEW_SERIAL)
    assert ini.read(sandbox.paths.credentials).section_values()["new-user-mfa"]


async def test_quitting_with_an_unfinished_device_deletes_it(
    sandbox: Sandbox, now_clock: FrozenClock, memory_keyring: MemoryKeyring
) -> None:
    import threading

    app = make_app(sandbox, now_clock, memory_keyring)
    async with app.run_test(size=(120, 40)) as pilot:
        await new_device(app, pilot)
    for thread in threading.enumerate():
        if thread.name == "mfa-setup-abandon":
            thread.join(30)
    assert [c["SerialNumber"] for c in sandbox.fault.calls("DeleteVirtualMFADevice")] == [
        NEW_SERIAL
    ]
