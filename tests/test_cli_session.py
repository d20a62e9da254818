"""The session commands as a person or a tool runs them: real processes, real moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfa_tui.aws import ini
from tests import stsfault
from tests.moto_fixtures import Sandbox

PLAINTEXT_KEYRING = "keyrings.alt.file.PlaintextKeyring"


def mfa_tui(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfa_tui", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_refresh_prints_one_line_and_writes_the_session(sandbox: Sandbox) -> None:
    done = mfa_tui("refresh", "test-user", "--code", "123 456")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith("test-user-mfa valid until ")
    values = ini.read(sandbox.paths.credentials).section_values()["test-user-mfa"]
    assert values["mfa_tui_source"] == "test-user"
    again = mfa_tui("refresh", "test-user", "--code", "654321")
    assert again.returncode == 0 and "still valid" in again.stdout


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", ""])
def test_bad_code_is_a_usage_error_before_any_call(sandbox: Sandbox, code: str) -> None:
    done = mfa_tui("refresh", "test-user", "--code", code)
    assert done.returncode == 2
    assert "6 digits" in done.stderr and "Traceback" not in done.stderr
    assert sandbox.fault.actions() == []


def test_unknown_profile_is_exit_2(sandbox: Sandbox) -> None:
    done = mfa_tui("refresh", "nobody", "--code", "123456")
    assert done.returncode == 2
    assert "unknown profile 'nobody'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_no_code_source_non_interactive_is_exit_3_fast(sandbox: Sandbox) -> None:
    started = time.monotonic()
    done = mfa_tui("refresh", "my-test-role")
    assert done.returncode == 3, done.stderr
    assert time.monotonic() - started < 10
    assert "mfa-tui" in done.stderr and "Traceback" not in done.stderr
    assert sandbox.fault.actions() == []


def test_wrong_code_is_exit_4_and_files_untouched(sandbox: Sandbox) -> None:
    before = sandbox.paths.credentials.read_bytes()
    sandbox.fault.always = stsfault.invalid_code()
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 4
    assert "rejected the MFA code" in done.stderr
    assert sandbox.paths.credentials.read_bytes() == before


def test_closed_port_is_exit_5_within_seconds(sandbox: Sandbox) -> None:
    sandbox.fault.stop()
    started = time.monotonic()
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 5, done.stderr
    assert time.monotonic() - started < 12
    assert "cannot reach STS" in done.stderr


def test_duration_out_of_range_is_exit_2(sandbox: Sandbox) -> None:
    done = mfa_tui("refresh", "test-user", "--code", "123456", "--duration", "200000")
    assert done.returncode == 2
    assert sandbox.fault.actions() == []


def test_export_formats_and_credential_process(sandbox: Sandbox) -> None:
    assert mfa_tui("refresh", "test-user", "--code", "123456").returncode == 0
    assert mfa_tui("refresh", "my-test-role").returncode == 0
    values = ini.read(sandbox.paths.credentials).section_values()["my-test-role-mfa"]
    env = mfa_tui("export", "my-test-role")
    assert env.returncode == 0
    assert f"export AWS_ACCESS_KEY_ID={values['aws_access_key_id']}" in env.stdout
    assert f"export AWS_SESSION_TOKEN={values['aws_session_token']}" in env.stdout
    assert "export AWS_CREDENTIAL_EXPIRATION=" in env.stdout
    fish = mfa_tui("export", "my-test-role", "--format", "fish")
    assert f"set -gx AWS_SECRET_ACCESS_KEY {values['aws_secret_access_key']}" in fish.stdout
    ps = mfa_tui("export", "my-test-role", "--format", "powershell")
    assert f'$Env:AWS_ACCESS_KEY_ID="{values["aws_access_key_id"]}"' in ps.stdout
    cp = mfa_tui("credential-process", "my-test-role")
    assert cp.returncode == 0, cp.stderr
    data = json.loads(cp.stdout)
    assert data["Version"] == 1
    assert data["AccessKeyId"] == values["aws_access_key_id"]
    assert data["SessionToken"] == values["aws_session_token"]
    assert data["Expiration"] == values["expiration"]


def test_export_without_session_fails(sandbox: Sandbox) -> None:
    done = mfa_tui("export", "my-test-role")
    assert done.returncode == 1
    assert "mfa-tui refresh my-test-role" in done.stderr


def test_cached_credential_process_imports_no_boto3_keyring_or_textual(
    sandbox: Sandbox,
) -> None:
    assert mfa_tui("refresh", "test-user", "--code", "123456").returncode == 0
    probe = (
        "import sys\n"
        "from mfa_tui.cli import main\n"
        "rc = main(['credential-process', 'test-user'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules}"
        " & {'boto3', 'botocore', 'textual', 'keyring', 'pyotp', 'rich'})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stderr
    assert json.loads(done.stdout)["Version"] == 1


def test_credential_process_refreshes_a_role_silently_from_the_user_session(
    sandbox: Sandbox,
) -> None:
    assert mfa_tui("refresh", "test-user", "--code", "123456").returncode == 0
    done = mfa_tui("credential-process", "readonly-role")
    assert done.returncode == 0, done.stderr
    assert sandbox.fault.actions().count("AssumeRole") == 1
    assert "TokenCode" not in sandbox.fault.calls("AssumeRole")[0]


def test_credential_process_without_agent_or_source_is_exit_3(sandbox: Sandbox) -> None:
    started = time.monotonic()
    done = mfa_tui("credential-process", "my-test-role")
    assert done.returncode == 3
    assert time.monotonic() - started < 5
    assert "Open 'mfa-tui'" in done.stderr
    assert done.stdout == ""


def test_totp_seed_goes_to_the_keyring_only(sandbox: Sandbox, isolated_env: Path) -> None:
    seed = sandbox.test_user.seed
    env = {"PYTHON_KEYRING_BACKEND": PLAINTEXT_KEYRING}
    done = mfa_tui("totp", "set", "test-user", stdin=seed + "\n", env=env)
    assert done.returncode == 0, done.stderr
    assert "current code" in done.stdout
    assert seed not in done.stdout + done.stderr
    code = mfa_tui("totp", "code", "test-user", env=env)
    assert code.returncode == 0 and len(code.stdout.strip()) == 6
    # A refresh with the seed needs no code and prints none.
    refresh = mfa_tui("refresh", "test-user", env=env)
    assert refresh.returncode == 0, refresh.stderr
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"].isdigit()
    # The seed went to the keyring (this test backend's own file) and is in no file
    # mfa-tui writes: AWS files, settings, state.
    assert list(isolated_env.rglob("keyring_pass.cfg"))
    holders = [
        p.name for p in isolated_env.rglob("*") if p.is_file() and seed.encode() in p.read_bytes()
    ]
    assert holders == []
    removed = mfa_tui("totp", "remove", "test-user", env=env)
    assert removed.returncode == 0 and "removed" in removed.stdout


@pytest.mark.parametrize("seed", ["tooshort", "not base32 at all!!1111"])
def test_bad_seed_is_refused(sandbox: Sandbox, seed: str) -> None:
    env = {"PYTHON_KEYRING_BACKEND": PLAINTEXT_KEYRING}
    done = mfa_tui("totp", "set", "test-user", stdin=seed + "\n", env=env)
    assert done.returncode == 2
    assert seed not in done.stderr


def test_no_keyring_backend_is_a_clear_error(sandbox: Sandbox) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = mfa_tui("totp", "set", "test-user", stdin=sandbox.test_user.seed + "\n", env=env)
    assert done.returncode == 1
    assert "PYTHON_KEYRING_BACKEND" in done.stderr and "keyrings.alt" in done.stderr


def test_refresh_due_reports(sandbox: Sandbox) -> None:
    done = mfa_tui("refresh", "--due")
    assert done.returncode == 0 and "nothing is due" in done.stdout
