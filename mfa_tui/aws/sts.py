"""STS and IAM calls, and the translation of their failures into words a person can use.

This is the only module that imports boto3/botocore, and only inside functions: the
cached `credential-process` path and `mfa-tui list` never pay for them. Clients come
from boto3 sessions that read no file: they are given the profile's connection settings
as mfa-tui parsed them (`connection.py`), so the endpoint is whatever botocore resolves
from those and the environment (region, `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`,
`endpoint_url`, a `services` section), and a line botocore could not parse somewhere in
the files costs nothing here. Credentials are always explicit, so botocore never runs
its own MFA prompt or role assumption.

Timeouts and retries are bounded (`CallPolicy`) so a dead network fails in seconds,
not minutes. No message built here ever contains a key, a token or a code.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from mfa_tui.aws import deadline
from mfa_tui.aws.connection import PROFILE as CONNECTION_PROFILE
from mfa_tui.aws.connection import Connection, connection_for
from mfa_tui.aws.files import load_profiles
from mfa_tui.errors import AwsRefusedError, InvalidMfaCodeError, MfaTuiError, NetworkError

# How many STS calls mfa-tui makes at once (role refreshes of one session overlap).
# A real call spends its 50-150 ms waiting on the network, so 32 at a time (Python's own
# ceiling for I/O thread pools) bring fifty roles home in two round trips: a burst
# STS's account-wide rate limit absorbs (a throttled call is retried with backoff),
# without a thread or a connection per role for someone with hundreds of them.
MAX_CONCURRENT_STS_CALLS = 32

DEFAULT_REGION = "us-east-1"
INVALID_CODE_TEXT = "invalid MFA one time pass code"
CHAINED_ROLE_MAX = 3600
# The calls mfa-tui makes to IAM (the rest go to STS), for messages that name the service.
IAM_ACTIONS = frozenset({"ListMFADevices", "ListAccountAliases"})
_MAX_IN_TEXT = re.compile(r"less than or equal to (\d+)|maximum (?:of |is )?(\d+)", re.I)


@dataclass(frozen=True)
class Credentials:
    """A key pair, with a token and expiry for temporary ones. Never printed whole."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None


@dataclass(frozen=True)
class CallPolicy:
    """How long one STS/IAM call may take, in the worst case.

    botocore's defaults (60 s read timeout, legacy retries) turn a dead VPN into a
    multi-minute hang; these fail in seconds. Its timeouts bound each read, though, not
    the call, so `deadline` bounds the whole call, retries included (`mfa_tui.aws.
    deadline`). `MFA_TUI_STS_TIMEOUT` (read timeout, seconds), `MFA_TUI_STS_ATTEMPTS`
    and `MFA_TUI_STS_DEADLINE` (seconds) override them, for slow links and for tests.
    """

    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    max_attempts: int = 3
    deadline: float = 30.0

    @classmethod
    def from_env(cls) -> CallPolicy:
        policy = cls()
        read = _env_number("MFA_TUI_STS_TIMEOUT", policy.read_timeout, 0.1, 120.0)
        attempts = int(_env_number("MFA_TUI_STS_ATTEMPTS", policy.max_attempts, 1, 10))
        connect = min(policy.connect_timeout, read)
        # Every attempt may use its whole connect and read timeouts, with backoff between.
        longest = attempts * (connect + read) + 2 * (attempts - 1)
        deadline = _env_number("MFA_TUI_STS_DEADLINE", max(policy.deadline, longest), 1.0, 600.0)
        return cls(connect, read, attempts, deadline)


def _env_number(name: str, default: float, low: float, high: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return min(high, max(low, value))


class DurationTooLongError(AwsRefusedError):
    """STS refused DurationSeconds (the role's maximum, or the 1-hour chaining cap).

    `max_allowed` is the largest value STS named in its message, when it named one.
    """

    def __init__(self, message: str, *, chained: bool, max_allowed: int | None = None) -> None:
        super().__init__(message, code="ValidationError", title="Duration too long")
        self.chained = chained
        self.max_allowed = max_allowed


@dataclass
class ServerClock:
    """The `Date` header of the last STS answer, to detect a local clock that is off.

    A TOTP code made on a clock that is 30 s off is wrong; knowing AWS's time lets the
    engine say so (and make the code for AWS's time) instead of blaming the person.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    server: datetime | None = None
    local: datetime | None = None

    def record(self, header: str | None) -> None:
        if not header:
            return
        try:
            server = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
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

    def reset(self) -> None:
        with self.lock:
            self.server = self.local = None


SERVER_CLOCK = ServerClock()

# HTTP dates have whole seconds and answers take time: below this, a clock is fine.
SKEW_WARN_SECONDS = 30.0


def clock_warning(skew: float | None = None) -> str | None:
    """A sentence for the person when the local clock disagrees with AWS's, else None."""
    if skew is None:
        skew = SERVER_CLOCK.skew_seconds()
    if skew is None or abs(skew) < SKEW_WARN_SECONDS:
        return None
    direction = "ahead of" if skew > 0 else "behind"
    return (
        f"this computer's clock is {abs(skew):.0f} s {direction} AWS's: MFA codes made here "
        "and the countdowns would be off; mfa-tui follows AWS's time, but sync the clock "
        "(e.g. 'timedatectl set-ntp true')"
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
    service: str = "STS"


_SESSIONS_GUARD = threading.Lock()
_SESSIONS: dict[object, tuple[Any, threading.Lock]] = {}
_LOADER: list[Any] = []
_SESSION_CLASS: list[Any] = []
_ENV_THAT_MATTERS = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_CA_BUNDLE",
)


def _env_signature() -> tuple[str | None, ...]:
    """What a connection depends on besides the profile's settings: the environment."""
    return tuple(os.environ.get(name) for name in _ENV_THAT_MATTERS)


def _new_core(connection: Connection) -> Any:
    """A botocore session whose config is `connection`; it opens no AWS file."""
    import botocore.loaders
    import botocore.session

    if not _SESSION_CLASS:

        class FromParsedFiles(botocore.session.Session):
            """botocore's session with `full_config` given, not parsed from the files."""

            def __init__(self, config: dict[str, Any]) -> None:
                super().__init__(profile=CONNECTION_PROFILE)
                self._given_config = config
                # Nothing may fall back to reading the files behind the given config.
                self.set_config_variable("config_file", os.devnull)
                self.set_config_variable("credentials_file", os.devnull)

            @property
            def full_config(self) -> dict[str, Any]:
                return self._given_config

        _SESSION_CLASS.append(FromParsedFiles)
    if not _LOADER:
        _LOADER.append(botocore.loaders.create_loader())
    core = _SESSION_CLASS[0](connection.full_config())
    core.register_component("data_loader", _LOADER[0])
    return core


def _session_for(connection: Connection) -> tuple[Any, threading.Lock, object]:
    """A boto3 session that connects as `connection` says, shared while nothing changes.

    Building one loads endpoint and service models (tens of ms of CPU), and each client
    copies its event hooks; fifty roles refreshed from one user session should pay that
    once, not fifty times. So sessions are shared between profiles that connect alike
    (same region, endpoint settings, CA bundle, environment). A session is only used
    under its lock to create clients (sessions are not thread-safe; the clients they
    make are). Returns the session, its lock, and the key clients made from it are
    kept under.
    """
    import boto3

    key = (connection, _env_signature())
    with _SESSIONS_GUARD:
        cached = _SESSIONS.get(key)
        if cached is None:
            if len(_SESSIONS) >= _MAX_CLIENTS:
                _SESSIONS.pop(next(iter(_SESSIONS)))
            session = boto3.session.Session(botocore_session=_new_core(connection))
            cached = (session, threading.Lock())
            _SESSIONS[key] = cached
        return cached[0], cached[1], key


_CLIENTS: dict[tuple[object, ...], Any] = {}
_MAX_CLIENTS = 64


_MAKING: dict[tuple[object, ...], threading.Lock] = {}


def _cached_client(key: tuple[object, ...], make: Any) -> Any:
    """Clients are thread-safe and costly to build; keep the recent ones in memory.

    Built once per key even when a pool of workers asks at the same moment: the first
    builds, the others wait for it and share it (and its connection pool).
    """
    with _SESSIONS_GUARD:
        client = _CLIENTS.get(key)
        if client is not None:
            return client
        making = _MAKING.setdefault(key, threading.Lock())
    with making:
        with _SESSIONS_GUARD:
            client = _CLIENTS.get(key)
        if client is not None:
            return client
        client = make()
        with _SESSIONS_GUARD:
            if len(_CLIENTS) >= _MAX_CLIENTS:
                _CLIENTS.pop(next(iter(_CLIENTS)))
            _CLIENTS[key] = client
            _MAKING.pop(key, None)
    return client


def _client(
    service: str, ctx: CallContext, creds: Credentials, connection: Connection | None = None
) -> Any:
    """A client for `service` that connects as `connection` says (None: as the profile
    `ctx.profile` of the files, read now)."""
    import botocore.config
    import botocore.exceptions as bx

    policy = CallPolicy.from_env()
    if connection is None:
        connection = connection_for(load_profiles(), ctx.profile)
    try:
        session, lock, session_key = _session_for(connection)
        config = botocore.config.Config(
            connect_timeout=policy.connect_timeout,
            read_timeout=policy.read_timeout,
            retries={"total_max_attempts": policy.max_attempts, "mode": "standard"},
            user_agent_extra="mfa-tui",
            # One client serves every role assumed from one session, from that many
            # threads at once: a connection each, none opened and thrown away.
            max_pool_connections=MAX_CONCURRENT_STS_CALLS,
        )

        def make() -> Any:
            with lock:
                made = session.client(
                    service,
                    region_name=session.region_name or DEFAULT_REGION,
                    aws_access_key_id=creds.access_key_id,
                    aws_secret_access_key=creds.secret_access_key,
                    aws_session_token=creds.session_token,
                    config=config,
                )
            made.meta.events.register(f"after-call.{service}", _record_date)
            deadline.track(made)
            return made

        # Keyed by the secret's hash, never the secret: the key may be printed in a debug.
        identity = hashlib.sha256(
            f"{creds.secret_access_key}\0{creds.session_token}".encode()
        ).hexdigest()
        client = _cached_client((session_key, service, creds.access_key_id, identity, policy), make)
    except bx.BotoCoreError as exc:
        raise MfaTuiError(
            f"cannot set up {service.upper()} for profile '{ctx.profile}': {exc}",
            title="Configuration",
        ) from None
    except ValueError as exc:
        # botocore raises a bare ValueError for a malformed endpoint_url.
        raise MfaTuiError(
            f"cannot set up {service.upper()} for profile '{ctx.profile}': {exc} (check "
            "endpoint_url and AWS_ENDPOINT_URL*)",
            title="Configuration",
        ) from None
    return client


def _record_date(http_response: Any = None, **_: Any) -> None:
    if http_response is not None:
        SERVER_CLOCK.record(http_response.headers.get("Date"))


def _endpoint(client: Any) -> str:
    try:
        return str(client.meta.endpoint_url)
    except AttributeError:
        return "STS"


def translate(exc: Exception, ctx: CallContext, endpoint: str) -> MfaTuiError:
    """Map a botocore failure to one of our errors, with what to do next."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    service = "IAM" if ctx.action in IAM_ACTIONS else ctx.service
    where = f"{ctx.action} for '{ctx.profile}'"
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        text = str(error.get("Message", "")).strip()
        meta = exc.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode", 0) or 0)
        retried = int(meta.get("RetryAttempts", 0) or 0)
        if ctx.service != "STS":
            # IAM and the enforcement probe have their own words (aws/iam.py).
            from mfa_tui.aws.iam import client_error

            return client_error(code, text, status, ctx, endpoint)
        return _client_error(code, text, status, ctx, endpoint, retried)
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectTimeoutError):
        return NetworkError(
            f"{where}: {service} at {endpoint} did not answer in time; check your network "
            "or VPN and try again"
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionClosedError):
        return NetworkError(
            f"{where}: cannot reach {service} at {endpoint}; check your network, VPN or the "
            "profile's region/endpoint_url"
        )
    if isinstance(exc, ResponseParserError):
        return NetworkError(
            f"{where}: {service} at {endpoint} sent an answer that is not an AWS response "
            "(a proxy or captive portal in the way?)"
        )
    if isinstance(exc, bx.HTTPClientError):
        return NetworkError(f"{where}: network error talking to {service} at {endpoint}")
    if isinstance(exc, bx.NoRegionError):
        return MfaTuiError(f"profile '{ctx.profile}' has no region; add 'region = ...' to it")
    if isinstance(exc, bx.BotoCoreError):
        return MfaTuiError(f"{where} failed: {exc}")
    raise exc


def _client_error(
    code: str, text: str, status: int, ctx: CallContext, endpoint: str, retried: int = 0
) -> MfaTuiError:
    who = f"profile '{ctx.profile}'"
    device = ctx.mfa_serial or "your MFA device"
    folded = text.lower().replace(" ", "")
    if code == "AccessDenied" and INVALID_CODE_TEXT.lower() in text.lower():
        message = (
            f"AWS rejected the MFA code for {device} ({who}): it is wrong, or it was "
            "already used (each code works once). Wait for the next code and try again"
        )
        if retried:
            message += (
                "; an earlier attempt of this call timed out and may have used the code already"
            )
        return InvalidMfaCodeError(message, code=code)
    if code == "AccessDenied" and "multifactorauthentication" in folded:
        return AwsRefusedError(
            f"AWS could not validate MFA device {device} for {who}: check that mfa_serial "
            "is the ARN of a device assigned to this user (see 'aws iam list-mfa-devices')",
            code=code,
            title="Wrong MFA device",
        )
    if code == "RequestExpired" or (
        code == "SignatureDoesNotMatch" and "signature expired" in text.lower()
    ):
        # "Signature expired: 20260101T000000Z is now earlier than ...": signed on a clock
        # too far from AWS's, not a wrong key.
        return AwsRefusedError(
            f"AWS says the request for {who} is expired: your computer's clock is "
            "probably wrong; sync it (e.g. 'timedatectl set-ntp true')",
            code=code,
            title="Clock",
        )
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"):
        if ctx.with_session:
            return AwsRefusedError(
                f"the MFA session used for {who} is no longer accepted (revoked, or its "
                f"access key was deleted); refresh '{ctx.key_profile}' with a new code",
                code=code,
                title="Session not accepted",
            )
        part = "secret access key" if code == "SignatureDoesNotMatch" else "access key"
        return AwsRefusedError(
            f"the {part} of profile '{ctx.key_profile}' is not valid (deleted, deactivated or "
            "mistyped). Create a new access key in IAM and update the credentials file "
            f"('aws configure --profile {ctx.key_profile}')",
            code=code,
            title="Invalid access key",
        )
    if code in ("ExpiredToken", "ExpiredTokenException"):
        return AwsRefusedError(
            f"the session used for {who} has expired; refresh '{ctx.key_profile}' with a "
            "new MFA code",
            code=code,
            title="Session expired",
        )
    if code == "ValidationError" and "durationseconds" in folded:
        chained = "chaining" in text.lower()
        found = _MAX_IN_TEXT.search(text)
        max_allowed = int(found.group(1) or found.group(2)) if found else None
        if chained:
            max_allowed = CHAINED_ROLE_MAX
        return DurationTooLongError(
            f"{ctx.action} for {who}: STS refused the session length: {text}",
            chained=chained,
            max_allowed=max_allowed,
        )
    if code in ("AccessDenied", "AccessDeniedException") and ctx.action == "AssumeRole":
        return AwsRefusedError(
            f"AWS denied AssumeRole on {ctx.role_arn} for {who}: the role's trust policy may "
            "require MFA (aws:MultiFactorAuthPresent) or may not trust this user, or the "
            f"user may lack sts:AssumeRole on it; AWS said: {text}",
            code=code,
            title="Access denied",
        )
    if code in ("AccessDenied", "AccessDeniedException") and ctx.action == "ListMFADevices":
        return AwsRefusedError(
            f"profile '{ctx.key_profile}' has no mfa_serial and may not list its own MFA "
            "devices (iam:ListMFADevices denied); add 'mfa_serial = arn:aws:iam::<account>:"
            f"mfa/<device>' to its profile in the config file. AWS said: {text}",
            code=code,
            title="MFA device unknown",
        )
    if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"):
        return AwsRefusedError(
            f"STS is throttling requests for {who}; mfa-tui retried "
            f"{retried or 'a few'} time(s) and gave up. Wait a minute and try again",
            code=code,
            title="Throttled",
        )
    if code == "RegionDisabledException":
        return AwsRefusedError(
            f"STS is not activated in this region for the account of {who}: activate it "
            "in IAM account settings, or give the profile another region",
            code=code,
            title="Region disabled",
        )
    if status >= 500 or code in ("InternalFailure", "ServiceUnavailable", "InternalError"):
        return NetworkError(
            f"{ctx.action} for {who}: STS at {endpoint} had an internal error ({code or status}); "
            "try again in a moment"
        )
    return AwsRefusedError(f"{ctx.action} for {who} was refused: {code}: {text}", code=code)


def within_deadline(client: Any, method: str, ctx: CallContext, **params: Any) -> Any:
    """`client.method(**params)`, given up at the overall deadline (NetworkError); the
    call's own errors are raised as botocore raised them. Every AWS call goes through
    here: botocore's read timeout bounds each read, never a whole answer."""
    seconds = CallPolicy.from_env().deadline
    try:
        return deadline.run(lambda: getattr(client, method)(**params), seconds=seconds)
    except deadline.CallTimedOut:
        service = "IAM" if ctx.action in IAM_ACTIONS else ctx.service
        raise NetworkError(
            f"{ctx.action} for '{ctx.profile}': {service} at {_endpoint(client)} did not "
            f"answer in full within {seconds:g} s (an answer coming a byte at a time: a "
            "proxy or VPN in the way?); mfa-tui gave up. Try again, or allow more time "
            "with MFA_TUI_STS_DEADLINE"
        ) from None


def _call(
    client: Any,
    method: str,
    ctx: CallContext,
    *,
    server_clock: ServerClock | None = None,
    **params: Any,
) -> dict[str, Any]:
    """One call; failures raise our errors. `server_clock` also gets the `Date` of this
    very answer, a refusal's included (SERVER_CLOCK keeps whichever answer came last)."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    try:
        result: dict[str, Any] = within_deadline(client, method, ctx, **params)
    except (bx.ClientError, bx.BotoCoreError, ResponseParserError) as exc:
        if server_clock is not None and isinstance(exc, bx.ClientError):
            server_clock.record(_date_of(exc.response))
        raise translate(exc, ctx, _endpoint(client)) from None
    except (KeyError, ValueError, SyntaxError, UnicodeError):
        # botocore's parsers fail this way on a body that is not an AWS document
        # (an HTML error page from a proxy, a truncated answer).
        raise translate(ResponseParserError("unexpected body"), ctx, _endpoint(client)) from None
    if server_clock is not None:
        server_clock.record(_date_of(result))
    return result


def _date_of(answer: Any) -> str | None:
    """The `Date` header of a botocore answer or error response."""
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    date = headers.get("date") if isinstance(headers, dict) else None
    return date if isinstance(date, str) else None


def _credentials(answer: dict[str, Any], ctx: CallContext, endpoint: str) -> Credentials:
    """The credentials in an STS answer; a 200 without them is a garbled answer."""
    c = answer.get("Credentials") or {}
    expiration = c.get("Expiration")
    if isinstance(expiration, datetime) and expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    key, secret, token = c.get("AccessKeyId"), c.get("SecretAccessKey"), c.get("SessionToken")
    if not (key and secret and token and isinstance(expiration, datetime)):
        raise NetworkError(
            f"{ctx.action} for '{ctx.profile}': STS at {endpoint} answered without complete "
            "credentials (a proxy in the way?)"
        )
    return Credentials(str(key), str(secret), str(token), expiration.astimezone(UTC))


def get_session_token(
    profile: str,
    creds: Credentials,
    *,
    serial: str,
    code: str,
    duration: int,
    connection: Connection | None = None,
) -> Credentials:
    """A user session from long-term keys and an MFA code (raises MfaTuiError).

    `connection`: how `profile` reaches STS (see `connection_for`); None reads the files.
    """
    ctx = CallContext("GetSessionToken", profile, profile, mfa_serial=serial)
    client = _client("sts", ctx, creds, connection)
    answer = _call(
        client,
        "get_session_token",
        ctx,
        SerialNumber=serial,
        TokenCode=code,
        DurationSeconds=duration,
    )
    return _credentials(answer, ctx, _endpoint(client))


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
    connection: Connection | None = None,
) -> Credentials:
    """A role session. `profile` (or `connection`, how it reaches STS) picks region and
    endpoint; `key_profile` is named in errors.

    SerialNumber/TokenCode are sent only when both are given (the direct path from
    long-term keys); a role assumed from an MFA session needs neither.
    """
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
    client = _client("sts", ctx, creds, connection)
    return _credentials(_call(client, "assume_role", ctx, **params), ctx, _endpoint(client))


def list_mfa_devices(
    profile: str, creds: Credentials, connection: Connection | None = None
) -> list[str]:
    """The MFA serials of the user who owns these keys.

    The user name comes from GetCallerIdentity first: IAM's own default (the caller)
    is not implemented by every IAM look-alike, and the name makes errors clearer.
    """
    ctx = CallContext("ListMFADevices", profile, profile)
    if connection is None:
        connection = connection_for(load_profiles(), profile)
    identity = _call(_client("sts", ctx, creds, connection), "get_caller_identity", ctx)
    arn = str(identity.get("Arn", ""))
    params: dict[str, Any] = {"UserName": arn.rsplit("/", 1)[-1]} if ":user/" in arn else {}
    client = _client("iam", ctx, creds, connection)
    answer = _call(client, "list_mfa_devices", ctx, **params)
    devices = answer.get("MFADevices", [])
    return [str(d["SerialNumber"]) for d in devices if isinstance(d, dict) and "SerialNumber" in d]
