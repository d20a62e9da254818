"""The MFA code prompt: which device, digits only, submits itself at six digits.

The prompt does not call AWS. It posts `MfaPrompt.Submitted`; the app runs the refresh
in a worker and answers with `succeeded()` (the prompt closes) or `failed()` (the error
shows in place, the field empties, and the person types the next code).
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

from mfa_tui.core.backend import CodeWanted

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


class MfaPrompt(ModalScreen[bool]):
    """Asks for one code; dismisses with True once the refresh worked, False on cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=True)]

    @dataclass
    class Submitted(Message):
        """The person typed six digits for `profile`."""

        prompt: MfaPrompt
        profile: str
        code: str

    def __init__(
        self,
        wanted: CodeWanted,
        *,
        purpose: str,
        activate: bool = False,
        hint: Callable[[], str | None] | None = None,
    ) -> None:
        """Args:
        wanted: the profile and device the code is for.
        purpose: one line saying what the code will do ("Switch to admin").
        activate: carried for the app: switch after the refresh.
        hint: a line under the device, re-read every second (the demo's current code).
        """
        super().__init__()
        self.wanted = wanted
        self.hint = hint
        self.purpose = purpose
        self.activate = activate
        self.busy = False
        self.attempts = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            # Names and messages come from the files, AWS and callers: shown as text,
            # never read as markup (`[/]` in a name would end the dashboard).
            yield Label(f"MFA code for {self.wanted.profile}", id="title", markup=False)
            yield Static(self.purpose, id="purpose", markup=False)
            device = Static(id="device", markup=False)
            device.update(self._device_text())
            yield device
            yield Static("", id="code-hint", markup=False)
            yield CodeInput(id="code")
            yield Static("", id="error", markup=False)
            yield Static("Submits at 6 digits · esc cancels", id="hint")

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

    def _show_hint(self) -> None:
        text = self.hint() if self.hint is not None else None
        self.query_one("#code-hint", Static).update(text or "")

    @property
    def error_text(self) -> str:
        return str(self.query_one("#error", Static).render())

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
        self.post_message(self.Submitted(self, self.wanted.profile, code))

    def _set_error(self, message: str) -> None:
        error = self.query_one("#error", Static)
        error.update(message)
        error.set_class(bool(message), "-shown")

    def failed(self, message: str) -> None:
        """Show why the code did not work and let the person type the next one."""
        self.busy = False
        field = self.query_one(CodeInput)
        field.disabled = False
        field.value = ""
        field.focus()
        self.query_one("#hint", Static).update("Type the next code · esc cancels")
        self._set_error(message)

    def succeeded(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
