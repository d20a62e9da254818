"""The dashboard on the real engine against a moto STS (and a proxy that fails or stalls)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mfa_tui.aws.files import AwsPaths, load_profiles
from mfa_tui.clock import FrozenClock
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.screens.help import HelpScreen
from mfa_tui.tui.screens.mfa_prompt import CodeInput, MfaPrompt
from tests.tui.sts_world import Faults, fault_proxy, moto_server, seed_account

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mfa_tui.core.sessions") is None,
    reason="the session engine (mfa_tui.core.sessions) has not landed yet",
)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def world(
    aws_dir: Path, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    with moto_server() as url, fault_proxy(url, faults) as proxy:
        info = seed_account(url, aws_dir)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy)
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        yield info


@pytest.fixture
def now_clock() -> FrozenClock:
    # moto stamps real expiry times, so the frozen clock starts at the real now.
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def make_app(aws_dir: Path, clock: FrozenClock) -> MfaTuiApp:
    backend = ServiceBackend(
        AwsPaths(aws_dir / "config", aws_dir / "credentials"),
        clock=clock,
        settings_file=aws_dir.parent / ".config" / "mfa-tui" / "config.toml",
    )
    return MfaTuiApp(backend, clock=clock, tick_seconds=10_000)


async def settle(app: MfaTuiApp, pilot: Pilot[None]) -> None:
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def type_code(app: MfaTuiApp, pilot: Pilot[None], code: str) -> MfaPrompt:
    prompt = app.screen
    assert isinstance(prompt, MfaPrompt), f"no prompt: {app.event_log.lines_written}"
    await pilot.press(*code)
    await settle(app, pilot)
    return prompt


async def test_switch_to_a_role_asks_once_and_writes_the_active_profile(
    world: dict[str, str], aws_dir: Path, now_clock: FrozenClock, faults: Faults
) -> None:
    app = make_app(aws_dir, now_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("enter")
        await settle(app, pilot)
        prompt = app.screen
        assert isinstance(prompt, MfaPrompt)
        assert world["serial"] in str(prompt.query_one("#device").render())
        await type_code(app, pilot, "123456")
        assert not isinstance(app.screen, MfaPrompt), app.event_log.lines_written
        profiles = load_profiles().profiles
        assert profiles["mfa-tui"].values["mfa_tui_source"] in ("my-test-role", "my-test-role-mfa")
        assert profiles["my-test-role-mfa"].expiration is not None
        # One code unlocked the user: switching to the user now needs no prompt.
        app.table.select("test-user")
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, MfaPrompt)
        assert "GetSessionToken" in faults.actions and "AssumeRole" in faults.actions


async def test_a_wrong_code_is_shown_in_the_prompt_and_the_next_one_works(
    world: dict[str, str], aws_dir: Path, now_clock: FrozenClock, faults: Faults
) -> None:
    before = (aws_dir / "credentials").read_bytes()
    faults.invalid_code_once = True
    app = make_app(aws_dir, now_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("test-user")
        await pilot.press("r")
        await settle(app, pilot)
        prompt = await type_code(app, pilot, "111111")
        assert app.screen is prompt
        assert prompt.error_text, "the STS error is shown in the prompt"
        assert prompt.query_one(CodeInput).value == ""
        assert (aws_dir / "credentials").read_bytes() == before
        await type_code(app, pilot, "222222")
        assert not isinstance(app.screen, MfaPrompt)
        assert load_profiles().profiles["test-user-mfa"].expiration is not None


async def test_a_slow_sts_does_not_block_the_keys(
    world: dict[str, str], aws_dir: Path, now_clock: FrozenClock, faults: Faults
) -> None:
    app = make_app(aws_dir, now_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("test-user")
        await pilot.press("r")
        await settle(app, pilot)
        await type_code(app, pilot, "123456")
        faults.delay = 2.0
        app.table.select("my-test-role")
        await pilot.press("r")
        await pilot.pause(0.2)
        assert app.policy.in_flight("my-test-role")
        started = now_clock.monotonic()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)  # answered while STS sleeps
        await pilot.press("escape")
        await pilot.pause()
        assert app.policy.in_flight("my-test-role")
        assert now_clock.monotonic() == started
        await settle(app, pilot)
        assert not app.policy.in_flight("my-test-role")
        assert load_profiles().profiles["my-test-role-mfa"].expiration is not None


async def test_background_refresh_renews_a_role_inside_its_margin(
    world: dict[str, str], aws_dir: Path, now_clock: FrozenClock, faults: Faults
) -> None:
    app = make_app(aws_dir, now_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("enter")
        await settle(app, pilot)
        await type_code(app, pilot, "123456")
        first = load_profiles().profiles["my-test-role-mfa"].expiration
        assert first is not None
        calls = len(faults.actions)
        now_clock.advance((first - now_clock.now()).total_seconds() - 120)
        app.tick()
        await settle(app, pilot)
        assert faults.actions[calls:] == ["AssumeRole"]  # no code, no GetSessionToken
        assert not isinstance(app.screen, MfaPrompt)
