"""Regenerate the README's screenshots (assets/*.svg) from the demo sandbox.

Run: `uv run python scripts/screenshots.py`. It drives the real dashboard headless on the
same moto sandbox as `mfa-tui demo`: one user refreshed with its stored seed, a role
switched to, then the main screen, a search and the help screen are saved as SVG, and
the QR step of `m` (MFA setup) for new-user. Nothing secret is on screen: the dashboard
never shows keys or tokens, and the new device's seed is a fixed test seed, not one moto
drew.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ASSETS = ROOT / "assets"
# RFC 4226's example secret, repeated: the seed the QR screenshot shows is no device's.
TEST_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def fixed_seed() -> None:
    """Make moto give every new virtual MFA device TEST_SEED instead of a random one."""
    from moto.iam import models

    made = models.VirtualMfaDevice.__init__

    def init(self: models.VirtualMfaDevice, *args: object, **kwargs: object) -> None:
        made(self, *args, **kwargs)  # type: ignore[arg-type]
        self.base32_string_seed = TEST_SEED

    models.VirtualMfaDevice.__init__ = init  # type: ignore[method-assign]


async def settled(app: Any, pilot: Any) -> None:
    """The files read, every worker done (the demo's refreshes need no person)."""
    while app.dashboard.snapshot is None:
        await pilot.pause(0.05)
    for _ in range(3):
        await app.workers_settled()
        await pilot.pause(0.1)


async def shoot() -> list[Path]:
    from mfa_tui.core.backend import ServiceBackend
    from mfa_tui.demo import demo_sandbox
    from mfa_tui.tui.app import MfaTuiApp

    saved: list[Path] = []
    fixed_seed()
    with demo_sandbox() as sandbox:
        app = MfaTuiApp(ServiceBackend(), code_hint=sandbox.hint, title_note="demo sandbox")
        async with app.run_test(size=(132, 34)) as pilot:
            await settled(app, pilot)
            for name in ("test-user", "my-test-role"):  # a seed; then from the user's session
                app.table.select(name)
                await pilot.press("enter")
                await settled(app, pilot)
            app.table.select("readonly-role")
            await settled(app, pilot)
            ASSETS.mkdir(exist_ok=True)
            saved.append(Path(app.save_screenshot("dashboard.svg", str(ASSETS))))
            await pilot.press("slash", *"chain")
            await settled(app, pilot)
            saved.append(Path(app.save_screenshot("find.svg", str(ASSETS))))
            await pilot.press("escape", "question_mark")
            await pilot.pause(0.5)
            saved.append(Path(app.save_screenshot("help.svg", str(ASSETS))))
            await pilot.press("escape")
            app.table.select("new-user")
            await pilot.press("m")  # MFA setup: new-user has keys and no device
            await settled(app, pilot)
            await pilot.press("enter")  # a new virtual device
            await settled(app, pilot)
            saved.append(Path(app.save_screenshot("setup.svg", str(ASSETS))))
            await pilot.press("escape")  # cancel: the device is deleted again
            await settled(app, pilot)
    return saved


def main() -> None:
    for path in asyncio.run(shoot()):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
