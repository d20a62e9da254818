"""Everything known about the selected profile, in words; no secrets."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from mfa_tui.aws.files import KeySource
from mfa_tui.core.key_ages import age_words, rotate_due
from mfa_tui.core.status import ProfileStatus
from mfa_tui.tui.model import RowState
from mfa_tui.tui.timefmt import format_ago, format_left, format_local


def detail_lines(row: RowState, now: datetime) -> list[tuple[str, str]]:
    """(label, value) pairs for `row`, most useful first (the narrow layout cuts the tail)."""
    status = row.status
    where = status.region or "no region"
    lines: list[tuple[str, str]] = [("Profile", f"{status.name} ({status.kind.value}, {where})")]
    if not status.managed:
        lines.append(("Not managed", status.reason or "mfa-tui cannot refresh this profile"))
    elif status.expires_at is None:
        lines.append(("Session", "none yet: enter gets one"))
    else:
        left = format_left(status.expires_at, now)
        left = left if left == "expired" else f"{left} left"
        lines.append(("Expires", f"{format_local(status.expires_at)} · {left}"))
    # What in the files the AWS tools cannot use: near the top, it explains the rest.
    lines.extend(("Note", note) for note in status.notes if note != status.reason)
    if row.note and row.note != row.last_error:
        lines.append(("Status", row.note))
    if row.last_error:
        lines.append(("Last error", row.last_error))
    if status.managed:
        lines.append(("Session profile", status.session_profile or "—"))
        lines.append(("Last refresh", format_ago(status.refreshed_at, now)))
    if status.key_source is not None:
        lines.append(("Access key", key_words(status, now)))
    if status.mfa_serial:
        seed = " (+totp: seed in the keyring)" if row.seeded else ""
        lines.append(("MFA device", status.mfa_serial + seed))
    if status.role_arn:
        lines.append(("Role ARN", status.role_arn))
    if len(status.chain) > 1:
        lines.append(("Source chain", " → ".join(status.chain)))
    elif status.source_profile:
        lines.append(("Source", status.source_profile))
    if status.managed:
        margin = status.refresh_margin // 60
        auto = f"on, {margin} min before expiry" if row.auto_refresh else "off (a turns it on)"
        lines.append(("Auto-refresh", auto))
    if row.active:
        lines.append(("Active", "yes: the active profile holds this session"))
    return lines


_KEY_PLACES = {
    KeySource.FILE: "in the credentials file",
    KeySource.KEYRING: "in the OS keyring",
    KeySource.PROCESS: "from its credential_process",
}


def key_words(status: ProfileStatus, now: datetime) -> str:
    """Where a user's key is, and how old: "in the OS keyring · made 2026-08-01, 121
    days ago: rotate it ('mfa-tui keys rotate P')"."""
    where = _KEY_PLACES[status.key_source] if status.key_source else "none"
    if status.key_created is None:
        return where
    words = f"{where} · {age_words(status.key_created, now)}"
    if rotate_due(status.key_created, now):
        words += f": rotate it ('mfa-tui keys rotate {status.name}')"
    return words


class DetailPane(Static):
    """Shows `detail_lines` for one row; repaints only when the text changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._shown: list[tuple[str, str]] | None = None
        self.border_title = "Details"

    def show_row(self, row: RowState | None, now: datetime) -> None:
        lines = detail_lines(row, now) if row is not None else []
        if lines == self._shown:
            return
        self._shown = lines
        if not lines:
            self.update(Text("No profile selected.", style="dim"), layout=False)
            return
        # Plain text with padded labels: a rich Table would be laid out again every
        # second for the ticking "left" line.
        width = max(len(label) for label, _ in lines) + 1
        text = Text(no_wrap=False, overflow="fold")
        for i, (label, value) in enumerate(lines):
            if i:
                text.append("\n")
            text.append(label.ljust(width), style="bold")
            text.append(value, style="dim" if value in ("—", "none", "never") else "")
        # The pane's size comes from the stylesheet, not its text: skip the layout pass.
        self.update(text, layout=False)
