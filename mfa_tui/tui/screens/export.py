"""The `e` screen: shell lines that point tools at a session. Never a key or token."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static


def export_lines(profile: str, session_profile: str | None, active_profile: str) -> list[str]:
    """The lines offered for `profile`: the active profile first, the one to copy."""
    lines = [f"export AWS_PROFILE={active_profile}"]
    if session_profile:
        lines.append(f"export AWS_PROFILE={session_profile}")
    lines.append(f'eval "$(mfa-tui export {profile})"')
    return lines


class ExportScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("c", "copy", "Copy first line"),
    ]

    def __init__(self, profile: str, session_profile: str | None, active_profile: str) -> None:
        super().__init__()
        self.profile = profile
        self.lines = export_lines(profile, session_profile, active_profile)
        self.session_profile = session_profile
        self.active_profile = active_profile

    def compose(self) -> ComposeResult:
        comments = [
            "# every new aws command follows what you switch to here",
            f"# always {self.profile}'s own session",
            "# the session as environment variables (keys in your shell's memory)",
        ]
        if not self.session_profile:
            comments.pop(1)
        body = "\n".join(f"{c}\n{line}\n" for c, line in zip(comments, self.lines, strict=True))
        with Vertical(id="dialog"):
            yield Static(body.rstrip(), id="lines", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Copy first line", id="copy", variant="primary")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        dialog = self.query_one("#dialog")
        dialog.border_title = Content(f"Export · {self.profile}")  # a name, not markup
        self.query_one("#copy", Button).focus()

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.lines[0])
        self.app.notify(f"Copied: {self.lines[0]}", markup=False, timeout=3)
        self.dismiss(None)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
