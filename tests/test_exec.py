"""`mfa-tui exec`: real processes, a real boto3 in the child, moto behind the fault proxy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import format_expiration
from mfa_tui.core.agent import AgentServer, SessionRequest
from mfa_tui.core.agent_service import AgentService
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.sandbox import REGION
from tests.core.test_agent_service import Person, agent_dir, ring
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox
from tests.test_cli_session import ROOT, mfa_tui

__all__ = ["agent_dir", "ring"]  # fixtures

# The child: what boto3 resolves, and what it was given.
WHO = """
import json, os, boto3
session = boto3.session.Session()
creds = session.get_credentials()
print(json.dumps({
    "arn": session.client("sts").get_caller_identity()["Arn"],
    "method": creds.method,
    "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "MFA_TUI_"))},
}))
"""
# The child of a long run: asks the endpoint as an SDK does, once per line on stdin.
ASK = """
import json, os, sys, urllib.request
for _ in sys.stdin:
    request = urllib.request.Request(
        os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
        headers={"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        print(json.dumps(json.load(answer)), flush=True)
"""


def exec_(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return mfa_tui("exec", *args, stdin=stdin, env=env, timeout=timeout)


def sections(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    return ini.read(sandbox.paths.credentials).section_values()


def user_session(sandbox: Sandbox) -> None:
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 0, done.stderr


def test_boto3_in_the_child_is_the_role_through_the_endpoint(sandbox: Sandbox) -> None:
    user_session(sandbox)
    outside = {"AWS_PROFILE": "test-user", "AWS_ACCESS_KEY_ID": "AKIAOUTSIDE"}
    done = exec_("my-test-role", "--", sys.executable, "-c", WHO, env=outside)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert ":assumed-role/my-test-role/" in seen["arn"]
    assert seen["method"] == "container-role"
    env = seen["env"]
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert len(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) >= 40
    assert env["MFA_TUI_PROFILE"] == "my-test-role"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    # No keys, no profile, and the file with the long-term keys is out of its reach.
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert name not in env
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert env["MFA_TUI_CREDENTIALS_FILE"] == str(sandbox.paths.credentials)
    test_user = sandbox.test_user
    assert test_user.access_key_id not in done.stdout
    assert test_user.secret_access_key not in done.stdout + done.stderr
    # The role was assumed once, from the stored user session, without a code.
    assert sandbox.fault.actions().count("AssumeRole") == 1
    assert "TokenCode" not in sandbox.fault.calls("AssumeRole")[0]


def test_a_default_profile_with_keys_does_not_win_over_the_endpoint(sandbox: Sandbox) -> None:
    # `aws configure` writes [default] with keys; the SDKs would use them before the
    # container endpoint. The child cannot see the file that holds them.
    test_user = sandbox.test_user
    with sandbox.paths.credentials.open("a") as fh:
        fh.write(
            f"\n[default]\naws_access_key_id = {test_user.access_key_id}\n"
            f"aws_secret_access_key = {test_user.secret_access_key}\n"
        )
    user_session(sandbox)
    done = exec_("readonly-role", "--", sys.executable, "-c", WHO)
    assert done.returncode == 0, done.stderr
    assert ":assumed-role/readonly-role/" in json.loads(done.stdout)["arn"]


def test_a_run_longer_than_the_role_session_keeps_getting_fresh_credentials(
    sandbox: Sandbox,
) -> None:
    user_session(sandbox)
    child = subprocess.Popen(
        [sys.executable, "-m", "mfa_tui", "exec", "my-test-role", "--", sys.executable, "-c", ASK],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write("\n")
        child.stdin.flush()
        first = json.loads(child.stdout.readline())
        assert set(first) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
        assert first["AccessKeyId"] == sections(sandbox)["my-test-role-mfa"]["aws_access_key_id"]
        # An hour later (as the file tells it): the session the SDK holds has 5 minutes left.
        values = sections(sandbox)["my-test-role-mfa"]
        soon = datetime.now(UTC) + timedelta(minutes=5)
        write_section(
            sandbox.paths.credentials,
            "my-test-role-mfa",
            {**values, "expiration": format_expiration(soon)},
        )
        child.stdin.write("\n")
        child.stdin.flush()
        second = json.loads(child.stdout.readline())
    finally:
        child.stdin.close()
        assert child.wait(timeout=60) is not None
    err = child.stderr.read() if child.stderr is not None else ""
    assert child.returncode == 0, err
    assert second["AccessKeyId"] != first["AccessKeyId"]
    left = datetime.fromisoformat(second["Expiration"].replace("Z", "+00:00")) - datetime.now(UTC)
    assert left > timedelta(minutes=50)
    assert sandbox.fault.actions().count("AssumeRole") == 2
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_the_endpoint_refuses_a_request_without_the_token(sandbox: Sandbox) -> None:
    user_session(sandbox)
    probe = """
import json, os, urllib.error, urllib.request
url = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
answers = []
for headers in ({}, {"Authorization": "x" * len(token)}, {"Authorization": token[:-1]},
                {"Authorization": token}):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as a:
            answers.append([a.status, a.read().decode()])
    except urllib.error.HTTPError as e:
        answers.append([e.code, e.read().decode()])
print(json.dumps(answers))
"""
    done = exec_("my-test-role", "--", sys.executable, "-c", probe)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    assert [status for status, _ in answers] == [401, 403, 403, 200]
    secret = sections(sandbox)["my-test-role-mfa"]["aws_secret_access_key"]
    for _, body in answers[:3]:
        assert secret not in body and "AccessKeyId" not in body
    assert json.loads(answers[3][1])["SecretAccessKey"] == secret


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("import sys; sys.exit(7)", 7),
        ("pass", 0),
        ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 128 + signal.SIGTERM),
    ],
)
def test_the_exit_status_is_the_programs(sandbox: Sandbox, code: str, status: int) -> None:
    user_session(sandbox)
    done = exec_("my-test-role", "--", sys.executable, "-c", code)
    assert done.returncode == status, done.stderr


def test_a_command_that_cannot_be_found_is_127_as_in_a_shell(sandbox: Sandbox) -> None:
    user_session(sandbox)
    done = exec_("my-test-role", "--", "no-such-command-here", "x")
    assert done.returncode == 127
    assert done.stderr == "mfa-tui: exec: no-such-command-here: command not found\n"


def test_a_file_that_cannot_be_run_is_126(sandbox: Sandbox, tmp_path: Path) -> None:
    user_session(sandbox)
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho hi\n")
    done = exec_("my-test-role", "--", str(script))
    assert done.returncode == 126
    assert done.stderr == f"mfa-tui: exec: {script}: permission denied\n"


def test_without_a_command_it_runs_the_shell(sandbox: Sandbox, tmp_path: Path) -> None:
    user_session(sandbox)
    shell = tmp_path / "my-shell"
    shell.write_text('#!/bin/sh\necho "shell as $MFA_TUI_PROFILE"\nexit 3\n')
    shell.chmod(0o755)
    done = exec_("readonly-role", env={"SHELL": str(shell)})
    assert done.returncode == 3, done.stderr
    assert done.stdout == "shell as readonly-role\n"


def test_a_nested_exec_says_so(sandbox: Sandbox) -> None:
    done = exec_("my-test-role", "--", "true", env={"MFA_TUI_PROFILE": "readonly-role"})
    assert done.returncode == 2
    assert "already inside 'mfa-tui exec readonly-role'" in done.stderr
    assert sandbox.fault.actions() == []


def test_env_puts_the_session_in_the_environment(sandbox: Sandbox) -> None:
    user_session(sandbox)
    done = exec_("--env", "my-test-role", "--", sys.executable, "-c", WHO)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert ":assumed-role/my-test-role/" in seen["arn"] and seen["method"] == "env"
    values = sections(sandbox)["my-test-role-mfa"]
    env = seen["env"]
    assert env["AWS_ACCESS_KEY_ID"] == values["aws_access_key_id"]
    assert env["AWS_SESSION_TOKEN"] == values["aws_session_token"]
    assert env["AWS_CREDENTIAL_EXPIRATION"] == values["expiration"].replace("Z", "+00:00")
    assert env["AWS_REGION"] == REGION and env["MFA_TUI_PROFILE"] == "my-test-role"
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in env
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull


def test_env_passes_the_exit_status_too(sandbox: Sandbox) -> None:
    user_session(sandbox)
    done = exec_("--env", "my-test-role", "--", sys.executable, "-c", "raise SystemExit(9)")
    assert done.returncode == 9
    missing = exec_("--env", "my-test-role", "--", "no-such-command-here")
    assert missing.returncode == 127 and "command not found" in missing.stderr


@pytest.mark.parametrize(
    ("profile", "code", "words"),
    [
        ("nobody", 2, "unknown profile 'nobody'"),
        ("corp-sso", 2, "is not one mfa-tui can refresh (sso"),
        ("my-test-role", 3, "needs a code from MFA device"),
    ],
)
def test_a_profile_it_cannot_serve_runs_nothing(
    sandbox: Sandbox, tmp_path: Path, profile: str, code: int, words: str
) -> None:
    marker = tmp_path / "ran"
    done = exec_(profile, "--", "touch", str(marker))
    assert done.returncode == code, done.stderr
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_a_default_profile_with_credentials_in_the_config_is_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    user_session(sandbox)
    config = sandbox.paths.config
    config.write_text(
        config.read_text().replace("[default]\n", "[default]\ncredential_process = /bin/false\n", 1)
    )
    marker = tmp_path / "ran"
    done = exec_("my-test-role", "--", "touch", str(marker))
    assert done.returncode == 2
    assert "[default] in" in done.stderr and "(credential_process)" in done.stderr
    assert "--env" in done.stderr and not marker.exists()
    # With --env the keys come first in every SDK: it runs.
    assert exec_("--env", "my-test-role", "--", "touch", str(marker)).returncode == 0
    assert marker.exists()


def test_mfa_tui_inside_sees_the_real_files(sandbox: Sandbox) -> None:
    user_session(sandbox)
    done = exec_(
        "my-test-role", "--", sys.executable, "-m", "mfa_tui", "status", "--format", "{profile}"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "my-test-role\n"
    nested = exec_("my-test-role", "--", sys.executable, "-m", "mfa_tui", "exec", "test-user")
    assert nested.returncode == 2 and "already inside" in nested.stderr


def test_the_child_runs_from_the_callers_folder(sandbox: Sandbox) -> None:
    user_session(sandbox)
    done = exec_("my-test-role", "--", sys.executable, "-c", "import os; print(os.getcwd())")
    assert done.stdout.strip() == str(Path.cwd())
    assert ROOT.exists()


def _urlopen_status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_owner_key_is_what_the_sessions_carry() -> None:
    assert OWNER_KEY == "mfa_tui_source"


def test_a_code_needed_mid_run_is_asked_in_the_running_dashboard(
    sandbox: Sandbox, ring: MemoryKeyring, agent_dir: Path
) -> None:
    # The role session has 20 minutes left and the user none: the program starts with
    # it, and exec's keeper, looking ahead, needs a code. The dashboard (its agent) asks
    # its person; the program's next request gets the new session.
    values = {
        "aws_access_key_id": "ASIATWENTYMIN",
        "aws_secret_access_key": "twenty-secret",
        "aws_session_token": "twenty-token",
        "expiration": format_expiration(datetime.now(UTC) + timedelta(minutes=20)),
        OWNER_KEY: "my-test-role",
    }
    write_section(sandbox.paths.credentials, "my-test-role-mfa", values)
    person = Person()
    service = AgentService(ServiceBackend(sandbox.paths), person.broker)
    answered = threading.Event()

    def handle(request: SessionRequest, gone: threading.Event) -> dict[str, Any]:
        try:
            return service.handle(request, gone)
        finally:
            answered.set()

    with AgentServer(handle):
        child = subprocess.Popen(
            [sys.executable, "-m", "mfa_tui", "exec", "my-test-role", "--", sys.executable,
             "-c", ASK],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write("\n")
            child.stdin.flush()
            assert json.loads(child.stdout.readline())["AccessKeyId"] == "ASIATWENTYMIN"
            person.types(sandbox.test_user.mfa_serial, "123456")
            callers = {c for _, st, _ in person.shown if st is not None for c, _ in st.callers}
            assert any(c.startswith("mfa-tui exec ") for c in callers), callers
            # The dashboard answered exec (and wrote the session); the next request has it.
            assert answered.wait(60), "the dashboard was never asked"
            child.stdin.write("\n")
            child.stdin.flush()
            second = json.loads(child.stdout.readline())
        finally:
            child.stdin.close()
            child.wait(timeout=60)
    assert child.returncode == 0
    assert second["AccessKeyId"] == sections(sandbox)["my-test-role-mfa"]["aws_access_key_id"]
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "123456"
