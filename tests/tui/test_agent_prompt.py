"""The dashboard as the agent: a tool's credential-process makes the prompt appear, and
the code typed there completes the tool's call."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mfa_tui.core import agent
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.tui.app import MfaTuiApp
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox


@pytest.fixture
def agent_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "agent"
    monkeypatch.setenv("MFA_TUI_AGENT_DIR", str(folder))
    return folder


async def test_credential_process_prompts_in_the_dashboard(
    sandbox: Sandbox, agent_dir: Path
) -> None:
    backend = ServiceBackend(sandbox.paths, keyring_backend=MemoryKeyring())
    app = MfaTuiApp(backend, agent=True, background_refresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        assert agent.ping(agent_dir / "agent.sock") == os.getpid()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "mfa_tui", "credential-process", "my-test-role"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
            for _ in range(3)
        ]
        deadline = time.monotonic() + 60
        while app.prompt is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert app.prompt is not None, "the prompt did not appear"
        assert app.prompt.wanted.profile == "my-test-role"
        assert "is waiting for my-test-role" in app.prompt.purpose
        assert all(p.poll() is None for p in procs), "the callers wait for the person"
        await pilot.press(*"123456")
        outputs = await asyncio.gather(
            *(asyncio.to_thread(p.communicate, timeout=30) for p in procs)
        )
        await until(pilot, lambda: app.prompt is None)
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outputs]
    data = [json.loads(out) for out, _ in outputs]
    assert all(d["Version"] == 1 and d["SessionToken"] for d in data)
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "123456"
    assert not (agent_dir / "agent.sock").exists(), "the socket goes with the dashboard"


async def test_cancelled_prompt_fails_the_caller(sandbox: Sandbox, agent_dir: Path) -> None:
    backend = ServiceBackend(sandbox.paths, keyring_backend=MemoryKeyring())
    app = MfaTuiApp(backend, agent=True, background_refresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        proc = subprocess.Popen(
            [sys.executable, "-m", "mfa_tui", "credential-process", "test-user"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        deadline = time.monotonic() + 60
        while app.prompt is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert app.prompt is not None
        await pilot.press("escape")
        out, err = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 3
    assert out == "" and "cancelled" in err
    assert sandbox.fault.actions() == []


async def until(pilot: Pilot[None], condition: Callable[[], bool], bound: float = 30) -> None:
    """Let the app run until `condition` holds; the bound only stops a hang."""
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await pilot.pause(0.02)


async def ready(app: MfaTuiApp, pilot: Pilot[None]) -> None:
    """The files are read and the agent answers."""
    await until(pilot, lambda: app.dashboard.snapshot is not None and app.agent_bridge is not None)
    await settle_all(app, pilot)


async def settle_all(app: MfaTuiApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await app.workers_settled()
        await pilot.pause()


def credential_process(profile: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mfa_tui", "credential-process", profile],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


async def wait_for_prompt(app: MfaTuiApp, pilot: Pilot[None], callers: int) -> None:
    """Until the prompt is up and `callers` programs wait on it."""
    deadline = time.monotonic() + 30
    while app.prompt is None or len(app.prompt.state.callers) < callers:
        assert time.monotonic() < deadline, "the callers never all waited on the prompt"
        await pilot.pause(0.05)


async def test_five_tools_for_two_roles_of_one_user_get_one_prompt_and_one_code(
    sandbox: Sandbox, agent_dir: Path
) -> None:
    backend = ServiceBackend(sandbox.paths, keyring_backend=MemoryKeyring())
    app = MfaTuiApp(backend, agent=True, background_refresh=False)
    opened: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        procs = [credential_process("my-test-role") for _ in range(3)]
        procs += [credential_process("readonly-role") for _ in range(2)]
        await wait_for_prompt(app, pilot, callers=5)
        assert app.prompt is not None
        opened.append(app.prompt.wanted.mfa_serial)
        assert "(and 4 more waiting)" in app.prompt.purpose
        await pilot.press(*"123456")
        outputs = await asyncio.gather(
            *(asyncio.to_thread(p.communicate, timeout=60) for p in procs)
        )
        await settle_all(app, pilot)
        assert app.prompt is None, "no second prompt: the user session serves both roles"
    assert [p.returncode for p in procs] == [0] * 5, [err for _, err in outputs]
    keys = [json.loads(out)["AccessKeyId"] for out, _ in outputs]
    assert len(set(keys[:3])) == 1 and len(set(keys[3:])) == 1 and keys[0] != keys[3]
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    assert sandbox.fault.actions().count("AssumeRole") == 2
    assert opened == [sandbox.test_user.mfa_serial]


async def test_one_escape_fails_every_waiting_tool_at_once(
    sandbox: Sandbox, agent_dir: Path
) -> None:
    backend = ServiceBackend(sandbox.paths, keyring_backend=MemoryKeyring())
    app = MfaTuiApp(backend, agent=True, background_refresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        procs = [credential_process(p) for p in ("my-test-role", "readonly-role") * 2]
        await wait_for_prompt(app, pilot, callers=4)
        await pilot.press("escape")
        # Bounded well below agent_wait (120 s): each caller is told, not left to time out.
        outputs = await asyncio.gather(
            *(asyncio.to_thread(p.communicate, timeout=60) for p in procs)
        )
        await settle_all(app, pilot)
        assert app.prompt is None, "the prompt is not reopened for the next caller"
    assert [p.returncode for p in procs] == [3] * 4
    assert all("cancelled in the dashboard" in err for _, err in outputs)
    assert sandbox.fault.actions() == []


async def test_a_tool_waiting_for_a_code_sends_one_desktop_notification(
    sandbox: Sandbox, agent_dir: Path
) -> None:
    sent: list[tuple[str, str]] = []
    backend = ServiceBackend(sandbox.paths, keyring_backend=MemoryKeyring())
    app = MfaTuiApp(
        backend,
        agent=True,
        background_refresh=False,
        notifier=lambda title, body: sent.append((title, body)),
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        assert sent == []
        procs = [credential_process("my-test-role") for _ in range(2)]
        await wait_for_prompt(app, pilot, callers=2)
        await settle_all(app, pilot)
        # Who waits, for what, on which device: once for the program, not per call.
        assert len(sent) == 1, sent
        title, body = sent[0]
        assert title == "mfa-tui: MFA code needed"
        assert "is waiting for my-test-role" in body and "test-user" in body, body
        await pilot.press("escape")
        await asyncio.gather(*(asyncio.to_thread(p.communicate, timeout=60) for p in procs))
        await settle_all(app, pilot)
    assert [p.returncode for p in procs] == [3, 3]


async def test_a_prompt_closes_when_its_last_tool_gives_up(
    sandbox: Sandbox, agent_dir: Path, isolated_env: Path
) -> None:
    settings = isolated_env / ".config" / "mfa-tui" / "config.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("agent_wait = 1\n")
    backend = ServiceBackend(sandbox.paths, keyring_backend=MemoryKeyring())
    app = MfaTuiApp(backend, agent=True, background_refresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        proc = credential_process("my-test-role")
        await wait_for_prompt(app, pilot, callers=1)
        _, err = await asyncio.to_thread(proc.communicate, timeout=30)
        assert proc.returncode == 3 and "nobody entered a code" in err
        deadline = time.monotonic() + 30
        while app.prompt is not None:
            assert time.monotonic() < deadline, "the prompt stayed open with nobody waiting"
            await pilot.pause(0.05)
        assert any("nobody waits" in line for line in app.event_log.lines_written)
    assert sandbox.fault.actions() == []
