"""The dashboard screen: every profile, live countdowns, one-key role switching.

Data flows one way. A one-second tick recomputes the countdowns on screen from each
session's expiry and the clock, polls the files' signatures, and asks the refresh
policy what is due. Everything that blocks (reading files, the keyring, STS, IAM) runs
in thread workers that post messages back; handlers here turn those into rows, log
lines and prompts. No widget calls the engine, and no worker touches a widget.

Keys are taken here, in the order they were typed (see `take_key`): Textual runs a
widget's bindings only once a key has bubbled up to the app, behind whatever the screen
is busy with, while a letter is inserted into a text field at once, so "abcd" typed
after a held backspace came out "bcd". One queue for every key keeps them in order,
and makes every key mean the same wherever the focus is.
"""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.errors import NoWidget
from textual.geometry import Size
from textual.notifications import Notification
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.widgets._toast import Toast, ToastRack
from textual.worker import Worker, get_current_worker

from mfa_tui.aws.files import Kind
from mfa_tui.clock import Clock
from mfa_tui.core.backend import Backend, Snapshot
from mfa_tui.core.file_watch import FileWatcher
from mfa_tui.core.gc_pause import gc_paused
from mfa_tui.core.key_ages import rotate_due
from mfa_tui.core.picks import Picks
from mfa_tui.core.refresh_policy import active_source
from mfa_tui.core.status import ProfileStatus, ages_wanted
from mfa_tui.errors import MfaTuiError
from mfa_tui.settings import Settings
from mfa_tui.tui.finder import Finder
from mfa_tui.tui.messages import (
    AliasesKnown,
    CodeNeeded,
    CodeStepWait,
    ConsoleOpened,
    ErrorShown,
    KeyAgesKnown,
    LoadFailed,
    ProfilesLoaded,
    RefreshFailed,
    SeedFailed,
    SeedSaved,
    SeedsKnown,
    SessionRefreshed,
)
from mfa_tui.tui.model import NoteKind, RowState, shown_in_table, tree_key
from mfa_tui.tui.ordering import NEXT_SORT, SORT_LABELS, ordered
from mfa_tui.tui.refreshing import Refreshes
from mfa_tui.tui.screens.export import ExportScreen
from mfa_tui.tui.screens.help import HelpScreen
from mfa_tui.tui.screens.mfa_setup import SetupScreen
from mfa_tui.tui.screens.totp_setup import TotpSetup
from mfa_tui.tui.seed_marks import SeedMarks
from mfa_tui.tui.timefmt import Urgency, urgency
from mfa_tui.tui.widgets.detail_pane import DetailPane
from mfa_tui.tui.widgets.event_log import EventKind, EventLog
from mfa_tui.tui.widgets.profile_table import ProfileTable
from mfa_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from mfa_tui.core.asking import Asker
    from mfa_tui.tui.app import MfaTuiApp
    from mfa_tui.tui.prompts import PromptDesk

# Below this width the details sit under the table, and the log takes their place.
LOG_MIN_WIDTH = 120
# Seconds between looks at a new toast Textual has not laid out yet, and how many looks.
TOAST_LOOK_AGAIN = 0.05
TOAST_LOOKS = 40
# Below this height (narrow layout) the details give their rows to the table.
DETAIL_MIN_HEIGHT = 20

# Keys a focused filter field edits with, and the field's action for each.
EDIT_KEYS = {
    "backspace": "delete_left",
    "delete": "delete_right",
    "ctrl+d": "delete_right",
    "left": "cursor_left",
    "right": "cursor_right",
    "ctrl+left": "cursor_left_word",
    "ctrl+right": "cursor_right_word",
    "ctrl+a": "home",
    "ctrl+e": "end",
    "ctrl+w": "delete_left_word",
    "ctrl+u": "delete_left_all",
    "ctrl+k": "delete_right_all",
    "alt+backspace": "delete_left_word",
    "ctrl+backspace": "delete_left_word",
}


class FilterInput(Input):
    """The `/` field. Its keys are given to it by the dashboard (`take_key`), in order."""

    # Its size is fixed by the stylesheet: a keystroke need not lay the screen out again.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)


class Dashboard(Screen[None]):
    """The main screen. Its app gives the engine's door (`backend`), the clock and the
    prompt desk; the screen keeps what the files said last and what it is doing."""

    # Textual declares this without ClassVar, so mypy refuses the annotation here.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (LOG_MIN_WIDTH, "-wide"),
    ]
    # One table for the footer, the help screen and `take_key`.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,ctrl+j", "switch", "Switch", show=False),
        Binding("r", "refresh", "Refresh"),
        Binding("R", "refresh_due", "Refresh due", key_display="R"),
        Binding("slash", "filter", "Find", key_display="/"),
        Binding("n", "next_code", "Next code"),
        Binding("p", "pin", "Pin"),
        Binding("s", "sort", "Sort"),
        Binding("t", "totp", "TOTP"),
        Binding("m", "setup", "MFA setup", show=False),
        Binding("a", "toggle_auto", "Auto"),
        Binding("e", "export", "Export"),
        Binding("c", "console", "Console", show=False),
        Binding("l", "toggle_log", "Log"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
        Binding("escape", "clear_filter", "Clear", show=False),
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]
    # Keys that move the table wherever the focus is (in the filter too).
    MOVING = frozenset({"up", "down", "pageup", "pagedown", "home", "end"})

    def __init__(self, title_note: str = "") -> None:
        super().__init__()
        self.title_note = title_note
        self.refreshes = Refreshes(self)
        self.seeds = SeedMarks()
        self.picks = Picks()
        self.aliases: dict[str, str] = {}
        self.snapshot: Snapshot | None = None
        self.statuses: dict[str, ProfileStatus] = {}
        self.filter_text = ""
        self.sort = "recent"
        self.log_open = False
        # The toast `make_room_for` makes room for, and the ones it took away that
        # Textual has not removed yet.
        self._toast_newest = ""
        self._toasts_gone: set[str] = set()
        self.loads = 0
        self._rows: dict[str, RowState] = {}
        self._ordered: list[RowState] = []
        # Built for the rows in their order on the first search after they change.
        self._finder: Finder | None = None
        self._searched: dict[str, RowState] = {}
        self._watcher: FileWatcher | None = None
        self._loading = False
        self._load_again = False
        self._active_source: str | None = None
        self._counts: dict[Urgency, int] = {}
        self._counts_until: datetime | None = None
        self._problems_seen: set[str] = set()
        # Users whose key age IAM was asked for in this run (asked once each).
        self._ages_asked: set[str] = set()
        self._aliases_asked: set[str] = set()
        self._empty_shown = ""
        # The keyring and alias look-ups wait for the first screen (workers_settled knows).
        self.after_first_screen_pending = False

    # --- what the app gives --------------------------------------------------------------

    @property
    def mfa_app(self) -> MfaTuiApp:
        from mfa_tui.tui.app import MfaTuiApp

        app = self.app
        assert isinstance(app, MfaTuiApp)
        return app

    @property
    def backend(self) -> Backend:
        return self.mfa_app.backend

    @property
    def clock(self) -> Clock:
        return self.mfa_app.clock

    def app_desk(self) -> PromptDesk:
        return self.mfa_app.desk

    @property
    def active_profile_name(self) -> str:
        return self.snapshot.settings.active_profile if self.snapshot else "the active profile"

    # --- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader("mfa-tui", note=self.title_note, id="header")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield FilterInput(
                    placeholder="find: profile, account ID or alias, role, user (esc clears)",
                    id="filter",
                )
                yield ProfileTable(id="profiles")
                yield Static("Reading the AWS files…", id="empty", markup=False)
            yield DetailPane(id="detail")
        yield EventLog(self.clock, id="log")
        yield Footer(compact=True)

    @property
    def table(self) -> ProfileTable:
        return self.query_one(ProfileTable)

    @property
    def filter_field(self) -> FilterInput:
        return self.query_one(FilterInput)

    @property
    def event_log(self) -> EventLog:
        return self.query_one(EventLog)

    def on_mount(self) -> None:
        self.filter_field.display = False
        size = self.app.size
        self.log_open = size.width >= LOG_MIN_WIDTH
        self._place(size)
        self.table.focus()
        # Signatures first, then the read: a change in between is seen at the next tick.
        self._watcher = FileWatcher(self.backend.watched_files())
        self._load()
        self.set_interval(self.mfa_app.tick_seconds, self.tick, name="tick")

    def repaint_for_theme(self) -> None:
        self.table.repaint_all()
        self._refresh_chrome()

    # --- the tick ------------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: countdowns, header, detail pane, file poll, due refreshes."""
        self.mfa_app.check_clock()
        now = self.clock.now()
        self.table.tick(now)
        self._refresh_chrome(now)
        self.poll_files()
        self._start_due(now)

    def poll_files(self) -> None:
        """Re-read the files if any changed since the last look."""
        if self._watcher is not None and self._watcher.changed():
            self._load()

    def _start_due(self, now: datetime) -> None:
        if not self.mfa_app.background_refresh or self.snapshot is None:
            return
        policy = self.refreshes.policy
        for name in policy.take_due(
            self.statuses.values(), self.snapshot.settings, now, self.clock.monotonic()
        ):
            self.refreshes.start(name, background=True)

    def recheck_due(self) -> None:
        """Something changed what is due (files, a result, a switch): look at the next tick."""
        self.refreshes.policy.look_again()

    def _refresh_chrome(self, now: datetime | None = None) -> None:
        """Header and detail pane; each repaints only if its text changed."""
        now = now or self.clock.now()
        try:
            header = self.query_one(StatusHeader)
            detail = self.query_one(DetailPane)
            table = self.table
        except NoMatches:
            return  # the app is closing (see update_rows)
        if self.snapshot is None:
            return
        active_name = self.snapshot.settings.active_profile
        active = self.statuses.get(active_name)
        if active is not None and not active.active:
            active = None
        source = self._rows.get(self._active_source or "") if active else None
        header.set_state(
            active,
            source=source,
            active_profile=active_name,
            counts=self._urgency_counts(now),
            busy=self.refreshes.policy.in_flight_count,
            needing_code=self.needing_code(),
            now=now,
        )
        detail.show_row(table.selected, now)

    def _urgency_counts(self, now: datetime) -> dict[Urgency, int]:
        """How many managed sessions are ok / due / expired; recounted only when one
        crosses a margin or its expiry (not every second)."""
        if self._counts_until is not None and now < self._counts_until:
            return self._counts
        counts: Counter[Urgency] = Counter()
        soonest: datetime | None = None
        for status in self.statuses.values():
            if not status.managed:
                continue
            counts[urgency(status.expires_at, now, status.refresh_margin)] += 1
            if status.expires_at is None:
                continue
            margin_edge = status.expires_at - timedelta(seconds=status.refresh_margin)
            for edge in (margin_edge, status.expires_at):
                if edge > now and (soonest is None or edge < soonest):
                    soonest = edge
        self._counts = dict(counts)
        self._counts_until = soonest or now + timedelta(days=365)
        return self._counts

    # --- loading ---------------------------------------------------------------------------

    def _load(self) -> None:
        """Read the files in a worker; a change during a read means one more read after."""
        if self._loading:
            self._load_again = True
            return
        self._loading = True
        self._load_again = False
        first = self.snapshot is None
        self.run_worker(
            partial(self._load_job, first), thread=True, group="load", exit_on_error=False
        )

    def _load_job(self, first: bool) -> None:
        try:
            with gc_paused():
                snapshot = self.backend.load()
        except MfaTuiError as exc:
            self.post_message(LoadFailed(exc.title, exc.message))
            return
        # The state folder's conveniences: their absence or damage is never an error.
        picks = Picks.load() if first else None
        aliases = self.backend.account_aliases() if first else None
        self.post_message(ProfilesLoaded(snapshot, picks, aliases))

    def _load_done(self) -> None:
        self._loading = False
        if self._load_again:
            self._load()

    @on(ProfilesLoaded)
    def _loaded(self, message: ProfilesLoaded) -> None:
        self._load_done()
        first = self.snapshot is None
        self.snapshot = message.snapshot
        if message.picks is not None:
            self.picks = message.picks
        if message.aliases is not None:
            self.aliases = {**message.aliases, **self.aliases}
        if first:
            self.sort = message.snapshot.settings.sort_order
            self.mfa_app.apply_theme(message.snapshot.settings.theme)
        self.statuses = {s.name: s for s in message.snapshot.statuses}
        self._active_source = active_source(
            message.snapshot.statuses, message.snapshot.settings.active_profile
        )
        self._counts_until = None
        self.refreshes.files_read(self.clock.now())
        self.recheck_due()
        self.loads += 1
        for problem in message.snapshot.problems:
            if problem not in self._problems_seen:
                self._problems_seen.add(problem)
                self.log_event(EventKind.WARN, problem)
        if first:
            shown = sum(1 for s in self.statuses.values() if shown_in_table(s))
            managed = sum(1 for s in self.statuses.values() if s.managed)
            self.log_event(EventKind.INFO, f"{shown} profiles, {managed} managed by mfa-tui")
        self.update_rows(reorder=True)
        if first:
            self.mfa_app.release_typeahead()
            # The keyring and IAM take a moment: the first screen comes first.
            self.after_first_screen_pending = True
            self.call_after_refresh(self._after_first_screen)
        else:
            self._after_load()

    def _after_first_screen(self) -> None:
        self.after_first_screen_pending = False
        self._after_load()

    def _after_load(self) -> None:
        """What the table is only the start of: +totp marks, aliases, keys' ages."""
        self._check_seeds_if_new()
        self._look_up_aliases()
        self._look_up_key_ages()

    def _check_seeds_if_new(self) -> None:
        unknown = self.seeds.unknown(s.mfa_serial for s in self.statuses.values() if s.mfa_serial)
        if unknown:
            self._check_seeds(unknown, self.seeds.epoch)

    def _look_up_key_ages(self) -> None:
        """Ask IAM (once a run per user, off the UI) how old keys of unknown age are."""
        wanted = frozenset(ages_wanted(self.statuses.values(), self.clock.now()))
        wanted -= self._ages_asked
        if wanted:
            self._ages_asked |= wanted
            self._fetch_key_ages(wanted)

    @work(thread=True, group="seeds", exit_on_error=False)
    def _check_seeds(self, serials: frozenset[str], epoch: int) -> None:
        # The keyring can take a while (a D-Bus round trip per device): the table is
        # already up, the +totp marks follow.
        try:
            seeded = self.backend.seeded_serials(serials)
            refused = self.backend.refused_seeds(seeded)
        except MfaTuiError as exc:
            self.post_message(ErrorShown(exc.title, exc.message))
            return
        self.post_message(SeedsKnown(serials, seeded, epoch, refused))

    @work(thread=True, group="key-ages", exit_on_error=False)
    def _fetch_key_ages(self, names: frozenset[str]) -> None:
        # IAM, with sessions that exist: the rows are up, the ages follow.
        found = self.backend.key_ages(sorted(names))
        failed = {n: e.message for n, e in found.items() if isinstance(e, MfaTuiError)}
        self.post_message(KeyAgesKnown(frozenset(found) - frozenset(failed), failed))

    @on(KeyAgesKnown)
    def _key_ages_known(self, message: KeyAgesKnown) -> None:
        for name, why in sorted(message.failed.items()):
            self.log_event(EventKind.WARN, f"the age of {name}'s access key is unknown: {why}")
        if message.found:
            self._load()  # the ages were recorded where every face reads them

    @on(SeedsKnown)
    def _seeds_known(self, message: SeedsKnown) -> None:
        self.seeds.answered(message.checked, message.seeded, message.epoch, message.refused)
        self.update_rows()

    def _look_up_aliases(self) -> None:
        """Account aliases for accounts with a session to ask with (IAM, in a worker);
        an account whose first session appears later is asked then."""
        soon = self.clock.now() + timedelta(minutes=2)
        wanted = {
            s.account_id
            for s in self.statuses.values()
            if s.account_id
            and s.account_id not in self.aliases
            and s.managed
            and s.expires_at is not None
            and s.expires_at > soon
        } - self._aliases_asked
        if wanted:
            self._aliases_asked |= wanted
            self._aliases_job(frozenset(wanted))

    @work(thread=True, group="aliases", exit_on_error=False)
    def _aliases_job(self, account_ids: frozenset[str]) -> None:
        try:
            found = self.backend.look_up_aliases(account_ids)
        except MfaTuiError as exc:
            self.post_message(ErrorShown(exc.title, exc.message))
            return
        self.post_message(AliasesKnown(found))

    @on(AliasesKnown)
    def _aliases_known(self, message: AliasesKnown) -> None:
        changed = {k: v for k, v in message.aliases.items() if self.aliases.get(k) != v}
        if changed:
            self.aliases.update(changed)
            self.update_rows(reorder=self.sort == "account", remeasure=True)

    @on(ErrorShown)
    def _error_shown(self, message: ErrorShown) -> None:
        self.log_event(EventKind.ERROR, f"{message.title}: {message.message}")
        self.notify(message.message, title=message.title, severity="error", markup=False)

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        self._load_done()
        self.mfa_app.release_typeahead()
        self.log_event(EventKind.ERROR, f"{message.title}: {message.message}")
        self.notify(message.message, title=message.title, severity="error", markup=False)
        if self.snapshot is None:
            self.query_one("#empty", Static).update(f"{message.title}: {message.message}")

    # --- rows ------------------------------------------------------------------------------

    def _silent(self, status: ProfileStatus, settings: Settings) -> bool:
        """A code for this profile's device comes without a person."""
        user = status.source_user or status.name
        if status.mfa_process or (
            settings.for_profile(status.name).code_command
            or settings.for_profile(user).code_command
            or settings.code_command
        ):
            return True
        serial = status.mfa_serial or (
            self.statuses[user].mfa_serial if user in self.statuses else None
        )
        return self.seeds.has(serial)  # a seed AWS keeps refusing does not count

    def row_for(self, status: ProfileStatus, active: str | None) -> RowState:
        assert self.snapshot is not None
        settings = self.snapshot.settings
        name = status.name
        note, kind = "", NoteKind.NONE
        refreshes = self.refreshes
        backoff = refreshes.policy.backoff(name)
        refused = self.seeds.is_refused(status.mfa_serial)
        if refreshes.profile_waits_for_person(name):
            note, kind = "waiting for your MFA code", NoteKind.CODE
        elif refreshes.policy.in_flight(name):
            note, kind = "refreshing…", NoteKind.BUSY
        elif refused and status.kind is Kind.USER:
            # The cause, above any retry it led to, until a seed that works is stored.
            note, kind = self.seeds.refused_note(status.mfa_serial or "", name), NoteKind.ERROR
        elif name in refreshes.waiting or (backoff is not None and backoff.needs_code):
            note, kind = "MFA code needed: press enter", NoteKind.CODE
        elif backoff is not None and backoff.expires_at == status.expires_at:
            note, kind = f"failed, will retry: {backoff.error}", NoteKind.ERROR
        elif name in refreshes.errors:
            note, kind = refreshes.errors[name], NoteKind.ERROR
        elif status.key_created is not None and rotate_due(status.key_created, self.clock.now()):
            days = (self.clock.now() - status.key_created).days
            note, kind = f"rotate: the access key is {days} days old", NoteKind.INFO
        source = status.source_user
        source_status = self.statuses.get(source) if source and source != name else None
        return RowState(
            status=status,
            seeded=self.seeds.has(status.mfa_serial),
            auto_refresh=settings.auto_refresh_for(name),
            active=name == active,
            note=note,
            note_kind=kind,
            last_error=refreshes.errors.get(name, ""),
            alias=self.aliases.get(status.account_id or "", ""),
            pinned=name in self.picks.pins,
            silent=self._silent(status, settings),
            source_expires_at=source_status.expires_at if source_status else None,
            step_wait_until=refreshes.step_waits.get(name),
            seed_refused=refused,
        )

    def update_rows(self, *, reorder: bool = False, remeasure: bool | None = None) -> None:
        """Rebuild the row states from what is known and show them.

        The order (and the finder) is rebuilt when rows come or go or `reorder` says so;
        otherwise rows keep their places and only their cells change.
        """
        with gc_paused():
            self._update_rows(reorder, remeasure)

    def _update_rows(self, reorder: bool, remeasure: bool | None) -> None:
        if self.snapshot is None:
            return
        try:
            table = self.table
        except NoMatches:
            # A worker's message can land while the app is closing and its widgets are
            # going, one by one; there is nothing left to repaint.
            return
        active = self._active_source
        rows = {
            s.name: self.row_for(s, active) for s in self.statuses.values() if shown_in_table(s)
        }
        same_rows = rows.keys() == self._rows.keys()
        changed = [row for name, row in rows.items() if self._rows.get(name) != row]
        self._rows = rows
        now = self.clock.now()
        if remeasure or not same_rows or reorder:
            table.measure(list(rows.values()))
        elif changed:
            table.measure(changed, widen_only=True)
        if not same_rows or reorder:
            self._ordered = ordered(list(rows.values()), self.sort, self.picks, now)
            self._finder = None
            self._show_filtered(keep=table.selected_name)
        else:
            for row in changed:
                table.update_row(row)
            self._ordered = [rows[row.name] for row in self._ordered]
            if any(row.searchable() != self._searchable(row.name) for row in changed):
                self._finder = None  # an alias arrived: search by it from now on
                if self.filter_text:
                    self._show_filtered(keep=table.selected_name)
        self._refresh_chrome(now)

    def _searchable(self, name: str) -> object:
        row = self._searched.get(name)
        return row.searchable() if row is not None else None

    def _show_filtered(self, keep: str | None = None) -> None:
        """Show the rows the filter finds (best match first), the cursor on `keep` if it
        is among them, else on the best match."""
        table = self.table
        if not self.filter_text:
            rows = self._ordered
        else:
            if self._finder is None:
                self._finder = Finder([row.searchable() for row in self._ordered])
                self._searched = {row.name: row for row in self._ordered}
            rows = [self._ordered[i] for i in self._finder.find(self.filter_text)]
        # While searching, the cursor is on the best match.
        table.set_rows(rows, self.clock.now(), keep=keep, top=bool(self.filter_text))
        empty = self.query_one("#empty", Static)
        if empty.display != (not rows):
            empty.display = not rows
        text = self._empty_text() if not rows else ""
        if not rows and text != self._empty_shown:
            self._empty_shown = text
            empty.update(text)

    def _empty_text(self) -> str:
        if self.filter_text:
            return f"No profile matches '{self.filter_text}' (esc clears the filter)."
        files = " and ".join(str(p) for p in self.backend.watched_files()[:2])
        return (
            f"No AWS profiles in {files}.\n"
            "Add a user with 'aws configure --profile NAME' and an mfa_serial line; "
            "it appears here within a second."
        )

    def managed_profile_names(self) -> list[str]:
        """For the command palette."""
        return sorted((s.name for s in self.statuses.values() if s.managed), key=str.casefold)

    def needing_code(self) -> list[str]:
        """Users whose session needs a person's code now (one per device), in order."""
        users: dict[str, None] = {}
        for name, request in self.refreshes.waiting.items():
            status = self.statuses.get(name)
            users.setdefault(request.user or (status.source_user if status else name) or name)
        return list(users)

    # --- keys --------------------------------------------------------------------------------

    async def take_key(self, event: events.Key) -> bool:
        """Handle a key as it arrives (in typing order); False leaves it to Textual."""
        field = self.filter_field
        key = event.key
        # `focused`, not `has_focus`: the field learns of its focus a message later, and
        # the keys typed right after '/' are already here.
        if self.focused is field:
            if event.is_printable and event.character and key not in ("enter", "tab"):
                field.insert_text_at_cursor(event.character)
                self._filter_changed(field.value)
                return True
            action = EDIT_KEYS.get(key)
            if action is not None:
                getattr(field, f"action_{action}")()
                self._filter_changed(field.value)
                return True
            if key == "enter":
                self._filter_submitted()
                return True
            if key == "tab":
                self.set_focus(self.table)
                return True
            if key not in self.MOVING and key != "escape":
                return False
        bindings = self._bindings.key_to_bindings.get(key)
        if not bindings:
            return False
        await self.run_action(bindings[0].action)
        return True

    def _filter_changed(self, value: str) -> None:
        text = value.strip()
        if text == self.filter_text:
            return
        self.filter_text = text
        self._show_filtered()

    @on(Input.Changed, "#filter")
    def _filter_pasted(self, event: Input.Changed) -> None:
        # Typed keys are applied as they come (take_key); this catches a paste.
        self._filter_changed(event.value)

    def _filter_submitted(self) -> None:
        """Enter in the filter: the one row left is switched to; else on to the table."""
        table = self.table
        if self.filter_text and table.row_count == 1:
            self.set_focus(table)
            self.action_switch()
            return
        self.set_focus(table)

    # --- refreshing --------------------------------------------------------------------------

    def refresh_profile(
        self,
        name: str,
        *,
        force: bool = False,
        activate: bool = False,
        background: bool = False,
    ) -> bool:
        """Start a refresh (or a switch) of `name` in a worker; False if one is running."""
        return self.refreshes.start(name, force=force, activate=activate, background=background)

    def switch_to(self, name: str) -> None:
        """Make `name`'s session the active profile (refreshing it first if needed)."""
        self.log_event(EventKind.INFO, f"Switching to {name}…")
        self.refresh_profile(name, activate=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.refreshes.worker_changed(event)

    @on(SessionRefreshed)
    def _refreshed(self, message: SessionRefreshed) -> None:
        self.recheck_due()
        self.refreshes.refreshed(message)
        if message.activated:
            self.picks.used(message.profile, self.clock.time())
            self._save_picks()
        self.poll_files()
        self.update_rows()

    @on(RefreshFailed)
    def _failed(self, message: RefreshFailed) -> None:
        self.recheck_due()
        self.refreshes.failed(message)
        if message.seed_refused is not None:
            self.seeds.refused(message.seed_refused)
        self.update_rows()

    @on(CodeNeeded)
    def _code_needed(self, message: CodeNeeded) -> None:
        self.recheck_due()
        self.refreshes.code_needed(message)
        self.update_rows()

    @on(CodeStepWait)
    def _step_wait(self, message: CodeStepWait) -> None:
        self.refreshes.step_waits[message.profile] = message.until
        self.log_event(EventKind.INFO, f"{message.profile}: {message.text}")
        self.update_rows()

    # --- actions -----------------------------------------------------------------------------

    def _selected_managed(self) -> RowState | None:
        row = self.table.selected
        if row is None:
            return None
        if not row.status.managed:
            reason = row.status.reason or "mfa-tui does not manage it"
            self.notify(f"{row.name}: {reason}", markup=False, timeout=4)
            return None
        return row

    @on(ProfileTable.Selected)
    def _row_selected(self, event: ProfileTable.Selected) -> None:
        event.stop()
        self.action_switch()

    @on(ProfileTable.Highlighted)
    def _row_highlighted(self, event: ProfileTable.Highlighted) -> None:
        self.query_one(DetailPane).show_row(self.table.selected, self.clock.now())

    def action_move(self, delta: int) -> None:
        self.table.move(delta)

    def action_page(self, direction: int) -> None:
        self.table.move(direction * self.table.page)

    def action_first(self) -> None:
        self.table.move_to(0)

    def action_last(self) -> None:
        self.table.move_to(self.table.row_count - 1)

    def action_switch(self) -> None:
        row = self._selected_managed()
        if row is None:
            return
        if row.name in self.refreshes.waiting and not row.active:
            # The profile is waiting for a code: take it, without switching to it.
            self.refreshes.policy.forget(row.name)
            self.refresh_profile(row.name, force=True)
            return
        self.switch_to(row.name)

    def action_refresh(self) -> None:
        row = self._selected_managed()
        if row is not None:
            self.refreshes.policy.forget(row.name)
            self.refresh_profile(row.name, force=True)

    def action_refresh_due(self) -> None:
        """Every session inside its margin: silently where it can be, and the prompts,
        one after another, for every user that needs a code."""
        if self.snapshot is None:
            return
        now = self.clock.now()
        policy = self.refreshes.policy
        settings = self.snapshot.settings
        started = prompted = 0
        users = set(self.needing_code())
        for status in sorted(self.statuses.values(), key=tree_key):
            if not status.managed:
                continue
            row = self._rows.get(status.name)
            due = policy.wants_refresh(status, settings, now)
            person = status.kind is Kind.USER and (
                status.name in users or (due and row is not None and not row.silent)
            )
            if person:
                policy.forget(status.name)
                prompted += self.refresh_profile(status.name, force=True)
            elif due and status.name not in self.refreshes.waiting:
                policy.forget(status.name)
                started += self.refresh_profile(status.name, background=True)
        if not started and not prompted:
            self.notify("Nothing is inside its refresh margin.", timeout=3)
            return
        parts = [f"{started} in the background"] if started else []
        if prompted:
            parts.append(f"{prompted} asking for a code")
        self.log_event(EventKind.INFO, f"Refreshing due sessions: {', '.join(parts)}")

    def action_next_code(self) -> None:
        """Jump to the next row waiting for a code (clearing a filter that hides it)."""
        waiting = [row.name for row in self._ordered if row.name in self.refreshes.waiting]
        if not waiting:
            self.notify("No session is waiting for a code.", timeout=3)
            return
        current = self.table.selected_name
        names = [row.name for row in self._ordered]
        start = names.index(current) + 1 if current in names else 0
        after = [n for n in names[start:] + names[:start] if n in set(waiting)]
        target = after[0]
        if self.table.row_state(target) is None:
            self._clear_filter()
        self.table.select(target)
        self.set_focus(self.table)

    def action_pin(self) -> None:
        row = self.table.selected
        if row is None:
            return
        pinned = self.picks.toggle_pin(row.name)
        self.log_event(EventKind.INFO, f"{'Pinned' if pinned else 'Unpinned'} {row.name}")
        self._save_picks()
        self.update_rows(reorder=True)

    def action_sort(self) -> None:
        self.sort = NEXT_SORT.get(self.sort, "recent")
        self.notify(f"Sorted by {SORT_LABELS[self.sort]}", timeout=2)
        self.update_rows(reorder=True)
        if self.snapshot is not None:
            self._save_settings(self._with_settings(sort_order=self.sort))

    def _with_settings(self, **changes: object) -> Settings:
        """The settings with `changes`, shown at once; the file follows from a worker."""
        from dataclasses import replace

        assert self.snapshot is not None
        new = replace(self.snapshot.settings, **changes)  # type: ignore[arg-type]
        self.snapshot = Snapshot(self.snapshot.statuses, new, self.snapshot.problems)
        return new

    def save_theme(self, theme: str) -> None:
        """The person chose a theme: keep it for next time."""
        if self.snapshot is None or self.snapshot.settings.theme == theme:
            return
        self._save_settings(self._with_settings(theme=theme))

    @work(thread=True, exclusive=True, group="picks", exit_on_error=False)
    def _save_picks(self) -> None:
        try:
            self.picks.save()
        except MfaTuiError as exc:
            self.post_message(ErrorShown("Recent profiles", exc.message))

    def action_filter(self) -> None:
        field = self.filter_field
        field.display = True
        self.set_focus(field)

    def action_clear_filter(self) -> None:
        """esc: the filter is cleared and the table has the keys, wherever focus was."""
        self._clear_filter()
        self.set_focus(self.table)

    def _clear_filter(self) -> None:
        field = self.filter_field
        keep = self.table.selected_name
        field.value = ""
        field.display = False
        if self.filter_text:
            self.filter_text = ""
            self._show_filtered(keep=keep)

    def on_descendant_blur(self) -> None:
        field = self.filter_field
        if self.focused is not field and not field.value:
            field.display = False

    def action_toggle_log(self) -> None:
        self.log_open = not self.log_open
        self._place(self.size)

    def _place(self, size: Size) -> None:
        """Narrow screens have room for the details or the log, not both; short ones
        give the details' rows to the table."""
        self.event_log.display = self.log_open
        narrow = size.width < LOG_MIN_WIDTH
        short = narrow and size.height < DETAIL_MIN_HEIGHT
        self.query_one(DetailPane).display = not (narrow and (self.log_open or short))
        self.call_after_refresh(self._toasts_above_log)

    def _toasts_above_log(self) -> None:
        """Toasts stack down from under the header; with the log open, they stop above
        it (`make_room_for` keeps the newest whole), so they never cover its newest lines.
        Run once the layout for the new size is done: it reads the log's place."""
        with suppress(NoMatches):
            rack = self.query_one(ToastRack)
            log = self.event_log
            if log.display and log.region.height:
                rack.styles.max_height = max(1, log.region.y - rack.styles.margin.top)
            else:
                rack.styles.max_height = None

    def make_room_for(self, newest: Notification) -> None:
        """The stack above the log shows the newest toast whole: while it does not fit,
        the oldest toast goes (every toast's news is in the log too, or was seen). A
        newer toast takes over the fitting."""
        self._toast_newest = newest.identity
        self._make_room(newest, TOAST_LOOKS)

    def _make_room(self, newest: Notification, tries: int) -> None:
        # Textual mounts and removes toasts in its own time: look again after each step.
        if self._toast_newest != newest.identity or not tries or newest.has_expired:
            return
        toasts = list(self.query(Toast))
        gone = self._toasts_gone
        gone.intersection_update(t._notification.identity for t in toasts)
        shown = [t for t in toasts if t._notification is newest]
        try:
            geometry = self.find_widget(shown[0]) if shown else None
        except NoWidget:
            geometry = None
        if gone:
            geometry = None  # one taken away is still laid out: wait for the new layout
        if geometry is not None:
            if geometry.visible_region.height == geometry.region.height:
                return  # whole
            if toasts[0] is shown[0]:
                return  # it is the only one: a toast taller than the room
            # As a click on it does: the app forgets it and its holder goes too.
            gone.add(toasts[0]._notification.identity)
            toasts[0]._expire()
        self.set_timer(TOAST_LOOK_AGAIN, partial(self._make_room, newest, tries - 1))

    def on_resize(self, event: events.Resize) -> None:
        # The event's size is the new one; the app's may still be the old one here.
        with suppress(NoMatches):  # a resize can come before the widgets exist
            self._place(event.size)

    def action_help(self) -> None:
        settings = self.snapshot.settings if self.snapshot else None
        self.app.push_screen(HelpScreen(settings.active_profile if settings else "mfa-tui"))

    def action_export(self) -> None:
        row = self._selected_managed()
        if row is None or self.snapshot is None:
            return
        self.app.push_screen(
            ExportScreen(
                row.name, row.status.session_profile, self.snapshot.settings.active_profile
            )
        )

    def action_console(self) -> None:
        """The AWS web console as the selected role, in the browser (a worker: the
        session may need a refresh, or a code, first)."""
        row = self._selected_managed()
        if row is None:
            return
        self.log_event(EventKind.INFO, f"Opening the AWS console as {row.name}…")
        self._open_console(row.name, self.app_desk().broker.asker("you", f"console {row.name}"))

    @work(thread=True, exclusive=True, group="console", exit_on_error=False)
    def _open_console(self, name: str, asker: Asker) -> None:
        from mfa_tui.core.console import open_in_browser

        cancel = get_current_worker().cancelled_event
        try:
            link = self.backend.console_link(name, asker=asker, cancel=cancel)
        except MfaTuiError as exc:
            self.post_message(ErrorShown(exc.title, f"{name}: {exc.message}"))
            return
        self.post_message(ConsoleOpened(name, open_in_browser(link.url, cancel=cancel)))

    @on(ConsoleOpened)
    def _console_opened(self, message: ConsoleOpened) -> None:
        if message.opened:
            text = f"Opened the AWS console as {message.profile} in your browser"
            self.log_event(EventKind.OK, text)
            self.notify(text, markup=False, timeout=4)
            return
        text = (
            f"No browser took the AWS console for {message.profile}: run 'mfa-tui console "
            f"{message.profile} --print' in a terminal for its sign-in URL"
        )
        self.log_event(EventKind.WARN, text)
        self.notify(text, severity="warning", markup=False, timeout=10)

    def action_toggle_auto(self) -> None:
        row = self._selected_managed()
        if row is None or self.snapshot is None:
            return
        settings = self.snapshot.settings
        value = not settings.auto_refresh_for(row.name)
        new = settings.with_profile(row.name, auto_refresh=value)
        self.recheck_due()
        # Shown at once; the settings file follows from a worker.
        self.snapshot = Snapshot(
            statuses=self.snapshot.statuses,
            settings=new,
            problems=self.snapshot.problems,
        )
        self.log_event(EventKind.INFO, f"Auto-refresh {'on' if value else 'off'} for {row.name}")
        self._save_settings(new)
        self.update_rows()

    @work(thread=True, exclusive=True, group="settings", exit_on_error=False)
    def _save_settings(self, settings_to_save: Settings) -> None:
        try:
            self.backend.save_settings(settings_to_save)
        except MfaTuiError as exc:
            self.post_message(ErrorShown(exc.title, exc.message))

    def action_totp(self) -> None:
        row = self._selected_managed()
        if row is None:
            return
        status = row.status
        user = self.statuses.get(status.chain[-1]) if status.chain else status
        serial = status.mfa_serial or (user.mfa_serial if user else None)
        if user is None or user.kind is not Kind.USER or not serial:
            self.notify(
                f"{row.name} has no mfa_serial: add one to its profile in the config file "
                "(or run 'mfa-tui refresh' once to discover it)",
                markup=False,
            )
            return
        self.app.push_screen(
            TotpSetup(user.name, serial, self.clock),
            partial(self._totp_done, user.name, serial),
        )

    def _totp_done(self, user: str, serial: str, seed: str | None) -> None:
        if seed:
            self._save_seed(user, serial, seed)

    @work(thread=True, exclusive=True, group="seed", exit_on_error=False)
    def _save_seed(self, user: str, serial: str, seed: str) -> None:
        try:
            self.backend.save_seed(serial, seed)
        except MfaTuiError as exc:
            self.post_message(SeedFailed(user, exc.title, exc.message))
            return
        self.post_message(SeedSaved(user, serial))

    @on(SeedSaved)
    def _seed_saved(self, message: SeedSaved) -> None:
        self.seeds.stored(message.mfa_serial)
        self.log_event(
            EventKind.OK,
            f"TOTP seed for {message.profile} stored in the keyring: it refreshes by itself now",
        )
        self.notify(f"Seed stored for {message.profile}", markup=False, timeout=4)
        self.update_rows()

    @on(SeedFailed)
    def _seed_failed(self, message: SeedFailed) -> None:
        self.log_event(EventKind.ERROR, f"{message.profile}: {message.message}")
        self.notify(message.message, title=message.title, severity="error", markup=False)

    # --- MFA setup (the domain steps run in mfa_tui/tui/setup_steps.py) ---------------------

    def action_setup(self, name: str | None = None) -> None:
        """The setup screen for the selected user (or the user a role starts from)."""
        row = None if name else self.table.selected
        status = self.statuses.get(name) if name else row.status if row else None
        if status is None:
            return
        user = self.statuses.get(status.chain[-1] if status.chain else status.name)
        if user is None or user.kind is not Kind.USER:
            self.notify(
                f"{status.name}: setup gives an IAM user's access keys an MFA device; "
                "select a user profile (or one of its roles)",
                markup=False,
            )
            return
        self.app.push_screen(
            SetupScreen(user.name, hint=self.app_desk().code_hint), self._setup_done
        )

    def _setup_done(self, profile: str | None) -> None:
        if profile is None:
            return
        self.log_event(EventKind.OK, f"{profile} has an MFA device in use: getting a session")
        self.poll_files()
        self.refresh_profile(profile, force=True)

    # --- misc --------------------------------------------------------------------------------

    def log_event(self, kind: EventKind, message: str) -> None:
        # A worker's answer can land while the app is closing and its widgets are gone.
        with suppress(NoMatches):
            self.event_log.add(kind, message)
