"""What the agent does with "session for PROFILE": serve, refresh, or ask the person.

UI-free: the dashboard passes `ask_person`, a callable that shows its MFA prompt for the
profile (saying which program waits), lets the person retry a wrong code, and returns
True once a refresh with their code worked (False if they cancelled). The daemon passes
none, so a code it cannot get itself is a clear NeedsCodeError for the caller.

Only one refresh per profile is in flight: concurrent callers for the same profile queue
on its lock, and whoever comes second finds the fresh session and is served from it — ten
parallel `credential_process` runs make one STS call and at most one prompt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mfa_tui.aws.files import AwsPaths, load_profiles
from mfa_tui.core.agent import SessionRequest
from mfa_tui.core.backend import Backend, CodeWanted
from mfa_tui.core.session_store import stored_session
from mfa_tui.errors import MfaTuiError, NeedsCodeError, UsageError
from mfa_tui.settings import load_settings, settings_path

AskPerson = Callable[[CodeWanted, str], bool]


class AgentService:
    def __init__(
        self,
        backend: Backend,
        paths: AwsPaths | None = None,
        ask_person: AskPerson | None = None,
    ) -> None:
        self.backend = backend
        self.paths = paths or AwsPaths.from_env()
        self.ask_person = ask_person
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def _lock(self, profile: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(profile, threading.Lock())

    def _stored(self, profile: str, min_valid: int) -> dict[str, Any] | None:
        """The stored session if it has more than `min_valid` left.

        Raises:
            UsageError: no session of this profile lasts that long (its last one was
                given for less), so a refresh could not help: refused without a call,
                however often it is asked.
        """
        settings = load_settings(settings_path())
        session = stored_session(load_profiles(self.paths), settings, profile)
        if session is not None and session.seconds_left() > min_valid:
            body = session.to_process_json()
            body.pop("Version", None)
            return body
        length = session.length() if session is not None else None
        if length is not None and min_valid >= length:
            raise UsageError(
                f"'{profile}' gets sessions of {length:.0f} s; a caller asked for one with "
                f"{min_valid} s left, which no refresh can give"
            )
        return None

    def handle(self, request: SessionRequest) -> dict[str, Any]:
        with self._lock(request.profile):
            served = self._stored(request.profile, request.min_valid)
            if served is not None:
                return {"credentials": served}
            wanted = self.backend.code_wanted(request.profile)
            if wanted is None:
                self.backend.refresh(request.profile, force=True)
            elif self.ask_person is None:
                raise NeedsCodeError(
                    f"'{request.profile}' needs an MFA code and the mfa-tui daemon cannot ask "
                    "for one; open the 'mfa-tui' dashboard, or run 'mfa-tui refresh "
                    f"{request.profile}'"
                )
            elif not self.ask_person(wanted, request.caller):
                raise NeedsCodeError(
                    f"the MFA prompt for '{request.profile}' was cancelled in the dashboard"
                )
            served = self._stored(request.profile, request.min_valid)
            if served is None:
                raise MfaTuiError(
                    f"'{request.profile}' was refreshed but its session is shorter than the "
                    f"{request.min_valid} s asked for"
                )
            return {"credentials": served}
