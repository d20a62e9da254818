"""Keystroke to updated screen in the dashboard's filter, timed with Textual's pilot.

The real dashboard (ServiceBackend on generated files, no keyring, no AWS calls) runs
headless and the pilot presses each key. One sample is the app's own time from the key
to the updated screen: handling the key (from its arrival in the app's queue) plus
composing the screen that follows (Textual's compositor update). Not counted: the
pilot's own waiting between keys, and the wait for Textual's next 60 Hz frame (at most
16.7 ms, the same for every Textual app). A query is typed, held backspace erases it,
another is typed, as a person looking for a profile does.

Run alone: `uv run python bench/filter_keys.py [PROFILES]`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.generate import write as write_files  # noqa: E402

# What is typed: words, backspaces, more words (each string is one key). Each run of
# backspaces deletes exactly what is there, so one lost key shows in the final text.
KEYS: tuple[str, ...] = (
    *"role 0042",
    *["backspace"] * 9,
    *"user-0123",
    *["backspace"] * 4,
    *"9 tun",
    *["backspace"] * 10,
    *"chained",
)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def one_run(profiles: int, folder: Path) -> tuple[list[float], str]:
    from textual import events

    import mfa_tui.tui.app as app_module
    from mfa_tui.aws.files import AwsPaths
    from mfa_tui.core.backend import ServiceBackend
    from mfa_tui.tui.app import MfaTuiApp

    class NoAliases(ServiceBackend):
        def look_up_aliases(self, account_ids: object) -> dict[str, str]:
            return {}  # no IAM from a benchmark

    backend = NoAliases(
        AwsPaths(folder / "config", folder / "credentials"),
        settings_file=folder / "mfa-tui.toml",
    )

    class Timed(MfaTuiApp):
        """Times each key's handling."""

        CSS_PATH = str(Path(app_module.__file__).parent / "app.tcss")
        handled: list[float]

        async def on_event(self, event: events.Event) -> None:
            if not isinstance(event, events.Key) or event.is_forwarded:
                await super().on_event(event)
                return
            start = time.perf_counter()
            await super().on_event(event)
            self.handled.append(time.perf_counter() - start)

    app = Timed(backend, tick_seconds=3600, background_refresh=False)
    app.handled = []
    samples: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        while app.dashboard.snapshot is None:
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("slash")
        screen = app.screen
        composed: list[float] = []
        update = screen._on_timer_update

        def timed_update() -> None:
            start = time.perf_counter()
            update()
            composed.append(time.perf_counter() - start)

        screen._on_timer_update = timed_update  # type: ignore[method-assign]
        for key in KEYS:
            app.handled.clear()
            composed.clear()
            await pilot.press("space" if key == " " else key)
            timed_update()  # whatever the frame timer has not drawn yet
            samples.append(sum(app.handled) + max(composed))
        typed = app.dashboard.filter_field.value
    return samples, typed


def expected_text() -> str:
    text = ""
    for key in KEYS:
        text = text[:-1] if key == "backspace" else text + key
    return text


def measure(profiles: int, runs: int) -> list[tuple[float, float]]:
    """(p95, median) of each run, in seconds."""
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    out = []
    with tempfile.TemporaryDirectory(prefix="mfa-tui-filter-") as tmp:
        folder = Path(tmp)
        write_files(folder, profiles)
        os.environ["MFA_TUI_STATE_DIR"] = str(folder / "state")
        for _ in range(runs + 1):  # the first is a warm-up
            samples, typed = asyncio.run(one_run(profiles, folder))
            if typed != expected_text():
                raise SystemExit(f"bench: keys were lost: typed {typed!r}")
            out.append((percentile(samples, 95), statistics.median(samples)))
    return out[1:]


def main() -> None:
    profiles = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    for p95, median in measure(profiles, 3):
        print(f"{profiles} profiles: p95 {p95 * 1000:.1f} ms, median {median * 1000:.1f} ms")


if __name__ == "__main__":
    main()
