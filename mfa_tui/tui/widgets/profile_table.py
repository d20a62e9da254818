"""The table of profiles: only the lines on screen are ever drawn.

A 5,000-profile table costs what a 30-row one does: showing another order or a filtered
subset is swapping a list, a keystroke redraws the thirty-odd lines in view, and a tick
redraws only lines whose countdown text changed. Column widths are measured once per
reload over every row (not per filter, so columns do not jump while typing), and the
columns that fit the width are chosen by priority (columns.py): nothing scrolls
sideways. Every cell is plain text, never markup: names come from the person's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import Reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mfa_tui.tui.columns import (
    COLUMNS,
    DYNAMIC,
    Column,
    clip,
    dynamic_cells,
    fit,
    natural_widths,
    shown_keys,
    static_cells,
)
from mfa_tui.tui.model import NoteKind, RowState, Then
from mfa_tui.tui.timefmt import Urgency, urgency

# Theme variables for each urgency and note; looked up at render time so themes apply.
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
THEN_COLOURS: dict[Then, str] = {
    Then.OFF: "warning",
    Then.CODE: "warning",
    Then.AUTO: "",
    Then.AUTO_UNTIL: "",
    Then.NOTHING: "",
}
_LINE_CACHE = 512


class ProfileTable(ScrollView, can_focus=True):
    """Profiles, one per line, under a header line; keyed by profile name."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "profile-table--header",
        "profile-table--cursor",
    }
    DEFAULT_CSS = """
    ProfileTable {
        height: 1fr;
        overflow-x: hidden;
        background: $surface;
        color: $foreground;
        & > .profile-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .profile-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .profile-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    # Filtering changes the number of rows on every keystroke; Textual's default would
    # lay the whole screen out again each time (tens of ms at 5,000 profiles). The
    # table's own size never depends on its rows and its scrollbar's gutter is always
    # there, so a new row count only needs the scrollbar and the lines redrawn.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another row (None: no rows)."""

        table: ProfileTable
        name: str | None

    @dataclass
    class Selected(Message):
        """Enter or a second click on a row."""

        table: ProfileTable
        name: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[RowState] = []
        self._index: dict[str, int] = {}
        self._static: dict[str, dict[str, str]] = {}
        self._widths: dict[str, int] = {c.key: c.min_width for c in COLUMNS}
        self._layout: list[tuple[Column, int]] = []
        self._layout_width = -1
        self._now: datetime | None = None
        self.cursor_row = 0
        self._highlighted: str | None = None
        self._lines: dict[tuple[object, ...], Strip] = {}
        # What each line on screen showed when drawn: a tick redraws only changes.
        self._drawn: dict[int, tuple[object, ...]] = {}

    # --- rows ----------------------------------------------------------------------

    def measure(self, rows: Sequence[RowState], *, widen_only: bool = False) -> None:
        """Column widths from every row there is (the filter shows a subset of these);
        `widen_only`: `rows` changed, columns may grow for them but not shrink."""
        static = {row.name: static_cells(row) for row in rows}
        if widen_only:
            self._static.update(static)
        else:
            self._static = static
        widths = natural_widths(static.values())
        if widen_only:
            widths = {key: max(width, self._widths.get(key, 0)) for key, width in widths.items()}
        if widths != self._widths:
            self._widths = widths
            self._layout_width = -1
            self._lines.clear()
            self._drawn.clear()
            self.refresh()

    def set_rows(
        self, rows: Sequence[RowState], now: datetime, *, keep: str | None = None, top: bool = False
    ) -> None:
        """Show exactly `rows`, in order; the cursor stays on `keep` (default: the row it
        is on) when that row is still shown, else (or with `top`) goes to the first row."""
        self._now = now
        wanted = None if top else keep if keep is not None else self.selected_name
        self._rows = list(rows)
        self._index = {row.name: i for i, row in enumerate(self._rows)}
        for row in self._rows:
            if row.name not in self._static:
                self._static[row.name] = static_cells(row)
        self.cursor_row = self._index.get(wanted, 0) if wanted is not None else 0
        self._lines.clear()
        self._drawn.clear()
        self._set_virtual_height(len(self._rows) + 1)
        self._scroll_to_cursor()
        self.refresh()
        self._announce()

    def update_row(self, row: RowState) -> None:
        """One row's state changed (its place in the order did not)."""
        index = self._index.get(row.name)
        if index is None:
            return
        self._rows[index] = row
        self._static[row.name] = static_cells(row)
        self._refresh_row(index)

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def row_state(self, name: str) -> RowState | None:
        index = self._index.get(name)
        return self._rows[index] if index is not None else None

    def names(self) -> list[str]:
        """Every row shown, in order."""
        return [row.name for row in self._rows]

    def cell_text(self, name: str, key: str) -> str:
        """What the cell `key` of row `name` says now (stripped)."""
        row = self.row_state(name)
        if row is None:
            raise KeyError(name)
        if key in DYNAMIC:
            return dynamic_cells(row, self._now or datetime.now().astimezone())[key]
        return self._cells(row)[key].strip()

    def cell_style(self, name: str, key: str) -> Style:
        """The style the cell `key` of row `name` is drawn with (off the cursor)."""
        row = self.row_state(name)
        layout = self._fitted()
        keys = shown_keys(layout)
        if row is None or key not in keys:
            raise KeyError((name, key))
        now = self._now or datetime.now().astimezone()
        width = self.scrollable_content_region.width
        strip = self._row_strip(row, self._dynamic_key(row, now), layout, width, cursor=False)
        return list(strip)[keys.index(key)].style or Style()

    @property
    def shown_columns(self) -> list[str]:
        return shown_keys(self._fitted())

    # --- cursor --------------------------------------------------------------------

    @property
    def selected_name(self) -> str | None:
        if 0 <= self.cursor_row < len(self._rows):
            return self._rows[self.cursor_row].name
        return None

    @property
    def selected(self) -> RowState | None:
        name = self.selected_name
        return self.row_state(name) if name else None

    def select(self, name: str) -> bool:
        index = self._index.get(name)
        if index is None:
            return False
        self.move_to(index)
        return True

    def move_to(self, index: int) -> None:
        if not self._rows:
            return
        index = max(0, min(index, len(self._rows) - 1))
        if index != self.cursor_row:
            old = self.cursor_row
            self.cursor_row = index
            self._refresh_row(old)
            self._refresh_row(index)
        self._scroll_to_cursor()
        self._announce()

    def move(self, delta: int) -> None:
        self.move_to(self.cursor_row + delta)

    @property
    def page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _announce(self) -> None:
        name = self.selected_name
        if name != self._highlighted:
            self._highlighted = name
            self.post_message(self.Highlighted(self, name))

    def _scroll_to_cursor(self) -> None:
        height = max(2, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            top = self.cursor_row
        elif self.cursor_row > top + height - 2:
            top = self.cursor_row - height + 2
        top = max(0, min(top, len(self._rows) + 1 - height))
        if top != int(self.scroll_y):
            self.scroll_to(y=top, animate=False, immediate=True)

    def visible_names(self) -> list[str]:
        """Names of the rows on screen now."""
        top = int(self.scroll_y)
        height = max(1, self.scrollable_content_region.height - 1)
        return [row.name for row in self._rows[top : top + height]]

    # --- the clock -----------------------------------------------------------------

    def tick(self, now: datetime) -> int:
        """Redraw the lines on screen whose clock-driven text changed; returns how many."""
        self._now = now
        top = int(self.scroll_y)
        changed = 0
        for offset in range(len(self.visible_names())):
            row = self._rows[top + offset]
            if self._drawn.get(top + offset) != self._dynamic_key(row, now):
                changed += 1
                self._refresh_row(top + offset)
        return changed

    def _dynamic_key(self, row: RowState, now: datetime) -> tuple[str, str, str, Urgency]:
        cells = dynamic_cells(row, now)
        level = urgency(row.status.expires_at, now, row.status.refresh_margin)
        return (cells["left"], cells["state"], cells["then"], level)

    def repaint_all(self) -> None:
        """Draw every line again (after a theme change: colours come from the theme)."""
        self._lines.clear()
        self._drawn.clear()
        self.refresh()

    def _refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        self._drawn.pop(index, None)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # --- layout ----------------------------------------------------------------------

    def _fitted(self) -> list[tuple[Column, int]]:
        width = self.scrollable_content_region.width
        if width != self._layout_width:
            self._layout = fit(self._widths, max(20, width))
            self._layout_width = width
            self._lines.clear()
        return self._layout

    def _set_virtual_height(self, height: int) -> None:
        size = Size(1, height)  # never wider than the view: nothing scrolls sideways
        if size != self.virtual_size:
            self.virtual_size = size
            self._scroll_update(size)

    def on_resize(self, event: events.Resize) -> None:
        self._set_virtual_height(len(self._rows) + 1)
        self._scroll_to_cursor()
        self.refresh()

    # --- drawing -----------------------------------------------------------------------

    def _colour(self, variable: str) -> Style:
        if not variable:
            return Style()
        colour = self.app.theme_variables.get(variable, "")
        return Style.parse(colour) if colour else Style()

    def render_line(self, y: int) -> Strip:
        layout = self._fitted()
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header(layout, width)
        index = int(self.scroll_y) + y - 1
        if index >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        row = self._rows[index]
        now = self._now or datetime.now().astimezone()
        dynamic = self._dynamic_key(row, now)
        cursor = index == self.cursor_row
        key = (row, dynamic, cursor, width, self.has_focus, self.app.theme)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._row_strip(row, dynamic, layout, width, cursor)
            if len(self._lines) > _LINE_CACHE:
                self._lines.clear()
            self._lines[key] = strip
        self._drawn[index] = dynamic
        return strip

    def _header(self, layout: list[tuple[Column, int]], width: int) -> Strip:
        style = self.get_component_rich_style("profile-table--header")
        text = "".join(f" {clip(c.label, w, right=c.right)} " for c, w in layout)
        return Strip([Segment(clip(text, width), style)], width)

    def _cells(self, row: RowState) -> dict[str, str]:
        """The row's clock-free cells, as measured (worked out here only if not)."""
        cells = self._static.get(row.name)
        return cells if cells is not None else static_cells(row)

    def _row_strip(
        self,
        row: RowState,
        dynamic: tuple[str, str, str, Urgency],
        layout: list[tuple[Column, int]],
        width: int,
        cursor: bool,
    ) -> Strip:
        """One line; `dynamic` is `_dynamic_key`'s (the caller has just worked it out)."""
        base = self.rich_style
        if cursor:
            base = base + self.get_component_rich_style("profile-table--cursor")
        dim = Style(dim=True) if not row.status.managed else Style()
        left, state, then, level = dynamic
        cells = {**self._cells(row), "left": left, "state": state, "then": then}
        colours = {
            "left": URGENCY_COLOURS[level],
            "state": NOTE_COLOURS[row.note_kind],
            "note": NOTE_COLOURS[row.note_kind],
            "then": THEN_COLOURS[row.then],
            "mfa": "warning" if row.seed_refused else "",
        }
        segments: list[Segment] = []
        for column, cell_width in layout:
            style = base + dim
            colour = colours.get(column.key, "")
            if colour and not cursor:
                style += self._colour(colour)
            if column.key == "name" and row.active:
                style += Style(bold=True)
            if column.key == "left" and level is Urgency.NONE:
                style += Style(dim=True)
            text = clip(cells.get(column.key, ""), cell_width, right=column.right)
            segments.append(Segment(f" {text} ", style))
        used = sum(w + 2 for _, w in layout)
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(segments, width).crop(0, width)

    # --- mouse ---------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = int(self.scroll_y) + event.y - 1
        if not 0 <= index < len(self._rows):
            return
        if index == self.cursor_row:
            self.post_message(self.Selected(self, self._rows[index].name))
        else:
            self.move_to(index)
