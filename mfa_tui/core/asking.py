"""Who is asked for an MFA code, passed in by the face the engine serves.

The engine never knows which face it serves. When a session needs a person, it asks
the `Asker` it was given: the CLI passes a terminal prompt (or, with no terminal, the
running agent), the dashboard its `PromptBroker`, the daemon nobody (the base `Asker`).

`PromptBroker` is the dashboard's asker, UI-free: one prompt per MFA device, shared by
every caller whose session ends at that device (the dashboard's own switch, and any
number of `credential-process` callers waiting through the agent). One code serves
them all: the first caller spends it on the user session, the others then find that
session and go on without a code. One cancel fails every caller of the prompt at once,
and a prompt that no caller waits for any more closes by itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mfa_tui.core.codes import Cancelled
from mfa_tui.errors import CodeRequest, MfaTuiError

if TYPE_CHECKING:
    from mfa_tui.core.store import StoredSession

# How often a waiting caller looks whether its own caller went away.
_POLL_SECONDS = 0.1


class Asker:
    """Who the engine asks when a session needs a person. This base asks nobody.

    Attributes:
        hint: added to the "needs a code" message when nobody could be asked (how to
            give a code another way).
        shares_prompts: `interest` matters (one prompt per device for many callers), so
            the engine works out which device a caller may need before it waits.
    """

    hint: str = ""
    shares_prompts: bool = False
    # The last device this asker was asked about, and whether it waits for a person now.
    request: CodeRequest | None = None
    waiting: bool = False
    # Told when the engine waits for the next code step (see `waiting_for_step`).
    on_wait: Callable[[float, str], None] | None = None

    def delegate(self, name: str, min_valid: float) -> StoredSession | None:
        """A session for `name` got by someone else (the running agent), or None."""
        return None

    @contextmanager
    def interest(self, request: CodeRequest, cancel: threading.Event | None) -> Iterator[None]:
        """Held while a caller may need a code for `request`'s device."""
        yield

    def ask(
        self, request: CodeRequest, *, problem: str | None, cancel: threading.Event | None
    ) -> str | None:
        """A code from a person, or None when there is nobody to ask (or, after a
        `problem` with the last code, nobody to ask again).

        Raises:
            Cancelled: the person said no, or the caller went away.
        """
        return None

    def answered(self, request: CodeRequest) -> None:
        """The last code `ask` gave worked."""

    def waiting_for_step(self, until: float, text: str) -> None:
        """The engine waits until unix time `until` for the next 30-second code step
        (the current one was used already); `text` says so in a sentence. A face shows
        it through `on_wait` (the seconds left on a row, a line on stderr)."""
        if self.on_wait is not None:
            self.on_wait(until, text)


class StepWatcher(Asker):
    """Asks nobody (a background refresh), but tells `on_wait` when the engine waits
    for the next code step."""

    def __init__(self, on_wait: Callable[[float, str], None]) -> None:
        self.on_wait = on_wait


class PromptAsker(Asker):
    """A one-shot prompt function (the CLI's terminal prompt, tests): asked once per
    refresh; a code AWS refuses is not asked again, the refusal is the answer."""

    def __init__(self, prompt: Callable[[CodeRequest], str | None], hint: str = "") -> None:
        self.prompt = prompt
        self.hint = hint

    def ask(
        self, request: CodeRequest, *, problem: str | None, cancel: threading.Event | None
    ) -> str | None:
        if problem is not None:
            return None
        return self.prompt(request)


class AgentAsker(Asker):
    """For a face with no person at hand (a `credential-process` run by a tool, a
    `refresh` in a script): the running dashboard or daemon gets the session, once for
    every caller, asking its person when a code is needed. Nobody is asked when no
    agent runs, unless a `prompt` is given (`mfa-tui exec`: the dashboard first, since
    the terminal belongs to the program exec runs; else the terminal).

    Args:
        caller: the program that waits, as the dashboard will name it.
        wait: seconds to wait for the agent's answer (`agent_wait`).
        hint: how to get a code to this face when no agent runs.
        path: the agent socket (default: where the agent listens).
        prompt: asked (once per refresh, like PromptAsker) when no agent could be.
    """

    def __init__(
        self,
        caller: str,
        wait: float,
        *,
        hint: str = (
            ". No mfa-tui dashboard is running to ask for it: Open 'mfa-tui' in a terminal, "
            "it asks for the code when a tool needs one"
        ),
        path: Path | None = None,
        prompt: Callable[[CodeRequest], str | None] | None = None,
    ) -> None:
        from mfa_tui.core import agent

        self.caller = caller
        self.wait = wait
        self.path = path
        self.hint = hint
        self.prompt = prompt
        if agent.UNAVAILABLE is not None:
            self.hint = (
                f"; no dashboard can be asked for it here ({agent.UNAVAILABLE}): run "
                "'mfa-tui refresh' in a terminal first"
            )

    def ask(
        self, request: CodeRequest, *, problem: str | None, cancel: threading.Event | None
    ) -> str | None:
        if self.prompt is None or problem is not None:
            return None
        return self.prompt(request)

    def delegate(self, name: str, min_valid: float) -> StoredSession | None:
        from mfa_tui.aws.files import parse_expiration
        from mfa_tui.core import agent
        from mfa_tui.core.store import StoredSession

        if agent.UNAVAILABLE is not None:
            return None  # no agent on this system (no Unix sockets): the hint says so
        where = self.path or agent.socket_path()
        if agent.ping(where) is None:
            return None
        creds = agent.request_session(
            name, min_valid=int(min_valid), wait=self.wait, caller=self.caller, path=where
        )
        expiration = parse_expiration(str(creds.get("Expiration", "")))
        values = [creds.get(k) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
        if expiration is None or not all(isinstance(v, str) and v for v in values):
            raise MfaTuiError("the mfa-tui agent answered with incomplete credentials")
        key, secret, token = (str(v) for v in values)
        return StoredSession(key, secret, token, expiration)


@dataclass(frozen=True)
class PromptState:
    """What the face shows for one device's prompt.

    Attributes:
        request: the first caller's request (the profile the title names).
        callers: who waits, first first: ("you", "switch to my-test-role") or
            ("terraform", "my-test-role").
        problem: why the last code did not work, to show in place.
        waiting_for_code: a caller waits for a code now (else one is being checked).
    """

    request: CodeRequest
    callers: tuple[tuple[str, str], ...]
    problem: str | None
    waiting_for_code: bool


@dataclass(eq=False)
class _Waiter:
    caller: str
    purpose: str
    wake: threading.Event = field(default_factory=threading.Event)
    code: str | None = None
    cancelled: bool = False


@dataclass(eq=False)
class _Round:
    request: CodeRequest
    waiters: list[_Waiter] = field(default_factory=list)
    asking: _Waiter | None = None
    # A code typed while no caller was waiting for one (between two callers).
    typed: str | None = None
    problem: str | None = None
    shown: bool = False


Listener = Callable[[str, PromptState | None, str], None]


class PromptBroker:
    """One prompt per MFA device for every caller that needs it (see the module doc).

    Args:
        listener: called (from any thread, under no lock of ours) with the device's
            serial and what to show, or None and why ("answered", "cancelled", "gone")
            when the prompt should close. The dashboard posts a message from it.
    """

    def __init__(self, listener: Listener) -> None:
        self._listener = listener
        self._lock = threading.Lock()
        self._rounds: dict[str, _Round] = {}

    def asker(
        self, caller: str, purpose: str, step_wait: Callable[[float, str], None] | None = None
    ) -> Asker:
        """The asker for one caller: `caller` names who waits, `purpose` what for;
        `step_wait` hears when the engine waits for the next code step."""
        return _BrokerAsker(self, caller, purpose, step_wait)

    # --- the face's side -------------------------------------------------------------

    def state(self, serial: str) -> PromptState | None:
        with self._lock:
            found = self._rounds.get(serial)
            return self._state(found) if found is not None and found.shown else None

    def submit(self, serial: str, code: str) -> bool:
        """The person typed `code` into the prompt for `serial`; False if none is open."""
        with self._lock:
            found = self._rounds.get(serial)
            if found is None:
                return False
            found.problem = None
            if found.asking is not None:
                waiter, found.asking = found.asking, None
                waiter.code = code
                waiter.wake.set()
            else:
                found.typed = code
            state = self._state(found)
        self._listener(serial, state, "checking")
        return True

    def cancel(self, serial: str) -> int:
        """The person cancelled: every caller waiting on `serial` fails now. Returns how
        many were waiting."""
        with self._lock:
            found = self._rounds.pop(serial, None)
            if found is None:
                return 0
            for waiter in found.waiters:
                waiter.cancelled = True
                waiter.wake.set()
        self._listener(serial, None, "cancelled")
        return len(found.waiters)

    def cancel_all(self) -> None:
        """The face is closing: every caller still waiting fails now."""
        with self._lock:
            serials = list(self._rounds)
        for serial in serials:
            self.cancel(serial)

    # --- the engine's side (through _BrokerAsker) -----------------------------------

    def _state(self, found: _Round) -> PromptState:
        return PromptState(
            found.request,
            tuple((w.caller, w.purpose) for w in found.waiters),
            found.problem,
            found.asking is not None,
        )

    def _enter(self, request: CodeRequest, waiter: _Waiter) -> None:
        serial = request.mfa_serial
        with self._lock:
            found = self._rounds.get(serial)
            if found is None:
                found = self._rounds[serial] = _Round(request)
            found.waiters.append(waiter)
            state = self._state(found) if found.shown else None
        if state is not None:
            self._listener(serial, state, "joined")

    def _leave(self, request: CodeRequest, waiter: _Waiter) -> None:
        serial = request.mfa_serial
        with self._lock:
            found = self._rounds.get(serial)
            if found is None or waiter not in found.waiters:
                return  # cancelled: the round is gone already
            found.waiters.remove(waiter)
            if found.asking is waiter:
                found.asking = None
            if found.waiters:
                state = self._state(found) if found.shown else None
                why = "left"
            else:
                del self._rounds[serial]
                state, why = None, "gone"
                if not found.shown:
                    return
        self._listener(serial, state, why)

    def _ask(
        self,
        request: CodeRequest,
        waiter: _Waiter,
        problem: str | None,
        cancel: threading.Event | None,
    ) -> str:
        serial = request.mfa_serial
        with self._lock:
            if waiter.cancelled:
                raise Cancelled(f"the MFA prompt for {serial} was cancelled")
            found = self._rounds.get(serial)
            if found is None:  # asked outside `interest`: a round of its own
                found = self._rounds[serial] = _Round(request, [waiter])
            if found.typed is not None and problem is None:
                code, found.typed = found.typed, None
                return code
            waiter.wake.clear()
            waiter.code = None
            found.asking = waiter
            found.problem = problem
            found.shown = True
            state = self._state(found)
        self._listener(serial, state, "asking")
        while not waiter.wake.wait(_POLL_SECONDS):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"the caller waiting for a code from {serial} went away")
        if waiter.cancelled or waiter.code is None:
            raise Cancelled(f"the MFA prompt for {serial} was cancelled")
        return waiter.code

    def _is_asking(self, waiter: _Waiter) -> bool:
        with self._lock:
            return any(found.asking is waiter for found in self._rounds.values())

    def _answered(self, request: CodeRequest) -> None:
        serial = request.mfa_serial
        with self._lock:
            found = self._rounds.get(serial)
            if found is None or not found.shown:
                return
            found.shown = False
            found.problem = None
        self._listener(serial, None, "answered")


class _BrokerAsker(Asker):
    shares_prompts = True

    def __init__(
        self,
        broker: PromptBroker,
        caller: str,
        purpose: str,
        step_wait: Callable[[float, str], None] | None = None,
    ) -> None:
        self.broker = broker
        self.waiter = _Waiter(caller, purpose)
        self.on_wait = step_wait

    @contextmanager
    def interest(self, request: CodeRequest, cancel: threading.Event | None) -> Iterator[None]:
        self.request = request
        self.broker._enter(request, self.waiter)
        try:
            yield
        finally:
            self.broker._leave(request, self.waiter)

    def ask(
        self, request: CodeRequest, *, problem: str | None, cancel: threading.Event | None
    ) -> str | None:
        self.request = request
        return self.broker._ask(request, self.waiter, problem, cancel)

    @property
    def waiting(self) -> bool:  # type: ignore[override]
        """True from the moment the broker shows this caller's prompt until a code is
        typed for it (or the prompt is cancelled)."""
        return self.broker._is_asking(self.waiter)

    def answered(self, request: CodeRequest) -> None:
        self.broker._answered(request)
