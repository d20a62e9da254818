"""The `?` screen: every key, and where the active profile points."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓ j k g G", "move (↑ ↓ PgUp PgDn Home End work in the filter too)"),
    ("enter", "switch to the profile's session (asks for a code if needed)"),
    ("/", "find: words, fuzzy: profile, account ID or alias, role, user"),
    ("", "(enter with one row left switches to it)"),
    ("esc", "clear the filter, wherever the focus is"),
    ("n", "jump to the next profile waiting for a code"),
    ("r / R", "refresh this profile / every due one (prompts one after another)"),
    ("p / s", "pin to the top / sort: recent, name, account, time left, config"),
    ("t", "store a TOTP seed for the user (codes without your phone)"),
    ("m", "MFA setup for the user: a new device (QR code) or one it has"),
    ("a", "auto-refresh on/off for the profile (saved)"),
    ("e", "show the export lines for your shell"),
    ("c", "open the AWS web console as the selected role, in your browser"),
    ("l", "show or hide the event log"),
    ("ctrl+p", "command palette: switch to / refresh any profile, theme"),
    ("?", "this help"),
    ("q", "quit (sessions stay in the credentials file)"),
)


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in KEYS:
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, active_profile: str) -> None:
        super().__init__()
        self.active_profile = active_profile

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(help_table(), id="keys")
            yield Static(
                Text.assemble(
                    "Run ",
                    (f"export AWS_PROFILE={self.active_profile}", "bold"),
                    " once in your shell: every aws command then uses the session you "
                    "last switched to here. Colours: green plenty of time, yellow inside "
                    "the refresh margin, red expired. +totp: a TOTP seed is stored, so "
                    "codes come by themselves.",
                ),
                id="about",
            )

    def on_mount(self) -> None:
        dialog = self.query_one("#dialog")
        dialog.border_title = "Keys"
        dialog.border_subtitle = "esc to close"

    def action_close(self) -> None:
        self.dismiss(None)
