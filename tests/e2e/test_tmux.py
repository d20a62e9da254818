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
            # The server's environment is every pane's: a COLUMNS/LINES inherited from
            # the test run would pin the app at that size whatever the window's is.
            env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
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
        deadline = time.monotonic() + 30  # a bound on a hang, not a speed test
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
        deadline = time.monotonic() + 30  # the bug was a hang, not a slow exit
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            assert not running(pid), f"hang-up {attempt + 1}: the dashboard kept running"
        finally:
            if running(pid):
                os.kill(pid, 9)
        assert not list(runtime.glob("mfa-tui/*.sock")), "the agent's socket was left"


def dashboard_env(isolated_env: Path, aws_dir: Path, profiles: int) -> dict[str, str]:
    from bench.generate import generate

    config, creds = generate(profiles)
    (aws_dir / "config").write_text(config)
    (aws_dir / "credentials").write_text(creds)
    settings = isolated_env / ".config" / "mfa-tui" / "config.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("desktop_notifications = false\n")  # none from a test
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("AWS_", "XDG_", "HOME", "PATH", "LANG"))
    }
    env["TERM"] = "xterm-256color"
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return env


def table_rows(screen: str) -> list[str]:
    """The profile names in the table's rows on a captured screen."""
    names = []
    for line in screen.splitlines()[2:]:
        words = line.replace("●", " ").replace("★", " ").replace("└", " ").split()
        if words and words[0].startswith(("user-", "role-", "chained-", "sso-", "proc-", "tuned-")):
            names.append(words[0])
    return names


def test_a_filter_typed_key_by_key_at_30_ms_loses_no_key(isolated_env: Path, aws_dir: Path) -> None:
    """5,000 profiles; type, delete, type again, at 30 ms a key, five times."""
    env = dashboard_env(isolated_env, aws_dir, 5000)
    tmux = Tmux(f"mfa-filter-{os.getpid()}", width=140, height=40)
    try:
        tmux.start([sys.executable, "-m", "mfa_tui"], env)
        tmux.wait_for("user-00000", timeout=30)
        tmux.keys("/")
        for round_ in range(5):
            wanted = f"role-{100 + round_ * 37:05d}"
            for char in "rol":
                tmux.run("send-keys", "-l", char)
                time.sleep(0.03)
            # A held backspace (more than there is to delete), or in every other round
            # exactly three: there, one lost key leaves a letter and no row matches.
            for _ in range(8 if round_ % 2 else 3):
                tmux.run("send-keys", "BSpace")
                time.sleep(0.03)
            for char in wanted:
                tmux.run("send-keys", "-l", char)
                time.sleep(0.03)
            deadline = time.monotonic() + 30
            while True:
                screen = tmux.screen()
                if table_rows(screen) == [wanted]:
                    break
                assert time.monotonic() < deadline, f"round {round_}: {screen}"
                time.sleep(0.1)
            assert wanted in screen.splitlines()[1] or any(
                line.strip().startswith(wanted) for line in screen.splitlines()[:3]
            ), screen
            for _ in range(len(wanted) + (2 if round_ % 2 else 0)):
                tmux.run("send-keys", "BSpace")
                time.sleep(0.03)
    finally:
        tmux.kill()


def test_each_resize_lays_the_dashboard_out_for_the_new_size(
    isolated_env: Path, aws_dir: Path
) -> None:
    """With the log open the details hide below 120 columns; the table keeps its rows."""
    env = dashboard_env(isolated_env, aws_dir, 200)
    tmux = Tmux(f"mfa-resize-{os.getpid()}", width=130, height=40)
    try:
        tmux.start([sys.executable, "-m", "mfa_tui"], env)
        tmux.wait_for("user-00000", timeout=30)
        if "Events" not in tmux.screen():
            tmux.keys("l")  # the log opens by itself only on a terminal wide at start
        tmux.wait_for("Events")
        for _ in range(4):
            for width, height in ((80, 24), (130, 40)):
                # A drag: sizes in a burst, the last one is the one to lay out for.
                for burst in ((100, 30), (125, 35), (90, 28), (140, 44)):
                    tmux.run("resize-window", "-x", str(burst[0]), "-y", str(burst[1]))
                tmux.run("resize-window", "-x", str(width), "-y", str(height))
                deadline = time.monotonic() + 15
                while True:
                    screen = tmux.screen()
                    lines = screen.splitlines()
                    # Laid out for this size: the footer on its last line, the header on
                    # its first, the details where they belong, the table's rows kept.
                    sized = len(lines) == height and lines[-1].startswith("r Refresh")
                    sized = sized and lines[0].startswith(" mfa-tui")
                    details = "Details" in screen
                    rows = len(table_rows(screen))
                    if sized and details == (width >= 120) and "Events" in screen and rows >= 8:
                        break
                    assert time.monotonic() < deadline, f"{width}x{height}:\n{screen}"
                    time.sleep(0.1)
    finally:
        tmux.kill()
