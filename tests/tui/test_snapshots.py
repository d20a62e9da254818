"""What the dashboard looks like, on fixed files and a frozen clock (SVG snapshots).

Update after an intended change with `uv run pytest tests/tui/test_snapshots.py
--snapshot-update`, then look at the SVGs before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from textual.pilot import Pilot

from mfa_tui.clock import FrozenClock
from mfa_tui.errors import NetworkError
from mfa_tui.tui.app import MfaTuiApp
from tests.tui.fakes import ACCOUNT, FakeBackend

SnapCompare = Callable[..., bool]


@pytest.fixture
def app(backend: FakeBackend, clock: FrozenClock) -> MfaTuiApp:
    """A morning in the life: a user session, two roles (one due soon), the chained role
    expired, and one role whose last refresh failed."""
    backend.aliases = {ACCOUNT: "acme-prod"}  # iam:ListAccountAliases, looked up at start
    backend.refresh("test-user", code="123456")
    backend.refresh("my-test-role")
    backend.activate("my-test-role")
    clock.advance(3600 - 240)  # my-test-role is inside its 5-minute margin now
    backend.refresh("admin")
    clock.advance(60)
    backend.calls.clear()
    return MfaTuiApp(backend, clock=clock, tick_seconds=10_000, background_refresh=False)


async def ready(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, MfaTuiApp)
    for _ in range(3):
        await app.workers_settled()
        await pilot.pause()
    app.table.select("my-test-role")
    await pilot.pause()


def test_main_screen_80x24(snap_compare: SnapCompare, app: MfaTuiApp) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_main_screen_120x32(snap_compare: SnapCompare, app: MfaTuiApp) -> None:
    assert snap_compare(app, terminal_size=(120, 32), run_before=ready)


def test_main_screen_200x60(
    snap_compare: SnapCompare, app: MfaTuiApp, backend: FakeBackend
) -> None:
    async def with_failure(pilot: Pilot[None]) -> None:
        await ready(pilot)
        backend.fail_with = NetworkError(
            "STS (https://sts.eu-west-1.amazonaws.com) did not answer within 5 s; check your "
            "network or proxy"
        )
        app.table.select("admin")
        await pilot.press("r")
        for _ in range(3):
            await app.workers_settled()
            await pilot.pause()
        app.table.select("my-test-role")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(200, 60), run_before=with_failure)


def test_help_screen(snap_compare: SnapCompare, app: MfaTuiApp) -> None:
    async def open_help(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=open_help)


def test_mfa_prompt_with_a_wrong_code(
    snap_compare: SnapCompare, app: MfaTuiApp, clock: FrozenClock
) -> None:
    async def wrong_code(pilot: Pilot[None]) -> None:
        await ready(pilot)
        clock.advance(int(timedelta(hours=12).total_seconds()))  # everything has expired
        app.dashboard.tick()
        app.table.select("test-user")
        await pilot.press("r")
        for _ in range(3):
            await app.workers_settled()
            await pilot.pause()
        await pilot.press(*"000000")
        for _ in range(3):
            await app.workers_settled()
            await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=wrong_code)


def test_setup_screen_qr_step(snap_compare: SnapCompare, app: MfaTuiApp) -> None:
    """The QR step of `m`, with the fake setup's test seed (never a real device's)."""

    async def qr_step(pilot: Pilot[None]) -> None:
        await ready(pilot)
        app.table.select("test-user")
        await pilot.press("m")
        for _ in range(3):
            await app.workers_settled()
            await pilot.pause()
        await pilot.press("enter")
        for _ in range(3):
            await app.workers_settled()
            await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 36), run_before=qr_step)
