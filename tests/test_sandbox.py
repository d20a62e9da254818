"""The shared sandbox: moto seeded with the MFA account, the AWS files, the STS fault proxy.

Everything here goes through real boto3 sessions built from the written profiles, so a
broken file, a wrong endpoint or a proxy that mangles the protocol fails here first,
not in some engine test. The `test_moto_*_fact` tests pin what moto does *not* check
(see mfa_tui/sandbox.py): if a moto upgrade starts validating, they say so.
"""

from __future__ import annotations

import base64
import json
import socket
import stat
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.parsers
import botocore.session
import pyotp
import pytest

from mfa_tui.sandbox import (
    INVALID_AUTHENTICATION_CODE,
    INVALID_CODE,
    INVALID_SERIAL,
    MotoServer,
    SandboxAccount,
    write_aws_files,
)
from tests import stsfault
from tests.moto_fixtures import Sandbox
from tests.stsfault import Fault, StsFaultServer

GST_FIXED_KEY = "AKIAIOSFODNN7EXAMPLE"  # moto's GetSessionToken answer, always


def sts(profile: str, attempts: int = 1, read_timeout: float = 5, **client: Any) -> Any:
    """An STS client for `profile` as botocore resolves it from the isolated AWS files."""
    config = botocore.config.Config(
        retries={"total_max_attempts": attempts, "mode": "standard"},
        connect_timeout=2,
        read_timeout=read_timeout,
    )
    return boto3.session.Session(profile_name=profile).client("sts", config=config, **client)


def session_client(creds: Any, endpoint_url: str) -> Any:
    """An STS client signing with temporary credentials, as the engine's sessions do."""
    return boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def direct(moto_account: SandboxAccount, moto_server: MotoServer, aws_dir: Path) -> SandboxAccount:
    """The account with AWS files pointing straight at moto (no proxy in between)."""
    write_aws_files(aws_dir, moto_account, moto_server.endpoint_url)
    return moto_account


# --- MotoServer ----------------------------------------------------------------------


def test_moto_server_binds_a_free_loopback_port_and_releases_it() -> None:
    server = MotoServer()
    with server:
        host, _, port = server.endpoint_url.removeprefix("http://").partition(":")
        assert host == "127.0.0.1" and int(port) > 0
        with socket.create_connection((host, int(port)), timeout=2):
            pass
        with pytest.raises(RuntimeError):
            server.start()
    assert not server.running
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=2):
        pass
    server.stop()  # idempotent


def test_reset_forgets_the_account(moto_server: MotoServer, moto_account: SandboxAccount) -> None:
    iam: Any = boto3.client(
        "iam",
        endpoint_url=moto_server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert len(iam.list_users()["Users"]) == 3
    moto_server.reset()
    assert iam.list_users()["Users"] == []


# --- seed_account --------------------------------------------------------------------


def test_seeded_account_has_mfa_users_and_mfa_roles(
    moto_server: MotoServer, moto_account: SandboxAccount
) -> None:
    account = moto_account
    iam: Any = boto3.client(
        "iam",
        endpoint_url=moto_server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert account.user_names == ("test-user", "ops-user")
    assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == [
        "new-user",
        "ops-user",
        "test-user",
    ]
    # new-user is where `mfa-tui setup` starts: keys, no MFA device.
    new = account.new_user
    assert new is not None and new.arn == f"arn:aws:iam::{account.account_id}:user/new-user"
    assert iam.list_mfa_devices(UserName="new-user")["MFADevices"] == []
    keys = iam.list_access_keys(UserName="new-user")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [new.access_key_id]
    assert new.secret_access_key not in repr(new)
    for name, user in account.users.items():
        assert user.arn == f"arn:aws:iam::{account.account_id}:user/{name}"
        devices = iam.list_mfa_devices(UserName=name)["MFADevices"]
        assert [d["SerialNumber"] for d in devices] == [user.mfa_serial]
        assert user.mfa_serial == f"arn:aws:iam::{account.account_id}:mfa/{name}"
        assert len(base64.b32decode(user.seed)) == 40  # a 64-character base32 seed
        assert user.code(at=1_000_000_000) == pyotp.TOTP(user.seed).at(1_000_000_000)
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        assert [k["AccessKeyId"] for k in keys] == [user.access_key_id]
        assert user.secret_access_key not in repr(user) and user.seed not in repr(user)

    mfa_condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    for name, max_session in (("my-test-role", 7200), ("readonly-role", 3600)):
        role = iam.get_role(RoleName=name)["Role"]
        assert role["Arn"] == account.roles[name]
        assert role["MaxSessionDuration"] == max_session
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{account.account_id}:root"}
        assert statement["Condition"] == mfa_condition
    chained = iam.get_role(RoleName="chained-role")["Role"]
    (statement,) = chained["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": account.roles["my-test-role"]}

    policy = iam.get_user_policy(UserName="test-user", PolicyName="assume-roles")
    document = policy["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    (statement,) = document["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert sorted(statement["Resource"]) == sorted(account.roles.values())


# --- write_aws_files -----------------------------------------------------------------


def test_aws_files_are_private_and_botocore_reads_every_profile(
    direct: SandboxAccount, moto_server: MotoServer, aws_dir: Path
) -> None:
    config_path, creds_path = aws_dir / "config", aws_dir / "credentials"
    for path in (config_path, creds_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # rewriting an existing, too-open file tightens it
    creds_path.chmod(0o644)
    assert write_aws_files(aws_dir, direct, moto_server.endpoint_url) == (config_path, creds_path)
    assert stat.S_IMODE(creds_path.stat().st_mode) == 0o600

    full = botocore.session.Session().full_config
    profiles = full["profiles"]
    assert set(profiles) == {
        "default",
        "test-user",
        "my-test-role",
        "readonly-role",
        "chained-role",
        "ops-user",
        "new-user",
        "corp-sso",
        "vault-tool",
    }
    for name, values in profiles.items():
        assert values["endpoint_url"] == moto_server.endpoint_url, name
    test = direct.users["test-user"]
    assert "mfa_serial" not in profiles["test-user"]  # found via the role profiles
    assert profiles["my-test-role"]["mfa_serial"] == test.mfa_serial
    assert profiles["ops-user"]["mfa_serial"] == direct.users["ops-user"].mfa_serial
    assert profiles["test-user"]["aws_secret_access_key"] == test.secret_access_key
    assert profiles["my-test-role"]["source_profile"] == "test-user"
    assert profiles["my-test-role"]["role_arn"] == direct.roles["my-test-role"]
    assert profiles["chained-role"]["source_profile"] == "my-test-role"
    assert profiles["ops-user"]["s3"] == {
        "max_concurrent_requests": "20",
        "addressing_style": "path",
    }
    assert "mfa_serial" not in profiles["new-user"]
    assert direct.new_user is not None
    assert profiles["new-user"]["aws_access_key_id"] == direct.new_user.access_key_id
    assert profiles["corp-sso"]["sso_session"] == "corp"
    assert full["sso_sessions"]["corp"]["sso_region"] == "us-east-1"
    assert profiles["vault-tool"]["credential_process"].startswith("/usr/local/bin/get-creds")
    assert full["services"]["local"]["sts"] == {"endpoint_url": moto_server.endpoint_url}
    text = config_path.read_text()
    assert "\n# " in text and "\n; " in text  # both comment styles


# --- real boto3 sessions against moto ------------------------------------------------


def test_session_token_then_assume_role_with_the_written_profiles(
    direct: SandboxAccount, moto_server: MotoServer
) -> None:
    user = direct.users["test-user"]
    client = sts("test-user")
    assert client.meta.endpoint_url == moto_server.endpoint_url
    assert client.get_caller_identity()["Arn"] == user.arn  # long-term keys are the user's

    answer = client.get_session_token(
        SerialNumber=user.mfa_serial, TokenCode=user.code(), DurationSeconds=3600
    )
    creds = answer["Credentials"]
    assert creds["AccessKeyId"] and creds["SessionToken"]
    left = creds["Expiration"] - datetime.now(UTC)
    assert timedelta(minutes=59) < left <= timedelta(hours=1)

    with_session = session_client(creds, moto_server.endpoint_url)
    role = with_session.assume_role(RoleArn=direct.roles["my-test-role"], RoleSessionName="me")
    assert role["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{direct.account_id}:assumed-role/my-test-role/me"
    )
    role_creds = role["Credentials"]
    assert role_creds["AccessKeyId"].startswith("ASIA")
    as_role = session_client(role_creds, moto_server.endpoint_url)
    assert as_role.get_caller_identity()["Arn"].endswith(":assumed-role/my-test-role/me")
    # and one more hop: role -> role
    chained = as_role.assume_role(RoleArn=direct.roles["chained-role"], RoleSessionName="me")
    assert ":assumed-role/chained-role/me" in chained["AssumedRoleUser"]["Arn"]


def _prompt_with(session: boto3.session.Session, code: Callable[[], str]) -> None:
    """Answer botocore's own MFA prompt (what `aws --profile my-test-role` would ask)."""
    resolver = session._session.get_component("credential_provider")
    resolver.get_provider("assume-role")._prompter = lambda _prompt: code()


@pytest.mark.parametrize("profile", ["my-test-role", "chained-role"])
def test_botocore_itself_assumes_the_role_profiles(direct: SandboxAccount, profile: str) -> None:
    session = boto3.session.Session(profile_name=profile)
    _prompt_with(session, direct.users["test-user"].code)
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert f":assumed-role/{profile}/" in arn


def test_ops_user_profile_gets_a_session_too(direct: SandboxAccount) -> None:
    ops = direct.users["ops-user"]
    client = sts("ops-user")
    assert client.meta.region_name == "eu-west-1"
    assert client.get_caller_identity()["Arn"] == ops.arn
    creds = client.get_session_token(SerialNumber=ops.mfa_serial, TokenCode=ops.code())
    assert creds["Credentials"]["SessionToken"]


# --- what moto does not check (documented in mfa_tui/sandbox.py and tests/stsfault.py) --


def test_moto_validates_no_code_serial_or_duration_fact(
    direct: SandboxAccount, moto_server: MotoServer
) -> None:
    client = sts("test-user")
    user = direct.users["test-user"]
    wrong = "000000" if user.code() != "000000" else "111111"
    for kwargs in (
        {"SerialNumber": user.mfa_serial, "TokenCode": wrong},
        {"SerialNumber": f"arn:aws:iam::{direct.account_id}:mfa/nobody", "TokenCode": "123456"},
        {},  # no MFA at all
        {"SerialNumber": user.mfa_serial, "TokenCode": "123456", "DurationSeconds": 200_000},
    ):
        assert client.get_session_token(**kwargs)["Credentials"]["AccessKeyId"] == GST_FIXED_KEY
    # botocore's own model checks still run before any request
    with pytest.raises(botocore.exceptions.ParamValidationError):
        client.get_session_token(SerialNumber=user.mfa_serial, TokenCode="12345")
    with pytest.raises(botocore.exceptions.ParamValidationError):
        client.get_session_token(DurationSeconds=899)

    # AssumeRole: no trust policy (no MFA, long-term keys), no MaxSessionDuration (7200)
    role = client.assume_role(
        RoleArn=direct.roles["my-test-role"], RoleSessionName="nomfa", DurationSeconds=43200
    )
    left = role["Credentials"]["Expiration"] - datetime.now(UTC)
    assert timedelta(hours=11, minutes=59) < left <= timedelta(hours=12)
    ghost = client.assume_role(
        RoleArn=f"arn:aws:iam::{direct.account_id}:role/does-not-exist", RoleSessionName="x1"
    )
    assert ghost["AssumedRoleUser"]["Arn"].endswith(":assumed-role/does-not-exist/x1")


def test_moto_default_expirations_and_session_identity_fact(
    direct: SandboxAccount, moto_server: MotoServer
) -> None:
    client = sts("test-user")
    user = direct.users["test-user"]
    creds = client.get_session_token(SerialNumber=user.mfa_serial, TokenCode=user.code())[
        "Credentials"
    ]
    assert creds["Expiration"].tzinfo is not None
    left = creds["Expiration"] - datetime.now(UTC)
    assert timedelta(hours=11, minutes=59) < left <= timedelta(hours=12)
    with_session = session_client(creds, moto_server.endpoint_url)
    # answers, but not as test-user: moto does not map session keys back to the user
    assert with_session.get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{direct.account_id}:user/moto"
    )
    role = with_session.assume_role(RoleArn=direct.roles["readonly-role"], RoleSessionName="me")
    left = role["Credentials"]["Expiration"] - datetime.now(UTC)
    assert timedelta(minutes=59) < left <= timedelta(hours=1)


# --- the fault proxy -----------------------------------------------------------------


ERRORS = [
    (stsfault.invalid_code(), 403, "AccessDenied", INVALID_CODE),
    (stsfault.invalid_serial(), 403, "AccessDenied", INVALID_SERIAL),
    (stsfault.expired_token(), 400, "ExpiredToken", stsfault.EXPIRED_TOKEN),
    (stsfault.invalid_client_token_id(), 403, "InvalidClientTokenId", stsfault.INVALID_TOKEN),
    (stsfault.session_credentials_gst(), 403, "AccessDenied", stsfault.SESSION_CREDS_GST),
    (stsfault.throttling(), 400, "Throttling", stsfault.RATE_EXCEEDED),
    (stsfault.internal_error(), 500, "InternalFailure", stsfault.INTERNAL),
    (stsfault.error("ServiceUnavailable", "busy", 503), 503, "ServiceUnavailable", "busy"),
    (stsfault.error("AccessDenied", "a < b & c"), 400, "AccessDenied", "a < b & c"),
]


@pytest.mark.parametrize(("fault", "status", "code", "message"), ERRORS)
def test_programmed_error_reaches_botocore_as_aws_would_send_it(
    sandbox: Sandbox, fault: Fault, status: int, code: str, message: str
) -> None:
    sandbox.fault.queue(fault)
    user = sandbox.test_user
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sts("test-user").get_session_token(SerialNumber=user.mfa_serial, TokenCode="123456")
    response = info.value.response
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"] == message  # trailing/double spaces kept
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    request_id = response["ResponseMetadata"]["RequestId"]
    assert request_id and response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == (
        request_id
    )
    assert sandbox.fault.actions() == ["GetSessionToken"]
    assert sandbox.fault.pending() == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (stsfault.chained_limit(), stsfault.CHAINED_LIMIT),
        (stsfault.role_max(), stsfault.ROLE_MAX),
    ],
)
def test_assume_role_validation_errors(sandbox: Sandbox, fault: Fault, message: str) -> None:
    sandbox.fault.queue(fault)
    client = sts("test-user")
    # an AssumeRole-only fault lets GetSessionToken by
    client.get_session_token()
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.assume_role(
            RoleArn=sandbox.account.roles["my-test-role"],
            RoleSessionName="me",
            DurationSeconds=7200,
        )
    assert info.value.response["Error"] == {
        "Type": "Sender",
        "Code": "ValidationError",
        "Message": message,
    }
    assert sandbox.fault.calls("AssumeRole")[0]["DurationSeconds"] == "7200"


def test_not_authorized_names_caller_and_role(sandbox: Sandbox) -> None:
    role = sandbox.account.roles["readonly-role"]
    sandbox.fault.queue(stsfault.not_authorized(sandbox.test_user.arn, role))
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sts("test-user").assume_role(RoleArn=role, RoleSessionName="me")
    message = info.value.response["Error"]["Message"]
    assert sandbox.test_user.arn in message and role in message


def test_garbled_body_is_a_parser_error(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.garbled())
    with pytest.raises(botocore.parsers.ResponseParserError):
        sts("test-user").get_session_token()


def test_captive_portal_html_at_200_escapes_as_a_bare_key_error(sandbox: Sandbox) -> None:
    # Surprising but true of botocore 1.44: the query parser looks up the result
    # wrapper and raises KeyError, not a botocore exception. Callers must catch it.
    sandbox.fault.queue(stsfault.garbled(body=stsfault.CAPTIVE_PORTAL))
    with pytest.raises(KeyError, match="GetSessionTokenResult"):
        sts("test-user").get_session_token()


def test_html_500_is_a_generic_client_error(sandbox: Sandbox) -> None:
    body = b"<html><body><b>Http/1.1 Service Unavailable</b></body></html>"
    sandbox.fault.queue(Fault(status=500, body=body, content_type="text/html"))
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sts("test-user").get_session_token()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert info.value.response["Error"]["Code"] == "500"


def test_plain_text_500_is_a_parser_error(sandbox: Sandbox) -> None:
    sandbox.fault.queue(Fault(status=500, body=b"Internal Server Error", content_type="text/plain"))
    with pytest.raises(botocore.parsers.ResponseParserError):
        sts("test-user").get_session_token()


def test_slow_answer_times_out_then_the_next_call_passes(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.slow(1.5))
    client = sts("test-user", read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        client.get_session_token()
    assert time.monotonic() - started < 1.2
    assert client.get_session_token()["Credentials"]["AccessKeyId"] == GST_FIXED_KEY
    assert sandbox.fault.actions() == ["GetSessionToken", "GetSessionToken"]


def test_slow_passthrough_still_answers(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.slow(0.4))
    started = time.monotonic()
    assert sts("test-user").get_session_token()["Credentials"]["AccessKeyId"] == GST_FIXED_KEY
    assert time.monotonic() - started >= 0.4


def test_dropped_connection(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.disconnect())
    with pytest.raises(
        (botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError)
    ):
        sts("test-user").get_session_token()


def test_first_call_fails_second_passes_through(sandbox: Sandbox) -> None:
    user = sandbox.test_user
    sandbox.fault.queue(stsfault.invalid_code("GetSessionToken"))
    client = sts("test-user")
    with pytest.raises(botocore.exceptions.ClientError):
        client.get_session_token(SerialNumber=user.mfa_serial, TokenCode="111111")
    creds = client.get_session_token(SerialNumber=user.mfa_serial, TokenCode="222222")
    assert creds["Credentials"]["AccessKeyId"] == GST_FIXED_KEY
    assert [c["TokenCode"] for c in sandbox.fault.calls("GetSessionToken")] == [
        "111111",
        "222222",
    ]


def test_queue_comes_before_always(sandbox: Sandbox) -> None:
    sandbox.fault.always = stsfault.throttling()
    sandbox.fault.queue(stsfault.passthrough())
    client = sts("test-user")
    assert client.get_session_token()["Credentials"]
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError, match="Throttling"):
            client.get_session_token()
    sandbox.fault.clear()
    assert sandbox.fault.actions() == []
    assert client.get_session_token()["Credentials"]


def test_botocore_retries_a_throttle_and_the_proxy_counts_both(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.throttling())
    answer = sts("test-user", attempts=2).get_session_token()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert sandbox.fault.actions() == ["GetSessionToken", "GetSessionToken"]


def test_requests_are_recorded_with_params_and_signing_key(sandbox: Sandbox) -> None:
    user = sandbox.test_user
    client = sts("test-user")
    creds = client.get_session_token(SerialNumber=user.mfa_serial, TokenCode="123456")
    with_session = session_client(creds["Credentials"], sandbox.fault.url)
    with_session.assume_role(RoleArn=sandbox.account.roles["my-test-role"], RoleSessionName="me")
    client.get_session_token()  # no MFA this time

    first, second, third = sandbox.fault.requests
    assert (first.action, second.action, third.action) == (
        "GetSessionToken",
        "AssumeRole",
        "GetSessionToken",
    )
    assert first.params["SerialNumber"] == user.mfa_serial
    assert first.params["TokenCode"] == "123456"
    assert first.params["Version"] == "2011-06-15"
    assert first.access_key_id == user.access_key_id and first.session_token is None
    # AssumeRole went out signed with the session, not the long-term keys
    assert second.access_key_id == GST_FIXED_KEY
    assert second.session_token == creds["Credentials"]["SessionToken"]
    assert "TokenCode" not in second.params and "SerialNumber" not in second.params
    assert "TokenCode" not in third.params
    assert first.at <= second.at <= third.at
    assert sandbox.fault.calls("AssumeRole") == [second.params]


def test_date_header_for_clock_skew(sandbox: Sandbox) -> None:
    skewed = stsfault.http_date(datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC))
    sandbox.fault.date_header = skewed
    client = sts("test-user")
    passed = client.get_session_token()  # a pass-through answer carries it too
    assert passed["ResponseMetadata"]["HTTPHeaders"]["date"] == skewed  # exactly one Date
    sandbox.fault.date_header = None
    server = datetime.now(UTC).replace(microsecond=0)
    sandbox.fault.queue(stsfault.signature_expired(server - timedelta(minutes=20), server))
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.get_session_token()
    response = info.value.response
    assert response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert response["Error"]["Message"].startswith("Signature expired: ")
    assert response["ResponseMetadata"]["HTTPHeaders"]["date"] == stsfault.http_date(server)


def test_stopped_proxy_refuses_even_pooled_connections(sandbox: Sandbox) -> None:
    client = sts("test-user")
    client.get_session_token()  # leaves a keep-alive connection in the pool
    sandbox.fault.stop()
    with pytest.raises(
        (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError)
    ):
        client.get_session_token()
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        sts("test-user").get_session_token()


def test_unreachable_upstream_is_a_bad_gateway(moto_server: MotoServer) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{free.getsockname()[1]}"
    with StsFaultServer(dead) as proxy:
        client = boto3.client(
            "sts",
            endpoint_url=proxy.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=botocore.config.Config(retries={"total_max_attempts": 1}),
        )
        with pytest.raises(botocore.exceptions.ClientError) as info:
            client.get_caller_identity()
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
        assert info.value.response["Error"]["Code"] == "502"
        assert proxy.actions() == ["GetCallerIdentity"]


def test_the_mfa_check_answers_codes_as_aws_does(
    moto_account: SandboxAccount, moto_server: MotoServer
) -> None:
    user = moto_account.users["test-user"]
    with MotoServer() as server:  # moto's state is per process: the same account
        client = boto3.client(
            "sts",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=user.access_key_id,
            aws_secret_access_key=user.secret_access_key,
            config=botocore.config.Config(retries={"total_max_attempts": 1}),
        )

        def refused(**kwargs: Any) -> str:
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                client.get_session_token(**kwargs)
            error = caught.value.response["Error"]
            assert (error["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
                "AccessDenied",
                403,
            )
            return str(error["Message"])

        # The check's clock stands still mid-step: no step ends between two calls.
        step = int(time.time() // 30)
        now = step * 30 + 15.0
        assert server.mfa is not None
        server.mfa.clock = lambda: now
        wrong = next(
            c
            for c in ("000000", "111111", "222222", "333333")
            if c not in {user.code((step + d) * 30) for d in (-1, 0, 1)}
        )
        # Until it knows the devices it is moto: any code goes.
        assert client.get_session_token(SerialNumber=user.mfa_serial, TokenCode=wrong)
        server.mfa.devices = {u.mfa_serial: u.seed for u in moto_account.users.values()}
        assert refused(SerialNumber=user.mfa_serial, TokenCode=wrong) == INVALID_CODE
        nobody = f"arn:aws:iam::{moto_account.account_id}:mfa/nobody"
        assert refused(SerialNumber=nobody, TokenCode=user.code(now)) == INVALID_SERIAL
        code = user.code(now)
        assert client.get_session_token(SerialNumber=user.mfa_serial, TokenCode=code)
        # Each code works once, and a used one reads as a wrong one (AWS's words).
        assert refused(SerialNumber=user.mfa_serial, TokenCode=code) == INVALID_CODE
        # A code from the step before still counts (a phone a little behind)...
        previous = user.code(now - 30)
        assert client.get_session_token(SerialNumber=user.mfa_serial, TokenCode=previous)
        # ...calls without MFA pass, and AssumeRole checks codes too.
        assert client.get_session_token()
        with pytest.raises(botocore.exceptions.ClientError, match="invalid MFA one time"):
            client.assume_role(
                RoleArn=moto_account.roles["my-test-role"],
                RoleSessionName="xy",
                SerialNumber=user.mfa_serial,
                TokenCode=wrong,
            )


def test_the_mfa_check_enables_a_device_only_with_two_consecutive_codes(
    moto_account: SandboxAccount,
) -> None:
    """What lets `mfa-tui setup` run end to end in the demo: a device made after the
    check started is known to it (from moto's IAM store), EnableMFADevice takes only two
    consecutive codes of it (IAM's error otherwise), and those codes are spent."""
    new = moto_account.new_user
    assert new is not None
    retries = botocore.config.Config(retries={"total_max_attempts": 1})
    with MotoServer() as server:  # moto's state is per process: the same account
        assert server.mfa is not None
        server.mfa.devices = {u.mfa_serial: u.seed for u in moto_account.users.values()}
        # The check's clock stands still mid-step: no step ends between two calls.
        step = int(time.time() // 30)
        server.mfa.clock = lambda: step * 30 + 15.0
        keys = {
            "aws_access_key_id": new.access_key_id,
            "aws_secret_access_key": new.secret_access_key,
        }
        iam: Any = boto3.client(
            "iam",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            config=retries,
            aws_access_key_id=keys["aws_access_key_id"],
            aws_secret_access_key=keys["aws_secret_access_key"],
        )
        sts: Any = boto3.client(
            "sts",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            config=retries,
            aws_access_key_id=keys["aws_access_key_id"],
            aws_secret_access_key=keys["aws_secret_access_key"],
        )
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName="new-user")["VirtualMFADevice"]
        serial, totp = device["SerialNumber"], pyotp.TOTP(device["Base32StringSeed"].decode())
        earlier, now = totp.at((step - 1) * 30), totp.at(step * 30)
        for codes in ((now, earlier), (earlier, earlier), ("123456", "654321")):
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                iam.enable_mfa_device(
                    UserName="new-user",
                    SerialNumber=serial,
                    AuthenticationCode1=codes[0],
                    AuthenticationCode2=codes[1],
                )
            answer = caught.value.response
            assert answer["Error"]["Code"] == "InvalidAuthenticationCode"
            assert answer["Error"]["Message"] == INVALID_AUTHENTICATION_CODE
            assert answer["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert iam.list_mfa_devices(UserName="new-user")["MFADevices"] == []
        iam.enable_mfa_device(
            UserName="new-user",
            SerialNumber=serial,
            AuthenticationCode1=earlier,
            AuthenticationCode2=now,
        )
        assert [
            d["SerialNumber"] for d in iam.list_mfa_devices(UserName="new-user")["MFADevices"]
        ] == [serial]
        # Its codes are checked at STS from now on; the two that enabled it are spent.
        with pytest.raises(botocore.exceptions.ClientError, match="invalid MFA one time"):
            sts.get_session_token(SerialNumber=serial, TokenCode=earlier)
        assert sts.get_session_token(SerialNumber=serial, TokenCode=totp.at((step + 1) * 30))
