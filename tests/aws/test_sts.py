"""STS/IAM calls against moto over HTTP, and AWS's refusals through the fault proxy.

Each refusal must become our error class with its exit code and words a person can act
on, and never carry a key, token or code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from mfa_tui.aws import deadline, sts
from mfa_tui.aws.sts import SERVER_CLOCK, CallPolicy, Credentials, DurationTooLongError
from mfa_tui.errors import (
    AwsRefusedError,
    InvalidMfaCodeError,
    MfaTuiError,
    NetworkError,
)
from tests import stsfault
from tests.moto_fixtures import Sandbox

CODE = "246813"


@pytest.fixture(autouse=True)
def fresh_server_clock() -> None:
    SERVER_CLOCK.reset()


def keys(sandbox: Sandbox) -> Credentials:
    user = sandbox.test_user
    return Credentials(user.access_key_id, user.secret_access_key)


def gst(sandbox: Sandbox, profile: str = "test-user", duration: int = 3600) -> Credentials:
    return sts.get_session_token(
        profile, keys(sandbox), serial=sandbox.test_user.mfa_serial, code=CODE, duration=duration
    )


def assume(
    sandbox: Sandbox,
    creds: Credentials,
    *,
    external_id: str | None = None,
    serial: str | None = None,
    code: str | None = None,
) -> Credentials:
    return sts.assume_role(
        "my-test-role",
        creds,
        key_profile="test-user",
        role_arn=sandbox.account.roles["my-test-role"],
        session_name="mfa-tui-test-user",
        duration=3600,
        external_id=external_id,
        serial=serial,
        code=code,
    )


def no_secret_in(sandbox: Sandbox, text: str) -> None:
    assert sandbox.test_user.secret_access_key not in text
    assert CODE not in text


def test_get_session_token_returns_aware_credentials(sandbox: Sandbox) -> None:
    creds = gst(sandbox, duration=1800)
    assert creds.session_token and creds.access_key_id
    assert creds.expiration is not None and creds.expiration.tzinfo is not None
    left = creds.expiration - datetime.now(UTC)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)
    call = sandbox.fault.calls("GetSessionToken")[0]
    assert call == {
        "Action": "GetSessionToken",
        "Version": "2011-06-15",
        "SerialNumber": sandbox.test_user.mfa_serial,
        "TokenCode": CODE,
        "DurationSeconds": "1800",
    }
    assert creds.secret_access_key not in repr(creds)


def test_assume_role_from_a_session_sends_no_code(sandbox: Sandbox) -> None:
    session = gst(sandbox)
    role = assume(sandbox, session, external_id="xid-1")
    assert role.access_key_id.startswith("ASIA")
    call = sandbox.fault.calls("AssumeRole")[0]
    assert call["ExternalId"] == "xid-1"
    assert "TokenCode" not in call and "SerialNumber" not in call


def test_assume_role_with_a_code_sends_serial_and_code(sandbox: Sandbox) -> None:
    assume(sandbox, keys(sandbox), serial=sandbox.test_user.mfa_serial, code=CODE)
    call = sandbox.fault.calls("AssumeRole")[0]
    assert call["SerialNumber"] == sandbox.test_user.mfa_serial and call["TokenCode"] == CODE


def test_the_endpoint_comes_from_the_environment_like_botocore(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A profile without endpoint_url: AWS_ENDPOINT_URL_STS decides, then AWS_ENDPOINT_URL.
    text = sandbox.paths.config.read_text()
    sandbox.paths.config.write_text(text + "\n[profile bare]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sandbox.fault.url)
    gst(sandbox, profile="bare")
    assert sandbox.fault.actions() == ["GetSessionToken"]
    monkeypatch.delenv("AWS_ENDPOINT_URL_STS")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.fault.url)
    gst(sandbox, profile="bare")
    assert sandbox.fault.actions() == ["GetSessionToken", "GetSessionToken"]


def test_the_date_header_is_remembered_for_clock_skew(sandbox: Sandbox) -> None:
    assert SERVER_CLOCK.skew_seconds() is None
    server_time = datetime.now(UTC) - timedelta(seconds=95)
    sandbox.fault.date_header = format_datetime(server_time, usegmt=True)
    gst(sandbox)
    skew = SERVER_CLOCK.skew_seconds()
    assert skew is not None and 93 <= skew <= 98


def test_list_mfa_devices_names_the_users_device(sandbox: Sandbox) -> None:
    assert sts.list_mfa_devices("test-user", keys(sandbox)) == [sandbox.test_user.mfa_serial]


def test_list_mfa_devices_denied_says_to_configure_the_serial(sandbox: Sandbox) -> None:
    sandbox.fault.queue(
        stsfault.error(
            "AccessDenied",
            "not authorized to perform iam:ListMFADevices",
            403,
            action="ListMFADevices",
        )
    )
    with pytest.raises(AwsRefusedError, match="mfa_serial = arn:aws:iam::<account>:mfa/"):
        sts.list_mfa_devices("test-user", keys(sandbox))


@pytest.mark.parametrize(
    ("fault", "error", "exit_code", "words"),
    [
        (stsfault.invalid_code(), InvalidMfaCodeError, 4, "wrong, or it was already used"),
        (
            stsfault.error(
                "AccessDenied",
                "MultiFactorAuthentication failed, unable to validate MFA code. Please verify "
                "your MFA serial number is valid and associated with this user.",
                403,
            ),
            AwsRefusedError,
            4,
            "check that mfa_serial is the ARN of a device assigned to this user",
        ),
        (
            stsfault.error("InvalidClientTokenId", "The security token is invalid.", 403),
            AwsRefusedError,
            4,
            "the access key of profile 'test-user' is not valid",
        ),
        (
            stsfault.error("SignatureDoesNotMatch", "The request signature ...", 403),
            AwsRefusedError,
            4,
            "secret access key of profile 'test-user'",
        ),
        (
            stsfault.error("ExpiredToken", "The security token included is expired", 400),
            AwsRefusedError,
            4,
            "has expired",
        ),
        (
            stsfault.error("RequestExpired", "Request has expired.", 400),
            AwsRefusedError,
            4,
            "clock is probably wrong",
        ),
        (
            # A request signed on a clock too far off: the clock, not the key.
            stsfault.signature_expired(
                datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 20, tzinfo=UTC)
            ),
            AwsRefusedError,
            4,
            "clock is probably wrong",
        ),
        (
            stsfault.error("RegionDisabledException", "STS is not activated", 403),
            AwsRefusedError,
            4,
            "not activated in this region",
        ),
        (stsfault.error("ServiceUnavailable", "busy", 503), NetworkError, 5, "internal error"),
        (stsfault.Fault(status=502, body=b"<html>Bad Gateway</html>"), NetworkError, 5, "502"),
        (
            stsfault.Fault(status=200, body=b"\x00\xffnot xml at all"),
            NetworkError,
            5,
            "not an AWS response",
        ),
        (
            stsfault.Fault(
                status=200,
                body=(
                    b'<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                    b"<GetSessionTokenResult></GetSessionTokenResult></GetSessionTokenResponse>"
                ),
            ),
            NetworkError,
            5,
            "without complete credentials",
        ),
    ],
)
def test_refusals_map_to_our_errors(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    fault: stsfault.Fault,
    error: type[MfaTuiError],
    exit_code: int,
    words: str,
) -> None:
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "2")
    sandbox.fault.always = fault
    with pytest.raises(error) as info:
        gst(sandbox)
    assert type(info.value) is error
    assert int(info.value.exit_code) == exit_code
    assert words in info.value.message
    no_secret_in(sandbox, info.value.message)


def test_assume_role_denied_names_the_role_and_the_trust_policy(sandbox: Sandbox) -> None:
    sandbox.fault.always = stsfault.error("AccessDenied", "not authorized", 403)
    with pytest.raises(AwsRefusedError) as info:
        assume(sandbox, keys(sandbox))
    assert sandbox.account.roles["my-test-role"] in info.value.message
    assert "trust policy may require MFA" in info.value.message


def test_a_refused_session_says_to_refresh_the_user(sandbox: Sandbox) -> None:
    session = gst(sandbox)
    sandbox.fault.always = stsfault.error("InvalidClientTokenId", "invalid", 403)
    with pytest.raises(AwsRefusedError, match="refresh 'test-user' with a new code"):
        assume(sandbox, session)


@pytest.mark.parametrize(
    ("message", "chained", "allowed"),
    [
        (stsfault.CHAINED_LIMIT, True, 3600),
        (stsfault.ROLE_MAX, False, None),
        (
            "1 validation error detected: Value '200000' at 'durationSeconds' failed to "
            "satisfy constraint: Member must have value less than or equal to 129600",
            False,
            129600,
        ),
    ],
)
def test_a_refused_duration_says_how_long_is_allowed(
    sandbox: Sandbox, message: str, chained: bool, allowed: int | None
) -> None:
    session = gst(sandbox)
    sandbox.fault.always = stsfault.error("ValidationError", message, 400)
    with pytest.raises(DurationTooLongError) as info:
        assume(sandbox, session)
    assert info.value.chained is chained
    assert info.value.max_allowed == allowed
    assert int(info.value.exit_code) == 4


def test_throttling_is_retried_then_reported(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "2")  # botocore backs off ~1 s per retry
    sandbox.fault.always = stsfault.error("Throttling", "Rate exceeded", 400)
    with pytest.raises(AwsRefusedError, match="throttling") as info:
        gst(sandbox)
    assert sandbox.fault.actions() == ["GetSessionToken", "GetSessionToken"]
    assert "retried 1 time(s)" in info.value.message


def test_a_server_error_is_retried_and_can_recover(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.error("InternalFailure", "oops", 500))
    assert gst(sandbox).session_token
    assert sandbox.fault.actions() == ["GetSessionToken", "GetSessionToken"]


def test_a_dead_port_fails_in_seconds_naming_the_endpoint(sandbox: Sandbox) -> None:
    url = sandbox.fault.url
    sandbox.fault.stop()
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        gst(sandbox)
    assert time.monotonic() - started < 3
    assert f"cannot reach STS at {url}" in info.value.message
    assert int(info.value.exit_code) == 5


def test_a_slow_endpoint_is_cut_off_by_the_read_timeout(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFA_TUI_STS_TIMEOUT", "0.4")
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "2")
    sandbox.fault.always = stsfault.Fault(delay=1.2, passthrough=True)
    started = time.monotonic()
    with pytest.raises(NetworkError, match="did not answer in time"):
        gst(sandbox)
    assert time.monotonic() - started < 2.5
    assert len(sandbox.fault.actions()) == 2


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll for something another thread does; the timeout only bounds a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.mark.parametrize("part", ["headers", "body", "chunks"])
def test_an_answer_that_trickles_is_given_up_at_the_deadline(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    # A byte every 0.1 s: every read gets data well inside its 2 s timeout, so botocore
    # alone would wait for the whole answer (minutes) and then retry.
    monkeypatch.setenv("MFA_TUI_STS_DEADLINE", "1.5")
    sandbox.fault.always = stsfault.trickle(0.1, part)
    started = time.monotonic()
    with pytest.raises(NetworkError, match=r"did not answer in full within 1\.5 s") as info:
        gst(sandbox)
    assert time.monotonic() - started < 10, "bounded by the deadline, not by the answer"
    assert int(info.value.exit_code) == 5
    no_secret_in(sandbox, info.value.message)
    # The call was dropped, not left to trickle: its connection is shut, its thread ends,
    # and botocore's retry of it is never sent.
    wait_until(lambda: sandbox.fault.trickles_cut == 1, "the trickling answer was cut off")
    wait_until(lambda: deadline.in_flight() == 0, "the dropped call's thread ended")
    assert sandbox.fault.actions() == ["GetSessionToken"]


def test_calls_within_the_deadline_are_untouched(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFA_TUI_STS_DEADLINE", "5")
    sandbox.fault.queue(stsfault.trickle(0.001, "chunks"))  # slow, but done in time
    creds = gst(sandbox)
    assert creds.session_token
    assert deadline.in_flight() == 0


def test_a_code_rejected_after_a_timed_out_attempt_says_it_may_be_spent(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFA_TUI_STS_TIMEOUT", "0.4")
    sandbox.fault.queue(stsfault.Fault(delay=1.0, passthrough=True), stsfault.invalid_code())
    with pytest.raises(InvalidMfaCodeError, match="earlier attempt of this call timed out"):
        gst(sandbox)


def test_a_malformed_endpoint_is_a_configuration_error(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = sandbox.paths.config.read_text()
    sandbox.paths.config.write_text(
        text + "\n[profile broken]\nregion = us-east-1\nendpoint_url = not a url\n"
    )
    with pytest.raises(MfaTuiError, match="cannot set up STS for profile 'broken'") as info:
        gst(sandbox, profile="broken")
    assert not isinstance(info.value, NetworkError | AwsRefusedError)


def test_the_call_policy_is_bounded_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    default = CallPolicy()
    assert default.connect_timeout <= 5 and default.read_timeout <= 5
    assert default.max_attempts == 3
    monkeypatch.setenv("MFA_TUI_STS_TIMEOUT", "1.5")
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "1")
    assert CallPolicy.from_env() == CallPolicy(1.5, 1.5, 1)
    monkeypatch.setenv("MFA_TUI_STS_TIMEOUT", "nonsense")
    monkeypatch.setenv("MFA_TUI_STS_ATTEMPTS", "99")
    # Ten attempts of 3 + 5 s with backoff between them: the deadline leaves room for all.
    assert CallPolicy.from_env() == CallPolicy(3.0, 5.0, 10, 98.0)
    monkeypatch.setenv("MFA_TUI_STS_DEADLINE", "4")
    assert CallPolicy.from_env().deadline == 4.0
    monkeypatch.setenv("MFA_TUI_STS_DEADLINE", "0")
    assert CallPolicy.from_env().deadline == 1.0, "never unbounded, never zero"


def test_calls_go_by_mfa_tuis_reading_of_the_files_not_botocores(sandbox: Sandbox) -> None:
    # One line botocore cannot parse, anywhere: botocore would fail every call
    # ("Unable to parse config file"); mfa-tui's reading skips that line alone.
    import botocore.exceptions
    import botocore.session

    with sandbox.paths.config.open("a") as fh:
        fh.write("\nnot a line botocore can parse\n")
    with pytest.raises(botocore.exceptions.ConfigParseError):
        botocore.session.Session(profile="test-user").get_scoped_config()
    gst(sandbox)
    assert sandbox.fault.actions() == ["GetSessionToken"]


def test_a_services_section_gives_the_endpoint_like_botocore(sandbox: Sandbox) -> None:
    with sandbox.paths.config.open("a") as fh:
        fh.write(
            "\n[profile svc]\nregion = eu-west-1\nservices = via-proxy\n\n"
            f"[services via-proxy]\nsts =\n  endpoint_url = {sandbox.fault.url}\n"
        )
    gst(sandbox, profile="svc")
    assert sandbox.fault.actions() == ["GetSessionToken"]
