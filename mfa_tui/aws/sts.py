"""STS and IAM calls, and the translation of their failures into words a person can use.

This is the only module that imports boto3/botocore, and only inside functions: the
cached `credential-process` path and `mfa-tui list` never pay for them. Each call makes
its own boto3 Session (they are not thread-safe), built from the profile's name so the
endpoint is whatever botocore resolves for it (region, `AWS_ENDPOINT_URL_STS`,
`AWS_ENDPOINT_URL`, `endpoint_url` in config), but with explicit credentials so botocore
never runs its own MFA prompt or role assumption.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from mfa_tui.errors import AwsRefusedError, InvalidMfaCodeError, MfaTuiError, NetworkError

DEFAULT_REGION = "us-east-1"
INVALID_CODE_TEXT = "invalid MFA one time pass code"
CHAINED_ROLE_MAX = 3600


@dataclass(frozen=True)
class Credentials:
    """A key pair, with a token and expiry for temporary ones. Never printed whole."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None


class DurationTooLongError(MfaTuiError):
    """STS refused DurationSeconds (role maximum or the 1-hour chaining cap)."""

    exit_code = AwsRefusedError.exit_code

    def __init__(self, message: str, *, chained: bool) -> None:
        super().__init__(message, title="Duration too long")
        self.chained = chained


@dataclass
class ServerClock:
    """The `Date` header of the last STS answer, to detect a local clock that is off."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    server: datetime | None = None
    local: datetime | None = None

    def record(self, header: str | None) -> None:
        if not header:
            return
        try:
            server = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        with self.lock:
            self.server, self.local = server, datetime.now(UTC)

    def skew_seconds(self) -> float | None:
        """Local minus server time at the last answer (positive: local clock is ahead)."""
        with self.lock:
            if self.server is None or self.local is None:
                return None
            return (self.local - self.server).total_seconds()


SERVER_CLOCK = ServerClock()


def _timeouts() -> tuple[float, float]:
    # Bounded so a dead network fails in seconds; tests shorten it through the env.
    try:
        read = float(os.environ.get("MFA_TUI_STS_TIMEOUT", "8"))
    except ValueError:
        read = 8.0
    return min(3.0, read), read


def _client(service: str, profile: str, creds: Credentials) -> Any:
    import boto3
    import botocore.config
    import botocore.exceptions

    connect, read = _timeouts()
    try:
        session: Any = boto3.session.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound:
        session = boto3.session.Session()
    config = botocore.config.Config(
        connect_timeout=connect,
        read_timeout=read,
        retries={"total_max_attempts": 2, "mode": "standard"},
        user_agent_extra="mfa-tui",
    )
    client = session.client(
        service,
        region_name=session.region_name or DEFAULT_REGION,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=config,
    )
    client.meta.events.register(f"after-call.{service}", _record_date)
    return client


def _record_date(http_response: Any = None, **_: Any) -> None:
    if http_response is not None:
        SERVER_CLOCK.record(http_response.headers.get("Date"))


def _credentials(answer: dict[str, Any]) -> Credentials:
    c = answer["Credentials"]
    expiration = c["Expiration"]
    if isinstance(expiration, datetime) and expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    return Credentials(
        access_key_id=c["AccessKeyId"],
        secret_access_key=c["SecretAccessKey"],
        session_token=c["SessionToken"],
        expiration=expiration.astimezone(UTC) if isinstance(expiration, datetime) else None,
    )


@dataclass(frozen=True)
class CallContext:
    """Who is calling what, so an error can name the profile, role and device."""

    action: str
    profile: str
    key_profile: str
    role_arn: str | None = None
    mfa_serial: str | None = None
    with_session: bool = False


def _endpoint(client: Any) -> str:
    try:
        return str(client.meta.endpoint_url)
    except AttributeError:
        return "STS"


def translate(exc: Exception, ctx: CallContext, endpoint: str) -> MfaTuiError:
    """Map a botocore failure to one of our errors, with what to do next."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        text = str(error.get("Message", "")).strip()
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return _client_error(code, text, int(status or 0), ctx, endpoint)
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectTimeoutError):
        return NetworkError(
            f"{ctx.action} for '{ctx.profile}': STS at {endpoint} did not answer in time; "
            "check your network or VPN and try again"
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionClosedError):
        return NetworkError(
            f"{ctx.action} for '{ctx.profile}': cannot reach STS at {endpoint}; check your "
            "network, VPN or the profile's region/endpoint_url"
        )
    if isinstance(exc, ResponseParserError):
        return NetworkError(
            f"{ctx.action} for '{ctx.profile}': STS at {endpoint} sent an answer that is "
            "not an STS response (a proxy or captive portal in the way?)"
        )
    if isinstance(exc, bx.HTTPClientError):
        return NetworkError(
            f"{ctx.action} for '{ctx.profile}': network error talking to {endpoint}"
        )
    if isinstance(exc, bx.NoRegionError):
        return MfaTuiError(f"profile '{ctx.profile}' has no region; add 'region = ...' to it")
    if isinstance(exc, bx.BotoCoreError):
        return MfaTuiError(f"{ctx.action} for '{ctx.profile}' failed: {exc}")
    raise exc


def _client_error(
    code: str, text: str, status: int, ctx: CallContext, endpoint: str
) -> MfaTuiError:
    who = f"profile '{ctx.profile}'"
    device = ctx.mfa_serial or "your MFA device"
    if code == "AccessDenied" and INVALID_CODE_TEXT.lower() in text.lower():
        return InvalidMfaCodeError(
            f"AWS rejected the MFA code for {device} ({who}): it is wrong, or it was "
            "already used (each code works once). Wait for the next code and try again",
            code=code,
        )
    if code == "AccessDenied" and "multifactorauthentication" in text.lower().replace(" ", ""):
        return AwsRefusedError(
            f"AWS could not validate MFA device {device} for {who}: check that mfa_serial "
            "is the ARN of a device assigned to this user (see 'aws iam list-mfa-devices')",
            code=code,
            title="Wrong MFA device",
        )
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"):
        if ctx.with_session:
            return AwsRefusedError(
                f"the MFA session used for {who} is no longer accepted; refresh "
                f"'{ctx.key_profile}' with a new code",
                code=code,
            )
        part = "secret access key" if code == "SignatureDoesNotMatch" else "access key"
        return AwsRefusedError(
            f"the {part} of profile '{ctx.key_profile}' is not valid (deleted, deactivated or "
            "mistyped). Create a new access key in IAM and update the credentials file "
            "('aws configure --profile " + ctx.key_profile + "')",
            code=code,
            title="Invalid access key",
        )
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        if code == "RequestExpired":
            return AwsRefusedError(
                f"AWS says the request for {who} is expired: your computer's clock is "
                "probably wrong; sync it (e.g. 'timedatectl set-ntp true')",
                code=code,
                title="Clock",
            )
        return AwsRefusedError(
            f"the session used for {who} has expired; refresh '{ctx.key_profile}' with a "
            "new MFA code",
            code=code,
            title="Session expired",
        )
    if code == "ValidationError" and "durationseconds" in text.lower():
        chained = "chaining" in text.lower()
        return DurationTooLongError(f"{ctx.action} for {who}: {text}", chained=chained)
    if code in ("AccessDenied", "AccessDeniedException") and ctx.action == "AssumeRole":
        return AwsRefusedError(
            f"AWS denied AssumeRole on {ctx.role_arn} for {who}: the role's trust policy may "
            "require MFA (aws:MultiFactorAuthPresent) or may not trust this user; "
            f"AWS said: {text}",
            code=code,
            title="Access denied",
        )
    if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"):
        return AwsRefusedError(
            f"STS is throttling requests for {who}; mfa-tui retried and gave up. Wait a "
            "minute and try again",
            code=code,
            title="Throttled",
        )
    if status >= 500 or code in ("InternalFailure", "ServiceUnavailable", "InternalError"):
        return NetworkError(
            f"{ctx.action} for {who}: STS at {endpoint} had an internal error ({code or status}); "
            "try again in a moment"
        )
    return AwsRefusedError(f"{ctx.action} for {who} was refused: {code}: {text}", code=code)


def _call(client: Any, method: str, ctx: CallContext, **params: Any) -> dict[str, Any]:
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    try:
        result: dict[str, Any] = getattr(client, method)(**params)
        return result
    except (bx.ClientError, bx.BotoCoreError, ResponseParserError) as exc:
        raise translate(exc, ctx, _endpoint(client)) from None
    except (KeyError, ValueError, SyntaxError):
        # botocore's parsers fail this way on a body that is not an STS document
        # (an HTML error page from a proxy, a truncated answer).
        raise translate(ResponseParserError("unexpected body"), ctx, _endpoint(client)) from None


def get_session_token(
    profile: str, creds: Credentials, *, serial: str, code: str, duration: int
) -> Credentials:
    ctx = CallContext("GetSessionToken", profile, profile, mfa_serial=serial)
    client = _client("sts", profile, creds)
    answer = _call(
        client,
        "get_session_token",
        ctx,
        SerialNumber=serial,
        TokenCode=code,
        DurationSeconds=duration,
    )
    return _credentials(answer)


def assume_role(
    profile: str,
    creds: Credentials,
    *,
    key_profile: str,
    role_arn: str,
    session_name: str,
    duration: int,
    external_id: str | None = None,
    serial: str | None = None,
    code: str | None = None,
) -> Credentials:
    ctx = CallContext(
        "AssumeRole",
        profile,
        key_profile,
        role_arn=role_arn,
        mfa_serial=serial,
        with_session=creds.session_token is not None,
    )
    params: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": duration,
    }
    if external_id:
        params["ExternalId"] = external_id
    if serial and code:
        params["SerialNumber"] = serial
        params["TokenCode"] = code
    client = _client("sts", profile, creds)
    return _credentials(_call(client, "assume_role", ctx, **params))


def list_mfa_devices(profile: str, creds: Credentials) -> list[str]:
    """The MFA serials of the user who owns these keys."""
    ctx = CallContext("ListMFADevices", profile, profile)
    identity = _call(_client("sts", profile, creds), "get_caller_identity", ctx)
    arn = str(identity.get("Arn", ""))
    params = {"UserName": arn.rsplit("/", 1)[-1]} if ":user/" in arn else {}
    client = _client("iam", profile, creds)
    answer = _call(client, "list_mfa_devices", ctx, **params)
    return [str(d["SerialNumber"]) for d in answer.get("MFADevices", [])]
