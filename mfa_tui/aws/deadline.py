"""An overall deadline for every STS and IAM call.

botocore's `read_timeout` bounds each read from the socket, not the call: an endpoint
that trickles its answer (the headers, the body or its chunks a byte at a time: a
broken proxy, a tarpit) keeps a call going for as long as it likes. So each call runs
in a thread of its own while the caller waits for it, up to the call's deadline; then
the caller goes on at once. The call's connection is shut down, so its thread ends
soon after, and a retry botocore would start from there is refused before it is sent.

Which connection a call uses is learned from the client's connection pools (see
`track`); without that (another botocore), a call given up still returns at its
deadline, and only its thread stays until the endpoint lets go.

Imports nothing of botocore at module level: the cached paths never load it.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class CallTimedOut(Exception):
    """The call did not finish in time; it was given up (its connection shut)."""


class CallDropped(Exception):
    """Raised inside a call that was given up, when botocore tries to send it again."""


_GUARD = threading.Lock()
# Threads running a call, and the connection each was last handed by its pool.
_RUNNING: set[int] = set()
_IN_USE: dict[int, Any] = {}
_DROPPED: set[int] = set()
_POOLS: dict[str, type] = {}


def in_flight() -> int:
    """Calls still running, given up ones included (tests wait for this to reach 0)."""
    with _GUARD:
        return len(_RUNNING)


def run(call: Callable[[], T], *, seconds: float) -> T:
    """`call()`, in a thread of its own; CallTimedOut when it takes over `seconds`.

    Exceptions of the call are raised here, in the caller's thread.
    """
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()
    context = contextvars.copy_context()

    def runner() -> None:
        me = threading.get_ident()
        with _GUARD:
            _RUNNING.add(me)
        try:
            outcome.append((True, context.run(call)))
        except BaseException as exc:  # handed to the caller, who raises it
            outcome.append((False, exc))
        finally:
            with _GUARD:
                _RUNNING.discard(me)
                _IN_USE.pop(me, None)
                _DROPPED.discard(me)
            done.set()

    thread = threading.Thread(target=runner, name="mfa-tui-aws-call", daemon=True)
    thread.start()
    if not done.wait(seconds):
        _drop(thread.ident)
        raise CallTimedOut(f"no complete answer in {seconds:g} s")
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


def _drop(ident: int | None) -> None:
    """Give up the call running in thread `ident`: shut its connection, refuse retries."""
    with _GUARD:
        if ident not in _RUNNING:
            return  # it finished after all
        _DROPPED.add(ident)
        conn = _IN_USE.get(ident)
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        # The plain socket's shutdown, also under TLS: the blocked read returns at once,
        # and SSLSocket.shutdown would pull its state from under that read.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _refuse_if_dropped(**_: Any) -> None:
    with _GUARD:
        dropped = threading.get_ident() in _DROPPED
    if dropped:
        raise CallDropped("the call was given up at its deadline")


def _tracking_pool(base: type) -> type:
    """`base` (a urllib3 pool class) that notes which connection each thread is handed."""

    def _get_conn(self: Any, timeout: float | None = None) -> Any:
        conn = base._get_conn(self, timeout)  # type: ignore[attr-defined]
        with _GUARD:
            _IN_USE[threading.get_ident()] = conn
        return conn

    return type(f"Tracked{base.__name__}", (base,), {"_get_conn": _get_conn})


def track(client: Any) -> None:
    """Let calls on `client` be given up: note their connections, refuse their retries."""
    client.meta.events.register("before-send", _refuse_if_dropped)
    # botocore offers no public way to choose its pool classes; its session keeps one
    # dict of them, shared by its pool managers (proxies included). Should that change,
    # deadlines still hold; only the abandoned thread lingers.
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    classes = getattr(session, "_pool_classes_by_scheme", None)
    if not isinstance(classes, dict):
        return
    with _GUARD:
        for scheme, base in list(classes.items()):
            if isinstance(base, type) and not base.__name__.startswith("Tracked"):
                if scheme not in _POOLS:
                    _POOLS[scheme] = _tracking_pool(base)
                classes[scheme] = _POOLS[scheme]
