"""Long-term keys out of plaintext: moved into the keyring and back, and taken from a
credential_process, against moto's STS and IAM over HTTP (through the fault proxy, whose
recording says which key signed each call)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyrings.alt.file import PlaintextKeyring

from mfa_tui.aws import ini
from mfa_tui.aws.files import KeySource, Kind, load_profiles
from mfa_tui.core.keys import KeyMover, KeyStore, keyring_account
from mfa_tui.core.sessions import SessionService
from mfa_tui.core.status import all_statuses
from mfa_tui.errors import FileWriteError, KeyringError, MfaTuiError, UsageError
from mfa_tui.settings import Settings
from tests.core.conftest import ServiceFactory
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox

LINE = "credential_process = mfa-tui keys credential-process test-user"


def key_lines(sandbox: Sandbox) -> bytes:
    user = sandbox.test_user
    return (
        f"aws_access_key_id = {user.access_key_id}\n"
        f"aws_secret_access_key = {user.secret_access_key}\n"
    ).encode()


def signed_with(sandbox: Sandbox, action: str) -> list[str | None]:
    return [r.access_key_id for r in sandbox.fault.requests if r.action == action]


# --- import, refresh, restore ----------------------------------------------------------


def test_import_moves_the_keys_and_a_refresh_signs_with_them(
    sandbox: Sandbox, keyring: MemoryKeyring, service: SessionService
) -> None:
    creds = sandbox.paths.credentials
    before, config = creds.read_bytes(), sandbox.paths.config.read_bytes()
    said = KeyMover(sandbox.paths, keyring).import_keys("test-user")
    assert "moved the access keys of 'test-user' into the OS keyring" in said
    # Byte for byte: the two key lines became the one line that serves them.
    assert creds.read_bytes() == before.replace(key_lines(sandbox), LINE.encode() + b"\n")
    assert sandbox.paths.config.read_bytes() == config
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert sandbox.test_user.secret_access_key.encode() not in creds.read_bytes()
    stored = json.loads(keyring.store[("mfa-tui", "aws-keys:test-user")])
    assert stored == {
        "Version": 1,
        "AccessKeyId": sandbox.test_user.access_key_id,
        "SecretAccessKey": sandbox.test_user.secret_access_key,
    }
    profile = load_profiles(sandbox.paths).profiles["test-user"]
    assert (profile.kind, profile.key_source, profile.managed) == (
        Kind.USER,
        KeySource.KEYRING,
        True,
    )
    service.reload()
    service.refresh("test-user", code="123456")
    assert signed_with(sandbox, "GetSessionToken") == [sandbox.test_user.access_key_id]
    # The roles go on from its session, as before.
    service.refresh("my-test-role")
    assert "AssumeRole" in sandbox.fault.actions()


def test_a_role_assumed_directly_with_a_code_signs_with_the_keyring_keys(
    sandbox: Sandbox, keyring: MemoryKeyring, service: SessionService
) -> None:
    KeyMover(sandbox.paths, keyring).import_keys("test-user")
    service.reload()
    result = service.refresh("my-test-role", code="123456", duration=7200)
    assert "assumed directly" in result.message
    assert signed_with(sandbox, "AssumeRole") == [sandbox.test_user.access_key_id]


def test_restore_puts_back_the_very_bytes_and_empties_the_keyring(
    sandbox: Sandbox, keyring: MemoryKeyring
) -> None:
    before = sandbox.paths.credentials.read_bytes()
    mover = KeyMover(sandbox.paths, keyring)
    mover.import_keys("test-user")
    said = mover.restore("test-user")
    assert sandbox.paths.credentials.read_bytes() == before
    assert "deleted them from the keyring" in said and keyring.store == {}
    mover.import_keys("test-user")
    assert "they stay in the keyring" in mover.restore("test-user", keep=True)
    assert sandbox.paths.credentials.read_bytes() == before
    assert ("mfa-tui", "aws-keys:test-user") in keyring.store
    # A copy that is the same keys is no obstacle to importing again.
    mover.import_keys("test-user")
    assert LINE.encode() in sandbox.paths.credentials.read_bytes()


def test_keep_copies_and_the_file_keys_still_win(sandbox: Sandbox, keyring: MemoryKeyring) -> None:
    before = sandbox.paths.credentials.read_bytes()
    said = KeyMover(sandbox.paths, keyring).import_keys("test-user", keep=True)
    assert "stay in" in said and sandbox.paths.credentials.read_bytes() == before
    assert keyring.store[("mfa-tui", "aws-keys:test-user")]
    assert load_profiles(sandbox.paths).profiles["test-user"].key_source is KeySource.FILE


def test_botocore_reads_the_imported_profile_through_its_credential_process(
    sandbox: Sandbox, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real client in a child process: botocore runs the credential_process line, which
    # reads the keyring (here keyrings.alt's file backend, chosen explicitly).
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    KeyMover(sandbox.paths, PlaintextKeyring()).import_keys("test-user")
    script = textwrap.dedent(
        f"""
        import boto3
        session = boto3.Session(profile_name="test-user")
        sts = session.client("sts", endpoint_url={sandbox.moto_url!r}, region_name="us-east-1")
        print(sts.get_caller_identity()["Arn"])
        print(session.get_credentials().access_key)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    arn, key = done.stdout.split()
    assert arn == sandbox.test_user.arn and key == sandbox.test_user.access_key_id


def test_the_keyring_command_never_prints_keys_to_a_terminal(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mfa_tui.cli import main

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["keys", "credential-process", "test-user"]) == 2


# --- what import refuses -----------------------------------------------------------------


def test_keys_in_the_config_file_or_default_are_not_moved(
    sandbox: Sandbox, keyring: MemoryKeyring
) -> None:
    creds, config = sandbox.paths.credentials, sandbox.paths.config
    user = sandbox.test_user
    creds.write_bytes(creds.read_bytes().replace(key_lines(sandbox), b""))
    config.write_bytes(
        config.read_bytes().replace(
            b"[profile test-user]\n", b"[profile test-user]\n" + key_lines(sandbox)
        )
    )
    before = (creds.read_bytes(), config.read_bytes())
    with pytest.raises(UsageError, match="are in the config file"):
        KeyMover(sandbox.paths, keyring).import_keys("test-user")
    creds.write_bytes(b"[DEFAULT]\n" + key_lines(sandbox) + b"[test-user]\nregion = x\n")
    config.write_bytes(before[1].replace(key_lines(sandbox), b""))
    with pytest.raises(UsageError, match=r"from \[DEFAULT\]"):
        KeyMover(sandbox.paths, keyring).import_keys("test-user")
    assert keyring.store == {} and user.access_key_id in creds.read_text()


def test_a_credential_process_of_the_users_own_is_never_replaced(
    sandbox: Sandbox, keyring: MemoryKeyring
) -> None:
    config = sandbox.paths.config
    config.write_text(
        config.read_text().replace(
            "[profile test-user]\n", "[profile test-user]\ncredential_process = my-vault get\n"
        )
    )
    before = sandbox.paths.credentials.read_bytes()
    with pytest.raises(UsageError, match="credential_process of its own"):
        KeyMover(sandbox.paths, keyring).import_keys("test-user")
    assert sandbox.paths.credentials.read_bytes() == before and keyring.store == {}


def test_other_keys_in_the_keyring_under_that_name_are_never_overwritten(
    sandbox: Sandbox, keyring: MemoryKeyring
) -> None:
    from mfa_tui.aws.sts import Credentials

    KeyStore(keyring).set("test-user", Credentials("AKIAOTHERFILES", "other-secret"))
    before = sandbox.paths.credentials.read_bytes()
    with pytest.raises(UsageError, match="AKIAOTHERFILES") as info:
        KeyMover(sandbox.paths, keyring).import_keys("test-user")
    assert "other-secret" not in info.value.message
    assert sandbox.paths.credentials.read_bytes() == before
    assert KeyStore(keyring).get("test-user") == Credentials("AKIAOTHERFILES", "other-secret")


@pytest.mark.parametrize("ring", [fail.Keyring(), null.Keyring()])  # type: ignore[no-untyped-call]
def test_no_keyring_never_falls_back_to_the_file(
    sandbox: Sandbox, ring: KeyringBackend, monkeypatch: pytest.MonkeyPatch, os_keyring: None
) -> None:
    import keyring as keyring_module

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    keyring_module.set_keyring(ring)
    before = sandbox.paths.credentials.read_bytes()
    backend = ring if isinstance(ring, null.Keyring) else None
    with pytest.raises(KeyringError) as info:
        KeyMover(sandbox.paths, backend).import_keys("test-user")
    assert "PYTHON_KEYRING_BACKEND" in info.value.message
    assert "access keys" in info.value.message or "did not keep" in info.value.message
    assert sandbox.paths.credentials.read_bytes() == before


def test_a_read_only_credentials_file_is_refused_before_the_keyring_is_touched(
    sandbox: Sandbox, keyring: MemoryKeyring
) -> None:
    sandbox.paths.credentials.chmod(0o400)
    try:
        with pytest.raises(FileWriteError, match="read-only"):
            KeyMover(sandbox.paths, keyring).import_keys("test-user")
    finally:
        sandbox.paths.credentials.chmod(0o600)
    assert keyring.store == {}


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("my-test-role", "is a role profile"),
        ("corp-sso", "is a sso profile"),
        ("nobody", "unknown"),
    ],
)
def test_only_users_have_keys_to_import(
    sandbox: Sandbox, keyring: MemoryKeyring, name: str, words: str
) -> None:
    with pytest.raises(UsageError, match=words):
        KeyMover(sandbox.paths, keyring).import_keys(name)


def test_a_keyring_user_without_its_entry_says_what_to_do(
    sandbox: Sandbox, keyring: MemoryKeyring, service: SessionService
) -> None:
    KeyMover(sandbox.paths, keyring).import_keys("test-user")
    keyring.store.clear()  # another computer: the files synced, not the keyring
    service.reload()
    with pytest.raises(UsageError, match="no access keys for 'test-user' in the keyring"):
        service.refresh("test-user", code="123456")
    assert "GetSessionToken" not in sandbox.fault.actions()


# --- remove --------------------------------------------------------------------------------


def test_remove_deletes_the_entry_and_the_line_that_served_it(
    sandbox: Sandbox, keyring: MemoryKeyring
) -> None:
    before = sandbox.paths.credentials.read_bytes()
    mover = KeyMover(sandbox.paths, keyring)
    mover.import_keys("test-user")
    found = mover.keyring_keys("test-user")
    assert found.keys is not None and found.keys.access_key_id == sandbox.test_user.access_key_id
    assert mover.users_of(found.entry) == ["test-user"]
    said = mover.remove(found)
    assert "'test-user' now has no keys" in said and keyring.store == {}
    assert sandbox.paths.credentials.read_bytes() == before.replace(key_lines(sandbox), b"")
    assert load_profiles(sandbox.paths).profiles["test-user"].kind is Kind.OTHER


# --- keys from a credential_process --------------------------------------------------------


def key_process(tmp_path: Path, answer: dict[str, object], *, code: int = 0) -> str:
    """A credential_process: a script that prints `answer` (stderr and exit `code`)."""
    script = tmp_path / "vault.py"
    script.write_text(
        "import json, sys\n"
        f"print(json.dumps({answer!r}))\n"
        "print('vault: the store is locked; run vault unlock', file=sys.stderr)\n"
        f"sys.exit({code})\n"
    )
    return f"{sys.executable} {script}"


def use_process(sandbox: Sandbox, command: str, *, serial: bool = True) -> None:
    """ops-user's keys move out of the files into a credential_process."""
    ops = sandbox.account.users["ops-user"]
    creds = sandbox.paths.credentials
    creds.write_text(
        creds.read_text().replace(
            f"aws_access_key_id = {ops.access_key_id}\n"
            f"aws_secret_access_key = {ops.secret_access_key}\n",
            "",
        )
    )
    config = sandbox.paths.config
    text = config.read_text()
    if not serial:
        text = text.replace(f"mfa_serial = {ops.mfa_serial}\n", "")
    config.write_text(
        text.replace(
            "[profile ops-user]\n", f"[profile ops-user]\ncredential_process = {command}\n"
        )
    )


def test_a_process_sourced_user_is_refreshed_with_the_keys_it_returns(
    sandbox: Sandbox, tmp_path: Path, service: SessionService
) -> None:
    ops = sandbox.account.users["ops-user"]
    answer = {
        "Version": 1,
        "AccessKeyId": ops.access_key_id,
        "SecretAccessKey": ops.secret_access_key,
    }
    use_process(sandbox, key_process(tmp_path, answer))
    service.reload()
    profile = service.profile("ops-user")
    assert (profile.kind, profile.key_source, profile.managed) == (
        Kind.USER,
        KeySource.PROCESS,
        True,
    )
    service.refresh("ops-user", code="123456")
    assert signed_with(sandbox, "GetSessionToken") == [ops.access_key_id]
    statuses = {
        s.name: s for s in all_statuses(service.profile_set, Settings(), service.clock.now())
    }
    assert statuses["ops-user"].key_source is KeySource.PROCESS
    assert statuses["test-user"].key_source is KeySource.FILE
    assert statuses["vault-tool"].kind is Kind.PROCESS and not statuses["vault-tool"].managed


def test_a_process_that_returns_a_session_is_refused_before_any_code_is_spent(
    sandbox: Sandbox, tmp_path: Path, make_service: ServiceFactory
) -> None:
    asked: list[object] = []

    def prompt(request: object) -> str:
        asked.append(request)
        return "123456"

    answer = {
        "Version": 1,
        "AccessKeyId": "ASIASESSIONKEY",
        "SecretAccessKey": "session-secret",
        "SessionToken": "a-session-token",
        "Expiration": "2030-01-01T00:00:00Z",
    }
    use_process(sandbox, key_process(tmp_path, answer))
    service = make_service(code_prompt=prompt)
    before = (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes())
    with pytest.raises(UsageError) as info:
        service.refresh("ops-user")
    message = info.value.message
    assert "returned a session" in message and "--no-session" in message
    assert "session-secret" not in message and "a-session-token" not in message
    assert asked == [] and sandbox.fault.actions() == []
    assert (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()) == before


def test_a_failing_process_shows_its_stderr(
    sandbox: Sandbox, tmp_path: Path, service: SessionService
) -> None:
    use_process(sandbox, key_process(tmp_path, {"Version": 1}, code=3))
    service.reload()
    with pytest.raises(MfaTuiError) as info:
        service.refresh("ops-user", code="123456")
    assert "exit code 3" in info.value.message
    assert "vault: the store is locked; run vault unlock" in info.value.message
    assert sandbox.fault.actions() == []


def test_a_hung_process_is_killed_after_its_timeout(
    sandbox: Sandbox, tmp_path: Path, make_service: ServiceFactory
) -> None:
    hang = tmp_path / "hang.py"
    hang.write_text("import time\ntime.sleep(120)\n")
    use_process(sandbox, f"{sys.executable} {hang}")
    service = make_service(settings=Settings(credential_process_timeout=1))
    with pytest.raises(MfaTuiError, match=r"did not finish in 1s .*credential_process_timeout"):
        service.refresh("ops-user", code="123456")


def test_a_process_without_an_mfa_device_stays_unmanaged(sandbox: Sandbox, tmp_path: Path) -> None:
    use_process(sandbox, key_process(tmp_path, {}), serial=False)
    profile = load_profiles(sandbox.paths).profiles["ops-user"]
    assert profile.kind is Kind.PROCESS and "mfa_serial" in (profile.unmanaged_reason or "")


def test_a_role_with_a_device_makes_its_process_source_a_user(tmp_path: Path) -> None:
    from mfa_tui.aws.files import AwsPaths

    (tmp_path / "config").write_text(
        "[profile vault]\ncredential_process = aws-vault export --no-session --format=json jon\n"
        "[profile admin]\nsource_profile = vault\nrole_arn = arn:aws:iam::123456789012:role/a\n"
        "mfa_serial = arn:aws:iam::123456789012:mfa/jon\n"
        "[profile deep]\nsource_profile = admin\nrole_arn = arn:aws:iam::123456789012:role/d\n"
        "[profile served]\ncredential_process = mfa-tui credential-process admin\n"
        "mfa_serial = arn:aws:iam::123456789012:mfa/jon\n"
        "[profile tool]\ncredential_process = get-creds\n"
        "[profile nodevice]\nsource_profile = tool\nrole_arn = arn:aws:iam::123456789012:role/n\n"
    )
    profiles = load_profiles(AwsPaths(tmp_path / "config", tmp_path / "credentials")).profiles
    assert profiles["vault"].kind is Kind.USER and profiles["vault"].key_source is KeySource.PROCESS
    assert profiles["admin"].managed and profiles["deep"].chain == ["deep", "admin", "vault"]
    # mfa-tui's own `credential-process` serves sessions, never keys.
    assert profiles["served"].kind is Kind.PROCESS
    assert "no MFA device is named" in (profiles["nodevice"].unmanaged_reason or "")


def test_keyring_entries_never_land_on_seeds(keyring: MemoryKeyring) -> None:
    from mfa_tui.aws.sts import Credentials
    from mfa_tui.core.codes import SeedStore

    serial = "arn:aws:iam::123456789012:mfa/test-user"
    SeedStore(keyring).set(serial, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    KeyStore(keyring).set(serial, Credentials("AKIAX", "s"))
    assert keyring_account(serial) != serial
    assert SeedStore(keyring).get(serial) == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert set(keyring.store) == {("mfa-tui", serial), ("mfa-tui", f"aws-keys:{serial}")}


def test_list_says_where_keys_come_from(sandbox: Sandbox, keyring: MemoryKeyring) -> None:
    KeyMover(sandbox.paths, keyring).import_keys("test-user")
    doc = ini.read(sandbox.paths.credentials)
    assert doc.find("test-user")[0].values == {"credential_process": LINE.split(" = ", 1)[1]}
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MFA_TUI_NO_FASTPATH": "1"},
    )
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["test-user"]["keys"] == "keyring" and rows["ops-user"]["keys"] == "file"
    assert rows["my-test-role"]["keys"] is None and rows["vault-tool"]["keys"] is None


def test_setup_works_with_keys_in_the_keyring(
    sandbox: Sandbox, keyring: MemoryKeyring, tmp_path: Path
) -> None:
    from mfa_tui.core.codes import UsedCodes
    from mfa_tui.core.setup import MfaSetup

    new = sandbox.account.new_user
    assert new is not None
    KeyMover(sandbox.paths, keyring).import_keys("new-user")
    setup = MfaSetup(
        "new-user",
        paths=sandbox.paths,
        keyring_backend=keyring,
        used_codes=UsedCodes(tmp_path / "codes.json"),
    )
    setup.check_local()
    target = setup.inspect()
    assert target.user.name == "new-user" and target.devices == ()
    assert signed_with(sandbox, "GetCallerIdentity") == [new.access_key_id]
