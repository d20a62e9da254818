"""On Windows: what works works, and what cannot work says so, never a traceback.

No Windows machine runs these tests. Each command runs in a child process with the
parts of Python that Windows lacks taken away (AF_UNIX, SIGHUP, os.fchmod, os.getuid,
os.killpg, O_DIRECTORY, O_NONBLOCK) and the platform set to one whose folders mfa-tui
does not know: code of ours that leans on any of them fails here. (SIGKILL stays:
Python's own POSIX subprocess code, which Windows does not run, needs it here.)
filelock, which picks its own Windows lock on Windows and whose Unix locks need what
was taken away, is replaced by a stand-in (each test here runs one process at a time).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mfa_tui.aws import ini
from tests.moto_fixtures import Sandbox

WITHOUT_UNIX = """
import os, signal, socket, sys
import filelock
class StandInLock:  # filelock's own Windows lock is filelock's to test
    def __init__(self, path, timeout=-1, mode=0o644):
        pass
    def acquire(self):
        pass
    def release(self):
        pass
filelock.FileLock = StandInLock
for module, name in (
    (socket, "AF_UNIX"), (signal, "SIGHUP"), (os, "fchmod"), (os, "getuid"),
    (os, "killpg"), (os, "O_DIRECTORY"), (os, "O_NONBLOCK"),
):
    if hasattr(module, name):
        delattr(module, name)
from mfa_tui import locations
locations.SYSTEM = None
sys.argv = ["mfa-tui", *sys.argv[1:]]
from mfa_tui.__main__ import main
main()
"""


def windows(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_UNIX, *args],
        capture_output=True,
        text=True,
        input=stdin,
        # A file keyring stands in for the Windows Credential Manager.
        env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"},
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "unexpected" not in done.stderr, done.stderr  # the CLI's last line of defence
    return done


def test_the_commands_that_need_no_agent_work(sandbox: Sandbox) -> None:
    listed = windows("list", "--json")
    assert listed.returncode == 0 and "test-user" in {r["name"] for r in json.loads(listed.stdout)}
    done = windows("refresh", "test-user", "--code", "123456")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("test-user-mfa valid until ")
    sections = ini.read(sandbox.paths.credentials).section_values()
    assert sections["test-user-mfa"]["mfa_tui_source"] == "test-user"
    assert stat.S_IMODE(sandbox.paths.credentials.stat().st_mode) == 0o600
    served = windows("credential-process", "test-user")
    assert served.returncode == 0 and json.loads(served.stdout)["Version"] == 1
    # A role from its user's session needs no code: refreshed silently.
    role = windows("credential-process", "my-test-role")
    assert role.returncode == 0, role.stderr
    exported = windows("export", "test-user")
    assert exported.returncode == 0 and "AWS_SESSION_TOKEN" in exported.stdout
    assert windows("daemon", "--once").returncode == 0


def test_a_seed_in_the_keyring_gives_the_codes(sandbox: Sandbox) -> None:
    seed = sandbox.test_user.seed
    assert windows("totp", "set", "test-user", stdin=seed + "\n").returncode == 0
    code = windows("totp", "code", "test-user")
    assert code.returncode == 0 and code.stdout.strip().isdigit()
    # With the seed, a tool's credential-process gets a session without anybody.
    served = windows("credential-process", "my-test-role")
    assert served.returncode == 0, served.stderr
    assert windows("totp", "remove", "test-user").returncode == 0


def test_a_code_nobody_can_give_says_why_and_what_to_do(sandbox: Sandbox) -> None:
    done = windows("credential-process", "test-user")
    assert done.returncode == 3
    assert "no dashboard can be asked for it here" in done.stderr
    assert "Unix sockets" in done.stderr and "mfa-tui refresh test-user" in done.stderr
    done = windows("refresh", "test-user")
    assert done.returncode == 3 and "keep 'mfa-tui' open" not in done.stderr
    assert "--code" in done.stderr


def test_a_code_command_that_hangs_is_given_up(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "settings.toml"
    hang = f"{sys.executable} -c 'import time; time.sleep(60)'"
    settings.write_text(f'code_command = "{hang}"\ncode_command_timeout = 1\n')
    monkeypatch.setenv("MFA_TUI_CONFIG", str(settings))
    done = windows("refresh", "test-user")
    assert done.returncode == 1 and "did not finish in 1s" in done.stderr


def test_doctor_checks_what_it_can_there(sandbox: Sandbox, ec2_ready: None) -> None:
    done = windows("doctor", "--json")
    findings = {(f["check"], f["profile"]): f for f in json.loads(done.stdout)["findings"]}
    assert done.returncode == 1  # the sandbox's keys work without MFA
    assert findings[("file-mode", None)]["severity"] == "info"
    assert "not checked on Windows" in findings[("file-mode", None)]["message"]
    assert findings[("mfa-enforced", "test-user")]["severity"] == "problem"
    assert findings[("clock", None)]["severity"] == "ok"


@pytest.mark.parametrize("face", [[], ["ui"], ["demo"]])
def test_the_dashboard_says_it_does_not_run_there(aws_dir: Path, face: list[str]) -> None:
    done = windows(*face)
    assert done.returncode == 1
    assert "does not run on Windows yet" in done.stderr and "WSL" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_no_list_cache_where_the_folder_rules_are_unknown(
    sandbox: Sandbox, isolated_env: Path
) -> None:
    first, second = windows("list", "--json"), windows("list", "--json")
    assert first.returncode == second.returncode == 0 and first.stdout == second.stdout
    assert not (isolated_env / ".cache" / "mfa-tui").exists()


def test_use_status_exec_and_completion_work_without_the_unix_parts(sandbox: Sandbox) -> None:
    assert windows("refresh", "test-user", "--code", "123456").returncode == 0
    assert windows("use", "my-test-role").returncode == 0
    status = windows("status")  # the full command: no fast path on an unknown system
    assert status.returncode == 0 and status.stdout.startswith("my-test-role ")
    probe = "import os; print(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'])"
    done = windows("exec", "readonly-role", "--", sys.executable, "-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("http://127.0.0.1:")
    assert windows("__complete", "zsh", "use", "my-").stdout == "my-test-role\n"
