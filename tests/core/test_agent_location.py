"""Where the agent's socket lives: Linux, macOS, a path too long for a socket, Windows."""

from __future__ import annotations

import os
import socket
import stat
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mfa_tui import locations
from mfa_tui.core import agent
from mfa_tui.core.agent import AgentServer, AgentUnavailableError, AgentUnsafeError
from mfa_tui.errors import NeedsCodeError

CREDS = {"credentials": {"AccessKeyId": "ASIAEXAMPLE"}}


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path (tmp_path's is already half a socket path long)."""
    with tempfile.TemporaryDirectory(prefix="mt-", dir="/tmp") as folder:
        yield Path(folder)


@pytest.fixture
def no_runtime(monkeypatch: pytest.MonkeyPatch, short_tmp: Path) -> Path:
    """macOS as it comes: no XDG variables, no runtime folder; the fallback base is ours."""
    for name in ("XDG_RUNTIME_DIR", "XDG_STATE_HOME", "MFA_TUI_AGENT_DIR"):
        monkeypatch.delenv(name, raising=False)
    base = short_tmp / "t"
    base.mkdir()
    monkeypatch.setattr(agent, "SHORT_BASE", str(base))
    return base


def serve_and_ping() -> Path:
    """Start the agent where every caller looks for it, and ask it: returns its socket."""
    with AgentServer(lambda request, gone: CREDS) as server:
        assert server.path == agent.socket_path()
        assert agent.ping() == os.getpid()
        assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(server.path.parent.stat().st_mode) == 0o700
        return server.path


def test_macos_without_a_runtime_folder_uses_the_state_folder(
    monkeypatch: pytest.MonkeyPatch, short_tmp: Path, no_runtime: Path
) -> None:
    monkeypatch.setattr(locations, "SYSTEM", locations.MACOS)
    monkeypatch.setenv("HOME", str(short_tmp / "home"))
    expected = short_tmp / "home" / "Library" / "Application Support" / "mfa-tui"
    assert agent.socket_dir() == expected
    assert serve_and_ping() == expected / "agent.sock"


def test_linux_keeps_the_runtime_folder(
    monkeypatch: pytest.MonkeyPatch, short_tmp: Path, no_runtime: Path
) -> None:
    monkeypatch.setattr(locations, "SYSTEM", locations.LINUX)
    runtime = short_tmp / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert serve_and_ping() == runtime / "mfa-tui" / "agent.sock"


@pytest.mark.parametrize(("system", "limit"), [(locations.MACOS, 104), (locations.LINUX, 108)])
def test_a_path_too_long_for_a_socket_falls_back_to_a_short_private_folder(
    monkeypatch: pytest.MonkeyPatch,
    short_tmp: Path,
    no_runtime: Path,
    system: str,
    limit: int,
) -> None:
    monkeypatch.setattr(locations, "SYSTEM", system)
    state = "Library/Application Support" if system == locations.MACOS else ".local/state"
    suffix = len(f"/{state}/mfa-tui/agent.sock")
    # The longest that fits (the closing NUL needs its byte) stays where it belongs...
    fits = short_tmp / ("h" * (limit - 1 - suffix - len(os.fsencode(short_tmp)) - 1))
    monkeypatch.setenv("HOME", str(fits))
    assert len(os.fsencode(agent.socket_path())) == limit - 1
    assert serve_and_ping() == fits / state / "mfa-tui" / "agent.sock"
    # ...one byte more goes to the short folder, and works there.
    monkeypatch.setenv("HOME", str(fits) + "h")
    short = no_runtime / f"mfa-tui-{os.getuid()}"
    assert agent.socket_dir() == short
    assert serve_and_ping() == short / "agent.sock"


def test_on_linux_a_deep_home_still_gets_an_agent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_runtime: Path
) -> None:
    # Binding a 200-byte path fails on this very system ("AF_UNIX path too long").
    monkeypatch.setattr(locations, "SYSTEM", locations.LINUX)
    monkeypatch.setenv("HOME", str(tmp_path / ("deep" * 40)))
    path = serve_and_ping()
    assert len(os.fsencode(path)) < 108 and path.parent == no_runtime / f"mfa-tui-{os.getuid()}"


@pytest.mark.parametrize("planted", ["open folder", "symlink"])
def test_the_short_folder_is_checked_like_any_other(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_runtime: Path, planted: str
) -> None:
    monkeypatch.setattr(locations, "SYSTEM", locations.MACOS)
    monkeypatch.setenv("HOME", str(tmp_path / ("deep" * 30)))
    short = no_runtime / f"mfa-tui-{os.getuid()}"
    if planted == "open folder":
        short.mkdir(mode=0o755)
        short.chmod(0o755)
    else:
        (tmp_path / "theirs").mkdir(mode=0o700)
        short.symlink_to(tmp_path / "theirs")
    with pytest.raises(AgentUnsafeError) as info:
        AgentServer(lambda request, gone: CREDS).start()
    assert str(short) in info.value.message
    with pytest.raises(AgentUnsafeError):
        agent.ping()  # callers will not talk to whatever listens there either


def test_an_agent_folder_too_long_is_refused_in_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(locations, "SYSTEM", locations.MACOS)
    monkeypatch.setenv("MFA_TUI_AGENT_DIR", str(tmp_path / ("x" * 80)))
    for attempt in (AgentServer(lambda request, gone: CREDS).start, agent.ping):
        with pytest.raises(AgentUnavailableError) as info:
            attempt()
        assert "at most 103" in info.value.message
        assert "MFA_TUI_AGENT_DIR" in info.value.message


def test_without_unix_sockets_there_is_no_agent_and_it_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Python on Windows has no AF_UNIX.
    monkeypatch.setattr(agent, "UNAVAILABLE", "the agent needs Unix sockets, which …")
    monkeypatch.setenv("MFA_TUI_AGENT_DIR", str(tmp_path / "run"))
    with pytest.raises(AgentUnavailableError, match="needs Unix sockets"):
        AgentServer(lambda request, gone: CREDS).start()
    assert agent.ping() is None
    with pytest.raises(NeedsCodeError):
        agent.request_session("p", min_valid=900, wait=1)


def test_without_proc_the_waiting_program_is_still_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The dashboard says "<program> is waiting for <profile>": macOS has no /proc.
    from mfa_tui.commands import credential_process

    with open(f"/proc/{os.getppid()}/comm", encoding="utf-8") as fh:
        parent = fh.read().strip()
    assert credential_process._caller() == parent
    monkeypatch.setattr(credential_process, "PROC", str(tmp_path / "no-proc"))
    assert credential_process._caller() == parent


class XucredSocket:
    """What macOS's getsockopt(SOL_LOCAL, LOCAL_PEERCRED) gives for a peer."""

    def __init__(self, version: int, uid: int | None) -> None:
        self.version, self.uid = version, uid

    def getsockopt(self, level: int, option: int, size: int) -> bytes:
        assert (level, option, size) == (0, 1, 76)
        if self.uid is None:
            raise OSError("not supported here")
        return struct.pack("=2Ih16I", self.version, self.uid, 1, *[20] * 16)


@pytest.mark.parametrize(
    ("version", "uid", "allowed"),
    [
        (0, os.getuid(), True),
        (0, os.getuid() + 1, False),  # another user at our socket: refused
        (1, os.getuid() + 1, True),  # a layout we do not know: the folder's 0700 decides
        (0, None, True),
    ],
)
def test_on_macos_the_peers_uid_is_checked_too(
    monkeypatch: pytest.MonkeyPatch, version: int, uid: int | None, allowed: bool
) -> None:
    monkeypatch.delattr(socket, "SO_PEERCRED", raising=False)
    monkeypatch.setattr(agent, "LOCAL_PEERCRED", (0, 0x001, 76))
    conn = XucredSocket(version, uid)
    assert agent._peer_is_us(conn) is allowed  # type: ignore[arg-type]
