"""The dashboard as the agent: a tool's credential-process makes the prompt appear, and
the code typed there completes the tool's call."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
        await pilot.pause(0.3)
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
        deadline = time.monotonic() + 20
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
        await pilot.pause(0.2)
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
        await pilot.pause(0.3)
        proc = subprocess.Popen(
            [sys.executable, "-m", "mfa_tui", "credential-process", "test-user"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        deadline = time.monotonic() + 20
        while app.prompt is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert app.prompt is not None
        await pilot.press("escape")
        out, err = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 3
    assert out == "" and "cancelled" in err
    assert sandbox.fault.actions() == []
