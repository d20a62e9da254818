"""Bench figure: refresh 50 role sessions from one user session, against moto.

The user session is got once (one code); then one role is refreshed alone (the baseline)
and 50 roles are refreshed together through the engine's bounded pool, as the
dashboard's `R` and the daemon do.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

ROLES = 50


class _MotoProcess:
    """moto in a process of its own, as AWS is: its CPU is not ours to measure."""

    def __init__(self) -> None:
        import socket
        import subprocess
        import sys
        import urllib.request

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _setup(folder: Path) -> tuple[object, list[str], str]:
    import boto3

    from mfa_tui.sandbox import seed_account, write_aws_files

    server = _MotoProcess()
    account = seed_account(server.endpoint_url)
    iam = boto3.client(
        "iam",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"},
                }
            ],
        }
    )
    config, _ = write_aws_files(folder, account, server.endpoint_url)
    names = []
    with config.open("a") as fh:
        for i in range(ROLES):
            role = iam.create_role(RoleName=f"bench-{i}", AssumeRolePolicyDocument=trust)
            arn = role["Role"]["Arn"]
            names.append(f"bench-{i}")
            fh.write(
                f"\n[profile bench-{i}]\nsource_profile = test-user\nrole_arn = {arn}\n"
                f"endpoint_url = {server.endpoint_url}\nregion = us-east-1\n"
            )
    return server, names, account.users["test-user"].mfa_serial


def measure(folder: Path, runs: int) -> tuple[list[float], list[float]]:
    from mfa_tui.aws.files import AwsPaths
    from mfa_tui.core.codes import UsedCodes
    from mfa_tui.core.sessions import SessionService
    from mfa_tui.settings import Settings

    folder.mkdir(parents=True, exist_ok=True)
    os.environ["AWS_CONFIG_FILE"] = str(folder / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(folder / "credentials")
    server, names, _ = _setup(folder)
    try:
        service = SessionService(
            paths=AwsPaths(folder / "config", folder / "credentials"),
            settings=Settings(),
            used_codes=UsedCodes(folder / "codes.json"),
            keyring_backend=object(),
        )
        service.refresh("test-user", code="123456")
        one: list[float] = []
        many: list[float] = []
        service.refresh(names[0], force=True)  # warm-up: imports, model loading
        for _ in range(runs):
            start = time.perf_counter()
            service.refresh(names[0], force=True)
            one.append(time.perf_counter() - start)
            start = time.perf_counter()
            results = service.refresh_many(names, force=True)
            many.append(time.perf_counter() - start)
            failed = [r.error for r in results if r.error is not None]
            assert not failed, failed[:1]
        return one, many
    finally:
        server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        one, many = measure(Path(tmp), 3)
    print(
        f"one {statistics.median(one) * 1000:.0f} ms, {ROLES} roles "
        f"{statistics.median(many) * 1000:.0f} ms"
    )
