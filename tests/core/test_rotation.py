"""`keys rotate` against moto's IAM and STS: end to end, and with a failure injected after
each step (the fault proxy), the stored key must still work and the message must say
what is left to do. Kills are in tests/test_cli_keys.py."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from mfa_tui.aws.files import load_profiles
from mfa_tui.aws.sts import Credentials
from mfa_tui.core.key_ages import read_key_ages
from mfa_tui.core.keys import KeyMover, KeyStore, file_keys
from mfa_tui.core.rotation import KeyRotation, RotationJournal, RotationStart
from mfa_tui.core.sessions import SessionService
from mfa_tui.errors import MfaTuiError, UsageError
from tests import stsfault
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox

DENIED = "User: arn:aws:iam::123456789012:user/test-user is not authorized to perform: {}"


class RefusingKeyring(MemoryKeyring):
    """The keyring of these tests: it starts refusing writes when told (a wallet locked
    half-way through)."""

    refuse = False

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.refuse:
            raise RuntimeError("the wallet is locked")
        super().set_password(service, username, password)


@pytest.fixture
def keyring() -> RefusingKeyring:
    return RefusingKeyring()


@pytest.fixture
def rotation(
    sandbox: Sandbox, service: SessionService, tmp_path: Path, sleeps: list[float]
) -> KeyRotation:
    """A rotation on the sandbox, its user holding an MFA session already."""
    service.refresh("test-user", code="123456")
    sandbox.fault.clear()
    return KeyRotation(
        service,
        journal=RotationJournal(tmp_path / "rotations.json"),
        ages=tmp_path / "key_ages.json",
        sleep=sleeps.append,
        proof_wait=4,
    )


def keys_in_aws(sandbox: Sandbox) -> list[str]:
    listed = sandbox.admin("iam").list_access_keys(UserName="test-user")["AccessKeyMetadata"]
    return sorted(k["AccessKeyId"] for k in listed)


def stored(sandbox: Sandbox) -> Credentials:
    profile_set = load_profiles(sandbox.paths)
    return file_keys(profile_set, profile_set.profiles["test-user"])


def works(sandbox: Sandbox, keys: Credentials) -> bool:
    """GetCallerIdentity with `keys`, straight to moto, answers as test-user."""
    sts = boto3.client(
        "sts",
        endpoint_url=sandbox.moto_url,
        region_name="us-east-1",
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
    )
    return bool(sts.get_caller_identity()["Arn"] == sandbox.test_user.arn)


def denied(action: str) -> stsfault.Fault:
    return stsfault.error("AccessDenied", DENIED.format(f"iam:{action}"), 403, action)


def old_keys(sandbox: Sandbox) -> Credentials:
    return Credentials(sandbox.test_user.access_key_id, sandbox.test_user.secret_access_key)


# --- end to end ----------------------------------------------------------------------------


def test_rotate_end_to_end_in_the_file(
    sandbox: Sandbox, rotation: KeyRotation, tmp_path: Path
) -> None:
    old = old_keys(sandbox)
    before = sandbox.paths.credentials.read_bytes()
    said = rotation.rotate("test-user")
    new = stored(sandbox)
    assert new.access_key_id != old.access_key_id
    assert keys_in_aws(sandbox) == [new.access_key_id] and works(sandbox, new)
    # The two values changed where they stood; no other byte did.
    assert sandbox.paths.credentials.read_bytes() == before.replace(
        old.access_key_id.encode(), new.access_key_id.encode()
    ).replace(old.secret_access_key.encode(), new.secret_access_key.encode())
    assert f"{new.access_key_id} is stored in [test-user]" in said
    assert f"the old key {old.access_key_id} was deleted" in said
    assert new.secret_access_key not in said
    # In order, the IAM calls with the MFA session; the proof with the new key.
    calls = [(r.action, r.access_key_id) for r in sandbox.fault.requests]
    session_key = "AKIAIOSFODNN7EXAMPLE"  # what moto's GetSessionToken always gives
    assert calls == [
        ("GetCallerIdentity", old.access_key_id),
        ("ListAccessKeys", session_key),
        ("CreateAccessKey", session_key),
        ("GetCallerIdentity", new.access_key_id),
        ("DeleteAccessKey", session_key),
    ]
    assert sandbox.fault.calls("DeleteAccessKey")[0]["AccessKeyId"] == old.access_key_id
    assert read_key_ages(tmp_path / "key_ages.json")["test-user"].key_id == new.access_key_id
    assert rotation.journal.get("test-user") is None


def test_rotate_end_to_end_in_the_keyring(
    sandbox: Sandbox, rotation: KeyRotation, keyring: MemoryKeyring
) -> None:
    KeyMover(sandbox.paths, keyring).import_keys("test-user")
    before = sandbox.paths.credentials.read_bytes()
    said = rotation.rotate("test-user")
    new = KeyStore(keyring).get("test-user")
    assert new is not None and works(sandbox, new)
    assert keys_in_aws(sandbox) == [new.access_key_id]
    assert sandbox.paths.credentials.read_bytes() == before
    assert "stored in the OS keyring (aws-keys:test-user)" in said


def test_the_person_is_asked_before_aws_is_changed(sandbox: Sandbox, rotation: KeyRotation) -> None:
    seen: list[RotationStart] = []

    def no(start: RotationStart) -> bool:
        seen.append(start)
        return False

    with pytest.raises(UsageError, match="nothing was changed"):
        rotation.rotate("test-user", confirm=no)
    assert seen == [
        RotationStart(
            "test-user",
            "test-user",
            sandbox.test_user.access_key_id,
            f"[test-user] of {sandbox.paths.credentials}",
            False,
        )
    ]
    assert "CreateAccessKey" not in sandbox.fault.actions()


# --- refused before anything ----------------------------------------------------------------


def test_two_keys_already_are_named_and_nothing_is_changed(
    sandbox: Sandbox, rotation: KeyRotation
) -> None:
    other = sandbox.admin("iam").create_access_key(UserName="test-user")["AccessKey"]
    before = sandbox.paths.credentials.read_bytes()
    with pytest.raises(UsageError) as info:
        rotation.rotate("test-user")
    message = info.value.message
    assert "2 access keys already" in message
    assert f"{sandbox.test_user.access_key_id} (Active" in message and "stored for" in message
    assert f"{other['AccessKeyId']} (Active" in message and "not stored here" in message
    assert f"--access-key-id {other['AccessKeyId']}" in message
    assert other["SecretAccessKey"] not in message
    assert "CreateAccessKey" not in sandbox.fault.actions()
    assert sandbox.paths.credentials.read_bytes() == before


def test_keys_from_a_credential_process_are_its_tools_to_rotate(
    sandbox: Sandbox, rotation: KeyRotation
) -> None:
    config = sandbox.paths.config
    config.write_text(
        config.read_text().replace(
            "[profile vault-tool]\n",
            "[profile vault-tool]\nmfa_serial = arn:aws:iam::123456789012:mfa/vault\n",
        )
    )
    with pytest.raises(UsageError, match="aws-vault rotate"):
        rotation.rotate("vault-tool")
    assert sandbox.fault.actions() == []


# --- a failure after each step --------------------------------------------------------------


def test_create_refused_changes_nothing(sandbox: Sandbox, rotation: KeyRotation) -> None:
    before = sandbox.paths.credentials.read_bytes()
    sandbox.fault.queue(denied("CreateAccessKey"))
    with pytest.raises(MfaTuiError) as info:
        rotation.rotate("test-user")
    assert "iam:CreateAccessKey" in info.value.message
    assert "nothing was changed" in info.value.message
    assert sandbox.paths.credentials.read_bytes() == before
    assert keys_in_aws(sandbox) == [sandbox.test_user.access_key_id]
    assert works(sandbox, stored(sandbox)) and rotation.journal.get("test-user") is None


def test_a_key_made_behind_a_lost_answer_is_found_and_deleted(
    sandbox: Sandbox, rotation: KeyRotation
) -> None:
    # AWS makes the key, the answer never arrives; botocore's retry then makes no second
    # one (two keys already: LimitExceeded) or one more. Either way none is left.
    before = sandbox.paths.credentials.read_bytes()
    sandbox.fault.queue(stsfault.lost_answer("CreateAccessKey"))
    with pytest.raises(MfaTuiError) as info:
        rotation.rotate("test-user")
    message = info.value.message
    assert "AWS had made AKIA" in message and "deleted again: nothing changed" in message
    assert sandbox.fault.actions().count("CreateAccessKey") >= 2  # the retry happened
    assert sandbox.paths.credentials.read_bytes() == before
    assert keys_in_aws(sandbox) == [sandbox.test_user.access_key_id]
    assert rotation.journal.get("test-user") is None


def test_an_old_key_deleted_behind_a_lost_answer_counts_as_deleted(
    sandbox: Sandbox, rotation: KeyRotation
) -> None:
    sandbox.fault.queue(stsfault.lost_answer("DeleteAccessKey"))
    said = rotation.rotate("test-user")
    assert f"the old key {sandbox.test_user.access_key_id} was deleted" in said
    assert keys_in_aws(sandbox) == [stored(sandbox).access_key_id]
    assert rotation.journal.get("test-user") is None


def read_only(path: Path) -> stsfault.Fault:
    """CreateAccessKey goes through, and at that moment the file turns read-only."""
    return stsfault.Fault(
        passthrough=True, action="CreateAccessKey", on_arrival=lambda: path.chmod(0o400)
    )


def test_a_new_key_that_cannot_be_stored_is_deleted_again(
    sandbox: Sandbox, rotation: KeyRotation
) -> None:
    creds = sandbox.paths.credentials
    before = creds.read_bytes()
    sandbox.fault.queue(read_only(creds))
    try:
        with pytest.raises(MfaTuiError) as info:
            rotation.rotate("test-user")
    finally:
        creds.chmod(0o600)
    message = info.value.message
    assert "could not be stored" in message and "read-only" in message
    assert "deleted again: nothing changed" in message
    assert creds.read_bytes() == before
    assert keys_in_aws(sandbox) == [sandbox.test_user.access_key_id]
    assert works(sandbox, stored(sandbox)) and rotation.journal.get("test-user") is None


def test_an_unstored_key_that_cannot_be_deleted_is_deleted_by_the_next_rotate(
    sandbox: Sandbox, rotation: KeyRotation
) -> None:
    creds = sandbox.paths.credentials
    sandbox.fault.queue(read_only(creds), denied("DeleteAccessKey"))
    try:
        with pytest.raises(MfaTuiError) as info:
            rotation.rotate("test-user")
    finally:
        creds.chmod(0o600)
    orphan = next(k for k in keys_in_aws(sandbox) if k != sandbox.test_user.access_key_id)
    message = info.value.message
    assert "could not be deleted" in message and "stored nowhere" in message
    assert "'mfa-tui keys rotate test-user' does, or 'aws iam delete-access-key" in message
    assert f"--access-key-id {orphan}" in message
    assert works(sandbox, stored(sandbox))  # the old key, still stored
    said = rotation.rotate("test-user")
    assert "rotated" in said and orphan not in keys_in_aws(sandbox)
    assert keys_in_aws(sandbox) == [stored(sandbox).access_key_id]


def test_a_new_key_that_does_not_work_is_undone(
    sandbox: Sandbox, rotation: KeyRotation, sleeps: list[float]
) -> None:
    before = sandbox.paths.credentials.read_bytes()
    # The first GetCallerIdentity (the stored key) goes through; the new key then never
    # works, as if IAM had not made it usable.
    sandbox.fault.queue(stsfault.passthrough("GetCallerIdentity"))
    sandbox.fault.always = stsfault.invalid_client_token_id("GetCallerIdentity")
    with pytest.raises(MfaTuiError) as info:
        rotation.rotate("test-user")
    message = info.value.message
    assert "did not work" in message
    assert f"the old key {sandbox.test_user.access_key_id} is stored again" in message
    assert "nothing changed" in message
    assert sandbox.paths.credentials.read_bytes() == before
    assert keys_in_aws(sandbox) == [sandbox.test_user.access_key_id]
    assert works(sandbox, stored(sandbox))
    # Asked again for a while (a new key takes a moment), then given up: bounded.
    assert sleeps and sum(sleeps) <= 4 + 8
    assert rotation.journal.get("test-user") is None


def test_an_old_key_that_cannot_be_deleted_is_left_working_and_finished_later(
    sandbox: Sandbox, rotation: KeyRotation
) -> None:
    old = sandbox.test_user.access_key_id
    sandbox.fault.queue(denied("DeleteAccessKey"))
    with pytest.raises(MfaTuiError) as info:
        rotation.rotate("test-user")
    new = stored(sandbox)
    message = info.value.message
    assert f"{new.access_key_id} is stored in [test-user]" in message and "and works" in message
    assert f"the old key {old} could not be deleted" in message and "iam:DeleteAccessKey" in message
    assert "Run 'mfa-tui keys rotate test-user' again to finish" in message
    assert f"--access-key-id {old}" in message
    assert works(sandbox, new) and keys_in_aws(sandbox) == sorted([old, new.access_key_id])
    said = rotation.rotate("test-user")
    assert said.startswith("finished the rotation of 'test-user'")
    assert keys_in_aws(sandbox) == [new.access_key_id] and stored(sandbox) == new
    assert rotation.journal.get("test-user") is None


def test_a_keyring_that_refuses_the_new_key_keeps_the_old_one(
    sandbox: Sandbox, rotation: KeyRotation, keyring: RefusingKeyring
) -> None:
    KeyMover(sandbox.paths, keyring).import_keys("test-user")

    def lock() -> None:
        keyring.refuse = True

    sandbox.fault.queue(stsfault.Fault(passthrough=True, action="CreateAccessKey", on_arrival=lock))
    with pytest.raises(MfaTuiError, match=r"could not be stored.*refused to store"):
        rotation.rotate("test-user")
    kept = KeyStore(keyring).get("test-user")
    assert kept == old_keys(sandbox) and works(sandbox, kept)
    assert keys_in_aws(sandbox) == [sandbox.test_user.access_key_id]


def test_one_rotation_at_a_time(sandbox: Sandbox, rotation: KeyRotation) -> None:
    from mfa_tui.aws.atomic import locked

    with (
        locked(rotation.journal.state.path.with_name("rotating")),
        pytest.raises(MfaTuiError, match="another 'mfa-tui keys rotate' is running"),
    ):
        rotation.rotate("test-user")
    assert sandbox.fault.actions() == []
    assert "rotated" in rotation.rotate("test-user")
