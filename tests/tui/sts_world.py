"""A moto server with an IAM user, its MFA device and a role, and a proxy in front of it
that can answer like AWS does on a wrong code, or slowly.

Used by the dashboard's tests against the real engine and by the tmux test. (When the
sandbox's `tests/stsfault.py` and `mfa_tui/sandbox.py` cover this, these tests can move
to them.)
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ACCOUNT = "123456789012"
INVALID_CODE_XML = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
    "<Type>Sender</Type><Code>AccessDenied</Code>"
    "<Message>MultiFactorAuthentication failed with invalid MFA one time pass code. "
    "</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
    "</ErrorResponse>"
)


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # moto keeps its accounts in the process, across servers: start from nothing.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    try:
        yield url
    finally:
        server.stop()


def seed_account(url: str, aws_dir: Path) -> dict[str, str]:
    """IAM user `test-user` (keys, virtual MFA), role `my-test-role` requiring MFA; writes
    the AWS files for them. Returns the serial and role ARN."""
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.create_user(UserName="test-user")
    key = iam.create_access_key(UserName="test-user")["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="test-user-phone")
    serial = device["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="test-user",
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    role_arn = iam.create_role(
        RoleName="my-test-role",
        AssumeRolePolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            f'"Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole",'
            '"Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}'
        ),
    )["Role"]["Arn"]
    aws_dir.mkdir(parents=True, exist_ok=True)
    (aws_dir / "config").write_text(
        f"[profile test-user]\nregion = ap-northeast-1\nmfa_serial = {serial}\n\n"
        f"[profile my-test-role]\nregion = ap-northeast-1\nsource_profile = test-user\n"
        f"role_arn = {role_arn}\nmfa_serial = {serial}\n"
    )
    creds = aws_dir / "credentials"
    creds.write_text(
        "# my keys\n[test-user]\n"
        f"aws_access_key_id = {key['AccessKeyId']}\n"
        f"aws_secret_access_key = {key['SecretAccessKey']}\n"
    )
    creds.chmod(0o600)
    return {"serial": str(serial), "role_arn": str(role_arn)}


@dataclass
class Faults:
    """What the proxy does; change it while it runs."""

    invalid_code_once: bool = False
    delay: float = 0.0
    actions: list[str] = field(default_factory=list)


@contextmanager
def fault_proxy(upstream: str, faults: Faults) -> Iterator[str]:
    """An HTTP proxy to `upstream` that applies `faults` to STS calls."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            text = body.decode("utf-8", "replace")
            action = next(
                (p.split("=", 1)[1] for p in text.split("&") if p.startswith("Action=")), ""
            )
            faults.actions.append(action)
            if faults.delay:
                time.sleep(faults.delay)
            if faults.invalid_code_once and action in ("GetSessionToken", "AssumeRole"):
                faults.invalid_code_once = False
                self._send(403, INVALID_CODE_XML.encode(), "text/xml")
                return
            request = urllib.request.Request(
                upstream + self.path,
                data=body,
                headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    self._send(answer.status, answer.read(), answer.headers.get("Content-Type"))
            except urllib.error.HTTPError as exc:
                self._send(exc.code, exc.read(), exc.headers.get("Content-Type"))

        def _send(self, status: int, payload: bytes, content_type: str | None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type or "text/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
