"""The real `mfa-tui` in a real terminal: tmux types keys and reads the screen.

The sandbox account on moto stands in for AWS; the AWS files' endpoint_url points at
the STS fault proxy in front of it. The test switches to a role from the keyboard, types the MFA code
into the prompt (after one code that is not six digits), and then reads the
credentials file the dashboard wrote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfa_tui.aws.files import load_profiles
from tests.moto_fixtures import Sandbox
from tests.processes import running

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]


class Tmux:
    def __init__(self, socket: str, width: int = 110, height: int = 30) -> None:
        self.socket = socket
        self.width = width
        self.height = height

    def run(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )
        return out.stdout

    def start(self, command: list[str], env: dict[str, str]) -> None:
        env_args = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
        subprocess.run(
            [
                "tmux",
                "-L",
                self.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                str(self.width),
                "-y",
                str(self.height),
                *env_args,
                *command,
            ],
            check=True,
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        """Named keys (Enter, Escape) or single characters, one at a time, as a person
        types: a burst of bytes is what a paste looks like, and arrives differently."""
        for key in keys:
            self.run("send-keys", key)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        for char in text:
            self.run("send-keys", "-l", char)
            time.sleep(0.05)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear; the screen was:\n{screen}")

    def kill(self) -> None:
        self.run("kill-server")


def test_switch_to_a_role_in_tmux(sandbox: Sandbox, aws_dir: Path, isolated_env: Path) -> None:
    env = {
        "HOME": str(isolated_env),
        "XDG_CONFIG_HOME": str(isolated_env / ".config"),
        "XDG_STATE_HOME": str(isolated_env / ".local" / "state"),
        "XDG_DATA_HOME": str(isolated_env / ".local" / "share"),
        "XDG_CACHE_HOME": str(isolated_env / ".cache"),
        "AWS_CONFIG_FILE": str(aws_dir / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws_dir / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "PYTHONPATH": str(ROOT),
        "TERM": "xterm-256color",
    }
    tmux = Tmux(f"mfa-tui-e2e-{os.getpid()}")
    tmux.start([sys.executable, "-m", "mfa_tui"], env)
    try:
        tmux.wait_for("my-test-role")
        tmux.wait_for("no active session")
        # Filter to the role and switch to it: the user has no session, so a prompt.
        tmux.keys("/")
        tmux.type("my-test")
        tmux.wait_for("my-test-role")
        tmux.keys("Enter", "Enter")
        screen = tmux.wait_for("MFA code for")
        assert sandbox.test_user.mfa_serial in screen  # names the device it wants a code for
        # A short code is explained, not sent.
        tmux.type("12")
        tmux.keys("Enter")
        tmux.wait_for("The code has 6 digits")
        tmux.type("3456")  # six digits: submits by itself
        screen = tmux.wait_for("active: my-test-role", timeout=30)
        assert "MFA code for" not in screen
        profiles = load_profiles().profiles
        active = profiles["mfa-tui"].values
        assert active["mfa_tui_source"] in ("my-test-role", "my-test-role-mfa")
        assert active["aws_session_token"]
        assert "my-test-role-mfa" in profiles and "test-user-mfa" in profiles
        # The long-term keys are where they were, and no secret is on screen.
        creds_text = (aws_dir / "credentials").read_text()
        assert creds_text.startswith("# long-term access keys")
        assert sandbox.test_user.secret_access_key in creds_text
        assert active["aws_secret_access_key"] not in tmux.screen()
        tmux.keys("q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and tmux.run("list-sessions"):
            time.sleep(0.1)
        assert not tmux.run("list-sessions"), "q did not quit"
    finally:
        tmux.kill()


def test_closing_the_terminal_ends_the_dashboard(isolated_env: Path, aws_dir: Path) -> None:
    """A hang-up once left 5 dashboards in 6 behind, blocked in Textual's shutdown."""
    from bench.generate import generate

    config, creds = generate(1000)  # a full screen: lots to write to the dead terminal
    (aws_dir / "config").write_text(config)
    (aws_dir / "credentials").write_text(creds)
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("AWS_", "XDG_", "HOME", "PATH", "LANG"))
    }
    env["TERM"] = "xterm-256color"
    runtime = Path(env["XDG_RUNTIME_DIR"])
    for attempt in range(3):
        tmux = Tmux(f"mfa-hup-{os.getpid()}-{attempt}", width=200, height=60)
        try:
            tmux.start([sys.executable, "-m", "mfa_tui"], env)
            tmux.wait_for("user-00000")
            pid = int(tmux.run("list-panes", "-F", "#{pane_pid}").split()[0])
        finally:
            tmux.run("kill-server")  # the terminal goes away: SIGHUP
        deadline = time.monotonic() + 10
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            assert not running(pid), f"hang-up {attempt + 1}: the dashboard kept running"
        finally:
            if running(pid):
                os.kill(pid, 9)
        assert not list(runtime.glob("mfa-tui/*.sock")), "the agent's socket was left"
