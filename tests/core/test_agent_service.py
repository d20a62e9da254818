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

from mfa_tui.core import agent
from mfa_tui.core.agent import AgentServer, SessionRequest
from mfa_tui.core.agent_service import AgentService
from mfa_tui.core.asking import PromptAsker, PromptBroker, PromptState
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.core.codes import SeedStore
from mfa_tui.errors import CodeRequest, NeedsCodeError
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
    service = AgentService(ServiceBackend(sandbox.paths))
    request = SessionRequest("my-test-role", 960, "terraform")
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: service.handle(request), range(10)))
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    assert sandbox.fault.actions().count("AssumeRole") == 1
    keys = {a["credentials"]["AccessKeyId"] for a in answers}
    assert len(keys) == 1


class Person:
    """The dashboard's side of a PromptBroker: records every prompt shown, and types a
    code (or cancels) when told to."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, PromptState | None, str]] = []
        self.asked = threading.Event()
        self.broker = PromptBroker(self.listen)

    def listen(self, serial: str, state: PromptState | None, why: str) -> None:
        self.shown.append((serial, state, why))
        if state is not None and state.waiting_for_code:
            self.asked.set()

    def opened(self) -> int:
        """How many times a prompt went from closed to open."""
        count, open_ = 0, False
        for _, state, _ in self.shown:
            if state is not None and not open_:
                count += 1
            open_ = state is not None
        return count

    def types(self, serial: str, code: str) -> None:
        assert self.asked.wait(20), "nobody was asked"
        self.asked.clear()
        assert self.broker.submit(serial, code)


def test_a_person_is_asked_once_for_many_callers(sandbox: Sandbox, ring: MemoryKeyring) -> None:
    person = Person()
    service = AgentService(ServiceBackend(sandbox.paths), person.broker)
    request = SessionRequest("test-user", 960, "kubectl")
    with ThreadPoolExecutor(5) as pool:
        answers = [pool.submit(service.handle, request) for _ in range(5)]
        person.types(sandbox.test_user.mfa_serial, "123456")
        results = [a.result(timeout=30) for a in answers]
    assert len({r["credentials"]["AccessKeyId"] for r in results}) == 1
    assert person.opened() == 1
    first = next(state for _, state, _ in person.shown if state is not None)
    assert first.request.mfa_serial == sandbox.test_user.mfa_serial
    assert first.callers[0] == ("kubectl", "test-user")
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_cancelled_prompt_and_daemon_without_person(sandbox: Sandbox, ring: MemoryKeyring) -> None:
    backend = ServiceBackend(sandbox.paths)
    request = SessionRequest("test-user", 960, "aws")
    person = Person()
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(AgentService(backend, person.broker).handle, request)
        assert person.asked.wait(20)
        person.broker.cancel(sandbox.test_user.mfa_serial)
        with pytest.raises(NeedsCodeError, match="cancelled in the dashboard") as info:
            answer.result(timeout=5)
    assert int(info.value.exit_code) == 3
    with pytest.raises(NeedsCodeError, match="daemon cannot ask") as needs:
        AgentService(backend).handle(request)
    assert needs.value.request == CodeRequest(
        "test-user", sandbox.test_user.mfa_serial, "test-user"
    )
    assert sandbox.fault.actions() == []


def test_credential_process_subprocesses_are_served_through_the_agent(
    sandbox: Sandbox, ring: MemoryKeyring, agent_dir: Path
) -> None:
    person = Person()
    service = AgentService(ServiceBackend(sandbox.paths), person.broker)
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
        person.types(sandbox.test_user.mfa_serial, "654321")
        outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    data = [json.loads(out) for out, _ in outputs]
    assert {d["Version"] for d in data} == {1}
    assert len({d["AccessKeyId"] for d in data}) == 1
    assert person.opened() == 1
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    assert sandbox.fault.actions().count("AssumeRole") == 1


# --- one prompt per device (issue 14) ----------------------------------------------------


def test_five_callers_for_two_roles_of_one_user_share_one_prompt_and_one_code(
    sandbox: Sandbox, ring: MemoryKeyring
) -> None:
    person = Person()
    service = AgentService(ServiceBackend(sandbox.paths), person.broker)
    requests = [SessionRequest("my-test-role", 960, f"terraform-{i}") for i in range(3)]
    requests += [SessionRequest("readonly-role", 960, f"kubectl-{i}") for i in range(2)]
    with ThreadPoolExecutor(5) as pool:
        answers = [pool.submit(service.handle, r) for r in requests]
        person.types(sandbox.test_user.mfa_serial, "123456")
        results = [a.result(timeout=30) for a in answers]
    assert person.opened() == 1, person.shown
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    assert sandbox.fault.actions().count("AssumeRole") == 2
    keys = [r["credentials"]["AccessKeyId"] for r in results]
    assert len(set(keys[:3])) == 1 and len(set(keys[3:])) == 1 and keys[0] != keys[3]
    # Every caller was waiting on that one prompt when it opened or while it was open.
    callers = {c for _, state, _ in person.shown if state is not None for c, _ in state.callers}
    assert callers == {r.caller for r in requests}


def test_one_cancel_fails_every_caller_waiting_on_the_prompt(
    sandbox: Sandbox, ring: MemoryKeyring
) -> None:
    person = Person()
    service = AgentService(ServiceBackend(sandbox.paths), person.broker)
    requests = [SessionRequest(p, 960, "aws") for p in ("my-test-role", "readonly-role") * 2]
    seen_waiting = threading.Event()

    def listen(serial: str, state: PromptState | None, why: str) -> None:
        person.listen(serial, state, why)
        if state is not None and len(state.callers) == len(requests):
            seen_waiting.set()

    person.broker._listener = listen
    with ThreadPoolExecutor(len(requests)) as pool:
        answers = [pool.submit(service.handle, r) for r in requests]
        assert seen_waiting.wait(20), person.shown
        assert person.broker.cancel(sandbox.test_user.mfa_serial) == len(requests)
        errors = []
        for answer in answers:
            with pytest.raises(NeedsCodeError) as info:
                answer.result(timeout=5)
            errors.append(info.value)
    assert all("cancelled in the dashboard" in e.message for e in errors)
    assert all(int(e.exit_code) == 3 for e in errors)
    assert person.opened() == 1, "the prompt is not opened again for the next caller"
    assert sandbox.fault.actions() == []


def test_a_prompt_closes_when_its_last_caller_has_gone(
    sandbox: Sandbox, ring: MemoryKeyring, agent_dir: Path
) -> None:
    person = Person()
    service = AgentService(ServiceBackend(sandbox.paths), person.broker)
    with AgentServer(service.handle) as server:
        with ThreadPoolExecutor(1) as pool:
            # The caller gives up after a moment, as a tool's agent_wait runs out.
            waiting = pool.submit(
                agent.request_session,
                "my-test-role",
                min_valid=960,
                wait=0.5,
                caller="terraform",
                path=server.path,
            )
            assert person.asked.wait(20)
            with pytest.raises(NeedsCodeError, match="nobody entered a code"):
                waiting.result(timeout=20)
        closed = threading.Event()
        deadline = 200
        while not closed.is_set() and deadline:
            if person.shown and person.shown[-1][1] is None:
                closed.set()
            else:
                closed.wait(0.05)
                deadline -= 1
    assert person.shown[-1][1:] == (None, "gone")
    assert person.broker.state(sandbox.test_user.mfa_serial) is None
    assert sandbox.fault.actions() == []


def test_a_code_typed_into_a_prompt_the_person_opened_is_still_used(
    sandbox: Sandbox, ring: MemoryKeyring
) -> None:
    person = Person()
    backend = ServiceBackend(sandbox.paths)
    service = AgentService(backend, person.broker)
    gone = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        # The person pressed enter on my-test-role; a tool then asks for readonly-role.
        mine = pool.submit(
            backend.activate, "my-test-role", asker=person.broker.asker("you", "switch")
        )
        assert person.asked.wait(20)
        tool = pool.submit(service.handle, SessionRequest("readonly-role", 960, "aws"), gone)
        gone.set()  # the tool gives up at once
        with pytest.raises(NeedsCodeError):
            tool.result(timeout=20)
        assert person.broker.state(sandbox.test_user.mfa_serial) is not None
        person.types(sandbox.test_user.mfa_serial, "123456")
        assert mine.result(timeout=30).profile == "my-test-role"
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_a_role_whose_sessions_are_short_is_served_with_one_assume_role(
    sandbox: Sandbox, ring: MemoryKeyring, agent_dir: Path, isolated_env: Path
) -> None:
    settings = isolated_env / ".config" / "mfa-tui" / "config.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text("role_duration = 900\n")
    backend = ServiceBackend(sandbox.paths)
    backend.refresh("test-user", asker=PromptAsker(lambda request: "123456"))
    with AgentServer(AgentService(backend).handle):
        outputs = []
        for _ in range(5):
            done = subprocess.run(
                [sys.executable, "-m", "mfa_tui", "credential-process", "my-test-role"],
                check=False,
                capture_output=True,
                text=True,
                env=dict(os.environ),
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            outputs.append(json.loads(done.stdout))
    assert sandbox.fault.actions().count("AssumeRole") == 1
    assert len({o["AccessKeyId"] for o in outputs}) == 1


def test_a_min_valid_no_session_can_have_costs_one_refresh_then_none(
    sandbox: Sandbox, ring: MemoryKeyring
) -> None:
    SeedStore(ring).set(sandbox.test_user.mfa_serial, sandbox.test_user.seed)
    service = AgentService(ServiceBackend(sandbox.paths))
    # Role sessions last an hour; a caller wants two hours left. It gets the longest a
    # session of this role can have, and the next callers the same session: one
    # AssumeRole, not one per request.
    greedy = SessionRequest("my-test-role", 7200, "a tool")
    first = service.handle(greedy)["credentials"]
    calls = len(sandbox.fault.actions())
    assert sandbox.fault.actions().count("AssumeRole") == 1
    for _ in range(5):
        assert service.handle(greedy)["credentials"] == first
    assert len(sandbox.fault.actions()) == calls, "no STS call per request"
    # What a session can have is still served.
    assert service.handle(SessionRequest("my-test-role", 960, "a tool"))["credentials"] == first
