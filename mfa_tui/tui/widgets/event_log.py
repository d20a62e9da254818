"""What happened, one line per event: refreshed, switched, failed and why. No secrets."""

from __future__ import annotations

from enum import StrEnum

from rich.text import Text
from textual.widgets import RichLog

from mfa_tui.clock import Clock

MAX_LINES = 1000


class EventKind(StrEnum):
    INFO = "info"
    OK = "ok"
    WARN = "warn"
    ERROR = "error"


_STYLES = {
    EventKind.INFO: "",
    EventKind.OK: "success",
    EventKind.WARN: "warning",
    EventKind.ERROR: "error",
}


class EventLog(RichLog):
    """A scrolling log with local timestamps; keeps the last 1,000 lines."""

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, wrap=True, markup=False, auto_scroll=True)
        self.clock = clock
        self.border_title = "Events"
        self.lines_written: list[str] = []

    def add(self, kind: EventKind, message: str) -> None:
        stamp = self.clock.now().astimezone().strftime("%H:%M:%S")
        colour = self.app.theme_variables.get(_STYLES[kind], "") if _STYLES[kind] else ""
        line = Text.assemble((stamp + " ", "dim"), (message, colour))
        self.lines_written.append(f"{stamp} {message}")
        del self.lines_written[:-MAX_LINES]
        # Rich measures against its own 80-column console; wrap at our real width.
        width = self.scrollable_content_region.width
        self.write(line, width=width if width > 20 else None)
