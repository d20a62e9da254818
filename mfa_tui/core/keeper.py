"""The session `mfa-tui exec` serves its program: through the door at every request,
and kept fresh ahead of the program's asking.

The program's SDK asks the exec endpoint (core/container_endpoint.py) for credentials
when it starts and again before those expire; botocore gives each request 2 seconds
and retries it twice. So a request never waits for a person: it goes through the door
(`serve`) with nobody to ask, which serves the stored session or renews it silently (a
role from its user's session, a TOTP seed, a code_command). When a fresh session needs
a code, the stored one is served while it lasts and the keeper is woken; a request
that comes while the keeper has a person asked stops waiting for the profile's lock at
once and is served the stored session too.

The keeper is the one that asks a person, through the asker exec passes (the running
dashboard, else the terminal): it looks once a minute, and renews the session while it
still has KEEP_AHEAD left, so the code is asked (and typed) while the program's
credentials still have a quarter of an hour to run, not when they have run out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from mfa_tui.core.asking import Asker
from mfa_tui.core.codes import Cancelled
from mfa_tui.core.sessions import SessionService
from mfa_tui.core.store import StoredSession
from mfa_tui.errors import CodeRequest, MfaTuiError
from mfa_tui.expiry import human_left
from mfa_tui.fastpath import MIN_SERVE_SECONDS

# The keeper renews while the session has this much left: ten minutes before the
# program's SDK would ask (MIN_SERVE_SECONDS), time for a person to type a code.
KEEP_AHEAD = MIN_SERVE_SECONDS + 10 * 60
LOOK_EVERY = 60.0
# After a look that failed, the next waits this long even when a request wakes it.
RETRY_AFTER = 30.0


class _Flagged(Asker):
    """`inner`, with `asking` set while it has a person asked (or the agent, which may be
    asking its person)."""

    def __init__(self, inner: Asker, asking: threading.Event) -> None:
        self.inner = inner
        self.asking = asking
        self.hint = inner.hint

    def delegate(self, name: str, min_valid: float) -> StoredSession | None:
        self.asking.set()
        try:
            return self.inner.delegate(name, min_valid)
        finally:
            self.asking.clear()

    def ask(
        self, request: CodeRequest, *, problem: str | None, cancel: threading.Event | None
    ) -> str | None:
        self.asking.set()
        try:
            return self.inner.ask(request, problem=problem, cancel=cancel)
        finally:
            self.asking.clear()

    def answered(self, request: CodeRequest) -> None:
        self.inner.answered(request)


class SessionKeeper:
    """`name`'s session for one exec.

    Args:
        service: the door.
        name: the profile exec runs as.
        asker: who the keeper asks for a code (requests ask nobody).
        report: a line for the person (exec writes it to the terminal).
    """

    def __init__(
        self,
        service: SessionService,
        name: str,
        asker: Asker,
        report: Callable[[str], None],
    ) -> None:
        self.service = service
        self.name = name
        # Set while the keeper has a person asked: requests do not wait behind that.
        self.asking = threading.Event()
        self.asker = _Flagged(asker, self.asking)
        self.report = report
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._problem: str | None = None

    # --- a request -----------------------------------------------------------------------

    def answer(self) -> StoredSession:
        """A session for one request of the endpoint, without waiting for a person.

        Raises:
            MfaTuiError: no session can be served (NeedsCodeError while a code is needed
                and the stored session has run out).
        """
        try:
            # The files as they are now (a stat when they have not changed): another
            # process may have renewed the session, or a person edited the file.
            self.service.reload()
            served = self.service.serve(
                self.name, min_valid=MIN_SERVE_SECONDS, asker=Asker(), cancel=self.asking, usable=0
            )
        except MfaTuiError:
            self._wake.set()
            raise
        if served.note is not None:
            self._wake.set()  # a fresh one needs the keeper (and maybe a person)
        return served.session

    # --- the keeper ----------------------------------------------------------------------

    def look(self) -> bool:
        """One look ahead: renew the session if it has KEEP_AHEAD or less left, asking
        the keeper's asker when a code is needed. Returns whether the session is good."""
        try:
            self.service.reload()
            served = self.service.serve(
                self.name, min_valid=KEEP_AHEAD, asker=self.asker, cancel=self._stop
            )
        except Cancelled:
            return False  # exec is ending
        except MfaTuiError as exc:
            if exc.message != self._problem:
                self._problem = exc.message
                self.report(f"cannot renew {self.name}'s session yet: {exc.message}")
            return False
        if self._problem is not None:
            self._problem = None
            left = served.session.seconds_left(self.service.clock.now())
            self.report(f"{self.name}'s session renewed ({human_left(left)} left)")
        return True

    def _run(self) -> None:
        # The program's first renewal should not wait for boto3 to load (half a second
        # of CPU): load it now, while the program starts.
        import boto3  # noqa: F401

        while not self._stop.is_set():
            good = self.look()
            if not good and self._stop.wait(RETRY_AFTER):
                return
            self._wake.wait(LOOK_EVERY)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mfa-tui-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop looking; a prompt the keeper has open is left to the process's end."""
        self._stop.set()
        self._wake.set()
