"""The dashboard's refreshes: started in thread workers, ended by the messages they post.

Every refresh goes through the engine's door (`Backend.refresh`/`activate`). One the
person asked for carries the prompt desk's asker, so a code is asked in the device's one
prompt (which tools waiting through the agent share); a background refresh carries none,
so what needs a person comes back as a NeedsCodeError with its CodeRequest, and the row
says so. The refresh policy (core/refresh_policy.py) decides what is due and how a
failure backs off; this module keeps what the rows show: in flight, failed and why,
waiting for a code.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState, get_current_worker

from mfa_tui.core.asking import Asker, StepWatcher
from mfa_tui.core.codes import Cancelled
from mfa_tui.core.refresh_policy import RefreshPolicy, seconds_left
from mfa_tui.errors import CodeRequest, MfaTuiError, NeedsCodeError, SeedRefusedError
from mfa_tui.tui.messages import (
    CodeNeeded,
    CodeStepWait,
    ErrorShown,
    LoadFailed,
    RefreshFailed,
    SessionRefreshed,
)
from mfa_tui.tui.timefmt import format_left, format_local
from mfa_tui.tui.widgets.event_log import EventKind

if TYPE_CHECKING:
    from mfa_tui.tui.screens.dashboard import Dashboard


class Refreshes:
    """What is being refreshed, what failed and what waits for a code, for one screen."""

    def __init__(self, screen: Dashboard) -> None:
        self.screen = screen
        self.policy = RefreshPolicy()
        self.errors: dict[str, str] = {}
        self.waiting: dict[str, CodeRequest] = {}
        # Profiles whose refresh waits for the next 30-second code step, and until when.
        self.step_waits: dict[str, datetime] = {}
        # The session's expiry when a refresh failed or stopped for a code: a different
        # one in the files later means another program refreshed it (`files_read`).
        self._expiry_then: dict[str, datetime | None] = {}
        # The worker of each refresh in flight: (profile, background), and its asker.
        self._workers: dict[Worker[None], tuple[str, bool]] = {}
        self._askers: dict[Worker[None], Asker] = {}

    # --- starting ------------------------------------------------------------------------

    def start(
        self,
        name: str,
        *,
        force: bool = False,
        activate: bool = False,
        background: bool = False,
    ) -> bool:
        """Start a refresh (or a switch) of `name` in a worker; False if one is running."""
        screen = self.screen
        if name not in screen.statuses:
            return False
        if not self.policy.started(name):
            if not background:
                screen.notify(f"{name} is already being refreshed", markup=False, timeout=3)
            return False
        if not background:
            self.waiting.pop(name, None)
        tell = partial(self._waiting_for_step, name)
        asker = (
            StepWatcher(tell)
            if background
            else screen.app_desk().asker_for(name, activate=activate, step_wait=tell)
        )
        worker = screen.run_worker(
            partial(
                self._job, name, force=force, activate=activate, background=background, asker=asker
            ),
            thread=True,
            group=f"refresh:{name}",
            exit_on_error=False,
            name=f"refresh {name}",
        )
        self._workers[worker] = (name, background)
        if asker is not None:
            self._askers[worker] = asker
        screen.update_rows()
        return True

    def _job(
        self, name: str, *, force: bool, activate: bool, background: bool, asker: Asker | None
    ) -> None:
        """In a thread: one call through the engine's door, then one message."""
        cancel: threading.Event = get_current_worker().cancelled_event
        backend = self.screen.backend
        message: CodeNeeded | RefreshFailed | SessionRefreshed
        try:
            if activate:
                result = backend.activate(name, asker=asker, cancel=cancel)
            else:
                result = backend.refresh(name, force=force, asker=asker, cancel=cancel)
        except Cancelled as exc:
            request = asker.request if asker is not None else None
            message = CodeNeeded(
                name, request or self._guess(name), background, exc.message, cancelled=True
            )
        except NeedsCodeError as exc:
            message = CodeNeeded(name, exc.request or self._guess(name), background, exc.message)
        except SeedRefusedError as exc:
            message = RefreshFailed(
                name, exc.title, exc.message, background, seed_refused=exc.mfa_serial
            )
        except MfaTuiError as exc:
            message = RefreshFailed(name, exc.title, exc.message, background)
        else:
            message = SessionRefreshed(name, result, activate, background)
        self.screen.post_message(message)

    def _waiting_for_step(self, name: str, until: float, text: str) -> None:
        """From the worker: the engine waits for the next code step until `until`."""
        self.screen.post_message(CodeStepWait(name, datetime.fromtimestamp(until, UTC), text))

    def _guess(self, name: str) -> CodeRequest:
        status = self.screen.statuses.get(name)
        serial = status.mfa_serial if status and status.mfa_serial else ""
        return CodeRequest(name, serial, status.chain[-1] if status and status.chain else name)

    def waits_for_person(self, worker: Worker[None]) -> bool:
        """True while `worker`'s refresh waits for a code from the person."""
        asker = self._askers.get(worker)
        return asker is not None and asker.waiting

    def profile_waits_for_person(self, name: str) -> bool:
        """True while a refresh of `name` waits for the person's code in a prompt."""
        return any(
            job[0] == name and self.waits_for_person(worker)
            for worker, job in self._workers.items()
        )

    # --- ending --------------------------------------------------------------------------

    def worker_changed(self, event: Worker.StateChanged) -> None:
        """A worker that died of a bug still ends its refresh, visibly, not 'refreshing…'."""
        worker = event.worker
        if event.state not in (WorkerState.ERROR, WorkerState.SUCCESS, WorkerState.CANCELLED):
            return
        job = self._workers.pop(worker, None)
        self._askers.pop(worker, None)
        if job is not None:
            self.step_waits.pop(job[0], None)
        if event.state is not WorkerState.ERROR:
            return
        error = f"{type(worker.error).__name__}: {worker.error}"
        screen = self.screen
        if job is not None:
            name, background = job
            screen.post_message(RefreshFailed(name, "Unexpected error", error, background))
        elif worker.group == "load":
            screen.post_message(LoadFailed("Unexpected error", error))
        else:
            screen.post_message(ErrorShown("Unexpected error", f"{worker.name}: {error}"))

    def refreshed(self, message: SessionRefreshed) -> None:
        screen = self.screen
        name = message.profile
        result = message.result
        self.policy.report(name, None, mono=screen.clock.monotonic())
        self.errors.pop(name, None)
        self.waiting.pop(name, None)
        self.step_waits.pop(name, None)
        until = format_local(result.expiration)
        active_name = screen.active_profile_name
        notes = f" ({'; '.join(result.notes)})" if result.notes else ""
        if message.activated:
            text = f"Switched: {active_name} now holds {name}'s session (until {until}){notes}"
            screen.log_event(EventKind.OK, text)
            screen.notify(text, title="Switched", markup=False, timeout=4)
        elif result.refreshed:
            how = " in the background" if message.background else ""
            screen.log_event(
                EventKind.OK,
                f"Refreshed {name}{how}: {result.session_profile} until {until}{notes}",
            )
        else:
            left = format_left(result.expiration, screen.clock.now())
            screen.log_event(
                EventKind.INFO, f"{name}: still valid ({left} left), nothing to do{notes}"
            )
        self._unblock_waiting_for(name)

    def files_read(self, now: datetime) -> None:
        """The files were read again. A profile that waited for a code, or whose refresh
        failed, and now has a new session out of its margin was refreshed by another
        program (`mfa-tui use` in a shell, a tool through the agent): it waits no more,
        its error is past, and the roles of a user refreshed that way go on too."""
        for name, then in list(self._expiry_then.items()):
            status = self.screen.statuses.get(name)
            if status is None:
                del self._expiry_then[name]
                continue
            left = seconds_left(status, now)
            if status.expires_at == then or left is None or left <= status.refresh_margin:
                continue
            del self._expiry_then[name]
            self.errors.pop(name, None)
            self.waiting.pop(name, None)
            self.policy.forget(name)
            self._unblock_waiting_for(name)

    def _remember_expiry(self, name: str, *, keep: bool = False) -> None:
        """The session `name` has now, for `files_read` to tell a new one by (`keep`:
        unless one is remembered already)."""
        if not (keep and name in self._expiry_then):
            status = self.screen.statuses.get(name)
            self._expiry_then[name] = status.expires_at if status else None

    def _unblock_waiting_for(self, name: str) -> None:
        """A user's session is valid again: its roles waiting for a code can go on."""
        status = self.screen.statuses.get(name)
        user = status.chain[-1] if status and status.chain else name
        for other, wanted in list(self.waiting.items()):
            if wanted.user == user or other == name:
                del self.waiting[other]
                self.policy.forget(other)

    def failed(self, message: RefreshFailed) -> None:
        screen = self.screen
        name = message.profile
        status = screen.statuses.get(name)
        backoff = self.policy.report(
            name,
            MfaTuiError(message.message, title=message.title),
            mono=screen.clock.monotonic(),
            expires_at=status.expires_at if status else None,
        )
        self.errors[name] = message.message
        self._remember_expiry(name)
        self.step_waits.pop(name, None)
        screen.log_event(EventKind.ERROR, f"{name}: {message.title}: {message.message}")
        if not message.background or (backoff is not None and backoff.failures == 1):
            screen.notify(
                message.message,
                title=f"{message.title}: {name}",
                severity="error",
                markup=False,
                timeout=8,
            )

    def code_needed(self, message: CodeNeeded) -> None:
        screen = self.screen
        name = message.profile
        status = screen.statuses.get(name)
        self.policy.report(
            name,
            NeedsCodeError(message.message, request=message.request),
            mono=screen.clock.monotonic(),
            expires_at=status.expires_at if status else None,
        )
        # One bell and one notification per device, not one per role it unlocks.
        device_known = any(
            w.mfa_serial == message.request.mfa_serial for w in self.waiting.values()
        )
        self.waiting[name] = message.request
        self._remember_expiry(name)
        # A role waits for its user's code: a user session made elsewhere ends that too.
        self._remember_expiry(message.request.user, keep=True)
        self.step_waits.pop(name, None)
        if message.cancelled or not message.background:
            return
        screen.log_event(EventKind.WARN, f"{name} needs an MFA code ({message.request.mfa_serial})")
        if not device_known:
            screen.app.bell()
            device = message.request.mfa_serial.rsplit("/", 1)[-1] or "your MFA device"
            text = (
                f"{name}'s session is about to expire and needs a code from {device}. "
                "Select it and press enter (n jumps to it)."
            )
            screen.notify(
                text, title="MFA code needed", severity="warning", markup=False, timeout=30
            )
            screen.mfa_app.desktop_notify("mfa-tui: MFA code needed", text)
