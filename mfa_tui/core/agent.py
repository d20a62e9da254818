"""The refresh agent: a running dashboard (or daemon) answers "session for PROFILE".

A `credential_process` run by terraform, an IDE or kubectl cannot prompt for a code. When
mfa-tui is open it can: callers ask it over a Unix socket, and it refreshes silently when
it can, or asks the person in the dashboard, while the caller waits.

Protocol (JSON lines, one request and one response per connection):

    -> {"op": "session", "profile": "my-test-role", "min_valid": 900, "caller": "terraform"}
    <- {"ok": true, "credentials": {"AccessKeyId": ..., "SecretAccessKey": ...,
        "SessionToken": ..., "Expiration": "2026-11-29T12:00:00Z"}}
    <- {"ok": false, "error": "...", "exit_code": 4}
    -> {"op": "ping"}  <- {"ok": true, "pid": 1234}

The socket lives in a folder only its owner can enter (0700) and is itself 0600; a
socket or folder owned by another user is refused, never used. The client side imports
only the standard library: it runs on the cached `credential-process` path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfa_tui import locations, private_files
from mfa_tui.errors import ExitCode, MfaTuiError, NeedsCodeError
from mfa_tui.settings_rules import GET_SESSION_TOKEN_MAX

SOCKET_NAME = "agent.sock"
MAX_LINE = 64 * 1024
# The size of a Unix socket address's path, its closing NUL included: 108 bytes on
# Linux, 104 on macOS and the BSDs. A longer path cannot be bound or connected to.
SUN_PATH_BYTES = {locations.LINUX: 108}
DEFAULT_SUN_PATH_BYTES = 104
# Where the socket goes when the usual folder's path is too long for a Unix socket (a
# deep home folder on macOS): short, per user, and checked like any other (0700, ours).
SHORT_BASE = "/tmp"  # noqa: S108 - the folder is checked: ours, 0700, not a link
# Why there is no agent on this system, or None. Python on Windows has no AF_UNIX.
UNAVAILABLE = (
    None
    if hasattr(socket, "AF_UNIX")
    else "the agent needs Unix sockets, which Python on Windows does not offer"
)
# Requests handled at once: each may wait minutes for a person to type a code.
MAX_WORKERS = 16
# Connections still sending their request; more are told "busy" at once.
MAX_CONNECTIONS = 256
# Seconds a connection has to send its whole request (and a caller to take its answer).
IDLE_SECONDS = 5.0


class AgentUnsafeError(MfaTuiError):
    """The socket or its folder is not ours alone: refuse rather than talk to it."""

    title = "Agent socket refused"


class AgentUnavailableError(MfaTuiError):
    """No agent can listen here: the system lacks Unix sockets, or the path is too long."""

    title = "No agent socket"


def _fits(path: Path) -> bool:
    """Whether `path` can be a Unix socket's address on this system."""
    limit = SUN_PATH_BYTES.get(locations.SYSTEM or "", DEFAULT_SUN_PATH_BYTES)
    return len(os.fsencode(path)) < limit  # room left for the closing NUL


def socket_dir() -> Path:
    """The agent's folder, worked out the same way by the agent and by every caller.

    `MFA_TUI_AGENT_DIR` when set; else the runtime folder the OS gives (XDG_RUNTIME_DIR:
    per user, emptied at logout), else the user state folder (macOS has no runtime
    folder: `~/Library/Application Support/mfa-tui`). When the socket's path there is
    too long for a Unix socket, `/tmp/mfa-tui-<uid>`, with the same checks.
    """
    override = os.environ.get("MFA_TUI_AGENT_DIR")
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        folder = Path(runtime) / "mfa-tui"
    else:
        folder = Path(locations.user_dir("state"))
    if _fits(folder / SOCKET_NAME) or not hasattr(os, "getuid"):
        return folder
    return Path(SHORT_BASE) / f"mfa-tui-{os.getuid()}"


def socket_path() -> Path:
    return socket_dir() / SOCKET_NAME


def _check_usable(path: Path) -> None:
    """Refuse, in words, a socket path this system cannot use."""
    if UNAVAILABLE is not None:
        raise AgentUnavailableError(f"{UNAVAILABLE}; credential-process callers cannot ask it")
    if not _fits(path):
        limit = SUN_PATH_BYTES.get(locations.SYSTEM or "", DEFAULT_SUN_PATH_BYTES) - 1
        raise AgentUnavailableError(
            f"the agent socket path {path} is {len(os.fsencode(path))} bytes; a Unix socket "
            f"path here may have at most {limit}. Set MFA_TUI_AGENT_DIR to a shorter folder"
        )


def _check_owner(path: Path, *, want_dir: bool) -> None:
    st = path.lstat()
    kind_ok = stat.S_ISDIR(st.st_mode) if want_dir else stat.S_ISSOCK(st.st_mode)
    if not kind_ok:
        what = "folder" if want_dir else "socket"
        raise AgentUnsafeError(f"{path} is not a {what}; mfa-tui will not use it")
    if st.st_uid != os.getuid():
        raise AgentUnsafeError(
            f"{path} belongs to another user (uid {st.st_uid}); mfa-tui will not use it. "
            "Remove it, or set MFA_TUI_AGENT_DIR to a folder of your own"
        )
    if want_dir and st.st_mode & 0o077:
        raise AgentUnsafeError(
            f"{path} can be entered by other users (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run 'chmod 700 {path}'"
        )


def _prepare_dir(folder: Path) -> None:
    """The socket's folder, made 0700 (parents too) on a way only you can change."""
    private_files.make_folders(str(folder))
    _check_owner(folder, want_dir=True)
    try:
        private_files.check_folder(str(folder))
    except private_files.UnsafePathError as exc:
        raise AgentUnsafeError(
            f"{exc}; mfa-tui will not listen there. Fix that, or set MFA_TUI_AGENT_DIR to "
            "a folder of your own"
        ) from None


@dataclass(frozen=True)
class SessionRequest:
    profile: str
    min_valid: int
    caller: str


# The handler gets the request and a flag raised when its caller hangs up (it gave up
# waiting): a prompt nobody waits for any more can then close.
Handler = Callable[[SessionRequest, threading.Event], dict[str, Any]]


class _HangupWatch:
    """One thread that notices callers hanging up while their request is handled.

    A caller that gave up (`agent_wait`) closes its end; the handler may be waiting for
    a person at that moment and must learn that nobody waits for the answer any more.
    """

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._lock = threading.Lock()
        self._watched: dict[socket.socket, threading.Event] = {}
        self._thread: threading.Thread | None = None

    def watch(self, conn: socket.socket) -> threading.Event:
        gone = threading.Event()
        with self._lock:
            self._watched[conn] = gone
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mfa-tui-agent-hangups", daemon=True
                )
                self._thread.start()
        return gone

    def forget(self, conn: socket.socket) -> None:
        with self._lock:
            self._watched.pop(conn, None)

    def _run(self) -> None:
        import select

        while not self._stop.is_set():
            with self._lock:
                conns = list(self._watched)
            if not conns:
                self._stop.wait(0.25)
                continue
            try:
                readable, _, _ = select.select(conns, [], [], 0.25)
            except (OSError, ValueError):
                readable = [c for c in conns if c.fileno() < 0]
            for conn in readable:
                with self._lock:
                    gone = self._watched.pop(conn, None)
                if gone is None:
                    continue
                try:
                    data = conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                except BlockingIOError:
                    with self._lock:
                        self._watched[conn] = gone
                    continue
                except OSError:
                    data = b""
                if not data:
                    gone.set()
                # Bytes after the request are ignored: no longer watched, no busy loop.


@dataclass
class _Pending:
    """A connection whose request is still arriving."""

    conn: socket.socket
    deadline: float
    data: bytes = b""


class AgentServer:
    """Answers requests: pings and refusals at once, sessions in a bounded set of threads.

    One thread reads every connection (none may take more than `idle_timeout` seconds to
    send its request, or hold more than MAX_LINE bytes); at most `workers` requests are
    handled at once, since `handler` may block for as long as a person takes to type a
    code. A request beyond that, or beyond `max_connections` open connections, is told
    `busy`, and the client waits and asks again. The handler must raise MfaTuiError for
    failures, which become `{"ok": false, ...}` answers.
    """

    def __init__(
        self,
        handler: Handler,
        path: Path | None = None,
        *,
        workers: int = MAX_WORKERS,
        idle_timeout: float = IDLE_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.handler = handler
        self.path = path or socket_path()
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(workers)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._hangups = _HangupWatch(self._stop)

    def start(self) -> None:
        _check_usable(self.path)
        _prepare_dir(self.path.parent)
        if self.path.exists() or self.path.is_symlink():
            _check_owner(self.path, want_dir=False)
            if ping(self.path, timeout=0.5) is not None:
                raise MfaTuiError(
                    f"another mfa-tui agent is already listening on {self.path}",
                    title="Agent already running",
                )
            # A socket nobody answers on was left by a crashed agent.
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        # A burst of callers waits in the kernel's queue instead of being refused (which a
        # client reads as "no dashboard running").
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="mfa-tui-agent", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with contextlib.suppress(OSError):
            st = self.path.lstat()
            if stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid():
                self.path.unlink()

    def __enter__(self) -> AgentServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the reading thread ------------------------------------------------------------

    def _serve(self) -> None:
        assert self._sock is not None
        listener = self._sock
        pending: dict[socket.socket, _Pending] = {}
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            while not self._stop.is_set():
                now = time.monotonic()
                soonest = min((p.deadline for p in pending.values()), default=now + 0.2)
                for key, _ in selector.select(max(0.0, min(0.2, soonest - now))):
                    if key.fileobj is listener:
                        self._accept(listener, selector, pending)
                    else:
                        self._read(pending[key.fileobj], selector, pending)  # type: ignore[index]
                now = time.monotonic()
                for item in [p for p in pending.values() if p.deadline <= now]:
                    self._close(item, selector, pending, _refusal("no request came in time"))
            for item in list(pending.values()):
                self._close(item, selector, pending, None)

    def _accept(
        self,
        listener: socket.socket,
        selector: selectors.BaseSelector,
        pending: dict[socket.socket, _Pending],
    ) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # closed by stop()
            conn.setblocking(False)
            if not _peer_is_us(conn):
                _reply_now(conn, {"ok": False, "error": "refused: not the same user"})
                continue
            if len(pending) >= self.max_connections:
                _reply_now(conn, BUSY)
                continue
            item = _Pending(conn, time.monotonic() + self.idle_timeout)
            pending[conn] = item
            selector.register(conn, selectors.EVENT_READ)

    def _read(
        self,
        item: _Pending,
        selector: selectors.BaseSelector,
        pending: dict[socket.socket, _Pending],
    ) -> None:
        try:
            chunk = item.conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close(item, selector, pending, None)  # the caller went away
            return
        item.data += chunk
        line, newline, _ = item.data.partition(b"\n")
        if not newline:
            if len(item.data) > MAX_LINE:
                self._close(item, selector, pending, _refusal("request too long"))
            return
        selector.unregister(item.conn)
        del pending[item.conn]
        self._answer(item.conn, line)

    def _close(
        self,
        item: _Pending,
        selector: selectors.BaseSelector,
        pending: dict[socket.socket, _Pending],
        answer: dict[str, Any] | None,
    ) -> None:
        selector.unregister(item.conn)
        del pending[item.conn]
        if answer is None:
            item.conn.close()
        else:
            _reply_now(item.conn, answer)

    def _answer(self, conn: socket.socket, line: bytes) -> None:
        """Refusals and pings at once; a session request in a thread, if one is free."""
        try:
            request = parse_request(line)
        except BadRequest as exc:
            _reply_now(conn, _refusal(str(exc)))
            return
        if isinstance(request, str):  # "ping"
            _reply_now(conn, {"ok": True, "pid": os.getpid()})
            return
        if not self._slots.acquire(blocking=False):
            _reply_now(conn, BUSY)
            return
        threading.Thread(
            target=self._work, args=(conn, request), name="mfa-tui-agent-request", daemon=True
        ).start()

    def _work(self, conn: socket.socket, request: SessionRequest) -> None:
        try:
            with conn:
                gone = self._hangups.watch(conn)
                try:
                    body = {"ok": True, **self.handler(request, gone)}
                except MfaTuiError as exc:
                    body = {"ok": False, "error": exc.message, "exit_code": int(exc.exit_code)}
                finally:
                    self._hangups.forget(conn)
                conn.setblocking(True)
                conn.settimeout(IDLE_SECONDS)  # a caller that never reads does not keep us
                _send(conn, body)
        finally:
            self._slots.release()


class BadRequest(ValueError):
    """A request line that is not a request this agent answers."""


def parse_request(line: bytes) -> SessionRequest | str:
    """A session request, or "ping".

    Raises:
        BadRequest: not UTF-8, not JSON (or nested past reason), not an object, an
            unknown op, or fields of the wrong type or out of range.
    """
    try:
        message = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("bad request: not UTF-8") from None
    except RecursionError:
        raise BadRequest("bad request: nested too deeply") from None
    except ValueError:
        raise BadRequest("bad request: not JSON") from None
    if not isinstance(message, dict):
        raise BadRequest("bad request: not a JSON object")
    op = message.get("op")
    if op == "ping":
        return "ping"
    if op != "session":
        raise BadRequest(f"bad request: unknown op {str(op)[:40]!r}")
    profile = message.get("profile")
    min_valid = message.get("min_valid", 900)
    if not isinstance(profile, str) or not profile or len(profile) > 256:
        raise BadRequest("bad request: 'profile' must be a profile name")
    if isinstance(min_valid, bool) or not isinstance(min_valid, int):
        raise BadRequest("bad request: 'min_valid' must be a whole number of seconds")
    if not 0 <= min_valid <= GET_SESSION_TOKEN_MAX:
        # No session lasts longer: a larger value could only ever force a refresh.
        raise BadRequest(
            f"bad request: 'min_valid' must be 0..{GET_SESSION_TOKEN_MAX} seconds (the "
            "longest session STS gives)"
        )
    caller = str(message.get("caller") or "a program")[:80]
    return SessionRequest(profile, min_valid, caller)


def _refusal(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "exit_code": int(ExitCode.USAGE)}


# Told to a caller when every worker is taken: it waits a moment and asks again.
BUSY: dict[str, Any] = {
    "ok": False,
    "busy": True,
    "error": "the mfa-tui agent is busy with other callers",
    "exit_code": int(ExitCode.NEEDS_CODE),
}


def _reply_now(conn: socket.socket, message: dict[str, Any]) -> None:
    """Answer from the reading thread: a small line that fits the socket's buffer; a
    caller that does not take it loses it, the thread never waits."""
    with conn, contextlib.suppress(OSError):
        conn.setblocking(False)
        conn.send(json.dumps(message).encode("utf-8") + b"\n")
        # What the caller sent and we did not read would turn our close into a reset
        # that can overtake the answer.
        conn.recv(MAX_LINE)


# macOS (and the BSDs) tell a Unix socket's peer by getsockopt(SOL_LOCAL=0,
# LOCAL_PEERCRED=1): a struct xucred {u_int cr_version (0); uid_t cr_uid; short
# cr_ngroups; gid_t cr_groups[16]}, 76 bytes. Python names neither constant.
LOCAL_PEERCRED: tuple[int, int, int] | None = (
    (0, 0x001, 76) if sys.platform == "darwin" or sys.platform.startswith("freebsd") else None
)


def _peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's uid, where the system tells it."""
    import struct

    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is not None:  # Linux
        creds = conn.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return int(uid)
    if LOCAL_PEERCRED is not None:
        level, option, size = LOCAL_PEERCRED
        try:
            xucred = conn.getsockopt(level, option, size)
        except OSError:
            return None
        if len(xucred) >= 8:
            version, uid = struct.unpack_from("=2I", xucred)
            if version == 0:
                return int(uid)
    return None


def _peer_is_us(conn: socket.socket) -> bool:
    uid = _peer_uid(conn)
    # Where the system cannot tell, the 0600 socket in a 0700 folder keeps others out.
    return uid is None or uid == os.getuid()


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(message).encode("utf-8") + b"\n")


def _recv(conn: socket.socket, timeout: float | None) -> dict[str, Any]:
    conn.settimeout(timeout)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE:
            raise ValueError("message too long")
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("not an object")
    return message


class _Busy(Exception):
    """The agent is there, but its queue is full for now."""


def _connect(path: Path, timeout: float) -> socket.socket | None:
    """A connection to a live agent we trust, or None when none is running.

    Raises:
        _Busy: the agent's queue is full (the caller waits and tries again).
        AgentUnsafeError: the socket, its folder or the process behind it is not ours.
    """
    if UNAVAILABLE is not None:
        return None
    _check_usable(path)
    try:
        _check_owner(path.parent, want_dir=True)
        _check_owner(path, want_dir=False)
    except FileNotFoundError:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (BlockingIOError, TimeoutError):
        sock.close()
        raise _Busy from None
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise _Busy from None
        return None
    if not _peer_is_us(sock):
        sock.close()
        raise AgentUnsafeError(
            f"the process listening on {path} is another user's; mfa-tui will not use it"
        )
    return sock


def ping(path: Path | None = None, timeout: float = 0.5) -> int | None:
    """The agent's pid, or None when no agent listens; 0 for an agent too busy to say."""
    try:
        sock = _connect(path or socket_path(), timeout)
    except _Busy:
        return 0
    if sock is None:
        return None
    with sock:
        _send(sock, {"op": "ping"})
        try:
            answer = _recv(sock, timeout)
        except TimeoutError:
            return 0  # it is there: its reading thread is behind, not gone
        except (OSError, ValueError):
            return None
    pid = answer.get("pid")
    return pid if isinstance(pid, int) else None


def request_session(
    profile: str,
    *,
    min_valid: int,
    wait: float,
    caller: str = "",
    path: Path | None = None,
) -> dict[str, Any]:
    """Ask the running agent for a session; raises NeedsCodeError when none runs.

    A busy agent (every worker taken, its queue full) is asked again, with growing pauses,
    until `wait` seconds have gone by.
    """
    path = path or socket_path()
    deadline = time.monotonic() + wait
    pause = 0.05
    request = {"op": "session", "profile": profile, "min_valid": min_valid, "caller": caller}
    while True:
        try:
            sock = _connect(path, timeout=1.0)
            answer = None if sock is None else _ask(sock, request, deadline, profile, wait)
        except _Busy:  # even the first time round: `sock` is then not yet set
            sock, answer = None, BUSY
        if sock is None and answer is None:
            raise NeedsCodeError(
                f"profile '{profile}' needs an MFA code and no mfa-tui dashboard is running "
                "to ask for it. Open 'mfa-tui' in a terminal (it will prompt when a tool "
                f"needs a code), or run 'mfa-tui refresh {profile}' yourself"
            )
        assert answer is not None
        if not answer.get("busy"):
            break
        if time.monotonic() + pause > deadline:
            raise NeedsCodeError(
                f"the mfa-tui agent stayed busy with other callers for {wait:.0f}s; try again"
            )
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
    if not answer.get("ok"):
        error = MfaTuiError(str(answer.get("error") or "the agent refused"))
        with contextlib.suppress(ValueError):
            error.exit_code = ExitCode(int(answer.get("exit_code", 1)))
        raise error
    creds = answer.get("credentials")
    if not isinstance(creds, dict):
        raise MfaTuiError("the mfa-tui agent answered without credentials")
    return creds


def _ask(
    sock: socket.socket, request: dict[str, Any], deadline: float, profile: str, wait: float
) -> dict[str, Any]:
    with sock:
        _send(sock, request)
        try:
            return _recv(sock, timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            raise NeedsCodeError(
                f"waited {wait:.0f}s for the mfa-tui dashboard to get a session for "
                f"'{profile}'; nobody entered a code"
            ) from None
        except (ConnectionResetError, BrokenPipeError):
            # The agent dropped us before answering: too many callers at once. If it
            # is gone instead, the next connect says so.
            return BUSY
        except (OSError, ValueError) as exc:
            raise MfaTuiError(f"the mfa-tui agent gave no usable answer: {exc}") from None
