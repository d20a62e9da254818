"""An embedded AWS stand-in for the demo and the tests: moto's server on 127.0.0.1.

It holds a realistic account: a user whose keys need MFA, a virtual MFA device (moto
hands back its base32 seed, so codes can be generated like a phone would), roles whose
trust policies require MFA, a chained role, and AWS files that point every profile at
the local endpoint through `endpoint_url`, so the real boto3/botocore code paths run.

moto accepts any code and enforces no durations; tests that need AWS's refusals put
a fault-injecting proxy in front (tests/stsfault.py).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ADMIN_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

MFA_TRUST = {
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


class MotoServer:
    """moto's threaded server on a free loopback port; a context manager."""

    def __init__(self) -> None:
        self._server: Any = None
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        from moto.server import ThreadedMotoServer

        for name in ("werkzeug", "moto"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def reset(self) -> None:
        """Forget every resource (moto's state is per process, not per server)."""
        url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(url, method="POST")  # noqa: S310 - loopback only
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class SandboxUser:
    name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    mfa_serial: str
    seed: str = field(repr=False)


@dataclass(frozen=True)
class SandboxAccount:
    account_id: str
    users: dict[str, SandboxUser]
    roles: dict[str, str]  # role name -> ARN


def _client(service: str, endpoint_url: str) -> Any:
    import boto3

    session: Any = boto3.session.Session()
    return session.client(service, endpoint_url=endpoint_url, region_name=REGION, **ADMIN_KEYS)


def _user(iam: Any, name: str) -> SandboxUser:
    import pyotp

    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed = seed.decode("ascii") if isinstance(seed, bytes) else str(seed)
    totp = pyotp.TOTP(seed)
    step = int(__import__("time").time() // 30)
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.at((step - 1) * 30),
        AuthenticationCode2=totp.at(step * 30),
    )
    return SandboxUser(
        name, key["AccessKeyId"], key["SecretAccessKey"], device["SerialNumber"], seed
    )


def seed_account(endpoint_url: str) -> SandboxAccount:
    """Create the demo account's users, MFA devices and roles on the moto server."""
    iam = _client("iam", endpoint_url)
    users = {name: _user(iam, name) for name in ("test-user", "ops-user")}
    roles: dict[str, str] = {}
    for name in ("my-test-role", "readonly-role"):
        roles[name] = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(MFA_TRUST),
            MaxSessionDuration=7200 if name == "my-test-role" else 3600,
        )["Role"]["Arn"]
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
    roles["chained-role"] = iam.create_role(
        RoleName="chained-role", AssumeRolePolicyDocument=json.dumps(chained_trust)
    )["Role"]["Arn"]
    assume_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": list(roles.values())}
        ],
    }
    iam.put_user_policy(
        UserName="test-user", PolicyName="assume-roles", PolicyDocument=json.dumps(assume_only)
    )
    return SandboxAccount(ACCOUNT_ID, users, roles)


def aws_files_text(account: SandboxAccount, endpoint_url: str) -> tuple[str, str]:
    """The config and credentials a real user of this account would have."""
    test, ops = account.users["test-user"], account.users["ops-user"]
    roles = account.roles
    endpoint = f"endpoint_url = {endpoint_url}\n"
    config = (
        "# AWS CLI config for the mfa-tui sandbox account\n"
        f"[default]\nregion = {REGION}\n{endpoint}\n"
        f"[profile test-user]\nregion = {REGION}\n{endpoint}\n"
        "# Method 2 from the setup guide: a role whose trust policy requires MFA\n"
        f"[profile my-test-role]\nregion = {REGION}\nsource_profile = test-user\n"
        f"role_arn = {roles['my-test-role']}\nmfa_serial = {test.mfa_serial}\n{endpoint}\n"
        f"[profile readonly-role]\nregion = {REGION}\nsource_profile = test-user\n"
        f"role_arn = {roles['readonly-role']}\nmfa_serial = {test.mfa_serial}\n{endpoint}\n"
        f"[profile chained-role]\nregion = {REGION}\nsource_profile = my-test-role\n"
        f"role_arn = {roles['chained-role']}\n{endpoint}\n"
        f"[profile ops-user]\nregion = eu-west-1\nmfa_serial = {ops.mfa_serial}\n{endpoint}"
        "s3 =\n    max_concurrent_requests = 20\n    addressing_style = path\n\n"
        "[profile corp-sso]\nsso_session = corp\n"
        f"sso_account_id = {ACCOUNT_ID}\nsso_role_name = ReadOnly\n\n"
        "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\n"
        f"sso_region = {REGION}\n\n"
        "[profile vault-tool]\ncredential_process = /usr/local/bin/get-creds --json\n\n"
        f"[services local]\nsts =\n  endpoint_url = {endpoint_url}\n"
    )
    credentials = (
        "# long-term access keys: mfa-tui never writes over these\n"
        f"[test-user]\naws_access_key_id = {test.access_key_id}\n"
        f"aws_secret_access_key = {test.secret_access_key}\n\n"
        f"[ops-user]\naws_access_key_id = {ops.access_key_id}\n"
        f"aws_secret_access_key = {ops.secret_access_key}\n"
    )
    return config, credentials


def write_aws_files(folder: Path, account: SandboxAccount, endpoint_url: str) -> tuple[Path, Path]:
    """Write config and credentials (0600) into `folder`; returns their paths."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    config, credentials = aws_files_text(account, endpoint_url)
    config_path, creds_path = folder / "config", folder / "credentials"
    for path, text in ((config_path, config), (creds_path, credentials)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    return config_path, creds_path
