"""The dashboard screen: every profile, live countdowns, one-key role switching.

Data flows one way. A one-second tick recomputes the countdowns on screen from each
session's expiry and the clock, polls the files' signatures, and asks the refresh
policy what is due. Everything that blocks (reading files, the keyring, STS) runs in
thread workers that post messages back; handlers here turn those into rows, log lines
and prompts. No widget calls the engine, and no worker touches a widget.
"""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, get_current_worker

from mfa_tui.aws.files import Kind
from mfa_tui.clock import Clock
from mfa_tui.core.backend import Backend, Snapshot
from mfa_tui.core.file_watch import FileWatcher
from mfa_tui.core.key_ages import rotate_due
from mfa_tui.core.refresh_policy import active_source
from mfa_tui.core.status import ProfileStatus, ages_wanted
from mfa_tui.errors import MfaTuiError
from mfa_tui.settings import Settings
from mfa_tui.tui.messages import (
    CodeNeeded,
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
from mfa_tui.tui.model import NoteKind, RowState, shown_in_table, sort_key
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

# The log starts hidden below this width (it would squeeze the table at 80×24).
LOG_MIN_WIDTH = 120


class FilterInput(Input):
    """The `/` field; escape clears it and goes back to the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear filter"),
        Binding("down", "done", "To table", show=False),
    ]

    def action_clear(self) -> None:
        self.value = ""
        self.screen.set_focus(self.screen.query_one(ProfileTable))

    def action_done(self) -> None:
        self.screen.set_focus(self.screen.query_one(ProfileTable))


class Dashboard(Screen[None]):
    """The main screen. Its app gives the engine's door (`backend`), the clock and the
    prompt desk; the screen keeps what the files said last and what it is doing."""

    # Textual declares this without ClassVar, so mypy refuses the annotation here.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (LOG_MIN_WIDTH, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh"),
        Binding("R", "refresh_due", "Refresh due", key_display="R"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("t", "totp", "TOTP"),
        Binding("s", "setup", "MFA setup", show=False),
        Binding("a", "toggle_auto", "Auto"),
        Binding("e", "export", "Export"),
        Binding("c", "console", "Console", show=False),
        Binding("l", "toggle_log", "Log"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, title_note: str = "") -> None:
        super().__init__()
        self.title_note = title_note
        self.refreshes = Refreshes(self)
        self.seeds = SeedMarks()
        self.snapshot: Snapshot | None = None
        self.statuses: dict[str, ProfileStatus] = {}
        self.filter_text = ""
        self.log_open = False
        self.loads = 0
        self._watcher: FileWatcher | None = None
        self._loading = False
        self._load_again = False
        self._active_source: str | None = None
        self._counts: dict[Urgency, int] = {}
        self._counts_until: datetime | None = None
        self._problems_seen: set[str] = set()
        # Users whose key age IAM was asked for in this run (asked once each).
        self._ages_asked: set[str] = set()

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
                yield FilterInput(placeholder="filter by name", id="filter")
                yield ProfileTable(self.clock, id="profiles")
                yield Static("Reading the AWS files…", id="empty", markup=False)
            yield DetailPane(id="detail")
        yield EventLog(self.clock, id="log")
        yield Footer(compact=True)

    @property
    def table(self) -> ProfileTable:
        return self.query_one(ProfileTable)

    @property
    def event_log(self) -> EventLog:
        return self.query_one(EventLog)

    def on_mount(self) -> None:
        self.query_one("#filter").display = False
        self.log_open = self.app.size.width >= LOG_MIN_WIDTH
        self._place_log()
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
        header.set_state(
            active,
            source=self._active_source if active else None,
            active_profile=active_name,
            counts=self._urgency_counts(now),
            busy=self.refreshes.policy.in_flight_count,
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
        self.run_worker(self._load_job, thread=True, group="load", exit_on_error=False)

    def _load_job(self) -> None:
        try:
            snapshot = self.backend.load()
        except MfaTuiError as exc:
            self.post_message(LoadFailed(exc.title, exc.message))
            return
        self.post_message(ProfilesLoaded(snapshot))

    def _load_done(self) -> None:
        self._loading = False
        if self._load_again:
            self._load()

    @on(ProfilesLoaded)
    def _loaded(self, message: ProfilesLoaded) -> None:
        self._load_done()
        first = self.snapshot is None
        self.snapshot = message.snapshot
        self.statuses = {s.name: s for s in message.snapshot.statuses}
        self._active_source = active_source(
            message.snapshot.statuses, message.snapshot.settings.active_profile
        )
        self._counts_until = None
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
        self.update_rows()
        if first:
            self.mfa_app.release_typeahead()
        unknown = self.seeds.unknown(s.mfa_serial for s in self.statuses.values() if s.mfa_serial)
        if unknown and first:
            # Importing the keyring takes a moment of CPU: let the first screen come first.
            self.set_timer(0.5, lambda: self._check_seeds(unknown, self.seeds.epoch))
        elif unknown:
            self._check_seeds(unknown, self.seeds.epoch)
        wanted = frozenset(ages_wanted(self.statuses.values(), self.clock.now()))
        wanted -= self._ages_asked
        if wanted:
            self._ages_asked |= wanted
            if first:  # boto3 and the network: after the first screen, as for seeds
                self.set_timer(0.5, lambda: self._fetch_key_ages(wanted))
            else:
                self._fetch_key_ages(wanted)

    @work(thread=True, group="seeds", exit_on_error=False)
    def _check_seeds(self, serials: frozenset[str], epoch: int) -> None:
        # The keyring can take a while (a D-Bus round trip per device): the table is
        # already up, the +totp marks follow.
        try:
            seeded = self.backend.seeded_serials(serials)
        except MfaTuiError as exc:
            self.post_message(ErrorShown(exc.title, exc.message))
            return
        self.post_message(SeedsKnown(serials, seeded, epoch))

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
        self.seeds.answered(message.checked, message.seeded, message.epoch)
        self.update_rows()

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

    def row_for(self, status: ProfileStatus, active: str | None) -> RowState:
        assert self.snapshot is not None
        settings = self.snapshot.settings
        name = status.name
        note, kind = "", NoteKind.NONE
        refreshes = self.refreshes
        backoff = refreshes.policy.backoff(name)
        if refreshes.profile_waits_for_person(name):
            note, kind = "waiting for your MFA code", NoteKind.CODE
        elif refreshes.policy.in_flight(name):
            note, kind = "refreshing…", NoteKind.BUSY
        elif name in refreshes.waiting or (backoff is not None and backoff.needs_code):
            note, kind = "MFA code needed: press enter", NoteKind.CODE
        elif backoff is not None and backoff.expires_at == status.expires_at:
            note, kind = f"failed, will retry: {backoff.error}", NoteKind.ERROR
        elif name in refreshes.errors:
            note, kind = refreshes.errors[name], NoteKind.ERROR
        elif status.key_created is not None and rotate_due(status.key_created, self.clock.now()):
            days = (self.clock.now() - status.key_created).days
            note, kind = f"rotate: the access key is {days} days old", NoteKind.INFO
        return RowState(
            status=status,
            seeded=self.seeds.has(status.mfa_serial),
            auto_refresh=settings.auto_refresh_for(name),
            active=name == active,
            note=note,
            note_kind=kind,
            last_error=refreshes.errors.get(name, ""),
        )

    def update_rows(self) -> None:
        """Rebuild the row states from what is known and hand them to the table."""
        if self.snapshot is None:
            return
        try:
            table = self.table
            empty = self.query_one("#empty", Static)
        except NoMatches:
            # A worker's message can land while the app is closing and its widgets are
            # going, one by one; there is nothing left to repaint.
            return
        statuses = [s for s in self.statuses.values() if shown_in_table(s)]
        needle = self.filter_text.casefold()
        if needle:
            statuses = [s for s in statuses if needle in s.name.casefold()]
        statuses.sort(key=sort_key)
        now = self.clock.now()
        rows = [self.row_for(s, self._active_source) for s in statuses]
        table.set_rows(rows, now)
        empty.display = not statuses
        if not statuses:
            empty.update(self._empty_text())
        self._refresh_chrome(now)

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
        self.poll_files()
        self.update_rows()

    @on(RefreshFailed)
    def _failed(self, message: RefreshFailed) -> None:
        self.recheck_due()
        self.refreshes.failed(message)
        self.update_rows()

    @on(CodeNeeded)
    def _code_needed(self, message: CodeNeeded) -> None:
        self.recheck_due()
        self.refreshes.code_needed(message)
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

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_switch()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(DetailPane).show_row(self.table.selected, self.clock.now())

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
        if self.snapshot is None:
            return
        now = self.clock.now()
        started = 0
        policy = self.refreshes.policy
        for status in sorted(self.statuses.values(), key=sort_key):
            if status.managed and policy.wants_refresh(status, self.snapshot.settings, now):
                policy.forget(status.name)
                started += self.refresh_profile(status.name, background=True)
        if not started:
            self.notify("Nothing is inside its refresh margin.", timeout=3)
        else:
            self.log_event(EventKind.INFO, f"Refreshing {started} due session(s)")

    def action_filter(self) -> None:
        field = self.query_one(FilterInput)
        field.display = True
        # Focus now, not on the next loop turn: keys typed right after '/' belong here.
        self.set_focus(field)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.update_rows()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.set_focus(self.table)

    def on_descendant_blur(self) -> None:
        field = self.query_one(FilterInput)
        if not field.has_focus and not field.value:
            field.display = False

    def action_toggle_log(self) -> None:
        self.log_open = not self.log_open
        self._place_log()

    def _place_log(self) -> None:
        # Narrow screens have room for the details or the log, not both.
        self.event_log.display = self.log_open
        narrow = self.app.size.width < LOG_MIN_WIDTH
        self.query_one(DetailPane).display = not (self.log_open and narrow)

    def on_resize(self) -> None:
        with suppress(NoMatches):  # a resize can come before the widgets exist
            self._place_log()

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
