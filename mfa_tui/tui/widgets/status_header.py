"""The top line: the active session and its countdown, and a summary of the rest."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from mfa_tui.core.status import ProfileStatus
from mfa_tui.tui.timefmt import Urgency, format_left, urgency

_COLOURS = {
    Urgency.PLENTY: "success",
    Urgency.MARGIN: "warning",
    Urgency.EXPIRED: "error",
    Urgency.NONE: "",
}


class StatusHeader(Static):
    """`mfa-tui │ active: my-test-role → mfa-tui 00:54:12 │ 3 ok · 1 due · 2 expired`."""

    def __init__(self, active_profile: str, *, note: str = "", id: str | None = None) -> None:
        super().__init__("", id=id)
        self.active_profile = active_profile
        self.note = note
        self._active: ProfileStatus | None = None
        self._source: str | None = None
        self._counts: dict[Urgency, int] = {}
        self._busy = 0
        self._shown: tuple[object, ...] | None = None
        self._last_now: datetime | None = None

    def on_resize(self) -> None:
        self._shown = None
        if self._last_now is not None:
            self.tick(self._last_now)

    def set_state(
        self,
        active: ProfileStatus | None,
        *,
        source: str | None,
        active_profile: str,
        counts: dict[Urgency, int],
        busy: int,
        now: datetime,
    ) -> None:
        """Args:
        active: the active profile's own status (its expiry is what tools use).
        source: the user or role it mirrors.
        """
        self._active = active
        self._source = source
        self.active_profile = active_profile
        self._counts = counts
        self._busy = busy
        self.tick(now)

    def plain(self, now: datetime) -> str:
        return self._text(now).plain

    def _colour(self, level: Urgency) -> str:
        variable = _COLOURS[level]
        return self.app.theme_variables.get(variable, "") if variable else ""

    def _text(self, now: datetime) -> Text:
        text = Text()
        text.append(" mfa-tui ", style="bold")
        if self.note:
            text.append(f"({self.note}) ", style=self._colour(Urgency.MARGIN))
        text.append("│ ", style="dim")
        status = self._active
        if status is None:
            text.append("no active session", style="dim")
            if self.size.width >= 100:
                text.append(f" (enter on a profile fills {self.active_profile})", style="dim")
        else:
            level = urgency(status.expires_at, now, status.refresh_margin)
            text.append("active: ")
            text.append(self._source or "?", style="bold")
            text.append(f" → {self.active_profile} ", style="dim")
            text.append(format_left(status.expires_at, now), style=f"bold {self._colour(level)}")
        text.append(" │ ", style="dim")
        parts: list[tuple[str, Urgency]] = [
            (f"{self._counts.get(Urgency.PLENTY, 0)} ok", Urgency.PLENTY),
            (f"{self._counts.get(Urgency.MARGIN, 0)} due", Urgency.MARGIN),
            (f"{self._counts.get(Urgency.EXPIRED, 0)} expired", Urgency.EXPIRED),
        ]
        for i, (label, level) in enumerate(parts):
            if i:
                text.append(" · ", style="dim")
            count = self._counts.get(level, 0)
            text.append(label, style=self._colour(level) if count else "dim")
        if self._busy:
            text.append(f" │ refreshing {self._busy}…", style=self._colour(Urgency.MARGIN))
        return text

    def tick(self, now: datetime) -> None:
        """Repaint if the visible text (the countdown, mostly) changed."""
        self._last_now = now
        active = self._active
        key = (
            format_left(active.expires_at, now) if active else None,
            self._source,
            self.active_profile,
            tuple(sorted(self._counts.items())),
            self._busy,
            self.app.theme,
            self.size.width >= 100,
        )
        if key == self._shown:
            return
        self._shown = key
        # One line, always: no layout pass needed (it would repaint the whole screen).
        self.update(self._text(now), layout=False)
