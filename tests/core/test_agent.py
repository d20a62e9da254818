"""The agent socket: protocol, stale sockets, foreign sockets, no agent."""

from __future__ import annotations

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
