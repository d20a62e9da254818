"""The `t` screen: paste a TOTP seed (masked), see the current code, confirm to save.

The seed never leaves this screen except as the dismiss value the app hands to the
keyring; it is not logged, not shown, and not kept after the screen closes.
"""

from __future__ import annotations

import binascii
import re
from typing import ClassVar

import pyotp
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mfa_tui.clock import Clock

STEP = 30


def normalise_seed(text: str) -> str:
    """Upper-case base32 without spaces or dashes, as authenticator apps show it."""
    return re.sub(r"[\s-]", "", text).upper().rstrip("=")


def current_code(seed: str, at: float) -> str | None:
    """The TOTP code for `seed` at unix time `at`, or None if it is not base32."""
    if not seed or not re.fullmatch(r"[A-Z2-7]+", seed):
        return None
    try:
        return str(pyotp.TOTP(seed).at(int(at)))
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
            yield Label(f"TOTP seed for {self.profile}", id="title")
            yield Static(f"Device: {self.mfa_serial}", id="device", markup=False)
            yield Static(
                "Paste the base32 secret of this virtual MFA device (shown when the device "
                "is created, or as the secret= part of its QR code). It is stored in your "
                "OS keyring, never in a file.",
                id="explain",
            )
            yield Input(placeholder="base32 seed", password=True, id="seed")
            yield Static("", id="current")
            yield Static("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary", disabled=True)
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = "TOTP setup"
        self.query_one("#seed", Input).focus()
        self.set_interval(1.0, self._show_code)

    @on(Input.Changed, "#seed")
    def _changed(self, event: Input.Changed) -> None:
        seed = normalise_seed(event.value)
        self.seed = seed if current_code(seed, self.clock.time()) else None
        self.query_one("#save", Button).disabled = self.seed is None
        error = self.query_one("#error", Static)
        if seed and self.seed is None:
            error.update("Not a complete base32 seed yet (A–Z and 2–7; AWS's have 64).")
        else:
            error.update("")
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
        left = STEP - int(now) % STEP
        label.update(f"Your device should show {code[:3]} {code[3:]} now ({left} s left).")

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        if self.seed is not None:
            self.dismiss(self.seed)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
