"""The `t` screen: paste a TOTP seed (masked), see the current code, confirm to save.

The seed never leaves this screen except as the dismiss value the app hands to the
keyring; it is not logged, not shown, and not kept after the screen closes.
"""

from __future__ import annotations

import binascii
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mfa_tui.clock import Clock
from mfa_tui.core.codes import TOTP_STEP, normalize_seed, totp_at
from mfa_tui.errors import MfaTuiError


def current_code(seed: str, at: float) -> str | None:
    """The TOTP code for a normalised `seed` at unix time `at`, or None if pyotp refuses
    it (too short for it)."""
    try:
        return totp_at(seed, at)[0]
    except (binascii.Error, ValueError):
        return None


class TotpSetup(ModalScreen[str | None]):
    """Dismisses with the normalised seed once confirmed, None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, profile: str, mfa_serial: str, clock: Clock) -> None:
        super().__init__()
        self.profile = profile
        self.mfa_serial = mfa_serial
        self.clock = clock
        self.seed: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"TOTP seed for {self.profile}", id="title", markup=False)
            yield Static(f"Device: {self.mfa_serial}", id="device", markup=False)
            yield Static(
                "Paste the base32 secret of this virtual MFA device (shown when the device "
                "is created, or as the secret= part of its QR code). It is stored in your "
                "OS keyring, never in a file.",
                id="explain",
            )
            yield Input(placeholder="base32 seed", password=True, id="seed")
            yield Static("", id="current", markup=False)
            yield Static("", id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary", disabled=True)
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = "TOTP setup"
        self.query_one("#seed", Input).focus()
        self.set_interval(1.0, self._show_code)

    @on(Input.Changed, "#seed")
    def _changed(self, event: Input.Changed) -> None:
        problem = ""
        try:
            seed: str | None = normalize_seed(event.value) if event.value.strip() else None
        except MfaTuiError as exc:
            seed, problem = None, exc.message
        if seed is not None and current_code(seed, self.clock.time()) is None:
            seed, problem = None, "that seed is too short to make codes from"
        self.seed = seed
        self.query_one("#save", Button).disabled = seed is None
        self.query_one("#error", Static).update(problem)
        self._show_code()

    @on(Input.Submitted, "#seed")
    def _entered(self) -> None:
        if self.seed is not None:
            self.query_one("#save", Button).focus()

    def _show_code(self) -> None:
        now = self.clock.time()
        code = current_code(self.seed, now) if self.seed else None
        label = self.query_one("#current", Static)
        if code is None:
            label.update("")
            return
        left = TOTP_STEP - int(now) % TOTP_STEP
        label.update(f"Your device should show {code[:3]} {code[3:]} now ({left} s left).")

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        if self.seed is not None:
            self.dismiss(self.seed)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
