"""The table's columns: what each cell says, and which columns fit a terminal's width.

Columns give way by priority as the terminal narrows (the detail pane has everything),
so the table never scrolls sideways: at 80 columns it shows the profile, its account,
time left and state; at 120 and more, what happens at expiry, the role and the user it
comes from, the device; wider still, the rest. Pure functions, no Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len

from mfa_tui.aws.files import Kind
from mfa_tui.tui.model import NoteKind, RowState, Then
from mfa_tui.tui.timefmt import format_clock, format_left

SEED_MARK = "+totp"
SEED_REFUSED_MARK = "seed refused"
ACTIVE_MARK = "●"
PIN_MARK = "★"
# Cell padding: one space either side of every cell.
PADDING = 2


@dataclass(frozen=True)
class Column:
    """A column: `priority` 0 is the last to give way; `flex` takes what width is left."""

    key: str
    label: str
    priority: int
    min_width: int
    max_width: int
    right: bool = False
    flex: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "Profile", 0, 12, 34),
    Column("account", "Account", 3, 12, 30),
    Column("left", "Left", 1, 8, 8, right=True),
    Column("state", "Status", 2, 11, 11),
    Column("then", "At expiry", 4, 14, 14),
    Column("role", "Role", 5, 4, 22),
    Column("source", "User", 7, 4, 16),
    Column("mfa", "MFA", 6, 3, 24),
    Column("kind", "Kind", 9, 4, 8),
    Column("session", "Session profile", 10, 7, 28),
    Column("note", "Note", 8, 8, 60, flex=True),
)
BY_KEY = {column.key: column for column in COLUMNS}

# The Status column's word for each note; the note itself is in the last column.
SHORT_NOTES: dict[NoteKind, str] = {
    NoteKind.BUSY: "refreshing…",
    NoteKind.CODE: "needs code",
    NoteKind.ERROR: "failed",
}


def static_cells(row: RowState) -> dict[str, str]:
    """Every cell of `row` that does not change with the clock."""
    status = row.status
    marks = (ACTIVE_MARK if row.active else " ") + (PIN_MARK if row.pinned else " ")
    if row.seed_refused and row.device:
        mfa = f"{row.device} {SEED_REFUSED_MARK}"
    elif row.seeded and row.device:
        mfa = f"{row.device} {SEED_MARK}"
    else:
        mfa = row.device or "—"
    note = row.note if status.managed else row.note or status.reason or ""
    return {
        "name": f"{marks}{status.name}",
        "account": row.account or "—",
        "role": status.role_name or "",
        "source": (status.source_user or "") if status.kind is Kind.ROLE else "",
        "mfa": mfa,
        "kind": status.kind.value,
        "session": status.session_profile or "—",
        "note": note,
    }


def state_cell(row: RowState, now: datetime) -> str:
    """The Status cell; a wait for the next code step counts down with the clock."""
    if not row.status.managed:
        return "unmanaged"
    if row.step_wait_until is not None and row.note_kind is not NoteKind.CODE:
        seconds = max(0, int((row.step_wait_until - now).total_seconds() + 0.999))
        return f"code in {seconds}s"  # the next 30-second step, when the last was used
    return SHORT_NOTES.get(row.note_kind, "")


def then_cell(row: RowState, now: datetime) -> str:
    """What happens at the refresh margin, in a few words."""
    then = row.then
    at = row.refresh_at
    if then is Then.NOTHING or at is None:
        return "" if not row.status.managed else "—"
    if then is Then.OFF:
        return "auto off"
    if then in (Then.AUTO, Then.AUTO_UNTIL):
        return f"auto {format_clock(at, now)}"  # for AUTO_UNTIL the detail pane says until when
    when = format_clock(at, now)
    # Fourteen cells at most: "code at 23:50", "code Tue 23:50".
    return f"code at {when}" if " " not in when else f"code {when}"


def dynamic_cells(row: RowState, now: datetime) -> dict[str, str]:
    """The cells that follow the clock."""
    return {
        "left": format_left(row.status.expires_at, now),
        "state": state_cell(row, now),
        "then": then_cell(row, now),
    }


# The clock-driven cells have a known longest text ("code in 30s", "code Tue 23:50",
# "auto Tue 23:50"), so their columns are not measured row by row.
DYNAMIC = ("left", "state", "then")


def natural_widths(cells: Iterable[dict[str, str]]) -> dict[str, int]:
    """Each column's width for these cells (its label at least), within its bounds."""
    widths = {c.key: cell_len(c.label) for c in COLUMNS}
    for row in cells:
        for key, text in row.items():
            width = cell_len(text)
            widths[key] = max(widths[key], width)
    return {
        key: min(max(w, BY_KEY[key].min_width), BY_KEY[key].max_width) for key, w in widths.items()
    }


def fit(widths: dict[str, int], total: int) -> list[tuple[Column, int]]:
    """The columns that fit in `total` cells, in display order, with their widths.

    Columns join by priority while they fit at their natural width (so a wider screen
    only ever adds columns); the profile column may shrink to its minimum first. Space
    left over widens the flexible column.
    """
    chosen: dict[str, int] = {}
    used = 0
    for column in sorted(COLUMNS, key=lambda c: c.priority):
        # The flexible column joins at its minimum and takes what is left at the end.
        want = column.min_width if column.flex else widths.get(column.key, column.min_width)
        if used + want + PADDING <= total:
            chosen[column.key] = want
            used += want + PADDING
        elif column.key == "name":
            chosen[column.key] = max(column.min_width, total - used - PADDING)
            used += chosen[column.key] + PADDING
        else:
            break  # a column never shows while one that matters more does not
    if used > total and "name" in chosen:
        chosen["name"] = max(4, chosen["name"] - (used - total))
        used = total
    spare = total - used
    if spare > 0 and "note" in chosen:
        chosen["note"] += spare
    elif spare > 0:
        chosen["name"] += min(spare, max(0, widths.get("name", 0) - chosen["name"]))
    return [(column, chosen[column.key]) for column in COLUMNS if column.key in chosen]


def clip(text: str, width: int, *, right: bool = False) -> str:
    """`text` in exactly `width` cells: cut with an ellipsis, or padded."""
    length = cell_len(text)
    if length > width:
        if width <= 1:
            return "…"[:width]
        out = ""
        for char in text:
            if cell_len(out + char) > width - 1:
                break
            out += char
        return out + "…" + " " * (width - 1 - cell_len(out))
    pad = " " * (width - length)
    return pad + text if right else text + pad


def shown_keys(layout: Sequence[tuple[Column, int]]) -> list[str]:
    return [column.key for column, _ in layout]
