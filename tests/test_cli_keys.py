"""`mfa-tui keys` as a person or a script runs it: real processes, real moto, and
`keys rotate` killed (SIGKILL) at each of its steps, then finished by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from tests import stsfault
from tests.core.test_rotation import keys_in_aws, stored, works
from tests.moto_fixtures import Sandbox
from tests.test_cli_session import KEYRING_ENV, mfa_tui


@pytest.fixture
def with_session(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox with test-user's MFA session stored, as a person would have it."""
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 0, done.stderr
    sandbox.fault.clear()
    yield sandbox
    sandbox.fault.clear()


def kill_at(sandbox: Sandbox, *faults: stsfault.Fault) -> None:
    """Run `keys rotate` and SIGKILL it when the last fault's call has reached the
    proxy (and, for a passthrough one, moto): the step it was killed at."""
    release = threading.Event()
    faults[-1].hold = release
    sandbox.fault.queue(*faults)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mfa_tui", "keys", "rotate", "test-user", "--yes"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        assert faults[-1].reached.wait(60), "the rotation never reached the step"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    sandbox.fault.clear()


def test_rotate_as_a_command(with_session: Sandbox) -> None:
    sandbox = with_session
    old = stored(sandbox)
    refused = mfa_tui("keys", "rotate", "test-user")  # no terminal, no --yes
    assert refused.returncode == 2 and "give --yes" in refused.stderr
    assert "CreateAccessKey" not in sandbox.fault.actions()
    done = mfa_tui("keys", "rotate", "test-user", "--yes")
    assert done.returncode == 0, done.stderr
    new = stored(sandbox)
    assert done.stdout.startswith("rotated the access key of 'test-user'")
    assert new.secret_access_key not in done.stdout + done.stderr
    assert keys_in_aws(sandbox) == [new.access_key_id] != [old.access_key_id]
    assert works(sandbox, new)


def test_killed_before_aws_made_the_key(with_session: Sandbox) -> None:
    sandbox = with_session
    before = sandbox.paths.credentials.read_bytes()
    kill_at(sandbox, stsfault.Fault(action="CreateAccessKey"))
    assert sandbox.paths.credentials.read_bytes() == before
    assert keys_in_aws(sandbox) == [sandbox.test_user.access_key_id]
    assert works(sandbox, stored(sandbox))
    done = mfa_tui("keys", "rotate", "test-user", "--yes")
    assert done.returncode == 0, done.stderr
    assert keys_in_aws(sandbox) == [stored(sandbox).access_key_id]


def test_killed_after_aws_made_the_key(with_session: Sandbox) -> None:
    sandbox = with_session
    old = sandbox.test_user.access_key_id
    before = sandbox.paths.credentials.read_bytes()
    kill_at(sandbox, stsfault.Fault(action="CreateAccessKey", passthrough=True))
    # The key AWS made has a secret nobody has; the old key is still stored, and works.
    assert sandbox.paths.credentials.read_bytes() == before
    assert works(sandbox, stored(sandbox))
    (orphan,) = [k for k in keys_in_aws(sandbox) if k != old]
    done = mfa_tui("keys", "rotate", "test-user", "--yes")
    assert done.returncode == 2
    assert "was stopped while AWS made its new key" in done.stderr
    assert f"aws iam delete-access-key --user-name test-user --access-key-id {orphan}" in (
        done.stderr
    )
    assert "CreateAccessKey" not in sandbox.fault.actions()
    sandbox.admin("iam").delete_access_key(UserName="test-user", AccessKeyId=orphan)
    done = mfa_tui("keys", "rotate", "test-user", "--yes")
    assert done.returncode == 0, done.stderr
    assert keys_in_aws(sandbox) == [stored(sandbox).access_key_id]


def test_killed_after_storing_before_the_proof(with_session: Sandbox) -> None:
    sandbox = with_session
    old = sandbox.test_user.access_key_id
    kill_at(
        sandbox,
        stsfault.passthrough("GetCallerIdentity"),  # the stored key names its user
        stsfault.Fault(action="GetCallerIdentity"),  # the new key's proof
    )
    new = stored(sandbox)
    assert new.access_key_id != old and works(sandbox, new)
    assert keys_in_aws(sandbox) == sorted([old, new.access_key_id])
    done = mfa_tui("keys", "rotate", "test-user", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("finished the rotation of 'test-user' that was stopped")
    assert "CreateAccessKey" not in sandbox.fault.actions()
    assert keys_in_aws(sandbox) == [new.access_key_id] and stored(sandbox) == new


def test_killed_while_deleting_the_old_key(with_session: Sandbox) -> None:
    sandbox = with_session
    old = sandbox.test_user.access_key_id
    kill_at(sandbox, stsfault.Fault(action="DeleteAccessKey"))
    new = stored(sandbox)
    assert works(sandbox, new) and keys_in_aws(sandbox) == sorted([old, new.access_key_id])
    done = mfa_tui("keys", "rotate", "test-user", "--yes")
    assert done.returncode == 0, done.stderr
    assert "finished the rotation" in done.stdout
    assert keys_in_aws(sandbox) == [new.access_key_id]


def test_import_restore_and_remove_as_commands(sandbox: Sandbox) -> None:
    before = sandbox.paths.credentials.read_bytes()
    done = mfa_tui("keys", "import", "test-user", env=KEYRING_ENV)
    assert done.returncode == 0, done.stderr
    assert (
        sandbox.test_user.secret_access_key.encode() not in sandbox.paths.credentials.read_bytes()
    )
    # What the AWS tools run: the keys as credential_process JSON (to a pipe only).
    served = mfa_tui("keys", "credential-process", "test-user", env=KEYRING_ENV)
    assert served.returncode == 0, served.stderr
    assert sandbox.test_user.secret_access_key in served.stdout
    refresh = mfa_tui("refresh", "test-user", "--code", "123456", env=KEYRING_ENV)
    assert refresh.returncode == 0, refresh.stderr
    assert [r.access_key_id for r in sandbox.fault.requests if r.action == "GetSessionToken"] == [
        sandbox.test_user.access_key_id
    ]
    listed = mfa_tui("list", env={**KEYRING_ENV, "MFA_TUI_NO_FASTPATH": "1"})
    row = next(line for line in listed.stdout.splitlines() if line.startswith("test-user "))
    assert row.split()[:3] == ["test-user", "user", "keyring"]
    refused = mfa_tui("keys", "remove", "test-user", env=KEYRING_ENV)
    assert refused.returncode == 2 and "give --yes" in refused.stderr
    done = mfa_tui("keys", "restore", "test-user", env=KEYRING_ENV)
    assert done.returncode == 0, done.stderr
    # The file as it was, with the new session after it.
    assert sandbox.paths.credentials.read_bytes().startswith(before)
    gone = mfa_tui("keys", "credential-process", "test-user", env=KEYRING_ENV)
    assert gone.returncode == 1 and "no access keys in the OS keyring" in gone.stderr
    # Imported again, then deleted for good (scripts say --yes): no keys are left.
    assert mfa_tui("keys", "import", "test-user", env=KEYRING_ENV).returncode == 0
    removed = mfa_tui("keys", "remove", "test-user", "--yes", env=KEYRING_ENV)
    assert removed.returncode == 0, removed.stderr
    assert "deleted the access keys aws-keys:test-user from the keyring" in removed.stdout
    assert "credential_process" not in sandbox.paths.credentials.read_text()
    assert mfa_tui("keys", "credential-process", "test-user", env=KEYRING_ENV).returncode == 1
    for run in (done, served, refresh, listed, refused, gone, removed):
        assert sandbox.test_user.secret_access_key not in run.stdout + run.stderr or run is served
