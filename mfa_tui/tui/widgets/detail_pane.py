"""Everything known about the selected profile, in words; no secrets."""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from mfa_tui.aws.files import KeySource, Kind
from mfa_tui.core.key_ages import age_words, rotate_due
from mfa_tui.core.status import ProfileStatus
from mfa_tui.tui.model import RowState, Then
from mfa_tui.tui.timefmt import format_ago, format_clock, format_left, format_local

# Where a long value (an ARN, a chain) may break: after these, never inside a word.
BREAK_AFTER = (" ", "/:")
_BREAKS = frozenset("".join(BREAK_AFTER))


def at_expiry(row: RowState, now: datetime) -> str:
    """What happens when the session reaches its refresh margin, in a sentence."""
    status = row.status
    then = row.then
    at = row.refresh_at
    margin = status.refresh_margin // 60
    if then is Then.NOTHING or at is None:
        return "no session yet: enter gets one"
    when = format_clock(at, now)
    if then is Then.OFF:
        ends = format_clock(status.expires_at or at, now)
        return f"auto-refresh off (a turns it on): it runs out at {ends}"
    if then is Then.AUTO:
        how = "TOTP seed" if row.seeded else "code_command"
        if status.kind is Kind.ROLE:
            how = f"{status.source_user}'s session, or a code from its {how}"
        return f"refreshes by itself at {when} ({margin} min before expiry), from its {how}"
    source_end = row.source_expires_at
    if then is Then.AUTO_UNTIL and source_end is not None:
        return (
            f"refreshes by itself at {when} from {status.source_user}'s session, "
            f"which ends at {format_clock(source_end, now)}; then it needs a code"
        )
    return f"needs a code at {when} (its session ends {format_clock(status.expires_at or at, now)})"


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
    if row.account:
        lines.append(("Account", row.account))
    if status.role_name:
        lines.append(("Role", status.role_name))
    if status.role_session_name:
        lines.append(("Session name", status.role_session_name))
    if status.source_user and status.source_user != status.name:
        lines.append(("User", status.source_user))
    if status.managed:
        lines.append(("At expiry", at_expiry(row, now)))
        lines.append(("Session profile", status.session_profile or "—"))
        lines.append(("Last refresh", format_ago(status.refreshed_at, now)))
    if status.key_source is not None:
        lines.append(("Access key", key_words(status, now)))
    if status.mfa_serial:
        if row.seed_refused:
            seed = " (its stored TOTP seed is refused by AWS)"
        elif row.seeded:
            seed = " (+totp: seed in the keyring)"
        else:
            seed = ""
        lines.append(("MFA device", status.mfa_serial + seed))
    if status.role_arn:
        lines.append(("Role ARN", status.role_arn))
    if len(status.chain) > 1:
        lines.append(("Source chain", " → ".join(status.chain)))
    elif status.source_profile:
        lines.append(("Source", status.source_profile))
    if row.pinned:
        lines.append(("Pinned", "yes (p unpins)"))
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


def wrap_value(value: str, width: int) -> list[str]:
    """`value` in lines of at most `width` cells, broken after ':', '/' or a space where
    it can be (an ARN breaks at its own separators, never mid-word), else hard."""
    if width < 8 or cell_len(value) <= width:
        return [value]
    lines: list[str] = []
    rest = value
    while cell_len(rest) > width:
        # A space if there is one far enough along, else an ARN's own separators.
        # (A break short of a third of the line only where nothing later is one: a
        # short line beats a word cut in two.)
        cut = -1
        for separators in BREAK_AFTER:
            found = max(rest.rfind(c, 0, width) for c in separators)
            cut = max(cut, found)
            if found >= width // 3:
                cut = found
                break
        at = cut + 1 if cut >= 0 else width
        lines.append(rest[:at].rstrip())
        rest = rest[at:].lstrip(" ")
    if rest:
        lines.append(rest)
    return lines


def whole_words(value: str, width: int) -> bool:
    """Every word of `value` (the runs between the places `wrap_value` breaks at) fits
    in `width` cells, so it wraps without cutting one."""
    word = 0
    for char in value:
        word += cell_len(char)
        if word > width:
            return False
        if char in _BREAKS:
            word = 0
    return True


# Indent of a value shown on the lines under its label (its words too long beside it).
UNDER_INDENT = 2


class DetailPane(Static):
    """Shows `detail_lines` for one row; repaints only when the text changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._shown: tuple[object, ...] | None = None
        self._row: RowState | None = None
        self._now: datetime | None = None
        self.border_title = "Details"

    def on_resize(self) -> None:
        if self._now is not None:
            self._shown = None
            self.show_row(self._row, self._now)

    def show_row(self, row: RowState | None, now: datetime) -> None:
        self._row, self._now = row, now
        lines = detail_lines(row, now) if row is not None else []
        width = self.content_region.width or self.size.width
        key = (tuple(lines), width)
        if key == self._shown:
            return
        self._shown = key
        if not lines:
            self.update(Text("No profile selected.", style="dim"), layout=False)
            return
        # Plain text with padded labels: a rich Table would be laid out again every
        # second for the ticking "left" line.
        label_width = max(len(label) for label, _ in lines) + 1
        value_width = max(8, width - label_width) if width else 0
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (label, value) in enumerate(lines):
            if i:
                text.append("\n")
            text.append(label.ljust(label_width), style="bold")
            style = "dim" if value in ("—", "none", "never") else ""
            indent, parts = label_width, [value]
            under = width - UNDER_INDENT
            if width and not whole_words(value, value_width) and whole_words(value, under):
                # A word (a long role name in an ARN) is wider than the room beside the
                # label: the value goes under it, at the pane's width, uncut.
                indent, parts = UNDER_INDENT, ["", *wrap_value(value, under)]
            elif width:
                parts = wrap_value(value, value_width)
            for j, part in enumerate(parts):
                if j:
                    text.append("\n" + " " * indent)
                text.append(part, style=style)
        # The pane's size comes from the stylesheet, not its text: skip the layout pass.
        self.update(text, layout=False)
