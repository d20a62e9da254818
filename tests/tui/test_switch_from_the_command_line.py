"""A running dashboard shows what `mfa-tui use` did in another process: it watches the
credentials file, and the switch is a change to it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from mfa_tui.clock import FrozenClock
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.widgets.status_header import StatusHeader
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox
from tests.test_cli_session import mfa_tui
from tests.tui.test_app_sts import settle


async def test_the_dashboard_shows_a_switch_made_by_mfa_tui_use(
    sandbox: Sandbox, memory_keyring: MemoryKeyring
) -> None:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    backend = ServiceBackend(sandbox.paths, clock=clock, keyring_backend=memory_keyring)
    # No ticks of their own: the test says when the dashboard looks at the files.
    app = MfaTuiApp(backend, clock=clock, tick_seconds=10_000, background_refresh=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(app, pilot)
        header = app.dashboard.query_one(StatusHeader)
        assert "no active session" in header.plain(clock.now())
        done = await asyncio.to_thread(mfa_tui, "use", "my-test-role", "--code", "123456")
        assert done.returncode == 0, done.stderr
        app.dashboard.tick()  # the once-a-second look at the files
        await settle(app, pilot)
        assert "active: my-test-role → mfa-tui " in header.plain(clock.now())
        row = app.table.row_state("my-test-role")
        assert row is not None and row.active
        done = await asyncio.to_thread(mfa_tui, "use", "readonly-role")
        assert done.returncode == 0, done.stderr
        app.dashboard.tick()
        await settle(app, pilot)
        assert "active: readonly-role → mfa-tui" in header.plain(clock.now())
        old, new = app.table.row_state("my-test-role"), app.table.row_state("readonly-role")
        assert old is not None and not old.active
        assert new is not None and new.active
