"""`mfa-tui demo`: the whole flow on the embedded sandbox, and nothing left behind."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from mfa_tui.aws import ini
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.demo import demo_sandbox
from mfa_tui.tui.app import MfaTuiApp
from tests.processes import running


async def until(pilot: Any, condition: Callable[[], object], what: str) -> None:
    """Let the app run until `condition` holds: the demo's sandbox is real (a moto server,
    the wall clock), so the test waits for what it checks rather than for a fixed time.
    The bound only stops a hang."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await pilot.pause(0.05)


async def test_demo_flow_refresh_with_the_shown_code_then_switch_to_the_role(
    isolated_env: Path,
) -> None:
    real_home = os.environ["HOME"]
    with demo_sandbox() as sandbox:
        assert os.environ["HOME"] != real_home
        creds_path = Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
        assert creds_path.is_relative_to(sandbox.folder)
        app = MfaTuiApp(ServiceBackend(), code_hint=sandbox.hint, title_note="demo sandbox")
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: app.dashboard.snapshot is not None, "the files read")
            # ops-user has no seed: the prompt opens and the demo shows its code.
            app.switch_to("ops-user")
            await until(pilot, lambda: app.prompt is not None, "the prompt for ops-user")
            assert app.prompt is not None
            serial = app.prompt.wanted.mfa_serial
            hint = sandbox.hint(serial)
            assert hint is not None
            code = re.search(r"\b(\d{6})\b", hint)
            assert code is not None
            # A mistyped code is refused as AWS refuses it (moto alone takes any six
            # digits); the prompt stays, says so, and takes the right one.
            wrong = code.group(1)[:5] + str((int(code.group(1)[5]) + 5) % 10)
            await pilot.press(*wrong)
            prompt = app.prompt
            await until(pilot, lambda: app.prompt is not prompt or prompt.error_text, "an answer")
            assert app.prompt is prompt, "a wrong code was accepted"
            assert app.prompt.error_text.startswith("AWS rejected the MFA code"), (
                app.prompt.error_text
            )
            fresh = re.search(r"\b(\d{6})\b", sandbox.hint(serial) or "")
            assert fresh is not None
            await pilot.press(*fresh.group(1))
            await until(pilot, lambda: app.prompt is None, "the right code taken")
            refreshes = app.dashboard.refreshes.policy
            await until(pilot, lambda: not refreshes.in_flight("ops-user"), "ops-user done")

            # test-user has its seed in the demo keyring: no prompt, then the role.
            def settled(name: str) -> bool:
                return not refreshes.in_flight(name)

            for name in ("test-user", "my-test-role"):
                app.switch_to(name)
                assert refreshes.in_flight(name)
                await until(pilot, partial(settled, name), f"{name} done")
                assert app.prompt is None
                assert name not in app.dashboard.refreshes.errors, app.event_log.lines_written
        values = ini.read(creds_path).section_values()
        assert values["ops-user-mfa"]["mfa_tui_source"] == "ops-user"
        assert values["test-user-mfa"]["mfa_tui_source"] == "test-user"
        assert values["my-test-role-mfa"]["mfa_tui_source"] == "my-test-role"
        assert values["mfa-tui"]["mfa_tui_source"] == "my-test-role"
        assert (
            values["mfa-tui"]["aws_session_token"]
            == values["my-test-role-mfa"]["aws_session_token"]
        )
        folder = sandbox.folder
    assert not folder.exists(), "the sandbox is removed on exit"
    assert os.environ["HOME"] == real_home, "the environment is restored"


async def test_demo_setup_of_new_user_with_the_codes_its_qr_code_makes(
    isolated_env: Path,
) -> None:
    """The sandbox checks codes as AWS does; the secret under the QR code (what a phone
    scans) makes codes it accepts, for EnableMFADevice and then the first session."""
    import pyotp

    from mfa_tui.tui.screens.mfa_prompt import MfaPrompt
    from mfa_tui.tui.screens.mfa_setup import SetupScreen, Stage

    with demo_sandbox() as sandbox:
        app = MfaTuiApp(ServiceBackend(), code_hint=sandbox.hint, title_note="demo sandbox")
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.table.row_state("new-user") is not None, "rows")
            app.table.select("new-user")
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, SetupScreen), "setup")
            screen = app.screen
            assert isinstance(screen, SetupScreen)
            await until(pilot, lambda: screen.stage is Stage.CHOOSING, "IAM's answer")
            await pilot.press("enter")
            await until(pilot, lambda: screen.stage is Stage.CODES, "the new device")
            secret = str(screen.query_one("#secret").render()).rsplit("\n", 1)[-1]
            phone = pyotp.TOTP(secret.replace(" ", ""))
            serial = "arn:aws:iam::123456789012:mfa/new-user"
            hint = sandbox.hint(serial) or ""
            step = int(time.time() // 30)
            assert any(phone.at((step + d) * 30) in hint for d in (-1, 0)), hint
            await pilot.press(*phone.at((step - 1) * 30), *phone.at(step * 30))
            await until(pilot, lambda: isinstance(app.screen, MfaPrompt), "the first session")
            shown = app.screen
            assert isinstance(shown, MfaPrompt), app.event_log.lines_written
            prompt: MfaPrompt = shown
            await pilot.press(*phone.at((step + 1) * 30))
            await until(pilot, lambda: app.screen is not prompt or prompt.error_text, "an answer")
            assert app.screen is not prompt, prompt.error_text
            refreshes = app.dashboard.refreshes.policy
            await until(pilot, lambda: not refreshes.in_flight("new-user"), "new-user done")
        creds = ini.read(Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"])).section_values()
        assert creds["new-user-mfa"]["mfa_tui_source"] == "new-user"


def _start_demo_in_tmux(sock: str, env: dict[str, str], *, then_report: bool = False) -> str:
    """`mfa-tui demo` in a detached tmux session with only `env`; its first screen.

    With `then_report`, a shell runs it and prints `EXITED <status>` after it ends.
    """
    env_args = [f"{k}={v}" for k, v in env.items()]
    command = [sys.executable, "-m", "mfa_tui", "demo"]
    if then_report:
        command = ["sh", "-c", f'{shlex.join(command)}; echo "EXITED $?"; sleep 60']
    subprocess.run(
        [
            "tmux",
            "-L",
            sock,
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "36",
            "env",
            "-i",
            *env_args,
            *command,
        ],
        check=True,
    )
    return _wait_for_screen(sock, ("test-user", "demo sandbox"), 40)


def _wait_for_screen(sock: str, texts: tuple[str, ...], timeout: float) -> str:
    """The pane's text once it shows all of `texts`, or as it is when time runs out."""
    screen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = subprocess.run(
            ["tmux", "-L", sock, "capture-pane", "-p"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if all(text in screen for text in texts):
            break
        time.sleep(0.2)
    return screen


def _clean_env(home: Path, tmpdir: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmpdir),
    }


@pytest.mark.e2e
def test_demo_in_a_terminal_leaves_an_empty_home_empty(tmp_path: Path) -> None:
    home = tmp_path / "empty-home"
    home.mkdir()
    (tmp_path / "tmp").mkdir()
    sock = f"mfa-demo-{os.getpid()}"
    try:
        screen = _start_demo_in_tmux(sock, _clean_env(home, tmp_path / "tmp"))
        assert "demo sandbox" in screen and "my-test-role" in screen, screen
        subprocess.run(["tmux", "-L", sock, "send-keys", "q"], check=True)
        deadline = time.monotonic() + 60  # a bound on a hang, not a speed test
        while time.monotonic() < deadline:
            alive = (
                subprocess.run(
                    ["tmux", "-L", sock, "has-session"], capture_output=True, check=False
                ).returncode
                == 0
            )
            if not alive:
                break
            time.sleep(0.2)
        assert not alive, "the demo did not quit on q"
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, check=False)
    assert list(home.iterdir()) == [], "the demo wrote into HOME"
    assert list((tmp_path / "tmp").iterdir()) == [], "the sandbox folder was not removed"


def _demo_pid(sock: str) -> int:
    """The demo's process: the pane's own (`env` execs Python) or the shell's child."""
    pane = subprocess.run(
        ["tmux", "-L", sock, "list-panes", "-F", "#{pane_pid}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    children = Path(f"/proc/{pane}/task/{pane}/children").read_text().split()
    return int(children[0]) if children else int(pane)


@pytest.mark.e2e
def test_closing_the_terminal_ends_the_demo_and_removes_the_sandbox(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    sock = f"mfa-demo-hup-{os.getpid()}"
    pid = 0
    try:
        screen = _start_demo_in_tmux(sock, _clean_env(tmp_path, tmpdir))
        assert "demo sandbox" in screen, screen
        assert list(tmpdir.iterdir()), "the sandbox folder exists while the demo runs"
        pid = _demo_pid(sock)
    finally:
        # Closing the terminal sends SIGHUP to the demo.
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, check=False)
    deadline = time.monotonic() + 60  # a bound on a hang
    while (list(tmpdir.iterdir()) or running(pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        # It once cleaned up, then spun at full CPU on the dead terminal for good.
        assert not running(pid), "a hung-up demo kept running"
    finally:
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    assert list(tmpdir.iterdir()) == [], "a hung-up demo left its sandbox behind"


@pytest.mark.e2e
def test_a_killed_demo_gives_the_terminal_back_and_removes_the_sandbox(
    tmp_path: Path,
) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    sock = f"mfa-demo-term-{os.getpid()}"
    try:
        screen = _start_demo_in_tmux(sock, _clean_env(tmp_path, tmpdir), then_report=True)
        assert "demo sandbox" in screen, screen
        os.kill(_demo_pid(sock), signal.SIGTERM)
        screen = _wait_for_screen(sock, ("EXITED",), 60)
        # 128 + SIGTERM, and the shell's screen again: the dashboard's is gone (the line
        # the demo printed while starting stays, as any command's output does).
        lines = [line for line in screen.splitlines() if line.strip()]
        assert lines[-1].split() == ["EXITED", str(128 + signal.SIGTERM)], screen
        assert all(line.startswith(("mfa-tui demo: starting", "EXITED")) for line in lines)
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, check=False)
    assert list(tmpdir.iterdir()) == [], "a killed demo left its sandbox behind"


def test_the_demo_says_it_is_starting_before_the_sandbox_starts(tmp_path: Path) -> None:
    """Starting moto takes seconds: the first thing the demo prints says so, before any
    sandbox work (the process is stopped right after, and leaves nothing behind)."""
    home = tmp_path / "demo-home"
    home.mkdir()
    env = {**_clean_env(home, tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mfa_tui", "demo"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # bounded by the finally's kill if it never comes
        assert first.startswith("mfa-tui demo: starting an embedded AWS stand-in"), first
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert not list(tmp_path.glob("mfa-tui-demo-*")), "the sandbox was left behind"
