"""The session commands as a person or a tool runs them: real processes, real moto."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import format_expiration
from tests import stsfault
from tests.moto_fixtures import Sandbox

PLAINTEXT_KEYRING = "keyrings.alt.file.PlaintextKeyring"
KEYRING_ENV = {"PYTHON_KEYRING_BACKEND": PLAINTEXT_KEYRING}
ROOT = Path(__file__).resolve().parent.parent


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


def sections(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    return ini.read(sandbox.paths.credentials).section_values()


def test_refresh_prints_one_line_and_writes_the_session(sandbox: Sandbox) -> None:
    done = mfa_tui("refresh", "test-user", "--code", "123 456")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith("test-user-mfa valid until ")
    assert " UTC (11:59:" in done.stdout or " UTC (12:00:00" in done.stdout
    assert sections(sandbox)["test-user-mfa"]["mfa_tui_source"] == "test-user"
    again = mfa_tui("refresh", "test-user", "--code", "654321")
    assert again.returncode == 0 and "still valid" in again.stdout
    assert sandbox.fault.actions().count("GetSessionToken") == 1


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", ""])
def test_a_bad_code_is_a_usage_error_before_any_call(sandbox: Sandbox, code: str) -> None:
    done = mfa_tui("refresh", "test-user", "--code", code)
    assert done.returncode == 2
    assert "6 digits" in done.stderr and "Traceback" not in done.stderr
    assert sandbox.fault.actions() == []


def test_an_unknown_profile_is_exit_2(sandbox: Sandbox) -> None:
    done = mfa_tui("refresh", "nobody", "--code", "123456")
    assert done.returncode == 2
    assert "unknown profile 'nobody'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_no_code_source_non_interactive_is_exit_3_fast(sandbox: Sandbox) -> None:
    started = time.monotonic()
    done = mfa_tui("refresh", "my-test-role")
    assert done.returncode == 3, done.stderr
    assert time.monotonic() - started < 10
    for words in ("--code", "totp set", "code_command", "keep 'mfa-tui' open"):
        assert words in done.stderr
    assert "Traceback" not in done.stderr
    assert sandbox.fault.actions() == []


def test_a_wrong_code_is_exit_4_and_the_files_are_untouched(sandbox: Sandbox) -> None:
    before = sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()
    sandbox.fault.always = stsfault.invalid_code()
    done = mfa_tui("refresh", "my-test-role", "--code", "123456")
    assert done.returncode == 4
    assert "rejected the MFA code" in done.stderr
    assert (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()) == before


def test_a_closed_port_is_exit_5_within_seconds(sandbox: Sandbox) -> None:
    url = sandbox.fault.url
    sandbox.fault.stop()
    started = time.monotonic()
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 5, done.stderr
    assert time.monotonic() - started < 8
    assert "cannot reach STS" in done.stderr and url in done.stderr


@pytest.mark.parametrize("duration", ["200000", "899", "0"])
def test_a_duration_out_of_range_is_exit_2_before_any_call(sandbox: Sandbox, duration: str) -> None:
    done = mfa_tui("refresh", "test-user", "--code", "123456", "--duration", duration)
    assert done.returncode == 2
    assert "900..129600" in done.stderr
    assert sandbox.fault.actions() == []


def test_the_interactive_prompt_hides_the_code_and_asks_again_after_a_typo(
    sandbox: Sandbox,
) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: mfa-tui on a terminal
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "mfa_tui", "refresh", "test-user"])
    screen = b""

    def read_until(marker: bytes, count: int = 1, timeout: float = 20) -> None:
        nonlocal screen
        deadline = time.monotonic() + timeout
        while screen.count(marker) < count and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(fd, 4096)
                except OSError:
                    break
        assert screen.count(marker) >= count, screen.decode(errors="replace")

    try:
        read_until(b"MFA code for ")
        os.write(fd, b"98765\n")
        read_until(b"try again")
        # getpass turns echo off before it prints its prompt: type once it is there.
        read_until(b"MFA code for ", count=2)
        os.write(fd, b"864 209\n")
        read_until(b"valid until")
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"864" not in screen and b"98765" not in screen, "the code is not echoed"
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "864209"


def test_credential_process_serves_the_stored_session(sandbox: Sandbox) -> None:
    assert mfa_tui("refresh", "my-test-role", "--code", "123456").returncode == 0
    values = sections(sandbox)["my-test-role-mfa"]
    calls = len(sandbox.fault.actions())
    done = mfa_tui("credential-process", "my-test-role")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data == {
        "Version": 1,
        "AccessKeyId": values["aws_access_key_id"],
        "SecretAccessKey": values["aws_secret_access_key"],
        "SessionToken": values["aws_session_token"],
        "Expiration": values["expiration"],
    }
    assert len(sandbox.fault.actions()) == calls, "served from the file, no STS call"


def test_botocore_uses_mfa_tui_as_its_credential_process(sandbox: Sandbox) -> None:
    assert mfa_tui("refresh", "test-user", "--code", "123456").returncode == 0
    with sandbox.paths.config.open("a") as fh:
        fh.write(
            f"\n[profile via-mfa-tui]\nregion = us-east-1\nendpoint_url = {sandbox.moto_url}\n"
            f"credential_process = {sys.executable} -m mfa_tui credential-process readonly-role\n"
        )
    probe = (
        "import boto3\n"
        "s = boto3.session.Session(profile_name='via-mfa-tui')\n"
        "print(s.client('sts').get_caller_identity()['Arn'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert ":assumed-role/readonly-role/" in done.stdout


def test_the_cached_credential_process_imports_no_boto3_keyring_or_textual(
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
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stderr
    assert json.loads(done.stdout)["Version"] == 1


def test_credential_process_refreshes_a_short_role_session_silently(sandbox: Sandbox) -> None:
    assert mfa_tui("refresh", "test-user", "--code", "123456").returncode == 0
    # A role session with 10 minutes left: botocore would call again at once, so it is
    # renewed from the user session first, without a code.
    soon = datetime.now(UTC) + timedelta(minutes=10)
    write_section(
        sandbox.paths.credentials,
        "readonly-role-mfa",
        {
            "aws_access_key_id": "ASIAOLDOLDOLD",
            "aws_secret_access_key": "old-secret",
            "aws_session_token": "old-token",
            "expiration": format_expiration(soon),
            OWNER_KEY: "readonly-role",
        },
    )
    done = mfa_tui("credential-process", "readonly-role")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["AccessKeyId"] != "ASIAOLDOLDOLD"
    left = datetime.fromisoformat(data["Expiration"].replace("Z", "+00:00")) - datetime.now(UTC)
    assert left > timedelta(minutes=50)
    assert sandbox.fault.actions().count("AssumeRole") == 1
    assert "TokenCode" not in sandbox.fault.calls("AssumeRole")[0]


@pytest.mark.parametrize(("minutes", "served"), [(13, True), (9, False)])
def test_credential_process_serves_a_usable_session_it_cannot_renew(
    sandbox: Sandbox, minutes: int, served: bool
) -> None:
    write_section(
        sandbox.paths.credentials,
        "my-test-role-mfa",
        {
            "aws_access_key_id": "ASIASTILLGOOD",
            "aws_secret_access_key": "still-good-secret",
            "aws_session_token": "still-good-token",
            "expiration": format_expiration(datetime.now(UTC) + timedelta(minutes=minutes)),
            OWNER_KEY: "my-test-role",
        },
    )
    # No user session and no code source: no fresh session can be had without a person.
    done = mfa_tui("credential-process", "my-test-role")
    if served:
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["AccessKeyId"] == "ASIASTILLGOOD"
        assert "serving the stored session (12 min left)" in done.stderr
    else:
        assert done.returncode == 3 and done.stdout == ""
    assert "still-good" not in done.stderr


def test_credential_process_uses_a_soft_token_without_a_person(sandbox: Sandbox) -> None:
    seed = sandbox.test_user.seed
    assert mfa_tui("totp", "set", "test-user", stdin=seed + "\n", env=KEYRING_ENV).returncode == 0
    done = mfa_tui("credential-process", "my-test-role", env=KEYRING_ENV)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Version"] == 1
    code = sandbox.fault.calls("GetSessionToken")[0]["TokenCode"]
    assert pyotp.TOTP(seed).verify(code, valid_window=1)


def test_credential_process_without_agent_or_code_source_is_exit_3(sandbox: Sandbox) -> None:
    started = time.monotonic()
    done = mfa_tui("credential-process", "my-test-role")
    assert done.returncode == 3
    assert time.monotonic() - started < 5
    assert "Open 'mfa-tui'" in done.stderr and sandbox.test_user.mfa_serial in done.stderr
    assert done.stdout == ""
    assert sandbox.fault.actions() == []


def test_the_totp_seed_goes_to_the_keyring_only(sandbox: Sandbox, isolated_env: Path) -> None:
    seed = sandbox.test_user.seed
    spaced = " ".join(seed[i : i + 4] for i in range(0, len(seed), 4)).lower()
    done = mfa_tui("totp", "set", "test-user", stdin=spaced + "\n", env=KEYRING_ENV)
    assert done.returncode == 0, done.stderr
    assert "current code" in done.stdout
    assert seed not in done.stdout + done.stderr
    code = mfa_tui("totp", "code", "my-test-role", env=KEYRING_ENV)
    assert code.returncode == 0 and code.stdout.strip().isdigit()
    assert len(code.stdout.strip()) == 6
    # A refresh with the seed needs no code and prints none.
    refresh = mfa_tui("refresh", "test-user", env=KEYRING_ENV)
    assert refresh.returncode == 0, refresh.stderr
    sent = sandbox.fault.calls("GetSessionToken")[0]["TokenCode"]
    assert sent not in refresh.stdout
    # The seed went to the keyring (this test backend's own file) and is in no file
    # mfa-tui writes: AWS files, settings, state.
    assert list(isolated_env.rglob("keyring_pass.cfg"))
    holders = [
        p
        for p in isolated_env.rglob("*")
        if p.is_file() and p.name != "keyring_pass.cfg" and seed.encode() in p.read_bytes()
    ]
    assert holders == []
    state = next(isolated_env.rglob("codes.json"))
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    assert sent not in state.read_text(), "spent codes are kept only as hashes"
    removed = mfa_tui("totp", "remove", "test-user", env=KEYRING_ENV)
    assert removed.returncode == 0 and "removed" in removed.stdout
    gone = mfa_tui("totp", "code", "test-user", env=KEYRING_ENV)
    assert gone.returncode == 2 and "totp set test-user" in gone.stderr


def test_a_seed_on_the_command_line_is_refused_without_echoing_it(sandbox: Sandbox) -> None:
    seed = sandbox.test_user.seed
    done = mfa_tui("totp", "set", "test-user", seed[:16], seed[16:], env=KEYRING_ENV)
    assert done.returncode == 2
    assert "never put the seed on the command line" in done.stderr
    assert seed[:16] not in done.stderr and seed[16:] not in done.stderr
    code = mfa_tui("totp", "code", "test-user", env=KEYRING_ENV)
    assert code.returncode == 2, "nothing was stored"


@pytest.mark.parametrize("seed", ["tooshort", "not base32 at all!!1111", "JBSWY3DP1BSWY3DP"])
def test_a_bad_seed_is_refused(sandbox: Sandbox, seed: str) -> None:
    done = mfa_tui("totp", "set", "test-user", stdin=seed + "\n", env=KEYRING_ENV)
    assert done.returncode == 2
    assert seed not in done.stderr


def test_no_keyring_backend_is_a_clear_error(sandbox: Sandbox) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = mfa_tui("totp", "set", "test-user", stdin=sandbox.test_user.seed + "\n", env=env)
    assert done.returncode == 1
    assert "PYTHON_KEYRING_BACKEND" in done.stderr and "keyrings.alt" in done.stderr


def test_a_plain_text_keyring_nobody_chose_is_never_used(
    sandbox: Sandbox, isolated_env: Path
) -> None:
    # keyrings.alt is installed here, so keyring's own pick is its plain-text file.
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "totp", "set", "test-user"],
        input=sandbox.test_user.seed + "\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert "uses only when you choose it" in done.stderr
    assert not list(isolated_env.rglob("keyring_pass.cfg"))


def test_refresh_due_reports(sandbox: Sandbox) -> None:
    done = mfa_tui("refresh", "--due")
    assert done.returncode == 0 and "nothing is due" in done.stdout
    assert mfa_tui("refresh", "my-test-role", "--code", "123456").returncode == 0
    # The user session is about to expire: --due cannot renew it without a person.
    values = dict(sections(sandbox)["test-user-mfa"])
    values["expiration"] = format_expiration(datetime.now(UTC) + timedelta(minutes=5))
    write_section(sandbox.paths.credentials, "test-user-mfa", values)
    due = mfa_tui("refresh", "--due")
    assert due.returncode == 3
    assert "needs a code: test-user" in due.stdout
    seed = sandbox.test_user.seed
    assert mfa_tui("totp", "set", "test-user", stdin=seed + "\n", env=KEYRING_ENV).returncode == 0
    due = mfa_tui("refresh", "--due", env=KEYRING_ENV)
    assert due.returncode == 0, due.stderr
    assert "refreshed test-user: test-user-mfa valid until" in due.stdout


def test_a_section_of_your_own_is_handed_over_with_one_line(sandbox: Sandbox) -> None:
    # README: mfa-tui never writes a section without its mark; to let it take one over,
    # delete it or add the mark. (Before, README said `--force`, which did not do that.)
    mine = "\n[test-user-mfa]\naws_access_key_id = AKIAOLDTOOL\naws_secret_access_key = old\n"
    with sandbox.paths.credentials.open("a") as fh:
        fh.write(mine)
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "[test-user-mfa]" in done.stderr and "asked nothing of AWS" in done.stderr
    assert "add the line 'mfa_tui_source = test-user' to it" in done.stderr
    assert sandbox.fault.actions() == []
    forced = mfa_tui("refresh", "test-user", "--code", "123456", "--force")
    assert forced.returncode == 1, "--force refreshes a valid session; it takes nothing over"
    with sandbox.paths.credentials.open("a") as fh:
        fh.write("mfa_tui_source = test-user\n")
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 0, done.stderr
    values = sections(sandbox)["test-user-mfa"]
    assert values["mfa_tui_source"] == "test-user" and values["aws_access_key_id"] != "AKIAOLDTOOL"
