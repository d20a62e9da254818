"""The session engine against a real moto server over HTTP (with a fault proxy in front)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pyotp
import pytest

from mfa_tui.aws import ini
from mfa_tui.clock import Clock
from mfa_tui.core.codes import UsedCodes
from mfa_tui.core.sessions import SessionService
from mfa_tui.errors import (
    AwsRefusedError,
    InvalidMfaCodeError,
    NeedsCodeError,
    NetworkError,
    UsageError,
)
from mfa_tui.settings import Settings
from tests import stsfault
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox


def make_service(
    sandbox: Sandbox,
    tmp_path: Path,
    keyring: MemoryKeyring | None = None,
    settings: Settings | None = None,
    sleeps: list[float] | None = None,
) -> SessionService:
    return SessionService(
        paths=sandbox.paths,
        settings=settings or Settings(),
        keyring_backend=keyring or MemoryKeyring(),
        used_codes=UsedCodes(tmp_path / "state" / "codes.json"),
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
    )


def section(paths_file: Path, name: str) -> dict[str, str]:
    return ini.read(paths_file).section_values()[name]


def snapshot(sandbox: Sandbox) -> tuple[bytes, bytes]:
    return sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()


def test_one_code_unlocks_the_user_and_every_role(sandbox: Sandbox, tmp_path: Path) -> None:
    service = make_service(sandbox, tmp_path)
    user = service.refresh("test-user", code="123456")
    assert user.refreshed and user.used_code
    assert user.session_profile == "test-user-mfa"
    for role in ("my-test-role", "readonly-role", "chained-role"):
        result = service.refresh(role)
        assert result.refreshed and not result.used_code
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    gst = sandbox.fault.calls("GetSessionToken")[0]
    assert gst["SerialNumber"] == sandbox.test_user.mfa_serial
    assert gst["TokenCode"] == "123456"
    assert gst["DurationSeconds"] == "43200"
    assume_calls = sandbox.fault.calls("AssumeRole")
    # chained-role is two hops: my-test-role, then chained-role
    assert [c["RoleArn"].rsplit("/", 1)[1] for c in assume_calls] == [
        "my-test-role",
        "readonly-role",
        "my-test-role",
        "chained-role",
    ]
    assert all("TokenCode" not in c for c in assume_calls), "roles need no further code"
    assert all(c["DurationSeconds"] == "3600" for c in assume_calls)
    assert all(c["RoleSessionName"] == "mfa-tui-test-user" for c in assume_calls)
    creds = section(sandbox.paths.credentials, "chained-role-mfa")
    assert creds["mfa_tui_source"] == "chained-role"
    assert creds["expiration"].endswith("Z")


def test_role_with_no_user_session_gets_one_with_a_single_code(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    service = make_service(sandbox, tmp_path)
    result = service.refresh("my-test-role", code="222333")
    assert result.used_code
    assert sandbox.fault.actions() == ["GetSessionToken", "AssumeRole"]
    # the user session was written too, so the next role needs nothing
    assert "test-user-mfa" in ini.read(sandbox.paths.credentials).section_values()
    assert service.needs_code("readonly-role") is None


def test_session_profile_is_what_botocore_then_uses(sandbox: Sandbox, tmp_path: Path) -> None:
    service = make_service(sandbox, tmp_path)
    service.refresh("my-test-role", code="123456")
    session = boto3.session.Session(profile_name="my-test-role-mfa")
    creds = session.get_credentials()
    stored = section(sandbox.paths.credentials, "my-test-role-mfa")
    assert creds is not None and creds.access_key == stored["aws_access_key_id"]
    sts = session.client("sts", endpoint_url=sandbox.moto_url, region_name="us-east-1")
    assert sts.get_caller_identity()["Account"] == sandbox.account.account_id


def test_still_valid_session_is_not_refreshed_unless_forced(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    service = make_service(sandbox, tmp_path)
    service.refresh("test-user", code="123456")
    again = service.refresh("test-user", code="654321")
    assert not again.refreshed and "still valid" in again.message
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    forced = service.refresh("test-user", code="654321", force=True)
    assert forced.refreshed
    assert sandbox.fault.actions().count("GetSessionToken") == 2


def test_wrong_code_maps_to_exit_4_and_writes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    before = snapshot(sandbox)
    sandbox.fault.queue(stsfault.invalid_code())
    service = make_service(sandbox, tmp_path)
    with pytest.raises(InvalidMfaCodeError) as info:
        service.refresh("test-user", code="123456")
    assert int(info.value.exit_code) == 4
    assert "already used" in info.value.message and "test-user" in info.value.message
    assert snapshot(sandbox) == before


def test_typed_code_is_never_sent_twice(sandbox: Sandbox, tmp_path: Path) -> None:
    service = make_service(sandbox, tmp_path)
    service.refresh("test-user", code="123456")
    with pytest.raises(UsageError, match="already used"):
        service.refresh("test-user", code="123 456", force=True)
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_soft_token_waits_for_next_step_and_retries_once(sandbox: Sandbox, tmp_path: Path) -> None:
    keyring = MemoryKeyring()
    sleeps: list[float] = []
    service = make_service(sandbox, tmp_path, keyring, sleeps=sleeps)
    service.store_seed("test-user", sandbox.test_user.seed)
    assert service.needs_code("test-user") is None
    # AWS says the first code was bad (e.g. used by another tool): one retry, next step.
    sandbox.fault.queue(stsfault.invalid_code("GetSessionToken"))
    result = service.refresh("test-user")
    assert result.refreshed
    codes = [c["TokenCode"] for c in sandbox.fault.calls("GetSessionToken")]
    assert len(codes) == 2 and codes[0] != codes[1]
    totp = pyotp.TOTP(sandbox.test_user.seed)
    assert totp.verify(codes[1], valid_window=1)
    assert sleeps and 0 < sleeps[0] <= 31, "waited for the next 30-second step"
    # a second refresh must not reuse the step just used either
    service.refresh("test-user", force=True)
    third = sandbox.fault.calls("GetSessionToken")[2]["TokenCode"]
    assert third not in codes


def test_no_code_source_is_needs_code(sandbox: Sandbox, tmp_path: Path) -> None:
    service = make_service(sandbox, tmp_path)
    request = service.needs_code("my-test-role")
    assert request is not None and request.user == "test-user"
    with pytest.raises(NeedsCodeError) as info:
        service.refresh("my-test-role")
    assert int(info.value.exit_code) == 3
    assert "--code" in info.value.message and "totp set" in info.value.message
    assert sandbox.fault.actions() == []


def test_code_command_is_a_silent_source(sandbox: Sandbox, tmp_path: Path) -> None:
    settings = Settings(code_command="printf 'code: 314159\\n'")
    service = make_service(sandbox, tmp_path, settings=settings)
    assert service.needs_code("test-user") is None
    service.refresh("test-user")
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "314159"


def test_aws_vault_mfa_process_is_honoured(sandbox: Sandbox, tmp_path: Path) -> None:
    text = sandbox.paths.config.read_text().replace(
        "[profile test-user]\n", "[profile test-user]\nmfa_process = echo 271828\n"
    )
    sandbox.paths.config.write_text(text)
    service = make_service(sandbox, tmp_path)
    service.refresh("test-user")
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "271828"


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        (
            stsfault.error(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                403,
            ),
            AwsRefusedError,
            "access key of profile 'test-user' is not valid",
        ),
        (
            stsfault.error(
                "ExpiredToken", "The security token included in the request is expired", 400
            ),
            AwsRefusedError,
            "expired",
        ),
        (stsfault.error("Throttling", "Rate exceeded", 400), AwsRefusedError, "throttling"),
        (stsfault.error("InternalFailure", "oops", 500), NetworkError, "internal error"),
        (
            stsfault.Fault(status=200, body=b"<html>captive portal</html>"),
            NetworkError,
            "not an STS",
        ),
    ],
)
def test_sts_failures_map_to_messages_and_leave_files_alone(
    sandbox: Sandbox, tmp_path: Path, fault: stsfault.Fault, error: type, words: str
) -> None:
    before = snapshot(sandbox)
    sandbox.fault.always = fault
    service = make_service(sandbox, tmp_path)
    with pytest.raises(error) as info:
        service.refresh("test-user", code="123456")
    assert words in info.value.message
    assert "Traceback" not in info.value.message
    assert snapshot(sandbox) == before


def test_assume_role_denied_names_the_role(sandbox: Sandbox, tmp_path: Path) -> None:
    service = make_service(sandbox, tmp_path)
    service.refresh("test-user", code="123456")
    before = snapshot(sandbox)
    sandbox.fault.queue(
        stsfault.error(
            "AccessDenied",
            "User is not authorized to perform: sts:AssumeRole",
            403,
            action="AssumeRole",
        )
    )
    with pytest.raises(AwsRefusedError) as info:
        service.refresh("my-test-role")
    assert sandbox.account.roles["my-test-role"] in info.value.message
    assert "trust policy" in info.value.message
    assert snapshot(sandbox) == before


def test_chained_duration_cap_is_applied_and_said(sandbox: Sandbox, tmp_path: Path) -> None:
    settings = Settings().with_profile("readonly-role", duration=7200)
    service = make_service(sandbox, tmp_path, settings=settings)
    service.refresh("test-user", code="123456")
    # readonly-role asks for 2 h: only a direct AssumeRole with MFA can give that.
    result = service.refresh("readonly-role", code="654321")
    call = sandbox.fault.calls("AssumeRole")[-1]
    assert call["DurationSeconds"] == "7200" and call["TokenCode"] == "654321"
    assert result.used_code


def test_duration_validation_error_retries_with_one_hour(sandbox: Sandbox, tmp_path: Path) -> None:
    service = make_service(sandbox, tmp_path)
    service.refresh("test-user", code="123456")
    sandbox.fault.queue(stsfault.error("ValidationError", stsfault.ROLE_MAX, action="AssumeRole"))
    # force a long duration through the first hop of a chain (not eligible for direct)
    result = service._assume(  # the retry rule itself
        service.profile("my-test-role"),
        service._user_session(
            service.profile("my-test-role"), service.profile("test-user"), None, False
        )[0],
        service.profile("test-user"),
        7200,
        notes := [],
    )
    assert result.access_key_id
    durations = [c["DurationSeconds"] for c in sandbox.fault.calls("AssumeRole")]
    assert durations == ["7200", "3600"]
    assert notes and "retried with 3600" in notes[0]


def test_out_of_range_duration_is_refused_before_any_call(sandbox: Sandbox, tmp_path: Path) -> None:
    service = make_service(sandbox, tmp_path)
    with pytest.raises(UsageError, match=r"900\.\.129600"):
        service.refresh("test-user", code="123456", duration=899)
    assert sandbox.fault.actions() == []


def test_serial_discovered_with_list_mfa_devices_and_saved(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # ops-user's config names its serial; drop it to make mfa-tui find it.
    ops = sandbox.account.users["ops-user"]
    text = sandbox.paths.config.read_text().replace(f"mfa_serial = {ops.mfa_serial}\n", "")
    sandbox.paths.config.write_text(text)
    before = sandbox.paths.config.read_bytes()
    service = make_service(sandbox, tmp_path)
    service.refresh("ops-user", code="123456", save_serial=True)
    assert sandbox.fault.calls("GetSessionToken")[0]["SerialNumber"] == ops.mfa_serial
    after = sandbox.paths.config.read_bytes()
    assert after.replace(f"mfa_serial = {ops.mfa_serial}\n".encode(), b"") == before


def test_dead_endpoint_fails_fast_with_network_error(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.fault.stop()  # the port is closed now
    service = make_service(sandbox, tmp_path)
    started = datetime.now(UTC)
    with pytest.raises(NetworkError) as info:
        service.refresh("test-user", code="123456")
    assert datetime.now(UTC) - started < timedelta(seconds=8)
    assert "cannot reach STS" in info.value.message


def test_slow_endpoint_times_out(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.fault.always = stsfault.Fault(delay=3, passthrough=True)
    service = make_service(sandbox, tmp_path)
    with pytest.raises(NetworkError, match="did not answer in time"):
        service.refresh("test-user", code="123456")


def test_activate_mirrors_the_session_into_the_active_profile(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    service = make_service(sandbox, tmp_path)
    service.refresh("test-user", code="123456")
    result = service.activate("my-test-role")
    assert "switched mfa-tui to my-test-role" in result.message
    active = section(sandbox.paths.credentials, "mfa-tui")
    role = section(sandbox.paths.credentials, "my-test-role-mfa")
    assert active["mfa_tui_source"] == "my-test-role"
    assert active["aws_access_key_id"] == role["aws_access_key_id"]
    # a refresh of the active source renews the active profile too
    service.refresh("my-test-role", force=True)
    assert (
        section(sandbox.paths.credentials, "mfa-tui")["aws_session_token"]
        == section(sandbox.paths.credentials, "my-test-role-mfa")["aws_session_token"]
    )
    service.activate("readonly-role")
    assert section(sandbox.paths.credentials, "mfa-tui")["mfa_tui_source"] == "readonly-role"


def test_refresh_due_refreshes_roles_silently_and_lists_who_needs_a_code(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    clock = _OffsetClock()
    service = make_service(sandbox, tmp_path)
    service.clock = clock
    service.refresh("test-user", code="123456", duration=3600)
    service.refresh("my-test-role")
    clock.offset = timedelta(minutes=57)  # the role (1 h) and user (1 h) are inside margins
    report = service.refresh_due()
    assert [r.profile for r in report.results] == ["my-test-role"]
    assert [r.profile for r in report.needs_code] == ["test-user"]


class _OffsetClock(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset
