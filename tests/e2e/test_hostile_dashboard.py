"""The real dashboard in tmux against a hostile world: `q` always quits, at once.

Before: with STS answering a byte a second, `q` did not quit while a refresh was in
flight (asyncio joins every worker thread before it returns); with a FIFO as the
credentials file, the dashboard showed an empty table and ignored `q`.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import format_expiration
from tests import stsfault
from tests.e2e.test_tmux import Tmux
from tests.moto_fixtures import Sandbox

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
ROOT = Path(__file__).resolve().parents[2]
QUIT_BOUND = 10.0  # seconds; the call in flight would take many minutes


def dashboard_env(isolated_env: Path, aws_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "XDG_", "MFA_TUI_"))}
    env.update(
        HOME=str(isolated_env),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PYTHONPATH=str(ROOT),
        TERM="xterm-256color",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def quits_at_once(tmux: Tmux) -> None:
    tmux.keys("q")
    deadline = time.monotonic() + QUIT_BOUND
    while time.monotonic() < deadline and tmux.run("list-sessions"):
        time.sleep(0.1)
    assert not tmux.run("list-sessions"), f"q did not quit within {QUIT_BOUND:.0f} s"


def test_q_quits_while_sts_trickles_an_answer(
    sandbox: Sandbox, isolated_env: Path, aws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user has a session, so the role is assumed from it: no prompt in the way.
    now = datetime.now(UTC)
    write_section(
        sandbox.paths.credentials,
        "test-user-mfa",
        {
            "aws_access_key_id": "ASIAUSERSESSION",
            "aws_secret_access_key": "session-secret",
            "aws_session_token": "session-token",
            "expiration": format_expiration(now + timedelta(hours=10)),
            OWNER_KEY: "test-user",
        },
    )
    # A byte a second, and a deadline far away: only quitting can end this.
    sandbox.fault.always = stsfault.trickle(1.0, "body")
    monkeypatch.setenv("MFA_TUI_STS_DEADLINE", "600")
    tmux = Tmux(f"mfa-trickle-{os.getpid()}", width=140, height=30)
    tmux.start([sys.executable, "-m", "mfa_tui"], dashboard_env(isolated_env, aws_dir))
    try:
        tmux.wait_for("my-test-role")
        tmux.keys("/")
        tmux.type("my-test")
        tmux.keys("Enter")
        tmux.keys("r")
        # A first run from a clean clone compiles boto3 on a busy machine: a generous bound.
        deadline = time.monotonic() + 90
        while not sandbox.fault.calls("AssumeRole") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sandbox.fault.calls("AssumeRole"), f"the refresh never reached STS:\n{tmux.screen()}"
        assert sandbox.fault.trickles_cut == 0, "and its answer is still coming"
        quits_at_once(tmux)
    finally:
        tmux.kill()


def test_q_quits_and_the_problem_is_named_with_a_fifo_as_the_credentials(
    sandbox: Sandbox, isolated_env: Path, aws_dir: Path
) -> None:
    sandbox.paths.credentials.unlink()
    os.mkfifo(sandbox.paths.credentials)
    tmux = Tmux(f"mfa-fifo-{os.getpid()}", width=200, height=40)
    tmux.start([sys.executable, "-m", "mfa_tui"], dashboard_env(isolated_env, aws_dir))
    try:
        tmux.wait_for("my-test-role")  # from the config file, which is fine
        if "Events" not in tmux.screen():
            tmux.keys("l")  # the event log, where file problems are said
        tmux.wait_for("named pipe")
        quits_at_once(tmux)
    finally:
        tmux.kill()
