"""The dashboard as the refresh agent: tools that need a code ask the person here.

A `credential-process` run by terraform or an IDE cannot prompt. When the dashboard is
open it listens on the agent socket; a request that needs a code rings the bell, says
which program waits for which profile, and opens the MFA prompt. The caller's thread
blocks on an event until the refresh with the typed code worked, or the person cancelled.
The socket work and the waiting happen in the agent's threads; the prompt itself is
opened on the UI thread with `call_from_thread`.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mfa_tui.core.agent import AgentServer
from mfa_tui.core.agent_service import AgentService
from mfa_tui.core.backend import CodeWanted
from mfa_tui.errors import MfaTuiError

if TYPE_CHECKING:
    from mfa_tui.tui.app import MfaTuiApp


@dataclass
class _Waiter:
    wanted: CodeWanted
    caller: str
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False


class AgentBridge:
    """Starts and stops the agent for an app, and turns requests into prompts."""

    def __init__(self, app: MfaTuiApp, wait: float = 120.0) -> None:
        self.app = app
        self.wait = wait
        self.server: AgentServer | None = None
        self._waiting: dict[str, list[_Waiter]] = {}
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()

    def start(self) -> str | None:
        """Listen; returns why not when the agent cannot start (another one runs...)."""
        service = AgentService(self.app.backend, ask_person=self.ask)
        server = AgentServer(service.handle)
        try:
            server.start()
        except (MfaTuiError, OSError) as exc:
            return str(exc)
        self.server = server
        return None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        with self._lock:
            waiters = [w for ws in self._waiting.values() for w in ws]
            self._waiting.clear()
        for waiter in waiters:
            waiter.done.set()

    # --- agent threads -----------------------------------------------------------------

    def ask(self, wanted: CodeWanted, caller: str) -> bool:
        """Called from an agent thread: prompt in the dashboard, wait for the outcome."""
        waiter = _Waiter(wanted, caller)
        with self._lock:
            self._waiting.setdefault(wanted.profile, []).append(waiter)
        try:
            self.app.call_from_thread(self._ask_on_ui, wanted.profile)
        except RuntimeError:
            return False  # the app is shutting down
        waiter.done.wait(self.wait)
        with self._lock:
            waiters = self._waiting.get(wanted.profile, [])
            if waiter in waiters:
                waiters.remove(waiter)
        return waiter.ok

    # --- UI thread -----------------------------------------------------------------------

    def _ask_on_ui(self, profile: str) -> None:
        with self._lock:
            waiters = list(self._waiting.get(profile, []))
        if not waiters:
            return
        first = waiters[0]
        self.app.bell()
        self.app.notify(
            f"{first.caller} is waiting for {profile}: type the code from "
            f"{first.wanted.mfa_serial.rsplit('/', 1)[-1]}",
            title="MFA code needed",
            severity="warning",
            markup=False,
            timeout=20,
        )
        self.app.log_agent_request(profile, first.caller)
        prompt = self.app.prompt
        if prompt is not None and prompt.wanted.profile == profile:
            return  # already asking for it
        if prompt is not None:
            if profile not in self._queue:
                self._queue.append(profile)
            return
        self.app.open_prompt(first.wanted, activate=False, caller=first.caller)

    def finished(self, profile: str, ok: bool) -> None:
        """The app reports a refresh that worked, or a prompt that was cancelled."""
        with self._lock:
            waiters = self._waiting.pop(profile, [])
        for waiter in waiters:
            waiter.ok = ok
            waiter.done.set()
        if self._queue and self.app.prompt is None:
            self._ask_on_ui(self._queue.popleft())

    def has_waiters(self, profile: str) -> bool:
        with self._lock:
            return bool(self._waiting.get(profile))
