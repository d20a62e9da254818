"""The dashboard's `c`: the AWS console as the selected role, on the real engine, moto and
a fake federation endpoint; the browser is a stand-in that follows nothing."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from textual.pilot import Pilot

from mfa_tui.clock import FrozenClock
from mfa_tui.core import console
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.core.sessions import SessionService
from mfa_tui.settings import Settings
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.screens.mfa_prompt import MfaPrompt
from tests.fake_signin import FakeSignin
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox
from tests.tui.test_app_sts import settle


class Browser:
    """Fetches the address it is given, as a browser would, and keeps where it was sent."""

    def __init__(self) -> None:
        self.given: list[str] = []
        self.sent_to: list[str] = []

    def __call__(self, url: str) -> bool:
        self.given.append(url)

        class Stay(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        try:
            urllib.request.build_opener(Stay).open(url, timeout=30)
        except urllib.error.HTTPError as exc:
            self.sent_to.append(exc.headers["Location"])
        return True


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Browser:
    fake = Browser()
    monkeypatch.setattr(console, "graphical_browser", fake)
    return fake


@pytest.fixture
def signin(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSignin]:
    with FakeSignin(sandbox.moto_url) as fake:
        monkeypatch.setenv("MFA_TUI_SIGNIN_URL", fake.url)
        yield fake


def make_app(sandbox: Sandbox, keyring: MemoryKeyring) -> tuple[MfaTuiApp, FrozenClock]:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    backend = ServiceBackend(sandbox.paths, clock=clock, keyring_backend=keyring)
    app = MfaTuiApp(backend, clock=clock, tick_seconds=10_000, background_refresh=False)
    return app, clock


async def wait_for(pilot: Pilot[None], done: object) -> None:
    for _ in range(400):
        if callable(done) and done():
            return
        await pilot.pause(0.05)
    raise AssertionError("never happened")


async def test_c_opens_the_console_as_the_selected_role(
    sandbox: Sandbox, memory_keyring: MemoryKeyring, signin: FakeSignin, browser: Browser
) -> None:
    SessionService(sandbox.paths, Settings()).refresh("test-user", code="123456")
    app, _ = make_app(sandbox, memory_keyring)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("my-test-role")
        await pilot.press("c")
        await settle(app, pilot)
        assert browser.given and browser.given[0].startswith("http://127.0.0.1:")
        assert "SigninToken" not in browser.given[0]
        url = browser.sent_to[0]
        token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["SigninToken"]
        assert ":assumed-role/my-test-role/" in signin.tokens[token].arn
        log = "\n".join(app.event_log.lines_written)
        assert "Opened the AWS console as my-test-role in your browser" in log
        assert token not in log
        # A user's session cannot sign in: the dashboard says so, nothing is sent.
        asked = len(signin.requests)
        app.table.select("test-user")
        await pilot.press("c")
        await settle(app, pilot)
        assert "GetSessionToken (user) session" in "\n".join(app.event_log.lines_written)
        assert len(signin.requests) == asked


async def test_c_asks_for_the_code_first_when_the_role_needs_one(
    sandbox: Sandbox, memory_keyring: MemoryKeyring, signin: FakeSignin, browser: Browser
) -> None:
    app, _ = make_app(sandbox, memory_keyring)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(app, pilot)
        app.table.select("readonly-role")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, MfaPrompt))
        await pilot.press(*"123456")
        await wait_for(pilot, lambda: bool(browser.sent_to))
        await settle(app, pilot)
        assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "123456"
        token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browser.sent_to[0]).query))
        assert ":assumed-role/readonly-role/" in signin.tokens[token["SigninToken"]].arn
