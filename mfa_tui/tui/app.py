"""The dashboard app: the dashboard screen, its prompts, the agent and the process.

The screen (screens/dashboard.py) shows profiles and runs refreshes; the prompt desk
(prompts.py) shows the MFA prompts every caller shares; this module holds what belongs
to the process: the engine's door and the clock the screen uses, the agent that serves
`credential-process` callers while the dashboard runs, keys typed before the first
screen is ready, and what happens on a signal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar, NoReturn

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import Notify
from textual.screen import Screen
from textual.theme import Theme

from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.backend import Backend
from mfa_tui.errors import MfaTuiError
from mfa_tui.tui.agent_bridge import AgentBridge
from mfa_tui.tui.commands import ProfileCommands
from mfa_tui.tui.desktop_notify import Notifier
from mfa_tui.tui.event_loop import run_app
from mfa_tui.tui.messages import PromptChanged
from mfa_tui.tui.prompts import PromptDesk
from mfa_tui.tui.screens.dashboard import Dashboard
from mfa_tui.tui.screens.mfa_prompt import MfaPrompt
from mfa_tui.tui.screens.mfa_setup import SetupScreen
from mfa_tui.tui.typeahead import TypeAhead
from mfa_tui.tui.widgets.event_log import EventKind, EventLog
from mfa_tui.tui.widgets.profile_table import ProfileTable

TICK_SECONDS = 1.0
# Seconds a SIGTERM'd dashboard has to exit the normal way before it is made to.
EXIT_GRACE = 5.0


class MfaTuiApp(App[None]):
    """The dashboard. `backend` is the engine's door; `clock` is injected for tests."""

    TITLE = "mfa-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ProfileCommands}
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock = SYSTEM_CLOCK,
        tick_seconds: float = TICK_SECONDS,
        background_refresh: bool = True,
        code_hint: Callable[[str], str | None] | None = None,
        title_note: str = "",
        agent: bool = False,
        last_words: Callable[[], None] | None = None,
        desktop_notifications: bool = False,
        notifier: Notifier | None = None,
    ) -> None:
        """Args:
        backend: reads the files and talks to STS (a fake in tests).
        clock: wall time for countdowns and expiry; frozen in tests.
        tick_seconds: how often countdowns repaint and the files are polled.
        background_refresh: False stops background refreshes entirely (per-profile switches
            still apply when True).
        code_hint: given an MFA serial, a line for the prompt (the demo shows the code
            its virtual device would display).
        title_note: shown in the header beside the name, e.g. "demo sandbox".
        agent: listen on the agent socket, so `credential-process` callers that need a
            code are asked for it here (off in tests that do not exercise it).
        last_words: what must still happen if a signal forces the process out before
            `run` returns (the demo removes its sandbox); see `_signalled`.
        desktop_notifications: send desktop notifications (when the settings allow):
            the desktop's service, else the terminal's escape. Off in tests.
        notifier: where desktop notifications go instead (tests record them).
        """
        super().__init__()
        self.backend = backend
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.background_refresh = background_refresh
        self.title_note = title_note
        self.agent = agent
        self.last_words = last_words
        self.notifier = notifier
        self.desktop_notifications = desktop_notifications or notifier is not None
        self.desk = PromptDesk(self, code_hint)
        self.agent_bridge: AgentBridge | None = None
        self.dashboard = Dashboard(title_note)
        self._typeahead = TypeAhead()
        self._applying_theme = False
        self._clock_warned = False
        self._finished = threading.Event()
        # Signals the event loop handles while the app runs, and their handlers before.
        self._signals: list[tuple[int, Any]] = []

    def get_default_screen(self) -> Screen[Any]:
        return self.dashboard

    # --- for tests and the command palette ---------------------------------------------

    @property
    def table(self) -> ProfileTable:
        return self.dashboard.table

    @property
    def event_log(self) -> EventLog:
        return self.dashboard.event_log

    @property
    def prompt(self) -> MfaPrompt | None:
        """The MFA prompt on screen, if one is."""
        return self.desk.prompt

    async def workers_settled(self) -> None:
        """Wait until every worker has finished or waits for the person's code.

        A refresh the person asked for runs in a worker that waits while the prompt is
        open; "settled" is the state a person sees: nothing left to happen by itself.
        """
        refreshes = self.dashboard.refreshes
        while True:
            busy = [
                w for w in self.workers if not w.is_finished and not refreshes.waits_for_person(w)
            ]
            if not busy and not self.dashboard.after_first_screen_pending:
                return
            await asyncio.sleep(0.01)

    def log_event(self, kind: EventKind, message: str) -> None:
        self.dashboard.log_event(kind, message)

    # --- start and stop ----------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.agent:
            self._start_agent()
        self._take_signals()

    def _theme_changed(self, theme: Theme) -> None:
        self.dashboard.repaint_for_theme()
        if not self._applying_theme:
            self.dashboard.save_theme(theme.name)

    def apply_theme(self, name: str | None) -> None:
        """The theme the settings name (the person's last choice), if Textual has it."""
        if not name or name == self.theme:
            return
        if name not in self.available_themes:
            self.log_event(
                EventKind.WARN, f"Theme '{name}' in the settings is not known; kept {self.theme}"
            )
            return
        self._applying_theme = True
        try:
            self.theme = name
        finally:
            self._applying_theme = False

    # --- desktop notifications -------------------------------------------------------------

    def desktop_notify(self, title: str, body: str) -> None:
        """A desktop notification (for what needs the person while they look elsewhere)."""
        snapshot = self.dashboard.snapshot
        if not self.desktop_notifications or (
            snapshot is not None and not snapshot.settings.desktop_notifications
        ):
            return
        if self.notifier is None:
            from mfa_tui.tui.desktop_notify import system_notifier, terminal_escape

            self.notifier = system_notifier()
            if self.notifier is None:
                if not self.is_headless and self._driver is not None:
                    self._driver.write(terminal_escape(title, body))
                return
        self._send_notification(self.notifier, title, body)

    @work(thread=True, group="notify", exit_on_error=False)
    def _send_notification(self, notifier: Notifier, title: str, body: str) -> None:
        # A notification service that is missing or slow must never stop the dashboard.
        with suppress(Exception):
            notifier(title, body)

    def _start_agent(self) -> None:
        from mfa_tui.core.agent import socket_path

        bridge = AgentBridge(self.backend, self.desk.broker)
        why_not = bridge.start()
        if why_not is not None:
            self.log_event(EventKind.WARN, f"Not answering credential-process callers: {why_not}")
            return
        self.agent_bridge = bridge
        self.log_event(EventKind.INFO, f"Answering credential-process callers on {socket_path()}")

    def on_notify(self, event: Notify) -> None:
        # Textual shows it (its own handler ran first); the dashboard makes room for it.
        screen = self.screen
        if isinstance(screen, Dashboard):
            screen.call_after_refresh(screen.make_room_for, event.notification)

    def on_unmount(self) -> None:
        if self.agent_bridge is not None:
            self.agent_bridge.stop()
        loop = asyncio.get_running_loop()
        for signum, previous in self._signals:
            loop.remove_signal_handler(signum)
            signal.signal(signum, previous)
        self._signals.clear()

    def _take_signals(self) -> None:
        """Handle a closed terminal (SIGHUP) and a kill (SIGTERM) on the event loop.

        Python's defaults end the process on the spot (the agent's socket stays behind);
        a handler raising SystemExit from wherever the main thread was unwinds past
        Textual's driver, whose input thread then spins on the dead terminal at full CPU.
        """
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            previous = signal.getsignal(signum)
            with suppress(NotImplementedError, RuntimeError, ValueError, AttributeError):
                loop.add_signal_handler(signum, self._signalled, signum)
                self._signals.append((signum, previous))

    def _signalled(self, signum: int) -> None:
        """Exit the normal way; in a real terminal, make sure the process does end.

        Textual's orderly shutdown writes to the terminal; after a hang-up it has been
        seen to block for good in its writer queue (5 hang-ups in 6 left a dashboard
        behind), so a closed terminal ends the process at once, after the last words.
        A SIGTERM gets EXIT_GRACE seconds to exit the normal way (and give the terminal
        back) first. Under a test pilot there is no terminal and nothing is forced.
        """
        code = 128 + signum
        if not self.is_headless:
            if signum == signal.SIGHUP:
                self._leave_now(code)
            threading.Thread(
                target=self._leave_if_stuck, args=(code,), name="mfa-tui-exit", daemon=True
            ).start()
        self.exit(return_code=code)

    def _leave_if_stuck(self, code: int) -> None:
        if not self._finished.wait(EXIT_GRACE):
            self._leave_now(code)

    def _leave_now(self, code: int) -> NoReturn:
        """As SIGKILL would, but with the agent's socket and the last words cleaned up
        (a write cut short leaves the credentials file whole: see docs/reliability.md)."""
        if self.agent_bridge is not None:
            with suppress(Exception):
                self.agent_bridge.stop()
        if self.last_words is not None:
            with suppress(Exception):
                self.last_words()
        os._exit(code)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            # Quitting never waits for a worker blocked in a call (see event_loop).
            return run_app(super().run, *args, **kwargs)
        finally:
            self._finished.set()

    # --- keys typed ahead ----------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if self._typeahead.hold(event):
            return
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and self.screen is self.dashboard
            and await self.dashboard.take_key(event)
        ):
            # Taken in the order typed, wherever the focus is (see Dashboard.take_key).
            event.stop()
            return
        await super().on_event(event)

    def release_typeahead(self) -> None:
        """The profiles are on screen: play the keys typed before, in order."""
        self._typeahead.release(self.post_message)

    # --- the clock -------------------------------------------------------------------------

    def check_clock(self) -> None:
        """Say once when AWS's answers show this computer's clock is off."""
        if self._clock_warned:
            return
        from mfa_tui.aws.sts import SERVER_CLOCK, clock_warning

        skew = SERVER_CLOCK.skew_seconds()
        warning = clock_warning(skew)
        if warning is None or skew is None:
            return
        self._clock_warned = True
        if type(self.clock) is Clock:
            # Expiry times are AWS's: count down on AWS's time, not on a wrong local one.
            self.clock.skew = timedelta(seconds=-skew)
        self.log_event(EventKind.WARN, warning[0].upper() + warning[1:])
        self.notify(warning, title="Clock", severity="warning", markup=False, timeout=15)

    # --- prompts ---------------------------------------------------------------------------

    @on(PromptChanged)
    def _prompt_changed(self, message: PromptChanged) -> None:
        self.desk.changed(message)
        self.dashboard.update_rows()  # rows say who waits for a code

    @on(MfaPrompt.Submitted)
    def _code_submitted(self, message: MfaPrompt.Submitted) -> None:
        self.desk.submit(message.mfa_serial, message.code)

    @on(MfaPrompt.Cancelled)
    def _prompt_cancelled(self, message: MfaPrompt.Cancelled) -> None:
        self.desk.cancel(message.mfa_serial)

    # --- MFA setup: the screen asks, a worker runs the step (tui/setup_steps.py) ---------

    @on(SetupScreen.Request)
    def _setup_step(self, message: SetupScreen.Request) -> None:
        from mfa_tui.tui.setup_steps import run_step

        self.run_worker(
            partial(run_step, self.backend, message),
            thread=True,
            group="setup",
            exit_on_error=False,
            name=f"setup {message.step} {message.profile}",
        )

    # --- for the command palette -----------------------------------------------------------

    def action_setup(self, name: str | None = None) -> None:
        self.dashboard.action_setup(name)

    def managed_profile_names(self) -> list[str]:
        return self.dashboard.managed_profile_names()

    def switch_to(self, name: str) -> None:
        self.dashboard.switch_to(name)

    def refresh_profile(self, name: str, *, force: bool = False) -> bool:
        return self.dashboard.refresh_profile(name, force=force)


__all__ = ["MfaTuiApp", "MfaTuiError"]
