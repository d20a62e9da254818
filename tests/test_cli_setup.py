"""`mfa-tui setup` as a person and a script run it: real processes, a real terminal (a
pty) for the QR code and the typed codes, moto's IAM behind the fault proxy."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyotp
import pytest

from mfa_tui.aws import ini
from tests.moto_fixtures import Sandbox
from tests.test_cli_session import KEYRING_ENV, mfa_tui

ROOT = Path(__file__).resolve().parent.parent
NEW_SERIAL = "arn:aws:iam::123456789012:mfa/new-user"


def moto_seed(serial: str) -> str:
    """The seed moto made for a device (moto runs in this process)."""
    from moto.iam.models import iam_backends

    return str(
        iam_backends["123456789012"]["global"].virtual_mfa_devices[serial].base32_string_seed
    )


def consecutive(seed: str, code1: str, code2: str) -> bool:
    totp, now = pyotp.TOTP(seed), int(time.time() // 30)
    return any(
        (totp.at(s * 30), totp.at((s + 1) * 30)) == (code1, code2) for s in range(now - 12, now + 2)
    )


def _foreground_job() -> None:
    """In the child: the pty is its controlling terminal and ctrl+c interrupts it, as for
    a command a person starts in a shell. A test runner started as a background job (or
    under nohup) has SIGINT ignored, and an ignored signal stays ignored across exec:
    without this, ctrl+c on the pty would do nothing and the test wait for nothing."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """A child process on a pseudo-terminal: what a person sees, and keys they type."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        master, slave = os.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mfa_tui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, "TERM": "xterm", **(env or {})},
            # Its own session with the pty as its controlling terminal, as a login shell
            # has: getpass reads /dev/tty, and ctrl+c there is a SIGINT.
            start_new_session=True,
            preexec_fn=_foreground_job,  # noqa: PLW1509
        )
        os.close(slave)
        self.screen = ""

    def wait_for(self, pattern: str, timeout: float = 60, since: int = 0) -> re.Match[str]:
        """The first match of `pattern` on the screen from character `since` on."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.compile(pattern).search(self.screen, since)
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} on the terminal:\n{self.screen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the terminal closed before {pattern!r}:\n{self.screen}")
                self.screen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 60) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"still running after {timeout} s:\n{self.screen}") from None
        try:
            while select.select([self.master], [], [], 0.2)[0]:
                chunk = os.read(self.master, 65536)
                if not chunk:
                    break
                self.screen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        except OSError:
            pass
        os.close(self.master)
        return code


def test_a_person_scans_the_qr_code_types_two_codes_and_gets_a_session(
    sandbox: Sandbox, ec2_ready: None
) -> None:
    term = Terminal("setup", "new-user")
    term.wait_for(r"Create a virtual MFA device named 'new-user' for IAM user new-user\? \[Y/n\]")
    term.type("y\n")
    shown = term.wait_for(r"secret key:\n  ([A-Z2-7 ]+)\n")
    seed = shown.group(1).replace(" ", "")
    assert seed == moto_seed(NEW_SERIAL)  # the secret shown is the device's
    assert "\x1b[30;107m" in term.screen and "█" in term.screen  # the QR code, dark on light
    totp, step = pyotp.TOTP(seed), int(time.time() // 30)
    term.wait_for("First code the app shows for it: ")
    term.type(totp.at((step - 1) * 30) + "\n")
    term.wait_for("The next code")
    term.type(totp.at(step * 30) + "\n")
    term.wait_for(f"Enabled {NEW_SERIAL} for IAM user new-user")
    # The first session asks for a third code: the two above are spent.
    term.wait_for(r"MFA code for .*: ")
    term.type(totp.at((step + 1) * 30) + "\n")
    term.wait_for(r"new-user-mfa valid until")
    assert term.finish() == 0, term.screen
    assert "These keys work without MFA" in term.screen
    assert "--enforce user-policy" in term.screen
    (enable,) = sandbox.fault.calls("EnableMFADevice")
    assert consecutive(seed, enable["AuthenticationCode1"], enable["AuthenticationCode2"])
    config = ini.read(sandbox.paths.config).section_values()
    assert config["profile new-user"]["mfa_serial"] == NEW_SERIAL
    assert "new-user-mfa" in ini.read(sandbox.paths.credentials).section_values()
    # The seed went to the terminal only: no file under HOME holds it.
    home = Path(os.environ["HOME"])
    for path in home.rglob("*"):
        if path.is_file():
            assert seed.encode() not in path.read_bytes(), path


def test_a_mistyped_code_is_asked_again_and_ctrl_c_deletes_the_device(sandbox: Sandbox) -> None:
    before = (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes())
    term = Terminal("setup", "new-user")
    term.wait_for(r"\[Y/n\]")
    term.type("\n")  # the default is yes
    term.wait_for("First code the app shows for it: ")
    term.type("123456\n")
    term.wait_for("The next code")
    term.type("654321\n")
    refused = term.wait_for("these codes are not from the new device .*; try again")
    term.wait_for("First code the app shows for it: ", since=refused.end())
    term.type("\x03")  # ctrl+c
    assert term.finish() == 1, term.screen
    assert "setup was cancelled before the device was enabled" in term.screen
    assert "was deleted again; nothing is left behind" in term.screen
    assert sandbox.fault.calls("EnableMFADevice") == []  # the typo never reached AWS
    assert [c["SerialNumber"] for c in sandbox.fault.calls("DeleteVirtualMFADevice")] == [
        NEW_SERIAL
    ]
    assert (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()) == before


def test_a_script_stores_the_seed_and_never_prints_it(sandbox: Sandbox, ec2_ready: None) -> None:
    done = mfa_tui("setup", "new-user", "--yes", "--store-seed", env=KEYRING_ENV)
    assert done.returncode == 0, done.stderr
    seed = moto_seed(NEW_SERIAL)
    assert seed not in done.stdout and seed not in done.stderr
    assert "both factors on one machine" in done.stderr  # the warning, in words
    assert f"Enabled {NEW_SERIAL}" in done.stdout
    assert "Stored the seed" in done.stdout
    (enable,) = sandbox.fault.calls("EnableMFADevice")
    assert consecutive(seed, enable["AuthenticationCode1"], enable["AuthenticationCode2"])
    # The seed in the keyring makes the next session silently.
    code = mfa_tui("totp", "code", "new-user", env=KEYRING_ENV)
    assert code.stdout.strip() == pyotp.TOTP(seed).now()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("setup", "new-user"), "run it in a terminal, or pass --yes"),
        (("setup", "new-user", "--yes"), "pass --store-seed"),
        (("setup", "my-test-role", "--yes"), "is a role profile"),
        (("setup", "new-user", "--enforce", "roles"), "'user-policy' or 'role NAME'"),
        (("setup", "new-user", "--apply"), "give --enforce too"),
        (("setup", "new-user", "--device-name", "a b"), "cannot name an MFA device"),
        (
            ("setup", "new-user", "--enforce", "role", "r", "--attach-policy", "ReadOnly"),
            "is not a managed policy ARN",
        ),
    ],
)
def test_what_setup_cannot_finish_is_refused_before_any_change(
    sandbox: Sandbox, args: tuple[str, ...], words: str
) -> None:
    before = (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes())
    done = mfa_tui(*args)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr
    mutating = {"CreateVirtualMFADevice", "EnableMFADevice", "PutUserPolicy", "CreateRole"}
    assert not mutating & set(sandbox.fault.actions())
    assert (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()) == before


def test_an_existing_device_is_used_and_enforce_is_a_dry_run(sandbox: Sandbox) -> None:
    serial = sandbox.test_user.mfa_serial
    done = mfa_tui("setup", "test-user", "--yes", "--device", serial, "--enforce", "user-policy")
    assert done.returncode == 0, done.stderr
    assert f"Saved mfa_serial = {serial} in [profile test-user]" in done.stdout
    assert "no session yet" in done.stderr  # no code without a person, and it says how
    assert "Dry run: nothing was changed" in done.stdout
    assert "cat > mfa-tui-require-mfa.json <<'EOF'" in done.stdout
    assert "aws iam put-user-policy --user-name test-user" in done.stdout
    assert "PutUserPolicy" not in sandbox.fault.actions()
    assert "CreateVirtualMFADevice" not in sandbox.fault.actions()
    # Several devices and --yes: the script must say which.
    several = mfa_tui("setup", "test-user", "--yes", "--device", "arn:aws:iam::1:mfa/x")
    assert several.returncode == 2
    assert "is not an MFA device of IAM user test-user" in several.stderr


def test_an_iam_refusal_mid_flow_exits_4_with_nothing_left(sandbox: Sandbox) -> None:
    from tests import stsfault

    before = (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes())
    sandbox.fault.queue(
        stsfault.error(
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/new-user is not authorized to perform: "
            "iam:EnableMFADevice on resource: user new-user",
            403,
            "EnableMFADevice",
        )
    )
    done = mfa_tui("setup", "new-user", "--yes", "--store-seed", env=KEYRING_ENV)
    assert done.returncode == 4, done.stderr
    assert "AWS denied EnableMFADevice" in done.stderr
    assert "was deleted again; nothing is left behind" in done.stderr
    assert "Traceback" not in done.stderr
    assert [c["SerialNumber"] for c in sandbox.fault.calls("DeleteVirtualMFADevice")] == [
        NEW_SERIAL
    ]
    assert (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()) == before


def test_enforce_apply_refused_prints_what_an_administrator_runs(
    sandbox: Sandbox, ec2_ready: None
) -> None:
    from tests import stsfault

    serial = sandbox.test_user.mfa_serial
    sandbox.fault.queue(
        stsfault.error(
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/test-user is not authorized to perform: "
            "iam:PutUserPolicy on resource: user test-user",
            403,
            "PutUserPolicy",
        )
    )
    done = mfa_tui(
        "setup", "test-user", "--yes", "--device", serial, "--enforce", "user-policy", "--apply"
    )
    assert done.returncode == 4, done.stderr
    assert "may not change its own policies" in done.stderr
    assert "aws iam put-user-policy --user-name test-user" in done.stdout
    assert '"BlockMostAccessUnlessSignedInWithMFA"' in done.stdout


def test_a_person_is_offered_the_users_devices_and_picks_one(sandbox: Sandbox) -> None:
    serial = sandbox.test_user.mfa_serial
    term = Terminal("setup", "test-user")
    term.wait_for(r"It has 1 MFA device\(s\) mfa-tui can use:\n  1\. " + re.escape(serial))
    term.wait_for(r"Use which one\? \[1-1, or n for a new device\] ")
    term.type("1\n")
    term.wait_for(r"Saved mfa_serial = " + re.escape(serial))
    term.wait_for(r"MFA code for .*: ")
    term.type(sandbox.test_user.code() + "\n")
    assert term.finish() == 0, term.screen
    assert "test-user-mfa valid until" in term.screen
    assert sandbox.fault.calls("CreateVirtualMFADevice") == []
