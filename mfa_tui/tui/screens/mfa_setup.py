"""The `m` screen: `mfa-tui setup` in the dashboard, one step at a time.

The screen never calls AWS. Each step it wants (look at the user, create a device,
enable it with two codes, use an existing one, delete an unfinished one) is a
`SetupScreen.Request` message; the app runs it in a thread worker
(`mfa_tui.tui.setup_steps`) and answers with a reply message that moves the screen on.
The seed is shown only as the QR code and the secret for typing by hand, and is
forgotten with the screen. Leaving before the device is enabled deletes it.

Dismisses with the user profile once a device is in use (the app then gets the first
session, asking for a code as usual), None when nothing was set up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from mfa_tui.core.qr import grouped, qr_rows
from mfa_tui.core.setup import STORE_SEED_WARNING, MfaSetup, PendingDevice, SetupTarget
from mfa_tui.tui.screens.mfa_prompt import CODE_LENGTH, CodeInput
from mfa_tui.tui.setup_steps import abandon_quietly

NEW = "new"


class Step(StrEnum):
    INSPECT = "inspect"
    CREATE = "create"
    ENABLE = "enable"
    USE = "use"
    ABANDON = "abandon"


class Stage(StrEnum):
    CHECKING = "checking"
    CHOOSING = "choosing"
    CODES = "codes"
    WORKING = "working"
    FAILED = "failed"


class SetupScreen(ModalScreen[str | None]):
    """Set up an MFA device for one user profile."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    # --- requests (screen -> app) -------------------------------------------------------

    @dataclass
    class Request(Message):
        """A step for the app to run in a worker; the reply comes back to `screen`."""

        screen: SetupScreen
        step: Step
        profile: str
        setup: MfaSetup | None = None
        target: SetupTarget | None = None
        pending: PendingDevice | None = None
        serial: str = ""
        device_name: str = ""
        store_seed: bool = False
        codes: tuple[str, str] = field(default=("", ""), repr=False)

    # --- replies (worker -> screen) -----------------------------------------------------

    @dataclass
    class Inspected(Message):
        setup: MfaSetup
        target: SetupTarget

    @dataclass
    class Created(Message):
        pending: PendingDevice

    @dataclass
    class InUse(Message):
        """A device is the profile's now; `done` says what was written."""

        serial: str
        done: list[str]

    @dataclass
    class Abandoned(Message):
        """The unfinished device is gone (`left` None) or how to remove it."""

        left: str | None

    @dataclass
    class Failed(Message):
        """A step failed; `retry`: the device still waits for two codes."""

        title: str
        message: str
        retry: bool = False

    def __init__(self, profile: str, *, hint: Callable[[str], str | None] | None = None) -> None:
        """Args:
        profile: the user profile to set up.
        hint: given a serial, a line under the codes (the demo shows its device's code).
        """
        super().__init__()
        self.profile = profile
        self.hint = hint
        self.stage = Stage.CHECKING
        self.setup: MfaSetup | None = None
        self.target: SetupTarget | None = None
        self.pending: PendingDevice | None = None
        self.store_seed = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Label(f"MFA device for {self.profile}", id="title")
            yield Static(f"Asking AWS about the keys of {self.profile}…", id="status")
            yield OptionList(id="choices")
            yield Static("Name of the new device (unique in the account):", id="name-label")
            yield Input(placeholder="device name", id="device-name")
            yield Checkbox("Also keep the seed in this computer's keyring", id="store-seed")
            yield Static(STORE_SEED_WARNING, id="seed-warning")
            with Horizontal(id="qr-row"):
                yield Static("", id="qr")
                with Vertical(id="codes"):
                    yield Static("", id="secret", markup=False)
                    yield Static("", id="code-hint", markup=False)
                    yield CodeInput(id="code1")
                    yield CodeInput(id="code2")
            yield Static("", id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Create", id="create", variant="primary")
                yield Button("Enable", id="enable", variant="primary")
                yield Button("Close", id="close")
            yield Static("", id="hint")

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = "MFA setup"
        self.query_one("#code1", CodeInput).placeholder = "first code"
        self.query_one("#code2", CodeInput).placeholder = "the next code"
        self._show(Stage.CHECKING)
        self._ask(Step.INSPECT)
        if self.hint is not None:
            self.set_interval(1.0, self._show_hint)

    # --- what is on screen ----------------------------------------------------------

    def _show(self, stage: Stage) -> None:
        self.stage = stage
        choosing, codes = stage is Stage.CHOOSING, stage is Stage.CODES
        self.query_one("#choices").display = choosing
        self.query_one("#device-name").display = choosing and self._new_highlighted()
        self.query_one("#name-label").display = choosing and self._new_highlighted()
        self.query_one("#store-seed").display = choosing and self._new_highlighted()
        self.query_one("#seed-warning").display = (
            choosing and self._new_highlighted() and self.query_one("#store-seed", Checkbox).value
        )
        self.query_one("#qr-row").display = codes
        self.query_one("#create").display = choosing
        self.query_one("#enable").display = codes and self.store_seed
        for field_id in ("#code1", "#code2"):
            self.query_one(field_id).display = codes and not self.store_seed
            self.query_one(field_id, CodeInput).disabled = False
        closing = "Close" if stage in (Stage.FAILED, Stage.CHECKING) else "Cancel"
        self.query_one("#close", Button).label = closing
        self.query_one("#hint", Static).update(
            {
                Stage.CHECKING: "esc closes",
                Stage.CHOOSING: "enter chooses · esc closes, nothing changed",
                Stage.CODES: "esc cancels: the new device is deleted again",
                Stage.WORKING: "",
                Stage.FAILED: "esc closes",
            }[stage]
        )

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _error(self, text: str) -> None:
        self.query_one("#error", Static).update(text)

    def _show_hint(self) -> None:
        if self.hint is None or self.pending is None:
            return
        self.query_one("#code-hint", Static).update(self.hint(self.pending.serial) or "")

    def _new_highlighted(self) -> bool:
        choices = self.query_one("#choices", OptionList)
        if choices.highlighted is None:
            return False
        return choices.get_option_at_index(choices.highlighted).id == NEW

    # --- asking the app ----------------------------------------------------------------

    def _ask(self, step: Step, **kwargs: object) -> None:
        self.post_message(
            self.Request(
                self,
                step,
                self.profile,
                setup=self.setup,
                target=self.target,
                pending=self.pending,
                **kwargs,  # type: ignore[arg-type]
            )
        )

    @on(Inspected)
    def _inspected(self, message: Inspected) -> None:
        self.setup, self.target = message.setup, message.target
        target = message.target
        user = target.user
        choices = self.query_one("#choices", OptionList)
        choices.clear_options()
        current = target.configured_device
        for device in target.devices:
            since = device.enabled_at.strftime("%Y-%m-%d") if device.enabled_at else "?"
            text = f"Use {device.serial}  ({device.kind.value}, since {since})"
            if device is current:
                text += "  ← mfa_serial now"
            choices.add_option(Option(text, id=device.serial, disabled=not device.usable))
        if target.room_for_another:
            choices.add_option(Option("Create a new virtual MFA device (QR code)", id=NEW))
        count = len(target.devices)
        have = (
            f"has {count} MFA device{'s' if count != 1 else ''}" if count else "has no MFA device"
        )
        self._status(
            f"IAM user {user.name} in account {user.account_id} {have}. Enabling one does not "
            "make its keys need MFA: afterwards, 'mfa-tui setup "
            f"{self.profile} --enforce ...' shows how to require it."
        )
        from mfa_tui.core.setup import default_device_name

        self.query_one("#device-name", Input).value = default_device_name(user.name, target.devices)
        self._show(Stage.CHOOSING)
        choices.highlighted = 0 if choices.option_count else None
        choices.focus()

    @on(OptionList.OptionHighlighted, "#choices")
    def _highlighted(self) -> None:
        if self.stage is Stage.CHOOSING:
            self._show(Stage.CHOOSING)
            label = "Create" if self._new_highlighted() else "Use"
            self.query_one("#create", Button).label = label

    @on(Checkbox.Changed, "#store-seed")
    def _store_seed_changed(self) -> None:
        self._show(Stage.CHOOSING)

    @on(OptionList.OptionSelected, "#choices")
    @on(Button.Pressed, "#create")
    def _chosen(self) -> None:
        if self.stage is not Stage.CHOOSING:
            return
        choices = self.query_one("#choices", OptionList)
        if choices.highlighted is None:
            return
        chosen = choices.get_option_at_index(choices.highlighted).id or ""
        self._error("")
        if chosen == NEW:
            self.store_seed = self.query_one("#store-seed", Checkbox).value
            self._status("Creating the virtual MFA device…")
            self._show(Stage.WORKING)
            self._ask(
                Step.CREATE,
                device_name=self.query_one("#device-name", Input).value.strip(),
                store_seed=self.store_seed,
            )
        else:
            self._status(f"Saving {chosen} as mfa_serial…")
            self._show(Stage.WORKING)
            self._ask(Step.USE, serial=chosen)

    @on(Created)
    def _created(self, message: Created) -> None:
        pending = self.pending = message.pending
        self.query_one("#qr", Static).update("\n".join(qr_rows(pending.uri)))
        self.query_one("#secret", Static).update(
            f"Created {pending.serial}.\n\nScan the QR code with your authenticator app, "
            "or type this secret key into it (time-based, 6 digits):\n\n"
            f"{grouped(pending.seed)}"
        )
        if self.store_seed:
            self._status(
                "The seed goes to the keyring: mfa-tui makes the two codes itself. Scan it "
                "into your phone too, to keep a second copy, then press Enable."
            )
        else:
            self._status("Type two codes in a row from the app: the one it shows, then the next.")
        self._show(Stage.CODES)
        self._show_hint()
        if self.store_seed:
            self.query_one("#enable", Button).focus()
        else:
            self.query_one("#code1", CodeInput).focus()

    @on(Input.Changed, "#code1")
    def _code1(self, event: Input.Changed) -> None:
        if len(event.value) == CODE_LENGTH:
            self.query_one("#code2", CodeInput).focus()

    @on(Input.Changed, "#code2")
    def _code2(self, event: Input.Changed) -> None:
        first = self.query_one("#code1", CodeInput).value
        if len(event.value) == CODE_LENGTH and len(first) == CODE_LENGTH:
            self._enable((first, event.value))

    @on(Button.Pressed, "#enable")
    def _enable_from_seed(self) -> None:
        self._enable(("", ""))

    def _enable(self, codes: tuple[str, str]) -> None:
        if self.stage is not Stage.CODES:
            return
        self._error("")
        self._status("Enabling the device with AWS…")
        self.stage = Stage.WORKING
        for field_id in ("#code1", "#code2"):
            self.query_one(field_id, CodeInput).disabled = True
        self._ask(Step.ENABLE, codes=codes, store_seed=self.store_seed)

    @on(InUse)
    def _in_use(self, message: InUse) -> None:
        self.pending = None
        self.app.notify("\n".join(message.done), title="MFA device in use", markup=False)
        self.dismiss(self.profile)

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self._error(f"{message.title}: {message.message}")
        if message.retry and self.pending is not None:
            self._status("Type two new codes in a row from the app.")
            self._show(Stage.CODES)
            for field_id in ("#code2", "#code1"):
                field = self.query_one(field_id, CodeInput)
                field.value = ""
            self.query_one("#code1", CodeInput).focus()
            return
        self.pending = None  # deleted already, or never made
        if self.target is None:
            self._status("Nothing was set up.")
            self._show(Stage.FAILED)
            self.query_one("#close", Button).focus()
            return
        self._status("Nothing was set up: choose again, or esc to close.")
        self._show(Stage.CHOOSING)
        self.query_one("#choices").focus()

    @on(Abandoned)
    def _abandoned(self, message: Abandoned) -> None:
        self.pending = None
        if message.left is not None:
            self.app.notify(message.left, title="MFA setup", severity="warning", markup=False)
        self.dismiss(None)

    # --- leaving -----------------------------------------------------------------------

    @on(Button.Pressed, "#close")
    def action_cancel(self) -> None:
        if self.stage is Stage.WORKING:
            return  # a call is out; its answer decides
        if self.pending is not None:
            self._status("Deleting the unfinished device…")
            self._show(Stage.WORKING)
            self._ask(Step.ABANDON)
            return
        self.dismiss(None)

    def on_unmount(self) -> None:
        """The app closing under an unfinished device: delete it on the way out."""
        setup, pending = self.setup, self.pending
        if setup is not None and pending is not None:
            # Not a worker: the app is going. A plain thread the process waits for,
            # bounded by the IAM call's own timeouts.
            threading.Thread(
                target=abandon_quietly, args=(setup, pending), name="mfa-setup-abandon"
            ).start()
