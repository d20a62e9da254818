"""Secret hygiene: after a whole session of use, secrets are only where they must be."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from mfa_tui.aws import ini
from tests.moto_fixtures import Sandbox

PLAINTEXT_KEYRING = "keyrings.alt.file.PlaintextKeyring"


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfa_tui", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_no_secret_outside_the_credentials_file_and_keyring(
    sandbox: Sandbox, isolated_env: Path, tmp_path: Path, ec2_ready: None
) -> None:
    keyring_env = {"PYTHON_KEYRING_BACKEND": PLAINTEXT_KEYRING}
    user = sandbox.test_user
    ops = sandbox.account.users["ops-user"]
    # ops-user gets its code from a code_command that records what it can see of us.
    spy = tmp_path / "spy.sh"
    seen = tmp_path / "seen.txt"
    spy.write_text(
        f"#!/bin/sh\n{{ echo \"$@\"; tr '\\0' ' ' < /proc/$PPID/cmdline; env; }} > {seen}\n"
        "echo 123456\n"
    )
    spy.chmod(0o700)
    settings = isolated_env / ".config" / "mfa-tui" / "config.toml"
    settings.parent.mkdir(mode=0o700, parents=True)
    settings.write_text(f'[profiles."ops-user"]\ncode_command = "{spy}"\n')
    settings.chmod(0o600)

    chatter: list[str] = []
    steps = [
        run("totp", "set", "test-user", stdin=user.seed + "\n", env=keyring_env),
        run("refresh", "test-user", env=keyring_env),
        run("refresh", "my-test-role", env=keyring_env),
        run("refresh", "chained-role", env=keyring_env),
        run("refresh", "ops-user", env=keyring_env),
        run("list", "--json", env=keyring_env),
        run("list", env=keyring_env),
        run("refresh", "--due", env=keyring_env),
        run("daemon", "--once", env=keyring_env),
        run("use", "my-test-role", env=keyring_env),
        run("status", env=keyring_env),
        run("__complete", "bash", "mfa-tui use ", env=keyring_env),
        run("exec", "readonly-role", "--", "true", env=keyring_env),
        # The user's keys into the keyring, rotated there, and used by a refresh.
        run("keys", "import", "test-user", env=keyring_env),
        run("keys", "rotate", "test-user", "--yes", env=keyring_env),
        run("refresh", "test-user", "--force", env=keyring_env),
        run("list", env={**keyring_env, "MFA_TUI_NO_FASTPATH": "1"}),
        run("refresh", "test-user", "--code", "12", env=keyring_env),
    ]
    for done in steps[:-1]:
        assert done.returncode in (0, 3), done.stderr
    # With sessions at hand, doctor asks IAM about the keys with them (exit 1: the
    # sandbox's keys work without MFA).
    checks = [run("doctor", env=keyring_env), run("doctor", "--json", env=keyring_env)]
    for done in checks:
        assert done.returncode == 1 and "its access key" in done.stdout, done.stderr
    for done in steps + checks:
        chatter.append(done.stdout + done.stderr)
    assert seen.exists(), "the code_command ran"
    # The rotated key, as the AWS tools get it (printing it is this command's job).
    served = run("keys", "credential-process", "test-user", env=keyring_env)
    assert served.returncode == 0, served.stderr
    rotated = json.loads(served.stdout)["SecretAccessKey"]
    assert rotated != user.secret_access_key

    creds = ini.read(sandbox.paths.credentials).section_values()
    secrets = {user.seed, user.secret_access_key, ops.secret_access_key, rotated}
    for values in creds.values():
        for key in ("aws_secret_access_key", "aws_session_token"):
            if key in values:
                secrets.add(values[key])
    assert len(secrets) >= 8, "sessions were written, so there are tokens to look for"

    text_out = "\n".join(chatter) + seen.read_text()
    for secret in secrets:
        assert secret not in text_out

    allowed = {sandbox.paths.credentials}
    for path in isolated_env.rglob("*"):
        if not path.is_file() or path in allowed or path.name == "keyring_pass.cfg":
            continue
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"a secret is in {path}"
    # What mfa-tui created is private.
    for path in isolated_env.rglob("*"):
        if "mfa-tui" in str(path) or path == sandbox.paths.credentials:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {mode:o}"


def test_snapshots_hold_no_credentials() -> None:
    folder = Path(__file__).resolve().parent.parent / "tui" / "__snapshots__"
    svgs = list(folder.rglob("*.svg"))
    assert svgs
    for svg in svgs:
        text = svg.read_text()
        for marker in ("aws_secret_access_key", "aws_session_token", "SecretAccessKey"):
            assert marker not in text, svg
