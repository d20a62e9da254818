"""The prompt desk: the dashboard's MFA prompts, all in one place.

The PromptBroker (core/asking.py) decides which devices need a code and who waits for
each; the desk shows that: one `MfaPrompt` on screen at a time, other devices waiting
their turn in order, each prompt updated in place as callers join or AWS answers, and
closed when the broker says the device is done. What the person types or cancels goes
back to the broker. The desk rings once for each program that starts waiting.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from mfa_tui.core.asking import Asker, PromptBroker, PromptState
from mfa_tui.tui.messages import PromptChanged
from mfa_tui.tui.screens.mfa_prompt import MfaPrompt, purpose_of
from mfa_tui.tui.widgets.event_log import EventKind

if TYPE_CHECKING:
    from textual.app import App

    from mfa_tui.tui.app import MfaTuiApp


class PromptDesk:
    """Shows the broker's prompts on `app`, one at a time.

    Args:
        app: the dashboard app (prompts are pushed on it, events logged in it).
        code_hint: given an MFA serial, a line for the prompt (the demo's current code).
    """

    def __init__(self, app: MfaTuiApp, code_hint: Callable[[str], str | None] | None) -> None:
        self.app = app
        self.code_hint = code_hint
        self.broker = PromptBroker(self._from_any_thread)
        self.prompt: MfaPrompt | None = None
        self._states: dict[str, PromptState] = {}
        self._queue: deque[str] = deque()
        # (serial, caller) pairs already announced, so each program rings once.
        self._announced: set[tuple[str, str]] = set()

    def _from_any_thread(self, serial: str, state: PromptState | None, why: str) -> None:
        # post_message is safe from any thread; the desk itself runs on the UI's.
        target: App[None] = self.app
        target.post_message(PromptChanged(serial, state, why))

    def changed(self, message: PromptChanged) -> None:
        serial, state = message.mfa_serial, message.state
        if state is None:
            self._closed(serial, message.why)
            return
        self._states[serial] = state
        self._announce(serial, state)
        if self.prompt is not None and self.prompt.mfa_serial == serial:
            self.prompt.show(state)
        elif self.prompt is None:
            self._open(serial)
        elif serial not in self._queue:
            self._queue.append(serial)

    def _announce(self, serial: str, state: PromptState) -> None:
        """A program that starts waiting rings the bell and says who it is."""
        for caller, profile in state.callers:
            if caller == "you" or (serial, caller) in self._announced:
                continue
            self._announced.add((serial, caller))
            device = serial.rsplit("/", 1)[-1] or "your MFA device"
            self.app.bell()
            self.app.notify(
                f"{caller} is waiting for {profile}: type the code from {device}",
                title="MFA code needed",
                severity="warning",
                markup=False,
                timeout=20,
            )
            self.app.log_event(
                EventKind.WARN, f"{caller} is waiting for {profile}: MFA code needed"
            )
            self.app.desktop_notify(
                "mfa-tui: MFA code needed",
                f"{caller} is waiting for {profile}: type the code from {device}",
            )

    def _open(self, serial: str) -> None:
        state = self._states[serial]
        hint = partial(self.code_hint, serial) if self.code_hint else None
        prompt = MfaPrompt(state, hint=hint)
        self.prompt = prompt
        self.app.push_screen(prompt)

    def _closed(self, serial: str, why: str) -> None:
        state = self._states.pop(serial, None)
        self._announced = {pair for pair in self._announced if pair[0] != serial}
        if serial in self._queue:
            self._queue.remove(serial)
        if why == "cancelled" and state is not None:
            self.app.log_event(EventKind.INFO, f"{state.request.profile}: MFA prompt cancelled")
        elif why == "gone" and state is not None:
            self.app.log_event(
                EventKind.INFO,
                f"{purpose_of(state)}: nobody waits for the code any more; prompt closed",
            )
        if self.prompt is not None and self.prompt.mfa_serial == serial:
            prompt, self.prompt = self.prompt, None
            if prompt.is_attached:
                prompt.dismiss()
            if self._queue:
                self._open(self._queue.popleft())

    def submit(self, serial: str, code: str) -> None:
        if not self.broker.submit(serial, code):
            self._closed(serial, "gone")

    def cancel(self, serial: str) -> None:
        if not self.broker.cancel(serial):
            self._closed(serial, "cancelled")

    def asker_for(
        self,
        profile: str,
        *,
        activate: bool,
        step_wait: Callable[[float, str], None] | None = None,
    ) -> Asker:
        """The asker for the person's own switch or refresh of `profile`."""
        verb = "Switch to" if activate else "Refresh"
        return self.broker.asker("you", f"{verb} {profile}", step_wait)
