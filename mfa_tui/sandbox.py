"""An embedded AWS stand-in for the demo and the tests: moto's server on 127.0.0.1.

Why a real HTTP server rather than moto's in-process mock: mfa-tui resolves endpoints,
credentials and MFA settings through botocore from the AWS files, and the point of the
sandbox is to run exactly those code paths. So the account lives behind a loopback
endpoint, and `write_aws_files` points every profile at it with `endpoint_url`.

The account is the one the README's setup guide builds: a user whose keys need MFA
(`test-user`, with a virtual MFA device whose base32 seed moto hands back, so codes can
be made the way a phone makes them), a second MFA user (`ops-user`), two roles whose
trust policies require MFA, and a role that only another role may assume (a chain).
`new-user` has access keys and no MFA device yet: what `mfa-tui setup` starts from.

What moto 5.2 does *not* do (checked against moto 5.2.5 / botocore 1.44; the tests in
tests/test_sandbox.py pin these facts so an upgrade that changes them is noticed):

* GetSessionToken checks neither TokenCode nor SerialNumber: any 6 digits, an unknown
  serial, or no MFA at all all succeed. Only botocore's client-side validation applies
  (TokenCode 6 characters, DurationSeconds >= 900). `MotoServer.mfa` puts AWS's check
  back when given the devices' seeds; the demo does, the tests program refusals with
  their fault proxy instead.
* No duration limits: GetSessionToken accepts more than AWS's 129600 s, AssumeRole
  ignores the role's MaxSessionDuration and the one-hour cap on role chaining.
* AssumeRole evaluates no trust policy (no MFA condition, long-term keys are fine) and
  even "assumes" a role that does not exist. No request signature or key is checked.
* GetSessionToken always returns the same fixed keys (AKIAIOSFODNN7EXAMPLE, fixed secret
  and token); AssumeRole returns fresh random ASIA... keys and token each call.
* Expiration is now + DurationSeconds, defaulting to 43200 s (12 h) for GetSessionToken
  and 3600 s for AssumeRole, as AWS does.
* GetCallerIdentity with GetSessionToken credentials "works" but names moto's default
  identity (arn:aws:sts::123456789012:user/moto), not the user; with AssumeRole
  credentials it names the assumed role correctly.

Tests that need AWS's refusals put a fault-injecting proxy in front (tests/stsfault.py).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ADMIN_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
USER_NAMES = ("test-user", "ops-user")
NEW_USER = "new-user"  # keys, no MFA device: `mfa-tui setup new-user` gives it one
ROLE_NAMES = ("my-test-role", "readonly-role", "chained-role")

MFA_TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ],
}


# AWS's words for a refused MFA code (a wrong one and a reused one read the same) and
# for a serial that is not a device of the caller.
INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
INVALID_SERIAL = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA "
    "serial number is valid and associated with this user."
)
# IAM's answer to EnableMFADevice codes that are not two consecutive codes of the device.
INVALID_AUTHENTICATION_CODE = "Authentication code for device is not valid."
# How far back the first of EnableMFADevice's two codes may be, in 30 s steps (AWS gives
# a person time to type; its exact window is not documented).
ENABLE_WINDOW_STEPS = 10
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"


class MfaCheck:
    """What moto leaves out: AWS checking MFA codes.

    A WSGI layer in front of moto. Once `devices` (serial -> base32 seed) are known, a
    GetSessionToken or AssumeRole that names a SerialNumber must carry the code that
    device shows (the 30-second step before, now or after, for clock drift), and each
    code is taken once: AWS refuses a used one with the wrong code's message. An unknown
    serial gets AWS's serial message. EnableMFADevice must carry two consecutive codes
    of the device, as IAM demands. Devices created after `devices` was set (by `mfa-tui
    setup`) are looked up in moto's own IAM store, so a phone that scanned the new
    device's QR code makes codes the sandbox accepts. So the demo answers a mistyped
    code the way AWS would, instead of accepting any six digits.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.devices: dict[str, str] = {}
        self._used: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        # The clock the 30-second steps are read from (tests set one that stands still,
        # so that no step ends between two of their calls).
        self.clock: Callable[[], float] = time.time

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if self.devices and environ.get("REQUEST_METHOD") == "POST" and length:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            refusal = self._refusal(body)
            if refusal is not None:
                return _aws_error(start_response, *refusal)
        return self.app(environ, start_response)

    def _refusal(self, body: bytes) -> tuple[str, str, str] | None:
        """(namespace, code, message) of AWS's refusal, or None to let moto answer."""
        import urllib.parse

        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = form.get("Action", [""])[0]
        serial = form.get("SerialNumber", [""])[0]
        if action == "EnableMFADevice":
            codes = (
                form.get("AuthenticationCode1", [""])[0],
                form.get("AuthenticationCode2", [""])[0],
            )
            return self._enable_refusal(serial, codes)
        code = form.get("TokenCode", [""])[0]
        if action not in ("GetSessionToken", "AssumeRole") or not serial or not code:
            return None
        seed = self.seed_of(serial)
        if seed is None:
            return (_STS_NS, "AccessDenied", INVALID_SERIAL)
        if self._take(serial, seed, code, (0, -1, 1)) is None:
            return (_STS_NS, "AccessDenied", INVALID_CODE)
        return None

    def _enable_refusal(self, serial: str, codes: tuple[str, str]) -> tuple[str, str, str] | None:
        seed = self.seed_of(serial)
        if seed is None:
            return None  # moto itself says NoSuchEntity
        import pyotp

        totp, now = pyotp.TOTP(seed), int(self.clock() // 30)
        with self._lock:
            for step in range(now - ENABLE_WINDOW_STEPS, now + 1):
                if (totp.at(step * 30), totp.at((step + 1) * 30)) == codes:
                    self._used.update({(serial, step), (serial, step + 1)})
                    return None
        return (_IAM_NS, "InvalidAuthenticationCode", INVALID_AUTHENTICATION_CODE)

    def _take(self, serial: str, seed: str, code: str, offsets: tuple[int, ...]) -> int | None:
        """The step `code` belongs to, marked used; None when no unused step has it."""
        import pyotp

        totp, now = pyotp.TOTP(seed), int(self.clock() // 30)
        with self._lock:
            for step in (now + d for d in offsets):
                if totp.at(step * 30) == code and (serial, step) not in self._used:
                    self._used.add((serial, step))
                    return step
        return None

    def seed_of(self, serial: str) -> str | None:
        """The seed of a device: given in `devices`, or one moto made since."""
        seed = self.devices.get(serial)
        if seed is not None:
            return seed
        # A device made since the demo started: moto keeps its seed (moto 5.2's store).
        from moto.iam.models import iam_backends

        device = iam_backends[ACCOUNT_ID]["global"].virtual_mfa_devices.get(serial)
        found = getattr(device, "base32_string_seed", None)
        return str(found) if found else None


def _aws_error(start_response: Any, namespace: str, code: str, message: str) -> list[bytes]:
    from xml.sax.saxutils import escape

    body = (
        f'<ErrorResponse xmlns="{namespace}"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    start_response(
        "403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
    )
    return [body]


class MotoServer:
    """moto's threaded server on a free port of 127.0.0.1; a context manager.

    Port 0 lets the OS pick a free port, so parallel test runs and a running demo never
    collide; `endpoint_url` carries the port actually bound. moto keeps its state per
    *process*, not per server: two servers in one process share one account, and
    `reset` wipes what every one of them holds. `mfa` checks MFA codes once given the
    devices (see MfaCheck); until then it lets everything through, as moto does.
    """

    def __init__(self) -> None:
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.endpoint_url = ""
        self.mfa: MfaCheck | None = None

    def start(self) -> MotoServer:
        """Start serving; returns self so `MotoServer().start()` reads naturally."""
        if self._server is not None:
            raise RuntimeError("MotoServer is already running")
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # Request lines from werkzeug/moto would spray over the dashboard and test output.
        for name in ("werkzeug", "moto"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self.mfa = MfaCheck(DomainDispatcherApplication(create_backend_app))
        server = make_server(
            "127.0.0.1", 0, self.mfa, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=server.serve_forever, name="moto-server", daemon=True
        )
        self._thread.start()
        self._server = server
        self.endpoint_url = f"http://127.0.0.1:{server.server_port}"
        return self

    @property
    def running(self) -> bool:
        return self._server is not None

    def reset(self) -> None:
        """Forget every resource, so each test starts from an empty account."""
        import urllib.request

        url = f"{self.endpoint_url}/moto-api/reset"  # always http://127.0.0.1:PORT
        request = urllib.request.Request(url, method="POST")  # noqa: S310 - loopback only
        # No ProxyHandler: an HTTP(S)_PROXY in the environment must not take this call.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10):
            pass

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class SandboxUser:
    """One IAM user as its owner would know it: long-term keys and an MFA device."""

    name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    mfa_serial: str
    seed: str = field(repr=False)  # base32, what an authenticator app is given
    arn: str = ""

    def code(self, at: float | None = None) -> str:
        """The TOTP code the user's phone shows at `at` (default: now)."""
        import pyotp

        return str(pyotp.TOTP(self.seed).at(time.time() if at is None else at))


@dataclass(frozen=True)
class SandboxKeys:
    """An IAM user with access keys and no MFA device."""

    name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    arn: str = ""


@dataclass(frozen=True)
class SandboxAccount:
    """What `seed_account` created, so tests can assert against real identifiers."""

    account_id: str
    users: Mapping[str, SandboxUser]  # with an MFA device
    roles: Mapping[str, str]  # role name -> ARN
    new_user: SandboxKeys | None = None  # keys only: what `mfa-tui setup` starts from

    @property
    def user_names(self) -> tuple[str, ...]:
        return tuple(self.users)


@functools.lru_cache(maxsize=8)
def _client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for the sandbox: admin dummy keys, no proxies, no retries.

    Cached because building a client parses botocore's JSON models (~0.1 s), which
    would dominate a per-test reseed; boto3 clients are safe to share between threads.
    """
    import boto3
    import botocore.config

    config = botocore.config.Config(proxies={}, retries={"total_max_attempts": 1})
    session: Any = boto3.session.Session()
    return session.client(
        service, endpoint_url=endpoint_url, region_name=REGION, config=config, **ADMIN_KEYS
    )


def _user(iam: Any, name: str) -> SandboxUser:
    """Create `name` with an access key and an enabled virtual MFA device."""
    import pyotp

    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    # botocore models the seed as a blob, so it arrives as the base32 text's bytes.
    raw = device["Base32StringSeed"]
    seed = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
    # AWS wants two consecutive codes to enable a device (moto accepts any).
    totp, step = pyotp.TOTP(seed), int(time.time() // 30)
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.at((step - 1) * 30),
        AuthenticationCode2=totp.at(step * 30),
    )
    return SandboxUser(
        name=name,
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
        mfa_serial=device["SerialNumber"],
        seed=seed,
        arn=arn,
    )


def _role(iam: Any, name: str, trust: dict[str, Any], max_session: int = 3600) -> str:
    return str(
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            MaxSessionDuration=max_session,
        )["Role"]["Arn"]
    )


def seed_account(endpoint_url: str) -> SandboxAccount:
    """Create the sandbox account's users, MFA devices and roles on the moto server.

    Call it on an empty account (a fresh server, or after `MotoServer.reset`): IAM
    names are unique, so seeding twice raises EntityAlreadyExists.
    """
    iam = _client("iam", endpoint_url)
    users = {name: _user(iam, name) for name in USER_NAMES}
    roles: dict[str, str] = {
        # MaxSessionDuration 7200 lets the engine ask for two hours for this role only.
        "my-test-role": _role(iam, "my-test-role", MFA_TRUST, max_session=7200),
        "readonly-role": _role(iam, "readonly-role", MFA_TRUST),
    }
    chained_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": roles["my-test-role"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    roles["chained-role"] = _role(iam, "chained-role", chained_trust)
    arn = iam.create_user(UserName=NEW_USER)["User"]["Arn"]
    key = iam.create_access_key(UserName=NEW_USER)["AccessKey"]
    new_user = SandboxKeys(NEW_USER, key["AccessKeyId"], key["SecretAccessKey"], arn)
    assume_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": list(roles.values())}
        ],
    }
    iam.put_user_policy(
        UserName="test-user", PolicyName="assume-roles", PolicyDocument=json.dumps(assume_only)
    )
    return SandboxAccount(ACCOUNT_ID, MappingProxyType(users), MappingProxyType(roles), new_user)


def name_account(endpoint_url: str, alias: str) -> None:
    """Give the sandbox account an alias (what iam:ListAccountAliases answers)."""
    _client("iam", endpoint_url).create_account_alias(AccountAlias=alias)


def aws_files_text(account: SandboxAccount, endpoint_url: str) -> tuple[str, str]:
    """The config and credentials a real user of this account would have.

    Deliberately varied, because the files are also a parser fixture: comments of both
    kinds, an SSO profile with its `sso-session`, a `credential_process` profile, a
    `services` section, and a nested `s3 =` block. Every profile, even the ones mfa-tui
    cannot refresh, gets `endpoint_url`, so nothing that uses these files reaches AWS.
    """
    test, ops = account.users["test-user"], account.users["ops-user"]
    roles = account.roles
    endpoint = f"endpoint_url = {endpoint_url}\n"
    config = (
        "# AWS CLI config for the mfa-tui sandbox account\n"
        f"[default]\nregion = {REGION}\nservices = local\n{endpoint}\n"
        # No mfa_serial here on purpose: the engine must find test-user's device through
        # the role profiles (tests/core/test_sessions.py relies on it); ops-user names
        # its own device, the other way users set this up.
        "# the user's long-term keys live in the credentials file\n"
        f"[profile test-user]\nregion = {REGION}\n{endpoint}\n"
        "# Method 2: a role whose trust policy requires MFA\n"
        f"[profile my-test-role]\nregion = {REGION}\nsource_profile = test-user\n"
        f"role_arn = {roles['my-test-role']}\nmfa_serial = {test.mfa_serial}\n{endpoint}\n"
        f"[profile readonly-role]\nregion = {REGION}\nsource_profile = test-user\n"
        f"role_arn = {roles['readonly-role']}\nmfa_serial = {test.mfa_serial}\n{endpoint}\n"
        "; a role that only my-test-role may assume (role chaining)\n"
        f"[profile chained-role]\nregion = {REGION}\nsource_profile = my-test-role\n"
        f"role_arn = {roles['chained-role']}\n{endpoint}\n"
        f"[profile ops-user]\nregion = eu-west-1\nmfa_serial = {ops.mfa_serial}\n{endpoint}"
        "s3 =\n    max_concurrent_requests = 20\n    addressing_style = path\n\n"
        "# keys and no MFA device yet: 'mfa-tui setup new-user' gives it one\n"
        f"[profile new-user]\nregion = {REGION}\n{endpoint}\n"
        "# IAM Identity Center: not an MFA profile, mfa-tui lists it and leaves it alone\n"
        "[profile corp-sso]\nsso_session = corp\n"
        f"sso_account_id = {ACCOUNT_ID}\nsso_role_name = ReadOnly\nregion = {REGION}\n"
        f"{endpoint}\n"
        "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\n"
        f"sso_region = {REGION}\nsso_registration_scopes = sso:account:access\n\n"
        "[profile vault-tool]\ncredential_process = /usr/local/bin/get-creds --json\n"
        f"{endpoint}\n"
        f"[services local]\nsts =\n  endpoint_url = {endpoint_url}\n"
        f"iam =\n  endpoint_url = {endpoint_url}\n"
    )
    credentials = (
        "# long-term access keys: mfa-tui never writes over these\n"
        f"[test-user]\naws_access_key_id = {test.access_key_id}\n"
        f"aws_secret_access_key = {test.secret_access_key}\n\n"
        f"[ops-user]\naws_access_key_id = {ops.access_key_id}\n"
        f"aws_secret_access_key = {ops.secret_access_key}\n"
    )
    if account.new_user is not None:
        new = account.new_user
        credentials += (
            f"\n[{new.name}]\naws_access_key_id = {new.access_key_id}\n"
            f"aws_secret_access_key = {new.secret_access_key}\n"
        )
    return config, credentials


def write_aws_files(
    directory: Path, account: SandboxAccount, endpoint_url: str
) -> tuple[Path, Path]:
    """Write `config` and `credentials` (both 0600) into `directory`; return their paths.

    The files hold secret keys, so they are created 0600 from the start (never written
    world-readable and chmod-ed after); an existing file is truncated in place.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    config, credentials = aws_files_text(account, endpoint_url)
    config_path, creds_path = directory / "config", directory / "credentials"
    for path, text in ((config_path, config), (creds_path, credentials)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    return config_path, creds_path
