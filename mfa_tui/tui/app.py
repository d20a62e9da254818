"""The dashboard: every profile, live countdowns, one-key role switching.

Data flows one way. A one-second tick recomputes the countdowns on screen from each
session's expiry and the clock, polls the files' signatures, and asks the refresh
policy what is due. Everything that blocks (reading files, the keyring, STS) runs in
thread workers that post messages back; handlers here turn those into rows, log lines
and prompts. No widget calls the engine, and no worker touches a widget.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar, NoReturn

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.theme import Theme
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from mfa_tui.aws.files import Kind
from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.backend import Backend, CodeWanted, Snapshot
from mfa_tui.core.file_watch import FileWatcher
from mfa_tui.core.refresh_policy import Outcome, RefreshPolicy, active_source
from mfa_tui.core.status import ProfileStatus
from mfa_tui.errors import InvalidMfaCodeError, MfaTuiError, NeedsCodeError
from mfa_tui.settings import Settings
from mfa_tui.tui.agent_bridge import AgentBridge
from mfa_tui.tui.commands import ProfileCommands
from mfa_tui.tui.event_loop import run_app
from mfa_tui.tui.messages import (
    Announced,
    CodeNeeded,
    ErrorShown,
    LoadFailed,
    ProfilesLoaded,
    RefreshFailed,
    SeedFailed,
    SeedSaved,
    SeedsKnown,
    SessionRefreshed,
)
from mfa_tui.tui.model import NoteKind, RowState, shown_in_table, sort_key
from mfa_tui.tui.screens.export import ExportScreen
from mfa_tui.tui.screens.help import HelpScreen
from mfa_tui.tui.screens.mfa_prompt import MfaPrompt
from mfa_tui.tui.screens.totp_setup import TotpSetup
from mfa_tui.tui.timefmt import Urgency, format_left, format_local, urgency
from mfa_tui.tui.widgets.detail_pane import DetailPane
from mfa_tui.tui.widgets.event_log import EventKind, EventLog
from mfa_tui.tui.widgets.profile_table import ProfileTable
from mfa_tui.tui.widgets.status_header import StatusHeader

TICK_SECONDS = 1.0
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
        self.app.set_focus(self.app.query_one(ProfileTable))

    def action_done(self) -> None:
        self.app.set_focus(self.app.query_one(ProfileTable))


# Seconds a SIGTERM'd dashboard has to exit the normal way before it is made to.
EXIT_GRACE = 5.0


class MfaTuiApp(App[None]):
    """The dashboard. `backend` is the engine's door; `clock` is injected for tests."""

    TITLE = "mfa-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ProfileCommands}
    # Textual declares this without ClassVar, so mypy refuses the annotation here.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (120, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh"),
        Binding("R", "refresh_due", "Refresh due", key_display="R"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("t", "totp", "TOTP"),
        Binding("a", "toggle_auto", "Auto"),
        Binding("e", "export", "Export"),
        Binding("l", "toggle_log", "Log"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock = SYSTEM_CLOCK,
        tick_seconds: float = TICK_SECONDS,
        background_refresh: bool = True,
        code_hint: Callable[[str], str | None] | None = None,
        title_note: str = "",
        agent: bool = False,
        last_words: Callable[[], None] | None = None,
    ) -> None:
        """Args:
        backend: reads the files and talks to STS (a fake in tests).
        clock: wall time for countdowns and expiry; frozen in tests.
        tick_seconds: how often countdowns repaint and the files are polled.
        background_refresh: False stops background refreshes entirely (per-profile switches
            still apply when True).
        code_hint: given an MFA serial, a line for the prompt (the demo shows the code
            its virtual device would display).
        title_note: shown in the header beside the name, e.g. "demo sandbox".
        agent: listen on the agent socket, so `credential-process` callers that need a
            code are asked for it here (off in tests that do not exercise it).
        last_words: what must still happen if a signal forces the process out before
            `run` returns (the demo removes its sandbox); see `_signalled`.
        """
        super().__init__()
        self.last_words = last_words
        self._finished = threading.Event()
        self.backend = backend
        backend.announce = self._announce
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.background_refresh = background_refresh
        self.code_hint = code_hint
        self.title_note = title_note
        self.agent = agent
        self.agent_bridge: AgentBridge | None = None
        self._clock_warned = False
        self.policy = RefreshPolicy()
        self.snapshot: Snapshot | None = None
        self.statuses: dict[str, ProfileStatus] = {}
        self.errors: dict[str, str] = {}
        self.waiting: dict[str, CodeWanted] = {}
        self.prompt: MfaPrompt | None = None
        self.filter_text = ""
        self.log_open = False
        # MFA serials with a TOTP seed, and those the keyring was asked about.
        self.seeded: set[str] = set()
        self._seed_checked: set[str] = set()
        # Seeds this app stored itself: serial -> the count of such changes then.
        self._seed_epoch = 0
        self._seed_changed: dict[str, int] = {}
        self.loads = 0
        self._watcher: FileWatcher | None = None
        self._loading = False
        self._load_again = False
        self._next_due_check = 0.0
        self._active_source: str | None = None
        self._counts: dict[Urgency, int] = {}
        self._counts_until: datetime | None = None
        self._problems_seen: set[str] = set()
        # The worker of each refresh in flight: (profile, background, attempt).
        self._refresh_workers: dict[Worker[None], tuple[str, bool, int]] = {}
        # The latest attempt per profile; results of older attempts are dropped.
        self._attempts: dict[str, int] = {}
        # Keys typed before the first read of the files is on screen; None once replayed.
        self._typeahead: list[events.Key] | None = []
        # Signals the event loop handles while the app runs, and their handlers before.
        self._signals: list[tuple[int, Any]] = []

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader("mfa-tui", note=self.title_note, id="header")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield FilterInput(placeholder="filter by name", id="filter")
                yield ProfileTable(self.clock, id="profiles")
                # Shows file paths and error text: never read as markup.
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
        self.log_open = self.size.width >= LOG_MIN_WIDTH
        self._place_log()
        self.table.focus()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        # Signatures first, then the read: a change in between is seen at the next tick.
        self._watcher = FileWatcher(self.backend.watched_files())
        self._load()
        self.set_interval(self.tick_seconds, self.tick, name="tick")
        if self.agent:
            self._start_agent()
        self._take_signals()

    def _take_signals(self) -> None:
        """Handle a closed terminal (SIGHUP) and a kill (SIGTERM) on the event loop.

        Python's defaults end the process on the spot (the agent's socket stays behind);
        a handler raising SystemExit from wherever the main thread was unwinds past
        Textual's driver, whose input thread then spins on the dead terminal at full CPU.
        """
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            previous = signal.getsignal(signum)
            with suppress(NotImplementedError, RuntimeError, ValueError, AttributeError):
                loop.add_signal_handler(signum, self._signalled, signum)
                self._signals.append((signum, previous))

    def _signalled(self, signum: int) -> None:
        """Exit the normal way; in a real terminal, make sure the process does end.

        Textual's orderly shutdown writes to the terminal; after a hang-up it has been
        seen to block for good in its writer queue (5 hang-ups in 6 left a dashboard
        behind), so a closed terminal ends the process at once, after the last words.
        A SIGTERM gets EXIT_GRACE seconds to exit the normal way (and give the terminal
        back) first. Under a test pilot there is no terminal and nothing is forced.
        """
        code = 128 + signum
        if not self.is_headless:
            if signum == signal.SIGHUP:
                self._leave_now(code)
            threading.Thread(
                target=self._leave_if_stuck, args=(code,), name="mfa-tui-exit", daemon=True
            ).start()
        self.exit(return_code=code)

    def _leave_if_stuck(self, code: int) -> None:
        if not self._finished.wait(EXIT_GRACE):
            self._leave_now(code)

    def _leave_now(self, code: int) -> NoReturn:
        """As SIGKILL would, but with the agent's socket and the last words cleaned up
        (a write cut short leaves the credentials file whole: see docs/reliability.md)."""
        if self.agent_bridge is not None:
            with suppress(Exception):
                self.agent_bridge.stop()
        if self.last_words is not None:
            with suppress(Exception):
                self.last_words()
        os._exit(code)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            # Quitting never waits for a worker blocked in a call (see event_loop).
            return run_app(super().run, *args, **kwargs)
        finally:
            self._finished.set()

    def _start_agent(self) -> None:
        from mfa_tui.core.agent import socket_path
        from mfa_tui.settings import load_settings

        try:
            wait = load_settings().agent_wait
        except MfaTuiError:
            wait = 120.0
        bridge = AgentBridge(self, wait=wait)
        why_not = bridge.start()
        if why_not is not None:
            self.log_event(EventKind.WARN, f"Not answering credential-process callers: {why_not}")
            return
        self.agent_bridge = bridge
        self.log_event(EventKind.INFO, f"Answering credential-process callers on {socket_path()}")

    def on_unmount(self) -> None:
        if self.agent_bridge is not None:
            self.agent_bridge.stop()
        loop = asyncio.get_running_loop()
        for signum, previous in self._signals:
            loop.remove_signal_handler(signum)
            signal.signal(signum, previous)
        self._signals.clear()

    def log_agent_request(self, profile: str, caller: str) -> None:
        self.log_event(EventKind.WARN, f"{caller} is waiting for {profile}: MFA code needed")

    def _theme_changed(self, theme: Theme) -> None:
        self.table.repaint_all()
        self._refresh_chrome()

    # --- the tick ------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: countdowns, header, detail pane, file poll, due refreshes."""
        self._check_clock()
        now = self.clock.now()
        self.table.tick(now)
        self._refresh_chrome(now)
        self.poll_files()
        self._start_due(now)

    def _check_clock(self) -> None:
        """Say once when AWS's answers show this computer's clock is off."""
        if self._clock_warned:
            return
        from mfa_tui.aws.sts import SERVER_CLOCK, clock_warning

        skew = SERVER_CLOCK.skew_seconds()
        warning = clock_warning(skew)
        if warning is None or skew is None:
            return
        self._clock_warned = True
        if type(self.clock) is Clock:
            # Expiry times are AWS's: count down on AWS's time, not on a wrong local one.
            self.clock.skew = timedelta(seconds=-skew)
        self.log_event(EventKind.WARN, warning[0].upper() + warning[1:])
        self.notify(warning, title="Clock", severity="warning", markup=False, timeout=15)

    def poll_files(self) -> None:
        """Re-read the files if any changed since the last look."""
        if self._watcher is not None and self._watcher.changed():
            self._load()

    def _start_due(self, now: datetime) -> None:
        if not self.background_refresh or self.snapshot is None:
            return
        mono = self.clock.monotonic()
        # Asking every profile each second costs at 5,000 profiles; ask when one may be due.
        if mono < self._next_due_check:
            return
        settings = self.snapshot.settings
        for name in self.policy.due(self.statuses.values(), settings, now, mono):
            self.refresh_profile(name, background=True)
        wake = self.policy.next_wake(self.statuses.values(), settings, now, mono)
        self._next_due_check = mono + (wake if wake is not None else 3600.0)

    def _recheck_due(self) -> None:
        """Something changed what is due (files, a result, a switch): look at the next tick."""
        self._next_due_check = 0.0

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
            busy=self.policy.in_flight_count,
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

    # --- loading -------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Hold keys typed before the profiles are on screen, then play them in order.

        Someone who knows the way types `mfa-tui`, then ↓ ↓ enter at once; the files are
        read in a worker, and keys that reach an empty table would be lost. Quitting is
        never held back (a read stuck on a dead network mount must not trap anyone).
        """
        held = self._typeahead
        if isinstance(event, events.Key) and not event.is_forwarded and held is not None:
            quits = event.key in ("ctrl+q", "ctrl+c") or (event.key == "q" and not held)
            if not quits:
                held.append(event)
                return
        await super().on_event(event)

    def _replay_typeahead(self) -> None:
        held, self._typeahead = self._typeahead or [], None
        for event in held:
            self.post_message(event)

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
        self._recheck_due()
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
            self._replay_typeahead()
        unknown = {s.mfa_serial for s in self.statuses.values() if s.mfa_serial}
        unknown -= self._seed_checked
        if unknown and first:
            # Importing the keyring takes a moment of CPU: let the first screen come first.
            self.set_timer(0.5, lambda: self._check_seeds(frozenset(unknown), self._seed_epoch))
        elif unknown:
            self._check_seeds(frozenset(unknown), self._seed_epoch)

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

    @on(SeedsKnown)
    def _seeds_known(self, message: SeedsKnown) -> None:
        # A seed stored here after the keyring was asked stays marked.
        current = {s for s in message.checked if self._seed_changed.get(s, -1) < message.epoch}
        self._seed_checked |= message.checked
        self.seeded -= current
        self.seeded |= message.seeded & current
        self.update_rows()

    def _announce(self, text: str) -> None:
        """From a worker: the engine waits (for the next TOTP step); say so."""
        self.post_message(Announced(text))

    @on(Announced)
    def _announced(self, message: Announced) -> None:
        self.log_event(EventKind.INFO, message.text[:1].upper() + message.text[1:])
        self.notify(message.text, markup=False, timeout=10)

    @on(ErrorShown)
    def _error_shown(self, message: ErrorShown) -> None:
        self.log_event(EventKind.ERROR, f"{message.title}: {message.message}")
        self.notify(message.message, title=message.title, severity="error", markup=False)

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        self._load_done()
        self._replay_typeahead()
        self.log_event(EventKind.ERROR, f"{message.title}: {message.message}")
        self.notify(message.message, title=message.title, severity="error", markup=False)
        if self.snapshot is None:
            self.query_one("#empty", Static).update(f"{message.title}: {message.message}")

    # --- rows ----------------------------------------------------------------------

    def row_for(self, status: ProfileStatus, active: str | None) -> RowState:
        assert self.snapshot is not None
        settings = self.snapshot.settings
        name = status.name
        note, kind = "", NoteKind.NONE
        backoff = self.policy.backoff(name)
        if self.policy.in_flight(name):
            note, kind = "refreshing…", NoteKind.BUSY
        elif name in self.waiting or (backoff is not None and backoff.needs_code):
            note, kind = "MFA code needed: press enter", NoteKind.CODE
        elif backoff is not None and backoff.expires_at == status.expires_at:
            note, kind = f"failed, will retry: {backoff.error}", NoteKind.ERROR
        elif name in self.errors:
            note, kind = self.errors[name], NoteKind.ERROR
        return RowState(
            status=status,
            seeded=bool(status.mfa_serial and status.mfa_serial in self.seeded),
            auto_refresh=settings.auto_refresh_for(name),
            active=name == active,
            note=note,
            note_kind=kind,
            last_error=self.errors.get(name, ""),
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

    # --- refreshing ----------------------------------------------------------------

    def refresh_profile(
        self,
        name: str,
        *,
        code: str | None = None,
        force: bool = False,
        activate: bool = False,
        background: bool = False,
    ) -> bool:
        """Start a refresh (or a switch) of `name` in a worker; False if one is running.

        A code typed in the prompt replaces whatever attempt is in flight.
        """
        status = self.statuses.get(name)
        if status is None:
            return False
        if not self.policy.started(name) and code is None:
            if not background:
                self.notify(f"{name} is already being refreshed", markup=False, timeout=3)
            return False
        if not background:
            self.waiting.pop(name, None)
        for old, (profile, _, _) in self._refresh_workers.items():
            if profile == name:
                old.cancelled_event.set()  # let the engine stop early; its result is dropped
        attempt = self._attempts.get(name, 0) + 1
        self._attempts[name] = attempt
        worker = self.run_worker(
            partial(
                self._refresh_job,
                name,
                attempt,
                code=code,
                force=force,
                activate=activate,
                background=background,
            ),
            thread=True,
            group=f"refresh:{name}",
            exit_on_error=False,
            name=f"refresh {name}",
        )
        self._refresh_workers[worker] = (name, background, attempt)
        self.update_rows()
        return True

    def _refresh_job(
        self,
        name: str,
        attempt: int,
        *,
        code: str | None,
        force: bool,
        activate: bool,
        background: bool,
    ) -> None:
        worker = get_current_worker()
        cancel: threading.Event = worker.cancelled_event
        try:
            if activate:
                result = self.backend.activate(name, code=code)
            else:
                result = self.backend.refresh(name, code=code, force=force, cancel=cancel)
        except NeedsCodeError as exc:
            try:
                wanted = self.backend.code_wanted(name)
            except MfaTuiError:
                wanted = None
            status = self.statuses.get(name)
            if wanted is None:
                serial = status.mfa_serial if status and status.mfa_serial else ""
                wanted = CodeWanted(
                    name, serial, status.chain[-1] if status and status.chain else name
                )
            message: CodeNeeded | RefreshFailed | SessionRefreshed = CodeNeeded(
                name, wanted, activate, background, exc.message, attempt
            )
        except MfaTuiError as exc:
            message = RefreshFailed(
                name,
                exc.title,
                exc.message,
                isinstance(exc, InvalidMfaCodeError),
                background,
                attempt,
            )
        else:
            message = SessionRefreshed(name, result, activate, background, attempt)
        self.post_message(message)

    def _current(self, profile: str, attempt: int) -> bool:
        """False for the result of an attempt a newer one (a typed code) replaced."""
        return self._attempts.get(profile) == attempt

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that died of a bug still ends its refresh, visibly, not 'refreshing…'."""
        worker = event.worker
        if event.state not in (WorkerState.ERROR, WorkerState.SUCCESS, WorkerState.CANCELLED):
            return
        job = self._refresh_workers.pop(worker, None)
        if event.state is not WorkerState.ERROR:
            return
        error = f"{type(worker.error).__name__}: {worker.error}"
        if job is not None:
            name, background, attempt = job
            self.post_message(
                RefreshFailed(name, "Unexpected error", error, False, background, attempt)
            )
        elif worker.group == "load":
            self.post_message(LoadFailed("Unexpected error", error))
        else:
            self.post_message(ErrorShown("Unexpected error", f"{worker.name}: {error}"))

    @on(SessionRefreshed)
    def _refreshed(self, message: SessionRefreshed) -> None:
        name = message.profile
        if not self._current(name, message.attempt):
            self.poll_files()  # it still wrote a session
            return
        result = message.result
        self.policy.finished(name, Outcome.OK, mono=self.clock.monotonic())
        self._recheck_due()
        self.errors.pop(name, None)
        self.waiting.pop(name, None)
        until = format_local(result.expiration)
        settings = self.snapshot.settings if self.snapshot else None
        active_name = settings.active_profile if settings else "the active profile"
        if message.activated:
            text = f"Switched: {active_name} now holds {name}'s session (until {until})"
            self.log_event(EventKind.OK, text)
            self.notify(text, title="Switched", markup=False, timeout=4)
        elif result.refreshed:
            how = " in the background" if message.background else ""
            self.log_event(
                EventKind.OK, f"Refreshed {name}{how}: {result.session_profile} until {until}"
            )
        else:
            left = format_left(result.expiration, self.clock.now())
            self.log_event(EventKind.INFO, f"{name}: still valid ({left} left), nothing to do")
        self._unblock_waiting_for(name)
        if self.agent_bridge is not None:
            self.agent_bridge.finished(name, True)
        if self.prompt is not None and self.prompt.wanted.profile == name:
            self.prompt.succeeded()
        self.poll_files()
        self.update_rows()

    def _unblock_waiting_for(self, name: str) -> None:
        """A user's session is valid again: its roles waiting for a code can go on."""
        status = self.statuses.get(name)
        user = status.chain[-1] if status and status.chain else name
        for other, wanted in list(self.waiting.items()):
            if wanted.user == user or other == name:
                del self.waiting[other]
                self.policy.forget(other)

    @on(RefreshFailed)
    def _failed(self, message: RefreshFailed) -> None:
        name = message.profile
        if not self._current(name, message.attempt):
            return
        status = self.statuses.get(name)
        # A wrong code is the person's to fix, not a reason to retry on a timer.
        self._recheck_due()
        backoff = self.policy.finished(
            name,
            Outcome.NEEDS_CODE if message.invalid_code else Outcome.FAILED,
            mono=self.clock.monotonic(),
            expires_at=status.expires_at if status else None,
            error=message.message,
        )
        self.errors[name] = message.message
        self.log_event(EventKind.ERROR, f"{name}: {message.title}: {message.message}")
        if self.prompt is not None and self.prompt.wanted.profile == name:
            self.prompt.failed(message.message)
        elif not message.background or (backoff is not None and backoff.failures == 1):
            self.notify(
                message.message,
                title=f"{message.title}: {name}",
                severity="error",
                markup=False,
                timeout=8,
            )
        self.update_rows()

    @on(CodeNeeded)
    def _code_needed(self, message: CodeNeeded) -> None:
        name = message.profile
        if not self._current(name, message.attempt):
            return
        status = self.statuses.get(name)
        self._recheck_due()
        self.policy.finished(
            name,
            Outcome.NEEDS_CODE,
            mono=self.clock.monotonic(),
            expires_at=status.expires_at if status else None,
            error=message.message,
        )
        if not message.background:
            self.open_prompt(message.wanted, activate=message.activate)
            self.update_rows()
            return
        # One bell and one notification per device, not one per role it unlocks.
        device_known = any(w.mfa_serial == message.wanted.mfa_serial for w in self.waiting.values())
        self.waiting[name] = message.wanted
        self.log_event(EventKind.WARN, f"{name} needs an MFA code ({message.wanted.mfa_serial})")
        if not device_known:
            self.bell()
            self.notify(
                f"{name}'s session is about to expire and needs a code from "
                f"{message.wanted.mfa_serial.rsplit('/', 1)[-1] or 'your MFA device'}. "
                "Select it and press enter.",
                title="MFA code needed",
                severity="warning",
                markup=False,
                timeout=30,
            )
        self.update_rows()

    # --- the prompt ----------------------------------------------------------------

    def open_prompt(self, wanted: CodeWanted, *, activate: bool, caller: str | None = None) -> None:
        """Ask for a code for `wanted.profile`; the refresh starts when six digits are in."""
        if self.prompt is not None:
            self.notify(
                f"{wanted.profile} also needs a code; finish the open prompt first",
                markup=False,
            )
            return
        verb = "Switch to" if activate else "Refresh"
        purpose = f"{verb} {wanted.profile}"
        if caller:
            purpose = f"{caller} is waiting for {wanted.profile}"
        hint = partial(self.code_hint, wanted.mfa_serial) if self.code_hint else None
        prompt = MfaPrompt(wanted, purpose=purpose, activate=activate, hint=hint)
        self.prompt = prompt
        self.push_screen(prompt, partial(self._prompt_closed, prompt))

    def _prompt_closed(self, prompt: MfaPrompt, done: bool | None) -> None:
        if self.prompt is prompt:
            self.prompt = None
        if not done:
            self.log_event(EventKind.INFO, f"{prompt.wanted.profile}: MFA prompt cancelled")
        if self.agent_bridge is not None:
            if not done:
                self.agent_bridge.finished(prompt.wanted.profile, False)
            else:
                self.agent_bridge.finished("", True)  # opens the next queued request

    @on(MfaPrompt.Submitted)
    def _code_submitted(self, message: MfaPrompt.Submitted) -> None:
        self.refresh_profile(
            message.profile, code=message.code, force=True, activate=message.prompt.activate
        )

    # --- actions -------------------------------------------------------------------

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
        wanted = self.waiting.get(row.name)
        if wanted is not None and not row.active:
            # The profile is waiting for a code: take it, without switching to it.
            self.open_prompt(wanted, activate=False)
            return
        self.switch_to(row.name)

    def switch_to(self, name: str) -> None:
        """Make `name`'s session the active profile (refreshing it first if needed)."""
        self.log_event(EventKind.INFO, f"Switching to {name}…")
        self.refresh_profile(name, activate=True)

    def action_refresh(self) -> None:
        row = self._selected_managed()
        if row is not None:
            self.policy.forget(row.name)
            self.refresh_profile(row.name, force=True)

    def action_refresh_due(self) -> None:
        if self.snapshot is None:
            return
        now = self.clock.now()
        started = 0
        for status in sorted(self.statuses.values(), key=sort_key):
            if status.managed and self.policy.wants_refresh(status, self.snapshot.settings, now):
                self.policy.forget(status.name)
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
        narrow = self.size.width < LOG_MIN_WIDTH
        self.query_one(DetailPane).display = not (self.log_open and narrow)

    def on_resize(self) -> None:
        with suppress(NoMatches):  # a resize can come before the widgets exist
            self._place_log()

    def action_help(self) -> None:
        settings = self.snapshot.settings if self.snapshot else None
        self.push_screen(HelpScreen(settings.active_profile if settings else "mfa-tui"))

    def action_export(self) -> None:
        row = self._selected_managed()
        if row is None or self.snapshot is None:
            return
        self.push_screen(
            ExportScreen(
                row.name, row.status.session_profile, self.snapshot.settings.active_profile
            )
        )

    def action_toggle_auto(self) -> None:
        row = self._selected_managed()
        if row is None or self.snapshot is None:
            return
        settings = self.snapshot.settings
        value = not settings.auto_refresh_for(row.name)
        new = settings.with_profile(row.name, auto_refresh=value)
        self._recheck_due()
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
        self.push_screen(
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
        self.seeded.add(message.mfa_serial)
        self._seed_checked.add(message.mfa_serial)
        self._seed_changed[message.mfa_serial] = self._seed_epoch
        self._seed_epoch += 1
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

    # --- misc ----------------------------------------------------------------------

    def log_event(self, kind: EventKind, message: str) -> None:
        # A worker's answer can land while the app is closing and its widgets are gone.
        with suppress(NoMatches):
            self.event_log.add(kind, message)
