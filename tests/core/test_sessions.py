"""The session engine against a real moto server over HTTP, with a fault proxy in front.

moto accepts any code and enforces no durations or trust policies, so what AWS would
refuse is programmed into the proxy (tests/stsfault.py), and what was sent is read from
its recording.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import boto3
import pyotp
import pytest

from mfa_tui.aws import ini, sts
from mfa_tui.aws.credentials import write_section
from mfa_tui.aws.sts import SERVER_CLOCK, DurationTooLongError
from mfa_tui.clock import FrozenClock
from mfa_tui.core.codes import Cancelled, UsedCodes
from mfa_tui.core.sessions import SessionService
from mfa_tui.errors import (
    AwsRefusedError,
    CodeRequest,
    InvalidMfaCodeError,
    MfaTuiError,
    NeedsCodeError,
    NetworkError,
    SeedRefusedError,
    UsageError,
)
from mfa_tui.settings import Settings
from tests import stsfault
from tests.core.conftest import ServiceFactory
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox

EXPIRED_TOKEN = stsfault.error(
    "ExpiredToken", "The security token included in the request is expired", 400
)


def sections(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    return ini.read(sandbox.paths.credentials).section_values()


def snapshot(sandbox: Sandbox) -> tuple[bytes, bytes]:
    return sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()


def edit_config(sandbox: Sandbox, old: str, new: str) -> None:
    text = sandbox.paths.config.read_text()
    assert old in text
    sandbox.paths.config.write_text(text.replace(old, new, 1))


def identity(sandbox: Sandbox, session_profile: str) -> str:
    values = sections(sandbox)[session_profile]
    sts = boto3.client(
        "sts",
        endpoint_url=sandbox.moto_url,
        region_name="us-east-1",
        aws_access_key_id=values["aws_access_key_id"],
        aws_secret_access_key=values["aws_secret_access_key"],
        aws_session_token=values["aws_session_token"],
    )
    return str(sts.get_caller_identity()["Arn"])


# --- one code, every role ------------------------------------------------------------


def test_one_code_unlocks_the_user_and_every_role(
    sandbox: Sandbox, service: SessionService
) -> None:
    user = service.refresh("test-user", code="123 456")
    assert user.refreshed and user.used_code
    assert user.session_profile == "test-user-mfa"
    assert user.message.startswith("test-user-mfa valid until ")
    assert "(12:00:0" in user.message, "12 hours by default, counted on the injected clock"
    for role in ("my-test-role", "readonly-role", "chained-role"):
        result = service.refresh(role)
        assert result.refreshed and not result.used_code
        assert service.needs_code(role) is None
    fault = sandbox.fault
    assert fault.actions().count("GetSessionToken") == 1
    gst = fault.calls("GetSessionToken")[0]
    assert gst["SerialNumber"] == sandbox.test_user.mfa_serial
    assert gst["TokenCode"] == "123456"
    assert gst["DurationSeconds"] == "43200"
    assume_calls = fault.calls("AssumeRole")
    # chained-role starts from my-test-role's stored session: one hop, not two.
    assert [c["RoleArn"].rsplit("/", 1)[1] for c in assume_calls] == [
        "my-test-role",
        "readonly-role",
        "chained-role",
    ]
    for call in assume_calls:
        assert "TokenCode" not in call and "SerialNumber" not in call
        assert call["DurationSeconds"] == "3600"
        assert call["RoleSessionName"] == "mfa-tui-test-user"
    stored = sections(sandbox)
    assert stored["chained-role-mfa"]["mfa_tui_source"] == "chained-role"
    assert stored["chained-role-mfa"]["expiration"].endswith("Z")
    assert ":assumed-role/chained-role/" in identity(sandbox, "chained-role-mfa")
    assert ":assumed-role/readonly-role/" in identity(sandbox, "readonly-role-mfa")


def test_a_role_with_no_user_session_gets_one_with_a_single_code(
    sandbox: Sandbox, service: SessionService
) -> None:
    assert service.needs_code("my-test-role") == CodeRequest(
        "my-test-role", sandbox.test_user.mfa_serial, "test-user"
    )
    result = service.refresh("my-test-role", code="222333")
    assert result.used_code
    assert "new user session test-user-mfa until " in result.message
    assert sandbox.fault.actions() == ["GetSessionToken", "AssumeRole"]
    # The user session was written too, so the next role needs nothing.
    assert sections(sandbox)["test-user-mfa"]["mfa_tui_source"] == "test-user"
    assert service.needs_code("readonly-role") is None
    service.refresh("readonly-role")
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_a_chained_role_from_nothing_assumes_each_hop_and_stores_them(
    sandbox: Sandbox, service: SessionService
) -> None:
    result = service.refresh("chained-role", code="123456")
    assert result.used_code
    assert sandbox.fault.actions() == ["GetSessionToken", "AssumeRole", "AssumeRole"]
    arns = [c["RoleArn"] for c in sandbox.fault.calls("AssumeRole")]
    assert arns == [sandbox.account.roles["my-test-role"], sandbox.account.roles["chained-role"]]
    stored = sections(sandbox)
    assert {"test-user-mfa", "my-test-role-mfa", "chained-role-mfa"} <= set(stored)
    assert ":assumed-role/my-test-role/" in identity(sandbox, "my-test-role-mfa")
    assert ":assumed-role/chained-role/" in identity(sandbox, "chained-role-mfa")


def test_the_session_profile_works_on_its_own_in_botocore(
    sandbox: Sandbox, service: SessionService
) -> None:
    service.refresh("my-test-role", code="123456")
    stored = sections(sandbox)["my-test-role-mfa"]
    # Region and endpoint travel with the session, so AWS_PROFILE alone is enough.
    assert stored["region"] == "us-east-1"
    assert stored["endpoint_url"] == sandbox.fault.url
    session = boto3.session.Session(profile_name="my-test-role-mfa")
    creds = session.get_credentials()
    assert creds is not None and creds.access_key == stored["aws_access_key_id"]
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert ":assumed-role/my-test-role/mfa-tui-test-user" in arn
    assert sandbox.fault.actions()[-1] == "GetCallerIdentity"


def test_credentials_serves_the_stored_session_until_it_expires(
    service: SessionService, clock: FrozenClock
) -> None:
    assert service.credentials("test-user") is None
    result = service.refresh("test-user", code="123456")
    creds = service.credentials("test-user")
    assert creds is not None and creds.expiration == result.expiration
    assert creds.secret_access_key not in repr(creds)
    assert creds.session_token not in repr(creds)
    clock.advance((result.expiration - clock.now()).total_seconds() + 1)
    assert service.credentials("test-user") is None


# --- when to refresh -------------------------------------------------------------------


def test_a_valid_session_is_kept_unless_forced_or_too_short(
    sandbox: Sandbox, service: SessionService, clock: FrozenClock
) -> None:
    first = service.refresh("test-user", code="123456")
    again = service.refresh("test-user", code="654321")
    assert not again.refreshed and "still valid" in again.message
    assert again.expiration == first.expiration
    assert sandbox.fault.actions().count("GetSessionToken") == 1
    forced = service.refresh("test-user", code="654321", force=True)
    assert forced.refreshed
    assert sandbox.fault.actions().count("GetSessionToken") == 2
    clock.advance(12 * 3600 - 15 * 60)  # 15 min left: outside the 10-min margin
    kept = service.refresh("test-user", code="111222")
    assert not kept.refreshed
    renewed = service.refresh("test-user", code="111222", min_valid=16 * 60)
    assert renewed.refreshed


def test_concurrent_refreshes_of_one_profile_make_one_call(
    sandbox: Sandbox, service: SessionService, make_service: ServiceFactory
) -> None:
    service.refresh("test-user", code="123456")
    sandbox.fault.always = stsfault.Fault(delay=0.3, passthrough=True)
    errors: list[Exception] = []

    def worker() -> None:
        try:
            # A fresh service per thread, as the dashboard's workers do.
            make_service().refresh("my-test-role", force=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    assert sandbox.fault.actions().count("AssumeRole") == 1


# --- codes -------------------------------------------------------------------------


def test_wrong_code_is_exit_4_and_writes_nothing(sandbox: Sandbox, service: SessionService) -> None:
    before = snapshot(sandbox)
    sandbox.fault.queue(stsfault.invalid_code())
    with pytest.raises(InvalidMfaCodeError) as info:
        service.refresh("my-test-role", code="246810")
    assert int(info.value.exit_code) == 4
    # mfa-tui never sent that code before, so the refusal is not a reused code: it says
    # so instead of "wait for the next code".
    assert "is not the code test-user" in info.value.message
    assert "has not sent it before" in info.value.message
    assert "wait for the next code" not in info.value.message.lower()
    assert "246810" not in info.value.message
    assert snapshot(sandbox) == before


def test_a_typed_code_is_never_sent_twice(sandbox: Sandbox, service: SessionService) -> None:
    service.refresh("test-user", code="123456")
    with pytest.raises(UsageError, match="already used"):
        service.refresh("test-user", code="123 456", force=True)
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_a_code_that_is_not_six_digits_is_refused_before_anything(
    sandbox: Sandbox, service: SessionService
) -> None:
    for bad in ("12345", "1234567", "12a456", ""):
        with pytest.raises(UsageError, match="6 digits"):
            service.refresh("test-user", code=bad)
    assert sandbox.fault.actions() == []


def test_soft_token_retries_once_on_the_next_step(
    sandbox: Sandbox,
    service: SessionService,
    keyring: MemoryKeyring,
    clock: FrozenClock,
    sleeps: list[float],
) -> None:
    serial, code = service.devices.store_seed("test-user", sandbox.test_user.seed.lower())
    totp = pyotp.TOTP(sandbox.test_user.seed)
    assert serial == sandbox.test_user.mfa_serial and code == totp.at(clock.now())
    assert keyring.store[("mfa-tui", serial)] == sandbox.test_user.seed
    assert service.needs_code("test-user") is None
    assert service.needs_code("my-test-role") is None
    # AWS says the first code was bad (another tool used it): one retry, next step.
    sandbox.fault.queue(stsfault.invalid_code("GetSessionToken"))
    started = clock.now()
    result = service.refresh("my-test-role")
    assert result.refreshed and result.used_code
    codes = [c["TokenCode"] for c in sandbox.fault.calls("GetSessionToken")]
    step = int(started.timestamp() // 30)
    assert codes == [totp.at(step * 30), totp.at((step + 1) * 30)]
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 30.1
    # The step just used is never used again, even by a forced refresh right away.
    service.refresh("test-user", force=True)
    third = sandbox.fault.calls("GetSessionToken")[2]["TokenCode"]
    assert third == totp.at((step + 2) * 30)
    assert len(sleeps) == 2


@pytest.mark.parametrize("ahead", [95, 20 * 60])
def test_a_soft_token_retry_uses_aws_time_when_our_clock_is_ahead(
    sandbox: Sandbox,
    service: SessionService,
    clock: FrozenClock,
    sleeps: list[float],
    tmp_path: Path,
    ahead: int,
) -> None:
    # Our clock is `ahead` seconds fast; AWS refuses the code made on it, and its Date
    # header says what AWS's time is. The retry is made for AWS's time at once: the
    # refused code's step is one AWS never reached, not one to wait for (before, 20
    # minutes fast meant a silent 20-minute wait, and a mark 20 minutes in the future
    # that made every later refresh wait too).
    sandbox.fault.date_header = format_datetime(datetime.now(UTC) - timedelta(seconds=ahead), True)
    service.devices.store_seed("test-user", sandbox.test_user.seed)
    sandbox.fault.queue(stsfault.invalid_code("GetSessionToken"))
    service.refresh("test-user")
    assert all(s <= 30.5 for s in sleeps), sleeps
    serial = sandbox.test_user.mfa_serial
    aws_step = int((clock.time() - ahead) // 30)
    stored = UsedCodes(tmp_path / "state" / "codes.json").last_step(serial)
    assert abs(stored - aws_step) <= 1, "the mark is in AWS's time, never ahead of it"
    sent = sandbox.fault.calls("GetSessionToken")[1]["TokenCode"]
    assert sent == pyotp.TOTP(sandbox.test_user.seed).at(stored * 30)
    # The clock is fixed: a refresh that needs a code goes at once.
    SERVER_CLOCK.reset()
    sandbox.fault.date_header = None
    clock.advance(-ahead)
    sleeps.clear()
    service.refresh("test-user", force=True)
    assert all(s <= 30.5 for s in sleeps), sleeps


def test_a_step_used_by_another_process_is_waited_out(
    sandbox: Sandbox, service: SessionService, clock: FrozenClock, tmp_path: Path
) -> None:
    service.devices.store_seed("test-user", sandbox.test_user.seed)
    step = int(clock.time() // 30)
    other = UsedCodes(tmp_path / "state" / "codes.json")  # the same file, another process
    assert other.claim_step(sandbox.test_user.mfa_serial, step)
    service.refresh("test-user")
    sent = sandbox.fault.calls("GetSessionToken")[0]["TokenCode"]
    assert sent == pyotp.TOTP(sandbox.test_user.seed).at((step + 1) * 30)
    assert int(clock.time() // 30) == step + 1, "waited for the next step"


def test_two_rejected_soft_token_codes_say_the_seed_or_clock_is_wrong(
    sandbox: Sandbox, service: SessionService
) -> None:
    service.devices.store_seed("test-user", sandbox.test_user.seed)
    before = snapshot(sandbox)
    sandbox.fault.always = stsfault.invalid_code()
    with pytest.raises(SeedRefusedError, match="seed may not belong") as info:
        service.refresh("test-user")
    assert info.value.mfa_serial == sandbox.test_user.mfa_serial
    assert sandbox.fault.actions() == ["GetSessionToken", "GetSessionToken"]
    assert snapshot(sandbox) == before


def test_a_refused_seed_is_not_tried_again_until_a_new_one_is_stored(
    sandbox: Sandbox, service: SessionService, tmp_path: Path
) -> None:
    service.devices.store_seed("test-user", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")  # not its seed
    sandbox.fault.always = stsfault.invalid_code()
    with pytest.raises(SeedRefusedError):
        service.refresh("test-user")
    sandbox.fault.always = None
    calls = len(sandbox.fault.actions())
    # The refused seed is skipped (no step spent on it): a person's code is needed now.
    assert service.needs_code("test-user") is not None
    with pytest.raises(NeedsCodeError):
        service.refresh("test-user", force=True)
    assert len(sandbox.fault.actions()) == calls
    state = (tmp_path / "state" / "codes.json").read_text()
    assert "JBSWY3DP" not in state  # only a fingerprint is kept
    # The right seed, stored again, is tried (and works).
    service.devices.store_seed("test-user", sandbox.test_user.seed)
    assert service.needs_code("test-user") is None
    service.refresh("test-user", force=True)
    assert service.devices.used_codes.refused_serials() == set()


def test_no_code_source_is_needs_code_with_the_ways_to_give_one(
    sandbox: Sandbox, service: SessionService
) -> None:
    with pytest.raises(NeedsCodeError) as info:
        service.refresh("my-test-role")
    assert int(info.value.exit_code) == 3
    for words in ("--code", "mfa-tui totp set test-user", "code_command"):
        assert words in info.value.message
    assert sandbox.fault.actions() == []


def test_the_prompt_is_asked_with_the_device_and_the_user(
    sandbox: Sandbox, make_service: ServiceFactory
) -> None:
    asked: list[CodeRequest] = []

    def prompt(request: CodeRequest) -> str:
        asked.append(request)
        return "987 654"

    service = make_service(code_prompt=prompt)
    service.refresh("readonly-role")
    assert asked == [CodeRequest("readonly-role", sandbox.test_user.mfa_serial, "test-user")]
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "987654"


def test_code_command_runs_in_a_shell_and_is_a_silent_source(
    sandbox: Sandbox, make_service: ServiceFactory, tmp_path: Path
) -> None:
    seen = tmp_path / "seen"
    command = f"echo \"$MFA_TUI_MFA_SERIAL\" > {seen}; printf 'code: 314 159\\n314159\\n' | tail -1"
    service = make_service(settings=Settings(code_command=command))
    assert service.needs_code("test-user") is None
    service.refresh("test-user")
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "314159"
    assert seen.read_text().strip() == sandbox.test_user.mfa_serial


def test_aws_vault_mfa_process_is_honoured(sandbox: Sandbox, service: SessionService) -> None:
    edit_config(
        sandbox, "[profile test-user]\n", "[profile test-user]\nmfa_process = echo 271828\n"
    )
    service.refresh("test-user")
    assert sandbox.fault.calls("GetSessionToken")[0]["TokenCode"] == "271828"


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "exit_code", "words"),
    [
        (
            stsfault.error(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                403,
            ),
            AwsRefusedError,
            4,
            "access key of profile 'test-user' is not valid",
        ),
        (
            stsfault.error("SignatureDoesNotMatch", "The request signature we calculated", 403),
            AwsRefusedError,
            4,
            "aws configure --profile test-user",
        ),
        (EXPIRED_TOKEN, AwsRefusedError, 4, "expired"),
        (stsfault.error("Throttling", "Rate exceeded", 400), AwsRefusedError, 4, "throttling"),
        (stsfault.error("InternalFailure", "oops", 500), NetworkError, 5, "internal error"),
        (
            stsfault.Fault(status=200, body=b"<html>captive portal</html>"),
            NetworkError,
            5,
            "not an AWS response",
        ),
    ],
)
def test_sts_failures_map_to_messages_and_leave_files_alone(
    sandbox: Sandbox,
    service: SessionService,
    monkeypatch: pytest.MonkeyPatch,
    fault: stsfault.Fault,
    error: type[MfaTuiError],
    exit_code: int,
    words: str,
) -> None:
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "2")  # throttling backs off for real
    before = snapshot(sandbox)
    sandbox.fault.always = fault
    with pytest.raises(error) as info:
        service.refresh("my-test-role", code="123456")
    assert words in info.value.message
    assert int(info.value.exit_code) == exit_code
    assert sandbox.test_user.secret_access_key not in info.value.message
    assert snapshot(sandbox) == before


def test_assume_role_denied_names_the_role_and_writes_nothing(
    sandbox: Sandbox, service: SessionService
) -> None:
    service.refresh("test-user", code="123456")
    before = snapshot(sandbox)
    sandbox.fault.queue(
        stsfault.error(
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/test-user is not authorized to perform: "
            "sts:AssumeRole",
            403,
            action="AssumeRole",
        )
    )
    with pytest.raises(AwsRefusedError) as info:
        service.refresh("my-test-role")
    assert sandbox.account.roles["my-test-role"] in info.value.message
    assert "trust policy" in info.value.message
    assert int(info.value.exit_code) == 4
    assert snapshot(sandbox) == before


def test_a_user_session_got_before_a_refused_role_is_kept(
    sandbox: Sandbox, service: SessionService
) -> None:
    # The code is spent either way; keeping the session spares the person another one.
    sandbox.fault.queue(stsfault.error("AccessDenied", "not authorized", 403, action="AssumeRole"))
    with pytest.raises(AwsRefusedError):
        service.refresh("my-test-role", code="123456")
    stored = sections(sandbox)
    assert "test-user-mfa" in stored and "my-test-role-mfa" not in stored


def test_a_stored_session_aws_refuses_is_replaced_by_a_new_user_session(
    sandbox: Sandbox, service: SessionService, clock: FrozenClock
) -> None:
    service.refresh("test-user", code="123456")
    old = sections(sandbox)["test-user-mfa"]["mfa_tui_refreshed"]
    service.devices.store_seed("test-user", sandbox.test_user.seed)
    clock.advance(60)
    sandbox.fault.queue(EXPIRED_TOKEN)  # the stored user session was revoked
    result = service.refresh("my-test-role")
    assert result.refreshed and result.used_code
    assert sandbox.fault.actions() == [
        "GetSessionToken",
        "AssumeRole",
        "GetSessionToken",
        "AssumeRole",
    ]
    assert sections(sandbox)["test-user-mfa"]["mfa_tui_refreshed"] != old


def test_a_refused_stored_session_without_a_code_source_needs_a_code(
    sandbox: Sandbox, service: SessionService
) -> None:
    service.refresh("test-user", code="123456")
    sandbox.fault.queue(EXPIRED_TOKEN)
    with pytest.raises(NeedsCodeError):
        service.refresh("my-test-role")


def test_a_dead_endpoint_fails_fast_with_a_network_error(
    sandbox: Sandbox, service: SessionService
) -> None:
    url = sandbox.fault.url
    sandbox.fault.stop()  # the port is closed now
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        service.refresh("test-user", code="123456")
    assert time.monotonic() - started < 5
    assert "cannot reach STS" in info.value.message and url in info.value.message
    assert int(info.value.exit_code) == 5


def test_a_slow_endpoint_times_out(
    sandbox: Sandbox, service: SessionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFA_TUI_STS_TIMEOUT", "0.5")
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "2")
    sandbox.fault.always = stsfault.Fault(delay=1.5, passthrough=True)
    started = time.monotonic()
    with pytest.raises(NetworkError, match="did not answer in time"):
        service.refresh("test-user", code="123456")
    assert time.monotonic() - started < 4


def test_cancel_stops_before_any_call(sandbox: Sandbox, service: SessionService) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        service.refresh("test-user", code="123456", cancel=cancel)
    assert sandbox.fault.actions() == []


# --- durations -----------------------------------------------------------------------


def test_a_long_role_duration_is_capped_to_an_hour_and_said(
    sandbox: Sandbox, service: SessionService
) -> None:
    edit_config(
        sandbox,
        "[profile readonly-role]\n",
        "[profile readonly-role]\nduration_seconds = 43200\n",
    )
    service.refresh("test-user", code="123456")
    result = service.refresh("readonly-role")
    call = sandbox.fault.calls("AssumeRole")[-1]
    assert call["DurationSeconds"] == "3600" and "TokenCode" not in call
    assert not result.used_code
    assert "capped to 3600 s (role chaining limit" in result.message


def test_an_explicit_long_duration_assumes_the_role_directly_with_a_code(
    sandbox: Sandbox, service: SessionService
) -> None:
    result = service.refresh("my-test-role", code="654321", duration=7200)
    assert sandbox.fault.actions() == ["AssumeRole"]
    call = sandbox.fault.calls("AssumeRole")[0]
    assert call["DurationSeconds"] == "7200"
    assert call["TokenCode"] == "654321"
    assert call["SerialNumber"] == sandbox.test_user.mfa_serial
    assert result.used_code and "assumed directly with MFA for 7200 s" in result.message
    assert "test-user-mfa" not in sections(sandbox)


def test_a_refused_duration_is_retried_once_with_the_largest_allowed(
    sandbox: Sandbox, service: SessionService
) -> None:
    service.devices.store_seed("test-user", sandbox.test_user.seed)
    sandbox.fault.queue(stsfault.error("ValidationError", stsfault.ROLE_MAX, action="AssumeRole"))
    result = service.refresh("my-test-role", duration=43200)
    calls = sandbox.fault.calls("AssumeRole")
    assert [c["DurationSeconds"] for c in calls] == ["43200", "3600"]
    assert calls[0]["TokenCode"] != calls[1]["TokenCode"], "a new code for the retry"
    assert "capped to 3600 s (the role's maximum session duration" in result.message
    assert result.expiration is not None


def test_a_refused_duration_with_a_typed_code_says_what_to_ask_for(
    sandbox: Sandbox, service: SessionService
) -> None:
    before = snapshot(sandbox)
    sandbox.fault.queue(stsfault.error("ValidationError", stsfault.ROLE_MAX, action="AssumeRole"))
    with pytest.raises(DurationTooLongError) as info:
        service.refresh("my-test-role", code="123456", duration=43200)
    assert "--duration 3600" in info.value.message
    assert int(info.value.exit_code) == 4
    assert sandbox.fault.actions() == ["AssumeRole"]
    assert snapshot(sandbox) == before


@pytest.mark.parametrize(
    ("profile", "duration", "words"),
    [
        ("test-user", 899, "900..129600 seconds; --duration is 899"),
        ("test-user", 0, "--duration is 0"),
        ("test-user", 129601, "--duration is 129601"),
        ("my-test-role", 43201, "900..43200 seconds; --duration is 43201"),
    ],
)
def test_an_out_of_range_duration_is_refused_before_any_call(
    sandbox: Sandbox, service: SessionService, profile: str, duration: int, words: str
) -> None:
    with pytest.raises(UsageError, match=words.replace(".", r"\.")):
        service.refresh(profile, code="123456", duration=duration)
    assert sandbox.fault.actions() == []


def test_a_bad_duration_or_session_name_in_the_config_is_named(
    sandbox: Sandbox, service: SessionService
) -> None:
    edit_config(
        sandbox, "[profile readonly-role]\n", "[profile readonly-role]\nduration_seconds = 100\n"
    )
    # STS would refuse it: it is set aside with a note naming it, the default is used.
    result = service.refresh("readonly-role", code="123456")
    config = sandbox.paths.config
    line = config.read_text().splitlines().index("duration_seconds = 100") + 1
    assert (
        f"duration_seconds = 100 ({config}:{line}) is outside 900..43200 seconds; it is "
        "ignored" in result.message
    )
    assert sandbox.fault.calls("AssumeRole")[-1]["DurationSeconds"] == "3600"
    sandbox.fault.clear()
    edit_config(
        sandbox,
        "[profile my-test-role]\n",
        "[profile my-test-role]\nrole_session_name = has spaces\n",
    )
    with pytest.raises(UsageError, match="role_session_name"):
        service.refresh("my-test-role", code="123456")
    assert "AssumeRole" not in sandbox.fault.actions()


def test_external_id_and_session_name_are_sent(sandbox: Sandbox, service: SessionService) -> None:
    edit_config(
        sandbox,
        "[profile readonly-role]\n",
        "[profile readonly-role]\nexternal_id = partner-42\nrole_session_name = alice@example\n",
    )
    service.refresh("readonly-role", code="123456")
    call = sandbox.fault.calls("AssumeRole")[0]
    assert call["ExternalId"] == "partner-42"
    assert call["RoleSessionName"] == "alice@example"


# --- the MFA device --------------------------------------------------------------------


def _drop_ops_serial(sandbox: Sandbox) -> str:
    serial = sandbox.account.users["ops-user"].mfa_serial
    edit_config(sandbox, f"mfa_serial = {serial}\n", "")
    return serial


def test_the_device_on_a_role_serves_its_user(sandbox: Sandbox, service: SessionService) -> None:
    # The AWS-SETUP.md config: the user's own profile names no device, its roles do.
    serial = sandbox.test_user.mfa_serial
    text = sandbox.paths.config.read_text()
    head, sep, rest = text.partition("[profile test-user]\n")
    section, nxt, tail = rest.partition("\n[")
    sandbox.paths.config.write_text(
        head + sep + section.replace(f"mfa_serial = {serial}\n", "") + nxt + tail
    )
    service.reload()
    assert service.profile("test-user").mfa_serial is None
    assert service.profile("my-test-role").mfa_serial == serial
    service.refresh("test-user", code="123456")
    assert sandbox.fault.calls("GetSessionToken")[0]["SerialNumber"] == sandbox.test_user.mfa_serial
    assert "ListMFADevices" not in sandbox.fault.actions()


def test_an_unconfigured_device_is_found_and_saved_on_request(
    sandbox: Sandbox, service: SessionService
) -> None:
    serial = _drop_ops_serial(sandbox)
    before = sandbox.paths.config.read_bytes()
    result = service.refresh("ops-user", code="123456", save_serial=True)
    assert sandbox.fault.calls("GetSessionToken")[0]["SerialNumber"] == serial
    assert f"saved mfa_serial = {serial}" in result.message
    after = sandbox.paths.config.read_bytes()
    # One line added to [profile ops-user]; every other byte as it was.
    assert after.replace(f"mfa_serial = {serial}\n".encode(), b"", 1) == before
    assert service.profile("ops-user").mfa_serial == serial


def test_a_found_device_is_not_written_without_save_serial(
    sandbox: Sandbox, service: SessionService
) -> None:
    serial = _drop_ops_serial(sandbox)
    before = sandbox.paths.config.read_bytes()
    request = service.needs_code("ops-user")
    assert request is not None and request.mfa_serial == serial
    result = service.refresh("ops-user", code="123456")
    assert "--save-serial" in result.message
    assert sandbox.paths.config.read_bytes() == before
    # Found once per process, not on every call.
    assert sandbox.fault.actions().count("GetCallerIdentity") == 1


def test_no_device_or_several_devices_are_clear_errors(
    sandbox: Sandbox, service: SessionService
) -> None:
    serial = _drop_ops_serial(sandbox)
    iam = boto3.client(
        "iam",
        endpoint_url=sandbox.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.deactivate_mfa_device(UserName="ops-user", SerialNumber=serial)
    with pytest.raises(MfaTuiError, match="IAM lists no MFA device"):
        service.refresh("ops-user", code="123456")
    for name in ("ops-a", "ops-b"):
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
        iam.enable_mfa_device(
            UserName="ops-user",
            SerialNumber=device["SerialNumber"],
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )
    with pytest.raises(MfaTuiError, match="2 MFA devices") as info:
        service.refresh("ops-user", code="123456")
    assert "mfa_serial = ..." in info.value.message
    assert "GetSessionToken" not in sandbox.fault.actions()


# --- the active profile and background refresh --------------------------------------


def test_activate_mirrors_the_session_into_the_active_profile(
    sandbox: Sandbox, service: SessionService
) -> None:
    service.refresh("test-user", code="123456")
    result = service.activate("my-test-role")
    assert "switched mfa-tui to my-test-role" in result.message
    stored = sections(sandbox)
    active, role = stored["mfa-tui"], stored["my-test-role-mfa"]
    assert active["mfa_tui_source"] == "my-test-role"
    for key in ("aws_access_key_id", "aws_session_token", "expiration", "region"):
        assert active[key] == role[key]
    assert service.credentials("mfa-tui") is not None
    # A refresh of the active source renews the active profile too.
    service.refresh("my-test-role", force=True)
    stored = sections(sandbox)
    assert stored["mfa-tui"]["aws_session_token"] == stored["my-test-role-mfa"]["aws_session_token"]
    service.activate("readonly-role")
    assert sections(sandbox)["mfa-tui"]["mfa_tui_source"] == "readonly-role"
    # Activating a valid session makes no call.
    calls = len(sandbox.fault.actions())
    service.activate("my-test-role")
    assert len(sandbox.fault.actions()) == calls


def test_activate_refuses_to_overwrite_a_section_it_does_not_own(
    sandbox: Sandbox, make_service: ServiceFactory
) -> None:
    with sandbox.paths.credentials.open("a") as fh:
        fh.write("\n[mine]\naws_access_key_id = AKIAMINE\naws_secret_access_key = mine\n")
    service = make_service(settings=Settings(active_profile="mine"))
    before = sandbox.paths.credentials.read_bytes()
    with pytest.raises(MfaTuiError, match="not written by mfa-tui"):
        service.activate("test-user", code="123456")
    assert sandbox.paths.credentials.read_bytes() == before
    assert sandbox.fault.actions() == [], "refused before the code was spent"


def test_a_session_that_could_not_be_stored_is_refused_before_the_call(
    sandbox: Sandbox, service: SessionService
) -> None:
    with sandbox.paths.credentials.open("a") as fh:
        fh.write("\n[test-user-mfa]\naws_access_key_id = AKIAMYOWN\n")
    before = snapshot(sandbox)
    for name in ("test-user", "my-test-role", "chained-role"):
        with pytest.raises(MfaTuiError, match=r"\[test-user-mfa\] .* was not written by mfa-tui"):
            service.refresh(name, code="123456")
    assert sandbox.fault.actions() == []
    assert snapshot(sandbox) == before


def test_a_read_only_credentials_file_is_refused_before_the_call(
    sandbox: Sandbox, service: SessionService
) -> None:
    sandbox.paths.credentials.chmod(0o400)  # its mode counts, even for root
    with pytest.raises(MfaTuiError, match="read-only"):
        service.refresh("test-user", code="123456")
    assert sandbox.fault.actions() == []


def test_refresh_due_renews_what_needs_no_person_and_lists_the_rest(
    sandbox: Sandbox, service: SessionService, clock: FrozenClock
) -> None:
    service.refresh("test-user", code="123456", duration=3600)
    service.refresh("my-test-role")
    assert service.refresh_due() == []
    clock.advance(57 * 60)  # the user (1 h, margin 10 min) and role (margin 5 min) are due
    outcomes = {o.profile: o for o in service.refresh_due()}
    assert set(outcomes) == {"test-user", "my-test-role"}
    assert outcomes["my-test-role"].ok and outcomes["my-test-role"].result is not None
    waiting = outcomes["test-user"]
    assert not waiting.ok and waiting.needs_code is not None
    assert isinstance(waiting.error, NeedsCodeError)
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_refresh_due_renews_a_user_with_a_soft_token_before_its_roles(
    sandbox: Sandbox, service: SessionService, clock: FrozenClock
) -> None:
    service.devices.store_seed("test-user", sandbox.test_user.seed)
    service.refresh("my-test-role", duration=None)
    clock.advance(12 * 3600 - 5 * 60)  # everything is inside its margin or expired
    outcomes = service.refresh_due()
    assert [o.profile for o in outcomes] == ["test-user", "my-test-role"]
    assert all(o.ok for o in outcomes)
    # The role was assumed from the user session just renewed, not a code of its own.
    assert sandbox.fault.actions()[-2:] == ["GetSessionToken", "AssumeRole"]


def test_refresh_due_recovers_a_refused_user_session_in_its_parallel_pass(
    sandbox: Sandbox,
    service: SessionService,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service.devices.store_seed("test-user", sandbox.test_user.seed)
    service.refresh("my-test-role")
    # The stored user session is one AWS revoked (moto would take any key: the proxy
    # refuses it below, and the keys each AssumeRole is signed with are recorded).
    values = dict(sections(sandbox)["test-user-mfa"])
    fresh_key = values["aws_access_key_id"]
    values["aws_access_key_id"] = "ASIAREVOKEDREVOKED"
    write_section(sandbox.paths.credentials, "test-user-mfa", values)
    signed_with: list[str] = []
    real_assume = sts.assume_role

    def spy(profile: str, creds: sts.Credentials, **kwargs: Any) -> sts.Credentials:
        signed_with.append(creds.access_key_id)
        return real_assume(profile, creds, **kwargs)

    monkeypatch.setattr(sts, "assume_role", spy)
    clock.advance(58 * 60)  # the role is due; the user session (12 h) is not
    sandbox.fault.queue(
        stsfault.error("ExpiredToken", "The security token is expired", 400, action="AssumeRole")
    )
    outcomes = service.refresh_due()
    assert [(o.profile, o.ok) for o in outcomes] == [("my-test-role", True)], outcomes
    assert sandbox.fault.actions()[2:] == ["AssumeRole", "GetSessionToken", "AssumeRole"]
    assert signed_with == ["ASIAREVOKEDREVOKED", fresh_key], "the retry used the new session"
    assert sections(sandbox)["test-user-mfa"]["aws_access_key_id"] == fresh_key


def test_refresh_due_respects_auto_refresh_off(
    sandbox: Sandbox, make_service: ServiceFactory, clock: FrozenClock
) -> None:
    service = make_service(settings=Settings().with_profile("my-test-role", auto_refresh=False))
    service.refresh("my-test-role", code="123456")
    clock.advance(58 * 60)
    assert [o.profile for o in service.refresh_due()] == []


def test_a_session_profile_name_refreshes_its_owner(
    sandbox: Sandbox, service: SessionService
) -> None:
    service.refresh("test-user", code="123456")
    service.activate("my-test-role")
    result = service.refresh("mfa-tui", force=True)
    assert result.profile == "my-test-role"


def test_unknown_and_unmanaged_profiles_are_usage_errors(service: SessionService) -> None:
    with pytest.raises(UsageError, match="unknown profile 'nobody'"):
        service.refresh("nobody")
    with pytest.raises(UsageError, match="not one mfa-tui can refresh"):
        service.refresh("corp-sso")


def test_expiry_is_read_from_the_file_not_remembered(
    sandbox: Sandbox, service: SessionService
) -> None:
    service.refresh("test-user", code="123456")
    text = sandbox.paths.credentials.read_text()
    stored = sections(sandbox)["test-user-mfa"]["expiration"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sandbox.paths.credentials.write_text(text.replace(stored, past))
    service.reload()
    assert service.credentials("test-user") is None
    assert service.needs_code("my-test-role") is not None


def test_a_local_clock_far_from_aws_is_detected_and_said(
    sandbox: Sandbox, service: SessionService
) -> None:
    from mfa_tui.aws.sts import clock_warning

    SERVER_CLOCK.reset()
    try:
        sandbox.fault.date_header = stsfault.http_date(datetime.now(UTC) - timedelta(minutes=5))
        service.refresh("test-user", code="123456")
        warning = clock_warning()
        assert warning is not None and re.search(r"\b30[01] s ahead of AWS", warning)
        sandbox.fault.date_header = stsfault.http_date(datetime.now(UTC))
        service.refresh("test-user", code="654321", force=True)
        assert clock_warning() is None
    finally:
        SERVER_CLOCK.reset()


def test_many_role_refreshes_overlap_share_one_parse_and_one_connection_pool(
    sandbox: Sandbox,
    service: SessionService,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mfa_tui.aws import files as files_module
    from mfa_tui.core import sessions as sessions_module
    from mfa_tui.core import store as store_module

    service.refresh("test-user", code="123456")
    role = service.profile("my-test-role")
    names = [f"many-{i}" for i in range(sessions_module.REFRESH_POOL + 4)]
    with sandbox.paths.config.open("a") as fh:
        for name in names:
            fh.write(
                f"\n[profile {name}]\nsource_profile = test-user\nrole_arn = {role.role_arn}\n"
                f"endpoint_url = {role.values['endpoint_url']}\nregion = us-east-1\n"
            )
    parses: list[int] = []
    real_load = files_module.load_profiles

    def counting_load(*args: Any, **kwargs: Any) -> Any:
        parses.append(1)
        return real_load(*args, **kwargs)

    in_flight = [0, 0]  # now, most at once
    guard = threading.Lock()
    real_assume = sts.assume_role

    def overlapping(profile: str, creds: sts.Credentials, **kwargs: Any) -> sts.Credentials:
        with guard:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        try:
            time.sleep(0.05)  # a network's worth of waiting, so calls can overlap
            return real_assume(profile, creds, **kwargs)
        finally:
            with guard:
                in_flight[0] -= 1

    clients: list[int] = []
    real_client = sts._client

    def recording_client(*args: Any, **kwargs: Any) -> Any:
        client = real_client(*args, **kwargs)
        clients.append(id(client))
        return client

    monkeypatch.setattr(store_module, "load_profiles", counting_load)
    monkeypatch.setattr(sts, "assume_role", overlapping)
    monkeypatch.setattr(sts, "_client", recording_client)
    caplog.set_level("WARNING", logger="urllib3")
    outcomes = service.refresh_many(names)
    assert [(o.profile, o.ok) for o in outcomes] == [(n, True) for n in names]
    # The bounded pool: calls overlap, never more of them than the pool holds.
    assert in_flight[1] == sessions_module.REFRESH_POOL
    # One parse of the changed config for every worker, one after the batch is written;
    # not one a worker (the files did not change while they ran).
    assert len(parses) == 2
    # One client per source session serves the pool, built once even though every
    # worker asked for it at the same moment; it must hold a connection a worker.
    assert len(clients) == len(names) and len(set(clients)) == 1
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
    assert sandbox.fault.actions().count("AssumeRole") == len(names)
    stored = sections(sandbox)
    assert all(stored[f"{n}-mfa"]["mfa_tui_source"] == n for n in names)
