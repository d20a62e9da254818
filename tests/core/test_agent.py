"""The agent socket: protocol, stale sockets, foreign sockets, no agent."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from mfa_tui.core import agent
from mfa_tui.core.agent import AgentServer, AgentUnsafeError, SessionRequest
from mfa_tui.errors import AwsRefusedError, ExitCode, MfaTuiError, NeedsCodeError

CREDS = {
    "AccessKeyId": "ASIAEXAMPLE",
    "SecretAccessKey": "s3cr3t",
    "SessionToken": "tok",
    "Expiration": "2030-01-01T00:00:00Z",
}


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    return folder / "agent.sock"


def test_session_request_round_trip(sock_path: Path) -> None:
    seen: list[SessionRequest] = []

    def handler(request: SessionRequest, gone: threading.Event) -> dict[str, object]:
        seen.append(request)
        return {"credentials": CREDS}

    with AgentServer(handler, sock_path):
        assert oct(sock_path.stat().st_mode & 0o777) == "0o600"
        assert oct(sock_path.parent.stat().st_mode & 0o777) == "0o700"
        creds = agent.request_session(
            "my-role", min_valid=900, wait=5, caller="terraform", path=sock_path
        )
    assert creds == CREDS
    assert seen == [SessionRequest("my-role", 900, "terraform")]
    assert not sock_path.exists(), "a cleanly stopped agent removes its socket"


def test_handler_error_keeps_message_and_exit_code(sock_path: Path) -> None:
    def handler(request: SessionRequest, gone: threading.Event) -> dict[str, object]:
        raise AwsRefusedError(f"AWS refused the code for {request.profile}")

    with AgentServer(handler, sock_path), pytest.raises(MfaTuiError) as info:
        agent.request_session("u", min_valid=900, wait=5, path=sock_path)
    assert info.value.exit_code == ExitCode.AWS_REFUSED
    assert "AWS refused the code for u" in info.value.message


def test_no_agent_fails_fast_with_exit_3(sock_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(NeedsCodeError) as info:
        agent.request_session("u", min_valid=900, wait=120, path=sock_path)
    assert time.monotonic() - started < 1.0
    assert info.value.exit_code == ExitCode.NEEDS_CODE
    assert "mfa-tui" in info.value.message


def test_stale_socket_from_crashed_agent_is_replaced(sock_path: Path) -> None:
    sock_path.parent.mkdir(mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock_path))
    dead.close()  # the file stays, nobody listens: what a SIGKILLed agent leaves
    assert sock_path.exists()
    assert agent.ping(sock_path) is None
    with AgentServer(lambda r, gone: {"credentials": CREDS}, sock_path):
        assert agent.ping(sock_path) == os.getpid()


def test_second_agent_refuses_to_steal_a_live_socket(sock_path: Path) -> None:
    with AgentServer(lambda r, gone: {"credentials": CREDS}, sock_path):
        with pytest.raises(MfaTuiError, match="already listening"):
            AgentServer(lambda r, gone: {}, sock_path).start()
        assert agent.ping(sock_path) == os.getpid()


def test_socket_owned_by_someone_else_is_refused(
    sock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AgentServer(lambda r, gone: {"credentials": CREDS}, sock_path):
        real_uid = os.getuid()
        # Pretend we are another user: the socket and folder now belong to "someone else".
        monkeypatch.setattr(os, "getuid", lambda: real_uid + 1)
        with pytest.raises(AgentUnsafeError, match="another user"):
            agent.request_session("u", min_valid=900, wait=5, path=sock_path)
        with pytest.raises(AgentUnsafeError):
            AgentServer(lambda r, gone: {}, sock_path).start()


def test_world_writable_folder_is_refused(sock_path: Path) -> None:
    sock_path.parent.mkdir(mode=0o700)
    os.chmod(sock_path.parent, 0o777)
    with pytest.raises(AgentUnsafeError, match="chmod 700"):
        AgentServer(lambda r, gone: {}, sock_path).start()


def test_caller_waits_for_slow_handler_then_times_out(sock_path: Path) -> None:
    release = threading.Event()

    def handler(request: SessionRequest, gone: threading.Event) -> dict[str, object]:
        release.wait(5)
        return {"credentials": CREDS}

    with AgentServer(handler, sock_path):
        with pytest.raises(NeedsCodeError, match="waited"):
            agent.request_session("u", min_valid=900, wait=0.3, path=sock_path)
        release.set()


# --- hostile callers ---------------------------------------------------------------------


def raw_exchange(path: Path, payload: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes as a client would, and read whatever comes back until the agent closes.

    An agent with every connection slot taken may drop a new one before reading it
    (the client library asks again); so does this, a bounded number of times.
    """
    for _ in range(50):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            try:
                sock.sendall(payload)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            except (ConnectionResetError, BrokenPipeError):
                continue
            return answer
    raise AssertionError("the agent dropped every connection")


MALFORMED = {
    "not json": (b"this is not json\n", "not JSON"),
    "not an object": (b"[1, 2, 3]\n", "not a JSON object"),
    "not utf-8": (b'{"op": "session", "profile": "\xff\xfe"}\n', "not UTF-8"),
    "60,000 brackets": (b"[" * 60_000 + b"\n", "nested too deeply"),
    "unknown op": (b'{"op": "steal"}\n', "unknown op 'steal'"),
    "profile not a name": (b'{"op": "session", "profile": 7}\n', "'profile' must be"),
    "negative min_valid": (
        b'{"op": "session", "profile": "p", "min_valid": -1}\n',
        "'min_valid' must be 0..129600",
    ),
    "min_valid a float": (
        b'{"op": "session", "profile": "p", "min_valid": 10e12}\n',
        "whole number",
    ),
    "huge min_valid": (
        b'{"op": "session", "profile": "p", "min_valid": 999999999}\n',
        "0..129600",
    ),
    "min_valid a bool": (
        b'{"op": "session", "profile": "p", "min_valid": true}\n',
        "whole number",
    ),
}


@pytest.mark.parametrize(("payload", "why"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_gets_an_answer_not_a_closed_socket(
    sock_path: Path, payload: bytes, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled: list[SessionRequest] = []
    crashes: list[object] = []
    monkeypatch.setattr(threading, "excepthook", crashes.append)

    def handler(request: SessionRequest, gone: threading.Event) -> dict[str, object]:
        handled.append(request)
        return {"credentials": CREDS}

    with AgentServer(handler, sock_path):
        answer = json.loads(raw_exchange(sock_path, payload))
        assert agent.ping(sock_path) == os.getpid(), "the agent is still serving"
    assert answer["ok"] is False and why in answer["error"], answer
    assert answer["exit_code"] == ExitCode.USAGE
    assert handled == [] and crashes == []


def test_idle_connections_time_out_and_threads_stay_bounded(sock_path: Path) -> None:
    before = threading.active_count()
    with AgentServer(lambda r, gone: {"credentials": CREDS}, sock_path, idle_timeout=0.5):
        idle = []
        for _ in range(500):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(10)
            conn.connect(str(sock_path))
            idle.append(conn)
        # One thread reads them all: 500 idle callers are not 500 threads.
        assert threading.active_count() <= before + 1
        # Each is answered (busy past the connection limit, else "no request came in
        # time") and closed by the agent; none is kept open.
        answers = []
        for conn in idle:
            with conn:
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
                answers.append(json.loads(data))
        assert all(a["ok"] is False for a in answers)
        assert {a["error"] for a in answers} <= {
            "no request came in time",
            "the mfa-tui agent is busy with other callers",
        }
        # And it still serves.
        assert agent.request_session("u", min_valid=900, wait=5, path=sock_path) == CREDS


def test_a_burst_of_callers_is_served_busy_ones_wait_instead_of_failing(sock_path: Path) -> None:
    release = threading.Event()
    inside = threading.Semaphore(0)
    workers = 2

    def handler(request: SessionRequest, gone: threading.Event) -> dict[str, object]:
        inside.release()
        release.wait(30)
        return {"credentials": CREDS}

    with AgentServer(handler, sock_path, workers=workers):
        results: list[object] = []
        lock = threading.Lock()

        def caller() -> None:
            try:
                got: object = agent.request_session("u", min_valid=900, wait=60, path=sock_path)
            except MfaTuiError as exc:
                got = exc
            with lock:
                results.append(got)

        callers = [threading.Thread(target=caller) for _ in range(500)]
        for thread in callers:
            thread.start()
        for _ in range(workers):
            assert inside.acquire(timeout=30), "the handler was reached"
        # Every worker is taken: the agent says busy at once instead of refusing.
        busy = json.loads(
            raw_exchange(sock_path, b'{"op": "session", "profile": "u", "min_valid": 900}\n')
        )
        assert busy.get("busy") is True and busy["ok"] is False
        release.set()
        for thread in callers:
            thread.join(60)
        assert len(results) == 500
        assert [r for r in results if r != CREDS] == [], "a caller failed instead of waiting"


def test_an_agent_busy_from_the_first_connect_is_waited_for_not_a_crash(
    sock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The listen queue full at the very first try: before, `sock` was never set and the
    # caller died with an UnboundLocalError instead of waiting.
    tries: list[float] = []

    def full_queue(path: Path, timeout: float) -> socket.socket | None:
        tries.append(timeout)
        raise agent._Busy

    monkeypatch.setattr(agent, "_connect", full_queue)
    with pytest.raises(NeedsCodeError, match="stayed busy with other callers"):
        agent.request_session("p", min_valid=900, wait=0.0, path=sock_path)
    assert tries == [1.0]
