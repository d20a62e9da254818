"""Regenerate the README's screenshots (assets/*.svg) from the demo sandbox.

Run: `uv run python scripts/screenshots.py`. It drives the real dashboard headless on the
same moto sandbox as `mfa-tui demo`: one user refreshed with its stored seed, a role
switched to, then the main screen and the help screen are saved as SVG. Nothing secret is
on screen: the dashboard never shows keys or tokens.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ASSETS = ROOT / "assets"


async def shoot() -> list[Path]:
    from mfa_tui.core.backend import ServiceBackend
    from mfa_tui.demo import demo_sandbox
    from mfa_tui.tui.app import MfaTuiApp

    saved: list[Path] = []
    with demo_sandbox() as sandbox:
        app = MfaTuiApp(ServiceBackend(), code_hint=sandbox.hint, title_note="demo sandbox")
        async with app.run_test(size=(132, 34)) as pilot:
            await pilot.pause(0.5)
            await pilot.press("down", "enter")  # test-user: silent, TOTP seed
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            await pilot.press("down", "enter")  # my-test-role, from the user's session
            await app.workers.wait_for_complete()
            await pilot.press("down", "down")
            await pilot.pause(1.2)
            ASSETS.mkdir(exist_ok=True)
            saved.append(Path(app.save_screenshot("dashboard.svg", str(ASSETS))))
            await pilot.press("question_mark")
            await pilot.pause(0.5)
            saved.append(Path(app.save_screenshot("help.svg", str(ASSETS))))
    return saved


def main() -> None:
    for path in asyncio.run(shoot()):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
