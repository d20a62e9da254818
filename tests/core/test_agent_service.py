"""The agent end to end: credential-process callers, one refresh for many, a person asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keyring
import pytest

from mfa_tui.core.agent import AgentServer, SessionRequest
from mfa_tui.core.agent_service import AgentService
from mfa_tui.core.backend import CodeWanted, ServiceBackend
from mfa_tui.core.codes import SeedStore
from mfa_tui.errors import NeedsCodeError, UsageError
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox


@pytest.fixture
def ring() -> Iterator[MemoryKeyring]:
    saved = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(saved)


@pytest.fixture
def agent_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "agent"
    monkeypatch.setenv("MFA_TUI_AGENT_DIR", str(folder))
    return folder


def test_ten_concurrent_callers_make_one_get_session_token(
    sandbox: Sandbox, ring: MemoryKeyring
) -> None:
    SeedStore(ring).set(sandbox.test_user.mfa_serial, sandbox.test_user.seed)
    service = AgentService(ServiceBackend(sandbox.paths), sandbox.paths)
    request = SessionRequest("my-test-role", 960, "terraform")
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: service.handle(request), range(10)))
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    assert sandbox.fault.actions().count("AssumeRole") == 1
    keys = {a["credentials"]["AccessKeyId"] for a in answers}
    assert len(keys) == 1


def test_a_person_is_asked_once_for_many_callers(sandbox: Sandbox, ring: MemoryKeyring) -> None:
    backend = ServiceBackend(sandbox.paths)
    asked: list[tuple[CodeWanted, str]] = []

    def ask(wanted: CodeWanted, caller: str) -> bool:
        asked.append((wanted, caller))
        backend.refresh(wanted.profile, code="123456", force=True)
        return True

    service = AgentService(backend, sandbox.paths, ask_person=ask)
    request = SessionRequest("test-user", 960, "kubectl")
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda _: service.handle(request), range(5)))
    assert len(asked) == 1
    assert asked[0][0].mfa_serial == sandbox.test_user.mfa_serial
    assert asked[0][1] == "kubectl"
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_cancelled_prompt_and_daemon_without_person(sandbox: Sandbox, ring: MemoryKeyring) -> None:
    backend = ServiceBackend(sandbox.paths)
    request = SessionRequest("test-user", 960, "aws")
    with pytest.raises(NeedsCodeError, match="cancelled"):
        AgentService(backend, sandbox.paths, ask_person=lambda w, c: False).handle(request)
    with pytest.raises(NeedsCodeError, match="daemon cannot ask"):
        AgentService(backend, sandbox.paths).handle(request)
    assert sandbox.fault.actions() == []


def test_credential_process_subprocesses_are_served_through_the_agent(
    sandbox: Sandbox, ring: MemoryKeyring, agent_dir: Path
) -> None:
    backend = ServiceBackend(sandbox.paths)
    prompted = threading.Event()

    def ask(wanted: CodeWanted, caller: str) -> bool:
        prompted.set()
        backend.refresh(wanted.profile, code="654321", force=True)
        return True

    service = AgentService(backend, sandbox.paths, ask_person=ask)
    with AgentServer(service.handle):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "mfa_tui", "credential-process", "my-test-role"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
            for _ in range(10)
        ]
        outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    data = [json.loads(out) for out, _ in outputs]
    assert {d["Version"] for d in data} == {1}
    assert len({d["AccessKeyId"] for d in data}) == 1
    assert prompted.is_set()
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    assert sandbox.fault.actions().count("AssumeRole") == 1


def test_a_min_valid_no_session_can_have_costs_one_refresh_then_none(
    sandbox: Sandbox, ring: MemoryKeyring
) -> None:
    SeedStore(ring).set(sandbox.test_user.mfa_serial, sandbox.test_user.seed)
    service = AgentService(ServiceBackend(sandbox.paths), sandbox.paths)
    # Role sessions last an hour; a caller wants two hours left.
    greedy = SessionRequest("my-test-role", 7200, "a tool")
    # With no session yet there is nothing to tell: one refresh, which shows it.
    with pytest.raises(UsageError, match="gets sessions of 3600 s"):
        service.handle(greedy)
    calls = len(sandbox.fault.actions())
    assert sandbox.fault.actions().count("AssumeRole") == 1
    for _ in range(5):
        with pytest.raises(UsageError, match="gets sessions of 3600 s"):
            service.handle(greedy)
    assert len(sandbox.fault.actions()) == calls, "no STS call per request"
    # What a session can have is still served.
    assert service.handle(SessionRequest("my-test-role", 960, "a tool"))["credentials"]
