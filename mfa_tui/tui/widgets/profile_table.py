"""The table of profiles, with a countdown that ticks without rebuilding anything.

Rows are added once and then patched: a reload changes only the cells whose text
changed, and each tick rewrites only the countdown cells of the rows on screen (a
5,000-row table costs the same per second as a 30-row one). The countdown is computed
from the session's expiry and the clock every time, never decremented.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar, Self

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets._data_table import Row
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

from mfa_tui.aws.files import Kind
from mfa_tui.clock import Clock
from mfa_tui.tui.model import NoteKind, RowState
from mfa_tui.tui.timefmt import Urgency, format_left, urgency

COLUMNS: tuple[tuple[str, str], ...] = (
    ("Profile", "name"),
    ("Left", "left"),
    ("Status", "state"),
    ("Kind", "kind"),
    ("MFA", "mfa"),
    ("Session profile", "session"),
    ("Auto", "auto"),
    ("Note", "note"),
)

# Theme variables for each urgency; looked up at render time so themes apply.
URGENCY_COLOURS: dict[Urgency, str] = {
    Urgency.PLENTY: "success",
    Urgency.MARGIN: "warning",
    Urgency.EXPIRED: "error",
    Urgency.NONE: "",
}
NOTE_COLOURS: dict[NoteKind, str] = {
    NoteKind.ERROR: "error",
    NoteKind.CODE: "warning",
    NoteKind.BUSY: "accent",
    NoteKind.INFO: "",
    NoteKind.NONE: "",
}
# The Status column's word for each note; the note itself is in the last column.
SHORT_NOTES: dict[NoteKind, str] = {
    NoteKind.BUSY: "refreshing…",
    NoteKind.CODE: "needs code",
    NoteKind.ERROR: "failed",
}
SegmentLines = list[list[Segment]]
NOTE_WIDTH = 60
FIXED_WIDTHS = {"left": 8, "state": 11, "auto": 4}
SEED_MARK = "+totp"
ACTIVE_MARK = "●"


class ProfileTable(DataTable[Text]):
    """Profiles, one per row, keyed by profile name."""

    DEFAULT_CSS = """
    ProfileTable { height: 1fr; }
    """
    # Enter typed ahead, while the terminal was still in line mode, arrives as a newline
    # (the tty turns its CR into NL): `mfa-tui`, ↓ ↓ enter typed at once still switches.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j", "select_cursor", "Select", show=False)
    ]

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        # Before DataTable's __init__, which already calls methods overridden here.
        self._structure = 0  # bumped when rows are added or removed
        self._widths = 0  # bumped when a column is widened
        self._cell_versions: dict[tuple[RowKey | None, ColumnKey | None], int] = {}
        self._cells: LRUCache[tuple[object, ...], SegmentLines] = LRUCache(4000)
        self._row_versions: dict[RowKey, int] = {}
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(1000)
        self._ordered: list[Row] = []
        self._ordered_key: tuple[int, int] | None = None
        self._offsets: list[tuple[RowKey, int]] = []
        self._offsets_key: tuple[int, int] | None = None
        super().__init__(
            id=id,
            cursor_type="row",
            zebra_stripes=False,
            cursor_foreground_priority="renderable",
        )
        self.clock = clock
        self._rows: dict[str, RowState] = {}
        self._order: list[str] = []
        self._left_text: dict[str, str] = {}
        self._now: datetime | None = None

    # --- render caching --------------------------------------------------------------
    # DataTable keys every render cache on one counter that each update_cell bumps, so a
    # countdown tick would re-render every visible cell and re-walk all rows. Here a
    # cell (and a line) is re-rendered only when its own values changed, and the row
    # order (which a cell update cannot change) is kept until rows are added or removed.

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        key = (
            row_key,
            column_key,
            self._cell_versions.get((row_key, column_key), 0),
            self._structure,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        cached = self._cells.get(key)
        if cached is None:
            cached = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._cells[key] = cached
        return cached

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        try:
            row_key, line_in_row = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        key = (
            row_key,
            line_in_row,
            self._row_versions.get(row_key, 0),
            self._structure,
            self._widths,
            x1,
            x2,
            self.size.width,
            self.cursor_coordinate,
            self.hover_coordinate,
            base_style,
            self.cursor_type,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        strip = self._lines.get(key)
        if strip is None:
            strip = super()._render_line(y, x1, x2, base_style)
            self._lines[key] = strip
        return strip

    @property
    def ordered_rows(self) -> list[Row]:
        key = (self.row_count, self._structure)
        if self._ordered_key != key:
            self._ordered = super().ordered_rows
            self._ordered_key = key
        return self._ordered

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        key = (self.row_count, self._structure)
        if self._offsets_key != key:
            self._offsets = super()._y_offsets
            self._offsets_key = key
        return self._offsets

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Text,
        *,
        update_width: bool = False,
    ) -> None:
        cell = (
            row_key if isinstance(row_key, RowKey) else RowKey(row_key),
            column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key),
        )
        self._cell_versions[cell] = self._cell_versions.get(cell, 0) + 1
        self._row_versions[cell[0]] = self._row_versions.get(cell[0], 0) + 1
        super().update_cell(row_key, column_key, value, update_width=update_width)

    def clear(self, columns: bool = False) -> Self:
        self._structure += 1
        self._cell_versions.clear()
        self._row_versions.clear()
        self._cells.clear()
        self._lines.clear()
        return super().clear(columns)

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            # Cells that change after the first paint get a fixed width, so a longer
            # word later ("refreshing…") is not cut to the width of the first one.
            self.add_column(label, key=key, width=FIXED_WIDTHS.get(key))

    # --- colours -------------------------------------------------------------------

    def _colour(self, variable: str) -> str:
        if not variable:
            return ""
        return self.app.theme_variables.get(variable, "")

    def _style(self, row: RowState, variable: str = "") -> str:
        colour = self._colour(variable)
        if not row.status.managed:
            return f"dim {colour}".strip()
        return colour

    # --- cells ---------------------------------------------------------------------

    def _static_cells(self, row: RowState) -> dict[str, Text]:
        status = row.status
        base = self._style(row)
        mark = ACTIVE_MARK if row.active else " "
        if status.kind is Kind.ROLE and len(status.chain) > 1:
            # Indented under the user (or role) it is assumed from.
            name = f"{mark} {'  ' * (len(status.chain) - 2)}└ {status.name}"
        else:
            name = f"{mark} {status.name}"
        mfa = row.device + (f" {SEED_MARK}" if row.seeded and row.device else "")
        if status.managed:
            auto = "on" if row.auto_refresh else "off"
            note = row.note
            state = SHORT_NOTES.get(row.note_kind, "")
        else:
            auto = ""
            note = row.note or status.reason or ""
            state = "unmanaged"
        if len(note) > NOTE_WIDTH:
            note = note[: NOTE_WIDTH - 1] + "…"  # the detail pane has all of it
        return {
            "name": Text(name, style=f"bold {base}".strip() if row.active else base),
            "state": Text(state, style=self._style(row, NOTE_COLOURS[row.note_kind])),
            "kind": Text(status.kind.value, style=base),
            "mfa": Text(mfa or "—", style=base),
            "session": Text(status.session_profile or "—", style=base),
            "auto": Text(auto, style=self._style(row, "" if row.auto_refresh else "warning")),
            "note": Text(note, style=self._style(row, NOTE_COLOURS[row.note_kind])),
        }

    def _left_cell(self, row: RowState, now: datetime) -> tuple[str, Text]:
        status = row.status
        text = format_left(status.expires_at, now)
        level = urgency(status.expires_at, now, status.refresh_margin)
        style = self._style(row, URGENCY_COLOURS[level])
        if level is Urgency.NONE:
            style = f"dim {style}".strip()
        return text, Text(text, style=style, justify="right")

    # --- updates -------------------------------------------------------------------

    def set_rows(self, rows: Sequence[RowState], now: datetime) -> None:
        """Show exactly `rows`, in order; patch cells in place when the order is unchanged."""
        self._now = now
        order = [r.name for r in rows]
        new = {r.name: r for r in rows}
        if order != self._order:
            self._rebuild(rows, now)
            return
        for row in rows:
            old = self._rows.get(row.name)
            if old == row:
                continue
            self._rows[row.name] = row
            old_cells = self._static_cells(old) if old is not None else {}
            for key, cell in self._static_cells(row).items():
                before = old_cells.get(key)
                if before is None or (before.plain, before.style) != (cell.plain, cell.style):
                    self._fit(key, cell)
                    self.update_cell(row.name, key, cell)
            self._set_left(row, now, force=True)
        self._rows = new

    def _fit(self, key: str, cell: Text) -> None:
        """Widen a column for a longer cell (DataTable would measure every row instead)."""
        column = self.columns[ColumnKey(key)]
        if cell.cell_len > column.width:
            column.width = cell.cell_len
            self._widths += 1  # every cached line is laid out on the old widths
            self._require_update_dimensions = True

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures every cell of every new row here (40,000 measurements for
        # 5,000 profiles). Our widths are set from the plain text in _rebuild and _fit,
        # and every row is one line, so only the virtual size is left to do.
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, self._total_row_height + header)

    def _rebuild(self, rows: Sequence[RowState], now: datetime) -> None:
        selected = self.selected_name
        self.clear()  # bumps the structure: every cached cell and line is stale
        self._rows = {r.name: r for r in rows}
        self._order = [r.name for r in rows]
        self._left_text.clear()
        widths = {key: cell_len(str(label)) for label, key in COLUMNS}
        for row in rows:
            cells = self._static_cells(row)
            text, left = self._left_cell(row, now)
            cells["left"] = left
            for key, cell in cells.items():
                widths[key] = max(widths[key], cell.cell_len)
            self._left_text[row.name] = text
            self.add_row(
                cells["name"],
                left,
                cells["state"],
                cells["kind"],
                cells["mfa"],
                cells["session"],
                cells["auto"],
                cells["note"],
                key=row.name,
            )
        for key, width in widths.items():
            column = self.columns[ColumnKey(key)]
            column.width = max(width, FIXED_WIDTHS.get(key, 0))
            column.auto_width = False
        if selected in self._rows:
            self.move_cursor(row=self._order.index(selected), scroll=True)

    def _set_left(self, row: RowState, now: datetime, *, force: bool = False) -> bool:
        text, cell = self._left_cell(row, now)
        if not force and self._left_text.get(row.name) == text:
            return False
        self._left_text[row.name] = text
        try:
            self.update_cell(row.name, "left", cell)
        except CellDoesNotExist:
            return False
        return True

    def visible_names(self) -> list[str]:
        """Names of the rows on screen now (plus one either side for smooth scrolling)."""
        if not self._order:
            return []
        first = max(0, int(self.scroll_y) - 1)
        height = max(1, self.scrollable_content_region.height)
        return self._order[first : first + height + 2]

    def tick(self, now: datetime) -> int:
        """Recompute the countdowns on screen; returns how many cells changed."""
        self._now = now
        changed = 0
        for name in self.visible_names():
            row = self._rows.get(name)
            if row is not None and self._set_left(row, now):
                changed += 1
        return changed

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Rows scrolled into view may show a countdown from before: catch them up now.
        if round(old_value) != round(new_value):
            self.tick(self.clock.now())

    def repaint_all(self) -> None:
        """Re-render every cell (after a theme change: colours come from the theme)."""
        if self._now is not None:
            rows = [self._rows[n] for n in self._order]
            self._order = []
            self._rebuild(rows, self._now)

    # --- selection -----------------------------------------------------------------

    @property
    def selected_name(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    @property
    def selected(self) -> RowState | None:
        name = self.selected_name
        return self._rows.get(name) if name else None

    def row_state(self, name: str) -> RowState | None:
        return self._rows.get(name)

    def select(self, name: str) -> bool:
        if name not in self._rows:
            return False
        self.move_cursor(row=self._order.index(name), scroll=True)
        return True
