"""The MFA code prompt: which device, who waits, digits only, submits itself at six.

One prompt serves one MFA device, for every caller waiting on it (the person's own
switch, tools asking through the agent). It does not call AWS: it posts `Submitted` or
`Cancelled`, and shows whatever the PromptBroker's state says next (AWS's answer to a
wrong code in place, with an empty field for the next code; "checking" while a code is
with AWS). The prompt desk closes it when the broker says the device is done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from mfa_tui.core.asking import PromptState
from mfa_tui.errors import CodeRequest

CODE_LENGTH = 6


class CodeInput(Input):
    """A six-digit field; a pasted code keeps its digits and drops spaces and dashes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="123456",
            restrict=r"[0-9]*",
            max_length=CODE_LENGTH,
            id=id,
        )

    def _on_paste(self, event: events.Paste) -> None:
        digits = re.sub(r"\D", "", event.text.splitlines()[0] if event.text else "")
        room = CODE_LENGTH - len(self.value)
        if digits and room > 0:
            self.insert_text_at_cursor(digits[:room])
        event.stop()


def purpose_of(state: PromptState) -> str:
    """One line saying who waits for the code: "Switch to admin", "terraform is waiting
    for my-test-role (and 2 more)"."""
    if not state.callers:
        return f"A code for {state.request.profile}"
    caller, purpose = state.callers[0]
    line = purpose if caller == "you" else f"{caller} is waiting for {purpose}"
    others = len(state.callers) - 1
    if others:
        line += f" (and {others} more waiting)"
    return line


class MfaPrompt(ModalScreen[None]):
    """Asks for one device's code; closed by the prompt desk, not by itself."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=True)]

    @dataclass
    class Submitted(Message):
        """The person typed six digits for the device `mfa_serial`."""

        mfa_serial: str
        code: str

    @dataclass
    class Cancelled(Message):
        """The person pressed escape: every caller waiting on `mfa_serial` gives up."""

        mfa_serial: str

    def __init__(self, state: PromptState, *, hint: Callable[[], str | None] | None = None) -> None:
        """Args:
        state: the device, its callers and the last problem (PromptBroker's).
        hint: a line under the device, re-read every second (the demo's current code).
        """
        super().__init__()
        self.state = state
        self.hint = hint
        self.busy = False
        self.attempts = 0

    @property
    def wanted(self) -> CodeRequest:
        """The device and the first profile asked for."""
        return self.state.request

    @property
    def mfa_serial(self) -> str:
        return self.state.request.mfa_serial

    @property
    def purpose(self) -> str:
        return purpose_of(self.state)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            # Names and messages come from the files, AWS and callers: shown as text,
            # never read as markup (`[/]` in a name would end the dashboard).
            yield Label(f"MFA code for {self.wanted.profile}", id="title", markup=False)
            yield Static(self.purpose, id="purpose", markup=False)
            yield Static(self._device_text(), id="device", markup=False)
            yield Static("", id="code-hint", markup=False)
            yield CodeInput(id="code")
            yield Static("", id="error", markup=False)
            yield Static("Submits at 6 digits · esc cancels", id="hint", markup=False)

    def _device_text(self) -> str:
        user = self.wanted.user
        who = f" (user {user})" if user and user != self.wanted.profile else ""
        return f"Device: {self.wanted.mfa_serial or 'unknown'}{who}"

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = "MFA"
        self.query_one(CodeInput).focus()
        self.query_one("#code-hint").display = self.hint is not None
        if self.hint is not None:
            self._show_hint()
            self.set_interval(1.0, self._show_hint)
        self.show(self.state)

    def _show_hint(self) -> None:
        text = self.hint() if self.hint is not None else None
        self.query_one("#code-hint", Static).update(text or "")

    @property
    def error_text(self) -> str:
        return str(self.query_one("#error", Static).render())

    def show(self, state: PromptState) -> None:
        """Show the broker's latest word: who waits, AWS's answer, whose turn it is."""
        self.state = state
        self.query_one("#purpose", Static).update(self.purpose)
        field = self.query_one(CodeInput)
        if not state.waiting_for_code:
            return  # a code is with AWS (or between two callers): keep "Checking…"
        if state.problem is not None:
            field.value = ""
            self._set_error(state.problem)
            self.query_one("#hint", Static).update("Type the next code · esc cancels")
        if self.busy or field.disabled:
            self.busy = False
            field.disabled = False
            field.focus()

    @on(Input.Changed, "#code")
    def _changed(self, event: Input.Changed) -> None:
        if len(event.value) == CODE_LENGTH and not self.busy:
            self._submit(event.value)
        elif event.value:
            self._set_error("")

    @on(Input.Submitted, "#code")
    def _entered(self, event: Input.Submitted) -> None:
        if self.busy:
            return
        if len(event.value) != CODE_LENGTH:
            self._set_error(f"The code has {CODE_LENGTH} digits; you typed {len(event.value)}.")
            return
        self._submit(event.value)

    def _submit(self, code: str) -> None:
        self.busy = True
        self.attempts += 1
        self._set_error("")
        field = self.query_one(CodeInput)
        field.disabled = True
        self.query_one("#hint", Static).update("Checking with AWS…")
        self.post_message(self.Submitted(self.mfa_serial, code))

    def _set_error(self, message: str) -> None:
        error = self.query_one("#error", Static)
        error.update(message)
        error.set_class(bool(message), "-shown")

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self.mfa_serial))
