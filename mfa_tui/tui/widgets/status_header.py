"""The top line: who you are (the active session's account, role, session name and
user) and its countdown, who needs a code, and a summary of the rest."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from mfa_tui.core.status import ProfileStatus
from mfa_tui.tui.model import RowState
from mfa_tui.tui.timefmt import Urgency, format_left, urgency

_COLOURS = {
    Urgency.PLENTY: "success",
    Urgency.MARGIN: "warning",
    Urgency.EXPIRED: "error",
    Urgency.NONE: "",
}


def who_am_i(source: RowState) -> str:
    """`123456789012 acme-prod · role Admin as mfa-tui-test-user · user test-user`: the
    account, role, role session name and user behind the active session."""
    status = source.status
    parts = [source.account] if source.account else []
    if status.role_name:
        role = f"role {status.role_name}"
        if status.role_session_name:
            role += f" as {status.role_session_name}"
        parts.append(role)
    if status.source_user:
        parts.append(f"user {status.source_user}")
    return " · ".join(parts)


class StatusHeader(Static):
    """`mfa-tui │ active: my-test-role: Admin in 1234… → mfa-tui 00:54:12 │ …`."""

    def __init__(self, active_profile: str, *, note: str = "", id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.active_profile = active_profile
        self.note = note
        self._active: ProfileStatus | None = None
        self._source: RowState | None = None
        self._counts: dict[Urgency, int] = {}
        self._busy = 0
        self._needing: tuple[str, ...] = ()
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
        source: RowState | None,
        active_profile: str,
        counts: dict[Urgency, int],
        busy: int,
        now: datetime,
        needing_code: list[str] | None = None,
    ) -> None:
        """Args:
        active: the active profile's own status (its expiry is what tools use).
        source: the row of the user or role it mirrors.
        needing_code: users whose sessions wait for a person's code.
        """
        self._active = active
        self._source = source
        self.active_profile = active_profile
        self._counts = counts
        self._busy = busy
        self._needing = tuple(needing_code or ())
        self.tick(now)

    def plain(self, now: datetime) -> str:
        return self._text(now).plain

    def _colour(self, level: Urgency) -> str:
        variable = _COLOURS[level]
        return self.app.theme_variables.get(variable, "") if variable else ""

    def _text(self, now: datetime) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" mfa-tui ", style="bold")
        if self.note:
            text.append(f"({self.note}) ", style=self._colour(Urgency.MARGIN))
        if self._needing:
            names = ", ".join(self._needing)
            text.append(
                f" code needed: {names} (n) ", style=f"bold reverse {self._colour(Urgency.MARGIN)}"
            )
            text.append(" ")
        text.append("│ ", style="dim")
        status = self._active
        if status is None:
            text.append("no active session", style="dim")
            if self.size.width >= 100:
                text.append(f" (enter on a profile fills {self.active_profile})", style="dim")
        else:
            level = urgency(status.expires_at, now, status.refresh_margin)
            source = self._source
            text.append("active: ")
            text.append(source.name if source else "?", style="bold")
            text.append(f" → {self.active_profile} ", style="dim")
            text.append(format_left(status.expires_at, now), style=f"bold {self._colour(level)}")
            who = who_am_i(source) if source else ""
            if who:
                text.append(" │ ", style="dim")
                text.append(who)
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
            self._needing,
            self.app.theme,
            self.size.width >= 100,
        )
        if key == self._shown:
            return
        self._shown = key
        # One line, always: no layout pass needed (it would repaint the whole screen).
        self.update(self._text(now), layout=False)
